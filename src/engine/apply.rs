//! The engine's writes: the plan's actions carried out in order, each by its object family's
//! module (`crate::aws::<family>`), with the ids created on the way threaded to the actions that
//! need them.

use std::collections::BTreeMap;

use super::{Created, Engine};
use crate::aws::{Clients, apigateway, archive, domain, eventbridge, iam, lambda, logs};
use crate::desired::{self, Desired};
use crate::error::Error;
use crate::observed::Observed;
use crate::owner::Ownership;
use crate::plan::{self, Action};

/// DeleteEventBus tries within one pass (waits of `retry_delay`, then twice that) before the
/// refusal is handed to the caller's backoff as [`Error::BusDraining`].
const BUS_DELETE_TRIES: u32 = 3;

impl Engine {
    /// Carry out the actions in order. Ids of objects created on the way (API, integrations,
    /// authorizers) are threaded to the actions that need them, and returned.
    pub async fn apply(&self, c: &Clients, d: &Desired, o: &Observed, actions: &[Action]) -> Result<Created, Error> {
        let mut created = Created::default();
        let mut api_id = o.api().map(|a| a.id.clone());
        let mut integrations: BTreeMap<String, String> = d
            .routes
            .iter()
            .filter_map(|r| plan::kept_integration(o, r).map(|i| (r.name.clone(), i.id.clone())))
            .collect();
        let mut authorizers: BTreeMap<String, String> = d
            .authorizers
            .iter()
            .filter_map(|a| plan::kept_authorizer(o, &a.name).map(|x| (a.name.clone(), x.id.clone())))
            .collect();

        for (done, action) in actions.iter().enumerate() {
            let api = || {
                api_id.clone().ok_or_else(|| Error::Config(format!("{action}: no API id (a bug in the plan order)")))
            };
            let route = |name: &str| {
                d.routes
                    .iter()
                    .find(|r| r.name == name)
                    .ok_or_else(|| Error::Config(format!("{action}: route {name} is not in the spec")))
            };
            let rule = |name: &str| {
                d.rules
                    .iter()
                    .find(|r| r.name == name)
                    .ok_or_else(|| Error::Config(format!("{action}: rule {name} is not in the spec")))
            };
            match action {
                Action::CreateRole { .. } => Box::pin(iam::create_role(&c.iam, d)).await?,
                Action::UpdateTrustPolicy { .. } => Box::pin(iam::update_trust_policy(&c.iam, d)).await?,
                Action::PutRolePolicy { .. } => Box::pin(iam::put_role_policy(&c.iam, d)).await?,
                Action::PutPermissionsBoundary { name, arn } => {
                    Box::pin(iam::put_permissions_boundary(&c.iam, name, arn)).await?
                }
                Action::TagRole { name } => Box::pin(iam::tag_role(&c.iam, d, name)).await?,
                Action::DeleteRolePolicy { name } => Box::pin(iam::delete_role_policy(&c.iam, name)).await?,
                Action::DeleteRole { name } => Box::pin(iam::delete_role(&c.iam, name)).await?,
                Action::CreateBus { .. } => Box::pin(eventbridge::create_bus(&c.events, d)).await?,
                Action::TagBus { arn } | Action::TagRule { arn } => {
                    Box::pin(eventbridge::tag(&c.events, d, arn)).await?
                }
                Action::DeleteBus { name } => Box::pin(self.delete_bus(c, d, o, name)).await?,
                Action::PutRule { name, create } => {
                    Box::pin(eventbridge::put_rule(&c.events, d, rule(name)?, *create)).await?
                }
                Action::PutTargets { rule: name, ids } => {
                    Box::pin(eventbridge::put_targets(&c.events, d, rule(name)?, ids)).await?
                }
                Action::RemoveTargets { rule, ids } => {
                    Box::pin(eventbridge::remove_targets(&c.events, d, rule, ids)).await?
                }
                Action::DeleteRule { name } => Box::pin(eventbridge::delete_rule(&c.events, d, name)).await?,
                Action::AddPermission(p) => Box::pin(lambda::add_permission(&c.lambda, p)).await?,
                Action::RemovePermission { function_arn, statement_id } => {
                    Box::pin(lambda::remove_permission(&c.lambda, function_arn, statement_id)).await?
                }
                Action::CreateApi { .. } => {
                    let (id, endpoint) = Box::pin(apigateway::create_api(&c.apigateway, d)).await?;
                    api_id = Some(id.clone());
                    created.api = Some((id, endpoint));
                }
                Action::UpdateApi { id } => Box::pin(apigateway::update_api(&c.apigateway, d, id)).await?,
                Action::TagApi { id } => Box::pin(apigateway::tag(&c.apigateway, d, id, None)).await?,
                Action::DeleteApi { id } => Box::pin(apigateway::delete_api(&c.apigateway, id)).await?,
                Action::CreateStage { .. } => Box::pin(apigateway::create_stage(&c.apigateway, d, &api()?)).await?,
                Action::UpdateStage { .. } => Box::pin(apigateway::update_stage(&c.apigateway, d, &api()?)).await?,
                Action::TagStage { name } => Box::pin(apigateway::tag(&c.apigateway, d, &api()?, Some(name))).await?,
                Action::DeleteStage { name } => {
                    Box::pin(apigateway::delete_stage(&c.apigateway, &api()?, name)).await?
                }
                Action::CreateAuthorizer { name } => {
                    let id = Box::pin(apigateway::create_authorizer(&c.apigateway, d, &api()?, name)).await?;
                    authorizers.insert(name.clone(), id);
                }
                Action::UpdateAuthorizer { id, name } => {
                    Box::pin(apigateway::update_authorizer(&c.apigateway, d, &api()?, id, name)).await?
                }
                Action::DeleteAuthorizer { id } => {
                    Box::pin(apigateway::delete_authorizer(&c.apigateway, &api()?, id)).await?
                }
                Action::CreateIntegration { route: name } => {
                    let id = Box::pin(apigateway::create_integration(&c.apigateway, &api()?, route(name)?)).await?;
                    integrations.insert(name.clone(), id);
                }
                Action::UpdateIntegration { id, route: name } => {
                    Box::pin(apigateway::update_integration(&c.apigateway, &api()?, id, route(name)?)).await?
                }
                Action::DeleteIntegration { id } => {
                    Box::pin(apigateway::delete_integration(&c.apigateway, &api()?, id)).await?
                }
                Action::CreateRoute { route: name } | Action::UpdateRoute { route: name, .. } => {
                    let r = route(name)?;
                    let integration_id = integrations.get(name).ok_or_else(|| {
                        Error::Config(format!("{action}: no integration yet (a bug in the plan order)"))
                    })?;
                    let authorizer_id = r.authorizer.as_ref().and_then(|a| authorizers.get(a)).map(String::as_str);
                    // Detaching an authorizer needs an explicit empty id; otherwise leave it unset.
                    let detach = o
                        .routes
                        .iter()
                        .any(|x| x.operation_name.as_deref() == Some(name.as_str()) && x.authorizer_id.is_some());
                    let authorizer_id = authorizer_id.or(if detach { Some("") } else { None });
                    let refs = apigateway::RouteRefs { integration_id, authorizer_id };
                    match action {
                        Action::UpdateRoute { id, .. } => {
                            Box::pin(apigateway::update_route(&c.apigateway, &api()?, id, r, refs)).await?
                        }
                        _ => {
                            let id = Box::pin(apigateway::create_route(&c.apigateway, &api()?, r, refs)).await?;
                            created.routes.insert(name.clone(), id);
                        }
                    }
                }
                Action::DeleteRoute { id, .. } => {
                    Box::pin(apigateway::delete_route(&c.apigateway, &api()?, id)).await?
                }
                Action::DeleteAccessLogSettings { stage } => {
                    Box::pin(apigateway::delete_access_log_settings(&c.apigateway, &api()?, stage)).await?
                }
                Action::CreateDomain { name } => {
                    Box::pin(domain::create_domain(&c.apigateway, d)).await?;
                    created.domain = Some(name.clone());
                }
                Action::UpdateDomain { .. } => Box::pin(domain::update_domain(&c.apigateway, d)).await?,
                Action::DeleteDomain { name } => Box::pin(domain::delete_domain(&c.apigateway, name)).await?,
                Action::CreateApiMapping { .. } => {
                    Box::pin(domain::create_api_mapping(&c.apigateway, d, &api()?)).await?;
                }
                Action::UpdateApiMapping { id, .. } => {
                    Box::pin(domain::update_api_mapping(&c.apigateway, d, &api()?, id)).await?
                }
                Action::DeleteApiMapping { domain: name, id } => {
                    Box::pin(domain::delete_api_mapping(&c.apigateway, name, id)).await?
                }
                Action::CreateLogGroup { .. } => Box::pin(logs::create_log_group(&c.logs, d)).await?,
                Action::PutRetentionPolicy { .. } => Box::pin(logs::put_retention(&c.logs, d)).await?,
                Action::DeleteLogGroup { name } => Box::pin(logs::delete_log_group(&c.logs, name)).await?,
                Action::CreateArchive { .. } => Box::pin(archive::create_archive(&c.events, d)).await?,
                Action::UpdateArchive { .. } => Box::pin(archive::update_archive(&c.events, d)).await?,
                Action::DeleteArchive { name } => Box::pin(archive::delete_archive(&c.events, name)).await?,
                Action::V2(a) => Box::pin(self.apply_v2(c, d, a)).await?,
            }
            tracing::info!(write = %action, "AWS write applied");
            if self.abort_after_writes == Some(done + 1) {
                return Err(Error::Injected(done + 1));
            }
        }
        created.integrations = integrations;
        created.authorizers = authorizers;
        Ok(created)
    }

    /// Delete the bus, never while someone else's rules are on it (BusNotEmpty: their rules
    /// would go with it where AWS allows that, and AWS refuses where it does not). AWS may also
    /// refuse while our own just-deleted rules linger: retried with backoff.
    async fn delete_bus(&self, c: &Clients, d: &Desired, o: &Observed, name: &str) -> Result<(), Error> {
        // Ours are the rules this pass read with our ownership tags, and rules still listed
        // whose tags say so (or that are gone: a rule we deleted may linger in the list a
        // while). Never "whatever carries our name prefix": anyone who may create rules on the
        // bus can pick a name. Our archive's managed rule goes with the archive (deleted
        // earlier in the plan), but may linger a moment: it is ours, not someone else's.
        let ours: std::collections::BTreeSet<&str> =
            o.rules.iter().filter(|r| d.owner.ownership(&r.tags) == Ownership::Ours).map(|r| r.name.as_str()).collect();
        let archive_rule = format!("Events-Archive-{}", d.owner.archive_name());
        let prefix = d.owner.rule_prefix();
        let foreign = |remaining: Vec<String>| {
            let (ours, archive_rule, prefix) = (&ours, &archive_rule, &prefix);
            async move {
                let mut foreign = Vec::new();
                for r in remaining.into_iter().filter(|r| !ours.contains(r.as_str()) && r != archive_rule) {
                    let confirmed = r.starts_with(prefix.as_str()) && {
                        let arn = desired::rule_arn(&d.env.partition, &d.env, name, &r);
                        eventbridge::rule_owned_or_gone(&c.events, &arn, &d.owner).await?
                    };
                    if !confirmed {
                        foreign.push(r);
                    }
                }
                if foreign.is_empty() {
                    Ok(())
                } else {
                    Err(Error::BusNotEmpty { bus: name.to_string(), rules: foreign.join(", ") })
                }
            }
        };
        // No rules list: the bus is gone (e.g. an earlier delete whose answer was lost).
        let Some(rules) = eventbridge::rules_on(&c.events, name).await? else { return Ok(()) };
        foreign(rules).await?;
        let mut attempt = 0u32;
        loop {
            let error = match eventbridge::delete_bus(&c.events, name).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let Some(rules) = eventbridge::rules_on(&c.events, name).await? else { return Ok(()) };
            foreign(rules.clone()).await?;
            attempt += 1;
            if attempt >= BUS_DELETE_TRIES {
                // Only our own rules (or none) are listed, and AWS still refuses: it has not
                // caught up with our deletes yet. Not terminal: the operator's backoff (or the
                // CLI's "run again later") does the longer wait.
                return Err(match error {
                    Error::Rejected { ref code, .. } if code == "ValidationException" => Error::BusDraining {
                        bus: name.to_string(),
                        rules: if rules.is_empty() { "none listed any more".into() } else { rules.join(", ") },
                    },
                    other => other,
                });
            }
            tokio::time::sleep(self.retry_delay * 2u32.pow(attempt - 1)).await;
        }
    }
}
