//! The event an accepted webhook request becomes on the Custom Event Bus, and how a bridge's
//! rules see it. **The one place this shape is assumed.**
//!
//! What AWS documents (EventBridge user guide, "Event structure: data, metadata, and system
//! metadata", eb-custom-bus-addressing): every event on a Custom Event Bus has three parts,
//! `Data` (the payload), `Metadata` and `SystemMetadata` (fields EventBridge assigns); a
//! subscriber's filters each have a scope `DATA`, `METADATA` or `SYSTEM_METADATA`. What the
//! model says of webhook sources (`WebhookEventsSourceConfiguration.MetadataHttpHeaders`): the
//! listed request headers are added to each event's metadata "under its lowercase name".
//!
//! Not documented, **assumed** here (and told to the emulator engineer the same way):
//! - `Data` is the request body: the parsed JSON when the body is JSON, else the body as a
//!   string (content type `application/octet-stream`, which DATA patterns do not match).
//! - `Metadata` holds exactly the metadata headers present on the request (the preset's, then
//!   `metadataHeaders`), each under its lowercase name, with its value as a string.
//! - `SystemMetadata` holds `id`, `time`, `source` (the event source ARN), `content-type`,
//!   `account` and `region`; values offline are placeholders.
//! - A bridge rule's `pattern` is one subscriber filter of scope `DATA`: it is matched against
//!   the body. (The engine also scopes each subscriber to this bridge's sources, so events of
//!   other bridges on the shared bus never match.)
//! - A matched target receives `Data` as is (subscriber Transformer `RAW`).

use serde::Serialize;
use serde_json::{Map, Value};

use super::presets;
use crate::api::webhook::WebhookSourceSpec;

/// One event on the Custom Event Bus.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebhookEvent {
    pub data: Value,
    pub metadata: Map<String, Value>,
    pub system_metadata: Map<String, Value>,
}

/// Where offline placeholders come from (only AWS knows the real values).
#[derive(Clone, Debug)]
pub struct Placeholders<'a> {
    pub event_id: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    /// RFC 3339.
    pub time: &'a str,
}

/// The headers whose values go into `Metadata`: the preset's, then the source's own, each once
/// (case-insensitively), in that order.
pub fn metadata_header_names(source: &WebhookSourceSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in presets::metadata_headers(source.provider)
        .iter()
        .map(|s| s.to_string())
        .chain(source.metadata_headers.iter().cloned())
    {
        if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    out
}

/// The webhook source's ARN offline: `event-sourcev2/webhook/<name>/<id>` with a placeholder id
/// of 25 lowercase letters and digits (the model's pattern).
pub fn source_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{account}:event-sourcev2/webhook/{name}/{}", "0".repeat(25))
}

/// The event an accepted request becomes.
pub fn event(
    source: &WebhookSourceSpec,
    source_name: &str,
    headers: &[(String, String)],
    body: &[u8],
    p: &Placeholders,
) -> WebhookEvent {
    let (data, content_type) = match serde_json::from_slice::<Value>(body) {
        Ok(v) => (v, "application/json"),
        Err(_) => (Value::String(String::from_utf8_lossy(body).into_owned()), "application/octet-stream"),
    };
    let mut metadata = Map::new();
    for name in metadata_header_names(source) {
        let values: Vec<&str> =
            headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| v.as_str()).collect();
        if !values.is_empty() {
            metadata.insert(name.to_ascii_lowercase(), Value::String(values.join(", ")));
        }
    }
    let mut system_metadata = Map::new();
    for (k, v) in [
        ("id", p.event_id.to_string()),
        ("time", p.time.to_string()),
        ("source", source_arn(p.region, p.account, source_name)),
        ("content-type", content_type.to_string()),
        ("account", p.account.to_string()),
        ("region", p.region.to_string()),
    ] {
        system_metadata.insert(k.to_string(), Value::String(v));
    }
    WebhookEvent { data, metadata, system_metadata }
}
