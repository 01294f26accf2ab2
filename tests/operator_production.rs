//! examples/production.yaml through the operator on a real kube-apiserver: the custom domain's
//! DNS target in status, the external-dns DNSEndpoint (only once the cluster serves its CRD), the
//! informational NoDeadLetterQueue condition, and the -o wide columns' fields. Its own test
//! binary: it installs the DNSEndpoint CRD into its apiserver.

mod common;

use std::time::{Duration, Instant};

use common::kube_wait::{condition, create, is, ready, until, until_event};
use common::operator::{Operator, options};
use common::{Moto, inventory, prerequisites};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn production(ns: &str) -> Value {
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/production.yaml")).expect("example");
    let mut v: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    v["metadata"] = json!({"name": "orders-prod", "namespace": ns});
    v
}

/// external-dns's DNSEndpoint CRD, reduced to what the operator writes (the upstream schema has
/// the same fields under spec.endpoints[]).
fn dns_endpoint_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        // As upstream's: *.k8s.io groups need the API-review annotation.
        "metadata": {"name": "dnsendpoints.externaldns.k8s.io",
            "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/external-dns/pull/2007"}},
        "spec": {
            "group": "externaldns.k8s.io",
            "names": {"kind": "DNSEndpoint", "listKind": "DNSEndpointList", "plural": "dnsendpoints", "singular": "dnsendpoint"},
            "scope": "Namespaced",
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"endpoints": {"type": "array", "items": {
                        "type": "object", "properties": {
                            "dnsName": {"type": "string"}, "recordType": {"type": "string"},
                            "recordTTL": {"type": "integer", "format": "int64"},
                            "targets": {"type": "array", "items": {"type": "string"}}}}}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
                "subresources": {"status": {}}}]
        }
    }))
    .expect("crd")
}

fn endpoints(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("externaldns.k8s.io", "v1alpha1", "DNSEndpoint");
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk_with_plural(&gvk, "dnsendpoints"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_gets_its_dns_endpoint_once_external_dns_is_installed() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("production").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    prerequisites(&moto, "production.yaml").await;
    let mut opts = options(&[&ns]);
    opts.settings.resync = Duration::from_secs(1);
    let op = Operator::start(client.clone(), &moto, opts).await;

    // No DNSEndpoint CRD yet: the bridge works, and says why there is no DNSEndpoint.
    create(&client, production(&ns)).await;
    let o = until(&client, &ns, "orders-prod", "Ready", ready).await.expect("object");
    let domain = &o["status"]["domain"];
    assert_eq!(domain["url"], "https://hooks.example.com/orders");
    let target = domain["targetDomainName"].as_str().expect("DNS target in status").to_string();
    assert!(domain["hostedZoneId"].is_string(), "{domain}");
    assert_eq!(o["status"]["deadLetterQueues"], "1/2");
    assert!(o["status"]["archive"]["arn"].as_str().is_some_and(|a| a.contains(":archive/whb-")), "{}", o["status"]);
    assert!(o["status"]["accessLogGroup"]["name"].as_str().is_some_and(|n| n.starts_with("/aws/vendedlogs/")));
    let dlq = condition(Some(&o), "NoDeadLetterQueue").expect("NoDeadLetterQueue condition");
    assert_eq!(dlq["status"], "True");
    assert!(dlq["message"].as_str().is_some_and(|m| m.contains("cancel-order")), "{dlq}");
    assert!(is(Some(&o), "Ready", "True"), "informational: Ready regardless");
    until_event(&client, &ns, "orders-prod", |(t, r, _)| t == "Warning" && r == "DNSEndpointUnavailable").await;

    // external-dns's CRD appears: the next resync writes the DNSEndpoint, owned by the bridge.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &dns_endpoint_crd()).await.expect("install the DNSEndpoint CRD");
    let api = endpoints(&client, &ns);
    let deadline = Instant::now() + Duration::from_secs(60);
    let endpoint = loop {
        if let Ok(Some(e)) = api.get_opt("orders-prod").await {
            break e;
        }
        assert!(Instant::now() < deadline, "no DNSEndpoint within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let e = serde_json::to_value(&endpoint).expect("json");
    assert_eq!(e["spec"]["endpoints"][0]["dnsName"], "hooks.example.com");
    assert_eq!(e["spec"]["endpoints"][0]["recordType"], "CNAME");
    assert_eq!(e["spec"]["endpoints"][0]["targets"], json!([target]));
    assert_eq!(e["metadata"]["ownerReferences"][0]["uid"], o["metadata"]["uid"]);

    // dnsEndpoint turned off: the operator removes it.
    let bridges: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &ApiResource::erase::<webhook_bridge::api::WebhookBridge>(&()));
    let patch = json!({"spec": {"domain": {"dnsEndpoint": false}}});
    bridges.patch("orders-prod", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch");
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.get_opt("orders-prod").await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "the DNSEndpoint was not removed within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    bridges.delete("orders-prod", &DeleteParams::default()).await.expect("delete");
    until(&client, &ns, "orders-prod", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, common::Inventory::default());
    op.shutdown().await;
}
