//! Fencing for leader election. With several replicas, only the one holding the Lease may call
//! AWS. Losing the Lease is normally noticed by the lease manager, but a replica that was paused
//! (a long GC-free but CPU-starved stall, SIGSTOP, a frozen VM or node) wakes up with reconciles
//! in flight and could send their next write before it learns another replica took over.
//!
//! So every AWS request attempt (first try and SDK retries alike) passes this fence: a deadline
//! on the monotonic clock, which keeps running while the process is paused, extended only by a
//! confirmed read of our own Lease (see `operator::lead`) to shortly before the Lease expires.
//! When the deadline has passed, the request never leaves the process: the reconcile fails with
//! the retryable [`crate::error::Error::NotLeader`] and writes nothing to Kubernetes either. The
//! new leader can only acquire the Lease after it expired, which is after our deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The error an attempt past the fence fails with (found again by `error::classify`).
#[derive(Debug, thiserror::Error)]
#[error("this replica is not the confirmed leader (its Lease is not confirmed as of now): no AWS call is made")]
pub struct FenceClosed;

#[derive(Debug)]
struct State {
    origin: Instant,
    /// Nanoseconds after `origin` until which calls may go out; 0: closed.
    deadline: AtomicU64,
    /// Attempts refused, for metrics and tests.
    refused: AtomicU64,
}

/// Open for good (the CLI, a single replica), or a deadline kept by the leader-election loop.
#[derive(Clone, Debug, Default)]
pub struct WriteFence {
    state: Option<Arc<State>>,
}

impl WriteFence {
    /// No fencing: every call goes out.
    pub fn open() -> WriteFence {
        WriteFence { state: None }
    }

    /// Fenced, and closed until a Lease confirmation opens it.
    pub fn closed() -> WriteFence {
        WriteFence {
            state: Some(Arc::new(State {
                origin: Instant::now(),
                deadline: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            })),
        }
    }

    /// Let calls go out until `deadline` (monotonic).
    pub fn open_until(&self, deadline: Instant) {
        if let Some(s) = &self.state {
            let nanos = deadline.saturating_duration_since(s.origin).as_nanos().min(u128::from(u64::MAX - 1)) as u64;
            s.deadline.store(nanos.max(1), Ordering::SeqCst);
        }
    }

    /// Stop every call now.
    pub fn close(&self) {
        if let Some(s) = &self.state {
            s.deadline.store(0, Ordering::SeqCst);
        }
    }

    /// Whether a call may go out now.
    pub fn is_open(&self) -> bool {
        match &self.state {
            None => true,
            Some(s) => {
                let deadline = s.deadline.load(Ordering::SeqCst);
                deadline != 0 && s.origin + Duration::from_nanos(deadline) > Instant::now()
            }
        }
    }

    /// `Ok` when a call may go out now; counts a refusal otherwise.
    pub fn check(&self) -> Result<(), FenceClosed> {
        if self.is_open() {
            return Ok(());
        }
        if let Some(s) = &self.state {
            s.refused.fetch_add(1, Ordering::Relaxed);
        }
        Err(FenceClosed)
    }

    /// Attempts refused so far.
    pub fn refused(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.refused.load(Ordering::Relaxed))
    }
}

impl Intercept for WriteFence {
    fn name(&self) -> &'static str {
        "webhook-bridge-write-fence"
    }

    /// Runs before every attempt, retries included, right before the request is signed and sent.
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.check().map_err(|e| {
            if let Some(meta) = cfg.load::<Metadata>() {
                tracing::warn!(service = meta.service(), operation = meta.name(), "{e}");
            }
            BoxError::from(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_fence_always_lets_calls_out() {
        let f = WriteFence::open();
        f.close();
        assert!(f.check().is_ok());
    }

    #[test]
    fn a_fenced_replica_calls_only_until_its_confirmed_deadline() {
        let f = WriteFence::closed();
        assert!(f.check().is_err(), "closed until the Lease is confirmed");
        f.open_until(Instant::now() + Duration::from_secs(60));
        assert!(f.check().is_ok());
        // A paused replica wakes up after its deadline: monotonic time went on, the fence is shut.
        f.open_until(Instant::now() + Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(40));
        assert!(f.check().is_err());
        f.open_until(Instant::now() + Duration::from_secs(60));
        f.close();
        assert!(f.check().is_err(), "losing the Lease closes it at once");
        assert_eq!(f.refused(), 3);
    }
}
