//! The test API server behaves as a real apiserver does where the operator depends on it,
//! checked through the real kube client.

mod common;

use std::time::Duration;

use common::apiserver::ApiServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use webhook_bridge::api::WebhookBridge;

fn bridge(name: &str) -> WebhookBridge {
    let mut b = common::example("orders.yaml");
    b.metadata.name = Some(name.into());
    b
}

#[tokio::test]
async fn resource_versions_conflicts_and_generation() {
    let server = ApiServer::start().await;
    let api: Api<WebhookBridge> = Api::namespaced(server.client(), "default");
    let created = api.create(&PostParams::default(), &bridge("a")).await.expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    let err = api.create(&PostParams::default(), &bridge("a")).await.expect_err("exists");
    assert!(matches!(err, kube::Error::Api(e) if e.code == 409 && e.reason == "AlreadyExists"));

    // A label change bumps the resourceVersion, not the generation.
    let labelled = api
        .patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"team": "x"}}})))
        .await
        .expect("label");
    assert_eq!(labelled.metadata.generation, Some(1));
    assert_ne!(labelled.metadata.resource_version, created.metadata.resource_version);

    // A replace with a stale resourceVersion is a conflict.
    let mut stale = created.clone();
    stale.spec.api.stage = Some("prod".into());
    let err = api.replace("a", &PostParams::default(), &stale).await.expect_err("stale");
    assert!(matches!(err, kube::Error::Api(e) if e.code == 409 && e.reason == "Conflict"));

    // A spec change bumps the generation.
    let mut fresh = labelled.clone();
    fresh.spec.api.stage = Some("prod".into());
    let replaced = api.replace("a", &PostParams::default(), &fresh).await.expect("replace");
    assert_eq!(replaced.metadata.generation, Some(2));
}

#[tokio::test]
async fn status_is_a_subresource_and_spec_is_validated() {
    let server = ApiServer::start().await;
    let api: Api<WebhookBridge> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &bridge("a")).await.expect("create");

    // Status through the main resource is ignored; through /status it lands, without a new generation.
    let ignored = api
        .patch("a", &PatchParams::default(), &Patch::Merge(json!({"status": {"endpoint": "https://x"}})))
        .await
        .expect("main");
    assert!(ignored.status.is_none());
    let written = api
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"endpoint": "https://x"}, "spec": {"region": "eu-west-1"}})),
        )
        .await
        .expect("status");
    assert_eq!(written.status.and_then(|s| s.endpoint).as_deref(), Some("https://x"));
    assert_eq!(written.spec.region.as_deref(), Some("us-east-1"), "spec is not written through /status");
    assert_eq!(written.metadata.generation, Some(1));

    // The CRD schema and CEL rules are enforced.
    let err = api
        .patch("a", &PatchParams::default(), &Patch::Merge(json!({"spec": {"routes": [{"name": "x", "method": "FETCH", "path": "/x", "event": {"source": "s", "detailType": "d"}}]}})))
        .await
        .expect_err("invalid method");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 422 && e.message.contains("spec.routes[0].method")),
        "{err}"
    );
    let err = api
        .patch("a", &PatchParams::default(), &Patch::Merge(json!({"spec": {"eventBus": {"name": "default"}}})))
        .await
        .expect_err("reserved bus name");
    assert!(matches!(&err, kube::Error::Api(e) if e.code == 422 && e.message.contains("reserved by AWS")), "{err}");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_the_last_one_goes() {
    let server = ApiServer::start().await;
    let api: Api<WebhookBridge> = Api::namespaced(server.client(), "default");
    let mut b = bridge("a");
    b.metadata.finalizers = Some(vec!["webhookbridge.io/cleanup".into()]);
    api.create(&PostParams::default(), &b).await.expect("create");
    api.delete("a", &DeleteParams::default()).await.expect("delete");
    let held = api.get("a").await.expect("still there");
    assert!(held.metadata.deletion_timestamp.is_some());
    assert_eq!(held.metadata.generation, Some(2), "deletion bumps the generation");

    // A JSON patch whose test fails changes nothing.
    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "other"}, {"op": "remove", "path": "/metadata/finalizers/0"}]))
            .expect("patch");
    assert!(api.patch("a", &PatchParams::default(), &Patch::Json::<()>(bad)).await.is_err());
    assert!(api.get_opt("a").await.expect("get").is_some());

    let good: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "webhookbridge.io/cleanup"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]))
    .expect("patch");
    api.patch("a", &PatchParams::default(), &Patch::Json::<()>(good)).await.expect("remove finalizer");
    assert!(api.get_opt("a").await.expect("get").is_none(), "gone with its last finalizer");
}

#[tokio::test]
async fn watch_resumes_from_a_version_sends_bookmarks_and_410s_when_compacted() {
    let server = ApiServer::start().await;
    let api: Api<WebhookBridge> = Api::namespaced(server.client(), "default");
    let first = api.create(&PostParams::default(), &bridge("a")).await.expect("a");
    let rv = first.metadata.resource_version.clone().expect("rv");
    api.create(&PostParams::default(), &bridge("b")).await.expect("b");

    // From a's version: b's ADDED, then bookmarks.
    let mut stream = api.watch(&WatchParams::default().timeout(5), &rv).await.expect("watch").boxed();
    let mut added = Vec::new();
    let mut bookmark = false;
    while let Some(event) =
        tokio::time::timeout(Duration::from_secs(3), stream.try_next()).await.ok().and_then(|e| e.ok()).flatten()
    {
        match event {
            WatchEvent::Added(o) => added.push(o.metadata.name.unwrap_or_default()),
            WatchEvent::Bookmark(_) => {
                bookmark = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, ["b"]);
    assert!(bookmark, "bookmarks are sent when asked for");

    // After compaction, resuming from the old version is 410 Gone.
    server.compact();
    let mut stream = api.watch(&WatchParams::default(), &rv).await.expect("watch").boxed();
    match stream.try_next().await {
        Ok(Some(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }

    // kube's watcher recovers from it by listing again.
    let names: Vec<String> = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .take(2)
        .map_ok(|o| o.metadata.name.unwrap_or_default())
        .try_collect()
        .await
        .expect("watcher");
    assert_eq!(names.len(), 2);
}

#[tokio::test]
async fn server_side_apply_refuses_a_field_another_manager_owns() {
    let server = ApiServer::start().await;
    let leases: Api<Lease> = Api::namespaced(server.client(), "ops");
    let take =
        |who: &str| json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": {"holderIdentity": who}});
    leases.patch("l", &PatchParams::apply("one"), &Patch::Apply(take("one"))).await.expect("one takes it");
    let err = leases.patch("l", &PatchParams::apply("two"), &Patch::Apply(take("two"))).await.expect_err("two cannot");
    assert!(matches!(err, kube::Error::Api(e) if e.code == 409 && e.reason == "Conflict"));
    // Once released (an update clearing the field), two may take it.
    leases
        .patch("l", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"holderIdentity": null}})))
        .await
        .expect("release");
    leases.patch("l", &PatchParams::apply("two"), &Patch::Apply(take("two"))).await.expect("two takes it");
    let lease = leases.get("l").await.expect("get");
    assert_eq!(lease.spec.and_then(|s| s.holder_identity).as_deref(), Some("two"));
}
