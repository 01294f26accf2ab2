//! Reading manifest files: every document typed by its kind, admission rules applied; the one
//! bridge of a file for the offline commands; the warnings and names every command prints.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::admission;
use crate::api::{WebhookBridge, WebhookBridgeGateway};
use crate::error::{Error, FieldError};

/// One document of a manifest file, by its kind, admitted.
#[derive(Debug)]
pub enum Document {
    Bridge(WebhookBridge),
    Gateway(WebhookBridgeGateway),
}

/// Every document of the files a command was given, by kind, in file order.
#[derive(Debug, Default)]
pub struct Manifests {
    pub gateways: Vec<WebhookBridgeGateway>,
    pub bridges: Vec<WebhookBridge>,
}

/// The files behind `-f`: a file as given; a directory, its `*.yaml`, `*.yml` and `*.json`
/// files (not recursive), in name order.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| {
                    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Read every gateway and bridge of the files (and directories) given; none at all is an error.
pub fn load_all(paths: &[PathBuf]) -> Result<Manifests, Error> {
    let mut m = Manifests::default();
    for file in files(paths)? {
        for doc in documents(&file)? {
            match doc {
                Document::Bridge(b) => m.bridges.push(b),
                Document::Gateway(g) => m.gateways.push(g),
            }
        }
    }
    if m.bridges.is_empty() && m.gateways.is_empty() {
        let given: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::Config(format!("{}: no WebhookBridge or WebhookBridgeGateway", given.join(", "))));
    }
    Ok(m)
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
        let refused = || {
            Error::InvalidSpec(vec![FieldError::new(
                format!("document {}", i + 1),
                format!(
                    "expected apiVersion webhookbridge.io/v1alpha1 and kind WebhookBridge or WebhookBridgeGateway, got {api_version:?} {kind:?}"
                ),
            )])
        };
        if api_version != "webhookbridge.io/v1alpha1" {
            return Err(refused());
        }
        out.push(match kind {
            "WebhookBridge" => Document::Bridge(admission::admit(&doc).map_err(Error::InvalidSpec)?),
            "WebhookBridgeGateway" => {
                let named = |errors: Vec<FieldError>| {
                    let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                    Error::InvalidSpec(
                        errors
                            .into_iter()
                            .map(|e| FieldError::new(format!("WebhookBridgeGateway {name}: {}", e.field), e.message))
                            .collect(),
                    )
                };
                Document::Gateway(admission::admit_gateway(&doc).map_err(named)?)
            }
            _ => return Err(refused()),
        });
    }
    Ok(out)
}

/// Read every WebhookBridge document of a YAML (or JSON) file, admission rules applied (a
/// gateway in it is admitted, then left to the commands that take gateways).
pub fn load(path: &Path) -> Result<Vec<WebhookBridge>, Error> {
    let mut bridges = Vec::new();
    for doc in documents(path)? {
        match doc {
            Document::Bridge(b) => bridges.push(b),
            Document::Gateway(_) => {}
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

/// `namespace/name` of a gateway, as every command prints it.
pub(super) fn gateway_name(gw: &WebhookBridgeGateway) -> String {
    format!("{}/{}", gw.metadata.namespace.as_deref().unwrap_or("default"), gw.metadata.name.as_deref().unwrap_or(""))
}
