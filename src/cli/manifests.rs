//! Reading manifest files: every document typed by its kind, admission rules applied; the one
//! bridge of a file for the offline commands; the warnings and names every command prints.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::admission;
use crate::api::{WebhookBridge, WebhookBridgeGateway};
use crate::desired_webhook::{SecretValue, StaticSecrets};
use crate::error::{Error, FieldError};

/// One document of a manifest file, by its kind, admitted.
#[derive(Debug)]
pub enum Document {
    Bridge(WebhookBridge),
    Gateway(WebhookBridgeGateway),
    /// A Kubernetes Secret (`v1`, `data` and `stringData`), for webhook sources' `secretRef`:
    /// (namespace, name) and its keys. Its values are never printed.
    Secret((String, String), std::collections::BTreeMap<String, SecretValue>),
}

/// Every document of the files a command was given, by kind, in file order.
#[derive(Debug, Default)]
pub struct Manifests {
    pub gateways: Vec<WebhookBridgeGateway>,
    pub bridges: Vec<WebhookBridge>,
    /// The Secrets of the files (webhook sources' credentials).
    pub secrets: StaticSecrets,
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
                Document::Secret(key, data) => {
                    m.secrets.0.insert(key, data);
                }
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
        if api_version == "v1" && kind == "Secret" {
            out.push(secret(&doc, i)?);
            continue;
        }
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

/// A Secret manifest: `data` (base64) and `stringData` (which wins, as the apiserver merges it).
/// Errors name the Secret and the key, never a value.
fn secret(doc: &Value, i: usize) -> Result<Document, Error> {
    let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let namespace = doc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let bad = |key: &str, why: &str| {
        Error::InvalidSpec(vec![FieldError::new(
            format!("document {} (Secret {namespace}/{name})", i + 1),
            format!("{key}: {why}"),
        )])
    };
    if name.is_empty() {
        return Err(bad("metadata.name", "is required"));
    }
    let mut keys = std::collections::BTreeMap::new();
    for (key, value) in doc.get("data").and_then(Value::as_object).into_iter().flatten() {
        let text = value.as_str().ok_or_else(|| bad(&format!("data.{key}"), "is not a string"))?;
        let bytes = base64_decode(text).ok_or_else(|| bad(&format!("data.{key}"), "is not base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| bad(&format!("data.{key}"), "is not UTF-8 text"))?;
        keys.insert(key.clone(), SecretValue::from_secret_data(text));
    }
    for (key, value) in doc.get("stringData").and_then(Value::as_object).into_iter().flatten() {
        let text = value.as_str().ok_or_else(|| bad(&format!("stringData.{key}"), "is not a string"))?;
        keys.insert(key.clone(), SecretValue::from_secret_data(text.to_string()));
    }
    Ok(Document::Secret((namespace, name), keys))
}

/// Standard base64 (RFC 4648, padding optional, whitespace ignored), as Secret `data` holds it.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Read every WebhookBridge document of a YAML (or JSON) file, admission rules applied (a
/// gateway in it is admitted, then left to the commands that take gateways).
pub fn load(path: &Path) -> Result<Vec<WebhookBridge>, Error> {
    let mut bridges = Vec::new();
    for doc in documents(path)? {
        match doc {
            Document::Bridge(b) => bridges.push(b),
            Document::Gateway(_) | Document::Secret(..) => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_manifests_decode_data_and_string_data_and_never_echo_a_value() {
        assert_eq!(base64_decode("SXQncyBhIFNlY3JldA==").as_deref(), Some(&b"It's a Secret"[..]));
        let doc: Value = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "gh", "namespace": "platform"},
            "data": {"secret": "SXQncyBhIFNlY3JldA=="}, "stringData": {"other": "plain"}});
        let Ok(Document::Secret(key, keys)) = secret(&doc, 0) else { panic!("a Secret") };
        assert_eq!(key, ("platform".to_string(), "gh".to_string()));
        assert_eq!(keys.get("secret").map(SecretValue::expose), Some("It's a Secret"));
        assert_eq!(keys.get("other").map(SecretValue::expose), Some("plain"));
        let bad = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gh"},
            "data": {"secret": "not*base64!hunter2"}});
        let err = secret(&bad, 0).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("data.secret") && !err.contains("hunter2"), "{err}");
    }
}
