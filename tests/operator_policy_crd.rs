//! Issue #20 item 10, on the real apiserver with the real Helm library: a cluster installed with
//! the chart as it was before the WebhookBridgePolicy CRD existed (from git history), upgraded
//! by Helm (which never upgrades `crds/`), has no policy CRD. The operator must not stop
//! silently: `/readyz` says why and each bridge gets a `PolicyCrdMissing` condition naming the
//! CRD and how to install it (no finalizer, no AWS call). The chart's upgrade path: the upgrade
//! itself succeeds, the new operator applies its CRDs (`--install-crds`, as the chart's
//! ServiceAccount), the next upgrade creates the starting policy, and the bridge reconciles.
//! (This binary has its own apiserver: it deletes the policy CRD the harness installed.)

mod common;

use std::time::Duration;

use common::Moto;
use common::kube_wait::{condition, create, orders_json, ready, until};
use common::operator::{Operator, options};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::Value;
use webhook_bridge::api::WebhookBridge;

/// The last commit whose chart had no WebhookBridgePolicy CRD (its child, 8ecab5f, added it).
const CHART_BEFORE_POLICIES: &str = "8ecab5f^";

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `helm install` (or `upgrade`) of `chart` as release `ns` in `ns`; the objects Helm rendered.
fn helm(
    cluster: &common::k8s::Cluster,
    chart: &std::path::Path,
    ns: &str,
    upgrade: bool,
    sets: &[String],
) -> Vec<Value> {
    let mut cmd = std::process::Command::new(root().join(".venv/bin/python"));
    cmd.arg(root().join("scripts/helm_render.py")).arg("--kubeconfig").arg(cluster.kubeconfig_path());
    cmd.args(["--namespace", ns, "--release", ns, "--json", "--chart"]).arg(chart);
    if upgrade {
        cmd.arg("--upgrade");
    }
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.output().expect("run helm_render.py");
    assert!(out.status.success(), "helm failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON array")
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

const POLICY_CRD: &str = "webhookbridgepolicies.webhookbridge.io";
const GATEWAY_CRD: &str = "webhookbridgegateways.webhookbridge.io";

async fn readyz(op: &Operator) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = op.running.metrics_addr.expect("metrics addr");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_policy_crd_is_said_plainly_and_bridges_go_on_once_it_is_installed() {
    let cluster = require_cluster!();
    let admin = cluster.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let policy_crd = crds.get(POLICY_CRD).await.expect("the harness installed it");
    // That chart had no gateway CRD either (issue #21 added it).
    for name in [POLICY_CRD, GATEWAY_CRD] {
        crds.delete(name, &DeleteParams::default()).await.expect("delete the CRD");
        let mut gone = false;
        for _ in 0..100 {
            if crds.get_opt(name).await.expect("get").is_none() {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(gone, "{name} did not go");
    }

    let ns = cluster.namespace("upgrade").await;
    let release_ns = cluster.namespace("upgrade-release").await;
    // The chart as it was, from git history, installed with its crds/ (Helm skips the existing
    // WebhookBridge CRD, as on a real cluster).
    let old = common::TempDir::new("old-chart");
    let archive = std::process::Command::new("git")
        .current_dir(root())
        .args(["archive", "--format=tar", CHART_BEFORE_POLICIES, "charts/webhook-bridge"])
        .output()
        .expect("git archive");
    assert!(archive.status.success(), "git history is needed: {}", String::from_utf8_lossy(&archive.stderr));
    let mut untar = std::process::Command::new("tar")
        .args(["-x", "-C"])
        .arg(old.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("tar");
    std::io::Write::write_all(untar.stdin.as_mut().expect("stdin"), &archive.stdout).expect("untar");
    assert!(untar.wait().expect("tar").success());
    let old_chart = old.path().join("charts/webhook-bridge");
    assert!(
        !old_chart.join("crds/webhookbridgepolicies.webhookbridge.io.yaml").exists(),
        "the old chart has no policy CRD"
    );
    let installed = tokio::task::block_in_place(|| helm(cluster, &old_chart, &release_ns, false, &[]));
    assert!(!of_kind(&installed, "Deployment").is_empty());

    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let seeded = moto.fault_stats()["committed_writes"].clone();
    // The new operator without --install-crds: it says what is missing, plainly.
    let mut opts = options(&[&ns]);
    opts.multi_tenant = true;
    let op = Operator::start(admin.clone(), &moto, opts).await;
    create(&admin, orders_json("orders", &ns, "upgrade-bus")).await;

    let o = until(&admin, &ns, "orders", "Reconciling: PolicyCrdMissing", |o| {
        condition(o, "Reconciling").is_some_and(|c| c["status"] == "True" && c["reason"] == "PolicyCrdMissing")
    })
    .await;
    let message = condition(o.as_ref(), "Reconciling").and_then(|c| c["message"].as_str()).unwrap_or_default();
    assert!(message.contains(POLICY_CRD) && message.contains("kubectl apply --server-side -f"), "{message}");
    let bridges: Api<WebhookBridge> = Api::namespaced(admin.clone(), &ns);
    let b = bridges.get("orders").await.expect("bridge");
    assert!(b.metadata.finalizers.unwrap_or_default().is_empty(), "no finalizer before a policy allows it");
    let probe = readyz(&op).await;
    assert!(probe.starts_with("HTTP/1.1 503") && probe.contains(POLICY_CRD), "{probe}");
    assert_eq!(moto.fault_stats()["committed_writes"], seeded, "nothing in AWS");

    op.shutdown().await;

    // helm upgrade to this chart: it succeeds (the starting policy waits for its CRD) ...
    let sets = [format!("tenancy.examplePolicy.namespaces={{{ns}}}"), format!("operator.namespaces={{{ns}}}")];
    let upgraded =
        tokio::task::block_in_place(|| helm(cluster, &root().join("charts/webhook-bridge"), &release_ns, true, &sets));
    assert!(of_kind(&upgraded, "WebhookBridgePolicy").is_empty(), "no policy before its CRD");
    let deployment = of_kind(&upgraded, "Deployment")[0];
    let args: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--install-crds") && args.contains(&"--tenancy=multi"), "{args:?}");
    // ... the new operator, as the chart's ServiceAccount, applies its CRDs at start ...
    let sa_name = deployment["spec"]["template"]["spec"]["serviceAccountName"].as_str().expect("sa").to_string();
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), &release_ns);
    let request = TokenRequest {
        spec: TokenRequestSpec { expiration_seconds: Some(3600), ..Default::default() },
        ..Default::default()
    };
    let token = accounts.create_token_request(&sa_name, &PostParams::default(), &request).await.expect("token");
    let sa = cluster.client_with_token(&token.status.expect("token").token).await;
    let mut opts = options(&[&ns]);
    opts.multi_tenant = true;
    opts.install_crds = true;
    let op = Operator::start(sa, &moto, opts).await;
    let crd = crds.get(POLICY_CRD).await.expect("the operator applied the policy CRD");
    assert!(
        crd.metadata
            .managed_fields
            .unwrap_or_default()
            .iter()
            .any(|m| m.manager.as_deref() == Some("webhook-bridge-crds")),
        "applied by the operator"
    );
    let gateway_crd = crds.get(GATEWAY_CRD).await.expect("the operator applied the gateway CRD");
    assert!(
        gateway_crd
            .metadata
            .managed_fields
            .unwrap_or_default()
            .iter()
            .any(|m| m.manager.as_deref() == Some("webhook-bridge-crds")),
        "the gateway CRD applied by the operator"
    );
    until(&admin, &ns, "orders", "NoPolicy: the CRD is served, no policy yet", |o| {
        condition(o, "Stalled").is_some_and(|c| c["status"] == "True" && c["reason"] == "NoPolicy")
    })
    .await;
    // ... and the next upgrade creates the starting policy: the bridge reconciles.
    let again =
        tokio::task::block_in_place(|| helm(cluster, &root().join("charts/webhook-bridge"), &release_ns, true, &sets));
    assert_eq!(of_kind(&again, "WebhookBridgePolicy").len(), 1, "the starting policy");
    until(&admin, &ns, "orders", "Ready once the CRD and a policy are there", ready).await;
    assert!(readyz(&op).await.starts_with("HTTP/1.1 200"));
    assert_eq!(policy_crd.metadata.name.as_deref(), Some(POLICY_CRD));
    bridges.delete("orders", &DeleteParams::default()).await.expect("delete");
    until(&admin, &ns, "orders", "gone", |o| o.is_none()).await;
    op.shutdown().await;
}
