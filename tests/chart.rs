//! The Helm chart: lints with the real Helm library (default values, every ci/ values file, and
//! typos that values.schema.json must reject), ships the CRD identical to crds/, and keeps the
//! pod locked down. Its RBAC is proven on a real kube-apiserver (tests/common/k8s.rs): the real
//! Helm library installs the chart, and the operator runs in-process as the chart's
//! ServiceAccount (a TokenRequest token), with exactly the permissions the chart grants it.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::k8s::Cluster;
use common::kube_wait::{condition, create, get, orders_json, ready, until, until_event};
use common::operator::{Operator, options};
use common::{Inventory, Moto, inventory};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::operator::{FINALIZER, LeaderElection, Options};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn chart_crds_are_identical_to_the_generated_ones() {
    for file in [
        "webhookbridges.webhookbridge.io.yaml",
        "webhookbridgepolicies.webhookbridge.io.yaml",
        "webhookbridgegateways.webhookbridge.io.yaml",
    ] {
        let top = std::fs::read_to_string(root().join("crds").join(file)).expect("crds/");
        let chart = std::fs::read_to_string(root().join("charts/webhook-bridge/crds").join(file)).expect("chart crds/");
        assert!(top == chart, "charts/webhook-bridge/crds/{file} differs from crds/: copy it over");
    }
}

#[test]
fn chart_iam_documents_are_identical_to_docs() {
    for file in [
        "iam-policy.json",
        "iam-policy-features.json",
        "iam-tenant-role-policy.json",
        "iam-tenant-role-policy-features.json",
        "iam-operator-assume-policy.json",
        "iam-permissions-boundary.json",
    ] {
        let docs = std::fs::read_to_string(root().join("docs").join(file)).expect("docs/");
        let chart =
            std::fs::read_to_string(root().join("charts/webhook-bridge/files").join(file)).expect("chart files/");
        assert!(docs == chart, "charts/webhook-bridge/files/{file} differs from docs/: copy it over");
    }
}

/// With `aws.accountId`, the chart renders every IAM document with the account and cluster
/// filled in: valid JSON, no placeholder left, the same statements as docs/.
fn assert_iam_documents_are_filled_in(release: &Release, account: &str, cluster: &str) {
    let maps = release.of_kind("ConfigMap");
    let data = &maps
        .iter()
        .find(|m| m["metadata"]["name"].as_str().is_some_and(|n| n.ends_with("-iam-policies")))
        .expect("the IAM ConfigMap")["data"];
    for (key, file) in [
        ("operator-policy.json", "iam-policy.json"),
        ("operator-features-policy.json", "iam-policy-features.json"),
        ("tenant-role-policy.json", "iam-tenant-role-policy.json"),
        ("tenant-role-features-policy.json", "iam-tenant-role-policy-features.json"),
        ("operator-assume-policy.json", "iam-operator-assume-policy.json"),
        ("permissions-boundary.json", "iam-permissions-boundary.json"),
    ] {
        let text = data[key].as_str().unwrap_or_else(|| panic!("{key} rendered"));
        assert!(!text.contains("ACCOUNT_ID") && !text.contains("CLUSTER"), "{key}: a placeholder is left");
        let rendered: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{key}: {e}"));
        let docs = std::fs::read_to_string(root().join("docs").join(file)).expect("docs/");
        let expected: Value =
            serde_json::from_str(&docs.replace("ACCOUNT_ID", account).replace("CLUSTER", cluster)).expect("docs JSON");
        assert_eq!(rendered, expected, "{key}");
    }
}

#[test]
fn helm_lint_with_every_values_file() {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "run ./scripts/test.sh: it installs helm-sdkpy into .venv");
    let out = Command::new(python).arg(root().join("scripts/helm_lint.py")).output().expect("run helm lint");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("helm lint default values: ok"), "{stdout}");
    assert!(stdout.contains("ci/namespaced-ha-values.yaml: ok"), "{stdout}");
    assert!(stdout.contains("with a misspelled key: rejected"), "{stdout}");
}

#[test]
fn the_pod_is_locked_down_and_probed() {
    let deployment =
        std::fs::read_to_string(root().join("charts/webhook-bridge/templates/deployment.yaml")).expect("read");
    for needle in [
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "drop: [\"ALL\"]",
        "type: RuntimeDefault",
        "path: /healthz",
        "path: /readyz",
        "resources:",
        "- run",
    ] {
        assert!(deployment.contains(needle), "deployment.yaml lacks `{needle}`");
    }
}

#[test]
fn rbac_grants_what_the_operator_uses_and_no_more() {
    let helpers = std::fs::read_to_string(root().join("charts/webhook-bridge/templates/_helpers.tpl")).expect("read");
    let rbac = std::fs::read_to_string(root().join("charts/webhook-bridge/templates/rbac.yaml")).expect("read");
    // The controller lists and watches; finalizers go by JSON patch, status by merge patch.
    assert!(helpers.contains("resources: [\"webhookbridges\"]\n  verbs: [\"list\", \"watch\", \"patch\"]"));
    assert!(helpers.contains("resources: [\"webhookbridges/status\"]\n  verbs: [\"patch\"]"));
    // The recorder (src/operator/events.rs) creates an Event, then patches it into a series when
    // it repeats.
    assert!(helpers.contains("resources: [\"events\"]\n  verbs: [\"create\", \"patch\"]"));
    // The lease manager creates its Lease (create cannot be limited to a name), then gets and
    // patches that one Lease only: the one deployment.yaml names with --lease-name.
    assert!(rbac.contains("resources: [\"leases\"]\n    verbs: [\"create\"]"));
    assert!(rbac.contains(
        "resources: [\"leases\"]\n    resourceNames: [\"{{ $fullname }}-leader\"]\n    verbs: [\"get\", \"patch\"]"
    ));
    let deployment =
        std::fs::read_to_string(root().join("charts/webhook-bridge/templates/deployment.yaml")).expect("read");
    assert!(deployment.contains("- --lease-name={{ include \"webhook-bridge.fullname\" . }}-leader"));
    // --install-crds: create (a missing CRD; it cannot be limited to a name), then get and patch
    // of our three CRDs only (src/operator/crds.rs applies the gateway CRD too).
    assert!(rbac.contains("resources: [\"customresourcedefinitions\"]\n    verbs: [\"create\"]"));
    assert!(rbac.contains("resources: [\"customresourcedefinitions\"]\n    resourceNames: [\"webhookbridges.webhookbridge.io\", \"webhookbridgepolicies.webhookbridge.io\", \"webhookbridgegateways.webhookbridge.io\"]\n    verbs: [\"get\", \"patch\"]"));
    // Gateways are reconciled like bridges: listed and watched, finalizers by JSON patch, status
    // by merge patch; and the namespace labels their allowedRoutes select by are read (list and
    // watch, cluster scoped) in single-tenant mode too, not only with the policies.
    assert!(helpers.contains("resources: [\"webhookbridgegateways\"]\n  verbs: [\"list\", \"watch\", \"patch\"]"));
    assert!(helpers.contains("resources: [\"webhookbridgegateways/status\"]\n  verbs: [\"patch\"]"));
    assert!(rbac.contains(
        "name: {{ $fullname }}-namespaces\n  labels:\n    {{- include \"webhook-bridge.labels\" . | nindent 4 }}\nrules:\n  - apiGroups: [\"\"]\n    resources: [\"namespaces\"]\n    verbs: [\"list\", \"watch\"]"
    ));
    // spec.domain.dnsEndpoint: the operator applies the external-dns DNSEndpoint next to a
    // bridge and deletes it when the spec stops asking (one it owns; see src/operator/dns.rs).
    let dns = "resources: [\"dnsendpoints\"]\n  verbs: [\"get\", \"create\", \"patch\", \"delete\"]";
    assert!(helpers.contains(dns));
    let helpers = helpers.replace(dns, "");
    // spec.webhookSources[].secretRef (issue #22): the Secret is read, Secrets' metadata
    // watched; nothing else on secrets (no create, patch or delete), nowhere else, and only
    // when webhookSources.secrets.enabled opts in.
    let secrets = "resources: [\"secrets\"]\n  verbs: [\"get\", \"list\", \"watch\"]";
    assert!(helpers.contains(secrets));
    let guarded = helpers.split("{{- if .Values.webhookSources.secrets.enabled }}").nth(1).unwrap_or_default();
    assert!(guarded.split("{{- end }}").next().is_some_and(|g| g.contains(secrets)), "the secrets rule is opt-in");
    assert_eq!(helpers.matches("secrets\"]").count(), 1, "one rule on secrets");
    let helpers = helpers.replace(secrets, "").replace("{{- if .Values.webhookSources.secrets.enabled }}", "");
    let (helpers, rbac) = (without_comments(&helpers), without_comments(&rbac));
    for forbidden in [
        "\"*\"",
        "secrets",
        "\"get\", \"list",
        "\"update\"",
        "\"delete\"",
        "webhookbridges/finalizers",
        "webhookbridgegateways/finalizers",
    ] {
        assert!(!helpers.contains(forbidden) && !rbac.contains(forbidden), "RBAC grants {forbidden}");
    }
}

/// Template text without its comments (`{{/* */}}` and YAML `#` lines).
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{/*") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        rest = tail.find("*/}}").map_or("", |end| &tail[end + 4..]);
    }
    out.push_str(rest);
    out.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n")
}

// ---- The chart's RBAC on a real kube-apiserver ----

/// A release of the chart: installed by the real Helm library, with what Helm rendered.
struct Release {
    namespace: String,
    objects: Vec<Value>,
}

impl Release {
    /// `helm install` of the chart (scripts/helm_render.py; helm-sdkpy renders only by installing)
    /// into the test apiserver, release named after its namespace (so its ClusterRole is unique).
    /// The Deployment is created too, and stays inert: no controller-manager, no kubelet.
    async fn install(cluster: &Cluster, namespace: &str, sets: &[String]) -> Release {
        let mut cmd = Command::new(root().join(".venv/bin/python"));
        cmd.arg(root().join("scripts/helm_render.py"));
        cmd.arg("--kubeconfig").arg(cluster.kubeconfig_path());
        cmd.args(["--namespace", namespace, "--release", namespace, "--json"]);
        for set in sets {
            cmd.args(["--set", set]);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run helm_render.py");
        assert!(out.status.success(), "helm install failed: {}", String::from_utf8_lossy(&out.stderr));
        let objects = serde_json::from_slice(&out.stdout).expect("helm_render.py --json prints a JSON array");
        Release { namespace: namespace.to_string(), objects }
    }

    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// (kind, namespace, name) of every RBAC object, sorted.
    fn rbac(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<_> = self
            .objects
            .iter()
            .filter(|o| o["apiVersion"] == "rbac.authorization.k8s.io/v1")
            .map(|o| {
                let s = |v: &Value| v.as_str().unwrap_or("").to_string();
                (s(&o["kind"]), s(&o["metadata"]["namespace"]), s(&o["metadata"]["name"]))
            })
            .collect();
        out.sort();
        out
    }

    fn pod_spec(&self) -> &Value {
        let deployments = self.of_kind("Deployment");
        assert_eq!(deployments.len(), 1, "one Deployment");
        &deployments[0]["spec"]["template"]["spec"]
    }

    /// The operator's command line, as the Deployment passes it.
    fn args(&self) -> Vec<String> {
        let args = self.pod_spec()["containers"][0]["args"].as_array().expect("args");
        args.iter().map(|a| a.as_str().expect("arg").to_string()).collect()
    }

    fn flag(&self, name: &str) -> Option<String> {
        self.args().iter().find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    /// The operator's options as the chart's Deployment configures it (with the tests' fast
    /// timing), for the pod `identity`. The Lease namespace is POD_NAMESPACE: the release's.
    fn options(&self, identity: &str) -> Options {
        let namespaces: Vec<String> =
            self.flag("--namespaces").map(|n| n.split(',').map(str::to_string).collect()).unwrap_or_default();
        let mut o = options(&namespaces.iter().map(String::as_str).collect::<Vec<_>>());
        o.label_selector = self.flag("--label-selector");
        o.multi_tenant = match self.flag("--tenancy").as_deref() {
            Some("multi") => true,
            Some("single") => false,
            other => panic!("--tenancy={other:?}"),
        };
        o.identity = identity.to_string();
        o.install_crds = self.args().iter().any(|a| a == "--install-crds");
        if self.args().iter().any(|a| a == "--leader-election") {
            let env = self.pod_spec()["containers"][0]["env"].as_array().expect("env");
            assert!(
                env.iter()
                    .any(|e| e["name"] == "POD_NAMESPACE"
                        && e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"),
                "--lease-namespace defaults to POD_NAMESPACE, the pod's namespace: {env:?}"
            );
            o.leader_election = Some(LeaderElection {
                lease_name: self.flag("--lease-name").expect("--lease-name"),
                namespace: self.namespace.clone(),
                identity: identity.to_string(),
                lease_seconds: 3,
            });
        }
        o
    }

    /// A client acting as the pod's ServiceAccount, with a token from the TokenRequest API.
    async fn service_account_client(&self, cluster: &Cluster) -> kube::Client {
        let name = self.pod_spec()["serviceAccountName"].as_str().expect("serviceAccountName").to_string();
        assert!(
            self.of_kind("ServiceAccount").iter().any(|sa| sa["metadata"]["name"] == name.as_str()),
            "the chart creates the pod's ServiceAccount {name}"
        );
        let accounts: Api<ServiceAccount> = Api::namespaced(cluster.client().await, &self.namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec { expiration_seconds: Some(3600), ..Default::default() },
            ..Default::default()
        };
        let token = accounts.create_token_request(&name, &PostParams::default(), &request).await.expect("TokenRequest");
        cluster.client_with_token(&token.status.expect("token").token).await
    }
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> bool {
    matches!(&result, Err(kube::Error::Api(e)) if e.code == 403)
}

/// examples/orders.yaml in `ns`, labelled for a label selector when one is given.
fn bridge(name: &str, ns: &str, bus: &str, label: Option<(&str, &str)>) -> Value {
    let mut object = orders_json(name, ns, bus);
    if let Some((k, v)) = label {
        object["metadata"]["labels"] = json!({ k: v });
    }
    object
}

/// Delete a bridge (as a user would): the operator cleans AWS, says so, and drops its finalizer.
async fn delete_until_gone(admin: &kube::Client, ns: &str, name: &str) {
    Api::<WebhookBridge>::namespaced(admin.clone(), ns).delete(name, &DeleteParams::default()).await.expect("delete");
    until(admin, ns, name, "finalizer removed and object gone", |o| o.is_none()).await;
    until_event(admin, ns, name, |(t, r, _)| t == "Normal" && r == "Deleted").await;
}

/// What the chart does not grant is refused to the SA: no GET, PUT, create or DELETE of a bridge.
async fn assert_no_other_verbs_on_bridges(admin: &kube::Client, sa: &kube::Client, ns: &str, name: &str) {
    let as_sa: Api<WebhookBridge> = Api::namespaced(sa.clone(), ns);
    let object = Api::<WebhookBridge>::namespaced(admin.clone(), ns).get(name).await.expect("get as admin");
    assert!(forbidden(as_sa.get(name).await), "the SA can GET a bridge");
    assert!(forbidden(as_sa.get_status(name).await), "the SA can GET a bridge's status");
    assert!(forbidden(as_sa.replace(name, &PostParams::default(), &object).await), "the SA can PUT a bridge");
    assert!(forbidden(as_sa.replace_status(name, &PostParams::default(), &object).await), "the SA can PUT status");
    assert!(forbidden(as_sa.delete(name, &DeleteParams::default()).await), "the SA can DELETE a bridge");
    assert!(forbidden(as_sa.create(&PostParams::default(), &object).await), "the SA can create a bridge");
}

/// Default values: a ClusterRole. The operator (label-selected, as the shared apiserver holds other
/// tests' bridges) watches all namespaces, retries with a repeated Warning Event (which the
/// recorder patches into a series), reaches Ready, and deletes cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_values_rbac_runs_the_operator_cluster_wide() {
    let cluster = require_cluster!();
    let release_ns = cluster.namespace("chart-all").await;
    let ns = cluster.namespace("chart-all-bridges").await;
    let selector = ("chart-test", release_ns.as_str());
    // Default tenancy: multi, with the permissive example policy (here selecting only this
    // test's namespace: the apiserver is shared).
    let release = Release::install(
        cluster,
        &release_ns,
        &[
            format!("operator.labelSelector=chart-test={release_ns}"),
            format!("tenancy.examplePolicy.namespaces={{{ns}}}"),
            "aws.accountId=\"123456789012\"".into(),
        ],
    )
    .await;
    assert_iam_documents_are_filled_in(&release, "123456789012", "default");
    // Secrets are opt-in (webhookSources.secrets.enabled): by default no grant on them at all.
    assert!(
        release.of_kind("ClusterRole").iter().chain(release.of_kind("Role").iter()).all(|o| o["rules"]
            .as_array()
            .is_none_or(|rules| rules.iter().all(|r| r["resources"] != serde_json::json!(["secrets"])))),
        "a default install grants nothing on secrets"
    );
    let full = format!("{release_ns}-webhook-bridge");
    let policies = format!("{full}-policies");
    assert_eq!(
        release.rbac(),
        vec![
            ("ClusterRole".into(), String::new(), full.clone()),
            ("ClusterRole".into(), String::new(), format!("{full}-crds")),
            ("ClusterRole".into(), String::new(), policies.clone()),
            ("ClusterRoleBinding".into(), String::new(), full.clone()),
            ("ClusterRoleBinding".into(), String::new(), format!("{full}-crds")),
            ("ClusterRoleBinding".into(), String::new(), policies),
        ],
        "one replica: no leader election, no Lease Role"
    );
    assert_eq!(release.of_kind("WebhookBridgePolicy").len(), 1, "the example policy");
    assert_eq!(release.flag("--tenancy").as_deref(), Some("multi"));
    let admin = cluster.client().await;
    let sa = release.service_account_client(cluster).await;
    let moto = Moto::start();
    let op = Operator::start(sa.clone(), &moto, release.options("pod-0")).await;
    assert!(*op.running.leading.borrow(), "no leader election with one replica");

    // No Lambda functions yet: the rule targets are missing, a retryable error, reported each try.
    create(&admin, bridge("orders", &ns, "chart-all-bus", Some(selector))).await;
    until(&admin, &ns, "orders", "Reconciling: DependencyMissing", |o| {
        condition(o, "Reconciling").is_some_and(|c| c["status"] == "True" && c["reason"] == "DependencyMissing")
            && o.is_some_and(|o| o["metadata"]["finalizers"] == json!([FINALIZER]))
    })
    .await;
    let events: Api<Event> = Api::namespaced(admin.clone(), &ns);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = events.list(&ListParams::default()).await.expect("events");
        let series = list.items.iter().find_map(|e| {
            (e.reason.as_deref() == Some("DependencyMissing")).then(|| e.series.as_ref().map(|s| s.count)).flatten()
        });
        if series.is_some_and(|count| count >= 2) {
            break;
        }
        let seen: Vec<_> = list.items.iter().map(|e| (&e.reason, e.series.as_ref().map(|s| s.count))).collect();
        assert!(Instant::now() < deadline, "the repeated Warning was never patched into a series: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let o = until(&admin, &ns, "orders", "Ready", ready).await.expect("object");
    assert_eq!(o["metadata"]["generation"], 1);
    until_event(&admin, &ns, "orders", |(t, r, _)| t == "Normal" && r == "Synced").await;
    assert_no_other_verbs_on_bridges(&admin, &sa, &ns, "orders").await;
    assert!(
        forbidden(Api::<Lease>::namespaced(sa.clone(), &release_ns).list(&ListParams::default()).await),
        "one replica: no Lease access"
    );

    delete_until_gone(&admin, &ns, "orders").await;
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default());
    op.shutdown().await;
}

/// `operator.namespaces`: a Role in each, no ClusterRole. The operator reconciles bridges there
/// and cannot even read any other namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_values_rbac_confines_the_operator_to_its_namespaces() {
    let cluster = require_cluster!();
    let release_ns = cluster.namespace("chart-ns").await;
    let (a, b) = (cluster.namespace("chart-ns-a").await, cluster.namespace("chart-ns-b").await);
    let other = cluster.namespace("chart-ns-other").await;
    let release = Release::install(
        cluster,
        &release_ns,
        &[
            format!("operator.namespaces={{{a},{b}}}"),
            format!("tenancy.examplePolicy.namespaces={{{a},{b}}}"),
            "webhookSources.secrets.enabled=true".into(),
        ],
    )
    .await;
    // The opted-in grant on secrets is in the namespaces' Roles only, never cluster-wide.
    let on_secrets = |o: &&Value| {
        o["rules"]
            .as_array()
            .is_some_and(|rules| rules.iter().any(|r| r["resources"] == serde_json::json!(["secrets"])))
    };
    let roles: Vec<&Value> = release.of_kind("Role").into_iter().filter(on_secrets).collect();
    assert_eq!(roles.len(), 2, "a secrets grant in each of operator.namespaces");
    assert!(!release.of_kind("ClusterRole").iter().any(on_secrets), "no cluster-wide secrets grant");
    let full = format!("{release_ns}-webhook-bridge");
    let policies = format!("{full}-policies");
    let mut expected: Vec<(String, String, String)> = [&a, &b]
        .iter()
        .flat_map(|ns| {
            [("Role".into(), ns.to_string(), full.clone()), ("RoleBinding".into(), ns.to_string(), full.clone())]
        })
        .chain([
            ("ClusterRole".into(), String::new(), policies.clone()),
            ("ClusterRoleBinding".into(), String::new(), policies.clone()),
            ("ClusterRole".into(), String::new(), format!("{full}-crds")),
            ("ClusterRoleBinding".into(), String::new(), format!("{full}-crds")),
        ])
        .collect();
    expected.sort();
    assert_eq!(release.rbac(), expected);
    let admin = cluster.client().await;
    let sa = release.service_account_client(cluster).await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let op = Operator::start(sa.clone(), &moto, release.options("pod-0")).await;

    create(&admin, bridge("a", &a, "bus-a", None)).await;
    create(&admin, bridge("b", &b, "bus-b", None)).await;
    create(&admin, bridge("c", &other, "bus-c", None)).await;
    until(&admin, &a, "a", "Ready", ready).await;
    until(&admin, &b, "b", "Ready", ready).await;
    until_event(&admin, &a, "a", |(t, r, _)| t == "Normal" && r == "Synced").await;
    assert_no_other_verbs_on_bridges(&admin, &sa, &a, "a").await;

    // Another namespace is out of reach: listing its bridges (or all bridges) is forbidden...
    let err = Api::<WebhookBridge>::namespaced(sa.clone(), &other).list(&ListParams::default()).await;
    match &err {
        Err(kube::Error::Api(e)) if e.code == 403 => {
            eprintln!("as the SA, list webhookbridges in {other}: {}", e.message)
        }
        _ => panic!("the SA can list WebhookBridges in {other}: {err:?}"),
    }
    assert!(forbidden(Api::<WebhookBridge>::all(sa.clone()).list(&ListParams::default()).await));
    assert!(forbidden(
        Api::<Event>::namespaced(sa.clone(), &other).create(&PostParams::default(), &Event::default()).await
    ));
    // ...and its bridge is untouched: no finalizer, no status, no AWS object.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = get(&admin, &other, "c").await.expect("c");
    assert!(c.get("status").is_none() && c["metadata"]["finalizers"].is_null(), "not ours: {c:#?}");
    assert_eq!(inventory(&moto.clients().await).await.buses, vec!["bus-a".to_string(), "bus-b".to_string()]);

    delete_until_gone(&admin, &a, "a").await;
    delete_until_gone(&admin, &b, "b").await;
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default());
    op.shutdown().await;
}

/// `replicaCount: 2`: leader election, with a Role on the one Lease the Deployment names. Two
/// operators as the SA: one creates and takes the Lease, the other stands by, and takes over
/// when the first releases it on shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_rbac_lets_the_operator_create_take_and_hand_over_its_lease() {
    let cluster = require_cluster!();
    let release_ns = cluster.namespace("chart-ha").await;
    let ns = cluster.namespace("chart-ha-bridges").await;
    let release = Release::install(
        cluster,
        &release_ns,
        &["replicaCount=2".into(), format!("operator.namespaces={{{ns}}}"), "tenancy.mode=single".into()],
    )
    .await;
    let full = format!("{release_ns}-webhook-bridge");
    assert!(release.of_kind("WebhookBridgePolicy").is_empty(), "single-tenant: no policy");
    let lease_name = release.flag("--lease-name").expect("--leader-election with --lease-name");
    assert_eq!(lease_name, format!("{full}-leader"));
    let election = format!("{full}-leader-election");
    let mut expected = vec![
        ("Role".to_string(), ns.clone(), full.clone()),
        ("RoleBinding".to_string(), ns.clone(), full.clone()),
        ("Role".to_string(), release_ns.clone(), election.clone()),
        ("RoleBinding".to_string(), release_ns.clone(), election.clone()),
        ("ClusterRole".to_string(), String::new(), format!("{full}-crds")),
        ("ClusterRoleBinding".to_string(), String::new(), format!("{full}-crds")),
        // Single-tenant mode: the namespace labels a gateway's allowedRoutes select by (in
        // multi-tenant mode the -policies ClusterRole grants them).
        ("ClusterRole".to_string(), String::new(), format!("{full}-namespaces")),
        ("ClusterRoleBinding".to_string(), String::new(), format!("{full}-namespaces")),
    ];
    expected.sort();
    assert_eq!(release.rbac(), expected);
    let role = release.of_kind("Role").into_iter().find(|r| r["metadata"]["name"] == election.as_str()).expect("role");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lease_name],
             "verbs": ["get", "patch"]},
        ])
    );

    let admin = cluster.client().await;
    let sa = release.service_account_client(cluster).await;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), &release_ns);
    assert!(leases.get_opt(&lease_name).await.expect("get lease").is_none(), "the operator creates its Lease");
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let one = Operator::start(sa.clone(), &moto, release.options("pod-0")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !*one.running.leading.borrow() {
        assert!(Instant::now() < deadline, "pod-0 never acquired the lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lease = leases.get(&lease_name).await.expect("the lease");
    assert_eq!(lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()), Some("pod-0"));
    let two = Operator::start(sa.clone(), &moto, release.options("pod-1")).await;

    create(&admin, bridge("orders", &ns, "chart-ha-bus", None)).await;
    until(&admin, &ns, "orders", "Ready", ready).await;
    assert!(*one.running.leading.borrow() && !*two.running.leading.borrow());
    assert!(one.engine.aws.counter.writes() > 0);
    assert_eq!(two.engine.aws.counter.reads() + two.engine.aws.counter.writes(), 0, "the standby makes no AWS call");

    // The Lease Role is that one Lease, get and patch only.
    let as_sa: Api<Lease> = Api::namespaced(sa.clone(), &release_ns);
    assert!(forbidden(as_sa.get("another-lease").await), "the SA can read another Lease");
    assert!(forbidden(as_sa.list(&ListParams::default()).await), "the SA can list Leases");
    assert!(forbidden(as_sa.replace(&lease_name, &PostParams::default(), &lease).await), "the SA can PUT its Lease");
    assert!(forbidden(as_sa.delete(&lease_name, &DeleteParams::default()).await), "the SA can delete its Lease");
    assert!(forbidden(Api::<Lease>::namespaced(sa.clone(), &ns).get(&lease_name).await), "Leases elsewhere");

    // pod-0 stops and releases the Lease (a patch); pod-1 takes it (a patch) and does the work.
    one.shutdown().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !*two.running.leading.borrow() {
        assert!(Instant::now() < deadline, "pod-1 never took over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lease = leases.get(&lease_name).await.expect("the lease");
    assert_eq!(lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()), Some("pod-1"));
    delete_until_gone(&admin, &ns, "orders").await;
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default());
    assert!(two.engine.aws.counter.writes() > 0, "pod-1 deleted the AWS objects");
    two.shutdown().await;
}

/// Issue #19: the chart's default policy selects only the release namespace (a fresh install
/// no longer lets every tenant make any Lambda invokable); every namespace is an explicit value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_policy_selects_only_the_release_namespace() {
    let cluster = require_cluster!();
    let release_ns = cluster.namespace("chart-default-policy").await;
    let release = Release::install(cluster, &release_ns, &[]).await;
    let policies = release.of_kind("WebhookBridgePolicy");
    assert_eq!(policies.len(), 1, "the starting policy");
    let p = policies[0];
    assert_eq!(p["metadata"]["name"], format!("{release_ns}-webhook-bridge-starter"));
    assert_eq!(
        p["spec"]["namespaceSelector"],
        serde_json::json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": [release_ns]}]}),
        "only the release namespace"
    );
    assert!(p["spec"].get("dnsEndpoints").is_none(), "no DNS records unless asked for");
    let values = std::fs::read_to_string(root().join("charts/webhook-bridge/values.yaml")).expect("values");
    assert!(values.contains("allNamespaces: false"), "every namespace is an explicit choice");
}
