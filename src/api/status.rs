//! The `WebhookBridge` status: kstatus conditions plus everything a user needs to call the webhook
//! and find its AWS objects. Written only by the controller / CLI, never by users.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types, following kstatus so Argo CD and Flux read health without custom checks.
pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
/// Informational (does not block Ready): targets whose failed deliveries are dropped, not kept.
pub const NO_DEAD_LETTER_QUEUE: &str = "NoDeadLetterQueue";

/// Observed state of a WebhookBridge.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBridgeStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling` and `Stalled` (kstatus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Base URL of the stage, e.g. `https://abc123.execute-api.us-east-1.amazonaws.com/dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// HTTP API id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// Stage name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// One entry per route, with its webhook URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteStatus>,
    /// The WebhookBridgeGateway (`namespace/name`) whose API, bus and role the bridge uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The bus events are put on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_bus: Option<ResourceRef>,
    /// The role API Gateway assumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ResourceRef>,
    /// One entry per rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleStatus>,
    /// One entry per webhook event source (`spec.webhookSources`), with the URL to give the
    /// provider and the Secrets Manager secret of its credential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_sources: Vec<super::webhook::WebhookSourceStatus>,
    /// The subscribers of a webhook-source bridge (one per rule target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribers: Vec<super::webhook::SubscriberStatus>,
    /// The custom domain (`spec.domain`) and what its DNS record must point at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainStatus>,
    /// The log group of the stage's access logs (`spec.api.accessLogs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_group: Option<ResourceRef>,
    /// The archive of the bus (`spec.eventBus.archive`), the source of `webhook-bridge replay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ResourceRef>,
    /// Targets with a dead-letter queue, of all targets, e.g. `1/3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queues: Option<String>,
    /// The managed role changed (created, policy or trust updated); API Gateway can assume it
    /// once IAM has propagated the change, expected by this time (RFC 3339). Until then the
    /// bridge is not Ready (reason `RolePropagating`): webhooks may still be answered 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_usable_after: Option<String>,
    /// When the bridge last converged: AWS changes applied or conditions changed (RFC 3339).
    /// An in-sync resync does not rewrite it, so it causes no write to Kubernetes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<String>,
}

/// A kstatus condition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Reconciling` or `Stalled`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// One CamelCase word a program can match on.
    pub reason: String,
    /// What happened, for humans.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The generation this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Status of one route.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// The route's `name` in the spec.
    pub name: String,
    /// `METHOD /path`.
    pub route_key: String,
    /// Full webhook URL (path parameters appear as `{name}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// API Gateway route id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_id: Option<String>,
    /// API Gateway integration id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
}

/// A referenced AWS object and whether the bridge owns it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub name: String,
    pub arn: String,
    /// True when the bridge created the object and deletes it with the bridge.
    pub managed: bool,
}

/// Status of one rule.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuleStatus {
    /// The rule's `name` in the spec.
    pub name: String,
    /// The EventBridge rule name.
    pub aws_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Number of targets attached.
    pub targets: u32,
}

/// The custom domain of a bridge.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DomainStatus {
    pub name: String,
    /// Base URL on the custom domain (the routes' paths follow it).
    pub url: String,
    /// The regional domain name the DNS record points at (CNAME, or Route 53 alias target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_domain_name: Option<String>,
    /// Route 53 hosted zone id of the regional endpoint (for an alias record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    /// One entry per route: its URL on the custom domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_urls: Vec<String>,
}
