//! The committed CRDs (bridge, policy, gateway) are exactly what the Rust types generate, install
//! on Kubernetes 1.28+ (apiextensions.k8s.io/v1, structural schema, CEL), and every example
//! (examples/*.yaml and examples/gateway/*.yaml) passes admission.

mod common;

use kube::CustomResourceExt;
use serde_json::Value;
use webhook_bridge::api::{
    WebhookBridge, WebhookBridgeGateway, WebhookBridgePolicy, crd_yaml, gateway_crd_yaml, policy_crd_yaml,
};

const CRD_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridges.webhookbridge.io.yaml");
const GATEWAY_CRD_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridgegateways.webhookbridge.io.yaml");

/// examples/gateway/: the gateway, and the bridges that attach to it.
fn gateway_example_files() -> Vec<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/gateway");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/gateway")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    files.sort();
    files
}

fn kind_of(path: &std::path::Path) -> String {
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml");
    doc["kind"].as_str().unwrap_or_default().to_string()
}

fn gateway_example() -> WebhookBridgeGateway {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway/gateway.yaml");
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("read")).expect("gateway example")
}

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
    let generated = gateway_crd_yaml().expect("generate");
    let committed = std::fs::read_to_string(GATEWAY_CRD_PATH).expect("read crds/");
    assert!(
        committed == generated,
        "crds/ is stale: run `cargo run -- crd gateway > crds/webhookbridgegateways.webhookbridge.io.yaml`"
    );
    // What users run (the operator's --install-crds and the upgrade notes name this command).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .args(["crd", "gateway"])
        .output()
        .expect("run webhook-bridge crd gateway");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == committed.as_bytes(), "`webhook-bridge crd gateway` prints something else than crds/");
}

#[test]
fn gateway_crd_names_scope_columns_and_subresources() {
    let crd: Value = serde_saphyr::from_str(&std::fs::read_to_string(GATEWAY_CRD_PATH).expect("read")).expect("yaml");
    assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(crd["metadata"]["name"], "webhookbridgegateways.webhookbridge.io");
    let spec = &crd["spec"];
    assert_eq!(spec["group"], "webhookbridge.io");
    assert_eq!(spec["scope"], "Namespaced", "a gateway lives in the platform team's namespace");
    assert_eq!(spec["names"]["kind"], "WebhookBridgeGateway");
    assert_eq!(spec["names"]["plural"], "webhookbridgegateways");
    assert_eq!(spec["names"]["shortNames"], serde_json::json!(["whbgw"]));
    assert_eq!(spec["names"]["categories"], serde_json::json!(["webhooks"]), "`kubectl get webhooks` lists it");
    let version = &spec["versions"][0];
    assert_eq!((version["name"].as_str(), version["served"].as_bool()), (Some("v1alpha1"), Some(true)));
    assert!(version["subresources"]["status"].is_object(), "status subresource");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Ready", "Reason", "URL", "Bridges", "Age"]);
    let props = &version["schema"]["openAPIV3Schema"]["properties"];
    for field in ["attachedBridges", "capacity", "url", "apiId", "eventBus", "role", "conditions"] {
        assert!(props["status"]["properties"][field].is_object(), "status.{field}");
    }
    let quotas = &props["spec"]["properties"]["quotas"]["properties"];
    assert!(quotas["rulesPerBus"].is_object() && quotas["routesPerApi"].is_object(), "{quotas}");
    assert!(quotas.get("integrationsPerApi").is_none(), "integrations per API are fixed by AWS: no field");
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
    assert_eq!(columns, ["Ready", "Reason", "Endpoint", "Webhook", "Age", "Domain", "Archive", "DLQ"]);
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
    for crd in [WebhookBridge::crd(), WebhookBridgePolicy::crd(), WebhookBridgeGateway::crd()] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let crd = serde_json::to_value(crd).expect("json");
        assert_structural(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"], &name);
    }
}

#[test]
fn every_example_passes_admission() {
    let mut seen = 0;
    for path in common::example_files() {
        let bridges = webhook_bridge::cli::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += bridges.len();
    }
    assert!(seen >= 4, "expected at least 4 example bridges, found {seen}");
    // examples/gateway/: the bridges through the CLI's admission, the gateway through its CEL rules.
    let (mut bridges, mut gateways) = (0, 0);
    for path in gateway_example_files() {
        match kind_of(&path).as_str() {
            "WebhookBridge" => {
                let b = webhook_bridge::cli::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(b.iter().all(|b| b.spec.gateway_ref.is_some()), "{}: attaches to a gateway", path.display());
                bridges += b.len();
            }
            "WebhookBridgeGateway" => {
                gateway_example().validate_cel().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                gateways += 1;
            }
            other => panic!("{}: unexpected kind {other}", path.display()),
        }
    }
    assert_eq!((bridges, gateways), (2, 1), "examples/gateway/: two bridges and their gateway");
}

#[test]
fn gateway_ref_is_immutable_and_excludes_what_the_gateway_owns() {
    let on_gateway = common::example("gateway/orders.yaml");
    let message = "spec.gatewayRef is immutable";
    let mut moved = on_gateway.clone();
    moved.spec.gateway_ref.as_mut().expect("ref").name = "other".into();
    let err = WebhookBridge::validate_cel_update(&moved, &on_gateway).expect_err("another gateway");
    assert!(err.to_string().contains(message), "{err}");
    let mut off = on_gateway.clone();
    off.spec.gateway_ref = None;
    let err = WebhookBridge::validate_cel_update(&off, &on_gateway).expect_err("off the gateway");
    assert!(err.to_string().contains(message), "{err}");
    let standalone = common::example("orders.yaml");
    let mut onto = standalone.clone();
    onto.spec = on_gateway.spec.clone();
    let err = WebhookBridge::validate_cel_update(&onto, &standalone).expect_err("onto a gateway");
    assert!(err.to_string().contains(message), "{err}");

    // With gatewayRef, what the gateway owns is refused, each on its own.
    let owned = "spec.gatewayRef: a bridge on a gateway uses the gateway's region, API, stage, domain, bus and role";
    type Breaks = fn(&mut WebhookBridge);
    let cases: [(&str, Breaks); 5] = [
        ("region", |b| b.spec.region = Some("us-east-1".into())),
        ("api.stage", |b| b.spec.api.stage = Some("dev".into())),
        ("eventBus.name", |b| b.spec.event_bus.name = Some("own".into())),
        ("role.existingArn", |b| b.spec.role.existing_arn = Some("arn:aws:iam::123456789012:role/r".into())),
        ("domain", |b| {
            b.spec.domain = Some(webhook_bridge::api::DomainSpec {
                name: "hooks.example.com".into(),
                certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/abc".into(),
                base_path: None,
                dns_endpoint: false,
            })
        }),
    ];
    for (field, set) in cases {
        let mut b = on_gateway.clone();
        set(&mut b);
        let err = b.validate_cel().expect_err(field);
        assert!(err.to_string().contains(owned), "{field}: {err}");
    }
    on_gateway.validate_cel().expect("the example itself is fine");
}

#[test]
fn gateway_region_bus_and_namespaces_rules_hold_offline() {
    let old = gateway_example();
    let mut moved = old.clone();
    moved.spec.region = Some("eu-west-1".into());
    let err = WebhookBridgeGateway::validate_cel_update(&moved, &old).expect_err("region change");
    assert!(err.to_string().contains("spec.region is immutable: moving a gateway"), "{err}");
    let mut rebus = old.clone();
    rebus.spec.event_bus.name = Some("another".into());
    let err = WebhookBridgeGateway::validate_cel_update(&rebus, &old).expect_err("bus change");
    assert!(err.to_string().contains("spec.eventBus is immutable"), "{err}");
    let mut no_selector = old.clone();
    no_selector.spec.allowed_routes.namespaces.selector = None;
    let err = no_selector.validate_cel().expect_err("Selector without selector");
    assert!(err.to_string().contains("selector is required with from: Selector"), "{err}");
    let mut reprefixed = old.clone();
    reprefixed.spec.allowed_routes.path_prefix = Some("/hooks/{namespace}/".into());
    reprefixed.spec.quotas.rules_per_bus = Some(600);
    WebhookBridgeGateway::validate_cel_update(&reprefixed, &old).expect("prefix and quotas change freely");
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
    for (name, path) in [
        ("webhookbridges.webhookbridge.io", CRD_PATH.to_string()),
        ("webhookbridgepolicies.webhookbridge.io", CRD_PATH.replace("webhookbridges", "webhookbridgepolicies")),
        ("webhookbridgegateways.webhookbridge.io", GATEWAY_CRD_PATH.to_string()),
    ] {
        let crd = kube::Api::<CustomResourceDefinition>::all(client.clone()).get(name).await.expect("installed");
        let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        for type_ in ["Established", "NamesAccepted"] {
            assert!(
                conditions.iter().any(|c| c.type_ == type_ && c.status == "True"),
                "{name} {type_}: {conditions:#?}"
            );
        }
        // The installed schema is the committed one: nothing was dropped on the way in.
        let committed: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        let served = serde_json::to_value(&crd.spec).expect("json");
        assert_eq!(
            served["versions"][0]["schema"], committed["spec"]["versions"][0]["schema"],
            "{name}: the apiserver stored a different schema"
        );
    }
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

fn gateways_in(client: &kube::Client, ns: &str) -> kube::Api<kube::api::DynamicObject> {
    kube::Api::namespaced_with(client.clone(), ns, &kube::api::ApiResource::erase::<WebhookBridgeGateway>(&()))
}

/// A YAML file's first document as JSON, moved into namespace `ns`.
fn doc_in(path: &str, ns: &str) -> Value {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let mut doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(full).expect("read")).expect("yaml");
    doc["metadata"]["namespace"] = Value::String(ns.to_string());
    doc
}

#[tokio::test]
async fn the_gateway_examples_are_accepted_with_strict_field_validation() {
    use kube::api::{Patch, PatchParams};
    let cluster = require_cluster!();
    let ns = cluster.namespace("gateway-examples").await;
    let client = cluster.client().await;
    let params = PatchParams::apply("examples-test").validation_strict();
    let mut seen = Vec::new();
    for path in gateway_example_files() {
        let kind = kind_of(&path);
        let api = match kind.as_str() {
            "WebhookBridgeGateway" => gateways_in(&client, &ns),
            _ => bridges_in(&client, &ns),
        };
        // The bridges keep their gatewayRef (namespace platform): the apiserver does not resolve it.
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).expect("in the repo").display().to_string();
        let doc = doc_in(rel.trim_start_matches('/'), &ns);
        let name = doc["metadata"]["name"].as_str().expect("name").to_string();
        let object: kube::api::DynamicObject = serde_json::from_value(doc).expect("object");
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("{}: refused by the apiserver: {e}", path.display()));
        seen.push(kind);
    }
    seen.sort();
    assert_eq!(seen, ["WebhookBridge", "WebhookBridge", "WebhookBridgeGateway"]);

    // Strict is strict for the gateway too: a misspelled field is refused, naming it.
    let mut typo = doc_in("examples/gateway/gateway.yaml", &ns);
    typo["metadata"]["name"] = Value::String("typo".into());
    typo["spec"]["allowedRoutes"]["pathPrefx"] = Value::String("/x/".into());
    let object: kube::api::DynamicObject = serde_json::from_value(typo).expect("object");
    let err =
        gateways_in(&client, &ns).patch("typo", &params, &Patch::Apply(&object)).await.expect_err("unknown field");
    assert!(err.to_string().contains("pathPrefx"), "{err}");
}

/// Every CEL rule of the gateway CRD, on the real apiserver, with its message: a create or an
/// update that breaks it is refused; what may change, changes.
#[tokio::test]
async fn the_apiserver_enforces_the_gateway_rules() {
    use kube::api::{Patch, PatchParams, PostParams};
    let cluster = require_cluster!();
    let ns = cluster.namespace("gateway-rules").await;
    let client = cluster.client().await;
    let api = gateways_in(&client, &ns);
    let create = |doc: Value| {
        let api = api.clone();
        async move {
            let object: kube::api::DynamicObject = serde_json::from_value(doc).expect("object");
            api.create(&PostParams::default(), &object).await
        }
    };
    create(doc_in("examples/gateway/gateway.yaml", &ns)).await.expect("the example");
    let refused = |patch: Value, message: &'static str| {
        let api = api.clone();
        async move {
            let err = api.patch("hooks", &PatchParams::default(), &Patch::Merge(&patch)).await.expect_err(message);
            assert!(err.to_string().contains(message), "{message}: {err}");
        }
    };
    let moved = "spec.region is immutable: moving a gateway would orphan its AWS objects and every bridge on it";
    refused(serde_json::json!({"spec": {"region": "eu-west-1"}}), moved).await;
    refused(serde_json::json!({"spec": {"region": null}}), moved).await;
    let rebus = "spec.eventBus is immutable: every attached bridge's rules live on it";
    refused(serde_json::json!({"spec": {"eventBus": {"name": "another"}}}), rebus).await;
    refused(
        serde_json::json!({"spec": {"eventBus": {"existingArn": "arn:aws:events:us-east-1:123456789012:event-bus/x"}}}),
        rebus,
    )
    .await;
    let selector = "allowedRoutes.namespaces: selector is required with from: Selector and allowed only with it";
    refused(serde_json::json!({"spec": {"allowedRoutes": {"namespaces": {"selector": null}}}}), selector).await;
    refused(serde_json::json!({"spec": {"allowedRoutes": {"namespaces": {"from": "All"}}}}), selector).await;
    refused(serde_json::json!({"spec": {"tags": {"AWS:owner": "x"}}}), "must not start with 'aws:'").await;
    refused(serde_json::json!({"spec": {"tags": {"webhookbridge.io/owner": "x"}}}), "'webhookbridge.io/'").await;
    refused(
        serde_json::json!({"spec": {"api": {"accessLogs": {"format": "$context.status"}}}}),
        "must contain $context.requestId",
    )
    .await;
    // The schema's own bounds, naming the field.
    refused(serde_json::json!({"spec": {"quotas": {"rulesPerBus": 0}}}), "spec.quotas.rulesPerBus").await;
    refused(
        serde_json::json!({"spec": {"allowedRoutes": {"pathPrefix": "no-slash/"}}}),
        "spec.allowedRoutes.pathPrefix",
    )
    .await;

    // What may change, changes: the namespaces accepted, the prefix, throttling, raised quotas.
    for patch in [
        serde_json::json!({"spec": {"allowedRoutes": {"namespaces": {"from": "All", "selector": null}}}}),
        serde_json::json!({"spec": {"allowedRoutes": {"namespaces": {"from": "Same"}, "pathPrefix": "/hooks/{namespace}/"}}}),
        serde_json::json!({"spec": {"api": {"throttling": {"burstLimit": 50, "rateLimit": 20}}}}),
        serde_json::json!({"spec": {"quotas": {"rulesPerBus": 1000, "routesPerApi": 500}}}),
    ] {
        api.patch("hooks", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("{patch}: {e}"));
    }

    // On create: a Selector without its selector, and a selector without Selector.
    let mut bad = doc_in("examples/gateway/gateway.yaml", &ns);
    bad["metadata"]["name"] = Value::String("no-selector".into());
    bad["spec"]["allowedRoutes"]["namespaces"] = serde_json::json!({"from": "Selector"});
    let err = create(bad).await.expect_err("Selector without a selector");
    assert!(err.to_string().contains(selector), "{err}");
    let mut bad = doc_in("examples/gateway/gateway.yaml", &ns);
    bad["metadata"]["name"] = Value::String("stray-selector".into());
    bad["spec"]["allowedRoutes"]["namespaces"]["from"] = Value::String("Same".into());
    let err = create(bad).await.expect_err("a selector without Selector");
    assert!(err.to_string().contains(selector), "{err}");
}

/// The bridge CRD's gatewayRef rules on the real apiserver: the reference is immutable (on, off
/// and across gateways), and next to it the bridge may not set what the gateway owns.
#[tokio::test]
async fn the_apiserver_enforces_the_gateway_ref_rules() {
    use kube::api::{Patch, PatchParams, PostParams};
    let cluster = require_cluster!();
    let ns = cluster.namespace("gateway-ref").await;
    let client = cluster.client().await;
    let api = bridges_in(&client, &ns);
    let create = |doc: Value| {
        let api = api.clone();
        async move {
            let object: kube::api::DynamicObject = serde_json::from_value(doc).expect("object");
            api.create(&PostParams::default(), &object).await
        }
    };
    create(doc_in("examples/gateway/orders.yaml", &ns)).await.expect("the example");
    common::kube_wait::create(&client, common::kube_wait::orders_json("standalone", &ns, "standalone-bus")).await;
    let refused = |name: &'static str, patch: Value, message: &'static str| {
        let api = api.clone();
        async move {
            let err = api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect_err(message);
            assert!(err.to_string().contains(message), "{name} {patch}: {err}");
        }
    };
    let immutable = "spec.gatewayRef is immutable: moving a bridge to another gateway (or off one) changes its URLs";
    refused("orders", serde_json::json!({"spec": {"gatewayRef": {"name": "other"}}}), immutable).await;
    refused("orders", serde_json::json!({"spec": {"gatewayRef": {"namespace": null}}}), immutable).await;
    refused("orders", serde_json::json!({"spec": {"gatewayRef": null}}), immutable).await;
    refused(
        "standalone",
        serde_json::json!({"spec": {"gatewayRef": {"name": "hooks", "namespace": "platform"}, "region": null,
            "api": null, "eventBus": null}}),
        immutable,
    )
    .await;

    let owned = "spec.gatewayRef: a bridge on a gateway uses the gateway's region, API, stage, domain, bus and role";
    let cases = [
        serde_json::json!({"region": "us-east-1"}),
        serde_json::json!({"api": {"stage": "dev"}}),
        serde_json::json!({"api": {"throttling": {"burstLimit": 10, "rateLimit": 5}}}),
        serde_json::json!({"eventBus": {"name": "own-bus"}}),
        serde_json::json!({"eventBus": {"existingArn": "arn:aws:events:us-east-1:123456789012:event-bus/x"}}),
        serde_json::json!({"role": {"existingArn": "arn:aws:iam::123456789012:role/r"}}),
        serde_json::json!({"domain": {"name": "hooks.example.com",
            "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}}),
    ];
    for (i, extra) in cases.iter().enumerate() {
        // On update...
        refused("orders", serde_json::json!({"spec": extra}), owned).await;
        // ...and on create.
        let mut doc = doc_in("examples/gateway/orders.yaml", &ns);
        doc["metadata"]["name"] = Value::String(format!("owned-{i}"));
        for (k, v) in extra.as_object().expect("object") {
            doc["spec"][k] = v.clone();
        }
        let err = create(doc).await.expect_err("refused on create");
        assert!(err.to_string().contains(owned), "{extra}: {err}");
    }
    // The bridge's own parts change freely.
    let repath = serde_json::json!({"spec": {"routes": [{"name": "webhook", "method": "POST", "path": "/payments/v2/orders",
        "event": {"source": "source.events", "detailType": "$request.body.event_type"}}]}});
    api.patch("orders", &PatchParams::default(), &Patch::Merge(&repath)).await.expect("a path change is fine");
}
