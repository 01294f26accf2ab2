//! Planning the API Gateway side: the HTTP API, its stage, JWT authorizers, integrations and routes.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::{Action, tags_missing};
use crate::desired::{
    Desired, DesiredRoute, INTEGRATION_SUBTYPE, INTEGRATION_TIMEOUT_MS, PAYLOAD_FORMAT_VERSION, RouteScope,
};
use crate::error::Error;
use crate::observed::{ObsAuthorizer, ObsIntegration, ObsRoute, Observed};
use crate::owner::route_of_integration;

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

/// The authorizer a name keeps. Authorizers carry no tags and AWS does not keep their names
/// unique, so a CreateAuthorizer retried after its answer was lost leaves two of the same name:
/// the one most routes point at is kept (then the first listed), the others are deleted once
/// no route points at them. The applier uses the same choice.
pub fn kept_authorizer<'o>(o: &'o Observed, name: &str) -> Option<&'o ObsAuthorizer> {
    let users =
        |a: &ObsAuthorizer| o.routes.iter().filter(|r| r.authorizer_id.as_deref() == Some(a.id.as_str())).count();
    o.authorizers
        .iter()
        .filter(|a| a.name == name)
        .enumerate()
        .max_by_key(|(i, a)| (users(a), Reverse(*i)))
        .map(|(_, a)| a)
}

pub(super) fn plan_api(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), Error> {
    if d.scope == RouteScope::Marked {
        // On a gateway: the API, stage and authorizers are the gateway's; only our routes and
        // their integrations are planned.
        let Some(att) = &d.attachment else {
            return Err(Error::Config("a bridge on a gateway without its attachment (a bug)".into()));
        };
        if o.api().is_none() {
            return Err(Error::GatewayNotReady(format!(
                "the API {} of gateway {} is gone; the gateway's reconcile makes it again",
                att.api_id, att.gateway
            )));
        }
        for r in &d.routes {
            if o.foreign_route_keys.contains(&r.route_key) {
                return Err(Error::RouteHeld(format!(
                    "route {} ({}) is held on gateway {}'s API by another bridge or by an object not managed by webhook-bridge; of two bridges the newer gives the key up (oldest wins)",
                    r.name, r.route_key, att.gateway
                )));
            }
        }
        plan_routes(d, o, actions, gc, &BTreeSet::new());
        return Ok(());
    }
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
        return Ok(());
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
            let access_log = d.logs.settings();
            if !stage.auto_deploy
                || !d.stage.throttling_in_sync(stage.throttling)
                || (access_log.is_some() && stage.access_log != access_log)
            {
                actions.push(Action::UpdateStage { name: stage.name.clone() });
            }
            if access_log.is_none() && stage.access_log.is_some() {
                actions.push(Action::DeleteAccessLogSettings { stage: stage.name.clone() });
            }
            if tags_missing(&d.tags, &stage.tags) {
                actions.push(Action::TagStage { name: stage.name.clone() });
            }
        }
    }
    for stage in o.stages.iter().filter(|s| s.name != d.stage.name) {
        gc.push(Action::DeleteStage { name: stage.name.clone() });
    }

    // Authorizers, by name (see `kept_authorizer`).
    let mut authorizer_changed = BTreeSet::new();
    for a in &d.authorizers {
        match kept_authorizer(o, &a.name) {
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
        let kept = d.authorizers.iter().any(|a| a.name == x.name) && kept_authorizer(o, &x.name) == Some(x);
        if !kept {
            gc.push(Action::DeleteAuthorizer { id: x.id.clone() });
        }
    }

    plan_routes(d, o, actions, gc, &authorizer_changed);
    Ok(())
}

/// The integrations and routes (of the whole API, or ours on a gateway's).
fn plan_routes(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
    authorizer_changed: &BTreeSet<&str>,
) {
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
                // No kept integration (one is created this pass): the route must be pointed at it.
                let target_ok =
                    integration.is_some_and(|id| x.target.as_deref() == Some(&format!("integrations/{id}")));
                let authorizer_ok = match &r.authorizer {
                    None => x.authorizer_id.is_none(),
                    Some(name) => {
                        !authorizer_changed.contains(name.as_str())
                            && kept_authorizer(o, name).is_some_and(|a| x.authorizer_id.as_deref() == Some(&a.id))
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
