//! The Helm chart: lints with the real Helm library (default values, every ci/ values file, and
//! typos that values.schema.json must reject), ships the CRD identical to crds/, and keeps the
//! pod locked down.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn chart_crd_is_identical_to_the_generated_one() {
    let top = std::fs::read_to_string(root().join("crds/webhookbridges.webhookbridge.io.yaml")).expect("crds/");
    let chart = std::fs::read_to_string(root().join("charts/webhook-bridge/crds/webhookbridges.webhookbridge.io.yaml"))
        .expect("chart crds/");
    assert!(top == chart, "charts/webhook-bridge/crds/ differs from crds/: copy it over");
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
    assert!(
        helpers.contains(
            "resources: [\"webhookbridges\"]\n  verbs: [\"get\", \"list\", \"watch\", \"patch\", \"update\"]"
        )
    );
    assert!(helpers.contains("resources: [\"webhookbridges/status\"]\n  verbs: [\"get\", \"patch\", \"update\"]"));
    assert!(helpers.contains("resources: [\"webhookbridges/finalizers\"]\n  verbs: [\"update\"]"));
    assert!(helpers.contains("resources: [\"events\"]\n  verbs: [\"create\", \"patch\"]"));
    assert!(rbac.contains("resources: [\"leases\"]\n    verbs: [\"get\", \"create\", \"update\", \"patch\"]"));
    for forbidden in ["\"*\"", "secrets", "delete\""] {
        assert!(!helpers.contains(forbidden) && !rbac.contains(forbidden), "RBAC grants {forbidden}");
    }
}
