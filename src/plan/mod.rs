//! The plan: a pure diff of desired against observed, as an ordered list of AWS writes. No I/O;
//! every decision about what to create, update in place, replace or garbage-collect is made here
//! and unit-tested. The applier only carries the actions out in order.

//!
//! By family: `iam` (the role), `events` (bus, rules, targets, Lambda statements), `archive`
//! (the bus archive), `logs` (the access-log group), `apigateway` (API, stage, authorizers,
//! integrations, routes), `domain` (custom domain, API mapping); removal order and the delete
//! plan here.

mod apigateway;
mod archive;
mod domain;
mod events;
mod eventsv2;
mod iam;
mod logs;

use std::fmt;

pub use apigateway::{kept_authorizer, kept_integration};
pub use archive::all_events as archive_all_events;
pub use domain::{ENDPOINT_TYPE, SECURITY_POLICY};
pub use eventsv2::{V2Action, json_subset};

use crate::desired::{Desired, DesiredPermission};
use crate::error::{Error, FieldError};
use crate::observed::{Observed, Tags};
use crate::owner::{Ownership, ROLE_POLICY_NAME};

/// One AWS write. Actions name objects; details come from [`Desired`] when applied.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    // IAM
    CreateRole {
        name: String,
    },
    UpdateTrustPolicy {
        name: String,
    },
    PutRolePolicy {
        name: String,
    },
    PutPermissionsBoundary {
        name: String,
        arn: String,
    },
    TagRole {
        name: String,
    },
    DeleteRolePolicy {
        name: String,
    },
    DeleteRole {
        name: String,
    },
    // EventBridge
    CreateBus {
        name: String,
    },
    TagBus {
        arn: String,
    },
    DeleteBus {
        name: String,
    },
    /// PutRule; `create` also sets the tags (PutRule only tags on creation).
    PutRule {
        name: String,
        create: bool,
    },
    TagRule {
        arn: String,
    },
    PutTargets {
        rule: String,
        ids: Vec<String>,
    },
    RemoveTargets {
        rule: String,
        ids: Vec<String>,
    },
    DeleteRule {
        name: String,
    },
    // Lambda
    AddPermission(DesiredPermission),
    RemovePermission {
        function_arn: String,
        statement_id: String,
    },
    // API Gateway
    CreateApi {
        name: String,
    },
    UpdateApi {
        id: String,
    },
    TagApi {
        id: String,
    },
    DeleteApi {
        id: String,
    },
    CreateStage {
        name: String,
    },
    UpdateStage {
        name: String,
    },
    TagStage {
        name: String,
    },
    DeleteStage {
        name: String,
    },
    CreateAuthorizer {
        name: String,
    },
    UpdateAuthorizer {
        id: String,
        name: String,
    },
    DeleteAuthorizer {
        id: String,
    },
    CreateIntegration {
        route: String,
    },
    UpdateIntegration {
        id: String,
        route: String,
    },
    DeleteIntegration {
        id: String,
    },
    CreateRoute {
        route: String,
    },
    UpdateRoute {
        id: String,
        route: String,
    },
    DeleteRoute {
        id: String,
        key: String,
    },
    /// Clear the stage's access-log settings (access logs turned off).
    DeleteAccessLogSettings {
        stage: String,
    },
    // Custom domain (API Gateway)
    CreateDomain {
        name: String,
    },
    /// A new certificate.
    UpdateDomain {
        name: String,
    },
    DeleteDomain {
        name: String,
    },
    CreateApiMapping {
        domain: String,
    },
    /// Point the mapping at the kept API, stage and key.
    UpdateApiMapping {
        domain: String,
        id: String,
    },
    DeleteApiMapping {
        domain: String,
        id: String,
    },
    // CloudWatch Logs
    CreateLogGroup {
        name: String,
    },
    PutRetentionPolicy {
        name: String,
    },
    DeleteLogGroup {
        name: String,
    },
    // EventBridge archive
    CreateArchive {
        name: String,
    },
    UpdateArchive {
        name: String,
    },
    DeleteArchive {
        name: String,
    },
    /// The Custom Event Bus family (`eventsv2`): bus, webhook sources, subscribers.
    V2(V2Action),
}

impl Action {
    /// Whether the write changes the managed role API Gateway assumes (IAM takes a while to
    /// propagate it: until then API Gateway may fail to assume the role).
    /// Whether the write only takes something away (or narrows a stage or API setting): the
    /// writes a narrowed policy's withdrawal may make. Never a create, a rule or target put, a
    /// tag or a role change: a denied bridge must not make anything (a tenant can set the
    /// finalizer itself, so "it acted before" is no proof that its objects exist).
    pub fn removes(&self) -> bool {
        use Action::*;
        matches!(
            self,
            DeleteRolePolicy { .. }
                | DeleteRole { .. }
                | DeleteBus { .. }
                | RemoveTargets { .. }
                | DeleteRule { .. }
                | RemovePermission { .. }
                | UpdateApi { .. }
                | DeleteApi { .. }
                | UpdateStage { .. }
                | DeleteStage { .. }
                | DeleteAuthorizer { .. }
                | DeleteIntegration { .. }
                | DeleteRoute { .. }
                | DeleteAccessLogSettings { .. }
                | DeleteDomain { .. }
                | DeleteApiMapping { .. }
                | DeleteLogGroup { .. }
        ) || matches!(self, V2(a) if a.removes())
    }

    pub fn changes_role(&self) -> bool {
        matches!(
            self,
            Action::CreateRole { .. }
                | Action::UpdateTrustPolicy { .. }
                | Action::PutRolePolicy { .. }
                | Action::PutPermissionsBoundary { .. }
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Action::*;
        match self {
            CreateRole { name } => write!(f, "create  iam role {name}"),
            UpdateTrustPolicy { name } => write!(f, "update  iam role {name} trust policy"),
            PutRolePolicy { name } => write!(f, "put     iam role {name} inline policy {ROLE_POLICY_NAME}"),
            PutPermissionsBoundary { name, arn } => write!(f, "update  iam role {name} permissions boundary {arn}"),
            TagRole { name } => write!(f, "tag     iam role {name}"),
            DeleteRolePolicy { name } => write!(f, "delete  iam role {name} inline policy {ROLE_POLICY_NAME}"),
            DeleteRole { name } => write!(f, "delete  iam role {name}"),
            CreateBus { name } => write!(f, "create  eventbridge bus {name}"),
            TagBus { arn } => write!(f, "tag     eventbridge bus {arn}"),
            DeleteBus { name } => write!(f, "delete  eventbridge bus {name}"),
            PutRule { name, create: true } => write!(f, "create  eventbridge rule {name}"),
            PutRule { name, create: false } => write!(f, "update  eventbridge rule {name}"),
            TagRule { arn } => write!(f, "tag     eventbridge rule {arn}"),
            PutTargets { rule, ids } => write!(f, "put     eventbridge rule {rule} targets {}", ids.join(",")),
            RemoveTargets { rule, ids } => write!(f, "remove  eventbridge rule {rule} targets {}", ids.join(",")),
            DeleteRule { name } => write!(f, "delete  eventbridge rule {name}"),
            AddPermission(p) => write!(f, "add     lambda permission {} on {}", p.statement_id, p.function_arn),
            RemovePermission { function_arn, statement_id } => {
                write!(f, "remove  lambda permission {statement_id} on {function_arn}")
            }
            CreateApi { name } => write!(f, "create  apigateway api {name}"),
            UpdateApi { id } => write!(f, "update  apigateway api {id}"),
            TagApi { id } => write!(f, "tag     apigateway api {id}"),
            DeleteApi { id } => write!(f, "delete  apigateway api {id}"),
            CreateStage { name } => write!(f, "create  apigateway stage {name}"),
            UpdateStage { name } => write!(f, "update  apigateway stage {name}"),
            TagStage { name } => write!(f, "tag     apigateway stage {name}"),
            DeleteStage { name } => write!(f, "delete  apigateway stage {name}"),
            CreateAuthorizer { name } => write!(f, "create  apigateway authorizer {name}"),
            UpdateAuthorizer { name, .. } => write!(f, "update  apigateway authorizer {name}"),
            DeleteAuthorizer { id } => write!(f, "delete  apigateway authorizer {id}"),
            CreateIntegration { route } => write!(f, "create  apigateway integration for route {route}"),
            UpdateIntegration { id, route } => write!(f, "update  apigateway integration {id} for route {route}"),
            DeleteIntegration { id } => write!(f, "delete  apigateway integration {id}"),
            CreateRoute { route } => write!(f, "create  apigateway route {route}"),
            UpdateRoute { id, route } => write!(f, "update  apigateway route {id} ({route})"),
            DeleteRoute { id, key } => write!(f, "delete  apigateway route {id} ({key})"),
            DeleteAccessLogSettings { stage } => write!(f, "delete  apigateway stage {stage} access log settings"),
            CreateDomain { name } => write!(f, "create  apigateway domain name {name}"),
            UpdateDomain { name } => write!(f, "update  apigateway domain name {name}"),
            DeleteDomain { name } => write!(f, "delete  apigateway domain name {name}"),
            CreateApiMapping { domain } => write!(f, "create  apigateway api mapping on {domain}"),
            UpdateApiMapping { domain, id } => write!(f, "update  apigateway api mapping {id} on {domain}"),
            DeleteApiMapping { domain, id } => write!(f, "delete  apigateway api mapping {id} on {domain}"),
            CreateLogGroup { name } => write!(f, "create  logs log group {name}"),
            PutRetentionPolicy { name } => write!(f, "put     logs log group {name} retention"),
            DeleteLogGroup { name } => write!(f, "delete  logs log group {name}"),
            CreateArchive { name } => write!(f, "create  eventbridge archive {name}"),
            UpdateArchive { name } => write!(f, "update  eventbridge archive {name}"),
            DeleteArchive { name } => write!(f, "delete  eventbridge archive {name}"),
            V2(a) => a.fmt(f),
        }
    }
}

/// Desired tags missing (or different) on an object.
fn tags_missing(desired: &Tags, observed: &Tags) -> bool {
    desired.iter().any(|(k, v)| observed.get(k) != Some(v))
}

fn conflict(field: &str, message: String) -> Error {
    Error::Conflict(FieldError::new(field, message))
}

/// Plan the writes that bring AWS to `desired`. Errors when a name we need is held by an object
/// that is not ours (terminal) or a referenced object is missing (retryable).
pub fn plan(d: &Desired, o: &Observed) -> Result<Vec<Action>, Error> {
    let mut actions = Vec::new();
    let mut gc = Vec::new();
    iam::plan_role(d, o, &mut actions, &mut gc)?;
    events::plan_bus(d, o, &mut actions)?;
    archive::plan_archive(d, o, &mut actions, &mut gc)?;
    events::plan_rules(d, o, &mut actions, &mut gc)?;
    logs::plan_log_group(d, o, &mut actions, &mut gc)?;
    apigateway::plan_api(d, o, &mut actions, &mut gc)?;
    domain::plan_domain(d, o, &mut actions, &mut gc)?;
    eventsv2::plan_bus(d, o, &mut actions, &mut gc)?;
    eventsv2::plan_webhook(d, o, &mut actions, &mut gc)?;
    // Garbage collection runs last, once nothing new depends on what it removes.
    gc.sort_by_key(gc_rank);
    actions.extend(gc);
    Ok(actions)
}

/// Dependency order of removals: routes before integrations before authorizers before stages
/// before APIs; Lambda permissions before targets before rules; the old managed role last.
/// Permissions go first for crash safety: a Lambda statement is found through the rule that
/// targets the function, so once a target is removed nothing would lead a re-run to its
/// statement. (Events to a target being removed may fail for the moment between the two.)
fn gc_rank(a: &Action) -> u8 {
    match a {
        Action::DeleteApiMapping { .. } => 0,
        Action::DeleteDomain { .. } => 1,
        Action::DeleteRoute { .. } => 2,
        Action::DeleteIntegration { .. } => 3,
        Action::DeleteAuthorizer { .. } => 4,
        Action::DeleteStage { .. } => 5,
        Action::DeleteApi { .. } => 6,
        Action::DeleteLogGroup { .. } => 7,
        Action::RemovePermission { .. } => 8,
        Action::RemoveTargets { .. } => 9,
        Action::DeleteRule { .. } => 10,
        Action::DeleteArchive { .. } => 11,
        // Subscribers and sources before the role they use; the bus after its sources.
        Action::V2(a) if a.removes() => 10 + eventsv2::gc_rank(a) / 2,
        Action::DeleteRolePolicy { .. } => 12,
        Action::DeleteRole { .. } => 13,
        _ => 14,
    }
}

/// Plan the removal of everything the bridge owns (deletionPolicy `Delete`). Objects without our
/// tags are never in the plan: an existing bus or role is only referenced.
pub fn plan_delete(d: &Desired, o: &Observed) -> Vec<Action> {
    let owner = &d.owner;
    let mut actions = Vec::new();
    for domain in o.domains.iter().filter(|x| owner.ownership(&x.tags) == Ownership::Ours) {
        domain::delete_domain(domain, &mut actions);
    }
    if d.scope == crate::desired::RouteScope::Marked {
        // On a gateway's API: only our routes, then their integrations (observe read no other).
        for r in &o.routes {
            actions.push(Action::DeleteRoute { id: r.id.clone(), key: r.route_key.clone() });
        }
        for i in &o.integrations {
            actions.push(Action::DeleteIntegration { id: i.id.clone() });
        }
    } else {
        // Deleting an HTTP API removes its routes, integrations, authorizers and stages with it.
        for api in &o.apis {
            actions.push(Action::DeleteApi { id: api.id.clone() });
        }
    }
    if let Some(group) = &o.log_group
        && owner.ownership(&group.tags) == Ownership::Ours
    {
        actions.push(Action::DeleteLogGroup { name: group.name.clone() });
    }
    let ours: Vec<_> = o.rules.iter().filter(|r| owner.ownership(&r.tags) == Ownership::Ours).collect();
    // Permissions before targets (see `gc_rank`).
    for p in &o.permissions {
        actions.push(Action::RemovePermission {
            function_arn: p.function_arn.clone(),
            statement_id: p.statement_id.clone(),
        });
    }
    for rule in &ours {
        if !rule.targets.is_empty() {
            actions.push(Action::RemoveTargets {
                rule: rule.name.clone(),
                ids: rule.targets.iter().map(|t| t.id.clone()).collect(),
            });
        }
    }
    for rule in &ours {
        actions.push(Action::DeleteRule { name: rule.name.clone() });
    }
    // The archive's managed rule keeps the bus from being deleted until the archive goes.
    if let Some(archive) = &o.archive
        && owner.archive_ownership(archive.description.as_deref()) == Ownership::Ours
    {
        actions.push(Action::DeleteArchive { name: archive.name.clone() });
    }
    if let Some(bus) = &o.bus
        && d.bus.managed
        && owner.ownership(&bus.tags) == Ownership::Ours
    {
        actions.push(Action::DeleteBus { name: bus.name.clone() });
    }
    eventsv2::plan_delete(d, o, &mut actions);
    if let Some(role) = &o.role
        && owner.ownership(&role.tags) == Ownership::Ours
    {
        if role.policy.is_some() {
            actions.push(Action::DeleteRolePolicy { name: role.name.clone() });
        }
        actions.push(Action::DeleteRole { name: role.name.clone() });
    }
    actions
}

#[cfg(test)]
mod production_tests;
#[cfg(test)]
mod tests;
