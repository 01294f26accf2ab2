//! Issue #21 on the real apiserver (kube-apiserver 1.28.7, the CRDs as committed) with the
//! operator in-process and moto behind the model check: a platform team installs one gateway
//! with a custom domain, three namespaces attach bridges under their own path prefix, and each
//! bridge's status gives its URL on the shared domain; a namespace the gateway does not select is
//! refused (no finalizer, nothing in AWS); a newer bridge claiming an older one's route key is
//! told why; a bridge that would take the gateway past its rules-per-bus quota is refused with
//! 0 AWS writes; the gateway's delete waits for its bridges, then leaves an empty account.

mod common;

use std::time::Duration;

use common::kube_wait::{condition, until};
use common::operator::{Operator, options};
use common::{Moto, eventbridge_queue, inventory};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::{WebhookBridge, WebhookBridgeGateway};

fn api_of<K: kube::Resource<DynamicType = ()>>(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<K>(&()))
}

async fn create_in<K: kube::Resource<DynamicType = ()>>(client: &kube::Client, object: Value) {
    let ns = object["metadata"]["namespace"].as_str().expect("namespace").to_string();
    let object: DynamicObject = serde_json::from_value(object).expect("object");
    api_of::<K>(client, &ns).create(&PostParams::default(), &object).await.expect("create");
}

async fn gateway_until(
    client: &kube::Client,
    ns: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let object = api_of::<WebhookBridgeGateway>(client, ns)
            .get_opt("hooks")
            .await
            .expect("GET gateway")
            .map(|o| serde_json::to_value(o).expect("json"));
        if check(object.as_ref()) {
            return object;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for gateway {ns}/hooks: {what}; last: {object:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn labelled_namespace(cluster: &common::k8s::Cluster, prefix: &str, selected: bool) -> String {
    let ns = cluster.namespace(prefix).await;
    if selected {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client().await);
        let patch = json!({"metadata": {"labels": {"webhooks.example.com/gateway": "hooks"}}});
        api.patch(&ns, &PatchParams::default(), &Patch::Merge(patch)).await.expect("label namespace");
    }
    ns
}

fn bridge_json(name: &str, ns: &str, path: &str, rules: usize) -> Value {
    let rules: Vec<Value> = (0..rules)
        .map(|i| {
            json!({
                "name": format!("r{i}"),
                "pattern": {"source": [format!("{ns}.{name}")], "detail-type": [format!("t{i}")]},
                "targets": [{"arn": "arn:aws:sqs:us-east-1:123456789012:gateway-events"}]
            })
        })
        .collect();
    json!({
        "apiVersion": "webhookbridge.io/v1alpha1",
        "kind": "WebhookBridge",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "gatewayRef": {"name": "hooks", "namespace": "PLATFORM"},
            "routes": [{"name": "hook", "method": "POST", "path": path,
                        "event": {"source": format!("{ns}.{name}"), "detailType": "$request.body.type"}}],
            "rules": rules
        }
    })
}

fn ready_now(o: Option<&Value>) -> bool {
    common::kube_wait::ready(o)
}

#[tokio::test]
async fn three_namespaces_attach_under_one_domain_and_the_gateway_goes_last() {
    let cluster = require_cluster!();
    let client = cluster.client().await;
    let moto = Moto::start();
    eventbridge_queue(&moto, "gateway-events").await;
    let c = moto.clients().await;
    let before = inventory(&c).await;

    let platform = cluster.namespace("platform").await;
    let teams = [
        labelled_namespace(cluster, "team-a", true).await,
        labelled_namespace(cluster, "team-b", true).await,
        labelled_namespace(cluster, "team-c", true).await,
    ];
    let outsider = labelled_namespace(cluster, "outsider", false).await;
    let op = Operator::start(client.clone(), &moto, options(&[])).await;

    // The gateway: API + stage + custom domain + bus + role; 7 rules fit its bus (a raised
    // quota, here lowered to make the refusal cheap to reach).
    create_in::<WebhookBridgeGateway>(
        &client,
        json!({
            "apiVersion": "webhookbridge.io/v1alpha1",
            "kind": "WebhookBridgeGateway",
            "metadata": {"name": "hooks", "namespace": platform},
            "spec": {
                "region": "us-east-1",
                "domain": {"name": "hooks.example.com",
                           "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"},
                "allowedRoutes": {
                    "namespaces": {"from": "Selector",
                                   "selector": {"matchLabels": {"webhooks.example.com/gateway": "hooks"}}},
                    "pathPrefix": "/{namespace}/"
                },
                "quotas": {"rulesPerBus": 7}
            }
        }),
    )
    .await;
    let gw = gateway_until(&client, &platform, "Ready", ready_now).await.expect("gateway");
    assert_eq!(gw["status"]["url"], "https://hooks.example.com", "{gw:#?}");
    let inv = inventory(&c).await;
    assert_eq!(inv.apis, before.apis + 1);
    assert_eq!(inv.buses.len(), before.buses.len() + 1);
    assert_eq!(inv.roles.len(), before.roles.len() + 1);

    // Three teams, two rules each: every URL on the shared domain, under the team's prefix.
    for ns in &teams {
        let mut b = bridge_json("hooks-in", ns, &format!("/{ns}/events"), 2);
        b["spec"]["gatewayRef"]["namespace"] = json!(platform);
        common::kube_wait::create(&client, b).await;
    }
    for ns in &teams {
        let b = until(&client, ns, "hooks-in", "Ready", ready_now).await.expect("bridge");
        let urls = &b["status"]["domain"]["routeUrls"];
        assert_eq!(urls[0], format!("https://hooks.example.com/{ns}/events"), "{b:#?}");
        assert_eq!(b["status"]["gateway"], format!("{platform}/hooks"));
        // Gateway API conditions next to kstatus's.
        assert!(
            common::kube_wait::is(Some(&b), "Accepted", "True")
                && common::kube_wait::is(Some(&b), "ResolvedRefs", "True"),
            "{b:#?}"
        );
    }
    let inv = inventory(&c).await;
    assert_eq!(inv.apis, before.apis + 1, "no API per bridge");
    assert_eq!(inv.buses.len(), before.buses.len() + 1, "no bus per bridge");
    assert_eq!(inv.roles.len(), before.roles.len() + 1, "no role per bridge");
    assert_eq!(inv.routes.len(), 3);
    assert_eq!(inv.rules.len(), 6);
    // The gateway shows what it holds against its quotas.
    let gw =
        gateway_until(&client, &platform, "3 attached", |g| g.is_some_and(|g| g["status"]["attachedBridges"] == 3))
            .await
            .expect("gateway");
    let capacity = gw["status"]["capacity"].as_array().expect("capacity").clone();
    let rules = capacity.iter().find(|q| q["quota"] == "rulesPerBus").expect("rules quota");
    assert_eq!((rules["used"].as_u64(), rules["limit"].as_u64()), (Some(6), Some(7)), "{capacity:#?}");
    assert!(capacity.iter().any(|q| q["quota"] == "integrationsPerApi" && q["limit"] == 300), "{capacity:#?}");

    // A namespace the gateway does not select: refused, no finalizer, nothing in AWS.
    let mut b = bridge_json("stranger", &outsider, &format!("/{outsider}/x"), 0);
    b["spec"]["gatewayRef"]["namespace"] = json!(platform);
    common::kube_wait::create(&client, b).await;
    let s = until(&client, &outsider, "stranger", "NotAllowedByGateway", |o| {
        condition(o, "Ready").is_some_and(|c| c["reason"] == "NotAllowedByGateway")
    })
    .await
    .expect("stranger");
    assert!(s["metadata"]["finalizers"].is_null(), "{s:#?}");
    assert!(
        condition(Some(&s), "Accepted").is_some_and(|c| c["status"] == "False" && c["reason"] == "NotAllowedByGateway"),
        "{s:#?}"
    );

    // A newer bridge on team A's key: the older keeps it; the newer is told why.
    let mut b = bridge_json("copycat", &teams[0], &format!("/{}/events", teams[0]), 0);
    b["spec"]["gatewayRef"]["namespace"] = json!(platform);
    common::kube_wait::create(&client, b).await;
    let cc = until(&client, &teams[0], "copycat", "RouteConflict", |o| {
        condition(o, "Ready").is_some_and(|c| c["reason"] == "RouteConflict")
    })
    .await
    .expect("copycat");
    let message = condition(Some(&cc), "Ready").and_then(|c| c["message"].as_str()).unwrap_or_default().to_string();
    assert!(message.contains(&format!("{}/hooks-in", teams[0])), "{message}");
    assert_eq!(inventory(&c).await.routes.len(), 3, "the key stays with the older bridge");

    // One more bridge with 2 rules: 6 + 2 > 7 on the bus. Refused before any AWS write.
    let committed = || moto.fault_stats()["committed_writes"].as_u64().unwrap_or_default();
    let writes_before = committed();
    let mut b = bridge_json("toomany", &teams[1], &format!("/{}/more", teams[1]), 2);
    b["spec"]["gatewayRef"]["namespace"] = json!(platform);
    common::kube_wait::create(&client, b).await;
    let full = until(&client, &teams[1], "toomany", "QuotaExceeded", |o| {
        condition(o, "Ready").is_some_and(|c| c["reason"] == "QuotaExceeded")
    })
    .await
    .expect("toomany");
    let message = condition(Some(&full), "Ready").and_then(|c| c["message"].as_str()).unwrap_or_default().to_string();
    assert!(message.contains("rules per event bus (7"), "{message}");
    assert_eq!(committed(), writes_before, "a refused attach writes nothing to AWS");

    // The older bridge leaves: the newer one gets the key now, not at its next resync (60 s
    // here, more than `until` waits; hours at 10,000 bridges).
    api_of::<WebhookBridge>(&client, &teams[0]).delete("hooks-in", &DeleteParams::default()).await.expect("delete");
    let started = std::time::Instant::now();
    let cc = until(&client, &teams[0], "copycat", "Ready once the holder left", ready_now).await.expect("copycat");
    eprintln!("route key handed over in {:?}", started.elapsed());
    assert_eq!(cc["status"]["domain"]["routeUrls"][0], format!("https://hooks.example.com/{}/events", teams[0]));
    assert_eq!(inventory(&c).await.routes.len(), 3, "the key moved: one route for it");

    // The gateway's delete waits for every bridge naming it.
    api_of::<WebhookBridgeGateway>(&client, &platform)
        .delete("hooks", &DeleteParams::default())
        .await
        .expect("delete gw");
    let waiting = gateway_until(&client, &platform, "GatewayInUse", |g| {
        condition(g, "Ready").is_some_and(|c| c["reason"] == "GatewayInUse")
    })
    .await
    .expect("gateway waits");
    let message =
        condition(Some(&waiting), "Ready").and_then(|c| c["message"].as_str()).unwrap_or_default().to_string();
    assert!(message.contains("hooks-in"), "{message}");
    assert_eq!(inventory(&c).await.apis, before.apis + 1, "the API stays while bridges are attached");

    for (ns, name) in teams[1..].iter().map(|ns| (ns.clone(), "hooks-in")).chain([
        (teams[0].clone(), "copycat"),
        (teams[1].clone(), "toomany"),
        (outsider.clone(), "stranger"),
    ]) {
        api_of::<WebhookBridge>(&client, &ns).delete(name, &DeleteParams::default()).await.expect("delete bridge");
    }
    for ns in &teams {
        until(&client, ns, "hooks-in", "deleted", |o| o.is_none()).await;
    }
    gateway_until(&client, &platform, "deleted", |g| g.is_none()).await;
    assert_eq!(inventory(&c).await, before, "left behind");
    op.shutdown().await;
}
