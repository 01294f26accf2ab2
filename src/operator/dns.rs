//! `spec.domain.dnsEndpoint`: an external-dns `DNSEndpoint` (externaldns.k8s.io/v1alpha1) next to
//! the bridge, a CNAME from the custom domain to its regional API Gateway domain name, so
//! external-dns writes the record. Written only when the cluster serves that CRD; owned by the
//! bridge (owner reference), so Kubernetes' garbage collector removes it with the bridge.

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::api::{WebhookBridge, WebhookBridgeStatus};

pub const FIELD_MANAGER: &str = "webhook-bridge";

/// What became of the DNSEndpoint.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Not asked for (and none of ours left).
    NotWanted,
    /// Applied (created or already so).
    Applied,
    /// Asked for, but the domain's regional name is not known yet.
    Waiting,
    /// Asked for, but the cluster does not serve the DNSEndpoint CRD (external-dns not installed).
    NoCrd,
}

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("externaldns.k8s.io", "v1alpha1", "DNSEndpoint"),
        "dnsendpoints",
    )
}

/// The DNSEndpoint object for a bridge whose domain resolves to `target`.
pub fn object(bridge: &WebhookBridge, domain: &str, target: &str) -> Value {
    let owner = bridge.controller_owner_ref(&()).map(|r| json!([r])).unwrap_or_else(|| json!([]));
    json!({
        "apiVersion": "externaldns.k8s.io/v1alpha1",
        "kind": "DNSEndpoint",
        "metadata": {
            "name": bridge.name_any(),
            "namespace": bridge.namespace(),
            "labels": {"app.kubernetes.io/managed-by": "webhook-bridge"},
            "ownerReferences": owner,
        },
        "spec": {"endpoints": [{"dnsName": domain, "recordType": "CNAME", "recordTTL": 300, "targets": [target]}]},
    })
}

/// Make the DNSEndpoint match the spec: applied (server-side) when wanted and the target is
/// known, deleted when no longer wanted (only one this bridge owns).
pub async fn sync(
    client: &kube::Client,
    bridge: &WebhookBridge,
    status: &WebhookBridgeStatus,
) -> Result<Outcome, kube::Error> {
    let namespace = bridge.namespace().unwrap_or_else(|| "default".into());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource());
    let wanted = bridge.spec.domain.as_ref().filter(|d| d.dns_endpoint);
    let served = |e: &kube::Error| !matches!(e, kube::Error::Api(s) if s.code == 404);
    let Some(domain) = wanted else {
        // Only ours: an object of that name the bridge does not own is left alone.
        let name = bridge.name_any();
        return match api.get_opt(&name).await {
            Ok(Some(o)) if o.owner_references().iter().any(|r| Some(&r.uid) == bridge.meta().uid.as_ref()) => {
                api.delete(&name, &DeleteParams::default()).await?;
                Ok(Outcome::NotWanted)
            }
            Ok(_) => Ok(Outcome::NotWanted),
            Err(e) if !served(&e) => Ok(Outcome::NotWanted),
            Err(e) => Err(e),
        };
    };
    let Some(target) = status.domain.as_ref().and_then(|d| d.target_domain_name.as_deref()) else {
        return Ok(Outcome::Waiting);
    };
    let object = object(bridge, &domain.name, target);
    match api.patch(&bridge.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&object)).await {
        Ok(_) => Ok(Outcome::Applied),
        Err(e) if !served(&e) => Ok(Outcome::NoCrd),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_a_cname_to_the_regional_name_owned_by_the_bridge() {
        let mut b: WebhookBridge =
            serde_saphyr::from_str(include_str!("../../examples/production.yaml")).expect("example");
        b.metadata.uid = Some("u-1".into());
        let o = object(&b, "hooks.example.com", "d-abc.execute-api.us-east-1.amazonaws.com");
        assert_eq!(o["metadata"]["name"], "orders-prod");
        assert_eq!(o["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(o["metadata"]["ownerReferences"][0]["controller"], true);
        let e = &o["spec"]["endpoints"][0];
        assert_eq!((e["dnsName"].as_str(), e["recordType"].as_str()), (Some("hooks.example.com"), Some("CNAME")));
        assert_eq!(e["targets"][0], "d-abc.execute-api.us-east-1.amazonaws.com");
    }
}
