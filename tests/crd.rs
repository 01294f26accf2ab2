//! The committed CRD is exactly what the Rust types generate, installs on Kubernetes 1.28+
//! (apiextensions.k8s.io/v1, structural schema, CEL), and every example passes admission.

mod common;

use kube::CustomResourceExt;
use serde_json::Value;
use webhook_bridge::api::{WebhookBridge, crd_yaml};

const CRD_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridges.webhookbridge.io.yaml");

#[test]
fn committed_crd_matches_the_rust_types() {
    let generated = crd_yaml().expect("generate");
    let committed = std::fs::read_to_string(CRD_PATH).expect("read crds/");
    assert!(
        committed == generated,
        "crds/ is stale: run `cargo run -- crd > crds/webhookbridges.webhookbridge.io.yaml`"
    );
}

#[test]
fn crd_names_scope_and_subresources() {
    let crd: Value = serde_saphyr::from_str(&std::fs::read_to_string(CRD_PATH).expect("read")).expect("yaml");
    assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(crd["metadata"]["name"], "webhookbridges.webhookbridge.io");
    let spec = &crd["spec"];
    assert_eq!(spec["group"], "webhookbridge.io");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["kind"], "WebhookBridge");
    assert_eq!(spec["names"]["shortNames"], serde_json::json!(["whb"]));
    assert_eq!(spec["names"]["categories"], serde_json::json!(["webhooks"]));
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["served"], true);
    assert_eq!(version["storage"], true);
    assert!(version["subresources"]["status"].is_object(), "status subresource");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Ready", "Reason", "Endpoint", "Age"]);
    // Route and rule names are list-map keys: the apiserver itself refuses duplicates.
    let props = &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(props["routes"]["x-kubernetes-list-type"], "map");
    assert_eq!(props["routes"]["x-kubernetes-list-map-keys"], serde_json::json!(["name"]));
    assert_eq!(props["rules"]["x-kubernetes-list-type"], "map");
}

/// A structural schema: every object node says its type, or preserves unknown fields.
fn assert_structural(node: &Value, path: &str) {
    let Some(map) = node.as_object() else { return };
    if map.contains_key("properties") || map.contains_key("items") {
        assert!(map.contains_key("type"), "{path}: a node with properties/items must declare its type");
    }
    for key in ["anyOf", "oneOf", "allOf", "not", "$ref", "definitions", "additionalItems"] {
        assert!(!map.contains_key(key), "{path}: `{key}` is not allowed in a structural schema");
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            assert_structural(v, &format!("{path}.{k}"));
        }
    }
    if let Some(items) = map.get("items") {
        assert_structural(items, &format!("{path}[]"));
    }
    if let Some(extra) = map.get("additionalProperties") {
        assert_structural(extra, &format!("{path}{{}}"));
    }
}

#[test]
fn schema_is_structural() {
    let crd = serde_json::to_value(WebhookBridge::crd()).expect("json");
    assert_structural(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "openAPIV3Schema");
}

#[test]
fn every_example_passes_admission() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let bridges = webhook_bridge::cli::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += bridges.len();
    }
    assert!(seen >= 4, "expected at least 4 example bridges, found {seen}");
}

#[test]
fn region_and_bus_are_immutable_other_fields_are_not() {
    let old = common::example("orders.yaml");
    let mut moved = old.clone();
    moved.spec.region = Some("eu-west-1".into());
    let err = WebhookBridge::validate_cel_update(&moved, &old).expect_err("region change");
    assert!(err.to_string().contains("spec.region is immutable"), "{err}");

    let mut rebus = old.clone();
    rebus.spec.event_bus.name = Some("another".into());
    let err = WebhookBridge::validate_cel_update(&rebus, &old).expect_err("bus change");
    assert!(err.to_string().contains("spec.eventBus is immutable"), "{err}");

    let mut repath = old.clone();
    repath.spec.routes[0].path = "/hooks/orders".into();
    WebhookBridge::validate_cel_update(&repath, &old).expect("a path change is fine");
}
