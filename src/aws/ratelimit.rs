//! Client-side AWS rate limiting: every SDK request waits for a token from its service's bucket,
//! so a thousand bridges reconciling at once stay under each service's API quota.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::time::Instant;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;

use super::WriteFence;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Notify;

tokio::task_local! {
    /// Who the AWS requests of the current task are for (the bridge's namespace): buckets serve
    /// waiting tenants in turn.
    static TENANT: String;
}

/// Run `work` with its AWS requests queued as `tenant`'s.
pub async fn as_tenant<F: std::future::Future>(tenant: &str, work: F) -> F::Output {
    TENANT.scope(tenant.to_string(), work).await
}

fn current_tenant() -> String {
    TENANT.try_with(Clone::clone).unwrap_or_default()
}

/// A token bucket: `rate` tokens per second, at most `burst` banked. Fair across tenants:
/// when requests wait, the next token goes to the next tenant in turn (round robin over the
/// tenants with waiting requests), each tenant's own requests in arrival order, so one
/// namespace with hundreds of routes cannot starve the others.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: StdMutex<BucketState>,
    turn: Notify,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Instant,
    /// Waiting tickets per tenant, oldest first.
    queues: BTreeMap<String, VecDeque<u64>>,
    /// The tenant served last (the next turn goes to the one after it).
    served: Option<String>,
    next_ticket: u64,
}

impl BucketState {
    fn refill(&mut self, rate: f64, burst: f64) {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(burst);
        self.last = now;
    }

    /// The ticket whose turn it is: the first of the first tenant after the one served last.
    fn head(&self) -> Option<u64> {
        let after = self.served.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let next = self.queues.range::<str, _>((after, Bound::Unbounded)).next().or_else(|| self.queues.iter().next());
        next.and_then(|(_, q)| q.front().copied())
    }

    fn forget(&mut self, tenant: &str, ticket: u64) {
        if let Some(q) = self.queues.get_mut(tenant) {
            q.retain(|t| *t != ticket);
            if q.is_empty() {
                self.queues.remove(tenant);
            }
        }
    }
}

/// A waiting request's place in the queue; leaving it (the request was cancelled) passes the
/// turn on.
struct Ticket<'a> {
    bucket: &'a TokenBucket,
    tenant: String,
    id: u64,
    granted: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.granted {
            self.bucket.lock().forget(&self.tenant, self.id);
            self.bucket.turn.notify_waiters();
        }
    }
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32) -> Arc<TokenBucket> {
        let burst = f64::from(burst.max(1));
        Arc::new(TokenBucket {
            rate: rate.max(0.001),
            burst,
            state: StdMutex::new(BucketState {
                tokens: burst,
                last: Instant::now(),
                queues: BTreeMap::new(),
                served: None,
                next_ticket: 0,
            }),
            turn: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for one token, as the current task's tenant (see [`as_tenant`]).
    pub async fn acquire(&self) {
        self.acquire_as(&current_tenant()).await
    }

    /// Wait for one token, as `tenant`.
    pub async fn acquire_as(&self, tenant: &str) {
        let mut ticket = {
            let mut state = self.lock();
            let id = state.next_ticket;
            state.next_ticket += 1;
            state.queues.entry(tenant.to_string()).or_default().push_back(id);
            Ticket { bucket: self, tenant: tenant.to_string(), id, granted: false }
        };
        loop {
            // Registered before the state is read: a turn passed on meanwhile is not missed.
            let turn = self.turn.notified();
            tokio::pin!(turn);
            turn.as_mut().enable();
            let wait = {
                let mut state = self.lock();
                state.refill(self.rate, self.burst);
                if state.head() != Some(ticket.id) {
                    None // not our turn: wait for the next grant
                } else if state.tokens >= 1.0 - 1e-9 {
                    state.tokens = (state.tokens - 1.0).max(0.0);
                    state.forget(&ticket.tenant, ticket.id);
                    state.served = Some(ticket.tenant.clone());
                    ticket.granted = true;
                    drop(state);
                    self.turn.notify_waiters();
                    return;
                } else {
                    // At least the timer's resolution: a wait rounded to zero would spin.
                    Some(Duration::from_secs_f64((1.0 - state.tokens) / self.rate).max(Duration::from_millis(1)))
                }
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => turn.await,
            }
        }
    }
}

/// Requests per second and burst for each AWS service the engine calls (`apigatewayv2`,
/// `eventbridge`, `eventsv2`, `iam`, `lambda`, `sts`, `sqs`, `sns`, `logs`: the keys `Clients::build` gives
/// its clients), one bucket each, shared by every region and bridge of this process.
#[derive(Clone, Debug)]
pub struct RateLimits {
    buckets: BTreeMap<&'static str, Arc<TokenBucket>>,
}

/// Defaults well under each service's documented control-plane quota: the API Gateway
/// management API allows 10 requests per second per account; Lambda 15 control-plane requests per
/// second; EventBridge and IAM control planes tens per second; CloudWatch Logs 5 to 10 per second
/// for CreateLogGroup, DescribeLogGroups and the like. (service, rate, burst)
pub const DEFAULT_RATES: &[(&str, f64, u32)] = &[
    ("apigatewayv2", 8.0, 8),
    ("eventbridge", 20.0, 20),
    ("eventsv2", 20.0, 20),
    ("iam", 10.0, 10),
    ("lambda", 10.0, 10),
    ("sts", 20.0, 20),
    ("sqs", 20.0, 20),
    ("sns", 20.0, 20),
    ("logs", 5.0, 5),
];

impl RateLimits {
    /// The per-service defaults above.
    pub fn defaults() -> RateLimits {
        RateLimits::from_table(DEFAULT_RATES)
    }

    /// One rate and burst for every service (e.g. a benchmark against a local emulator).
    pub fn uniform(rate: f64, burst: u32) -> RateLimits {
        let table: Vec<(&str, f64, u32)> = DEFAULT_RATES.iter().map(|(s, _, _)| (*s, rate, burst)).collect();
        RateLimits::from_table(&table)
    }

    pub fn from_table(table: &[(&'static str, f64, u32)]) -> RateLimits {
        RateLimits { buckets: table.iter().map(|(s, rate, burst)| (*s, TokenBucket::new(*rate, *burst))).collect() }
    }

    /// `service`'s bucket (None: not limited).
    pub fn bucket(&self, service: &str) -> Option<Arc<TokenBucket>> {
        self.buckets.get(service).cloned()
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc), built explicitly: the SDK
/// otherwise resolves it lazily, leaving nothing to wrap.
pub fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https()
}

/// An SDK HTTP client that takes a token before each request, then checks the write fence again:
/// a request may wait for its token long enough for the Lease to run out meanwhile (the fence
/// interceptor ran before the wait), so the last check is right before the request is sent.
#[derive(Debug, Clone)]
pub struct RateLimitedClient {
    inner: SharedHttpClient,
    bucket: Arc<TokenBucket>,
    fence: WriteFence,
}

impl RateLimitedClient {
    pub fn new(inner: SharedHttpClient, bucket: Arc<TokenBucket>, fence: WriteFence) -> RateLimitedClient {
        RateLimitedClient { inner, bucket, fence }
    }
}

#[derive(Debug)]
struct RateLimitedConnector {
    inner: SharedHttpConnector,
    bucket: Arc<TokenBucket>,
    fence: WriteFence,
}

impl HttpConnector for RateLimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, bucket, fence) = (self.inner.clone(), self.bucket.clone(), self.fence.clone());
        let tenant = current_tenant(); // read here: the future may be polled outside the scope
        HttpConnectorFuture::new(async move {
            bucket.acquire_as(&tenant).await;
            fence.check().map_err(|e| ConnectorError::other(Box::new(e), None))?;
            inner.call(request).await
        })
    }
}

impl HttpClient for RateLimitedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(RateLimitedConnector {
            inner: self.inner.http_connector(settings, components),
            bucket: self.bucket.clone(),
            fence: self.fence.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Answers200;

    impl HttpConnector for Answers200 {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            let status = aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap_or_else(|e| panic!("{e}"));
            HttpConnectorFuture::ready(Ok(aws_smithy_runtime_api::http::Response::new(
                status,
                aws_smithy_types::body::SdkBody::empty(),
            )))
        }
    }

    /// A request that passed the fence interceptor, then waited for its token past the Lease's
    /// deadline, is not sent.
    #[tokio::test]
    async fn a_request_that_waited_past_the_fence_deadline_is_not_sent() {
        let fence = WriteFence::closed();
        fence.open_until(std::time::Instant::now() + Duration::from_millis(30));
        let connector = RateLimitedConnector {
            inner: SharedHttpConnector::new(Answers200),
            bucket: TokenBucket::new(10.0, 1), // the second request waits 100 ms for a token
            fence: fence.clone(),
        };
        let request = || HttpRequest::empty();
        assert!(connector.call(request()).await.is_ok(), "within the deadline");
        let err = connector.call(request()).await.expect_err("sent after the deadline");
        let source = std::error::Error::source(&err);
        assert!(source.is_some_and(|s| s.downcast_ref::<super::super::fence::FenceClosed>().is_some()), "{err:?}");
        assert_eq!(fence.refused(), 1);
    }

    /// Namespace a queues 100 requests, then b queues 5: b is served in turn with a, not after
    /// a's hundred; each tenant's own requests keep their order.
    #[tokio::test(start_paused = true)]
    async fn waiting_tenants_are_served_in_turn() {
        let bucket = TokenBucket::new(100.0, 1);
        let order = Arc::new(StdMutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (tenant, n) in [("a", 100), ("b", 5)] {
            for i in 0..n {
                let (bucket, order) = (bucket.clone(), order.clone());
                tasks.push(tokio::spawn(as_tenant(tenant, async move {
                    bucket.acquire().await;
                    order.lock().unwrap_or_else(|p| p.into_inner()).push((tenant, i));
                })));
                tokio::task::yield_now().await; // arrival order: a's hundred first
            }
        }
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{e}"));
        }
        let order = order.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let last_b = order.iter().rposition(|(t, _)| *t == "b").unwrap_or(usize::MAX);
        assert!(last_b < 12, "b's 5 requests alternate with a's, not after them: b done at {last_b}: {order:?}");
        for tenant in ["a", "b"] {
            let mine: Vec<i32> = order.iter().filter(|(t, _)| *t == tenant).map(|(_, i)| *i).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{tenant} in order: {mine:?}");
        }
        assert_eq!(order.len(), 105);
    }

    /// A request that gives up waiting (its future is dropped) does not hold the queue.
    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_passes_its_turn_on() {
        let bucket = TokenBucket::new(10.0, 1);
        bucket.acquire_as("a").await; // the banked token
        let cancelled = tokio::time::timeout(Duration::from_millis(10), bucket.acquire_as("a")).await;
        assert!(cancelled.is_err(), "had to wait");
        let start = tokio::time::Instant::now();
        bucket.acquire_as("b").await;
        assert!(start.elapsed() <= Duration::from_millis(100), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_the_burst_then_the_rate() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(5), "the burst is immediate");
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(900) && elapsed <= Duration::from_millis(1100), "{elapsed:?}");
    }
}
