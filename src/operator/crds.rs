//! `--install-crds`: the operator brings the cluster's CRDs to its own version at start, by
//! server-side apply. Helm installs a chart's `crds/` on first install and never upgrades them,
//! so without this every chart upgrade that adds or changes a CRD (the WebhookBridgePolicy CRD
//! arrived that way) leaves the cluster with the old ones.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use tracing::{info, warn};

/// The field manager of our applies (`kubectl get crd -o yaml --show-managed-fields` shows it).
pub const FIELD_MANAGER: &str = "webhook-bridge-crds";

/// Apply every CRD and wait (up to 30 s) until they are Established. An apiserver that refuses
/// (RBAC without the chart's `-crds` ClusterRole, an admission policy) is logged with what to do;
/// the operator goes on, and says on each bridge what is missing.
pub async fn install(client: &kube::Client) -> bool {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut ok = true;
    for crd in [crate::api::crd(), crate::api::policy_crd(), crate::api::gateway_crd()] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        match api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd)).await {
            Ok(_) => info!(crd = %name, "CRD applied (--install-crds)"),
            Err(e) => {
                warn!(crd = %name, error = %e, "--install-crds: could not apply the CRD; grant the chart's -crds ClusterRole, or apply crds/ yourself (`kubectl apply --server-side -f charts/webhook-bridge/crds/`)");
                ok = false;
                continue;
            }
        }
        let mut established = false;
        for _ in 0..60 {
            if let Ok(c) = api.get(&name).await
                && c.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            {
                established = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !established {
            warn!(crd = %name, "--install-crds: the CRD is not Established after 30 s");
            ok = false;
        }
    }
    ok
}
