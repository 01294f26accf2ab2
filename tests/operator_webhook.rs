//! Issue #22 on the real apiserver (the CRDs as committed) with the operator in-process and the
//! emulator's eventbridgev2: a gateway with `spec.customEventBus` reports its bus; a bridge whose
//! GitHub source names a Secret that does not exist yet says so in its condition (naming the
//! Secret, no credential anywhere); once the Secret exists the bridge is Ready with the source's
//! URL in its status; an edit of the Secret rotates the credential within seconds (the Secret
//! watch, not the 60 s resync), the URL unchanged; deletes leave no eventsv2 object.

mod common;

use std::time::{Duration, Instant};

use common::kube_wait::{condition, until};
use common::operator::{Operator, options};
use common::{Moto, model_check_enabled};
use k8s_openapi::api::core::v1::Secret;
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

async fn gateway(client: &kube::Client, ns: &str) -> Option<Value> {
    api_of::<WebhookBridgeGateway>(client, ns)
        .get_opt("hooks")
        .await
        .expect("GET gateway")
        .map(|o| serde_json::to_value(o).expect("json"))
}

/// The credential the emulator holds for a source's secret (its test endpoint).
fn credential(moto: &Moto, secret_arn: &str) -> Value {
    let (status, text) = moto.emulator_call("GET", &format!("/__eventsv2/secret?arn={secret_arn}"), None);
    assert_eq!(status, 200, "{text}");
    serde_json::from_str::<Value>(&text).expect("json")["SecretValue"].clone()
}

#[tokio::test]
async fn a_secret_named_by_a_webhook_source_is_read_watched_and_rotated() {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped (the eventbridgev2 emulation is the proxy's)");
        return;
    }
    let cluster = require_cluster!();
    let client = cluster.client().await;
    let moto = Moto::start();
    let c = moto.clients().await;
    c.sqs.create_queue().queue_name("pushes").send().await.expect("queue");
    let ns = cluster.namespace("platform").await;
    let op = Operator::start(client.clone(), &moto, options(&[])).await;

    create_in::<WebhookBridgeGateway>(
        &client,
        json!({
            "apiVersion": "webhookbridge.io/v1alpha1", "kind": "WebhookBridgeGateway",
            "metadata": {"name": "hooks", "namespace": ns},
            "spec": {"region": "us-east-1", "api": {"stage": "live"}, "customEventBus": {"name": "hooks-v2"}}
        }),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(40);
    let gw = loop {
        let gw = gateway(&client, &ns).await;
        if common::kube_wait::ready(gw.as_ref())
            && gw.as_ref().is_some_and(|g| g["status"]["customEventBus"].is_object())
        {
            break gw.expect("gateway");
        }
        assert!(Instant::now() < deadline, "gateway never Ready with its Custom Event Bus: {gw:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(gw["status"]["customEventBus"]["name"], "hooks-v2", "{gw:#?}");

    // The Secret does not exist yet: the condition names it.
    common::kube_wait::create(
        &client,
        json!({
            "apiVersion": "webhookbridge.io/v1alpha1", "kind": "WebhookBridge",
            "metadata": {"name": "gh", "namespace": ns},
            "spec": {
                "gatewayRef": {"name": "hooks"},
                "webhookSources": [{"name": "github", "provider": "GitHub", "secretRef": {"name": "gh-webhook"}}],
                "rules": [{"name": "pushes", "pattern": {"ref": [{"prefix": "refs/heads/"}]},
                           "targets": [{"arn": "arn:aws:sqs:us-east-1:123456789012:pushes"}]}]
            }
        }),
    )
    .await;
    let waiting = until(&client, &ns, "gh", "a condition naming the missing Secret", |o| {
        condition(o, "Ready").is_some_and(|c| c["message"].as_str().is_some_and(|m| m.contains("gh-webhook")))
    })
    .await;
    let ready = condition(waiting.as_ref(), "Ready").cloned().unwrap_or_default();
    assert_eq!(ready["status"], "False", "{ready:#}");

    // The Secret appears: Ready, with the URL.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gh-webhook"},
        "stringData": {"secret": "It's a Secret to Everybody"}
    }))
    .expect("secret");
    secrets.create(&PostParams::default(), &secret).await.expect("create secret");
    let b = until(&client, &ns, "gh", "Ready with the webhook URL", |o| {
        common::kube_wait::ready(o) && o.is_some_and(|o| o["status"]["webhookSources"][0]["url"].is_string())
    })
    .await
    .expect("bridge");
    let source = b["status"]["webhookSources"][0].clone();
    assert_eq!(source["state"], "ACTIVE", "{source:#}");
    let (url, secret_arn) = (source["url"].clone(), source["secretArn"].as_str().expect("secretArn").to_string());
    assert_eq!(credential(&moto, &secret_arn), "It's a Secret to Everybody");
    assert!(!b.to_string().contains("Secret to Everybody"), "no credential in the bridge object");

    // The Secret changes: rotated within seconds (the watch; the resync is 60 s), same URL.
    let patch = json!({"stringData": {"secret": "a-new-secret-of-32-bytes-length!"}});
    secrets.patch("gh-webhook", &PatchParams::default(), &Patch::Merge(patch)).await.expect("patch secret");
    let deadline = Instant::now() + Duration::from_secs(15);
    while credential(&moto, &secret_arn) != "a-new-secret-of-32-bytes-length!" {
        assert!(Instant::now() < deadline, "the edit of the Secret did not rotate the credential");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = common::kube_wait::get(&client, &ns, "gh").await.expect("bridge");
    assert_eq!(after["status"]["webhookSources"][0]["url"], url, "the URL stays");

    // Deletes: the bridge, then the gateway; nothing of eventsv2 is left.
    api_of::<WebhookBridge>(&client, &ns).delete("gh", &DeleteParams::default()).await.expect("delete bridge");
    until(&client, &ns, "gh", "gone", |o| o.is_none()).await;
    api_of::<WebhookBridgeGateway>(&client, &ns).delete("hooks", &DeleteParams::default()).await.expect("delete gw");
    let deadline = Instant::now() + Duration::from_secs(40);
    while gateway(&client, &ns).await.is_some() {
        assert!(Instant::now() < deadline, "the gateway was never deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = &c.eventsv2;
    let buses = e.list_event_buses().send().await.expect("buses");
    let sources = e.list_event_sources().send().await.expect("sources");
    let subscribers = e.list_subscribers().send().await.expect("subscribers");
    assert_eq!(
        (buses.event_buses().len(), sources.event_sources().len(), subscribers.subscribers().len()),
        (0, 0, 0),
        "eventsv2 objects left"
    );
    assert!(moto.violations().is_empty(), "{:?}", moto.violations());
    op.shutdown().await;
}
