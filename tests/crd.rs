//! The committed CRD is exactly what the Rust types generate, installs on Kubernetes 1.28+
//! (apiextensions.k8s.io/v1, structural schema, CEL), and every example passes admission.

mod common;

use kube::CustomResourceExt;
use serde_json::Value;
use webhook_bridge::api::{WebhookBridge, crd_yaml, policy_crd_yaml};

const CRD_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridges.webhookbridge.io.yaml");

#[test]
fn committed_crd_matches_the_rust_types() {
    let generated = crd_yaml().expect("generate");
    let committed = std::fs::read_to_string(CRD_PATH).expect("read crds/");
    assert!(
        committed == generated,
        "crds/ is stale: run `cargo run -- crd > crds/webhookbridges.webhookbridge.io.yaml`"
    );
    let generated = policy_crd_yaml().expect("generate");
    let committed =
        std::fs::read_to_string(CRD_PATH.replace("webhookbridges", "webhookbridgepolicies")).expect("read crds/");
    assert!(
        committed == generated,
        "crds/ is stale: run `cargo run -- crd policy > crds/webhookbridgepolicies.webhookbridge.io.yaml`"
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
    assert_eq!(columns, ["Ready", "Reason", "Endpoint", "Age", "Domain", "Archive", "DLQ"]);
    let wide: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["priority"] == 1)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(wide, ["Domain", "Archive", "DLQ"], "only with -o wide");
    // Route keys (method + path) and rule names are list-map keys: the apiserver refuses duplicates.
    let props = &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(props["routes"]["x-kubernetes-list-type"], "map");
    assert_eq!(props["routes"]["x-kubernetes-list-map-keys"], serde_json::json!(["method", "path"]));
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
    let mut seen = 0;
    for path in common::example_files() {
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

// --- On the real kube-apiserver (tests/common/k8s.rs installs crds/ before any test runs) ---

fn bridges_in(client: &kube::Client, ns: &str) -> kube::Api<kube::api::DynamicObject> {
    kube::Api::namespaced_with(client.clone(), ns, &kube::api::ApiResource::erase::<WebhookBridge>(&()))
}

#[tokio::test]
async fn the_crd_installs_and_is_served_by_kube_apiserver_1_28() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let cluster = require_cluster!();
    let client = cluster.client().await;
    let version = client.apiserver_version().await.expect("version");
    assert_eq!((version.major.as_str(), version.minor.as_str()), ("1", "28"), "the oldest supported Kubernetes");
    let crd = kube::Api::<CustomResourceDefinition>::all(client.clone())
        .get("webhookbridges.webhookbridge.io")
        .await
        .expect("installed");
    let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
    for type_ in ["Established", "NamesAccepted"] {
        assert!(conditions.iter().any(|c| c.type_ == type_ && c.status == "True"), "{type_}: {conditions:#?}");
    }
    // The installed schema is the committed one: nothing was dropped on the way in.
    let committed: Value = serde_saphyr::from_str(&std::fs::read_to_string(CRD_PATH).expect("read")).expect("yaml");
    let served = serde_json::to_value(&crd.spec).expect("json");
    assert_eq!(
        served["versions"][0]["schema"], committed["spec"]["versions"][0]["schema"],
        "the apiserver stored a different schema"
    );
}

#[tokio::test]
async fn every_example_is_accepted_with_strict_field_validation() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("examples").await;
    let api = bridges_in(&cluster.client().await, &ns);
    let mut seen = 0;
    for path in common::example_files() {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
            doc["metadata"]["namespace"] = Value::String(ns.clone());
            let name = doc["metadata"]["name"].as_str().expect("name").to_string();
            let object: kube::api::DynamicObject = serde_json::from_value(doc).expect("object");
            // Server-side apply, as Argo CD and Flux do, with unknown or duplicate fields refused.
            let params = kube::api::PatchParams::apply("examples-test").validation_strict();
            api.patch(&name, &params, &kube::api::Patch::Apply(&object))
                .await
                .unwrap_or_else(|e| panic!("{}: refused by the apiserver: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 4, "expected at least 4 example bridges, found {seen}");

    // Strict really is strict: a misspelled field is refused, naming it.
    let mut typo = common::kube_wait::orders_json("typo", &ns, "typo-bus");
    typo["spec"]["routes"][0]["methd"] = Value::String("POST".into());
    let object: kube::api::DynamicObject = serde_json::from_value(typo).expect("object");
    let params = kube::api::PatchParams::apply("examples-test").validation_strict();
    let err = api.patch("typo", &params, &kube::api::Patch::Apply(&object)).await.expect_err("unknown field");
    assert!(err.to_string().contains("methd"), "{err}");
}

#[tokio::test]
async fn the_apiserver_refuses_a_region_or_event_bus_change() {
    use kube::api::{Patch, PatchParams};
    let cluster = require_cluster!();
    let ns = cluster.namespace("immutable").await;
    let client = cluster.client().await;
    common::kube_wait::create(&client, common::kube_wait::orders_json("orders", &ns, "custom-events-dev")).await;
    let api = bridges_in(&client, &ns);
    let refused = |patch: Value, message: &'static str| {
        let api = api.clone();
        async move {
            let err = api.patch("orders", &PatchParams::default(), &Patch::Merge(&patch)).await.expect_err(message);
            assert!(err.to_string().contains(message), "{err}");
        }
    };
    refused(serde_json::json!({"spec": {"region": "eu-west-1"}}), "spec.region is immutable").await;
    refused(serde_json::json!({"spec": {"region": null}}), "spec.region is immutable").await;
    refused(serde_json::json!({"spec": {"eventBus": {"name": "another"}}}), "spec.eventBus is immutable").await;
    refused(
        serde_json::json!({"spec": {"eventBus": {"name": null, "existingArn": "arn:aws:events:us-east-1:123456789012:event-bus/x"}}}),
        "spec.eventBus is immutable",
    )
    .await;
    // Other fields change freely.
    let repath = serde_json::json!({"spec": {"routes": [{"name": "webhook", "method": "POST", "path": "/hooks/orders",
        "event": {"source": "source.events", "detailType": "$request.body.event_type"}}]}});
    api.patch("orders", &PatchParams::default(), &Patch::Merge(&repath)).await.expect("a path change is fine");
    // The bus's archive is not the bus: it can be added, changed and removed.
    for archive in [serde_json::json!({"retentionDays": 7}), serde_json::json!({"retentionDays": 30}), Value::Null] {
        let patch = serde_json::json!({"spec": {"eventBus": {"archive": archive}}});
        api.patch("orders", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("an archive change is fine");
    }
    // Access logs need $context.requestId in their format.
    refused(
        serde_json::json!({"spec": {"api": {"accessLogs": {"format": "$context.status"}}}}),
        "must contain $context.requestId",
    )
    .await;
}
