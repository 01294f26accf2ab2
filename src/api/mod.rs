//! The `webhookbridge.io/v1alpha1` `WebhookBridge` API.

pub mod schema;
pub mod spec;
pub mod status;

pub use spec::*;
pub use status::*;

use kube::CustomResourceExt;

/// The CRD as YAML, exactly as committed in `crds/`.
pub fn crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    let crd = WebhookBridge::crd();
    serde_saphyr::to_string(&crd).map(|body| format!("---\n{body}"))
}
