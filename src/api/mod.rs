//! The `webhookbridge.io/v1alpha1` `WebhookBridge` API.

pub mod gateway;
pub mod policy;
pub mod schema;
pub mod spec;
pub mod status;
pub mod webhook;

pub use gateway::{GatewayRef, WebhookBridgeGateway, WebhookBridgeGatewaySpec, WebhookBridgeGatewayStatus};
pub use policy::{WebhookBridgePolicy, WebhookBridgePolicySpec};
pub use spec::*;
pub use status::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use kube::CustomResourceExt;

/// The CRD as installed: generated from the Rust types, with descriptions reflowed into prose
/// (doc comments wrap at 100 columns; `kubectl explain` should not).
pub fn crd() -> CustomResourceDefinition {
    reflowed(WebhookBridge::crd())
}

/// The WebhookBridgePolicy CRD as installed.
pub fn policy_crd() -> CustomResourceDefinition {
    reflowed(WebhookBridgePolicy::crd())
}

fn reflowed(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        if let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) {
            reflow_descriptions(schema);
        }
    }
    crd
}

/// The WebhookBridgeGateway CRD as installed.
pub fn gateway_crd() -> CustomResourceDefinition {
    reflowed(WebhookBridgeGateway::crd())
}

/// The WebhookBridgeGateway CRD as YAML, exactly as committed in `crds/`.
pub fn gateway_crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(&gateway_crd()).map(|body| format!("---\n{body}"))
}

/// The CRD as YAML, exactly as committed in `crds/`.
pub fn crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(&crd()).map(|body| format!("---\n{body}"))
}

/// The WebhookBridgePolicy CRD as YAML, exactly as committed in `crds/`.
pub fn policy_crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(&policy_crd()).map(|body| format!("---\n{body}"))
}

fn reflow_descriptions(node: &mut JSONSchemaProps) {
    if let Some(text) = node.description.as_mut() {
        *text = reflow(text);
    }
    for child in node.properties.iter_mut().flat_map(|p| p.values_mut()) {
        reflow_descriptions(child);
    }
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
    };
    match node.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => reflow_descriptions(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(reflow_descriptions),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(extra)) = node.additional_properties.as_mut() {
        reflow_descriptions(extra);
    }
}

/// Join the lines of each paragraph with single spaces; paragraphs stay apart.
fn reflow(text: &str) -> String {
    text.split("\n\n")
        .map(|para| para.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflow_joins_wrapped_lines_and_keeps_paragraphs() {
        assert_eq!(reflow("one\ntwo\n\nthree\n  four"), "one two\n\nthree four");
        assert_eq!(reflow("single"), "single");
    }

    #[test]
    fn no_description_in_the_crd_has_a_hard_line_break() {
        let json = serde_json::to_value(crd()).unwrap_or_default();
        fn walk(v: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(d) = map.get("description").and_then(|d| d.as_str())
                        && d.replace("\n\n", "").contains('\n')
                    {
                        bad.push(format!("{path}: {d:?}"));
                    }
                    for (k, child) in map {
                        walk(child, &format!("{path}.{k}"), bad);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, path, bad)),
                _ => {}
            }
        }
        let mut bad = Vec::new();
        walk(&json, "crd", &mut bad);
        assert!(bad.is_empty(), "{bad:#?}");
    }
}
