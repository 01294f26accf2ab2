//! The `WebhookBridgeGateway`: what many bridges share, owned by the platform team, in the style
//! of the Kubernetes Gateway API (a Gateway that Routes attach to through `parentRefs`). It
//! provisions the HTTP API and stage (throttling, CORS, access logs, JWT authorizers), optionally
//! a custom domain, the bus and the one role API Gateway assumes. A WebhookBridge that names it in
//! `spec.gatewayRef` owns only its routes and integrations on that API and its rules, targets
//! and Lambda permissions on that bus, so one account holds thousands of bridges inside AWS's
//! default quotas (100 buses, 1,000 roles per account).

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::policy::NamespaceSelector;
use super::spec::{ApiSpec, DeletionPolicy, DomainSpec, EventBusSpec, RoleSpec, TAG_PATTERN};
use super::status::{Condition, DomainStatus, ResourceRef};

/// AWS's default quotas a gateway is bound by ("Quotas for configuring and running an HTTP
/// API", "Amazon EventBridge quotas"): routes and integrations per API, rules per bus,
/// authorizers per API, API mappings per domain.
pub const ROUTES_PER_API: u32 = 300;
/// Fixed: AWS does not raise it. Every route has its own integration, so this bounds the routes
/// of one gateway whatever the routes quota is raised to.
pub const INTEGRATIONS_PER_API: u32 = 300;
pub const RULES_PER_BUS: u32 = 300;
pub const AUTHORIZERS_PER_API: u32 = 10;
pub const API_MAPPINGS_PER_DOMAIN: u32 = 200;

/// A WebhookBridgeGateway is the shared ingress many WebhookBridges attach to
/// (`spec.gatewayRef`): one HTTP API, stage, optional custom domain, bus and role for all of
/// them. Which namespaces may attach is said twice, as in the Gateway API: here
/// (`allowedRoutes`) and by the namespace's WebhookBridgePolicy (`gateways`). Deleting a gateway
/// waits until no bridge is attached.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "webhookbridge.io",
    version = "v1alpha1",
    kind = "WebhookBridgeGateway",
    plural = "webhookbridgegateways",
    singular = "webhookbridgegateway",
    shortname = "whbgw",
    category = "webhooks",
    namespaced,
    status = "WebhookBridgeGatewayStatus",
    cel,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".status.url"}"#,
    printcolumn = r#"{"name":"Bridges","type":"integer","jsonPath":".status.attachedBridges"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new(
    "(has(self.region) ? self.region : '') == (has(oldSelf.region) ? oldSelf.region : '')"
).message("spec.region is immutable: moving a gateway would orphan its AWS objects and every bridge on it"))]
#[serde(rename_all = "camelCase")]
pub struct WebhookBridgeGatewaySpec {
    /// AWS region of the gateway and of every bridge attached to it. Defaults to the operator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: Option<String>,

    /// The shared HTTP API and stage (name, stage, throttling, CORS, access logs).
    #[serde(default)]
    pub api: ApiSpec,

    /// JWT authorizers on the API (at most 10, AWS's quota). An attached bridge's JWT route
    /// names an issuer and audiences; they must be exactly one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub jwt_authorizers: Vec<JwtAuthorizerSpec>,

    /// The shared bus: one the gateway creates (default) or an existing one by ARN. Immutable.
    #[serde(default)]
    #[x_kube(validation = Rule::new(
        "(has(self.name) ? self.name : '') == (has(oldSelf.name) ? oldSelf.name : '') && (has(self.existingArn) ? self.existingArn : '') == (has(oldSelf.existingArn) ? oldSelf.existingArn : '')"
    ).message("spec.eventBus is immutable: every attached bridge's rules live on it"))]
    pub event_bus: EventBusSpec,

    /// A Custom Event Bus (eventsv2) for attached bridges' `webhookSources` (signed webhooks
    /// EventBridge verifies). 5 per account by default. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_event_bus: Option<super::webhook::CustomEventBusSpec>,

    /// The one role API Gateway assumes for every attached route (PutEvents on the bus only).
    #[serde(default)]
    pub role: RoleSpec,

    /// A custom domain all attached bridges' URLs are served on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainSpec>,

    /// Which bridges may attach, and under which path.
    #[serde(default)]
    pub allowed_routes: AllowedRoutes,

    /// Raised AWS quotas of the account, where AWS allows raising them.
    #[serde(default)]
    pub quotas: GatewayQuotas,

    /// `Delete` (default) removes the gateway's AWS objects once no bridge is attached; `Retain`
    /// leaves them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Extra tags on every AWS object the gateway creates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 40, "additionalProperties" = {"type": "string", "maxLength": 256, "pattern": TAG_PATTERN}))]
    #[x_kube(validation = Rule::new(
        "self.all(k, !k.lowerAscii().startsWith('aws:') && !k.lowerAscii().startsWith('webhookbridge.io/') && size(k) >= 1 && size(k) <= 128 && k.matches(r'^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$'))"
    ).message("spec.tags: keys are 1 to 128 letters, spaces, numbers or _.:/=+-@ and must not start with 'aws:' or 'webhookbridge.io/' in any case (IAM tag keys are case-insensitive)"))]
    pub tags: BTreeMap<String, String>,
}

/// A JWT authorizer of the gateway's API.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JwtAuthorizerSpec {
    /// JWT issuer URL (`https://...`).
    #[schemars(length(max = 2048), regex(pattern = r"^https://[^\s]+$"))]
    pub issuer: String,
    /// Accepted audiences (`aud`), 1 to 50.
    #[schemars(length(min = 1, max = 50), inner(length(min = 1, max = 256)))]
    pub audiences: Vec<String>,
}

/// Which bridges may attach (Gateway API `allowedRoutes`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AllowedRoutes {
    /// Namespaces whose bridges may attach.
    #[serde(default)]
    pub namespaces: RouteNamespaces,
    /// Every route path of an attached bridge must start with this; `{namespace}` stands for
    /// the bridge's namespace (e.g. `/{namespace}/`, so each team has its own part of the URL
    /// space). Unset: any path, first come (oldest bridge) first served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^/[A-Za-z0-9._~{}/-]*$"))]
    pub path_prefix: Option<String>,
}

/// Gateway API `RouteNamespaces`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.from == 'Selector' ? has(self.selector) : !has(self.selector)")
    .message("allowedRoutes.namespaces: selector is required with from: Selector and allowed only with it"))]
pub struct RouteNamespaces {
    /// `Same` (default: only the gateway's namespace), `All`, or `Selector`.
    #[serde(default)]
    pub from: FromNamespaces,
    /// With `from: Selector`: the namespaces, by their labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<NamespaceSelector>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[schemars(extend("maxLength" = 8))]
pub enum FromNamespaces {
    #[default]
    Same,
    All,
    Selector,
}

/// Quotas of the account raised above AWS's defaults (Service Quotas). Only the adjustable ones.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GatewayQuotas {
    /// Rules per event bus (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub rules_per_bus: Option<u32>,
    /// Routes per API (default 300). Integrations per API stay at 300 (fixed), and every route
    /// has one, so a gateway holds at most 300 routes whatever this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub routes_per_api: Option<u32>,
}

impl GatewayQuotas {
    /// The routes one gateway can hold: the routes quota, bounded by the fixed integrations one.
    pub fn routes(&self) -> u32 {
        self.routes_per_api.unwrap_or(ROUTES_PER_API).min(INTEGRATIONS_PER_API)
    }

    pub fn rules(&self) -> u32 {
        self.rules_per_bus.unwrap_or(RULES_PER_BUS)
    }
}

/// Observed state of a gateway: what attached bridges use, and how full it is.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBridgeGatewayStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled` (kstatus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// HTTP API id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// The API endpoint (without the stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Base URL of the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Base URL attached bridges' routes follow: the custom domain's when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_bus: Option<ResourceRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ResourceRef>,
    /// The Custom Event Bus (`spec.customEventBus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_event_bus: Option<ResourceRef>,
    /// The JWT authorizers, with their ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizers: Vec<AuthorizerStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_group: Option<ResourceRef>,
    /// Bridges attached (accepted), all namespaces.
    #[serde(default)]
    pub attached_bridges: u32,
    /// Use against each AWS quota that binds the gateway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<QuotaUse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerStatus {
    pub name: String,
    pub id: String,
    pub issuer: String,
}

/// One quota: what attached bridges use of it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUse {
    /// e.g. `routesPerApi`, `integrationsPerApi`, `rulesPerBus`, `authorizersPerApi`.
    pub quota: String,
    pub used: u32,
    pub limit: u32,
}

/// A bridge's reference to the gateway it attaches to (Gateway API `parentRefs`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRef {
    /// The WebhookBridgeGateway's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Its namespace; defaults to the bridge's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}
