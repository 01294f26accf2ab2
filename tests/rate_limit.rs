//! The client-side rate limit, measured where it matters: requests per second per service
//! arriving at the emulator (through a TCP tap), with several bridges reconciled at once.
//! (It used to wrap `SdkConfig::http_client()`, which is None until the SDK resolves its default
//! client lazily, so nothing was limited: 145 calls/s were measured with a 20/s setting.)

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sts::config::Credentials;
use common::tap::Tap;
use common::{Moto, REGION, example};
use webhook_bridge::aws::{Aws, RateLimits};
use webhook_bridge::engine::Engine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_stays_within_its_bucket_at_the_emulator() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let tap = Tap::start(&moto.endpoint).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(REGION))
        .endpoint_url(&tap.endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    // (service, rate/s, burst): tight for API Gateway and EventBridge, loose for the rest.
    let (api_rate, api_burst, events_rate, events_burst) = (6.0, 3, 8.0, 4);
    let limits = RateLimits::from_table(&[
        ("apigatewayv2", api_rate, api_burst),
        ("eventbridge", events_rate, events_burst),
        ("iam", 1000.0, 1000),
        ("lambda", 1000.0, 1000),
        ("sts", 1000.0, 1000),
    ]);
    let engine = Engine::new(Aws::rate_limited(config, limits), "rate");
    let bridges: Vec<_> = (0..5)
        .map(|i| {
            let mut b = example("orders.yaml");
            b.metadata.name = Some(format!("orders-{i}"));
            b.spec.event_bus.name = Some(format!("bus-{i}"));
            b
        })
        .collect();
    let start = Instant::now();
    for result in futures::future::join_all(bridges.iter().map(|b| engine.reconcile(b))).await {
        result.expect("reconcile");
    }
    let elapsed = start.elapsed().as_secs_f64();

    let count = |service: &str| tap.requests().iter().filter(|(_, s)| s == service).count();
    let (api, events) = (count("apigateway"), count("events"));
    assert!(api > 20 && events > 20, "enough traffic to measure: {api} API Gateway, {events} EventBridge requests");
    // A token bucket lets through at most burst + rate × w requests in any window w (+1 for
    // timestamps taken at the tap, a hair after the bucket).
    for (service, rate, burst) in [("apigateway", api_rate, api_burst), ("events", events_rate, events_burst)] {
        for w in [1.0, 3.0] {
            let peak = tap.peak(service, Duration::from_secs_f64(w));
            let limit = f64::from(burst) + rate * w + 1.0;
            assert!(peak as f64 <= limit, "{service}: {peak} requests in {w} s, limit {limit}");
        }
    }
    // And it did bind: API Gateway alone needed this long at its rate.
    let floor = (api as f64 - f64::from(api_burst)) / api_rate;
    assert!(elapsed >= floor * 0.9, "{api} API Gateway requests in {elapsed:.1} s: not limited to {api_rate}/s");
}

#[test]
fn the_defaults_keep_every_service_under_its_documented_quota() {
    for (service, rate, burst) in webhook_bridge::aws::ratelimit::DEFAULT_RATES {
        // API Gateway management API: 10 requests/s per account; Lambda control plane: 15/s.
        let quota = match *service {
            "apigatewayv2" => 10.0,
            "lambda" => 15.0,
            // CloudWatch Logs: DescribeLogGroups 10/s, CreateLogGroup 5/s (a rare write).
            "logs" => 10.0,
            _ => 50.0,
        };
        assert!(*rate < quota && f64::from(*burst) <= quota, "{service}: {rate}/s burst {burst} vs quota {quota}/s");
    }
    assert!(RateLimits::defaults().bucket("apigatewayv2").is_some());
}

/// One namespace reconciling sixteen bridges at once (each request of theirs queued for the API
/// Gateway bucket) does not starve another namespace's bridge started just after: the buckets
/// serve waiting namespaces in turn, so the lone bridge finishes in a fraction of the time the
/// sixteen take, instead of queueing behind all of their requests (measured: 2.2 to 2.9 s against 7.3 s;
/// with ten bridges and first come, first served: 7.2 s against 7.4 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_namespace_does_not_starve_the_others() {
    use webhook_bridge::aws::ratelimit::as_tenant;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let config = moto.config().await;
    let limits = RateLimits::from_table(&[
        ("apigatewayv2", 20.0, 1),
        ("eventbridge", 1000.0, 1000),
        ("iam", 1000.0, 1000),
        ("lambda", 1000.0, 1000),
        ("sts", 1000.0, 1000),
    ]);
    let engine = Engine::new(Aws::rate_limited(config, limits), "fair");
    let bridge = |ns: &str, i: usize| {
        let mut b = example("orders.yaml");
        b.metadata.namespace = Some(ns.into());
        b.metadata.name = Some(format!("b{i}"));
        b.spec.event_bus.name = Some(format!("bus-{ns}-{i}"));
        let route = b.spec.routes[0].clone();
        b.spec.routes = (0..2)
            .map(|r| {
                let mut route = route.clone();
                route.name = format!("r{r}");
                route.path = format!("/r{r}");
                route
            })
            .collect();
        b
    };
    let start = Instant::now();
    // Enough for the busy namespace to hold the bucket for several seconds on its own.
    let busy: Vec<_> = (0..16)
        .map(|i| {
            let (engine, b) = (engine.clone(), bridge("busy", i));
            tokio::spawn(async move {
                as_tenant("busy", engine.reconcile(&b)).await.expect("busy");
                start.elapsed()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await; // the busy namespace's requests queue first
    let (e, lone) = (engine.clone(), bridge("lone", 0));
    let lone_took = tokio::spawn(async move {
        as_tenant("lone", e.reconcile(&lone)).await.expect("lone");
        start.elapsed()
    })
    .await
    .expect("join");
    let mut busy_took = Duration::ZERO;
    for t in busy {
        busy_took = busy_took.max(t.await.expect("join"));
    }
    eprintln!("fair share: 16 bridges of one namespace {busy_took:.1?}, 1 bridge of another {lone_took:.1?}");
    assert!(busy_took > Duration::from_secs(3), "the limit binds: {busy_took:?}");
    // Without fairness the lone bridge's calls queue behind all 16 (it would finish about when
    // they do: 1.0x). With it, what is left of its time is the emulator's own queue: the
    // model-check proxy serves everyone's calls in one Python process, which no limiter of ours
    // can make fair (measured 2026-12-03 on 2 cores: 0.53x to 0.76x; 0.39x with MODEL_CHECK=off).
    assert!(
        lone_took * 5 < busy_took * 4,
        "the lone bridge queued behind the busy namespace: {lone_took:?} vs {busy_took:?}"
    );
}
