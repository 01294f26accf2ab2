//! The plan: a pure diff of desired against observed, as an ordered list of AWS writes. No I/O;
//! every decision about what to create, update in place, replace or garbage-collect is made here
//! and unit-tested. The applier only carries the actions out in order.

use std::collections::BTreeSet;
use std::fmt;

use crate::desired::{
    Desired, DesiredPermission, DesiredRole, DesiredRoute, DesiredTarget, INTEGRATION_SUBTYPE, INTEGRATION_TIMEOUT_MS,
    PAYLOAD_FORMAT_VERSION,
};
use crate::error::{Error, FieldError};
use crate::observed::{ObsIntegration, ObsRoute, Observed, Tags};
use crate::owner::{Ownership, ROLE_POLICY_NAME, route_of_integration};

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
    DeletePermissionsBoundary {
        name: String,
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
}

impl Action {
    /// Whether the write changes the managed role API Gateway assumes (IAM takes a while to
    /// propagate it: until then API Gateway may fail to assume the role).
    pub fn changes_role(&self) -> bool {
        matches!(
            self,
            Action::CreateRole { .. }
                | Action::UpdateTrustPolicy { .. }
                | Action::PutRolePolicy { .. }
                | Action::PutPermissionsBoundary { .. }
                | Action::DeletePermissionsBoundary { .. }
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
            DeletePermissionsBoundary { name } => write!(f, "delete  iam role {name} permissions boundary"),
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
    plan_role(d, o, &mut actions, &mut gc)?;
    plan_bus(d, o, &mut actions)?;
    plan_rules(d, o, &mut actions, &mut gc)?;
    plan_api(d, o, &mut actions, &mut gc);
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
        Action::DeleteRoute { .. } => 0,
        Action::DeleteIntegration { .. } => 1,
        Action::DeleteAuthorizer { .. } => 2,
        Action::DeleteStage { .. } => 3,
        Action::DeleteApi { .. } => 4,
        Action::RemovePermission { .. } => 5,
        Action::RemoveTargets { .. } => 6,
        Action::DeleteRule { .. } => 7,
        Action::DeleteRolePolicy { .. } => 8,
        Action::DeleteRole { .. } => 9,
        _ => 10,
    }
}

fn plan_role(d: &Desired, o: &Observed, actions: &mut Vec<Action>, gc: &mut Vec<Action>) -> Result<(), Error> {
    let owner = &d.owner;
    match (&d.role, &o.role) {
        (DesiredRole::Managed { name, .. }, None) => {
            actions.push(Action::CreateRole { name: name.clone() });
            actions.push(Action::PutRolePolicy { name: name.clone() });
        }
        (DesiredRole::Managed { name, trust_policy, policy, permissions_boundary, .. }, Some(role)) => {
            if owner.ownership(&role.tags) != Ownership::Ours {
                return Err(conflict(
                    "spec.role",
                    format!(
                        "IAM role {name} already exists and is not owned by this bridge; delete it or set spec.role.existingArn"
                    ),
                ));
            }
            if role.trust_policy.as_ref() != Some(trust_policy) {
                actions.push(Action::UpdateTrustPolicy { name: name.clone() });
            }
            if role.policy.as_ref() != Some(policy) {
                actions.push(Action::PutRolePolicy { name: name.clone() });
            }
            match (permissions_boundary, &role.permissions_boundary) {
                (Some(want), have) if have.as_ref() != Some(want) => {
                    actions.push(Action::PutPermissionsBoundary { name: name.clone(), arn: want.clone() })
                }
                (None, Some(_)) => actions.push(Action::DeletePermissionsBoundary { name: name.clone() }),
                _ => {}
            }
            if tags_missing(&d.tags, &role.tags) {
                actions.push(Action::TagRole { name: name.clone() });
            }
        }
        // Switched to a user-managed role: remove the one we made before, if any.
        (DesiredRole::Existing { .. }, Some(role)) if owner.ownership(&role.tags) == Ownership::Ours => {
            if role.policy.is_some() {
                gc.push(Action::DeleteRolePolicy { name: role.name.clone() });
            }
            gc.push(Action::DeleteRole { name: role.name.clone() });
        }
        (DesiredRole::Existing { .. }, _) => {}
    }
    Ok(())
}

fn plan_bus(d: &Desired, o: &Observed, actions: &mut Vec<Action>) -> Result<(), Error> {
    match (&o.bus, d.bus.managed) {
        (None, true) => actions.push(Action::CreateBus { name: d.bus.name.clone() }),
        (Some(bus), true) => {
            if d.owner.ownership(&bus.tags) != Ownership::Ours {
                return Err(conflict(
                    "spec.eventBus.name",
                    format!(
                        "event bus {} already exists and is not owned by this bridge; choose another name or reference it with existingArn",
                        d.bus.name
                    ),
                ));
            }
            if tags_missing(&d.tags, &bus.tags) {
                actions.push(Action::TagBus { arn: bus.arn.clone() });
            }
        }
        (None, false) => {
            return Err(Error::DependencyMissing(FieldError::new(
                "spec.eventBus.existingArn",
                format!("event bus {} does not exist", d.bus.arn),
            )));
        }
        (Some(_), false) => {}
    }
    Ok(())
}

fn plan_rules(d: &Desired, o: &Observed, actions: &mut Vec<Action>, gc: &mut Vec<Action>) -> Result<(), Error> {
    let owner = &d.owner;
    let desired_perms = d.permissions();
    let have_perms: BTreeSet<(&str, &str, Option<&str>)> = o
        .permissions
        .iter()
        .map(|p| (p.function_arn.as_str(), p.statement_id.as_str(), p.source_arn.as_deref()))
        .collect();

    for (i, rule) in d.rules.iter().enumerate() {
        let observed = o.rules.iter().find(|r| r.name == rule.name);
        if let Some(obs) = observed
            && owner.ownership(&obs.tags) != Ownership::Ours
        {
            return Err(conflict(
                &format!("spec.rules[{i}].name"),
                format!("EventBridge rule {} already exists and is not owned by this bridge", rule.name),
            ));
        }
        match observed {
            None => actions.push(Action::PutRule { name: rule.name.clone(), create: true }),
            Some(obs) => {
                let same = obs.pattern.as_ref() == Some(&rule.pattern)
                    && obs.enabled == rule.enabled
                    && obs.description.as_deref().unwrap_or("") == rule.description.as_deref().unwrap_or("");
                if !same {
                    actions.push(Action::PutRule { name: rule.name.clone(), create: false });
                }
                if tags_missing(&d.tags, &obs.tags) {
                    actions.push(Action::TagRule { arn: obs.arn.clone() });
                }
            }
        }
        // Invoke permissions before the targets that need them.
        for p in rule.permissions(owner) {
            if !have_perms.contains(&(p.function_arn.as_str(), p.statement_id.as_str(), Some(p.source_arn.as_str()))) {
                actions.push(Action::AddPermission(p));
            }
        }
        let have: &[DesiredTarget] = observed.map(|r| r.targets.as_slice()).unwrap_or(&[]);
        let put: Vec<String> = rule.targets.iter().filter(|t| !have.contains(t)).map(|t| t.id.clone()).collect();
        if !put.is_empty() {
            actions.push(Action::PutTargets { rule: rule.name.clone(), ids: put });
        }
        let remove: Vec<String> =
            have.iter().filter(|t| !rule.targets.iter().any(|w| w.id == t.id)).map(|t| t.id.clone()).collect();
        if !remove.is_empty() {
            gc.push(Action::RemoveTargets { rule: rule.name.clone(), ids: remove });
        }
    }

    // Rules the spec no longer names (only ours: a prefixed rule someone else tagged is left alone).
    for obs in &o.rules {
        if d.rules.iter().any(|r| r.name == obs.name) || owner.ownership(&obs.tags) != Ownership::Ours {
            continue;
        }
        if !obs.targets.is_empty() {
            gc.push(Action::RemoveTargets {
                rule: obs.name.clone(),
                ids: obs.targets.iter().map(|t| t.id.clone()).collect(),
            });
        }
        gc.push(Action::DeleteRule { name: obs.name.clone() });
    }

    // Permissions nothing needs any more (or whose rule ARN changed).
    for p in &o.permissions {
        let wanted = desired_perms.iter().any(|w| {
            w.function_arn == p.function_arn
                && w.statement_id == p.statement_id
                && Some(w.source_arn.as_str()) == p.source_arn.as_deref()
        });
        if !wanted {
            gc.push(Action::RemovePermission {
                function_arn: p.function_arn.clone(),
                statement_id: p.statement_id.clone(),
            });
        }
    }
    Ok(())
}

fn integration_matches(route: &DesiredRoute, i: &ObsIntegration) -> bool {
    i.integration_type.as_deref() == Some("AWS_PROXY")
        && i.subtype.as_deref() == Some(INTEGRATION_SUBTYPE)
        && i.request_parameters == route.integration.request_parameters
        && i.credentials_arn.as_deref() == Some(route.integration.credentials_arn.as_str())
        && i.payload_format_version.as_deref() == Some(PAYLOAD_FORMAT_VERSION)
        && i.timeout_ms == Some(INTEGRATION_TIMEOUT_MS)
}

/// The integration a route keeps: found by its description marker, and updatable in place, i.e.
/// mapping no key the spec dropped. (UpdateIntegration merges RequestParameters, and a mapping
/// value must be 1 to 512 characters, so a key cannot be removed by an update: such an
/// integration is replaced instead: create, repoint the route, delete the old one.) Among
/// duplicates left by an interrupted run, the one a route points at, else the first. The applier
/// uses the same choice.
pub fn kept_integration<'o>(o: &'o Observed, route: &DesiredRoute) -> Option<&'o ObsIntegration> {
    let wanted = &route.integration.request_parameters;
    let mut candidates = o.integrations.iter().filter(|i| {
        i.description.as_deref().and_then(route_of_integration) == Some(route.name.as_str())
            && i.request_parameters.keys().all(|k| wanted.contains_key(k))
    });
    let first = candidates.clone().next();
    let referenced = candidates.find(|i| {
        let target = format!("integrations/{}", i.id);
        o.routes.iter().any(|rt| rt.target.as_deref() == Some(target.as_str()))
    });
    referenced.or(first)
}

fn plan_api(d: &Desired, o: &Observed, actions: &mut Vec<Action>, gc: &mut Vec<Action>) {
    let Some(api) = o.api() else {
        actions.push(Action::CreateApi { name: d.api.name.clone() });
        actions.push(Action::CreateStage { name: d.stage.name.clone() });
        for a in &d.authorizers {
            actions.push(Action::CreateAuthorizer { name: a.name.clone() });
        }
        for r in &d.routes {
            actions.push(Action::CreateIntegration { route: r.name.clone() });
            actions.push(Action::CreateRoute { route: r.name.clone() });
        }
        return;
    };
    for extra in &o.apis[1..] {
        gc.push(Action::DeleteApi { id: extra.id.clone() });
    }
    if api.name != d.api.name
        || api.cors != d.api.cors
        || api.description.as_deref() != Some(d.api.description.as_str())
    {
        actions.push(Action::UpdateApi { id: api.id.clone() });
    }
    if tags_missing(&d.tags, &api.tags) {
        actions.push(Action::TagApi { id: api.id.clone() });
    }

    // Stage.
    match o.stages.iter().find(|s| s.name == d.stage.name) {
        None => actions.push(Action::CreateStage { name: d.stage.name.clone() }),
        Some(stage) => {
            if !stage.auto_deploy || stage.throttling != d.stage.throttling {
                actions.push(Action::UpdateStage { name: stage.name.clone() });
            }
            if tags_missing(&d.tags, &stage.tags) {
                actions.push(Action::TagStage { name: stage.name.clone() });
            }
        }
    }
    for stage in o.stages.iter().filter(|s| s.name != d.stage.name) {
        gc.push(Action::DeleteStage { name: stage.name.clone() });
    }

    // Authorizers, by name.
    let mut authorizer_changed = BTreeSet::new();
    for a in &d.authorizers {
        match o.authorizers.iter().find(|x| x.name == a.name) {
            None => {
                actions.push(Action::CreateAuthorizer { name: a.name.clone() });
                authorizer_changed.insert(a.name.as_str());
            }
            Some(x) if x.issuer.as_deref() != Some(a.issuer.as_str()) || x.audiences != a.audiences => {
                actions.push(Action::UpdateAuthorizer { id: x.id.clone(), name: a.name.clone() })
            }
            Some(_) => {}
        }
    }
    for x in &o.authorizers {
        if !d.authorizers.iter().any(|a| a.name == x.name) {
            gc.push(Action::DeleteAuthorizer { id: x.id.clone() });
        }
    }

    // Integrations, one per route (see `kept_integration`).
    let mut kept_integrations: Vec<(&str, &ObsIntegration)> = Vec::new();
    for r in &d.routes {
        match kept_integration(o, r) {
            None => actions.push(Action::CreateIntegration { route: r.name.clone() }),
            Some(i) => {
                if !integration_matches(r, i) {
                    actions.push(Action::UpdateIntegration { id: i.id.clone(), route: r.name.clone() });
                }
                kept_integrations.push((r.name.as_str(), i));
            }
        }
    }

    // Routes: matched by route key first (AWS keeps keys unique), then by operation name (a
    // changed path is updated in place), else created.
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut matched: Vec<(&DesiredRoute, Option<&ObsRoute>)> = Vec::new();
    for r in &d.routes {
        let by_key = o.routes.iter().find(|x| x.route_key == r.route_key);
        if let Some(x) = by_key {
            used.insert(x.id.as_str());
        }
        matched.push((r, by_key));
    }
    for (r, slot) in matched.iter_mut() {
        if slot.is_none() {
            let by_name = o.routes.iter().find(|x| {
                !used.contains(x.id.as_str())
                    && x.operation_name.as_deref() == Some(r.name.as_str())
                    && !d.routes.iter().any(|other| other.route_key == x.route_key)
            });
            if let Some(x) = by_name {
                used.insert(x.id.as_str());
                *slot = Some(x);
            }
        }
    }
    for (r, slot) in &matched {
        match slot {
            None => actions.push(Action::CreateRoute { route: r.name.clone() }),
            Some(x) => {
                let integration = kept_integrations.iter().find(|(n, _)| *n == r.name).map(|(_, i)| i.id.as_str());
                let target_ok = integration.map(|id| format!("integrations/{id}")) == x.target;
                let authorizer_ok = match &r.authorizer {
                    None => x.authorizer_id.is_none(),
                    Some(name) => {
                        !authorizer_changed.contains(name.as_str())
                            && o.authorizers
                                .iter()
                                .any(|a| &a.name == name && x.authorizer_id.as_deref() == Some(&a.id))
                    }
                };
                let same = target_ok
                    && authorizer_ok
                    && x.route_key == r.route_key
                    && x.authorization_type.as_deref().unwrap_or("NONE") == r.authorization_type.as_str()
                    && x.scopes == r.scopes
                    && x.operation_name.as_deref() == Some(r.name.as_str());
                if !same {
                    actions.push(Action::UpdateRoute { id: x.id.clone(), route: r.name.clone() });
                }
            }
        }
    }
    for x in &o.routes {
        if !used.contains(x.id.as_str()) {
            gc.push(Action::DeleteRoute { id: x.id.clone(), key: x.route_key.clone() });
        }
    }
    for i in &o.integrations {
        if !kept_integrations.iter().any(|(_, k)| k.id == i.id) {
            gc.push(Action::DeleteIntegration { id: i.id.clone() });
        }
    }
}

/// Plan the removal of everything the bridge owns (deletionPolicy `Delete`). Objects without our
/// tags are never in the plan: an existing bus or role is only referenced.
pub fn plan_delete(d: &Desired, o: &Observed) -> Vec<Action> {
    let owner = &d.owner;
    let mut actions = Vec::new();
    // Deleting an HTTP API removes its routes, integrations, authorizers and stages with it.
    for api in &o.apis {
        actions.push(Action::DeleteApi { id: api.id.clone() });
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
    if let Some(bus) = &o.bus
        && d.bus.managed
        && owner.ownership(&bus.tags) == Ownership::Ours
    {
        actions.push(Action::DeleteBus { name: bus.name.clone() });
    }
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
#[path = "plan_tests.rs"]
mod tests;
