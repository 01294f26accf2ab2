//! `webhook-bridge simulate`, `serve` and `test`: a bridge tried on requests before it is live.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::report::{self, Report};
use super::request::{Request, percent_decode};
use crate::api::WebhookBridge;
use crate::error::Error;

/// A request given on the command line: `--body @file`, `--body -` (stdin) or the text itself.
pub fn read_body(arg: Option<&str>) -> Result<String, Error> {
    match arg {
        None => Ok(String::new()),
        Some("-") => std::io::read_to_string(std::io::stdin()).map_err(|e| Error::Config(format!("--body -: {e}"))),
        Some(a) if a.starts_with('@') => {
            std::fs::read_to_string(&a[1..]).map_err(|e| Error::Config(format!("--body {a}: {e}")))
        }
        Some(text) => Ok(text.to_string()),
    }
}

/// The event of `--event`: `@file`, `-` (stdin) or the JSON itself, checked as TestEventPattern
/// checks its `Event` (a JSON object with [`report::EVENT_FIELDS`]).
pub fn read_event(arg: &str) -> Result<Value, Error> {
    let text = read_body(Some(arg)).map_err(|e| Error::Config(e.to_string().replace("--body", "--event")))?;
    let event: Value =
        serde_json::from_str(&text).map_err(|e| Error::Config(format!("--event {arg}: not JSON: {e}")))?;
    check_event(&event).map_err(|m| Error::Config(format!("--event {arg}: {m}")))?;
    Ok(event)
}

/// The event of `--event` for a webhook-source bridge: its `Data` as the subscribers' filters
/// see it (any JSON; `crate::webhook::event`), not a classic event.
pub fn read_data(arg: &str) -> Result<Value, Error> {
    let text = read_body(Some(arg)).map_err(|e| Error::Config(e.to_string().replace("--body", "--event")))?;
    serde_json::from_str(&text).map_err(|e| Error::Config(format!("--event {arg}: not JSON: {e}")))
}

/// What TestEventPattern refuses with "Parameter Event is not valid.".
pub fn check_event(event: &Value) -> Result<(), String> {
    let Value::Object(map) = event else {
        return Err("Parameter Event is not valid: an event is a JSON object (AWS's TestEventPattern answer)".into());
    };
    let missing: Vec<&str> = report::EVENT_FIELDS.iter().copied().filter(|f| !map.contains_key(*f)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "Parameter Event is not valid: it lacks {} (TestEventPattern requires {})",
            missing.join(", "),
            report::EVENT_FIELDS.join(", ")
        ));
    }
    Ok(())
}

/// `K:V` pairs (headers) or `k=v` pairs (query), as given.
pub fn pairs(items: &[String], sep: char, flag: &str) -> Result<Vec<(String, String)>, Error> {
    items
        .iter()
        .map(|item| {
            item.split_once(sep)
                .map(|(k, v)| (k.trim().to_string(), v.trim_start().to_string()))
                .ok_or_else(|| Error::Config(format!("{flag} {item:?}: expected NAME{sep}VALUE")))
        })
        .collect()
}

/// The request for `--route NAME` (its method and path, parameters left as written) or
/// `--method`/`--path`.
pub fn request_for(
    bridge: &WebhookBridge,
    route: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
) -> Result<(String, String), Error> {
    if let Some(name) = route {
        let r = bridge.spec.routes.iter().find(|r| r.name == name).ok_or_else(|| {
            let names: Vec<&str> = bridge.spec.routes.iter().map(|r| r.name.as_str()).collect();
            Error::Config(format!("--route {name}: no such route; the bridge has {}", names.join(", ")))
        })?;
        return Ok((method.unwrap_or(r.method.as_str()).to_string(), path.unwrap_or(&r.path).to_string()));
    }
    match (method, path) {
        (Some(m), Some(p)) => Ok((m.to_uppercase(), p.to_string())),
        _ => Err(Error::Config("give --route NAME, or --method and --path".into())),
    }
}

/// Print one simulation; the exit status says whether the request reached EventBridge.
pub fn print(report: &Report, json: bool) -> bool {
    if json {
        println!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
    } else {
        print!("{}", report::render(report));
    }
    report.status() == 200
}

// ---- serve ----

/// A request as `serve` hands it on: method, path, query, headers (lossy UTF-8) and body.
struct Incoming {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: bytes::Bytes,
}

/// The one HTTP/1 server of `serve` and `serve_webhooks`: every request to `handle`, its
/// (status, JSON body) answered with `Content-Type: application/json`.
async fn listen<H, F>(listener: tokio::net::TcpListener, handle: H) -> Result<(), Error>
where
    H: Fn(Incoming) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = (u16, String)> + Send,
{
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let handle = handle.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let incoming = Incoming {
                        method: parts.method.as_str().to_string(),
                        path: parts.uri.path().to_string(),
                        query: parts.uri.query().map(str::to_string),
                        headers: parts
                            .headers
                            .iter()
                            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect(),
                        body,
                    };
                    let (status, answer) = handle(incoming).await;
                    let mut response = hyper::Response::new(Full::new(Bytes::from(answer)));
                    *response.status_mut() =
                        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                    if let Ok(v) = "application/json".parse() {
                        response.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Serve the bridge's routes on `addr`: each request is simulated and logged in one line, and
/// answered as API Gateway would (200 with a PutEvents-style body, 404, 500). With `forward`,
/// each entry is also sent to the bus with PutEvents (moto or AWS, from the environment).
pub async fn serve(
    bridge: WebhookBridge,
    addr: SocketAddr,
    forward: Option<aws_sdk_eventbridge::Client>,
) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Error::Config(format!("--port: {e}")))?;
    let bound = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    let routes: Vec<String> = bridge.spec.routes.iter().map(|r| format!("{} {}", r.method.as_str(), r.path)).collect();
    eprintln!("serving {} on http://{bound} ({})", bridge.metadata.name.as_deref().unwrap_or(""), routes.join(", "));
    let shared = std::sync::Arc::new((bridge, forward));
    listen(listener, move |req: Incoming| {
        let shared = shared.clone();
        async move {
            let request = Request {
                method: req.method,
                path: req.path,
                headers: req.headers,
                query: req.query.as_deref().map(parse_query).unwrap_or_default(),
                body: String::from_utf8_lossy(&req.body).into_owned(),
            };
            let (bridge, forward) = &*shared;
            let report = report::simulate(bridge, &request);
            let (status, answer) = answer(&report, forward.as_ref()).await;
            eprintln!("{}", log_line(&report, status));
            (status, answer)
        }
    })
    .await
}

/// Serve a webhook-source bridge on `addr`, each source at `/<name>` (offline stand-in for its
/// EventBridge URL): each request verified with the source's secret at the wall clock and
/// logged in one line (never the secret); answered 200 when accepted, 401/403/405 with the
/// reason when refused, 404 for no source.
pub async fn serve_webhooks(
    bridge: WebhookBridge,
    addr: SocketAddr,
    secrets: Vec<(String, crate::webhook::secret::SecretValue)>,
) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Error::Config(format!("--port: {e}")))?;
    let bound = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    let urls: Vec<String> =
        bridge.spec.webhook_sources.iter().map(|s| format!("{} http://{bound}/{}", s.name, s.name)).collect();
    eprintln!("serving {} webhook sources: {}", bridge.metadata.name.as_deref().unwrap_or(""), urls.join(", "));
    let shared = std::sync::Arc::new((bridge, secrets));
    listen(listener, move |req: Incoming| {
        let shared = shared.clone();
        async move {
            let request = super::webhook::WebhookRequest {
                source: req.path.trim_start_matches('/').to_string(),
                method: req.method,
                headers: req.headers,
                body: req.body.to_vec(),
            };
            let (bridge, secrets) = &*shared;
            let empty = crate::webhook::secret::SecretValue::new("");
            let secret = secrets.iter().find(|(n, _)| n == &request.source).map(|(_, s)| s).unwrap_or(&empty);
            let report = super::webhook::simulate(bridge, &request, secret, super::webhook::wall_clock());
            let status = report.status();
            let answer = match (&report.source, &report.refused) {
                (None, _) => serde_json::json!({"message": "Not Found"}),
                (Some(_), Some(r)) => serde_json::json!({"message": r.reason}),
                (Some(_), None) => serde_json::json!({"message": "accepted"}),
            };
            let what = match (&report.source, &report.refused) {
                (None, _) => "no webhook source".to_string(),
                (Some(s), Some(r)) => format!("source {s}: refused: {}", r.reason),
                (Some(s), None) => {
                    let matched = report.matched_rules();
                    format!(
                        "source {s}: accepted -> rules: {}",
                        if matched.is_empty() { "none matched".to_string() } else { matched.join(", ") }
                    )
                }
            };
            eprintln!("{} {status} {what}", report.request);
            (status, answer.to_string())
        }
    })
    .await
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The status and body API Gateway would answer (with `forward`, after the real PutEvents).
async fn answer(report: &Report, forward: Option<&aws_sdk_eventbridge::Client>) -> (u16, String) {
    match report.status() {
        404 => (404, r#"{"message":"Not Found"}"#.to_string()),
        500 => (500, r#"{"message":"Internal Server Error"}"#.to_string()),
        _ => {
            let Some(entry) = &report.entry else {
                return (500, r#"{"message":"Internal Server Error"}"#.to_string());
            };
            let event_id = match forward {
                None => report::EVENT_ID.to_string(),
                Some(client) => match put(client, entry).await {
                    Ok(id) => id,
                    Err(e) => {
                        eprintln!("forward: PutEvents failed: {e}");
                        return (500, r#"{"message":"Internal Server Error"}"#.to_string());
                    }
                },
            };
            (200, serde_json::json!({"Entries": [{"EventId": event_id}], "FailedEntryCount": 0}).to_string())
        }
    }
}

async fn put(client: &aws_sdk_eventbridge::Client, e: &super::request::PutEventsEntry) -> Result<String, String> {
    let entry =
        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(&e.source)
            .detail_type(&e.detail_type)
            .detail(&e.detail)
            .event_bus_name(&e.event_bus_name)
            .set_resources((!e.resources.is_empty()).then(|| e.resources.clone()))
            .set_trace_header(e.trace_header.clone())
            .set_time(e.time.as_deref().and_then(|t| {
                aws_smithy_types::DateTime::from_str(t, aws_smithy_types::date_time::Format::DateTime).ok()
            }))
            .build();
    let out = client.put_events().entries(entry).send().await.map_err(|e| format!("{e:?}"))?;
    match out.entries().first() {
        Some(r) if r.error_code().is_none() => Ok(r.event_id().unwrap_or_default().to_string()),
        Some(r) => Err(format!("{}: {}", r.error_code().unwrap_or_default(), r.error_message().unwrap_or_default())),
        None => Err("no entry in the answer".into()),
    }
}

fn log_line(report: &Report, status: u16) -> String {
    let matched = report.matched_rules();
    let what = match (&report.route, &report.error) {
        (None, _) => "no route".to_string(),
        (Some(route), Some(e)) => format!("route {route}: {e}"),
        (Some(route), None) => format!(
            "route {route} -> rules: {}",
            if matched.is_empty() { "none matched".to_string() } else { matched.join(", ") }
        ),
    };
    format!("{} {status} {what}", report.request)
}

// ---- test ----

/// One fixture: a request (or a full event) and what must happen.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub name: Option<String>,
    /// The request to send; or `event`.
    #[serde(default)]
    pub request: Option<FixtureRequest>,
    /// A full event (as TestEventPattern takes), run through the rules and targets as is.
    #[serde(default)]
    pub event: Option<Value>,
    /// A webhook-source bridge: the secret the request is verified with (`value`, `file`, or a
    /// Secret `manifest` the source's secretRef names; paths relative to the fixture).
    #[serde(default)]
    pub secret: Option<super::webhook::SecretSource>,
    /// A webhook-source bridge: when the request arrives (Unix seconds or RFC 3339; default the
    /// wall clock), for timestamp tolerance.
    #[serde(default)]
    pub now: Option<Value>,
    pub expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureRequest {
    /// A route name (its method and path), or `method` and `path`.
    #[serde(default)]
    pub route: Option<String>,
    /// A webhook-source bridge: the source whose URL is called (default: the only one).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A JSON body, written as YAML/JSON (sent as its JSON text).
    #[serde(default)]
    pub body: Option<Value>,
    /// A body sent as is (not JSON; what a signature covers byte for byte). Also `bodyText`.
    #[serde(default, alias = "bodyText")]
    pub body_text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// The HTTP status (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// Exactly the rules that match.
    #[serde(default)]
    pub rules: Option<Vec<String>>,
    /// Per rule, exactly the targets (ARNs or ids) that receive the event.
    #[serde(default)]
    pub targets: BTreeMap<String, Vec<String>>,
    /// Per target (ARN or id), the payload it receives (compared as JSON when both parse).
    #[serde(default)]
    pub payloads: BTreeMap<String, Value>,
    /// A webhook-source bridge: the request is refused, for a reason containing this text
    /// (e.g. `timestamp outside tolerance`, `no signature matches`, `missing header`).
    #[serde(default)]
    pub refusal: Option<String>,
}

/// What one fixture gave.
#[derive(Debug)]
pub struct Verdict {
    pub name: String,
    pub file: PathBuf,
    pub failures: Vec<String>,
}

/// The fixtures of `dir` (`*.yaml`, `*.yml`, `*.json`), sorted by file name.
pub fn fixtures(dir: &Path) -> Result<Vec<(PathBuf, Fixture)>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Config(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Config(format!("{}: no fixtures (*.yaml, *.yml, *.json)", dir.display())));
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).map_err(|e| Error::Config(format!("{}: {e}", f.display())))?;
            let fixture: Fixture =
                serde_saphyr::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", f.display())))?;
            Ok((f, fixture))
        })
        .collect()
}

/// Run one fixture against the bridge.
pub fn check(bridge: &WebhookBridge, file: &Path, f: &Fixture) -> Verdict {
    let name = f
        .name
        .clone()
        .unwrap_or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let mut failures = Vec::new();
    let fail = |why: String| Verdict { name: name.clone(), file: file.to_path_buf(), failures: vec![why] };
    let report = match (&f.request, &f.event) {
        (Some(r), None) if !bridge.spec.webhook_sources.is_empty() => match webhook_report(bridge, file, f, r) {
            Ok(report) => report,
            Err(e) => return fail(format!("request: {e}")),
        },
        (Some(r), None) => {
            let (method, path) = match request_for(bridge, r.route.as_deref(), r.method.as_deref(), r.path.as_deref()) {
                Ok(mp) => mp,
                Err(e) => return fail(format!("request: {e}")),
            };
            let body = match (&r.body, &r.body_text) {
                (Some(v), _) => v.to_string(),
                (None, Some(t)) => t.clone(),
                (None, None) => String::new(),
            };
            let request = Request {
                method,
                path,
                headers: r.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                query: r.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                body,
            };
            report::simulate(bridge, &request)
        }
        // A webhook-source bridge's rules see the event's Data: any JSON, as given.
        (None, Some(event)) if !bridge.spec.webhook_sources.is_empty() => report::simulate_event(bridge, event),
        (None, Some(event)) => match check_event(event) {
            Ok(()) => report::simulate_event(bridge, event),
            Err(e) => return fail(format!("event: {e}")),
        },
        _ => return fail("give either request: or event:, not both or neither".into()),
    };
    let want_status = f.expect.status.unwrap_or(200);
    if report.status() != want_status {
        let why = match (&report.refused, &report.error) {
            (Some(r), _) => r.reason.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) if report.webhook && report.source.is_none() => "no such webhook source".into(),
            (None, None) if report.webhook => "accepted".into(),
            (None, None) => "no route".into(),
        };
        failures.push(format!("status: expected {want_status}, got {} ({why})", report.status()));
    }
    if let Some(want) = &f.expect.refusal {
        match &report.refused {
            Some(r) if r.reason.contains(want.as_str()) => {}
            Some(r) => failures.push(format!("refusal: expected one containing {want:?}, got {:?}", r.reason)),
            None => failures.push(format!("refusal: expected one containing {want:?}, the request was not refused")),
        }
    }
    if let Some(want) = &f.expect.rules {
        let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
        want.sort();
        let mut got = report.matched_rules();
        got.sort();
        if want != got {
            let mut diff = format!("rules: expected {want:?}, got {got:?}");
            for rule in report.rules.iter().filter(|r| !r.matched && want.contains(&r.name.as_str())) {
                let _ = write!(diff, "\n    {} did not match: {}", rule.name, rule.why_not());
            }
            failures.push(diff);
        }
    }
    for (rule, want) in &f.expect.targets {
        let got: Vec<&report::TargetDelivery> =
            report.rules.iter().filter(|r| &r.name == rule).flat_map(|r| r.targets.iter()).collect();
        let mut want_sorted: Vec<&str> = want.iter().map(String::as_str).collect();
        want_sorted.sort();
        let mut got_ids: Vec<&str> =
            got.iter().map(|t| if want.iter().any(|w| w == &t.id) { t.id.as_str() } else { t.arn.as_str() }).collect();
        got_ids.sort();
        if want_sorted != got_ids {
            failures.push(format!("targets of {rule}: expected {want_sorted:?}, got {got_ids:?}"));
        }
    }
    for (target, want) in &f.expect.payloads {
        let delivered: Vec<&report::TargetDelivery> = report
            .rules
            .iter()
            .flat_map(|r| r.targets.iter())
            .filter(|t| &t.arn == target || &t.id == target)
            .collect();
        if delivered.is_empty() {
            failures.push(format!("payload of {target}: the target receives nothing"));
        }
        for t in delivered {
            let got = t.payload.clone().unwrap_or_else(|| t.error.clone().unwrap_or_default());
            let same = match (serde_json::from_str::<Value>(&got), want) {
                (Ok(g), w) if !w.is_string() => &g == w,
                (Ok(g), Value::String(s)) => g == Value::String(s.clone()) || &got == s,
                (Err(_), Value::String(s)) => &got == s,
                _ => false,
            };
            if !same {
                let want_text = serde_json::to_string_pretty(want).unwrap_or_default();
                let got_text = serde_json::from_str::<Value>(&got)
                    .ok()
                    .and_then(|g| serde_json::to_string_pretty(&g).ok())
                    .unwrap_or(got.clone());
                failures.push(format!("payload of {target}:\n{}", line_diff(&want_text, &got_text)));
            }
        }
    }
    Verdict { name, file: file.to_path_buf(), failures }
}

/// A fixture's request to a webhook-source bridge, verified and run through the rules.
fn webhook_report(bridge: &WebhookBridge, file: &Path, f: &Fixture, r: &FixtureRequest) -> Result<Report, Error> {
    use super::webhook;
    let name = match (&r.source, &r.route, bridge.spec.webhook_sources.as_slice()) {
        (Some(s), _, _) | (None, Some(s), _) => s.clone(),
        (None, None, [only]) => only.name.clone(),
        (None, None, _) => return Err(Error::Config("the bridge has several webhook sources: give source:".into())),
    };
    let body = match (&r.body, &r.body_text) {
        (Some(v), _) => v.to_string(),
        (None, Some(t)) => t.clone(),
        (None, None) => String::new(),
    };
    let request = webhook::WebhookRequest {
        source: name.clone(),
        method: r.method.clone().unwrap_or_else(|| "POST".into()),
        headers: r.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        body: body.into_bytes(),
    };
    let now = match &f.now {
        None => webhook::wall_clock(),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| Error::Config(format!("now: {n}: not whole seconds")))?,
        Some(Value::String(t)) => webhook::parse_now(t).map_err(|e| Error::Config(format!("now: {e}")))?,
        Some(other) => return Err(Error::Config(format!("now: {other}: expected Unix seconds or RFC 3339"))),
    };
    let Ok(src) = webhook::source(bridge, &name) else {
        // No such URL: 404, as a request to it would get.
        return Ok(webhook::simulate(bridge, &request, &crate::webhook::secret::SecretValue::new(""), now));
    };
    let base = file.parent().unwrap_or(Path::new("."));
    let from = f.secret.clone().unwrap_or_default().relative_to(base);
    let secret = webhook::secret_for(bridge, src, &from)?;
    Ok(webhook::simulate(bridge, &request, &secret, now))
}

/// A minimal line diff: `-` expected lines missing, `+` lines got that were not expected.
fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = Vec::new();
    for l in &w {
        if !g.contains(l) {
            out.push(format!("    - {l}"));
        }
    }
    for l in &g {
        if !w.contains(l) {
            out.push(format!("    + {l}"));
        }
    }
    out.join("\n")
}

/// JUnit XML for CI systems: one test case per fixture.
pub fn junit(suite: &str, verdicts: &[Verdict]) -> String {
    let failed = verdicts.iter().filter(|v| !v.failures.is_empty()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
        xml(suite),
        verdicts.len()
    );
    for v in verdicts {
        let _ = write!(out, "    <testcase classname=\"{}\" name=\"{}\"", xml(suite), xml(&v.name));
        if v.failures.is_empty() {
            out.push_str("/>\n");
        } else {
            let text = v.failures.join("\n");
            let first = v.failures[0].lines().next().unwrap_or_default();
            let _ =
                write!(out, ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", xml(first), xml(&text));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
