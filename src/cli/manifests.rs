//! Reading manifest files: every document typed by its kind, admission rules applied; the one
//! bridge of a file for the offline commands; the warnings and names every command prints.

use std::path::Path;

use serde_json::Value;

use crate::admission;
use crate::api::WebhookBridge;
use crate::error::{Error, FieldError};

/// One document of a manifest file, by its kind, admitted.
#[derive(Debug)]
pub enum Document {
    Bridge(WebhookBridge),
}

/// Read every document of a YAML (or JSON) file (empty documents skipped), admission rules
/// applied; a document of a kind the CLI does not know is refused, naming it.
pub fn documents(path: &Path) -> Result<Vec<Document>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .map_err(|e| Error::Config(format!("{}: not valid YAML: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().filter(|d| !d.is_null()).enumerate() {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if kind != "WebhookBridge" || api_version != "webhookbridge.io/v1alpha1" {
            return Err(Error::InvalidSpec(vec![FieldError::new(
                format!("document {}", i + 1),
                format!(
                    "expected apiVersion webhookbridge.io/v1alpha1 and kind WebhookBridge, got {api_version:?} {kind:?}"
                ),
            )]));
        }
        out.push(Document::Bridge(admission::admit(&doc).map_err(Error::InvalidSpec)?));
    }
    Ok(out)
}

/// Read every WebhookBridge document of a YAML (or JSON) file, admission rules applied.
pub fn load(path: &Path) -> Result<Vec<WebhookBridge>, Error> {
    let mut bridges = Vec::new();
    for doc in documents(path)? {
        match doc {
            Document::Bridge(b) => bridges.push(b),
        }
    }
    if bridges.is_empty() {
        return Err(Error::Config(format!("{}: no WebhookBridge in the file", path.display())));
    }
    Ok(bridges)
}

/// The one bridge of a file (simulate, serve, test and replay take one), refused (exit 3) for
/// what `apply` would refuse without asking AWS: an invalid pattern is an error, not a rule
/// that never matches.
pub(super) fn one_bridge(file: &Path) -> Result<WebhookBridge, Error> {
    let mut bridges = load(file)?;
    let bridge = match bridges.len() {
        1 => bridges.remove(0),
        n => {
            return Err(Error::Config(format!(
                "{}: {n} WebhookBridges; this command takes a file with one",
                file.display()
            )));
        }
    };
    crate::validate::offline(&bridge)?;
    print_warnings(&bridge);
    Ok(bridge)
}

/// `validate::warnings`, on stderr: what AWS accepts but will not do as the spec suggests.
pub(super) fn print_warnings(bridge: &WebhookBridge) {
    for w in crate::validate::warnings(bridge) {
        eprintln!("{}: warning: {w}", bridge_name(bridge));
    }
}

/// `namespace/name` of a bridge, as every command prints it.
pub(super) fn bridge_name(bridge: &WebhookBridge) -> String {
    format!(
        "{}/{}",
        bridge.metadata.namespace.as_deref().unwrap_or("default"),
        bridge.metadata.name.as_deref().unwrap_or("")
    )
}
