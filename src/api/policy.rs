//! The cluster-scoped `WebhookBridgePolicy`: owned by the platform team, it decides what the
//! WebhookBridges of the namespaces it selects may make the operator do in AWS. Checked by
//! `crate::tenancy` before any AWS call.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::{AuthorizationType, Throttling};

/// A WebhookBridgePolicy governs the WebhookBridges of the namespaces its `namespaceSelector`
/// selects: which AWS identity acts for them, in which regions, on which existing AWS objects.
/// Allow-lists are ARN patterns (`*` any characters, `?` one) and fail closed: an empty or
/// missing list allows nothing. A namespace no policy selects gets nothing done in AWS (reason
/// `NoPolicy`), and one selected by two policies neither (reason `PolicyConflict`).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "webhookbridge.io",
    version = "v1alpha1",
    kind = "WebhookBridgePolicy",
    plural = "webhookbridgepolicies",
    singular = "webhookbridgepolicy",
    shortname = "whbp",
    category = "webhooks",
    printcolumn = r#"{"name":"Role","type":"string","jsonPath":".spec.assumeRoleArn"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBridgePolicySpec {
    /// The namespaces governed, by their labels (`{}` selects every namespace).
    pub namespace_selector: NamespaceSelector,
    /// The IAM role the operator assumes for these namespaces (with session tags
    /// `webhookbridge.io/cluster` and `webhookbridge.io/namespace`). Unset: the operator's own
    /// identity acts, which suits a single team, not a shared account.
    #[schemars(length(max = 2048), regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role_arn: Option<String>,
    /// Regions bridges may use (`spec.region`), as patterns (`eu-*`). Empty: none.
    #[schemars(length(max = 32), inner(length(min = 1, max = 64)))]
    #[serde(default)]
    pub allowed_regions: Vec<String>,
    /// ARN patterns of rule targets (Lambda functions, queues, topics, ...).
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub target_arns: Vec<String>,
    /// ARN patterns of target dead-letter queues.
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub dead_letter_arns: Vec<String>,
    /// ARN patterns of the roles EventBridge may assume to reach a target (`roleArn`).
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub target_role_arns: Vec<String>,
    /// ARN patterns of existing buses a bridge may put its rules on (`eventBus.existingArn`).
    /// The account's `default` bus is allowed only by a pattern that names it without a
    /// wildcard in the bus name (e.g. `arn:aws:events:*:123456789012:event-bus/default`).
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub existing_bus_arns: Vec<String>,
    /// ARN patterns of existing roles API Gateway may assume (`role.existingArn`).
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub existing_role_arns: Vec<String>,
    /// Names of the buses the operator may create for these namespaces (`eventBus.name`), as
    /// patterns; `{namespace}` stands for the bridge's namespace: write `{namespace}.*` (a dot
    /// cannot occur in a namespace name; `{namespace}-*` of namespace `team` would also match
    /// names namespace `team-b` expects). Empty: only
    /// the default name (`<namespace>-<name>-<hash>`, unique to the bridge), so no tenant can
    /// take a bus name another team expects.
    #[schemars(length(max = 100), inner(length(min = 1, max = 256)))]
    #[serde(default)]
    pub event_bus_names: Vec<String>,
    /// The WebhookBridgeGateways bridges may attach to (`spec.gatewayRef`), as `namespace/name`
    /// patterns; `{namespace}` stands for the bridge's namespace (`platform/*`,
    /// `{namespace}/*`). Empty: none. The gateway must accept the namespace too
    /// (`allowedRoutes`), as in the Gateway API.
    #[schemars(length(max = 100), inner(length(min = 1, max = 317)))]
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Custom domain names bridges may create (`domain.name`), as patterns; `{namespace}` stands
    /// for the bridge's namespace (`{namespace}.hooks.example.com`). Empty: no custom domain.
    #[schemars(length(max = 100), inner(length(min = 1, max = 253)))]
    #[serde(default)]
    pub domain_names: Vec<String>,
    /// ARN patterns of the ACM certificates those domains may use (`domain.certificateArn`).
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub certificate_arns: Vec<String>,
    /// Whether bridges may ask the operator for an external-dns `DNSEndpoint`
    /// (`domain.dnsEndpoint`): the operator writes it with its own rights, so this grants DNS
    /// records to tenants that have none. Default: no.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dns_endpoints: bool,
    /// JWT issuers routes may trust (`routes[].authorization.issuer`), as URL patterns.
    /// Empty: none, so no JWT route.
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub jwt_issuers: Vec<String>,
    /// CORS origins an API may allow (`api.cors.allowOrigins`), as patterns (`https://*.example.com`;
    /// the origin `*` is allowed only by the pattern `*`). Empty: no CORS configuration.
    #[schemars(length(max = 100), inner(length(min = 1, max = 2048)))]
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Route authorization types allowed. Empty: all (`NONE`, `JWT`, `AWS_IAM`).
    #[schemars(length(max = 3))]
    #[serde(default)]
    pub authorization_types: Vec<AuthorizationType>,
    /// A stage throttling every bridge must set, at most this (`api.throttling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_throttling: Option<Throttling>,
    /// Most routes one bridge may declare.
    #[schemars(range(min = 0, max = 300))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_routes: Option<u32>,
    /// Most rules one bridge may declare.
    #[schemars(range(min = 0, max = 300))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rules: Option<u32>,
}

/// A label selector, as Kubernetes defines it: every `matchLabels` pair and every
/// `matchExpressions` requirement must hold.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    #[schemars(extend("maxProperties" = 32))]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[schemars(length(max = 32))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelRequirement>,
}

/// `key` `operator` `values`, e.g. `team In [payments, billing]`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LabelRequirement {
    #[schemars(length(min = 1, max = 317))]
    pub key: String,
    pub operator: LabelOperator,
    /// For `In` and `NotIn` (non-empty); empty for `Exists` and `DoesNotExist`.
    #[schemars(length(max = 64), inner(length(max = 63)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 12))]
pub enum LabelOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl NamespaceSelector {
    /// Whether a namespace with these labels is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator {
                    LabelOperator::In => value.is_some_and(|v| r.values.contains(v)),
                    LabelOperator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    LabelOperator::Exists => value.is_some(),
                    LabelOperator::DoesNotExist => value.is_none(),
                }
            })
    }
}
