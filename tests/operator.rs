//! The operator end to end: its real kube client against a real kube-apiserver (tests/common/k8s.rs),
//! its engine against the local AWS emulator. Each test has its own namespace and operator.

mod common;

use std::time::{Duration, Instant};

use common::kube_wait::{condition, create, events_for, get, is, orders_json, ready, until, until_event};
use common::operator::{Operator, options};
use common::tap::Tap;
use common::{Moto, inventory, lambda_arn};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::aws::Aws;
use webhook_bridge::engine::Engine;
use webhook_bridge::operator::{self, LeaderElection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_change_and_delete_a_bridge_through_the_cluster() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("apply").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder", "auditOrder"]).await;
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;

    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;
    let o = until(&client, &ns, "orders", "Ready", ready).await.expect("object");
    let url = o["status"]["routes"][0]["url"].as_str().expect("url");
    assert!(url.ends_with("/dev/api/webhook"), "{url}");
    // A bridge that never ran owns nothing yet: no search of the region for its API.
    let reads = op.engine.aws.counter.reads_by_operation();
    assert!(!reads.contains_key("GetApis") && !reads.contains_key("GetDomainNames"), "{reads:?}");
    assert!(reads.contains_key("DescribeEventBus"), "names are still looked up: {reads:?}");
    assert_eq!(o["metadata"]["finalizers"], json!([operator::FINALIZER]));
    assert_eq!(o["metadata"]["generation"], 1, "the controller never writes to spec");
    assert!(o["status"]["lastSyncedTime"].is_string());
    until_event(&client, &ns, "orders", |(t, r, n)| {
        t == "Normal" && r == "Synced" && n.starts_with("13 AWS change(s)")
    })
    .await;

    // A spec change converges and garbage-collects what the spec dropped.
    let bridges: Api<WebhookBridge> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"spec": {"rules": [{"name": "create-order", "pattern": {"source": ["source.events"], "detail-type": ["create"]},
                                           "targets": [{"arn": lambda_arn("auditOrder")}]}]}});
    bridges.patch("orders", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch");
    let o = until(&client, &ns, "orders", "generation 2 Ready", |o| {
        ready(o) && o.is_some_and(|o| o["metadata"]["generation"] == 2)
    })
    .await
    .expect("object");
    assert_eq!(o["status"]["rules"].as_array().map(Vec::len), Some(1));
    let inv = inventory(&moto.clients().await).await;
    assert_eq!((inv.rules.len(), inv.targets, inv.permissions), (1, 1, 1), "{inv:?}");

    op.until_metrics(&[
        "webhook_bridge_reconciles_total{result=\"success\"}",
        "webhook_bridge_bridges{condition=\"Ready\"} 1",
        "operation=\"CreateApi\",outcome=\"ok\"} 1",
        "webhook_bridge_reconcile_duration_seconds_bucket",
    ])
    .await;

    // Delete: AWS is cleaned, then the finalizer goes, then the object.
    bridges.delete("orders", &DeleteParams::default()).await.expect("delete");
    until(&client, &ns, "orders", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, common::Inventory::default());
    until_event(&client, &ns, "orders", |(_, r, _)| r == "Deleted").await;
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_sync_resync_writes_nothing_to_kubernetes_or_aws() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("resync").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let mut opts = options(&[&ns]);
    opts.settings.resync = Duration::from_millis(800);
    // A budget of one resync's API Gateway reads per second: one bridge may resync once a
    // second, so the 0.8 s interval stretches to 1 s.
    opts.settings.resync_read_budget = webhook_bridge::operator::known::API_GATEWAY_READS_PER_RESYNC;
    let op = Operator::start(client.clone(), &moto, opts).await;
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;
    let o = until(&client, &ns, "orders", "Ready", ready).await.expect("object");
    // Start counting just after a resync has finished (the counter moves once its reads are
    // done; the next is about a second away), then watch two more.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = op.sample("webhook_bridge_resyncs_total").await;
    while op.sample("webhook_bridge_resyncs_total").await == first {
        assert!(Instant::now() < deadline, "no resync within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rv = get(&client, &ns, "orders").await.expect("object")["metadata"]["resourceVersion"].clone();
    let (writes, reconciles) = (op.engine.aws.counter.writes(), op.sample("webhook_bridge_resyncs_total").await);
    let reads_before = op.engine.aws.counter.reads_by_operation();
    // Wait for two more resyncs (however slow the machine), then compare.
    let deadline = Instant::now() + Duration::from_secs(30);
    while op.sample("webhook_bridge_resyncs_total").await - reconciles < 2.0 {
        assert!(Instant::now() < deadline, "no two resyncs within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = get(&client, &ns, "orders").await.expect("object");
    assert_eq!(after["metadata"]["resourceVersion"], rv, "an in-sync resync wrote to Kubernetes");
    assert_eq!(op.engine.aws.counter.writes(), writes, "an in-sync resync wrote to AWS");
    assert_eq!(after["status"], o["status"]);
    assert_eq!(op.sample("webhook_bridge_effective_resync_seconds").await, 1.0, "stretched to the read budget");
    // By id: no search of the account, no tag read, at most 10 reads (11 with GetApi).
    let resyncs = op.sample("webhook_bridge_resyncs_total").await - reconciles;
    let reads_after = op.engine.aws.counter.reads_by_operation();
    let read: std::collections::BTreeMap<&String, u64> = reads_after
        .iter()
        .map(|(k, n)| (k, n - reads_before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let total: u64 = read.values().sum();
    for op in ["GetApis", "ListTagsForResource", "DescribeEventBus"] {
        assert!(!read.contains_key(&op.to_string()), "{op} in an in-sync resync: {read:?}");
    }
    assert!(total as f64 <= 11.0 * resyncs, "{total} reads in {resyncs} resyncs: {read:?}");
    op.shutdown().await;
}

/// In-sync resyncs wait for a resync slot: with one slot and six Ready bridges due every 300 ms,
/// resyncs are put back (counted) while a new bridge goes straight through to Ready, and every
/// bridge still gets its drift check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_bridges_go_ahead_of_in_sync_resyncs() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("priority").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let mut opts = options(&[&ns]);
    opts.settings.resync = Duration::from_millis(300);
    opts.settings.resync_slots = 1;
    let op = Operator::start(client.clone(), &moto, opts).await;
    for i in 0..6 {
        create(&client, orders_json(&format!("b{i}"), &ns, &format!("bus-{i}"))).await;
    }
    for i in 0..6 {
        until(&client, &ns, &format!("b{i}"), "Ready", ready).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while op.sample("webhook_bridge_resyncs_deferred_total").await < 1.0 {
        assert!(Instant::now() < deadline, "six bridges resyncing every 300 ms through one slot never waited");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resyncs = op.sample("webhook_bridge_reconciles_total{result=\"success\"}").await;
    let started = Instant::now();
    create(&client, orders_json("new", &ns, "bus-new")).await;
    until(&client, &ns, "new", "Ready while resyncs queue", ready).await;
    eprintln!("new bridge Ready in {:?} beside 6 resyncing through 1 slot", started.elapsed());
    // Deferred, not dropped: the drift checks keep coming through the one slot.
    let deadline = Instant::now() + Duration::from_secs(30);
    while op.sample("webhook_bridge_reconciles_total{result=\"success\"}").await < resyncs + 12.0 {
        assert!(Instant::now() < deadline, "resyncs stopped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_survives_crd_defaulting_and_pruning_unchanged() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("status").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;
    let stored = until(&client, &ns, "orders", "Ready", ready).await.expect("object");
    // What the apiserver kept (after pruning unknown fields and applying defaults) reads back into
    // the operator's types and serializes to exactly the same JSON: nothing was dropped or added,
    // so the next reconcile computes an equal status and writes nothing.
    let typed: WebhookBridge = serde_json::from_value(stored.clone()).expect("typed");
    let again = serde_json::to_value(typed.status.expect("status")).expect("json");
    assert_eq!(again, stored["status"]);
    for key in ["apiId", "endpoint", "stage", "eventBus", "role", "routes", "rules", "conditions", "observedGeneration"]
    {
        assert!(!stored["status"][key].is_null(), "status.{key} was pruned: {:#}", stored["status"]);
    }
    // Our own finalizer patch and status writes do not come back as more passes over AWS.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reconciles = op.sample("webhook_bridge_reconciles_total{result=\"success\"}").await;
    assert_eq!(reconciles, 1.0, "one reconcile for one new bridge");
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_a_changed_role_has_propagated() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("propagation").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let mut opts = options(&[&ns]);
    opts.settings.role_propagation = Duration::from_secs(3);
    let op = Operator::start(client.clone(), &moto, opts).await;
    let created = Instant::now();
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;

    // AWS is in sync at once, but the new role is not usable yet: Reconciling, not Ready.
    let o = until(&client, &ns, "orders", "RolePropagating", |o| {
        condition(o, "Ready").is_some_and(|c| c["status"] == "False" && c["reason"] == "RolePropagating")
    })
    .await;
    assert!(is(o.as_ref(), "Reconciling", "True") && is(o.as_ref(), "Stalled", "False"), "{o:#?}");
    let usable_after = o.as_ref().and_then(|o| o["status"]["roleUsableAfter"].as_str()).expect("roleUsableAfter");
    assert!(condition(o.as_ref(), "Ready").expect("ready")["message"].as_str().unwrap_or("").contains(usable_after));
    let o = until(&client, &ns, "orders", "Ready once propagated", ready).await.expect("object");
    assert!(created.elapsed() >= Duration::from_secs(2), "Ready after {:?}", created.elapsed());
    assert_eq!(o["status"]["roleUsableAfter"], usable_after, "kept as a record");

    // A change that leaves the role alone is Ready at once.
    let bridges: Api<WebhookBridge> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"spec": {"api": {"stage": "prod"}}});
    bridges.patch("orders", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch");
    until(&client, &ns, "orders", "generation 2", |o| o.is_some_and(|o| o["status"]["observedGeneration"] == 2)).await;
    let o = until(&client, &ns, "orders", "generation 2 Ready", |o| {
        ready(o) && o.is_some_and(|o| o["metadata"]["generation"] == 2)
    })
    .await;
    assert_eq!(o.expect("object")["status"]["roleUsableAfter"], usable_after);
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_refuses_eventbridge_is_reported_with_the_statement_to_add() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("queue-policy").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let c = moto.clients().await;
    let url =
        c.sqs.create_queue().queue_name("orders-audit").send().await.expect("queue").queue_url.unwrap_or_default();
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    let mut object = orders_json("orders", &ns, "custom-events-dev");
    object["spec"]["rules"][1]["targets"] = json!([{"arn": "arn:aws:sqs:us-east-1:123456789012:orders-audit"}]);
    create(&client, object).await;

    let o = until(&client, &ns, "orders", "TargetPolicyMissing", |o| {
        condition(o, "Ready").is_some_and(|c| c["status"] == "False" && c["reason"] == "TargetPolicyMissing")
    })
    .await;
    assert!(is(o.as_ref(), "Reconciling", "True"), "{o:#?}");
    let message = condition(o.as_ref(), "Ready").expect("ready")["message"].as_str().unwrap_or("").to_string();
    assert!(message.starts_with("AWS matches the spec, but: spec.rules[1].targets[0].arn:"), "{message}");
    until_event(&client, &ns, "orders", |(t, r, n)| t == "Warning" && r == "TargetPolicyMissing" && n == &message)
        .await;

    // The user adds the statement, exactly as given: the next look finds it, and the bridge is Ready.
    let statement: serde_json::Value =
        serde_json::from_str(message.rsplit("add this statement: ").next().expect("statement")).expect("json");
    let policy = json!({"Version": "2012-10-17", "Statement": [statement]});
    c.sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .expect("set policy");
    until(&client, &ns, "orders", "Ready", ready).await;
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_rule_on_our_bus_holds_the_delete_until_it_is_gone() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("bus-not-empty").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    create(&client, orders_json("orders", &ns, "shared-by-accident")).await;
    until(&client, &ns, "orders", "Ready", ready).await;
    // Another team puts a rule on our bus.
    let c = moto.clients().await;
    c.events
        .put_rule()
        .name("billing-team-rule")
        .event_bus_name("shared-by-accident")
        .event_pattern(r#"{"source":["billing"]}"#)
        .send()
        .await
        .expect("foreign rule");

    Api::<WebhookBridge>::namespaced(client.clone(), &ns)
        .delete("orders", &DeleteParams::default())
        .await
        .expect("delete");
    until_event(&client, &ns, "orders", |(t, r, n)| {
        t == "Warning" && r == "DeleteFailed" && n.contains("billing-team-rule")
    })
    .await;
    let o = until(&client, &ns, "orders", "BusNotEmpty", |o| {
        condition(o, "Ready").is_some_and(|c| c["reason"] == "BusNotEmpty")
    })
    .await
    .expect("the finalizer holds the object");
    assert_eq!(o["metadata"]["finalizers"], json!([operator::FINALIZER]));
    assert!(o["metadata"]["deletionTimestamp"].is_string());
    c.events.describe_event_bus().name("shared-by-accident").send().await.expect("the bus is kept");

    // The other team moves their rule away: the delete completes and AWS holds nothing of ours.
    c.events.delete_rule().name("billing-team-rule").event_bus_name("shared-by-accident").send().await.expect("rm");
    until(&client, &ns, "orders", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, common::Inventory::default());
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_removes_the_object_and_keeps_aws() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("retain").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    let mut object = orders_json("kept", &ns, "kept-bus");
    object["spec"]["deletionPolicy"] = json!("Retain");
    create(&client, object).await;
    until(&client, &ns, "kept", "Ready", ready).await;
    let before = inventory(&moto.clients().await).await;

    Api::<WebhookBridge>::namespaced(client.clone(), &ns)
        .delete("kept", &DeleteParams::default())
        .await
        .expect("delete");
    until(&client, &ns, "kept", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, before);
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_spec_error_stalls_with_an_event_and_no_aws_write_or_retry() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("terminal").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    let mut object = orders_json("bad", &ns, "bad-bus");
    // Passes admission; only the engine knows the bridge is in us-east-1.
    object["spec"]["rules"][0]["targets"][0]["arn"] = json!("arn:aws:lambda:eu-west-1:123456789012:function:f");
    create(&client, object).await;

    let o = until(&client, &ns, "bad", "Stalled", |o| is(o, "Stalled", "True")).await;
    let stalled = condition(o.as_ref(), "Stalled").expect("condition");
    assert_eq!(stalled["reason"], "InvalidSpec");
    assert!(stalled["message"].as_str().unwrap_or("").contains("spec.rules[0].targets[0].arn"), "{stalled}");
    assert!(is(o.as_ref(), "Ready", "False"));
    until_event(&client, &ns, "bad", |(t, r, _)| t == "Warning" && r == "InvalidSpec").await;
    assert_eq!(op.engine.aws.counter.writes(), 0);

    // No retry loop: count reconciles and Events (AWS reads may be cached and prove nothing).
    let series = "webhook_bridge_reconciles_total{result=\"terminal_error\"}";
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (reconciles, events) = (op.sample(series).await, events_for(&client, &ns, "bad").await.len());
    assert!(reconciles >= 1.0, "the terminal error was counted: {}", op.metrics().await);
    tokio::time::sleep(Duration::from_secs(3)).await; // 15 backoff periods of this test's settings
    assert_eq!(op.sample(series).await, reconciles, "a terminal error waits for the object to change");
    assert_eq!(events_for(&client, &ns, "bad").await.len(), events, "no new Events while waiting");
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_down_means_reconciling_with_bounded_retries_then_recovery() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("awsdown").await;
    let client = cluster.client().await;
    let mut moto = Moto::start();
    let port = moto.port();
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    moto.stop();
    let started = Instant::now();
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;

    let o = until(&client, &ns, "orders", "Reconciling: AwsUnavailable", |o| {
        condition(o, "Reconciling").is_some_and(|c| c["status"] == "True" && c["reason"] == "AwsUnavailable")
    })
    .await;
    assert!(is(o.as_ref(), "Stalled", "False"));
    let rv = o.as_ref().map(|o| o["metadata"]["resourceVersion"].clone());
    let tries_before = op.sample("webhook_bridge_reconciles_total{result=\"retryable_error\"}").await;
    // It keeps trying: two more tries, however long each takes (the SDK's own retries of a
    // refused connection back off up to seconds, more on a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(60);
    let tries = loop {
        let tries = op.sample("webhook_bridge_reconciles_total{result=\"retryable_error\"}").await;
        if tries >= tries_before + 2.0 {
            break tries;
        }
        assert!(Instant::now() < deadline, "no two more tries within 60 s: {tries_before} -> {tries}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Backoff 0.2 s doubling to a 1 s cap (jittered): a handful of tries, not a hot loop.
    let elapsed = started.elapsed().as_secs_f64();
    assert!(tries <= 2.0 * elapsed + 4.0, "{tries} tries in {elapsed:.1}s");
    // Each try fails the same way: the status says so once, no write per retry.
    let now = get(&client, &ns, "orders").await.map(|o| o["metadata"]["resourceVersion"].clone());
    assert_eq!(now, rv, "a Kubernetes write per failed retry");

    let moto = Moto::start_on(Some(port));
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    until(&client, &ns, "orders", "Ready after AWS returns", ready).await;

    // A delete issued while AWS is down waits (the finalizer holds), then completes.
    let mut moto = moto;
    moto.stop();
    Api::<WebhookBridge>::namespaced(client.clone(), &ns)
        .delete("orders", &DeleteParams::default())
        .await
        .expect("delete");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = get(&client, &ns, "orders").await.expect("held by the finalizer while AWS is down");
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    let moto = Moto::start_on(Some(port));
    until(&client, &ns, "orders", "gone once AWS is back", |o| o.is_none()).await;
    drop(moto);
    op.shutdown().await;
}

/// The requeue delays of a bridge that keeps failing, seen from outside: each reconcile is a
/// burst of AWS requests through a TCP tap (SDK retries off, so a burst is one try), and the
/// quiet gaps between bursts follow `next_backoff`: base × 2^(n-1), capped, jittered into the
/// upper half of the step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_bridge_backs_off_doubling_with_jitter_up_to_the_cap() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("backoff").await;
    let client = cluster.client().await;
    let moto = Moto::start(); // no Lambda functions: DependencyMissing (retryable) on every try
    // moto loads a service's backend on its first request (hundreds of ms): not in a burst.
    let c = moto.clients().await;
    c.apigateway.get_apis().send().await.expect("warm apigateway");
    c.events.list_event_buses().send().await.expect("warm events");
    c.iam.list_roles().send().await.expect("warm iam");
    c.lambda.list_functions().send().await.expect("warm lambda");
    let tap = Tap::start(&moto.endpoint).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(common::REGION))
        .endpoint_url(&tap.endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "moto"))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .load()
        .await;
    let engine = Engine::new(Aws::new(config), "e2e");
    let (base, cap) = (Duration::from_millis(600), Duration::from_millis(2400));
    let mut opts = options(&[&ns]);
    opts.settings.base_backoff = base;
    opts.settings.max_backoff = cap;
    let op = Operator::start_with(client.clone(), engine, opts).await;
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;

    // Bursts: requests less than 200 ms apart (the shortest delay is base / 2 = 300 ms).
    let wanted = 6;
    let deadline = Instant::now() + Duration::from_secs(30);
    let bursts = loop {
        let times: Vec<Instant> = tap.requests().into_iter().map(|(t, _)| t).collect();
        let mut bursts: Vec<(Instant, Instant)> = Vec::new();
        for t in times {
            match bursts.last_mut() {
                Some((_, end)) if t.duration_since(*end) < Duration::from_millis(200) => *end = t,
                _ => bursts.push((t, t)),
            }
        }
        if bursts.len() > wanted || Instant::now() > deadline {
            break bursts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(bursts.len() > wanted, "{} tries in 30 s", bursts.len());
    let mut ratios = Vec::new();
    for n in 1..=wanted as u32 {
        let gap = bursts[n as usize].0.duration_since(bursts[n as usize - 1].1);
        let step = (base * 2u32.pow(n - 1)).min(cap);
        assert!(
            gap + Duration::from_millis(10) >= step / 2 && gap <= step + Duration::from_millis(500),
            "delay {n}: {gap:?}, want {:?}..{step:?}",
            step / 2
        );
        ratios.push(gap.as_secs_f64() / step.as_secs_f64());
    }
    eprintln!("requeue delay / step, tries 1..{wanted}: {ratios:.2?}");
    let spread = ratios.iter().cloned().fold(f64::MIN, f64::max) - ratios.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 0.02, "jittered, not fixed: {ratios:?}");
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_restored_on_resync() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("drift").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let mut opts = options(&[&ns]);
    opts.settings.resync = Duration::from_secs(1);
    let op = Operator::start(client.clone(), &moto, opts).await;
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;
    let o = until(&client, &ns, "orders", "Ready", ready).await.expect("object");
    let (api_id, route_id) = (
        o["status"]["apiId"].as_str().expect("api").to_string(),
        o["status"]["routes"][0]["routeId"].as_str().expect("route").to_string(),
    );
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
async fn only_the_watched_namespaces_are_reconciled() {
    let cluster = require_cluster!();
    let (watched, other) = (cluster.namespace("team-a").await, cluster.namespace("team-b").await);
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let op = Operator::start(client.clone(), &moto, options(&[&watched])).await;
    create(&client, orders_json("a", &watched, "bus-a")).await;
    create(&client, orders_json("b", &other, "bus-b")).await;

    until(&client, &watched, "a", "Ready", ready).await;
    op.until_metrics(&["webhook_bridge_bridges{condition=\"Ready\"} 1"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = get(&client, &other, "b").await.expect("b");
    assert!(b.get("status").is_none() && b["metadata"]["finalizers"].is_null(), "team-b is not ours: {b:#?}");
    assert_eq!(inventory(&moto.clients().await).await.buses, vec!["bus-a".to_string()]);
    op.shutdown().await;
}

/// `--namespaces a,b`: one controller over both (src/operator/namespaces.rs merges their
/// watches into one store). Bridges in each converge, one in an unwatched namespace is left
/// alone, and a bridge created after start and one deleted are both seen: neither namespace's
/// list wipes the other's objects from the shared cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_controller_serves_several_watched_namespaces() {
    let cluster = require_cluster!();
    let (a, b, other) =
        (cluster.namespace("multi-a").await, cluster.namespace("multi-b").await, cluster.namespace("multi-c").await);
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    create(&client, orders_json("first", &a, "bus-first")).await;
    let op = Operator::start(client.clone(), &moto, options(&[&a, &b])).await;
    create(&client, orders_json("second", &b, "bus-second")).await;
    create(&client, orders_json("third", &other, "bus-third")).await;
    until(&client, &a, "first", "Ready", ready).await;
    until(&client, &b, "second", "Ready", ready).await;
    op.until_metrics(&["webhook_bridge_bridges{condition=\"Ready\"} 2"]).await;

    // Deleting b's bridge is seen (its finalizer goes), and a's stays Ready and owned.
    let api: Api<WebhookBridge> = Api::namespaced(client.clone(), &b);
    api.delete("second", &DeleteParams::default()).await.expect("delete");
    until(&client, &b, "second", "gone", |o| o.is_none()).await;
    create(&client, orders_json("fourth", &a, "bus-fourth")).await;
    until(&client, &a, "fourth", "Ready", ready).await;
    let third = get(&client, &other, "third").await.expect("third");
    assert!(third.get("status").is_none() && third["metadata"]["finalizers"].is_null(), "not watched: {third:#?}");
    let mut buses = inventory(&moto.clients().await).await.buses;
    buses.sort();
    assert_eq!(buses, vec!["bus-first".to_string(), "bus-fourth".to_string()]);
    op.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_elect_one_leader_and_only_it_writes() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("lease").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let with_lease = |identity: &str| {
        let mut o = options(&[&ns]);
        o.identity = identity.into();
        o.leader_election = Some(LeaderElection {
            lease_name: "webhook-bridge-leader".into(),
            namespace: ns.clone(),
            identity: identity.into(),
            lease_seconds: 3,
        });
        o
    };
    let one = Operator::start(client.clone(), &moto, with_lease("one")).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !*one.running.leading.borrow() {
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let two = Operator::start(client.clone(), &moto, with_lease("two")).await;
    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;
    until(&client, &ns, "orders", "Ready", ready).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(*one.running.leading.borrow() && !*two.running.leading.borrow());
    assert!(one.engine.aws.counter.writes() > 0);
    assert_eq!(two.engine.aws.counter.reads() + two.engine.aws.counter.writes(), 0, "the standby makes no AWS call");
    let lease = Api::<Lease>::namespaced(client.clone(), &ns).get("webhook-bridge-leader").await.expect("lease");
    assert_eq!(lease.spec.and_then(|s| s.holder_identity).as_deref(), Some("one"));

    // The leader goes away (releasing its lease); the standby takes over and does the work.
    one.shutdown().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !*two.running.leading.borrow() {
        assert!(Instant::now() < deadline, "the standby never took over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    create(&client, orders_json("second", &ns, "second-bus")).await;
    until(&client, &ns, "second", "Ready", ready).await;
    assert!(two.engine.aws.counter.writes() > 0);
    two.shutdown().await;
}
