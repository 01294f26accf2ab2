//! Client-side AWS rate limiting: every SDK request waits for a token from its service's bucket,
//! so a thousand bridges reconciling at once stay under each service's API quota.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;

use super::WriteFence;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Mutex;

/// A token bucket: `rate` tokens per second, at most `burst` banked.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32) -> Arc<TokenBucket> {
        let burst = f64::from(burst.max(1));
        Arc::new(TokenBucket { rate: rate.max(0.001), burst, state: Mutex::new((burst, Instant::now())) })
    }

    /// Wait for one token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let (tokens, last) = *state;
                let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
                if tokens >= 1.0 {
                    *state = (tokens - 1.0, now);
                    return;
                }
                *state = (tokens, now);
                Duration::from_secs_f64((1.0 - tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Requests per second and burst for each AWS service the engine calls (SDK service names:
/// `apigatewayv2`, `eventbridge`, `iam`, `lambda`, `sts`), one bucket each, shared by every
/// region and bridge of this process.
#[derive(Clone, Debug)]
pub struct RateLimits {
    buckets: BTreeMap<&'static str, Arc<TokenBucket>>,
}

/// Defaults well under each service's documented control-plane quota: the API Gateway
/// management API allows 10 requests per second per account; Lambda 15 control-plane requests per
/// second; EventBridge and IAM control planes tens per second. (service, rate, burst)
pub const DEFAULT_RATES: &[(&str, f64, u32)] = &[
    ("apigatewayv2", 8.0, 8),
    ("eventbridge", 20.0, 20),
    ("iam", 10.0, 10),
    ("lambda", 10.0, 10),
    ("sts", 20.0, 20),
    ("sqs", 20.0, 20),
    ("sns", 20.0, 20),
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
        HttpConnectorFuture::new(async move {
            bucket.acquire().await;
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
