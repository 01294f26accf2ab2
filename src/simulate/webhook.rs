//! A webhook-source bridge tried offline: a request to one of its sources is verified as
//! EventBridge verifies it ([`crate::webhook::verify`]), and an accepted one becomes the event
//! the source puts on the Custom Event Bus ([`crate::webhook::event`]), run through the rules
//! (each target one subscriber). Secrets come from a value, a file, or a Kubernetes Secret
//! manifest the sources' `secretRef`s name; they are checked against AWS's value rules and never
//! printed.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::report::{self, Report};
use crate::api::WebhookBridge;
use crate::api::webhook::WebhookSourceSpec;
use crate::error::Error;
use crate::webhook::secret::{self, SecretValue};
use crate::webhook::verify::{self, Verdict};
use crate::webhook::{event, presets};

/// A request to a webhook source's URL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookRequest {
    /// The source's name (offline, each source's URL is `/<name>`).
    pub source: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why EventBridge does not put the request on the bus, and the status it answers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refused {
    pub status: u16,
    pub reason: String,
}

/// Where the secrets of a bridge's sources come from (the fixture's `secret:`, or the CLI's
/// `--secret-file` / `--secrets`).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSource {
    /// The value itself (test values only).
    #[serde(default)]
    pub value: Option<String>,
    /// A file holding the value (one trailing newline dropped, as editors add one).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// A Kubernetes Secret manifest (one or more documents, `data` or `stringData`): each source
    /// takes the key its `secretRef` names.
    #[serde(default)]
    pub manifest: Option<PathBuf>,
}

/// The value is never printed, not even in Debug output.
impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSource")
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("file", &self.file)
            .field("manifest", &self.manifest)
            .finish()
    }
}

impl SecretSource {
    /// Paths relative to `base` (the fixture's directory).
    pub fn relative_to(mut self, base: &Path) -> SecretSource {
        let join = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        self.file = self.file.map(join);
        self.manifest = self.manifest.map(join);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_none() && self.file.is_none() && self.manifest.is_none()
    }
}

/// The source named `name`, or a message listing the bridge's.
pub fn source<'a>(bridge: &'a WebhookBridge, name: &str) -> Result<&'a WebhookSourceSpec, String> {
    bridge.spec.webhook_sources.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = bridge.spec.webhook_sources.iter().map(|s| s.name.as_str()).collect();
        format!("no webhook source {name:?}; the bridge has {}", names.join(", "))
    })
}

/// The secret of `src` from `from`, checked against AWS's rules for its scheme. Messages name
/// the Secret and key, never the value.
pub fn secret_for(bridge: &WebhookBridge, src: &WebhookSourceSpec, from: &SecretSource) -> Result<SecretValue, Error> {
    let ns = bridge.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let (value, what) = if let Some(v) = &from.value {
        (SecretValue::new(v.clone()), "the given secret value".to_string())
    } else if let Some(file) = &from.file {
        let mut bytes =
            std::fs::read(file).map_err(|e| Error::Config(format!("secret file {}: {e}", file.display())))?;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let v = SecretValue::from_bytes(bytes)
            .map_err(|e| Error::Config(format!("secret file {}: {e}", file.display())))?;
        (v, format!("secret file {}", file.display()))
    } else if let Some(manifest) = &from.manifest {
        let Some(r) = &src.secret_ref else {
            return Err(Error::Config(format!(
                "webhook source {}: no secretRef (EventBridge generates its secret): give the value or a file instead of a Secret manifest",
                src.name
            )));
        };
        let v = from_manifest(manifest, &ns, &r.name, r.key())?;
        (v, format!("Secret {ns}/{} key {}", r.name, r.key()))
    } else {
        return Err(Error::Config(format!(
            "webhook source {}: no secret to verify with (give a value, a file, or a Secret manifest its secretRef names)",
            src.name
        )));
    };
    let scheme = presets::scheme(src).map_err(|m| Error::invalid(format!("webhook source {}", src.name), m))?;
    secret::check(&scheme, &value).map_err(|m| Error::invalid(format!("webhook source {}: {what}", src.name), m))?;
    Ok(value)
}

/// `key` of the Secret `name` (namespace `ns`, or none given) in a manifest file.
fn from_manifest(path: &Path, ns: &str, name: &str, key: &str) -> Result<SecretValue, Error> {
    let at = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", at())))?;
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|e| Error::Config(format!("{}: not valid YAML: {e}", at())))?;
    let doc = docs
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some("Secret"))
        .find(|d| {
            d.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && d.pointer("/metadata/namespace").and_then(Value::as_str).is_none_or(|n| n == ns)
        })
        .ok_or_else(|| Error::Config(format!("{}: no Secret {ns}/{name}", at())))?;
    if let Some(v) = doc.pointer(&format!("/stringData/{key}")).and_then(Value::as_str) {
        return Ok(SecretValue::new(v));
    }
    let encoded = doc
        .pointer(&format!("/data/{key}"))
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("{}: Secret {ns}/{name} has no key {key:?}", at())))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| Error::Config(format!("{}: Secret {ns}/{name} key {key:?}: data is not base64", at())))?;
    SecretValue::from_bytes(bytes).map_err(|e| Error::Config(format!("{}: Secret {ns}/{name} key {key:?}: {e}", at())))
}

/// "Now" as a fixture or flag gives it: Unix seconds, or RFC 3339.
pub fn parse_now(value: &str) -> Result<i64, String> {
    if let Ok(n) = value.trim().parse::<i64>() {
        return Ok(n);
    }
    value
        .trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| format!("{value:?}: expected Unix seconds or RFC 3339"))
}

/// The wall clock, in Unix seconds.
pub fn wall_clock() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Run one request through a webhook-source bridge at `now`. `secret`: the source's, from
/// [`secret_for`] (an error there is the caller's to report).
pub fn simulate(bridge: &WebhookBridge, req: &WebhookRequest, secret: &SecretValue, now: i64) -> Report {
    let region = bridge.spec.region.clone().unwrap_or_else(|| "us-east-1".into());
    let mut out = Report {
        request: format!("{} /{}", req.method, req.source),
        route: None,
        entry: None,
        error: None,
        event: None,
        given_event: false,
        rules: Vec::new(),
        source: None,
        refused: None,
        webhook: true,
    };
    let Ok(src) = source(bridge, &req.source) else {
        return out; // 404: no such URL
    };
    out.source = Some(src.name.clone());
    // Assumed (AWS documents POST requests only): any other method is refused.
    if !req.method.eq_ignore_ascii_case("POST") {
        out.refused = Some(Refused { status: 405, reason: "webhook sources take POST requests".into() });
        return out;
    }
    let scheme = match presets::scheme(src) {
        Ok(s) => s,
        Err(m) => {
            out.refused = Some(Refused { status: 500, reason: m });
            return out;
        }
    };
    match verify::verify(&scheme, secret, &req.headers, &req.body, now) {
        Verdict::Refused(r) => {
            out.refused = Some(Refused { status: r.status(), reason: r.to_string() });
            out
        }
        Verdict::Accepted => {
            let time = jiff::Timestamp::from_second(now)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
            let placeholders = event::Placeholders {
                event_id: report::EVENT_ID,
                account: report::ACCOUNT,
                region: &region,
                time: &time,
            };
            let ev = event::event(src, &src.name, &req.headers, &req.body, &placeholders);
            // The rules see Data (a DATA-scope filter) and targets get Data (Transformer RAW).
            out.rules = report::verdicts_on(bridge, &ev.data, &region, CUSTOM_BUS_PLACEHOLDER);
            out.event = serde_json::to_value(&ev).ok();
            out
        }
    }
}

/// The gateway's Custom Event Bus as the offline commands name it (a bridge file does not say).
pub const CUSTOM_BUS_PLACEHOLDER: &str = "custom-event-bus";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_secret_value_is_never_in_debug_output() {
        let s = SecretSource { value: Some("It's a Secret to Everybody".into()), ..Default::default() };
        assert!(!format!("{s:?}").contains("Secret to"), "{s:?}");
    }

    #[test]
    fn now_takes_seconds_or_rfc3339() {
        assert_eq!(parse_now("1767225600"), Ok(1_767_225_600));
        assert_eq!(parse_now("2026-01-01T00:00:00Z"), Ok(1_767_225_600));
        assert!(parse_now("yesterday").is_err());
    }
}
