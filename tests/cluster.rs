//! Against a real cluster (kind, k3d, EKS...): install the CRD, run the operator in-process with
//! the local AWS emulator, apply a bridge, wait for Ready, delete it. Skipped unless KUBECONFIG
//! is set. See README "Testing on a real cluster".

mod common;

use std::time::{Duration, Instant};

use common::Moto;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use webhook_bridge::api::{READY, WebhookBridge};
use webhook_bridge::operator::{self, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_becomes_ready_and_goes_away_on_a_real_cluster() {
    if std::env::var_os("KUBECONFIG").is_none() {
        eprintln!("skipped: set KUBECONFIG to run against a real cluster");
        return;
    }
    let client = kube::Client::try_default().await.expect("KUBECONFIG client");

    // Install (or update) the CRD exactly as committed, and wait until it is served.
    let crd: CustomResourceDefinition = serde_saphyr::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridges.webhookbridge.io.yaml"))
            .expect("crd"),
    )
    .expect("crd yaml");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "webhookbridges.webhookbridge.io",
        &PatchParams::apply("webhook-bridge-test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .expect("the CRD installs");
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(crds, "webhookbridges.webhookbridge.io", conditions::is_crd_established()),
    )
    .await
    .expect("CRD established in time")
    .expect("watch");

    let namespace = format!("whb-e2e-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).expect("ns");
    namespaces.create(&PostParams::default(), &ns).await.expect("namespace");

    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine("e2e-cluster").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = Options { namespaces: vec![namespace.clone()], ..Options::default() };
    let run_client = client.clone();
    let task = tokio::spawn(async move {
        operator::serve(
            run_client,
            engine,
            options,
            async move {
                let _ = stopped.await;
            },
            None,
        )
        .await
        .expect("operator");
    });

    let bridges: Api<WebhookBridge> = Api::namespaced(client.clone(), &namespace);
    let mut bridge = common::example("orders.yaml");
    bridge.metadata.namespace = Some(namespace.clone());
    bridges.create(&PostParams::default(), &bridge).await.expect("create");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let b = bridges.get("orders").await.expect("get");
        let ready = b.status.as_ref().is_some_and(|s| {
            s.observed_generation == b.metadata.generation
                && s.conditions.iter().any(|c| c.type_ == READY && c.status == "True")
        });
        if ready {
            assert!(b.status.and_then(|s| s.routes.first().and_then(|r| r.url.clone())).is_some());
            break;
        }
        assert!(Instant::now() < deadline, "not Ready: {:?}", b.status);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    bridges.delete("orders", &DeleteParams::default()).await.expect("delete");
    let deadline = Instant::now() + Duration::from_secs(120);
    while bridges.get_opt("orders").await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "the finalizer was not removed");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(common::inventory(&moto.clients().await).await, common::Inventory::default());
    let _ = stop.send(());
    let _ = task.await;
    let _ = namespaces.delete(&namespace, &DeleteParams::default()).await;
}
