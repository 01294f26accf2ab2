//! The request side: which route a request hits, and the PutEvents entry API Gateway's
//! `EventBridge-PutEvents` integration builds from it.
//!
//! AWS documentation this module follows (cited again where each rule is applied):
//! - API Gateway, "Create routes for HTTP APIs" (`http-api-develop-routes`): path variables,
//!   greedy `{proxy+}`, `ANY`, route selection priority, URL-decoded parameters.
//! - API Gateway, "Transforming API requests and responses" (`http-api-parameter-mapping`): the
//!   mapping values `$request.header.name`, `$request.querystring.name`, `$request.body.name`
//!   (JSONPath, without recursive descent or filters), `$request.path`, `$request.path.name`,
//!   `$context.variableName`, `$stageVariables.variableName` and static values; header names
//!   case-insensitive, query string names case-sensitive, repeated values joined by commas.
//! - API Gateway, "Customizing HTTP API access logs" (`http-api-logging-variables`): the
//!   `$context` variables.
//! - API Gateway, "Integration subtype reference" (`http-api-develop-integrations-aws-services-reference`):
//!   `EventBridge-PutEvents` 1.0 takes Detail, DetailType, Source (required), Time, EventBusName,
//!   Resources, Region, TraceHeader (optional).
//! - EventBridge API reference, `PutEventsRequestEntry`: Detail "A valid JSON object", DetailType
//!   "a maximum of 128 characters", Time "per RFC3339", TraceHeader 1 to 500 characters; Detail,
//!   DetailType and Source "are required for EventBridge to successfully send an event".
//! - EventBridge user guide, "Calculating PutEvents event entry size" (`eb-putevent-size`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::api::{HttpMethod, RouteSpec};

/// An HTTP request as a webhook sender makes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub method: String,
    /// The path without the stage prefix and without the query string (as `$request.path`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// Decoded query string parameters, in order (a name may repeat).
    pub query: Vec<(String, String)>,
    pub body: String,
}

/// Values API Gateway would fill from its context. Only AWS knows the real ones; see
/// [`Context::placeholder`] for the placeholders a simulation uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    /// `$context.stage`.
    pub stage: String,
    /// `$context.requestId` (and `$context.extendedRequestId`).
    pub request_id: String,
    /// The request time: `$context.requestTimeEpoch` (milliseconds) and `$context.requestTime`.
    pub request_time_epoch_ms: i64,
    /// `$context.identity.sourceIp`.
    pub source_ip: String,
    /// `$context.accountId`.
    pub account_id: String,
    /// `$context.apiId`.
    pub api_id: String,
    /// `$context.domainName` (its first label is `$context.domainPrefix`).
    pub domain_name: String,
    pub region: String,
    /// `$context.protocol`.
    pub protocol: String,
    /// `$context.authorizer.claims.<name>`: the JWT claims (a JWT authorizer is not simulated:
    /// empty unless the caller sets them).
    pub authorizer_claims: BTreeMap<String, String>,
    /// `$stageVariables.<name>`: the bridge sets no stage variables, so this is empty.
    pub stage_variables: BTreeMap<String, String>,
}

/// Placeholder request id: HTTP API request ids are 16 base64 characters (e.g. `JKJaXmPLvHcESHA=`).
pub const PLACEHOLDER_REQUEST_ID: &str = "AAAAAAAAAAAAAAA=";
/// Placeholder request time: 2026-01-01T00:00:00Z, fixed so simulations are reproducible.
pub const PLACEHOLDER_EPOCH_MS: i64 = 1_767_225_600_000;
/// Placeholder caller address, from TEST-NET-1 (RFC 5737, reserved for documentation).
pub const PLACEHOLDER_SOURCE_IP: &str = "192.0.2.1";
/// Placeholder API id (API Gateway ids are 10 lowercase letters and digits).
pub const PLACEHOLDER_API_ID: &str = "abcdef0123";

impl Context {
    /// The context of a simulated request. Placeholders (what only AWS knows):
    /// - `requestId` / `extendedRequestId`: [`PLACEHOLDER_REQUEST_ID`] (`AAAAAAAAAAAAAAA=`);
    /// - `requestTimeEpoch`: [`PLACEHOLDER_EPOCH_MS`] (2026-01-01T00:00:00Z), `requestTime` the same
    ///   instant in CLF (`01/Jan/2026:00:00:00 +0000`);
    /// - `identity.sourceIp`: [`PLACEHOLDER_SOURCE_IP`] (`192.0.2.1`);
    /// - `apiId`: [`PLACEHOLDER_API_ID`] (`abcdef0123`), `domainName`
    ///   `abcdef0123.execute-api.<region>.amazonaws.com` (the default endpoint), `protocol` `HTTP/1.1`;
    /// - `stage` and `accountId` as given; no JWT claims, no stage variables.
    ///
    /// `httpMethod`, `path`, `routeKey` and `identity.userAgent` come from the request itself.
    pub fn placeholder(stage: &str, account: &str, region: &str) -> Context {
        Context {
            stage: stage.to_string(),
            request_id: PLACEHOLDER_REQUEST_ID.to_string(),
            request_time_epoch_ms: PLACEHOLDER_EPOCH_MS,
            source_ip: PLACEHOLDER_SOURCE_IP.to_string(),
            account_id: account.to_string(),
            api_id: PLACEHOLDER_API_ID.to_string(),
            domain_name: format!("{PLACEHOLDER_API_ID}.execute-api.{region}.amazonaws.com"),
            region: region.to_string(),
            protocol: "HTTP/1.1".to_string(),
            authorizer_claims: BTreeMap::new(),
            stage_variables: BTreeMap::new(),
        }
    }
}

// ---- routing ----

/// How specific a route's path is for a request, smaller is more specific: greedy or not, then
/// per segment literal (0) / `{param}` (1) / `{param+}` (2), then more segments first.
type PathRank = (bool, Vec<u8>, std::cmp::Reverse<usize>);

/// The route a request hits, and its path parameters (URL-decoded).
///
/// API Gateway ("Create routes for HTTP APIs", Routing API requests) "selects the route with the
/// most-specific match, using the following priorities: 1. Full match for a route and method.
/// 2. Match for a route and method with a greedy path variable ({proxy+}). 3. The $default route"
/// (the bridge creates no `$default` route). `ANY` matches "all methods that you haven't defined for
/// a resource", so a route with the exact method beats `ANY` on the same path. A greedy variable
/// "catches all child resources" (at least one segment) and "must be at the end of the resource
/// path". Not documented, chosen here: between two full matches, the one with a literal segment
/// where the other has a variable, leftmost first, wins (`/pets/dog/1` beats `/pets/dog/{id}`, as in
/// the doc's example); paths are case-sensitive; a `{param}` never matches an empty segment. "API
/// Gateway decodes URL-encoded request parameters": parameter values are percent-decoded.
/// `path` is the path after the stage (`/dev/api/x` on stage `dev` is `/api/x` here).
pub fn route_for<'a>(
    routes: &'a [RouteSpec],
    method: &str,
    path: &str,
) -> Option<(&'a RouteSpec, BTreeMap<String, String>)> {
    let method = method.to_ascii_uppercase();
    let path = path.split('?').next().unwrap_or_default();
    let request: Vec<String> = segments(path).into_iter().map(|s| percent_decode(s, false)).collect();
    routes
        .iter()
        .filter(|r| r.method == HttpMethod::Any || r.method.as_str() == method)
        .filter_map(|r| {
            let (params, rank) = match_path(&r.path, &request)?;
            // Same path rank: the exact method before `ANY`.
            Some((r, params, (rank, r.method == HttpMethod::Any)))
        })
        .min_by(|a, b| a.2.cmp(&b.2))
        .map(|(r, params, _)| (r, params))
}

fn segments(path: &str) -> Vec<&str> {
    match path.strip_prefix('/').unwrap_or(path) {
        "" => Vec::new(),
        rest => rest.split('/').collect(),
    }
}

/// Match a route path template against decoded request segments.
fn match_path(template: &str, request: &[String]) -> Option<(BTreeMap<String, String>, PathRank)> {
    let template = segments(template);
    let mut params = BTreeMap::new();
    let mut rank = Vec::with_capacity(template.len());
    for (i, t) in template.iter().enumerate() {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix("+}")) {
            // Greedy: the rest of the path, at least one non-empty child.
            let rest = request.get(i..).unwrap_or_default();
            if rest.is_empty() || rest.iter().all(String::is_empty) {
                return None;
            }
            params.insert(name.to_string(), rest.join("/"));
            rank.push(2);
            return Some((params, (true, rank, std::cmp::Reverse(template.len()))));
        }
        let seg = request.get(i)?;
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            if seg.is_empty() {
                return None;
            }
            params.insert(name.to_string(), seg.clone());
            rank.push(1);
        } else if *t == seg.as_str() {
            rank.push(0);
        } else {
            return None;
        }
    }
    (template.len() == request.len()).then_some((params, (false, rank, std::cmp::Reverse(template.len()))))
}

/// `%XX` decoded (invalid escapes kept as written); with `plus_is_space`, `+` is a space too,
/// as in a form-encoded query string (not in a path).
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let hex = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi * 16 + lo);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- the entry ----

/// The PutEvents entry the integration builds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsEntry {
    pub source: String,
    pub detail_type: String,
    /// JSON text, as PutEvents takes it.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    pub event_bus_name: String,
}

/// What went wrong building the entry (API Gateway answers an error instead of putting an event):
/// `field` is the PutEvents parameter (`Source`, `DetailType`, `Detail`, `Time`, `Resources`,
/// `TraceHeader`, or `entry` for the entry as a whole); `message` names the mapping
/// (`event.detail = "$request.body.data"`) and says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError {
    pub field: String,
    pub message: String,
}

/// PutEvents' entry size limit: "The maximum size for a PutEvents event entry is 256 KB"
/// (EventBridge API reference, PutEvents).
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// The PutEvents entry for `req` on `route`, put on `bus` (the integration's `EventBusName`, the
/// bus ARN as `desired` maps it).
///
/// Each mapping value is resolved as API Gateway does ([`route_for`] gives `path_params`):
/// - a value not starting with `$` is a "Static value ... A constant value", used as is;
/// - `$request.body` is the body as sent; `$request.body.<jsonpath>` ("A JSON path expression.
///   Recursive descent ($request.body..name) and filter expressions (?(expression)) aren't
///   supported") selects in the body parsed as JSON: a string is substituted raw (without quotes),
///   an object or array as its JSON text, a number or boolean as its text;
/// - `$request.header.<name>`: "Header names are case-insensitive. API Gateway combines multiple
///   header values with commas, for example "header1": "value1,value2"";
/// - `$request.querystring.<name>`: "Query string names are case-sensitive. API Gateway combines
///   multiple values with commas";
/// - `$request.path` ("The request path, without the stage name"), `$request.path.<name>` ("The
///   value of a path parameter in the request");
/// - `$context.<variable>` (see `context_variable`), `$stageVariables.<name>` (none are set).
///
/// Undocumented, chosen here (each is a `MappingError`, i.e. API Gateway answers an error and
/// nothing reaches the bus):
/// - a selection that resolves to nothing (absent header or field, a body that is not JSON for
///   `$request.body.x`, an empty value, JSON `null`) for a required parameter (Source, DetailType,
///   Detail: "required for EventBridge to successfully send an event", PutEventsRequestEntry);
///   for an optional one (Time, Resources, TraceHeader) the parameter is left out (Time then
///   defaults to "the time stamp of the PutEvents call");
/// - Detail that is not a JSON object (PutEventsRequestEntry: "A valid JSON object"; PutEvents
///   fails the entry with "Detail is malformed.");
/// - DetailType over 128 characters, TraceHeader over 500, Time that is not RFC 3339 ("The time
///   stamp of the event, per RFC3339"), an entry over [`MAX_ENTRY_BYTES`].
pub fn entry(
    route: &RouteSpec,
    bus: &str,
    req: &Request,
    path_params: &BTreeMap<String, String>,
    ctx: &Context,
) -> Result<PutEventsEntry, MappingError> {
    let env = Env { route, req, params: path_params, ctx, body: serde_json::from_str(&req.body).ok() };
    let e = &route.event;
    let source = env.required("Source", "event.source", &e.source)?;
    let detail_type = env.required("DetailType", "event.detailType", &e.detail_type)?;
    if detail_type.chars().count() > 128 {
        return Err(env.error(
            "DetailType",
            "event.detailType",
            &e.detail_type,
            &format!(
                "gives {} characters; PutEvents takes at most 128 (PutEventsRequestEntry: \"a maximum of 128 characters\")",
                detail_type.chars().count()
            ),
        ));
    }
    let detail = env.required("Detail", "event.detail", &e.detail)?;
    match serde_json::from_str::<Value>(&detail) {
        Ok(Value::Object(_)) => {}
        parsed => {
            let what = match parsed {
                Ok(v) => format!("JSON {}", kind(&v)),
                Err(_) => "not JSON".to_string(),
            };
            return Err(env.error(
                "Detail",
                "event.detail",
                &e.detail,
                &format!(
                    "gives {} ({what}); Detail must be a JSON object, PutEvents fails the entry: \"Detail is malformed.\"",
                    preview(&detail)
                ),
            ));
        }
    }
    let time = env.optional("Time", "event.time", e.time.as_deref())?;
    if let (Some(t), Some(expr)) = (&time, &e.time)
        && t.parse::<jiff::Timestamp>().is_err()
    {
        return Err(env.error(
            "Time",
            "event.time",
            expr,
            &format!(
                "gives {}, not an RFC 3339 timestamp (e.g. 2026-01-02T03:04:05Z); PutEvents takes \"The time stamp of the event, per RFC3339\"",
                preview(t)
            ),
        ));
    }
    let resources = match (env.optional("Resources", "event.resources", e.resources.as_deref())?, &e.resources) {
        (Some(text), Some(expr)) => resources_of(&text).map_err(|why| {
            env.error("Resources", "event.resources", expr, &format!("gives {}: {why}", preview(&text)))
        })?,
        _ => Vec::new(),
    };
    let trace_header = env.optional("TraceHeader", "event.traceHeader", e.trace_header.as_deref())?;
    if let (Some(t), Some(expr)) = (&trace_header, &e.trace_header)
        && t.chars().count() > 500
    {
        return Err(env.error(
            "TraceHeader",
            "event.traceHeader",
            expr,
            &format!("gives {} characters; PutEvents takes at most 500", t.chars().count()),
        ));
    }
    let entry =
        PutEventsEntry { source, detail_type, detail, time, resources, trace_header, event_bus_name: bus.to_string() };
    let size = entry_size(&entry);
    if size > MAX_ENTRY_BYTES {
        return Err(MappingError {
            field: "entry".into(),
            message: format!(
                "the entry is {size} bytes; PutEvents takes at most {MAX_ENTRY_BYTES} (256 KB) per entry, counted as \
                 Source + DetailType + Detail + each Resources entry in UTF-8 bytes, plus 14 for Time"
            ),
        });
    }
    Ok(entry)
}

/// The entry's size as EventBridge counts it ("Calculating PutEvents event entry size"): "If
/// specified, the Time parameter is 14 bytes. The Source and DetailType parameters are the number
/// of bytes for their UTF-8 encoded forms. If specified, the Detail parameter is the number of
/// bytes for its UTF-8 encoded form. If specified, each entry of the Resources parameter is the
/// number of bytes for its UTF-8 encoded forms."
pub fn entry_size(entry: &PutEventsEntry) -> usize {
    let time = if entry.time.is_some() { 14 } else { 0 };
    time + entry.source.len()
        + entry.detail_type.len()
        + entry.detail.len()
        + entry.resources.iter().map(String::len).sum::<usize>()
}

/// `Resources` from one mapping value (undocumented how API Gateway turns a string into the
/// list; chosen: a JSON array of strings is the list, anything else is one ARN).
fn resources_of(text: &str) -> Result<Vec<String>, String> {
    if text.trim_start().starts_with('[')
        && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text)
    {
        return items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(format!("Resources are ARNs (strings), not JSON {}", kind(&other))),
            })
            .collect();
    }
    Ok(vec![text.to_string()])
}

/// The event as EventBridge hands it to rules and targets: `version` "0", `id`, `detail-type`,
/// `source`, `account`, `time`, `region`, `resources` (always present, `[]` when none), `detail`
/// (the Detail text parsed). `time` is the entry's Time in UTC to the second, as EventBridge
/// writes it (`2015-11-11T21:29:54Z`), or `default_time` (the PutEvents call's time) without one.
pub fn event(entry: &PutEventsEntry, account: &str, region: &str, id: &str, default_time: &str) -> Value {
    let time = entry
        .time
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| default_time.to_string());
    let detail = serde_json::from_str::<Value>(&entry.detail).unwrap_or_else(|_| Value::Object(serde_json::Map::new()));
    serde_json::json!({
        "version": "0",
        "id": id,
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account,
        "time": time,
        "region": region,
        "resources": entry.resources,
        "detail": detail,
    })
}

// ---- resolving mapping values ----

/// A mapping value for one request: its text, or why it resolves to nothing.
#[derive(Clone, Debug, PartialEq)]
enum Resolved {
    Text(String),
    Nothing(String),
}

struct Env<'a> {
    route: &'a RouteSpec,
    req: &'a Request,
    params: &'a BTreeMap<String, String>,
    ctx: &'a Context,
    /// The body parsed as JSON, if it is JSON.
    body: Option<Value>,
}

impl Env<'_> {
    fn error(&self, param: &str, field: &str, expr: &str, why: &str) -> MappingError {
        MappingError { field: param.to_string(), message: format!("{field} = {expr:?} {why}") }
    }

    fn required(&self, param: &str, field: &str, expr: &str) -> Result<String, MappingError> {
        match self.resolve(expr).map_err(|why| self.error(param, field, expr, &why))? {
            Resolved::Text(t) if !t.is_empty() => Ok(t),
            Resolved::Text(_) => Err(self.error(
                param,
                field,
                expr,
                &format!("is empty for this request; PutEvents requires {param}, so API Gateway answers an error"),
            )),
            Resolved::Nothing(why) => Err(self.error(
                param,
                field,
                expr,
                &format!("resolves to nothing for this request ({why}); PutEvents requires {param}, so API Gateway answers an error"),
            )),
        }
    }

    /// An optional parameter: left out when its mapping resolves to nothing or to "".
    fn optional(&self, param: &str, field: &str, expr: Option<&str>) -> Result<Option<String>, MappingError> {
        let Some(expr) = expr else { return Ok(None) };
        Ok(match self.resolve(expr).map_err(|why| self.error(param, field, expr, &why))? {
            Resolved::Text(t) if !t.is_empty() => Some(t),
            _ => None,
        })
    }

    /// Resolve one mapping value; `Err` for an expression API Gateway does not accept.
    fn resolve(&self, expr: &str) -> Result<Resolved, String> {
        if !expr.starts_with('$') {
            return Ok(Resolved::Text(expr.to_string()));
        }
        if let Some(rest) = expr.strip_prefix("$request.body") {
            if rest.is_empty() {
                return Ok(if self.req.body.is_empty() {
                    Resolved::Nothing("the body is empty".into())
                } else {
                    Resolved::Text(self.req.body.clone())
                });
            }
            if rest.starts_with('.') || rest.starts_with('[') {
                let steps = body_path(rest)?;
                let Some(body) = &self.body else {
                    return Ok(Resolved::Nothing("the body is not JSON, so a JSON path selects nothing".into()));
                };
                return Ok(match select(body, &steps) {
                    None => Resolved::Nothing(format!("the body has no {}", rest.trim_start_matches('.'))),
                    Some(Value::Null) => {
                        Resolved::Nothing(format!("the body's {} is null", rest.trim_start_matches('.')))
                    }
                    Some(Value::String(s)) => Resolved::Text(s),
                    Some(v) => Resolved::Text(v.to_string()),
                });
            }
        }
        if let Some(name) = expr.strip_prefix("$request.header.") {
            let values: Vec<&str> = self
                .req
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            return Ok(if values.is_empty() {
                Resolved::Nothing(format!("no {name} header"))
            } else {
                Resolved::Text(values.join(","))
            });
        }
        if let Some(name) = expr.strip_prefix("$request.querystring.") {
            let values: Vec<&str> = self.req.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
            return Ok(if values.is_empty() {
                Resolved::Nothing(format!("no {name} query string parameter (names are case-sensitive)"))
            } else {
                Resolved::Text(values.join(","))
            });
        }
        if expr == "$request.path" {
            return Ok(Resolved::Text(self.req.path.split('?').next().unwrap_or_default().to_string()));
        }
        if let Some(name) = expr.strip_prefix("$request.path.") {
            return Ok(match self.params.get(name) {
                Some(v) => Resolved::Text(v.clone()),
                None => Resolved::Nothing(format!("{} declares no path parameter {name}", self.route.path)),
            });
        }
        if let Some(name) = expr.strip_prefix("$context.") {
            return self.context_variable(name);
        }
        if let Some(name) = expr.strip_prefix("$stageVariables.") {
            return Ok(match self.ctx.stage_variables.get(name) {
                Some(v) => Resolved::Text(v.clone()),
                None => Resolved::Nothing(format!("the stage sets no stage variable {name} (the bridge sets none)")),
            });
        }
        Err("is not a selection expression API Gateway accepts ($request.body[.<jsonpath>], $request.header.<name>, \
             $request.querystring.<name>, $request.path[.<name>], $context.<variable>, $stageVariables.<name>)"
            .into())
    }

    /// `$context.<name>`, per "Customizing HTTP API access logs" (the variables API Gateway
    /// documents for HTTP APIs). Request-side values come from the request or the context's
    /// placeholders; authorizer and IAM identity values resolve to nothing unless set (no
    /// authorizer is simulated); integration and response values (`integration.*`,
    /// `responseLatency`, `status`, ...) are only known after the integration ran, so they
    /// resolve to nothing here; any other name is refused.
    fn context_variable(&self, name: &str) -> Result<Resolved, String> {
        let ctx = self.ctx;
        let text = |s: &str| Ok(Resolved::Text(s.to_string()));
        match name {
            "accountId" => text(&ctx.account_id),
            "apiId" => text(&ctx.api_id),
            "domainName" => text(&ctx.domain_name),
            "domainPrefix" => text(ctx.domain_name.split('.').next().unwrap_or_default()),
            "requestId" | "extendedRequestId" => text(&ctx.request_id),
            "httpMethod" => text(&self.req.method.to_ascii_uppercase()),
            "identity.sourceIp" => text(&ctx.source_ip),
            "identity.userAgent" => {
                Ok(match self.req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("user-agent")) {
                    Some((_, v)) => Resolved::Text(v.clone()),
                    None => Resolved::Nothing("the request has no User-Agent header".into()),
                })
            }
            // "The request path. For example, /{stage}/root/child."
            "path" => {
                let path = self.req.path.split('?').next().unwrap_or_default();
                if ctx.stage == "$default" { text(path) } else { text(&format!("/{}{path}", ctx.stage)) }
            }
            "protocol" => text(&ctx.protocol),
            "requestTime" => text(&clf_time(ctx.request_time_epoch_ms)),
            "requestTimeEpoch" => text(&ctx.request_time_epoch_ms.to_string()),
            "routeKey" => text(&format!("{} {}", self.route.method.as_str(), self.route.path)),
            "stage" => text(&ctx.stage),
            _ => {
                if let Some(claim) = name.strip_prefix("authorizer.claims.") {
                    return Ok(match ctx.authorizer_claims.get(claim) {
                        Some(v) => Resolved::Text(v.clone()),
                        None => Resolved::Nothing(format!(
                            "no JWT claim {claim} (API Gateway's JWT authorizer is not simulated)"
                        )),
                    });
                }
                const AUTH: [&str; 13] = [
                    "authorizer.",
                    "identity.accountId",
                    "identity.caller",
                    "identity.user",
                    "identity.userArn",
                    "identity.principalOrgId",
                    "identity.cognitoAuthenticationProvider",
                    "identity.cognitoAuthenticationType",
                    "identity.cognitoIdentityId",
                    "identity.cognitoIdentityPoolId",
                    "identity.clientCert.",
                    "error.",
                    "integration.",
                ];
                const AFTER: [&str; 9] = [
                    "awsEndpointRequestId",
                    "awsEndpointRequestId2",
                    "dataProcessed",
                    "integrationErrorMessage",
                    "integrationLatency",
                    "integrationStatus",
                    "responseLatency",
                    "responseLength",
                    "status",
                ];
                if AUTH.iter().any(|p| if p.ends_with('.') { name.starts_with(p) } else { name == *p }) {
                    Ok(Resolved::Nothing(format!(
                        "$context.{name} depends on an authorizer, IAM caller or client certificate, none in this simulation"
                    )))
                } else if AFTER.contains(&name) {
                    Ok(Resolved::Nothing(format!(
                        "$context.{name} is only known after the integration ran, not when its request is built"
                    )))
                } else {
                    Err(format!("names no HTTP API context variable ${{context.{name}}}"))
                }
            }
        }
    }
}

/// `$context.requestTime`: "The CLF-formatted request time (dd/MMM/yyyy:HH:mm:ss +-hhmm)."
fn clf_time(epoch_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(epoch_ms)
        .map(|t| t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value for a message: quoted, cut at 80 characters.
fn preview(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() { format!("{cut:?}...") } else { format!("{cut:?}") }
}

// ---- JSONPath ----

/// One step of a JSONPath.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// `.name`, `['name']`
    Key(String),
    /// `[0]`; negative counts from the end (`[-1]` is the last element).
    Index(i64),
    /// `.*`, `[*]`: every element or member.
    Wildcard,
}

/// The `$request.body` JSONPath after `$request.body` (`.a.b`, `.items[0].id`, `['a key']`,
/// `[*]`). "Recursive descent ($request.body..name) and filter expressions (?(expression))
/// aren't supported" (API Gateway, HTTP API parameter mapping); neither are slices and unions.
fn body_path(mut s: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    while !s.is_empty() {
        if s.starts_with("..") {
            return Err(
                "uses recursive descent (..), which API Gateway's $request.body JSONPath doesn't support".into()
            );
        }
        if let Some(rest) = s.strip_prefix('.') {
            if rest.starts_with('[') {
                s = rest;
                continue;
            }
            if let Some(rest) = rest.strip_prefix('*') {
                steps.push(Step::Wildcard);
                s = rest;
                continue;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err("has an empty name in its JSONPath".into());
            }
            steps.push(Step::Key(rest[..end].to_string()));
            s = &rest[end..];
        } else if let Some(rest) = s.strip_prefix('[') {
            let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
            if let Some(q) = quote {
                let inner = &rest[1..];
                let close = inner.find(q).ok_or("has an unterminated quoted name in its JSONPath")?;
                let after = inner[close + 1..]
                    .strip_prefix(']')
                    .ok_or("has a quoted name not followed by ] in its JSONPath")?;
                steps.push(Step::Key(inner[..close].to_string()));
                s = after;
                continue;
            }
            let close = rest.find(']').ok_or("has an unterminated [ in its JSONPath")?;
            let inner = rest[..close].trim();
            if inner == "*" {
                steps.push(Step::Wildcard);
            } else if inner.starts_with('?') {
                return Err(
                    "uses a filter expression (?(...)), which API Gateway's $request.body JSONPath doesn't support"
                        .into(),
                );
            } else if let Ok(i) = inner.parse::<i64>() {
                steps.push(Step::Index(i));
            } else {
                return Err(format!("has [{inner}] in its JSONPath: only [index], [*] and ['name'] are supported"));
            }
            s = &rest[close + 1..];
        } else {
            return Err(format!("has {s:?} in its JSONPath, expected .name or [...]"));
        }
    }
    Ok(steps)
}

/// Select with a JSONPath. A definite path (no wildcard) gives its value or nothing; a path with
/// a wildcard gives the array of everything it reaches (possibly empty), as JSONPath does.
pub(super) fn select(root: &Value, steps: &[Step]) -> Option<Value> {
    let mut current: Vec<&Value> = vec![root];
    let mut definite = true;
    for step in steps {
        let mut next = Vec::new();
        for v in current {
            match step {
                Step::Key(k) => next.extend(v.as_object().and_then(|o| o.get(k))),
                Step::Index(i) => {
                    if let Some(items) = v.as_array() {
                        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                        let at = if *i < 0 { len + i } else { *i };
                        next.extend(usize::try_from(at).ok().and_then(|at| items.get(at)));
                    }
                }
                Step::Wildcard => {
                    definite = false;
                    match v {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(members) => next.extend(members.values()),
                        _ => {}
                    }
                }
            }
        }
        current = next;
    }
    if definite {
        current.first().map(|v| (*v).clone())
    } else {
        Some(Value::Array(current.into_iter().cloned().collect()))
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
