//! An outdated CRD is said (src/operator/crd_check.rs), on the real kube-apiserver: Helm never
//! upgrades `crds/`, so a cluster upgraded from before webhook sources still serves a gateway
//! schema without `spec.customEventBus`, which the apiserver then prunes from every gateway
//! applied. The operator reads the schemas the apiserver publishes (OpenAPI v3) and names the
//! missing fields, in its log and in `webhook_bridge_crd_missing_fields`; once the CRD is
//! upgraded the check comes back clean. (This binary has its own apiserver: it replaces a CRD.)

mod common;

use std::time::{Duration, Instant};

use common::operator::{Operator, options};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use webhook_bridge::operator::crd_check;

const GATEWAY_CRD: &str = "webhookbridgegateways.webhookbridge.io";

/// The gateway CRD as it was before webhook sources: no `customEventBus` in spec or status.
fn gateway_crd_before_webhook_sources() -> CustomResourceDefinition {
    let mut crd = serde_json::to_value(webhook_bridge::api::gateway_crd()).expect("json");
    for v in crd["spec"]["versions"].as_array_mut().expect("versions") {
        let schema = &mut v["schema"]["openAPIV3Schema"]["properties"];
        for part in ["spec", "status"] {
            let props = schema[part]["properties"].as_object_mut().expect("properties");
            assert!(props.remove("customEventBus").is_some(), "{part} has customEventBus today");
        }
    }
    serde_json::from_value(crd).expect("a CRD")
}

async fn apply(client: &kube::Client, crd: &CustomResourceDefinition) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(GATEWAY_CRD, &PatchParams::apply("test-crd-outdated").force(), &Patch::Apply(crd))
        .await
        .expect("apply CRD");
}

/// Until the check's verdict on the gateway CRD is `want` (the apiserver republishes its
/// OpenAPI a moment after a CRD changes).
async fn until_check(
    client: &kube::Client,
    want: impl Fn(Option<&crd_check::Outdated>) -> bool,
) -> Vec<crd_check::Outdated> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = crd_check::check(client).await.expect("the served schemas are readable");
        if want(found.iter().find(|o| o.crd == GATEWAY_CRD)) {
            return found;
        }
        assert!(Instant::now() < deadline, "the check never came to the expected verdict: {found:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_served_crd_is_named_with_the_fields_it_lacks_until_upgraded() {
    let cluster = require_cluster!();
    let client = cluster.client().await;
    // As the harness installed them (this build's CRDs): nothing lacks anything.
    let found = until_check(&client, |o| o.is_none()).await;
    assert!(found.is_empty(), "this build's CRDs are served: {found:?}");

    apply(&client, &gateway_crd_before_webhook_sources()).await;
    let found = until_check(&client, |o| o.is_some()).await;
    let gateway = found.iter().find(|o| o.crd == GATEWAY_CRD).expect("the gateway CRD");
    assert_eq!(gateway.missing, ["spec.customEventBus", "status.customEventBus"], "{found:?}");
    assert_eq!(found.len(), 1, "only the gateway CRD is old: {found:?}");
    let said = gateway.to_string();
    assert!(said.contains("kubectl apply --server-side -f charts/webhook-bridge/crds/"), "names the fix: {said}");

    // The operator says so at start, as a metric (and an error in its log).
    let ns = cluster.namespace("crd-outdated").await;
    let moto = common::Moto::start();
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    op.until_metrics(&[
        "webhook_bridge_crd_missing_fields{crd=\"webhookbridgegateways.webhookbridge.io\"} 2",
        "webhook_bridge_crd_missing_fields{crd=\"webhookbridges.webhookbridge.io\"} 0",
    ])
    .await;
    op.shutdown().await;

    // Upgraded: clean again.
    apply(&client, &webhook_bridge::api::gateway_crd()).await;
    until_check(&client, |o| o.is_none()).await;
}
