//! The `WebhookBridge` spec: what the user declares. Admission-time rules live here as schema
//! constraints and CEL rules (`x-kubernetes-validations`), so the apiserver rejects bad objects
//! before the operator ever sees them; `crate::validate` checks what only the engine can.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::WebhookBridgeStatus;

/// Regex for a route path: `/`, literal segments, `{param}` segments and a final greedy `{param+}`.
pub const PATH_PATTERN: &str = r"^/(([A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\})(/([A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\}))*(/\{[A-Za-z0-9_]+\+\})?|\{[A-Za-z0-9_]+\+\})?$";

/// Regex for a PutEvents mapping value: a constant (not starting with `$`) or one of the selection
/// expressions API Gateway accepts for the `EventBridge-PutEvents` subtype.
pub const MAPPING_PATTERN: &str = r"^([^$].*|\$request\.body(\.[A-Za-z0-9_$.\[\]*'-]+)?|\$request\.(header|querystring|path)\.[A-Za-z0-9_.-]+|\$context\.[A-Za-z0-9_.]+|\$stageVariables\.[A-Za-z0-9_]+)$";

/// Characters IAM and API Gateway accept in tag keys and values.
pub const TAG_PATTERN: &str = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$";

/// Regex for the `name` of a route or rule: a DNS label, so it is safe in AWS names and tags.
pub const ID_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A WebhookBridge turns webhook calls into EventBridge events without any code in between: an API
/// Gateway HTTP API route whose `EventBridge-PutEvents` integration maps each request into an event
/// on a bus, with rules routing the events on to their targets.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "webhookbridge.io",
    version = "v1alpha1",
    kind = "WebhookBridge",
    plural = "webhookbridges",
    singular = "webhookbridge",
    shortname = "whb",
    category = "webhooks",
    namespaced,
    status = "WebhookBridgeStatus",
    cel,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Webhook","type":"string","description":"The first webhook source's URL (spec.webhookSources; all of them in status.webhookSources)","jsonPath":".status.webhookSources[0].url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Domain","type":"string","priority":1,"jsonPath":".status.domain.url"}"#,
    printcolumn = r#"{"name":"Archive","type":"string","priority":1,"jsonPath":".status.archive.name"}"#,
    printcolumn = r#"{"name":"DLQ","type":"string","priority":1,"jsonPath":".status.deadLetterQueues"}"#
)]
#[x_kube(validation = Rule::new(
    "(has(self.region) ? self.region : '') == (has(oldSelf.region) ? oldSelf.region : '')"
).message("spec.region is immutable: moving a bridge would orphan its AWS objects; create a new bridge instead"))]
#[x_kube(validation = Rule::new(
    "has(self.gatewayRef) == has(oldSelf.gatewayRef) && (!has(self.gatewayRef) || self.gatewayRef == oldSelf.gatewayRef)"
).message("spec.gatewayRef is immutable: moving a bridge to another gateway (or off one) changes its URLs; create a new bridge instead"))]
#[x_kube(validation = Rule::new(
    "!has(self.gatewayRef) || (!has(self.domain) && !has(self.region) && !(has(self.api) && (has(self.api.name) || has(self.api.stage) || has(self.api.throttling) || has(self.api.cors) || has(self.api.accessLogs))) && !(has(self.eventBus) && (has(self.eventBus.name) || has(self.eventBus.existingArn) || has(self.eventBus.archive))) && !(has(self.role) && (has(self.role.existingArn) || has(self.role.permissionsBoundaryArn))))"
).message("spec.gatewayRef: a bridge on a gateway uses the gateway's region, API, stage, domain, bus and role; remove spec.region, spec.api, spec.domain, spec.eventBus and spec.role (set them on the WebhookBridgeGateway)"))]
#[x_kube(validation = Rule::new(
    "(has(self.webhookSources) && size(self.webhookSources) > 0) == (has(oldSelf.webhookSources) && size(oldSelf.webhookSources) > 0)"
).message("spec.webhookSources: the ingress (API Gateway routes or webhook sources) is immutable: removing every webhook source, or adding the first, would leave the other ingress's AWS objects live; create a new bridge instead"))]
#[x_kube(validation = Rule::new(
    "(has(self.webhookSources) && size(self.webhookSources) > 0) || (has(self.routes) && size(self.routes) > 0)"
).message("spec.routes: at least one route is required (or spec.webhookSources, for signed webhooks on a gateway's Custom Event Bus)"))]
#[x_kube(validation = Rule::new(
    "!has(self.webhookSources) || size(self.webhookSources) == 0 || (has(self.gatewayRef) && (!has(self.routes) || size(self.routes) == 0))"
).message("spec.webhookSources: a bridge with webhook sources needs spec.gatewayRef (a gateway with spec.customEventBus) and no spec.routes"))]
#[serde(rename_all = "camelCase")]
pub struct WebhookBridgeSpec {
    /// Attach to a shared WebhookBridgeGateway (Gateway API `parentRefs`) instead of making an
    /// API, bus and role of its own: the bridge then owns only its routes, integrations, rules,
    /// targets and Lambda permissions, and its URLs are on the gateway's. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_ref: Option<super::gateway::GatewayRef>,

    /// AWS region for every object of this bridge. Defaults to the operator's (or CLI's) region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: Option<String>,

    /// The API Gateway HTTP API and stage that receive the webhooks.
    #[serde(default)]
    pub api: ApiSpec,

    /// The EventBridge bus events are put on: one this bridge creates and owns (default), or an
    /// existing bus referenced by ARN, which is never modified or deleted. The bus itself
    /// (`name`, `existingArn`) is immutable; its archive is not.
    #[serde(default)]
    #[x_kube(validation = Rule::new(
        "(has(self.name) ? self.name : '') == (has(oldSelf.name) ? oldSelf.name : '') && (has(self.existingArn) ? self.existingArn : '') == (has(oldSelf.existingArn) ? oldSelf.existingArn : '')"
    ).message("spec.eventBus is immutable: changing it would orphan the bus and its rules; create a new bridge instead"))]
    pub event_bus: EventBusSpec,

    /// Webhook routes. Each becomes one `METHOD /path` route with its own PutEvents integration.
    /// Empty only on a bridge whose ingress is `webhookSources`.
    #[serde(default)]
    #[schemars(length(max = 300))]
    // The route key (method + path) is the list-map key, so the apiserver itself refuses two routes
    // with one key (AWS would answer ConflictException); names are unique by a cheap CEL rule.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["method", "path"]))]
    #[x_kube(validation = Rule::new("self.all(r, self.exists_one(s, s.name == r.name))")
        .message("spec.routes: route names must be unique"))] // a `reason` would hide this message
    pub routes: Vec<RouteSpec>,

    /// Signed webhooks verified by EventBridge itself (webhook event sources on the gateway's
    /// Custom Event Bus) instead of API Gateway routes: needs `gatewayRef` to a gateway with
    /// `customEventBus`, and no `routes`. On this ingress each rule target becomes one subscriber
    /// (the rule's pattern is its filter); a target's `input`, `inputPath` and `inputTransformer`
    /// have no subscriber equivalent and are refused, `retryPolicy` and `deadLetterArn` map to
    /// the subscriber's RetryPolicy and OnFailureConfiguration, `sqsParameters` to SqsParameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub webhook_sources: Vec<super::webhook::WebhookSourceSpec>,

    /// EventBridge rules on the bus, each routing matching events to up to 5 targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub rules: Vec<RuleSpec>,

    /// The IAM role API Gateway assumes to call `events:PutEvents`. By default the bridge creates a
    /// least-privilege role allowed to put events on exactly this bus.
    #[serde(default)]
    pub role: RoleSpec,

    /// A custom domain for the webhook URLs (API Gateway domain name + API mapping), so the URL
    /// given to webhook providers survives a re-created API, another region or a recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainSpec>,

    /// What happens to the AWS objects when the WebhookBridge is deleted: `Delete` removes every
    /// object the bridge created; `Retain` leaves AWS untouched.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Extra tags added to every AWS object the bridge creates (ownership tags are always added).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    // IAM and API Gateway take tag keys and values of letters, spaces, numbers and `_.:/=+-@` only.
    #[schemars(extend("maxProperties" = 40, "additionalProperties" = {"type": "string", "maxLength": 256, "pattern": TAG_PATTERN}))]
    #[x_kube(validation = Rule::new(
        "self.all(k, !k.lowerAscii().startsWith('aws:') && !k.lowerAscii().startsWith('webhookbridge.io/') && size(k) >= 1 && size(k) <= 128 && k.matches(r'^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$'))"
    ).message("spec.tags: keys are 1 to 128 letters, spaces, numbers or _.:/=+-@ and must not start with 'aws:' or 'webhookbridge.io/' in any case (IAM tag keys are case-insensitive)"))]
    pub tags: BTreeMap<String, String>,
}

/// The HTTP API and its stage.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    /// Name of the HTTP API. Defaults to `<namespace>-<name>-<hash>` (hash of cluster,
    /// namespace and name). Names are not unique in AWS: the
    /// bridge finds its API by ownership tags, never by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub name: Option<String>,

    /// Stage name. Defaults to `$default`, served at the API endpoint root; a named stage is
    /// served at `<endpoint>/<stage>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = r"^(\$default|[A-Za-z0-9_-]{1,128})$"))]
    pub stage: Option<String>,

    /// Default route throttling of the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling: Option<Throttling>,

    /// CORS configuration of the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,

    /// Access logs of the stage, in a CloudWatch Logs log group the bridge creates and owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<AccessLogs>,
}

/// Stage access logging: one line per request, including those answered 4xx/5xx before any
/// event was put, so a provider's failed delivery can be explained.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogs {
    /// Turn logging on (`false` keeps the settings but stops logging and removes the log group).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Days CloudWatch Logs keeps the lines; one of the values CloudWatch Logs accepts.
    #[serde(default = "default_retention")]
    #[schemars(extend("enum" = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]))]
    pub retention_days: i32,
    /// Log line format (`$context` variables). Defaults to JSON with requestId, ip, requestTime,
    /// httpMethod, routeKey, status, protocol, responseLength, integrationErrorMessage and
    /// integrationLatency. Must contain `$context.requestId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    #[x_kube(validation = Rule::new("self.contains('$context.requestId')")
        .message("spec.api.accessLogs.format must contain $context.requestId (API Gateway requires it)"))]
    pub format: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_retention() -> i32 {
    30
}

/// A custom domain name the bridge creates and owns (REGIONAL endpoint, TLS 1.2, the only kind
/// HTTP APIs can be mapped to), mapped to the bridge's stage.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DomainSpec {
    /// The domain, e.g. `hooks.example.com`. Unique per region across all AWS accounts.
    #[schemars(length(min = 1, max = 253))]
    #[schemars(regex(pattern = r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"))]
    pub name: String,
    /// ARN of an ACM certificate for the domain, in the bridge's region.
    #[schemars(
        length(max = 1600),
        regex(pattern = r"^arn:aws[\w-]*:acm:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:certificate/[\w-]{1,128}$")
    )]
    pub certificate_arn: String,
    /// Path under the domain the stage is served at (`payments` gives
    /// `https://hooks.example.com/payments/...`). Empty or absent: the domain root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 300), regex(pattern = r"^([A-Za-z0-9$\-_.+!*'()]+(/[A-Za-z0-9$\-_.+!*'()]+)*)?$"))]
    pub base_path: Option<String>,
    /// Also create an external-dns `DNSEndpoint` (CNAME to the regional domain name) next to the
    /// bridge, when the cluster has that CRD.
    #[serde(default)]
    pub dns_endpoint: bool,
}

/// Stage-wide default route throttling.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    /// Maximum burst of concurrent requests.
    #[schemars(range(min = 0, max = 5000))]
    pub burst_limit: i32,
    /// Steady-state requests per second.
    #[schemars(range(min = 0.0, max = 10000.0))]
    pub rate_limit: f64,
}

/// Cross-origin resource sharing for browser callers.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    /// Allowed origins, e.g. `https://example.com` or `*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    pub allow_origins: Vec<String>,
    /// Allowed methods, e.g. `POST`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 16)))]
    pub allow_methods: Vec<String>,
    /// Allowed request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 256)))]
    pub allow_headers: Vec<String>,
    /// Response headers exposed to the browser.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 256)))]
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache the preflight answer (-1 to 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1, max = 86400))]
    pub max_age: Option<i32>,
    /// Whether credentials (cookies, authorization headers) are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
}

/// Which bus events go to.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.name) && has(self.existingArn))")
    .message("spec.eventBus: set either name (a bus the bridge creates) or existingArn (a bus it only references), not both"))]
pub struct EventBusSpec {
    /// Name of a bus this bridge creates and owns. Defaults to `<namespace>-<name>-<hash>`
    /// (hash of cluster, namespace and name, so names from different bridges never collide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), regex(pattern = r"^[.\-_A-Za-z0-9]{1,256}$"))]
    #[x_kube(validation = Rule::new("self != 'default' && !self.startsWith('aws.')")
        .message("spec.eventBus.name: 'default' and names starting with 'aws.' are reserved by AWS"))]
    pub name: Option<String>,

    /// ARN of an existing bus to put events on. The bridge never modifies or deletes it; its rules
    /// are still created (and owned) by the bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1600),
        regex(pattern = r"^arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus/[.\-_A-Za-z0-9]{1,256}$")
    )]
    pub existing_arn: Option<String>,

    /// Keep the bus's events in an EventBridge archive the bridge creates and owns, so they can
    /// be replayed (`webhook-bridge replay`) after a target dropped them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveSpec>,
}

/// An archive of the bus's events.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveSpec {
    /// Days events are kept; 0 keeps them indefinitely.
    #[schemars(range(min = 0, max = 36500))]
    pub retention_days: i32,
    /// Archive only the events matching this EventBridge pattern (default: every event on the bus
    /// except replayed ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::json_object")]
    pub pattern: Option<serde_json::Value>,
}

/// HTTP method of a route.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
#[schemars(extend("maxLength" = 7))]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Any,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Any => "ANY",
        }
    }
}

/// One webhook endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    /// Stable identifier of the route (a DNS label), used for status and garbage collection.
    #[schemars(length(min = 1, max = 40), regex(pattern = ID_PATTERN))]
    pub name: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path, e.g. `/api/webhook` or `/hooks/{tenant}`; a final `{proxy+}` is greedy.
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = PATH_PATTERN))]
    pub path: String,
    /// Who may call the route.
    #[serde(default)]
    pub authorization: Authorization,
    /// How the request becomes an EventBridge event.
    pub event: EventMapping,
}

/// Route authorization kind.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[schemars(extend("maxLength" = 7))]
pub enum AuthorizationType {
    /// Anyone may call (validate signatures downstream).
    #[default]
    #[serde(rename = "NONE")]
    None,
    /// A JWT bearer token checked by an API Gateway JWT authorizer.
    #[serde(rename = "JWT")]
    Jwt,
    /// AWS SigV4-signed requests checked against IAM.
    #[serde(rename = "AWS_IAM")]
    AwsIam,
}

impl AuthorizationType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationType::None => "NONE",
            AuthorizationType::Jwt => "JWT",
            AuthorizationType::AwsIam => "AWS_IAM",
        }
    }
}

/// Route authorization. For `JWT`, `issuer` and `audiences` are required.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "self.type == 'JWT' ? (has(self.issuer) && has(self.audiences) && size(self.audiences) > 0) : (!has(self.issuer) && !has(self.audiences) && !has(self.scopes))"
).message("authorization: type JWT requires issuer and at least one audience; issuer, audiences and scopes are only allowed with type JWT"))]
pub struct Authorization {
    /// `NONE` (default), `JWT` or `AWS_IAM`.
    #[serde(rename = "type", default)]
    pub kind: AuthorizationType,
    /// JWT issuer URL (`https://...`), e.g. your identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https://[^\s]+$"))]
    pub issuer: Option<String>,
    /// Accepted JWT audiences (`aud` claim), at most 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), inner(length(min = 1, max = 256)))]
    pub audiences: Option<Vec<String>>,
    /// OAuth scopes the token must carry, at most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 256)))]
    pub scopes: Option<Vec<String>>,
}

/// The PutEvents mapping: each value is a constant or an API Gateway selection expression
/// (`$request.body.<jsonpath>`, `$request.header.<name>`, `$request.querystring.<name>`,
/// `$request.path.<name>`, `$context.<variable>`, `$stageVariables.<name>`). API Gateway takes
/// at most 512 characters per mapping value.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventMapping {
    /// Event `Source`, e.g. `source.events` or `$request.header.X-Source`.
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = MAPPING_PATTERN))]
    pub source: String,
    /// Event `DetailType`, e.g. `$request.body.event_type`. A constant is at most 128 characters.
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = MAPPING_PATTERN))]
    // PutEvents' DetailType limit; a value not starting with `$` is a constant (as the engine's
    // check_mapping reads it). Bounded by the 256 above.
    #[x_kube(validation = Rule::new("self.startsWith('$') || size(self) <= 128")
        .message("a constant DetailType is at most 128 characters"))]
    pub detail_type: String,
    /// Event `Detail` (a JSON object). Defaults to `$request.body`.
    #[serde(default = "default_detail")]
    #[schemars(length(min = 1, max = 512))]
    #[schemars(regex(pattern = MAPPING_PATTERN))]
    pub detail: String,
    /// Event `Time` (RFC 3339), e.g. `$request.body.event_time`. Defaults to the time of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    #[schemars(regex(pattern = MAPPING_PATTERN))]
    pub time: Option<String>,
    /// Event `Resources`: an expression yielding the ARNs the event concerns, or one ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    #[schemars(regex(pattern = MAPPING_PATTERN))]
    pub resources: Option<String>,
    /// Event `TraceHeader` (X-Amzn-Trace-Id), e.g. `$request.header.X-Amzn-Trace-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    #[schemars(regex(pattern = MAPPING_PATTERN))]
    pub trace_header: Option<String>,
}

fn default_detail() -> String {
    "$request.body".to_string()
}

/// An EventBridge rule on the bus.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "self.targets.all(t, !has(t.id) || self.targets.exists_one(u, has(u.id) && u.id == t.id))"
).message("targets: ids must be unique within a rule"))]
pub struct RuleSpec {
    /// Stable identifier of the rule (a DNS label). The AWS rule name is derived from it.
    #[schemars(length(min = 1, max = 40), regex(pattern = ID_PATTERN))]
    pub name: String,
    /// Free text kept on the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub description: Option<String>,
    /// EventBridge event pattern, as a YAML/JSON object, e.g.
    /// `{source: [source.events], detail-type: [create]}`.
    #[schemars(schema_with = "crate::api::schema::json_object")]
    pub pattern: serde_json::Map<String, serde_json::Value>,
    /// Whether the rule is enabled. Defaults to true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Where matching events go (1 to 5 targets).
    #[schemars(length(min = 1, max = 5))]
    pub targets: Vec<TargetSpec>,
}

fn default_true() -> bool {
    true
}

/// One rule target.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.input) ? 1 : 0) + (has(self.inputPath) ? 1 : 0) + (has(self.inputTransformer) ? 1 : 0) <= 1"
).message("target: set at most one of input, inputPath and inputTransformer"))]
pub struct TargetSpec {
    /// Target id, unique within the rule. Defaults to one derived from the ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), regex(pattern = r"^[.\-_A-Za-z0-9]{1,64}$"))]
    pub id: Option<String>,
    /// Target ARN (Lambda function, SQS queue, Step Functions state machine, bus, ...). A Lambda
    /// target gets an invoke permission for `events.amazonaws.com` scoped to this rule.
    #[schemars(length(min = 1, max = 1600), regex(pattern = r"^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:.+$"))]
    pub arn: String,
    /// Role EventBridge assumes to reach the target: required for Step Functions, Kinesis, ECS,
    /// CodeBuild, CodePipeline, Batch and event buses in another account or region; not allowed
    /// for Lambda, SNS and SQS (their resource policy authorizes EventBridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1600), regex(pattern = r"^arn:[a-z-]+:iam::[0-9]{12}:role/.+$"))]
    pub role_arn: Option<String>,
    /// Constant JSON sent instead of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8192))]
    pub input: Option<String>,
    /// JSONPath of the part of the event to send, e.g. `$.detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), regex(pattern = r"^\$.*$"))]
    pub input_path: Option<String>,
    /// Reshape the event before sending it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformer>,
    /// SQS queue ARN receiving events that could not be delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1600), regex(pattern = r"^arn:[a-z-]+:sqs:[a-z0-9-]+:[0-9]{12}:.+$"))]
    pub dead_letter_arn: Option<String>,
    /// Delivery retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// For a FIFO SQS queue (name ending `.fifo`), which it requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs_parameters: Option<SqsParameters>,
}

/// Parameters of a FIFO SQS queue target.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SqsParameters {
    /// The FIFO message group of every event sent, e.g. `orders`.
    #[schemars(length(min = 1, max = 128))]
    pub message_group_id: String,
}

/// EventBridge input transformer.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InputTransformer {
    /// Variables taken from the event by JSONPath, e.g. `{id: $.detail.id}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 100, "additionalProperties" = {"type": "string", "maxLength": 256}))]
    pub input_paths_map: BTreeMap<String, String>,
    /// Template using `<variable>` placeholders.
    #[schemars(length(min = 1, max = 8192))]
    pub input_template: String,
}

/// Delivery retry policy of a target.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// 0 to 185 attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 185))]
    pub maximum_retry_attempts: Option<i32>,
    /// 60 to 86400 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 86400))]
    pub maximum_event_age_in_seconds: Option<i32>,
}

/// The role API Gateway assumes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.existingArn) && has(self.permissionsBoundaryArn))")
    .message("spec.role: permissionsBoundaryArn applies only to the managed role; it cannot be combined with existingArn"))]
pub struct RoleSpec {
    /// ARN of a role you manage; it must trust `apigateway.amazonaws.com` and allow
    /// `events:PutEvents` on the bus. The bridge never modifies or deletes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^arn:aws[\w-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"))]
    pub existing_arn: Option<String>,
    /// Permissions boundary set on the managed role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^arn:aws[\w-]*:iam::([0-9]{12}|aws):policy/[\w+=,.@/-]{1,512}$"))]
    pub permissions_boundary_arn: Option<String>,
}

/// What deleting the WebhookBridge does to AWS.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[schemars(extend("maxLength" = 6))]
pub enum DeletionPolicy {
    /// Remove every AWS object the bridge created.
    #[default]
    Delete,
    /// Leave AWS untouched.
    Retain,
}
