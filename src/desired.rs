//! Desired state: a pure function of the spec, its owner and the AWS account it lands in. Every
//! name and ARN is deterministic, so a re-run after a crash looks for exactly what it would create.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{AuthorizationType, Cors, DeletionPolicy, WebhookBridge};
use crate::owner::{self, Owner};

/// Where the bridge lands: region and the caller's account (from STS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsEnv {
    pub region: String,
    pub account: String,
    pub partition: String,
}

pub const INTEGRATION_TIMEOUT_MS: i32 = 10_000;
pub const PAYLOAD_FORMAT_VERSION: &str = "1.0";
pub const INTEGRATION_SUBTYPE: &str = "EventBridge-PutEvents";
pub const JWT_IDENTITY_SOURCE: &str = "$request.header.Authorization";

#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub owner: Owner,
    pub env: AwsEnv,
    /// Ownership tags plus the spec's tags: set on every object created.
    pub tags: BTreeMap<String, String>,
    pub api: DesiredApi,
    pub stage: DesiredStage,
    pub authorizers: Vec<DesiredAuthorizer>,
    pub routes: Vec<DesiredRoute>,
    pub bus: DesiredBus,
    pub rules: Vec<DesiredRule>,
    pub role: DesiredRole,
    pub deletion_policy: DeletionPolicy,
    /// `spec.domain`: a custom domain name and its API mapping to the stage.
    pub domain: Option<DesiredDomain>,
    /// The access-log group (name and ARN are deterministic, so it is found even once the spec
    /// drops it); `enabled` is false when the spec has no access logs or turns them off.
    pub logs: DesiredLogs,
    /// The bus archive (name deterministic); None when the spec has none.
    pub archive: Option<DesiredArchive>,
    /// Which routes and integrations of the API are this owner's.
    pub scope: RouteScope,
    /// The gateway a bridge is attached to (its API, stage, bus and role are the gateway's).
    pub attachment: Option<crate::gateway::Attachment>,
    /// On a gateway: the spec's routes the gateway gives an older bridge (left out of `routes`),
    /// one line each for the bridge's condition.
    pub lost_routes: Vec<String>,
    /// The Custom Event Bus family: a gateway's bus, a webhook-source bridge's sources and
    /// subscribers ([`crate::desired_webhook`]).
    pub v2: crate::desired_webhook::DesiredV2,
}

/// Which routes and integrations on the API belong to the owner of a desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteScope {
    /// A standalone bridge: the API is its own, and so is every route on it.
    WholeApi,
    /// A gateway: the API is its own, its routes belong to the bridges attached to it; none is
    /// read or touched.
    NoRoutes,
    /// A bridge on a gateway: only the integrations carrying its marker
    /// ([`owner::Owner::integration_marker`]) and the routes pointing at them.
    Marked,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredDomain {
    pub name: String,
    pub certificate_arn: String,
    /// The API mapping key: "" for the domain root.
    pub base_path: String,
    pub dns_endpoint: bool,
}

impl DesiredDomain {
    /// `https://<domain>[/<basePath>]`
    pub fn url(&self) -> String {
        if self.base_path.is_empty() {
            format!("https://{}", self.name)
        } else {
            format!("https://{}/{}", self.name, self.base_path)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredLogs {
    pub group_name: String,
    /// The log group's ARN as API Gateway takes it (no trailing `:*`).
    pub group_arn: String,
    pub enabled: bool,
    pub retention_days: i32,
    pub format: String,
}

impl DesiredLogs {
    /// The stage's `AccessLogSettings` (destination ARN, format), when logging is on.
    pub fn settings(&self) -> Option<(String, String)> {
        self.enabled.then(|| (self.group_arn.clone(), self.format.clone()))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredArchive {
    pub name: String,
    pub arn: String,
    pub retention_days: i32,
    pub pattern: Option<Value>,
    /// Ownership marker (archives take no tags).
    pub description: String,
}

/// The access-log format when the spec gives none: one JSON object per request.
pub const DEFAULT_ACCESS_LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","integrationErrorMessage":"$context.integrationErrorMessage","integrationLatency":"$context.integrationLatency"}"#;

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredApi {
    pub name: String,
    pub description: String,
    pub cors: Option<Cors>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredStage {
    pub name: String,
    /// (burst, rate)
    pub throttling: Option<(i32, f64)>,
}

/// The stage limits that stand for "no stage-level throttling" once a stage had some: AWS's
/// account-level defaults per Region, 5,000 burst and 10,000 requests per second (API Gateway
/// Developer Guide, "Throttling requests to your HTTP API",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html; stage
/// limits cannot exceed the account's, so these leave the account-level limits in charge).
/// AWS offers no way to unset them: UpdateStage with an empty DefaultRouteSettings keeps the
/// old limits (AWS support, quoted in serverless/serverless#8590), and 0 or null sets them to 0,
/// which blocks all traffic (terraform-aws-modules/terraform-aws-apigateway-v2#45,
/// pulumi/pulumi-aws#2363); only deleting the stage would (hashicorp/terraform-provider-aws#14742).
pub const NO_STAGE_LIMIT: (i32, f64) = (5_000, 10_000.0);

impl DesiredStage {
    /// Whether the stage's observed limits are what the spec asks for: without throttling in the
    /// spec, a stage that never had limits or carries [`NO_STAGE_LIMIT`] is in sync.
    pub fn throttling_in_sync(&self, observed: Option<(i32, f64)>) -> bool {
        match self.throttling {
            Some(wanted) => observed == Some(wanted),
            None => observed.is_none() || observed == Some(NO_STAGE_LIMIT),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAuthorizer {
    pub name: String,
    pub issuer: String,
    pub audiences: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredRoute {
    /// The spec name; also the route's OperationName.
    pub name: String,
    pub route_key: String,
    pub path: String,
    pub authorization_type: AuthorizationType,
    /// Name of the JWT authorizer, for JWT routes.
    pub authorizer: Option<String>,
    pub scopes: Vec<String>,
    pub integration: DesiredIntegration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredIntegration {
    pub description: String,
    pub request_parameters: BTreeMap<String, String>,
    pub credentials_arn: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredBus {
    pub name: String,
    pub arn: String,
    /// Created and deleted by the bridge (false: referenced by `existingArn`, never touched).
    pub managed: bool,
    /// A referenced bus that another bridge (another namespace or cluster) created: `None`, it
    /// may be used; otherwise the policy that does not allow it (set by the engine from the
    /// bridge's governance, see `tenancy::foreign_bus_denied_by`).
    pub foreign_denied_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredRule {
    pub spec_name: String,
    pub name: String,
    pub arn: String,
    pub pattern: Value,
    pub enabled: bool,
    pub description: Option<String>,
    pub targets: Vec<DesiredTarget>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct DesiredTarget {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub input_path: Option<String>,
    /// (input paths map, template)
    pub input_transformer: Option<(BTreeMap<String, String>, String)>,
    pub dead_letter_arn: Option<String>,
    /// (maximum retry attempts, maximum event age in seconds)
    pub retry_policy: Option<(Option<i32>, Option<i32>)>,
    /// FIFO queue message group.
    pub message_group_id: Option<String>,
}

/// A Lambda invoke permission for `events.amazonaws.com`, scoped to one rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DesiredPermission {
    pub function_arn: String,
    pub statement_id: String,
    pub source_arn: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DesiredRole {
    Managed { name: String, arn: String, trust_policy: Value, policy: Value, permissions_boundary: Option<String> },
    Existing { arn: String },
}

impl DesiredRole {
    pub fn arn(&self) -> &str {
        match self {
            DesiredRole::Managed { arn, .. } | DesiredRole::Existing { arn } => arn,
        }
    }
}

impl DesiredRule {
    /// Invoke permissions this rule's Lambda targets need. Only for functions in the rule's own
    /// account: one in another account is authorized by its own policy, which the operator does
    /// not own (see [`is_cross_account_lambda`]), and AddPermission on it fails half-way.
    pub fn permissions(&self, owner: &Owner) -> Vec<DesiredPermission> {
        self.targets
            .iter()
            .filter(|t| is_lambda_arn(&t.arn) && arn_part(&t.arn, 4) == arn_part(&self.arn, 4))
            .map(|t| DesiredPermission {
                function_arn: t.arn.clone(),
                statement_id: owner.statement_id(&self.name, &t.arn),
                source_arn: self.arn.clone(),
            })
            .collect()
    }
}

impl Desired {
    /// The spec's own tags, without the ownership tags: what a tag write on an object already
    /// ours adds (the operator's IAM policy refuses tag writes carrying ownership keys, so they
    /// can only arrive at creation).
    pub fn spec_tags(&self) -> impl Iterator<Item = (&String, &String)> {
        self.tags.iter().filter(|(k, _)| !k.starts_with(owner::TAG_PREFIX))
    }

    pub fn permissions(&self) -> Vec<DesiredPermission> {
        let mut all: Vec<_> = self.rules.iter().flat_map(|r| r.permissions(&self.owner)).collect();
        all.sort();
        all.dedup();
        all
    }
}

pub fn is_lambda_arn(arn: &str) -> bool {
    arn_part(arn, 2) == Some("lambda")
}

/// A Lambda function in another account than `account`: EventBridge delivers to it directly
/// only through an execution role of the bus's account that the function's own policy allows
/// (EventBridge User Guide, "Sending events to an AWS service in another account",
/// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html).
pub fn is_cross_account_lambda(arn: &str, account: &str) -> bool {
    is_lambda_arn(arn) && arn_part(arn, 4) != Some(account)
}

/// Field `index` of an ARN (`arn:partition:service:region:account:resource`).
pub fn arn_part(arn: &str, index: usize) -> Option<&str> {
    arn.splitn(6, ':').nth(index)
}

/// The trust policy of the managed role, in the form AWS documents for a role API Gateway assumes
/// to call an AWS service from an integration (Amazon API Gateway Developer Guide, "Control
/// access to a REST API with IAM permissions": the trust policy the IAM console creates for the
/// API Gateway service role; AWS CDK's HttpEventBridgeIntegration creates the same). No
/// `aws:SourceAccount` / `aws:SourceArn` condition: there are field reports that API Gateway
/// does not send them when it assumes integration credentials, which would fail every webhook.
/// The role is still usable only from this account: attaching it to an integration takes
/// `iam:PassRole` on it, which only principals of this account can be granted.
pub fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The inline policy of the managed role: PutEvents on exactly this bus, never a wildcard.
pub fn put_events_policy(bus_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": bus_arn
        }]
    })
}

/// A rule's ARN: `rule/<bus>/<name>` on a custom bus, but `rule/<name>` on the account's default
/// bus (EventBridge API reference, PutRule RuleArn; a Lambda permission scoped to the wrong
/// SourceArn never matches).
pub fn rule_arn(partition: &str, env: &AwsEnv, bus: &str, name: &str) -> String {
    let (region, account) = (&env.region, &env.account);
    if bus == "default" {
        format!("arn:{partition}:events:{region}:{account}:rule/{name}")
    } else {
        format!("arn:{partition}:events:{region}:{account}:rule/{bus}/{name}")
    }
}

/// Build the desired state. The spec must have passed [`crate::validate`].
pub fn desired(bridge: &WebhookBridge, owner: &Owner, env: &AwsEnv) -> Desired {
    let spec = &bridge.spec;
    let p = &env.partition;
    let mut tags = spec.tags.clone();
    tags.extend(owner.tags());

    let bus = match &spec.event_bus.existing_arn {
        Some(arn) => DesiredBus {
            name: arn.rsplit('/').next().unwrap_or(arn).to_string(),
            arn: arn.clone(),
            managed: false,
            foreign_denied_by: None,
        },
        None => {
            let name = spec.event_bus.name.clone().unwrap_or_else(|| owner.default_name(256));
            let arn = format!("arn:{p}:events:{}:{}:event-bus/{name}", env.region, env.account);
            DesiredBus { name, arn, managed: true, foreign_denied_by: None }
        }
    };

    let role = match &spec.role.existing_arn {
        Some(arn) => DesiredRole::Existing { arn: arn.clone() },
        None => {
            let name = owner.role_name();
            DesiredRole::Managed {
                arn: format!("arn:{p}:iam::{}:role{}{name}", env.account, owner.role_path()),
                name,
                trust_policy: trust_policy(),
                policy: put_events_policy(&bus.arn),
                permissions_boundary: spec.role.permissions_boundary_arn.clone(),
            }
        }
    };

    let mut authorizers: Vec<DesiredAuthorizer> = Vec::new();
    let routes = spec
        .routes
        .iter()
        .map(|r| {
            let authorizer = match (r.authorization.kind, &r.authorization.issuer) {
                (AuthorizationType::Jwt, Some(issuer)) => {
                    let audiences = r.authorization.audiences.clone().unwrap_or_default();
                    let name = owner::authorizer_name(issuer, &audiences);
                    if !authorizers.iter().any(|a| a.name == name) {
                        authorizers.push(DesiredAuthorizer { name: name.clone(), issuer: issuer.clone(), audiences });
                    }
                    Some(name)
                }
                _ => None,
            };
            let e = &r.event;
            let mut params = BTreeMap::from([
                ("Source".to_string(), e.source.clone()),
                ("DetailType".to_string(), e.detail_type.clone()),
                ("Detail".to_string(), e.detail.clone()),
                ("EventBusName".to_string(), bus.arn.clone()),
            ]);
            for (key, value) in [("Time", &e.time), ("Resources", &e.resources), ("TraceHeader", &e.trace_header)] {
                if let Some(v) = value {
                    params.insert(key.to_string(), v.clone());
                }
            }
            DesiredRoute {
                name: r.name.clone(),
                route_key: format!("{} {}", r.method.as_str(), r.path),
                path: r.path.clone(),
                authorization_type: r.authorization.kind,
                authorizer,
                scopes: r.authorization.scopes.clone().unwrap_or_default(),
                integration: DesiredIntegration {
                    description: owner::integration_marker(&r.name),
                    request_parameters: params,
                    credentials_arn: role.arn().to_string(),
                },
            }
        })
        .collect();

    let rules = spec
        .rules
        .iter()
        .map(|r| {
            let name = owner.rule_name(&r.name);
            DesiredRule {
                spec_name: r.name.clone(),
                arn: rule_arn(p, env, &bus.name, &name),
                name,
                pattern: Value::Object(r.pattern.clone()),
                enabled: r.enabled,
                description: r.description.clone(),
                targets: r
                    .targets
                    .iter()
                    .map(|t| DesiredTarget {
                        id: t.id.clone().unwrap_or_else(|| owner::target_id(&t.arn)),
                        arn: t.arn.clone(),
                        role_arn: t.role_arn.clone(),
                        input: t.input.clone(),
                        input_path: t.input_path.clone(),
                        input_transformer: t
                            .input_transformer
                            .as_ref()
                            .map(|x| (x.input_paths_map.clone(), x.input_template.clone())),
                        dead_letter_arn: t.dead_letter_arn.clone(),
                        retry_policy: t
                            .retry_policy
                            .as_ref()
                            .map(|rp| (rp.maximum_retry_attempts, rp.maximum_event_age_in_seconds)),
                        message_group_id: t.sqs_parameters.as_ref().map(|p| p.message_group_id.clone()),
                    })
                    .collect(),
            }
        })
        .collect();

    Desired {
        owner: owner.clone(),
        env: env.clone(),
        tags,
        api: DesiredApi {
            name: spec.api.name.clone().unwrap_or_else(|| owner.default_name(128)),
            description: format!("Managed by webhook-bridge for {}", owner.key()),
            cors: spec.api.cors.clone(),
        },
        domain: spec.domain.as_ref().map(|dm| DesiredDomain {
            name: dm.name.clone(),
            certificate_arn: dm.certificate_arn.clone(),
            base_path: dm.base_path.clone().unwrap_or_default(),
            dns_endpoint: dm.dns_endpoint,
        }),
        logs: {
            let group_name = owner.log_group_name();
            let logs = spec.api.access_logs.as_ref();
            DesiredLogs {
                group_arn: format!("arn:{p}:logs:{}:{}:log-group:{group_name}", env.region, env.account),
                group_name,
                enabled: logs.is_some_and(|l| l.enabled),
                retention_days: logs.map_or(30, |l| l.retention_days),
                format: logs.and_then(|l| l.format.clone()).unwrap_or_else(|| DEFAULT_ACCESS_LOG_FORMAT.to_string()),
            }
        },
        archive: spec.event_bus.archive.as_ref().map(|a| {
            let name = owner.archive_name();
            DesiredArchive {
                arn: format!("arn:{p}:events:{}:{}:archive/{name}", env.region, env.account),
                name,
                retention_days: a.retention_days,
                pattern: a.pattern.clone(),
                description: owner.archive_marker(),
            }
        }),
        stage: DesiredStage {
            name: spec.api.stage.clone().unwrap_or_else(|| "$default".to_string()),
            throttling: spec.api.throttling.as_ref().map(|t| (t.burst_limit, t.rate_limit)),
        },
        authorizers,
        routes,
        bus,
        rules,
        role,
        deletion_policy: spec.deletion_policy,
        scope: RouteScope::WholeApi,
        attachment: None,
        lost_routes: Vec::new(),
        v2: Default::default(),
    }
}

/// The desired state of a bridge attached to a gateway: its routes (with integrations marked as
/// its own, putting events on the gateway's bus with the gateway's role) and its rules on that
/// bus. The API, stage, authorizers, bus and role are the gateway's: referenced, never made.
pub fn attached(bridge: &WebhookBridge, owner: &Owner, env: &AwsEnv, att: &crate::gateway::Attachment) -> Desired {
    let mut d = desired(bridge, owner, env);
    let bus_name = att.bus_arn.rsplit('/').next().unwrap_or(&att.bus_arn).to_string();
    for r in &mut d.rules {
        r.arn = rule_arn(&env.partition, env, &bus_name, &r.name);
    }
    d.bus = DesiredBus { name: bus_name, arn: att.bus_arn.clone(), managed: false, foreign_denied_by: None };
    d.role = DesiredRole::Existing { arn: att.role_arn.clone() };
    for r in &mut d.routes {
        r.integration.description = owner.integration_marker(&r.name);
        r.integration.credentials_arn = att.role_arn.clone();
        r.integration.request_parameters.insert("EventBusName".into(), att.bus_arn.clone());
    }
    d.stage = DesiredStage { name: att.stage.clone(), throttling: None };
    d.domain = None;
    d.logs.enabled = false;
    d.archive = None;
    d.scope = RouteScope::Marked;
    d.attachment = Some(att.clone());
    d
}

/// The desired state of a gateway: its API, stage, JWT authorizers, domain, bus, role, logs and
/// archive, and none of the routes on its API (those are the attached bridges').
pub fn gateway(gw: &crate::api::WebhookBridgeGateway, owner: &Owner, env: &AwsEnv) -> Desired {
    let mut d = desired(&crate::gateway::as_bridge(gw), owner, env);
    d.routes.clear();
    d.api.description = format!("Managed by webhook-bridge for gateway {}", owner.key());
    d.scope = RouteScope::NoRoutes;
    d.v2.bus = crate::desired_webhook::gateway_bus(gw, owner);
    d
}

/// examples/orders.yaml for owner c1/payments/orders (uid u1) in us-east-1, account
/// 123456789012: the desired state the AWS modules' unit tests start from.
#[cfg(test)]
pub(crate) fn orders_for_tests() -> Desired {
    let bridge = serde_saphyr::from_str(include_str!("../examples/orders.yaml")).expect("example");
    let owner = Owner { cluster: "c1".into(), namespace: "payments".into(), name: "orders".into(), uid: "u1".into() };
    let env = AwsEnv { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() };
    desired(&bridge, &owner, &env)
}
