//! The operator end to end: its real kube client against the stateful test API server, its
//! engine against the local AWS emulator.

mod common;

use std::time::{Duration, Instant};

use common::apiserver::ApiServer;
use common::{Moto, inventory, lambda_arn};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::engine::Engine;
use webhook_bridge::operator::{self, LeaderElection, Options, Running, Settings};

const NS: &str = "default";

struct Operator {
    running: Running,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    engine: Engine,
}

impl Operator {
    async fn start(api: &ApiServer, moto: &Moto, options: Options) -> Operator {
        let mut engine = moto.engine("e2e").await;
        engine.retry_delay = Duration::from_millis(20);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let task_engine = engine.clone();
        let client = api.client();
        let task = tokio::spawn(async move {
            operator::serve(
                client,
                task_engine,
                options,
                async move {
                    let _ = stopped.await;
                },
                Some(started_tx),
            )
            .await
            .expect("operator");
        });
        let running = started_rx.await.expect("started");
        Operator { running, stop: Some(stop), task, engine }
    }

    /// SIGTERM: finish in-flight work and stop.
    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("graceful shutdown in time")
            .expect("task");
    }
}

fn options() -> Options {
    Options {
        settings: Settings {
            resync: Duration::from_secs(60),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(1),
        },
        metrics_addr: Some("127.0.0.1:0".parse().expect("addr")),
        ..Options::default()
    }
}

fn orders_json(name: &str, namespace: &str, bus: &str) -> Value {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("example");
    let mut v: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    v["metadata"] = json!({"name": name, "namespace": namespace});
    v["spec"]["eventBus"]["name"] = json!(bus);
    v
}

async fn create(client: &kube::Client, object: Value) -> WebhookBridge {
    let ns = object["metadata"]["namespace"].as_str().unwrap_or(NS).to_string();
    let api: Api<WebhookBridge> = Api::namespaced(client.clone(), &ns);
    let bridge: WebhookBridge = serde_json::from_value(object).expect("bridge");
    api.create(&PostParams::default(), &bridge).await.expect("create")
}

/// Poll the stored object until `check` holds.
async fn until(
    api: &ApiServer,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let object = api.get("webhookbridges", ns, name);
        if check(object.as_ref()) {
            return object;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {ns}/{name}: {what}; last: {object:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn condition<'a>(object: Option<&'a Value>, type_: &str) -> Option<&'a Value> {
    object?["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

fn is(object: Option<&Value>, type_: &str, status: &str) -> bool {
    condition(object, type_).is_some_and(|c| c["status"] == status)
}

fn ready(o: Option<&Value>) -> bool {
    is(o, "Ready", "True") && o.is_some_and(|o| o["status"]["observedGeneration"] == o["metadata"]["generation"])
}

fn events_for(api: &ApiServer, name: &str) -> Vec<(String, String, String)> {
    api.list("events")
        .iter()
        .filter(|e| e["regarding"]["name"] == name)
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_string(),
                e["reason"].as_str().unwrap_or("").to_string(),
                e["note"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Poll until an Event for `name` satisfies `check`.
async fn until_event(api: &ApiServer, name: &str, check: impl Fn(&(String, String, String)) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events_for(api, name).iter().any(&check) {
        assert!(Instant::now() < deadline, "no such Event for {name}: {:?}", events_for(api, name));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Poll `/metrics` until it contains every line.
async fn until_metrics(running: &Running, lines: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(running).await;
        if lines.iter().all(|l| text.contains(l)) {
            return;
        }
        assert!(Instant::now() < deadline, "metrics never showed {lines:?}: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scrape(running: &Running) -> String {
    let addr = running.metrics_addr.expect("metrics addr");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_change_and_delete_a_bridge_through_the_cluster() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder", "auditOrder"]).await;
    let api = ApiServer::start().await;
    let op = Operator::start(&api, &moto, options()).await;
    let client = api.client();

    create(&client, orders_json("orders", NS, "custom-events-dev")).await;
    let o = until(&api, NS, "orders", "Ready", ready).await.expect("object");
    let url = o["status"]["routes"][0]["url"].as_str().expect("url");
    assert!(url.ends_with("/dev/api/webhook"), "{url}");
    assert_eq!(o["metadata"]["finalizers"], json!([operator::FINALIZER]));
    assert_eq!(o["metadata"]["generation"], 1, "the controller never writes to spec");
    assert!(o["status"]["lastSyncedTime"].is_string());
    until_event(&api, "orders", |(t, r, n)| t == "Normal" && r == "Synced" && n.starts_with("13 AWS change(s)")).await;

    // A spec change converges and garbage-collects what the spec dropped.
    let bridges: Api<WebhookBridge> = Api::namespaced(client.clone(), NS);
    let patch = json!({"spec": {"rules": [{"name": "create-order", "pattern": {"source": ["source.events"], "detail-type": ["create"]},
                                           "targets": [{"arn": lambda_arn("auditOrder")}]}]}});
    bridges.patch("orders", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch");
    let o = until(&api, NS, "orders", "generation 2 Ready", |o| {
        ready(o) && o.is_some_and(|o| o["metadata"]["generation"] == 2)
    })
    .await
    .expect("object");
    assert_eq!(o["status"]["rules"].as_array().map(Vec::len), Some(1));
    let inv = inventory(&moto.clients().await).await;
    assert_eq!((inv.rules.len(), inv.targets, inv.permissions), (1, 1, 1), "{inv:?}");

    // The metrics saw it all.
    until_metrics(
        &op.running,
        &[
            "webhook_bridge_reconciles_total{result=\"success\"}",
            "webhook_bridge_bridges{condition=\"Ready\"} 1",
            "operation=\"CreateApi\",outcome=\"ok\"} 1",
            "webhook_bridge_reconcile_duration_seconds_bucket",
        ],
    )
    .await;

    // Delete: AWS is cleaned, then the finalizer goes, then the object.
    bridges.delete("orders", &DeleteParams::default()).await.expect("delete");
    until(&api, NS, "orders", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, common::Inventory::default());
    until_event(&api, "orders", |(_, r, _)| r == "Deleted").await;
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_removes_the_object_and_keeps_aws() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let api = ApiServer::start().await;
    let op = Operator::start(&api, &moto, options()).await;
    let client = api.client();
    let mut object = orders_json("kept", NS, "kept-bus");
    object["spec"]["deletionPolicy"] = json!("Retain");
    create(&client, object).await;
    until(&api, NS, "kept", "Ready", ready).await;
    let before = inventory(&moto.clients().await).await;

    Api::<WebhookBridge>::namespaced(client, NS).delete("kept", &DeleteParams::default()).await.expect("delete");
    until(&api, NS, "kept", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, before);
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_spec_error_stalls_with_an_event_and_no_aws_write_or_retry() {
    let moto = Moto::start();
    let api = ApiServer::start().await;
    let op = Operator::start(&api, &moto, options()).await;
    let mut object = orders_json("bad", NS, "bad-bus");
    // Passes admission; only the engine knows the bridge is in us-east-1.
    object["spec"]["rules"][0]["targets"][0]["arn"] = json!("arn:aws:lambda:eu-west-1:123456789012:function:f");
    create(&api.client(), object).await;

    let o = until(&api, NS, "bad", "Stalled", |o| is(o, "Stalled", "True")).await;
    let stalled = condition(o.as_ref(), "Stalled").expect("condition");
    assert_eq!(stalled["reason"], "InvalidSpec");
    assert!(stalled["message"].as_str().unwrap_or("").contains("spec.rules[0].targets[0].arn"), "{stalled}");
    assert!(is(o.as_ref(), "Ready", "False"));
    until_event(&api, "bad", |(t, r, _)| t == "Warning" && r == "InvalidSpec").await;
    assert_eq!(op.engine.aws.counter.writes(), 0);

    // No retry loop: the number of reconciles stays put.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = op.engine.aws.counter.reads();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(op.engine.aws.counter.reads(), calls, "a terminal error waits for the object to change");
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_down_means_reconciling_with_bounded_retries_then_recovery() {
    let mut moto = Moto::start();
    let port = moto.port();
    let api = ApiServer::start().await;
    let op = Operator::start(&api, &moto, options()).await;
    moto.stop();
    let started = Instant::now();
    create(&api.client(), orders_json("orders", NS, "custom-events-dev")).await;

    let o = until(&api, NS, "orders", "Reconciling: AwsUnavailable", |o| {
        condition(o, "Reconciling").is_some_and(|c| c["status"] == "True" && c["reason"] == "AwsUnavailable")
    })
    .await;
    assert!(is(o.as_ref(), "Stalled", "False"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Backoff 0.2 s doubling to a 1 s cap (jittered): a handful of tries, not a hot loop.
    let tries = op
        .engine
        .aws
        .counter
        .snapshot()
        .iter()
        .filter(|((s, op, _), _)| s == "sts" && op == "GetCallerIdentity")
        .map(|(_, n)| n)
        .sum::<u64>();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(tries >= 2 && (tries as f64) <= 2.0 * elapsed + 4.0, "{tries} tries in {elapsed:.1}s");

    let moto = Moto::start_on(Some(port));
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    until(&api, NS, "orders", "Ready after AWS returns", ready).await;
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_restored_on_resync() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let api = ApiServer::start().await;
    let mut opts = options();
    opts.settings.resync = Duration::from_secs(1);
    let op = Operator::start(&api, &moto, opts).await;
    create(&api.client(), orders_json("orders", NS, "custom-events-dev")).await;
    let o = until(&api, NS, "orders", "Ready", ready).await.expect("object");
    let (api_id, route_id) = (
        o["status"]["apiId"].as_str().expect("api").to_string(),
        o["status"]["routes"][0]["routeId"].as_str().expect("route").to_string(),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // In sync, a resync reads but never writes.
    let writes = op.engine.aws.counter.writes();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(op.engine.aws.counter.writes(), writes, "{}", op.engine.aws.counter.table());

    let c = moto.clients().await;
    c.apigateway.delete_route().api_id(&api_id).route_id(&route_id).send().await.expect("console delete");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let routes = c.apigateway.get_routes().api_id(&api_id).send().await.expect("routes");
        if routes.items().iter().any(|r| r.route_key() == Some("POST /api/webhook")) {
            break;
        }
        assert!(Instant::now() < deadline, "the route was not restored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_watched_namespaces_are_reconciled_and_a_malformed_object_stops_nothing() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let api = ApiServer::start().await;
    let mut opts = options();
    opts.namespaces = vec!["team-a".into()];
    let op = Operator::start(&api, &moto, opts).await;

    // A malformed object an older CRD let in: routes is not a list.
    let mut broken = orders_json("broken", "team-a", "broken-bus");
    broken["spec"]["routes"] = json!("POST /oops");
    api.insert_raw("webhookbridges", broken);
    create(&api.client(), orders_json("a", "team-a", "bus-a")).await;
    create(&api.client(), orders_json("b", "team-b", "bus-b")).await;

    until(&api, "team-a", "a", "Ready", ready).await;
    // The malformed object is reported by a Warning Event (its status cannot be written: the
    // apiserver validates the whole object on a status write) and counted as Stalled.
    until_event(&api, "broken", |(t, r, n)| {
        t == "Warning" && r == "InvalidObject" && n.contains("does not match the WebhookBridge schema")
    })
    .await;
    until_metrics(
        &op.running,
        &["webhook_bridge_bridges{condition=\"Stalled\"} 1", "webhook_bridge_bridges{condition=\"Ready\"} 1"],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = api.get("webhookbridges", "team-b", "b").expect("b");
    assert!(b.get("status").is_none() && b["metadata"]["finalizers"].is_null(), "team-b is not ours: {b:#?}");
    assert_eq!(inventory(&moto.clients().await).await.buses, vec!["bus-a".to_string()]);
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_elect_one_leader_and_only_it_writes() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let api = ApiServer::start().await;
    let with_lease = |identity: &str| {
        let mut o = options();
        o.identity = identity.into();
        o.leader_election = Some(LeaderElection {
            lease_name: "webhook-bridge-leader".into(),
            namespace: "ops".into(),
            identity: identity.into(),
            lease_seconds: 3,
        });
        o
    };
    let one = Operator::start(&api, &moto, with_lease("one")).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !*one.running.leading.borrow() {
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let two = Operator::start(&api, &moto, with_lease("two")).await;
    create(&api.client(), orders_json("orders", NS, "custom-events-dev")).await;
    until(&api, NS, "orders", "Ready", ready).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(*one.running.leading.borrow() && !*two.running.leading.borrow());
    assert!(one.engine.aws.counter.writes() > 0);
    assert_eq!(two.engine.aws.counter.reads() + two.engine.aws.counter.writes(), 0, "the standby makes no AWS call");
    let lease = api.get("leases", "ops", "webhook-bridge-leader").expect("lease");
    assert_eq!(lease["spec"]["holderIdentity"], "one");

    // The leader goes away (releasing its lease); the standby takes over and does the work.
    one.shutdown().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !*two.running.leading.borrow() {
        assert!(Instant::now() < deadline, "the standby never took over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    create(&api.client(), orders_json("second", NS, "second-bus")).await;
    until(&api, NS, "second", "Ready", ready).await;
    assert!(two.engine.aws.counter.writes() > 0);
    two.shutdown().await;
}
