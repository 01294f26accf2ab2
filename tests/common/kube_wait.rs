//! Reading what the real apiserver holds, for operator tests: objects as raw JSON (what
//! `kubectl get -o json` shows), conditions, Events, and polling until something holds.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;

fn bridges(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::erase::<WebhookBridge>(&());
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// The stored WebhookBridge as raw JSON, or None when it does not exist.
pub async fn get(client: &kube::Client, ns: &str, name: &str) -> Option<Value> {
    let object = bridges(client, ns).get_opt(name).await.expect("GET webhookbridge")?;
    Some(serde_json::to_value(object).expect("json"))
}

/// Create a WebhookBridge from raw JSON (as `kubectl create -f` would).
pub async fn create(client: &kube::Client, object: Value) {
    let ns = object["metadata"]["namespace"].as_str().expect("namespace").to_string();
    let object: DynamicObject = serde_json::from_value(object).expect("object");
    bridges(client, &ns).create(&PostParams::default(), &object).await.expect("create webhookbridge");
}

/// Poll the stored object until `check` holds (40 s at most).
pub async fn until(
    client: &kube::Client,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let object = get(client, ns, name).await;
        if check(object.as_ref()) {
            return object;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {ns}/{name}: {what}; last: {object:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn condition<'a>(object: Option<&'a Value>, type_: &str) -> Option<&'a Value> {
    object?["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

pub fn is(object: Option<&Value>, type_: &str, status: &str) -> bool {
    condition(object, type_).is_some_and(|c| c["status"] == status)
}

pub fn ready(o: Option<&Value>) -> bool {
    is(o, "Ready", "True") && o.is_some_and(|o| o["status"]["observedGeneration"] == o["metadata"]["generation"])
}

/// (type, reason, note) of the events.k8s.io Events about `name` in `ns`.
pub async fn events_for(client: &kube::Client, ns: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = api.list(&ListParams::default()).await.expect("list events");
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// Poll until an Event about `name` satisfies `check`.
pub async fn until_event(
    client: &kube::Client,
    ns: &str,
    name: &str,
    check: impl Fn(&(String, String, String)) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = events_for(client, ns, name).await;
        if events.iter().any(&check) {
            return;
        }
        assert!(Instant::now() < deadline, "no such Event for {ns}/{name}: {events:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// examples/orders.yaml as raw JSON, renamed, in `ns`, on bus `bus`.
pub fn orders_json(name: &str, ns: &str, bus: &str) -> Value {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("example");
    let mut v: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    v["metadata"] = json!({"name": name, "namespace": ns});
    v["spec"]["eventBus"]["name"] = json!(bus);
    v
}
