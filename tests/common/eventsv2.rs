//! The emulator's eventbridgev2 (scripts/aws_emulator/shims_eventsv2.py) from tests: raw Smithy
//! RPC v2 CBOR calls (aws-sdk-eventbridgev2 1.7.0 has no webhook event sources, no
//! RotateWebhookCredentials and no EventSourceDetails), plain HTTP to webhook URLs, and the
//! `/__eventsv2/...` test endpoints (eventsv2_webhooks.py).

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

use super::Moto;

// A small CBOR codec (RFC 8949: the definite-length items the protocol uses).

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

pub fn cbor_encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => head(out, 0, u),
            (_, Some(i), _) => head(out, 1, (-1 - i) as u64),
            (_, _, f) => {
                out.push(0xfb);
                out.extend(f.unwrap_or(0.0).to_be_bytes());
            }
        },
        Value::String(s) => {
            head(out, 3, s.len() as u64);
            out.extend(s.as_bytes());
        }
        Value::Array(a) => {
            head(out, 4, a.len() as u64);
            a.iter().for_each(|x| cbor_encode(x, out));
        }
        Value::Object(m) => {
            head(out, 5, m.len() as u64);
            for (k, x) in m {
                cbor_encode(&Value::String(k.clone()), out);
                cbor_encode(x, out);
            }
        }
    }
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let s = b.get(*pos..*pos + n).ok_or("truncated CBOR")?;
    *pos += n;
    Ok(s)
}

/// One CBOR item as JSON (timestamps, tag 1, as their epoch seconds).
pub fn cbor_decode(b: &[u8], pos: &mut usize) -> Result<Value, String> {
    let first = take(b, pos, 1)?[0];
    let (major, info) = (first >> 5, first & 31);
    let arg = |pos: &mut usize| -> Result<u64, String> {
        Ok(match info {
            0..=23 => info as u64,
            24 => take(b, pos, 1)?[0] as u64,
            25 => u16::from_be_bytes(take(b, pos, 2)?.try_into().map_err(|_| "u16")?) as u64,
            26 => u32::from_be_bytes(take(b, pos, 4)?.try_into().map_err(|_| "u32")?) as u64,
            27 => u64::from_be_bytes(take(b, pos, 8)?.try_into().map_err(|_| "u64")?),
            _ => return Err(format!("unsupported CBOR length {info}")),
        })
    };
    Ok(match major {
        0 => json!(arg(pos)?),
        1 => json!(-1 - arg(pos)? as i64),
        2 | 3 => {
            let n = arg(pos)? as usize;
            Value::String(String::from_utf8_lossy(take(b, pos, n)?).into_owned())
        }
        4 => Value::Array((0..arg(pos)?).map(|_| cbor_decode(b, pos)).collect::<Result<_, _>>()?),
        5 => {
            let mut m = serde_json::Map::new();
            for _ in 0..arg(pos)? {
                let k = cbor_decode(b, pos)?;
                m.insert(k.as_str().ok_or("a non-string map key")?.to_string(), cbor_decode(b, pos)?);
            }
            Value::Object(m)
        }
        6 => {
            arg(pos)?;
            cbor_decode(b, pos)?
        }
        _ => match info {
            20 => json!(false),
            21 => json!(true),
            22 | 23 => Value::Null,
            26 => json!(f32::from_be_bytes(take(b, pos, 4)?.try_into().map_err(|_| "f32")?)),
            27 => json!(f64::from_be_bytes(take(b, pos, 8)?.try_into().map_err(|_| "f64")?)),
            _ => return Err(format!("unsupported CBOR simple value {info}")),
        },
    })
}

/// One HTTP/1.1 request to `url` (http://host:port/path): status, headers (lowercased) and body.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (addr, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(addr).expect("connect the emulator");
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write the body");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let text = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string())))
        .collect();
    (status, headers, buf[split + 4..].to_vec())
}

/// A raw rpc-v2-cbor call (for what aws-sdk-eventbridgev2 1.7 cannot send: webhook event
/// sources, RotateWebhookCredentials, WebhookDetails): status and the answer as JSON, after
/// checking the protocol's answer headers.
pub fn cbor_call(moto: &Moto, op: &str, input: &Value) -> (u16, Value) {
    let mut body = Vec::new();
    cbor_encode(input, &mut body);
    let url = format!("{}/service/AWSEventsV2/operation/{op}", moto.endpoint);
    let auth =
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0";
    let (status, headers, answer) = http(
        "POST",
        &url,
        &[
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Type", "application/cbor"),
            ("Accept", "application/cbor"),
            ("Authorization", auth),
        ],
        &body,
    );
    let header = |k: &str| headers.iter().find(|(h, _)| h == k).map(|(_, v)| v.as_str());
    assert_eq!(header("smithy-protocol"), Some("rpc-v2-cbor"), "{op}: the answer names its protocol");
    assert_eq!(header("content-type"), Some("application/cbor"), "{op}");
    let doc = cbor_decode(&answer, &mut 0).expect("a CBOR answer");
    (status, doc)
}

/// `__type`'s shape name (the SDK strips the namespace before `#` the same way).
pub fn code(doc: &Value) -> &str {
    doc["__type"].as_str().and_then(|t| t.rsplit('#').next()).unwrap_or("<none>")
}

impl Moto {
    fn eventsv2_json(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = self.emulator_call(method, path, body);
        assert!(status / 100 == 2, "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// What Secrets Manager would hold for a webhook source's `SecretArn`: `{"Type", "SecretValue",
    /// "Username"?}` (EventBridge never answers it).
    pub fn webhook_secret(&self, secret_arn: &str) -> Value {
        self.eventsv2_json("GET", &format!("/__eventsv2/secret?arn={secret_arn}"), None)
    }

    /// Every webhook request so far: `{"time", "webhookId", "eventSourceArn", "status", "accepted",
    /// "reason", "eventId"?}`.
    pub fn webhook_log(&self) -> Vec<Value> {
        self.eventsv2_json("GET", "/__eventsv2/webhook-log", None).as_array().cloned().unwrap_or_default()
    }

    /// Every delivery to a subscriber's target so far: `{"time", "subscriberArn", "targetArn",
    /// "eventId", "body", "status": delivered | failed | recorded, "detail"}`.
    pub fn eventsv2_deliveries(&self) -> Vec<Value> {
        self.eventsv2_json("GET", "/__eventsv2/deliveries", None).as_array().cloned().unwrap_or_default()
    }

    /// `{"transition_reads": n, "transition_ms": n|null}`: how long CREATING / UPDATING / DELETING
    /// last (eventsv2_store.py); the keys given change. The settings after the change.
    pub fn eventsv2_settings(&self, settings: &Value) -> Value {
        self.eventsv2_json("POST", "/__eventsv2/settings", Some(settings))
    }
}
