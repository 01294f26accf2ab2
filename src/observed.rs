//! Observed state: what AWS holds now, as plain data. Filled by `crate::aws::observe`; read by
//! the pure planner. Only objects that could be ours are listed (tagged APIs, prefixed rules,
//! the deterministic bus and role names, our Lambda statement ids).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::api::Cors;
use crate::desired::DesiredTarget;

pub type Tags = BTreeMap<String, String>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// HTTP APIs carrying our ownership tags, oldest first. More than one means an interrupted
    /// CreateApi was retried: the first is kept, the rest deleted.
    pub apis: Vec<ObsApi>,
    /// Children of the first API.
    pub stages: Vec<ObsStage>,
    pub authorizers: Vec<ObsAuthorizer>,
    pub integrations: Vec<ObsIntegration>,
    pub routes: Vec<ObsRoute>,
    pub bus: Option<ObsBus>,
    /// Rules on the bus whose names carry this bridge's prefix.
    pub rules: Vec<ObsRule>,
    /// The role with the deterministic managed-role name, if it exists.
    pub role: Option<ObsRole>,
    /// Lambda policy statements with this bridge's statement-id prefix.
    pub permissions: Vec<ObsPermission>,
    /// Custom domain names carrying our ownership tags, plus the one the spec names (whoever
    /// owns it), each with its API mappings.
    pub domains: Vec<ObsDomain>,
    /// The access-log group with the deterministic name, if it exists.
    pub log_group: Option<ObsLogGroup>,
    /// The archive with the deterministic name, if it exists.
    pub archive: Option<ObsArchive>,
    /// On a gateway's API: the route keys of routes that are not ours (another bridge's, or
    /// made outside webhook-bridge).
    pub foreign_route_keys: BTreeSet<String>,
    /// The Custom Event Bus family (`eventsv2`).
    pub v2: ObservedV2,
}

/// What AWS holds of the `eventsv2` family: a gateway's bus (by name, whoever owns it), a
/// webhook-source bridge's sources and subscribers on its gateway's bus (by name prefix).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedV2 {
    pub bus: Option<ObsV2Bus>,
    pub sources: Vec<ObsV2Source>,
    pub subscribers: Vec<ObsV2Subscriber>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsV2Bus {
    pub name: String,
    pub arn: String,
    /// CREATING, ACTIVE, CREATE_FAILED, ...
    pub state: Option<String>,
    pub state_reason: Option<String>,
    pub retention_days: Option<i32>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsV2Source {
    pub name: String,
    pub arn: String,
    pub state: Option<String>,
    pub revoked: bool,
    /// Configuration.WebhookEventsConfiguration as JSON (AWS never returns the secret).
    pub config: Option<Value>,
    pub url: Option<String>,
    pub secret_arn: Option<String>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsV2Subscriber {
    pub name: String,
    pub arn: String,
    pub target_arn: Option<String>,
    pub role_arn: Option<String>,
    /// The first filter's pattern.
    pub pattern: Option<Value>,
    /// RUNNING or STOPPED.
    pub state: Option<String>,
    /// Revoked by the bus owner (DescribeSubscriber's `Revoked`: "Revocation is terminal").
    pub revoked: bool,
    /// (maximum retry attempts, maximum event age in seconds)
    pub retry_policy: Option<(Option<i32>, Option<i32>)>,
    pub dead_letter_arn: Option<String>,
    pub message_group_id: Option<String>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsDomain {
    pub name: String,
    pub certificate_arn: Option<String>,
    pub endpoint_type: Option<String>,
    pub security_policy: Option<String>,
    /// The regional domain name the DNS record points at (`ApiGatewayDomainName`).
    pub target_domain_name: Option<String>,
    pub hosted_zone_id: Option<String>,
    pub tags: Tags,
    pub mappings: Vec<ObsMapping>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsMapping {
    pub id: String,
    pub api_id: String,
    pub stage: String,
    /// "" for the domain root.
    pub key: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsLogGroup {
    pub name: String,
    pub retention_days: Option<i32>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsArchive {
    pub name: String,
    pub arn: String,
    pub source_arn: String,
    pub description: Option<String>,
    pub pattern: Option<Value>,
    pub retention_days: i32,
    pub state: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsApi {
    pub id: String,
    pub name: String,
    pub endpoint: Option<String>,
    pub description: Option<String>,
    pub cors: Option<Cors>,
    pub tags: Tags,
    /// Seconds since the epoch (0 when unknown), to keep the oldest of duplicates.
    pub created: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsStage {
    pub name: String,
    pub auto_deploy: bool,
    pub throttling: Option<(i32, f64)>,
    /// `AccessLogSettings`: (destination ARN, format).
    pub access_log: Option<(String, String)>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsAuthorizer {
    pub id: String,
    pub name: String,
    pub issuer: Option<String>,
    pub audiences: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsIntegration {
    pub id: String,
    pub description: Option<String>,
    pub integration_type: Option<String>,
    pub subtype: Option<String>,
    pub request_parameters: BTreeMap<String, String>,
    pub credentials_arn: Option<String>,
    pub payload_format_version: Option<String>,
    pub timeout_ms: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsRoute {
    pub id: String,
    pub route_key: String,
    pub target: Option<String>,
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    pub scopes: Vec<String>,
    pub operation_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsBus {
    pub name: String,
    pub arn: String,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsRule {
    pub name: String,
    pub arn: String,
    pub pattern: Option<Value>,
    pub enabled: bool,
    pub description: Option<String>,
    pub tags: Tags,
    pub targets: Vec<DesiredTarget>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObsRole {
    pub name: String,
    pub arn: String,
    pub trust_policy: Option<Value>,
    /// Our inline policy, if present.
    pub policy: Option<Value>,
    pub permissions_boundary: Option<String>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObsPermission {
    pub function_arn: String,
    pub statement_id: String,
    pub source_arn: Option<String>,
}

impl Observed {
    pub fn api(&self) -> Option<&ObsApi> {
        self.apis.first()
    }
}

/// What an earlier pass found and confirmed as ours (kept in the bridge's status), so a resync
/// reads by id: no account-wide list, no tag reads. Anything gone, or any difference from the
/// spec, sends the pass back to the full look (search by tags) before a single write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    pub api_id: String,
    pub endpoint: Option<String>,
    /// EventBridge rules (AWS names) whose ownership tags an earlier pass read.
    pub rules: BTreeSet<String>,
    /// Read the API object itself (name, description, CORS, tags) and, in its place, not the role
    /// object (trust policy, boundary, tags; its inline policy is always read): each pass takes
    /// what it skips as last seen (see `operator::known::READ_API_EVERY`).
    pub read_api: bool,
    /// The custom domain an earlier pass found (read by name with its mappings).
    pub domain: Option<String>,
    /// An earlier pass found the access-log group / the archive.
    pub log_group: bool,
    pub archive: bool,
    /// On a gateway: (route id, integration id) of each route an earlier pass made, read by id.
    pub routes: Vec<(String, String)>,
}
