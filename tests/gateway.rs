//! A shared gateway on the local AWS emulator (moto behind the service-model check): one
//! gateway's API, stage, bus and role; bridges of three namespaces attach, each making only its
//! own routes, integrations, rules, targets and Lambda permissions; none can take or remove a
//! sibling's; a bridge's delete leaves its siblings whole; the gateway goes last, to an empty
//! account.

mod common;

use std::sync::Arc;

use common::{Moto, bridge, eventbridge_queue, inventory};
use webhook_bridge::api::{WebhookBridge, WebhookBridgeGateway};
use webhook_bridge::engine::{Engine, Gateways};
use webhook_bridge::gateway::{self, StaticGateways};
use webhook_bridge::operator::known;

fn gateway_file() -> WebhookBridgeGateway {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway/gateway.yaml"))
        .expect("gateway example");
    let mut gw: WebhookBridgeGateway = serde_saphyr::from_str(&text).expect("gateway yaml");
    gw.metadata.uid = Some("gw-uid-1".into());
    gw
}

fn attached(file: &str) -> WebhookBridge {
    let text =
        std::fs::read_to_string(format!("{}/examples/gateway/{file}", env!("CARGO_MANIFEST_DIR"))).expect("example");
    bridge(&text)
}

/// A third team: `ops`, one route, one rule to the orders queue... on its own prefix.
fn third() -> WebhookBridge {
    bridge(
        r#"
apiVersion: webhookbridge.io/v1alpha1
kind: WebhookBridge
metadata: {name: alerts, namespace: ops}
spec:
  gatewayRef: {name: hooks, namespace: platform}
  routes:
    - name: pager
      method: POST
      path: /ops/pager
      event: {source: ops.pager, detailType: alert}
  rules:
    - name: page
      pattern: {source: [ops.pager]}
      targets: [{arn: "arn:aws:sqs:us-east-1:123456789012:invoices-paid"}]
"#,
    )
}

/// The engine bridges run with: the gateway (with the status its reconcile gave) and the
/// bridges the arbiter weighs, and namespaces labelled as the gateway selects.
fn with_gateways(mut engine: Engine, gw: &WebhookBridgeGateway, bridges: &[&WebhookBridge]) -> Engine {
    struct Labelled(StaticGateways);
    impl gateway::GatewaySource for Labelled {
        fn gateway(&self, ns: &str, name: &str) -> Result<WebhookBridgeGateway, webhook_bridge::error::Error> {
            self.0.gateway(ns, name)
        }
        fn namespace_labels(&self, _: &str) -> Option<std::collections::BTreeMap<String, String>> {
            Some([("webhooks.example.com/gateway".to_string(), "hooks".to_string())].into())
        }
        fn verdict(&self, gw: &WebhookBridgeGateway, b: &WebhookBridge) -> gateway::arbiter::Verdict {
            self.0.verdict(gw, b)
        }
    }
    engine.gateways = Gateways(Arc::new(Labelled(StaticGateways {
        gateways: vec![gw.clone()],
        bridges: bridges.iter().map(|b| (*b).clone()).collect(),
    })));
    engine
}

#[tokio::test]
async fn three_namespaces_share_one_gateway_and_each_owns_only_its_objects() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    eventbridge_queue(&moto, "invoices-paid").await;
    let c = moto.clients().await;
    let before = inventory(&c).await;

    // The gateway: API, stage, bus, role (and no route).
    let mut gw = gateway_file();
    let platform = moto.engine("c1").await;
    let made = platform.reconcile_gateway(&gw, None).await.expect("gateway");
    assert!(!made.actions.is_empty());
    assert!(made.actions.iter().all(|a| !a.to_string().contains("route")), "{:?}", made.actions);
    gw.status = Some(gateway::status::ready(&made, None));
    let again = platform.reconcile_gateway(&gw, None).await.expect("gateway again");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    // In sync, by the ids its status keeps: no account-wide list.
    gw.metadata.generation = Some(0);
    gw.status.as_mut().expect("status").observed_generation = Some(0);
    platform.aws.counter.reset();
    let k = gateway::known(&gw).expect("known");
    let again = platform.reconcile_gateway(&gw, Some(&k)).await.expect("gateway by id");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    let reads = platform.aws.counter.reads_by_operation();
    assert!(!reads.contains_key("apigateway.GetApis"), "{}", platform.aws.counter.table());

    let (orders, invoices, alerts) = (attached("orders.yaml"), attached("billing.yaml"), third());
    let all = [&orders, &invoices, &alerts];
    let engine = with_gateways(moto.engine("c1").await, &gw, &all);

    // The canonical orders bridge on an existing gateway: 8 writes, no account-wide list.
    engine.aws.counter.reset();
    let out = engine.reconcile(&orders).await.expect("orders");
    assert_eq!(engine.aws.counter.writes(), 8, "{}", engine.aws.counter.table());
    let reads = engine.aws.counter.reads_by_operation();
    assert!(!reads.contains_key("apigateway.GetApis") && !reads.contains_key("apigateway.GetDomainNames"), "{reads:?}");
    let url = out.status.routes[0].url.clone().expect("url");
    assert!(url.ends_with("/live/payments/orders"), "{url}");
    assert_eq!(out.status.gateway.as_deref(), Some("platform/hooks"));
    engine.reconcile(&invoices).await.expect("invoices");
    engine.reconcile(&alerts).await.expect("alerts");

    // One API, one bus, one role for all three; three routes, four rules.
    let inv = inventory(&c).await;
    assert_eq!(inv.apis, before.apis + 1);
    assert_eq!(inv.buses.len(), before.buses.len() + 1, "{:?}", inv.buses);
    assert_eq!(inv.roles.len(), before.roles.len() + 1, "{:?}", inv.roles);
    assert_eq!(inv.routes.len(), 3, "{:?}", inv.routes);
    assert_eq!(inv.rules.len(), 4, "{:?}", inv.rules);

    // In sync, by id: at most 10 reads, no write.
    let mut status = engine.reconcile(&orders).await.expect("orders again").status;
    status.observed_generation = Some(0);
    let k = known::from_status(&status, false).expect("known");
    engine.aws.counter.reset();
    let resync = engine.reconcile_known(&orders, Some(&k)).await.expect("resync");
    assert!(resync.actions.is_empty(), "{:?}", resync.actions);
    let (reads, writes) = (engine.aws.counter.reads(), engine.aws.counter.writes());
    assert!(reads <= 10 && writes == 0, "{}", engine.aws.counter.table());
    eprintln!("in-sync resync of orders on the gateway: {reads} reads\n{}", engine.aws.counter.table());

    // A newer bridge claiming orders' route key: the arbiter gives the key to the older one, the
    // newer makes only its other route and says why.
    let mut copycat = attached("orders.yaml");
    copycat.metadata.name = Some("copycat".into());
    copycat.metadata.uid = Some("zz-newer".into());
    copycat.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(2_000_000_000).expect("time"),
    ));
    copycat.spec.rules.clear();
    copycat.spec.routes.push(webhook_bridge::api::RouteSpec {
        name: "own".into(),
        path: "/payments/copycat".into(),
        ..copycat.spec.routes[0].clone()
    });
    let mut orders_old = orders.clone();
    orders_old.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_000_000_000).expect("time"),
    ));
    let judged = with_gateways(moto.engine("c1").await, &gw, &[&orders_old, &copycat]);
    let out = judged.reconcile(&copycat).await.expect("copycat");
    assert_eq!(out.lost_routes.len(), 1, "{:?}", out.lost_routes);
    assert!(out.lost_routes[0].contains("payments/orders"), "{:?}", out.lost_routes);
    // Without the arbiter (a CLI that knows only the copycat): the key is held, no write.
    let blind = with_gateways(moto.engine("c1").await, &gw, &[]);
    blind.aws.counter.reset();
    let mut lone = copycat.clone();
    lone.spec.routes.truncate(1);
    let e = blind.reconcile(&lone).await.expect_err("held");
    assert_eq!(e.reason(), "RouteConflict", "{e}");
    assert_eq!(blind.aws.counter.writes(), 0, "{}", blind.aws.counter.table());
    // Its delete takes only its own route: orders' route stays.
    judged.delete(&copycat).await.expect("copycat delete");
    let inv = inventory(&c).await;
    assert_eq!(inv.routes.len(), 3, "{:?}", inv.routes);
    assert!(inv.routes.iter().any(|r| r.contains("POST /payments/orders")), "{:?}", inv.routes);

    // The gateway cannot go while bridges' rules are on its bus.
    let e = platform.delete_gateway(&gw).await.expect_err("deleted under its bridges");
    assert_eq!(e.reason(), "GatewayInUse", "{e}");
    assert_eq!(inventory(&c).await.routes.len(), 3, "nothing was deleted");

    // Deleting one bridge leaves the siblings whole.
    engine.delete(&invoices).await.expect("invoices delete");
    let inv = inventory(&c).await;
    assert_eq!(inv.routes.len(), 2, "{:?}", inv.routes);
    assert_eq!(inv.rules.len(), 3, "{:?}", inv.rules);
    let again = engine.reconcile(&orders).await.expect("orders still in sync");
    assert!(again.actions.is_empty(), "{:?}", again.actions);

    engine.delete(&orders).await.expect("orders delete");
    engine.delete(&alerts).await.expect("alerts delete");
    platform.delete_gateway(&gw).await.expect("gateway delete");
    assert_eq!(inventory(&c).await, before, "left behind");
}

/// AWS's own refusal when a gateway's API is full (a gateway the arbiter cannot see, e.g. one a
/// CLI without the other bridges' files shares): API Gateway's 429 ConflictException "Maximum
/// number of Integrations for this API has been reached" (quoted in
/// serverless/serverless-websockets-plugin#22; the emulator answers it, scripts/aws_emulator/
/// quotas.py) is QuotaExceeded, terminal, not a race retried three times, and leaves no half-made
/// route behind.
#[tokio::test]
async fn a_full_gateway_api_is_quota_exceeded_with_nothing_half_made() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    eventbridge_queue(&moto, "invoices-paid").await;
    moto.set_quotas(&serde_json::json!({"apigatewayv2.integrations_per_api": 1}));
    let c = moto.clients().await;
    let mut gw = gateway_file();
    let platform = moto.engine("c1").await;
    let made = platform.reconcile_gateway(&gw, None).await.expect("gateway");
    gw.status = Some(gateway::status::ready(&made, None));
    let blind = with_gateways(moto.engine("c1").await, &gw, &[]);
    blind.reconcile(&attached("orders.yaml")).await.expect("orders fits");
    let before = inventory(&c).await;
    let e = blind.reconcile(&attached("billing.yaml")).await.expect_err("the API is full");
    assert_eq!(e.reason(), "QuotaExceeded", "{e}");
    assert!(!e.is_retryable(), "{e}");
    let after = inventory(&c).await;
    assert_eq!(
        (after.routes.len(), after.integrations),
        (before.routes.len(), before.integrations),
        "nothing half-made"
    );
}
