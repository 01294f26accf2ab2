//! What every reconcile shares: the Kubernetes client, the engine, the event recorder, metrics,
//! settings, and per-object failure counts for backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::Reporter;

use super::events::Recorder;
use super::metrics::Metrics;
use crate::engine::Engine;

/// Reconcile timing.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Re-run the engine this long after a success (drift correction).
    pub resync: Duration,
    /// First retry delay after a retryable error; doubles per failure.
    pub base_backoff: Duration,
    /// Cap on the retry delay.
    pub max_backoff: Duration,
    /// How long after a change to the managed role the bridge stays `RolePropagating` (not
    /// Ready): IAM changes take about 10 to 30 s to reach API Gateway.
    pub role_propagation: Duration,
    /// API Gateway reads per second in-sync resyncs may use together; beyond it the resync
    /// interval stretches (see [`effective_resync`]).
    pub resync_read_budget: f64,
    /// In-sync resyncs running at once: the other reconcile slots stay free for new, changed and
    /// failing bridges, which go ahead of drift checks.
    pub resync_slots: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            resync: Duration::from_secs(600),
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            role_propagation: Duration::from_secs(30),
            resync_read_budget: 4.0,
            resync_slots: 2,
        }
    }
}

/// The delay after the `n`-th consecutive failure (n >= 1): base × 2^(n-1), capped, then jittered
/// uniformly into the upper half so retries of many objects spread out.
pub fn next_backoff(settings: &Settings, n: u32) -> Duration {
    let exp = settings.base_backoff.saturating_mul(2u32.saturating_pow(n.saturating_sub(1).min(20)));
    exp.min(settings.max_backoff).mul_f64(0.5 + fastrand::f64() * 0.5)
}

pub use super::known::API_GATEWAY_READS_PER_RESYNC;

/// The resync interval in effect for `bridges` bridges: the configured one, stretched so that
/// in-sync resyncs together stay within `resync_read_budget` API Gateway reads per second
/// (10,000 bridges at the default 4/s: one resync every ~7,900 s instead of tripping the quota).
pub fn effective_resync(settings: &Settings, bridges: usize) -> Duration {
    let needed = bridges as f64 * API_GATEWAY_READS_PER_RESYNC / settings.resync_read_budget.max(0.001);
    settings.resync.max(Duration::from_secs_f64(needed.min(7.0 * 24.0 * 3600.0)))
}

/// The wait before an in-sync bridge's next drift check: [`effective_resync`], jittered by
/// ±10 %, so bridges created together (an install, a GitOps sync) do not all resync in the same
/// second.
pub fn next_resync(settings: &Settings, bridges: usize) -> Duration {
    effective_resync(settings, bridges).mul_f64(0.9 + fastrand::f64() * 0.2)
}

/// The wait of a deferred in-sync resync, `waiting` (itself included) in the backlog, `slots`
/// resyncs at once, each taking `took` seconds: about when the backlog ahead of it has drained
/// (`waiting × took / slots`), at least 0.5 s and at most 10 minutes, stretched by `jitter` (0..1)
/// up to half again so the waiting ones come back spread out. So the asks a backlog makes per
/// second stay near what the slots can run, however long the backlog is.
pub fn resync_wait(waiting: usize, slots: usize, took: f64, jitter: f64) -> Duration {
    let drain = waiting as f64 * took.max(0.0) / slots.max(1) as f64;
    Duration::from_secs_f64(drain.clamp(0.5, 600.0) * (1.0 + jitter.clamp(0.0, 1.0) * 0.5))
}

/// In-sync resyncs put back for want of a slot and not run yet (by uid), and how long one takes
/// (seconds, moving average): a deferred resync waits about as long as the ones ahead of it
/// take to drain. A fixed 0.5..2 s wait made 7,800 in-sync bridges ask about 230 times a second
/// at 10,000 bridges (benches/gateway.rs), each ask a reconcile: the controller's queue was so
/// full of them that 2,184 new bridges were never reconciled.
///
/// An entry is refreshed each time its bridge is put back again (at most every 15 minutes), so
/// one not seen for [`ResyncBacklog::STALE`] belongs to a bridge that left some other way (its
/// finalizer removed by hand, deleted while this replica stood by) and is dropped.
///
/// Reconciles other parts of the operator ask for (a route key to hand back, a rotated Secret,
/// a gateway's new ids, a policy) are marked urgent and never wait for a slot.
#[derive(Debug)]
pub struct ResyncBacklog {
    deferred: Mutex<HashMap<String, std::time::Instant>>,
    took: Mutex<f64>,
    /// Bridges (namespace/name) a trigger asked to look at now.
    urgent: Mutex<std::collections::HashSet<String>>,
    pruned: Mutex<Option<std::time::Instant>>,
}

impl Default for ResyncBacklog {
    fn default() -> Self {
        ResyncBacklog {
            deferred: Mutex::default(),
            took: Mutex::new(0.5),
            urgent: Mutex::default(),
            pruned: Mutex::default(),
        }
    }
}

impl ResyncBacklog {
    /// Longer than the longest wait (600 s × 1.5).
    pub const STALE: Duration = Duration::from_secs(1_200);

    /// `uid`'s resync found none of `slots` free: the wait before it asks again.
    pub fn defer(&self, uid: &str, slots: usize) -> Duration {
        let now = std::time::Instant::now();
        let waiting = {
            let mut deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
            let mut pruned = self.pruned.lock().unwrap_or_else(|p| p.into_inner());
            if pruned.is_none_or(|at| now.duration_since(at) > Duration::from_secs(60)) {
                deferred.retain(|_, seen| now.duration_since(*seen) < Self::STALE);
                *pruned = Some(now);
            }
            deferred.insert(uid.to_string(), now);
            deferred.len()
        };
        let took = *self.took.lock().unwrap_or_else(|p| p.into_inner());
        resync_wait(waiting, slots, took, fastrand::f64())
    }

    /// `uid`'s resync runs, it is no longer in sync, or it is gone: it leaves the backlog.
    pub fn started(&self, uid: &str) {
        self.deferred.lock().unwrap_or_else(|p| p.into_inner()).remove(uid);
    }

    /// An in-sync resync took `took` (capped at a minute, so one stuck call cannot park the
    /// backlog for hours).
    pub fn finished(&self, took: Duration) {
        let mut avg = self.took.lock().unwrap_or_else(|p| p.into_inner());
        *avg = 0.8 * *avg + 0.2 * took.as_secs_f64().min(60.0);
    }

    /// Resyncs waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.deferred.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A trigger asks for `key` (namespace/name) to be looked at now.
    pub fn mark_urgent(&self, key: String) {
        self.urgent.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
    }

    /// Whether a trigger asked for `key` since its last reconcile (and clear it).
    pub fn take_urgent(&self, key: &str) -> bool {
        self.urgent.lock().unwrap_or_else(|p| p.into_inner()).remove(key)
    }
}

pub struct Context {
    pub client: Client,
    pub engine: Engine,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    failures: Mutex<HashMap<String, u32>>,
    /// Role-propagation deadlines we set, per object: the reflector's copy of our own status
    /// write may still be on its way when the next reconcile runs. Entries go once passed.
    role_deadlines: Mutex<HashMap<String, String>>,
    resync_permits: Arc<tokio::sync::Semaphore>,
    /// In-sync resyncs waiting for a slot, and how fast they drain.
    pub resync_backlog: ResyncBacklog,
    /// Uids this process has reconciled (the cache may not show our own status write yet).
    attempted: Mutex<std::collections::HashSet<String>>,
    /// The gateway cache, to look at bridges again when a route key changes hands.
    pub gateways: Option<Arc<super::gateways::GatewayWatch>>,
}

impl Context {
    pub fn new(client: Client, engine: Engine, metrics: Arc<Metrics>, settings: Settings, identity: &str) -> Context {
        let reporter = Reporter { controller: "webhook-bridge".into(), instance: Some(identity.to_string()) };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            engine,
            metrics,
            failures: Mutex::default(),
            role_deadlines: Mutex::default(),
            attempted: Mutex::default(),
            resync_backlog: ResyncBacklog::default(),
            resync_permits: Arc::new(tokio::sync::Semaphore::new(settings.resync_slots.max(1))),
            settings,
            gateways: None,
        }
    }

    /// A slot for an in-sync resync, or None when all are taken (the resync waits its turn: new
    /// and failing bridges go first).
    pub fn resync_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.resync_permits.clone().try_acquire_owned().ok()
    }

    /// Whether `key` is failing (retrying with backoff).
    pub fn failing(&self, key: &str) -> bool {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).contains_key(key)
    }

    /// The delay before the next retry of `key`: exponential in its consecutive failures,
    /// capped, with jitter (uniform in the upper half) so retries of many objects spread out.
    pub fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        next_backoff(&self.settings, *n)
    }

    /// The role-propagation deadline of `key` (RFC 3339): a new one when `changed`, else the
    /// later of the one in status and the one remembered here; None once it has passed.
    pub fn role_deadline(&self, key: &str, changed: bool, in_status: Option<&str>) -> Option<String> {
        let mut deadlines = self.role_deadlines.lock().unwrap_or_else(|p| p.into_inner());
        if changed && self.settings.role_propagation.is_zero() {
            deadlines.remove(key);
            return None; // waiting switched off
        }
        if changed {
            let at = crate::status::after(self.settings.role_propagation);
            deadlines.insert(key.to_string(), at.clone());
            return Some(at);
        }
        let remembered = deadlines.get(key).cloned();
        let latest = [in_status.map(str::to_string), remembered]
            .into_iter()
            .flatten()
            .max_by_key(|at| at.parse::<jiff::Timestamp>().ok());
        if latest.as_deref().and_then(crate::status::until).is_none() {
            deadlines.remove(key);
        }
        latest
    }

    /// Whether this is the first reconcile of `uid` in this process (and note it).
    pub fn first_attempt(&self, uid: &str) -> bool {
        self.attempted.lock().unwrap_or_else(|p| p.into_inner()).insert(uid.to_string())
    }

    /// Forget `uid` once its bridge is gone.
    pub fn forget(&self, uid: &str) {
        self.attempted.lock().unwrap_or_else(|p| p.into_inner()).remove(uid);
        self.resync_backlog.started(uid);
        self.metrics.set_resyncs_waiting(self.resync_backlog.waiting());
    }

    /// Forget the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings { base_backoff: Duration::from_secs(5), max_backoff: Duration::from_secs(300), ..Settings::default() }
    }

    /// Requeue delays of a failing object: 5 s doubling to the 300 s cap, each jittered into the
    /// upper half of its step (and `Context::succeeded` resets the count).
    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let s = settings();
        for _ in 0..200 {
            for n in 1..=12u32 {
                let step = (s.base_backoff * 2u32.pow(n - 1)).min(s.max_backoff);
                let d = next_backoff(&s, n);
                assert!(d >= step / 2 && d <= step, "failure {n}: {d:?} outside [{:?}, {step:?}]", step / 2);
            }
        }
        let spread: std::collections::BTreeSet<u128> = (0..50).map(|_| next_backoff(&s, 3).as_millis()).collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
    }

    #[test]
    fn resyncs_are_spread_around_the_interval() {
        let s = Settings { resync: Duration::from_secs(600), ..settings() };
        let delays: Vec<Duration> = (0..500).map(|_| next_resync(&s, 1)).collect();
        assert!(delays.iter().all(|d| *d >= Duration::from_secs(540) && *d <= Duration::from_secs(660)), "{delays:?}");
        let spread: std::collections::BTreeSet<u64> = delays.iter().map(Duration::as_secs).collect();
        assert!(spread.len() > 60, "spread over the window: {} distinct seconds", spread.len());
    }

    /// The wait of a deferred resync grows with the backlog, so the asks per second stay near
    /// what the slots run: 2,000 waiting, 4 slots, 0.5 s each: 250 s (not the old 0.5..2 s).
    #[test]
    fn a_deferred_resync_waits_longer_the_longer_the_backlog() {
        assert_eq!(resync_wait(1, 4, 0.5, 0.0), Duration::from_millis(500), "the floor");
        assert_eq!(resync_wait(2_000, 4, 0.5, 0.0), Duration::from_secs(250));
        assert_eq!(resync_wait(2_000, 4, 0.5, 1.0), Duration::from_secs(375), "jitter: up to half again");
        assert_eq!(resync_wait(1_000_000, 1, 5.0, 0.0), Duration::from_secs(600), "the cap");
        assert_eq!(resync_wait(10, 0, -1.0, 7.0), Duration::from_millis(750), "nonsense in: bounded out");
        // Asks per second of a backlog of w, each coming back after resync_wait: about what the
        // slots run (4 / 0.5 s), or w / 600 s once the cap binds; never the old w / 1.25 s.
        for (waiting, most) in [(100usize, 8.0), (1_000, 8.0), (10_000, 10_000.0 / 600.0)] {
            let asks = waiting as f64 / resync_wait(waiting, 4, 0.5, 0.0).as_secs_f64();
            assert!(asks <= most + 1e-9, "{waiting} waiting: {asks} asks/s");
        }
    }

    /// The backlog counts each waiting bridge once; a bridge leaves it when its resync runs (or
    /// it is gone); the waits follow the measured resync time.
    #[test]
    fn the_backlog_counts_each_waiting_bridge_once() {
        let b = ResyncBacklog::default();
        b.defer("a", 1);
        b.defer("a", 1);
        let third = b.defer("b", 1);
        assert_eq!(b.waiting(), 2);
        assert!(third >= Duration::from_secs(1) && third <= Duration::from_millis(1500), "2 x 0.5 s: {third:?}");
        b.started("a");
        b.started("b");
        assert_eq!(b.waiting(), 0);
        b.mark_urgent("ns/a".into());
        assert!(b.take_urgent("ns/a") && !b.take_urgent("ns/a"), "urgent once");
        assert!(!b.take_urgent("ns/b"));
        // An entry its bridge never comes back for is dropped once stale.
        b.defer("left", 1);
        b.deferred.lock().expect("lock").insert("left".into(), std::time::Instant::now() - ResyncBacklog::STALE);
        *b.pruned.lock().expect("lock") = None;
        b.defer("new", 1);
        assert_eq!(b.waiting(), 1, "the stale one pruned");
        b.started("new");
        for _ in 0..50 {
            b.finished(Duration::from_secs(4));
        }
        let one = b.defer("c", 1);
        assert!(one >= Duration::from_millis(3990) && one <= Duration::from_secs(6), "1 x ~4 s: {one:?}");
    }

    /// Within the budget the interval is as configured; beyond it, it stretches so resyncs take
    /// at most the budget: 12,000 bridges x 3 1/6 API Gateway reads / 4 per second = 9,500 s.
    #[test]
    fn the_resync_interval_stretches_to_keep_within_the_read_budget() {
        let s = Settings { resync: Duration::from_secs(600), resync_read_budget: 4.0, ..settings() };
        assert_eq!(API_GATEWAY_READS_PER_RESYNC, 3.0 + 1.0 / 6.0);
        assert_eq!(effective_resync(&s, 1), Duration::from_secs(600));
        assert_eq!(effective_resync(&s, 600), Duration::from_secs(600), "600 x 3.17 / 4 = 475 s: within");
        let secs = |bridges| effective_resync(&s, bridges).as_secs_f64();
        assert!((secs(1_200) - 950.0).abs() < 1e-3, "{}", secs(1_200));
        assert!((secs(12_000) - 9_500.0).abs() < 1e-3, "{}", secs(12_000));
        for bridges in [100, 1_000, 10_000] {
            let rate = bridges as f64 * API_GATEWAY_READS_PER_RESYNC / effective_resync(&s, bridges).as_secs_f64();
            assert!(rate <= 4.0 + 1e-9, "{bridges} bridges: {rate} reads/s");
        }
    }
}
