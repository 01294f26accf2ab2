//! Every example in examples/, with the prerequisites its comments name, on the local AWS
//! emulator behind the service-model check: applied, re-applied with zero writes, deleted to an
//! account holding nothing of ours (and the prerequisites untouched).

mod common;

use common::{Inventory, Moto, example, inventory, prerequisites};

/// On moto: these. Covered elsewhere, and why.
const ON_MOTO: &[&str] = &["orders.yaml", "existing-bus.yaml", "multi-route.yaml", "production.yaml"];
const ELSEWHERE: &[(&str, &str)] = &[(
    "jwt.yaml",
    "moto 5.2.5 neither reads back nor updates stage throttling, which jwt.yaml sets: its JWT routes \
     run on moto without throttling in tests/crash.rs (the proxy answers GetAuthorizers), and as is \
     through AWS-exact mocks in tests/aws_exact.rs a_jwt_route_gets_an_authorizer_and_the_route_points_at_it",
)];

/// examples/gateway/: the gateway and its bridges cannot be applied alone (a bridge's gateway
/// must exist and accept it): tests/gateway.rs applies all three together on moto.
const GATEWAY: &[(&str, &str)] = &[
    ("billing.yaml", "tests/gateway.rs three_namespaces_share_one_gateway_and_each_owns_only_its_objects"),
    ("gateway.yaml", "tests/gateway.rs three_namespaces_share_one_gateway_and_each_owns_only_its_objects"),
    ("orders.yaml", "tests/gateway.rs three_namespaces_share_one_gateway_and_each_owns_only_its_objects"),
];

#[test]
fn every_gateway_example_is_covered() {
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway"))
        .expect("examples/gateway")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    let covered: Vec<&str> = GATEWAY.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, covered, "a new gateway example needs a case in tests/gateway.rs and here");
    let gateway_tests =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gateway.rs")).expect("read");
    for (file, by) in GATEWAY {
        let test = by.rsplit(' ').next().expect("test name");
        assert!(gateway_tests.contains(&format!("async fn {test}(")), "{file}: {by} is gone");
        let loads = if *file == "gateway.yaml" {
            "examples/gateway/gateway.yaml".to_string()
        } else {
            format!("attached(\"{file}\")")
        };
        assert!(gateway_tests.contains(&loads), "{file}: tests/gateway.rs no longer loads it");
    }
}

#[test]
fn every_example_is_covered() {
    let files: Vec<String> =
        common::example_files().iter().filter_map(|p| Some(p.file_name()?.to_str()?.to_string())).collect();
    let mut covered: Vec<String> =
        ON_MOTO.iter().map(|f| f.to_string()).chain(ELSEWHERE.iter().map(|(f, _)| f.to_string())).collect();
    covered.sort();
    assert_eq!(files, covered, "a new example needs a case here (and in common::prerequisites)");
}

async fn apply_reapply_delete(file: &str) {
    let moto = Moto::start();
    prerequisites(&moto, file).await;
    let engine = moto.engine("examples").await;
    let bridge = example(file);
    let first = engine.reconcile(&bridge).await.unwrap_or_else(|e| panic!("{file}: apply: {e}"));
    assert!(!first.actions.is_empty(), "{file}: nothing created");
    assert!(first.delivery_gaps.is_empty(), "{file}: {:?}", first.delivery_gaps);
    engine.aws.counter.reset();
    let again = engine.reconcile(&bridge).await.unwrap_or_else(|e| panic!("{file}: re-apply: {e}"));
    assert!(again.actions.is_empty(), "{file}: re-apply planned {:?}", again.actions);
    assert_eq!(engine.aws.counter.writes(), 0, "{file}: {}", engine.aws.counter.table());
    engine.delete(&bridge).await.unwrap_or_else(|e| panic!("{file}: delete: {e}"));
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default(), "{file}: left behind");
    let c = moto.clients().await;
    if file == "existing-bus.yaml" {
        c.events.describe_event_bus().name("shared").send().await.expect("the referenced bus is untouched");
    }
}

#[tokio::test]
async fn orders_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("orders.yaml").await;
}

#[tokio::test]
async fn existing_bus_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("existing-bus.yaml").await;
}

#[tokio::test]
async fn multi_route_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("multi-route.yaml").await;
}

#[tokio::test]
async fn production_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("production.yaml").await;
}

/// examples/webhook-sources/: a gateway with a Custom Event Bus and a bridge of webhook sources.
/// Not on moto: moto 5.2.5 has no eventsv2 (the emulator for it is another worktree's work);
/// here they pass admission (and the real apiserver with strict field validation), and the
/// bridge's fixtures (examples/fixtures/webhook-sources) pass `webhook-bridge test`.
const WEBHOOK_SOURCES: &[(&str, &str)] = &[
    ("gateway.yaml", "tests/examples.rs webhook_sources_examples_are_accepted_by_the_apiserver_with_strict_validation"),
    ("hooks.yaml", "tests/signatures.rs the_example_fixtures_pass_through_the_cli"),
];

fn webhook_sources_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhook-sources"))
        .expect("examples/webhook-sources")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_webhook_sources_example_is_covered_and_admitted() {
    let covered: Vec<&str> = WEBHOOK_SOURCES.iter().map(|(f, _)| *f).collect();
    assert_eq!(webhook_sources_files(), covered, "a new webhook-sources example needs a case here");
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/webhook-sources");
    let docs = webhook_bridge::cli::documents(&dir.join("gateway.yaml")).expect("gateway admitted");
    assert!(
        matches!(docs.as_slice(), [webhook_bridge::cli::Document::Gateway(g)] if g.spec.custom_event_bus.is_some()),
        "gateway.yaml: one gateway with a customEventBus"
    );
    let bridges = webhook_bridge::cli::load(&dir.join("hooks.yaml")).expect("bridge admitted");
    assert_eq!(bridges.len(), 1);
    let b = &bridges[0];
    assert!(b.spec.gateway_ref.is_some() && b.spec.routes.is_empty() && b.spec.webhook_sources.len() == 2);
    webhook_bridge::validate::offline(b).expect("the engine's offline checks");
}

#[tokio::test]
async fn webhook_sources_examples_are_accepted_by_the_apiserver_with_strict_validation() {
    use webhook_bridge::api::{WebhookBridge, WebhookBridgeGateway};
    let cluster = require_cluster!();
    let ns = cluster.namespace("webhook-sources-examples").await;
    let client = cluster.client().await;
    let params = kube::api::PatchParams::apply("examples-test").validation_strict();
    for file in webhook_sources_files() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/webhook-sources").join(&file);
        let mut doc: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        doc["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
        let name = doc["metadata"]["name"].as_str().expect("name").to_string();
        let resource = match doc["kind"].as_str() {
            Some("WebhookBridgeGateway") => kube::api::ApiResource::erase::<WebhookBridgeGateway>(&()),
            _ => kube::api::ApiResource::erase::<WebhookBridge>(&()),
        };
        let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(client.clone(), &ns, &resource);
        let object: kube::api::DynamicObject = serde_json::from_value(doc).expect("object");
        api.patch(&name, &params, &kube::api::Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("{file}: refused by the apiserver: {e}"));
    }
}
