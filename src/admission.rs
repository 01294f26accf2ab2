//! What the apiserver checks at admission, run client-side: the generated CRD's OpenAPI schema
//! (types, patterns, lengths, enums) and its CEL rules. The CLI gets the same answers as
//! `kubectl apply`, and the engine never sends to AWS a spec an older CRD let through. Each CRD
//! kind the CLI reads ([`Kind`]) has its own schema and rules, compiled once.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{self, WebhookBridge, WebhookBridgeGateway};
use crate::error::FieldError;

/// The CRD an object is admitted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bridge,
    Gateway,
}

/// A CRD's schema, its compiled validator and its CEL rules.
struct Compiled {
    schema: Value,
    validator: Option<jsonschema::Validator>,
    rules: kube::core::cel::CompiledSchema,
}

fn compile(
    crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> Compiled {
    let schema = crd.spec.versions[0].schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref());
    let schema = serde_json::to_value(schema).unwrap_or(Value::Null);
    let validator = jsonschema::validator_for(&schema).ok();
    let rules = kube::core::cel::compile_schema(&schema);
    Compiled { schema, validator, rules }
}

fn compiled(kind: Kind) -> &'static Compiled {
    static BRIDGE: OnceLock<Compiled> = OnceLock::new();
    static GATEWAY: OnceLock<Compiled> = OnceLock::new();
    match kind {
        Kind::Bridge => BRIDGE.get_or_init(|| compile(api::crd())),
        Kind::Gateway => GATEWAY.get_or_init(|| compile(api::gateway_crd())),
    }
}

/// `/spec/routes/0/path` → `spec.routes[0].path`.
pub fn field_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// Remove `null` members, as the apiserver prunes them from nullable fields before validating.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Check a raw object (as the user wrote it) against the WebhookBridge CRD's OpenAPI schema.
pub fn check_schema(object: &Value) -> Vec<FieldError> {
    check_schema_of(Kind::Bridge, object)
}

/// Check a raw object (as the user wrote it) against the OpenAPI schema of `kind`'s CRD.
pub fn check_schema_of(kind: Kind, object: &Value) -> Vec<FieldError> {
    let compiled = compiled(kind);
    let Some(validator) = compiled.validator.as_ref() else {
        return vec![FieldError::new("spec", "the generated CRD schema does not compile (a bug)")];
    };
    let mut object = without_nulls(object);
    // The schema describes spec and status; metadata is the apiserver's business.
    if let Some(map) = object.as_object_mut() {
        map.remove("metadata");
        map.remove("apiVersion");
        map.remove("kind");
    }
    let mut errors: Vec<FieldError> = validator
        .iter_errors(&object)
        .map(|e| {
            let field = field_path(e.instance_path().as_str());
            FieldError::new(if field.is_empty() { "spec".to_string() } else { field }, e.to_string())
        })
        .collect();
    check_list_map_keys(&compiled.schema, &object, "", &mut errors);
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    errors
}

/// `x-kubernetes-list-type: map` lists: no two items may share their `x-kubernetes-list-map-keys`
/// values (the apiserver answers `Duplicate value` naming the later item; JSON Schema cannot say it).
fn check_list_map_keys(schema: &Value, value: &Value, pointer: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let sub = schema["properties"].get(key).or_else(|| schema.get("additionalProperties"));
                if let Some(sub) = sub.filter(|s| s.is_object()) {
                    check_list_map_keys(sub, child, &format!("{pointer}/{key}"), errors);
                }
            }
        }
        Value::Array(items) => {
            let keys: Vec<&str> = match (&schema["x-kubernetes-list-type"], &schema["x-kubernetes-list-map-keys"]) {
                (Value::String(t), Value::Array(keys)) if t == "map" => keys.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let mut seen = std::collections::HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let at = format!("{pointer}/{i}");
                if !keys.is_empty() {
                    let id: serde_json::Map<String, Value> =
                        keys.iter().map(|k| (k.to_string(), item.get(*k).cloned().unwrap_or(Value::Null))).collect();
                    let id = Value::Object(id);
                    if !seen.insert(id.to_string()) {
                        errors.push(FieldError::new(
                            field_path(&at),
                            format!("Duplicate value: {id} (the list's keys {} must be unique)", keys.join(" + ")),
                        ));
                    }
                }
                check_list_map_keys(&schema["items"], item, &at, errors);
            }
        }
        _ => {}
    }
}

/// Check a parsed (defaulted) bridge against the WebhookBridge CRD's CEL rules (compiled once:
/// this runs on every reconcile).
pub fn check_cel(bridge: &WebhookBridge) -> Vec<FieldError> {
    check_cel_of(Kind::Bridge, bridge)
}

/// Check a parsed (defaulted) object against the CEL rules of `kind`'s CRD.
pub fn check_cel_of(kind: Kind, parsed: &impl serde::Serialize) -> Vec<FieldError> {
    let object = match serde_json::to_value(parsed) {
        Ok(v) => v,
        Err(e) => return vec![FieldError::new("spec", e.to_string())],
    };
    match kube::core::cel::validate_compiled(&compiled(kind).rules, &object, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_vec()
            .into_iter()
            .map(|e| {
                let field = if e.field_path.is_empty() { "spec".to_string() } else { e.field_path };
                FieldError::new(field, e.message)
            })
            .collect(),
    }
}

/// Parse a raw object into a WebhookBridge, with every admission rule applied: schema first (for
/// messages naming the field), then serde (defaults), then CEL.
pub fn admit(object: &Value) -> Result<WebhookBridge, Vec<FieldError>> {
    admit_as(Kind::Bridge, object)
}

/// [`admit`] for a WebhookBridgeGateway, against the gateway CRD.
pub fn admit_gateway(object: &Value) -> Result<WebhookBridgeGateway, Vec<FieldError>> {
    admit_as(Kind::Gateway, object)
}

/// Parse a raw object of `kind`: schema, then serde, then CEL.
fn admit_as<T: DeserializeOwned + serde::Serialize>(kind: Kind, object: &Value) -> Result<T, Vec<FieldError>> {
    let errors = check_schema_of(kind, object);
    if !errors.is_empty() {
        return Err(errors);
    }
    let parsed: T = serde_json::from_value(object.clone()).map_err(|e| vec![FieldError::new("spec", e.to_string())])?;
    let errors = check_cel_of(kind, &parsed);
    if errors.is_empty() { Ok(parsed) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_becomes_field_path() {
        assert_eq!(field_path("/spec/routes/0/path"), "spec.routes[0].path");
        assert_eq!(field_path("/spec/tags/a~1b"), "spec.tags.a/b");
        assert_eq!(field_path(""), "");
    }
}
