//! An object stored under an older, laxer CRD that no longer deserializes must not stop the
//! operator's watch: it is reported (Warning Event InvalidObject, counted Stalled) and every
//! other bridge is reconciled. On the real apiserver, as in life: a lax CRD is installed, the
//! object is written, the real CRD is put back (stored objects are not revalidated).
//! Its own test binary: it swaps the CRD of the apiserver it shares with no one.

mod common;

use std::time::{Duration, Instant};

use common::kube_wait::{create, orders_json, ready, until, until_event};
use common::operator::{Operator, options};
use common::{Moto, inventory};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;

const CRD: &str = "webhookbridges.webhookbridge.io";

/// Replace the served schema, then wait until the apiserver enforces it (`probe` is accepted
/// exactly when `lax`).
async fn swap_schema(client: &kube::Client, ns: &str, lax: bool) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut crd = crds.get(CRD).await.expect("crd");
    let committed: CustomResourceDefinition =
        serde_saphyr::from_str(&std::fs::read_to_string(common::k8s::CRD_PATH).expect("read")).expect("yaml");
    crd.spec = committed.spec;
    if lax {
        let schema: Value = json!({"type": "object", "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}});
        crd.spec.versions[0].schema = Some(serde_json::from_value(json!({"openAPIV3Schema": schema})).expect("schema"));
    }
    crds.replace(CRD, &PostParams::default(), &crd).await.expect("replace crd");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<WebhookBridge>(&()));
    let mut probe = orders_json("probe", ns, "probe-bus");
    probe["spec"]["routes"] = json!("not a list");
    let probe: DynamicObject = serde_json::from_value(probe).expect("probe");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let accepted = api.create(&PostParams { dry_run: true, ..Default::default() }, &probe).await.is_ok();
        if accepted == lax {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the apiserver never served the {} schema",
            if lax { "lax" } else { "real" }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_stored_object_is_reported_and_stops_nothing() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("old-objects").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;

    swap_schema(&client, &ns, true).await;
    let mut broken = orders_json("broken", &ns, "broken-bus");
    broken["spec"]["routes"] = json!("POST /oops");
    create(&client, broken).await;
    swap_schema(&client, &ns, false).await;

    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    create(&client, orders_json("a", &ns, "bus-a")).await;
    until(&client, &ns, "a", "Ready", ready).await;
    until_event(&client, &ns, "broken", |(t, r, n)| {
        t == "Warning" && r == "InvalidObject" && n.contains("does not match the WebhookBridge schema")
    })
    .await;
    op.until_metrics(&[
        "webhook_bridge_bridges{condition=\"Stalled\"} 1",
        "webhook_bridge_bridges{condition=\"Ready\"} 1",
    ])
    .await;
    assert_eq!(
        inventory(&moto.clients().await).await.buses,
        vec!["bus-a".to_string()],
        "nothing made for the broken one"
    );
    op.shutdown().await;
}
