//! An outdated CRD, said loudly. Helm installs `crds/` once and never upgrades them, so after a
//! chart upgrade the cluster may serve an older schema than this operator's: the apiserver then
//! refuses (or silently prunes) fields it does not know, such as a bridge's `webhookSources` or a
//! gateway's `customEventBus`, and nothing in the operator would notice.
//!
//! At start (and every few minutes) the operator reads the schemas the apiserver publishes
//! (OpenAPI v3 discovery, `/openapi/v3/apis/webhookbridge.io/v1alpha1`: readable by every
//! authenticated client, so no RBAC on CustomResourceDefinitions is needed) and compares them
//! with the CRDs it was built with. What is missing is logged as an error naming the fields and
//! the fix, and counted in `webhook_bridge_crd_missing_fields{crd}`.

use std::collections::BTreeSet;

use serde_json::Value;
use tracing::{error, info, warn};

/// The fix, named in every report.
pub const UPGRADE: &str = "Helm installs crds/ only on first install and never upgrades them: run `kubectl apply --server-side -f charts/webhook-bridge/crds/` (or `webhook-bridge crd | kubectl apply --server-side -f -`, and `crd policy`, `crd gateway`), or run the operator with --install-crds";

/// One of our CRDs whose served schema lacks fields this operator's has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outdated {
    pub crd: String,
    /// The topmost missing field paths (`spec.webhookSources`), sorted.
    pub missing: Vec<String>,
}

impl std::fmt::Display for Outdated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CRD {} is older than this operator: the apiserver's schema has no {}; objects using them are refused or have them pruned. {UPGRADE}",
            self.crd,
            self.missing.join(", ")
        )
    }
}

/// The field paths of `ours` (an OpenAPI v3 schema) that `served` lacks, topmost only: under a
/// missing field nothing more is listed. `metadata` is the apiserver's own.
pub fn missing_fields(ours: &Value, served: &Value) -> Vec<String> {
    let mut out = BTreeSet::new();
    walk(ours, served, "", &mut out);
    out.into_iter().collect()
}

fn walk(ours: &Value, served: &Value, at: &str, out: &mut BTreeSet<String>) {
    if let Some(props) = ours.get("properties").and_then(Value::as_object) {
        for (name, schema) in props {
            if at.is_empty() && (name == "metadata" || name == "apiVersion" || name == "kind") {
                continue;
            }
            let path = if at.is_empty() { name.clone() } else { format!("{at}.{name}") };
            match served.get("properties").and_then(|p| p.get(name)) {
                Some(theirs) => walk(schema, theirs, &path, out),
                None => {
                    out.insert(path);
                }
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let (Some(o), Some(s)) = (ours.get(key), served.get(key))
            && o.is_object()
        {
            let path = if key == "items" { format!("{at}[]") } else { format!("{at}{{}}") };
            walk(o, s, &path, out);
        }
    }
}

/// Our CRDs as (name, `group/version`, kind, the schema of each served version).
fn ours() -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    for crd in [crate::api::crd(), crate::api::policy_crd(), crate::api::gateway_crd()] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        for v in crd.spec.versions.iter().filter(|v| v.served) {
            let schema = v
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or(Value::Null);
            out.push((name.clone(), format!("{}/{}", crd.spec.group, v.name), crd.spec.names.kind.clone(), schema));
        }
    }
    out
}

/// The schema the apiserver publishes for `kind` of `group_version`, from an OpenAPI v3
/// document (`components.schemas`, keyed by the reversed group: `io.webhookbridge.v1alpha1.X`).
pub fn served_schema<'a>(document: &'a Value, group_version: &str, kind: &str) -> Option<&'a Value> {
    let (group, version) = group_version.split_once('/')?;
    let reversed: Vec<&str> = group.split('.').rev().collect();
    let key = format!("{}.{version}.{kind}", reversed.join("."));
    document.get("components")?.get("schemas")?.get(key)
}

/// Compare what the apiserver serves with our CRDs. `Err`: the documents could not be read (the
/// check is skipped, said at debug level by the caller). A CRD not served at all is not listed
/// here: the operator's watches say that already.
pub async fn check(client: &kube::Client) -> Result<Vec<Outdated>, kube::Error> {
    let mut documents: std::collections::BTreeMap<String, Value> = Default::default();
    let mut found = Vec::new();
    for (crd, group_version, kind, schema) in ours() {
        if !documents.contains_key(&group_version) {
            let request = http::Request::get(format!("/openapi/v3/apis/{group_version}"))
                .body(Vec::new())
                .map_err(kube::Error::HttpError)?;
            let document: Value = match client.request(request).await {
                Ok(d) => d,
                // Not served at all (no CRD of this group): nothing to compare.
                Err(kube::Error::Api(s)) if s.code == 404 => Value::Null,
                Err(e) => return Err(e),
            };
            documents.insert(group_version.clone(), document);
        }
        let Some(served) = documents.get(&group_version).and_then(|d| served_schema(d, &group_version, &kind)) else {
            continue;
        };
        let missing = missing_fields(&schema, served);
        if !missing.is_empty() {
            found.push(Outdated { crd: crd.clone(), missing });
        }
    }
    Ok(found)
}

/// Check now and every `every`, logging what changed; `report` gets each result.
pub async fn watch(client: kube::Client, every: std::time::Duration, report: impl Fn(&[Outdated]) + Send) {
    let mut last: Option<Vec<Outdated>> = None;
    loop {
        match check(&client).await {
            Ok(found) => {
                if last.as_ref() != Some(&found) {
                    for o in &found {
                        error!("{o}");
                    }
                    if found.is_empty() && last.as_ref().is_some_and(|l| !l.is_empty()) {
                        info!("the served CRDs now have every field this operator uses");
                    }
                    report(&found);
                    last = Some(found);
                }
            }
            Err(e) => warn!(error = %e, "could not read the served CRD schemas (/openapi/v3) to check them"),
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_served_schema_without_a_new_field_names_it_and_only_the_topmost() {
        let ours = json!({"properties": {
            "metadata": {"type": "object"},
            "spec": {"properties": {
                "routes": {"items": {"properties": {"name": {}, "path": {}}}},
                "webhookSources": {"items": {"properties": {"preset": {}, "secretRef": {"properties": {"name": {}}}}}},
                "labels": {"additionalProperties": {"properties": {"x": {}}}}
            }},
            "status": {"properties": {"webhookSources": {}, "conditions": {}}}
        }});
        let served = json!({"properties": {
            "metadata": {"$ref": "#/components/schemas/ObjectMeta"},
            "spec": {"properties": {
                "routes": {"items": {"properties": {"name": {}}}},
                "labels": {"additionalProperties": {"properties": {}}}
            }},
            "status": {"properties": {"conditions": {}}}
        }});
        assert_eq!(
            missing_fields(&ours, &served),
            ["spec.labels{}.x", "spec.routes[].path", "spec.webhookSources", "status.webhookSources"]
        );
        assert!(missing_fields(&ours, &ours).is_empty(), "the same schema lacks nothing");
    }

    #[test]
    fn the_published_schema_is_found_by_its_reversed_group() {
        let doc = json!({"components": {"schemas": {"io.webhookbridge.v1alpha1.WebhookBridge": {"type": "object"}}}});
        assert!(served_schema(&doc, "webhookbridge.io/v1alpha1", "WebhookBridge").is_some());
        assert!(served_schema(&doc, "webhookbridge.io/v1alpha1", "WebhookBridgeGateway").is_none());
    }

    #[test]
    fn our_crds_lack_nothing_against_themselves() {
        for (crd, _, _, schema) in ours() {
            assert!(schema.get("properties").is_some(), "{crd} has a schema");
            assert!(missing_fields(&schema, &schema).is_empty());
        }
    }
}
