//! The engine's reads: what AWS holds of one bridge (or gateway), by the search over its ownership
//! tags, by the ids an earlier pass found, or (on a gateway) only what the bridge adds. Each
//! object family reads its own part (`crate::aws::<family>::observe*`); this only runs them side
//! by side and merges the parts.

use std::collections::BTreeMap;

use super::Engine;
use crate::aws::{Clients, apigateway, archive, domain, eventbridge, iam, lambda, logs, sns, sqs};
use crate::desired::{self, Desired, RouteScope, is_lambda_arn};
use crate::error::Error;
use crate::observed::{Known, Observed};
use crate::owner::Ownership;
use crate::target_policy::{self, Delivery, Finding};

impl Engine {
    /// Read everything of this bridge's that AWS holds: the API found by its ownership tags.
    pub async fn observe(&self, c: &Clients, d: &Desired) -> Result<Observed, Error> {
        self.observe_search(c, d, true).await
    }

    /// [`Engine::observe`] for a bridge that never ran (no attempt in its status: the operator
    /// records one before its first AWS call, so a crash after a create always leaves it). No
    /// object can carry its uid yet, so the searches by ownership tag over the region (GetApis,
    /// GetDomainNames) are skipped; everything found by name is still read, for the conflict
    /// checks.
    pub async fn observe_fresh(&self, c: &Clients, d: &Desired) -> Result<Observed, Error> {
        self.observe_search(c, d, false).await
    }

    async fn observe_search(&self, c: &Clients, d: &Desired, search: bool) -> Result<Observed, Error> {
        if d.scope == RouteScope::Marked {
            return self.observe_attached(c, d, None).await.map(|o| o.unwrap_or_default());
        }
        let (mut api, mut events, mut role) = (Observed::default(), Observed::default(), Observed::default());
        let (mut domains, mut group, mut archived) = (Observed::default(), Observed::default(), Observed::default());
        let apis = async {
            if search {
                apigateway::observe(&c.apigateway, &d.owner, d.scope, !d.authorizers.is_empty(), &mut api).await
            } else {
                Ok(())
            }
        };
        let domain_names = async {
            if search {
                domain::observe(&c.apigateway, d, &mut domains).await
            } else {
                domain::observe_named(&c.apigateway, d, &mut domains).await
            }
        };
        // Boxed: side by side, the reads' futures would make a deep stack in debug builds.
        tokio::try_join!(
            Box::pin(apis),
            Box::pin(eventbridge::observe(&c.events, d, &mut events)),
            Box::pin(iam::observe(&c.iam, d, &mut role)),
            Box::pin(domain_names),
            Box::pin(logs::observe(&c.logs, d, &mut group)),
            Box::pin(archive::observe(&c.events, d, &mut archived)),
        )?;
        let mut o = merged(api, events, role, domains, group, archived);
        Box::pin(self.observe_v2(c, d, &mut o)).await?;
        self.observe_permissions(c, d, o).await
    }

    /// A bridge on a gateway: its routes and integrations on the gateway's API, its rules on the
    /// gateway's bus (with their targets) and its Lambda statements; nothing of the gateway's
    /// own (read once per gateway by the gateway). `known`: by id (None when something is gone).
    async fn observe_attached(
        &self,
        c: &Clients,
        d: &Desired,
        known: Option<&Known>,
    ) -> Result<Option<Observed>, Error> {
        let (mut api, mut events) = (Observed::default(), Observed::default());
        let found = match known {
            None => {
                tokio::try_join!(
                    Box::pin(apigateway::observe_marked(&c.apigateway, d, &mut api)),
                    Box::pin(eventbridge::observe_rules(&c.events, d, None, &mut events)),
                )?;
                true
            }
            Some(known) => {
                let (a, b) = tokio::try_join!(
                    Box::pin(apigateway::observe_marked_known(&c.apigateway, d, known, &mut api)),
                    Box::pin(eventbridge::observe_known(&c.events, d, known, &mut events)),
                )?;
                a && b
            }
        };
        if !found {
            return Ok(None);
        }
        let mut o = Observed { bus: events.bus, rules: events.rules, ..api };
        Box::pin(self.observe_v2(c, d, &mut o)).await?;
        self.observe_permissions(c, d, o).await.map(Some)
    }

    /// Read what an earlier pass found, by id (see [`Known`]). None when something it found is
    /// gone or no longer ours: the caller falls back to [`Engine::observe`].
    pub async fn observe_known(&self, c: &Clients, d: &Desired, known: &Known) -> Result<Option<Observed>, Error> {
        if d.scope == RouteScope::Marked {
            return self.observe_attached(c, d, Some(known)).await;
        }
        // What an earlier pass found must be what the spec still wants: otherwise something is to
        // be created or collected, which takes the full search.
        if d.domain.as_ref().map(|x| &x.name) != known.domain.as_ref()
            || d.logs.enabled != known.log_group
            || d.archive.is_some() != known.archive
        {
            return Ok(None);
        }
        let (mut api, mut events, mut role) = (Observed::default(), Observed::default(), Observed::default());
        let (mut domains, mut group, mut archived) = (Observed::default(), Observed::default(), Observed::default());
        let domain_known = async {
            match &known.domain {
                Some(name) => domain::observe_known(&c.apigateway, d, name, &mut domains).await,
                None => Ok(true),
            }
        };
        let group_known =
            async { if known.log_group { logs::observe_known(&c.logs, d, &mut group).await } else { Ok(()) } };
        let archive_known =
            async { if known.archive { archive::observe(&c.events, d, &mut archived).await } else { Ok(()) } };
        // The window that reads the API object skips the role object (GetRole): 10 reads either way.
        let role_known = async {
            if known.read_api {
                iam::observe_policy_only(&c.iam, d, &mut role).await
            } else {
                iam::observe(&c.iam, d, &mut role).await.map(|()| true)
            }
        };
        let (api_found, bus_found, role_found, domain_found, (), ()) = tokio::try_join!(
            Box::pin(apigateway::observe_known(&c.apigateway, d, known, !d.authorizers.is_empty(), &mut api)),
            Box::pin(eventbridge::observe_known(&c.events, d, known, &mut events)),
            Box::pin(role_known),
            Box::pin(domain_known),
            Box::pin(group_known),
            Box::pin(archive_known),
        )?;
        if !(api_found && bus_found && role_found && domain_found) {
            return Ok(None);
        }
        let mut o = merged(api, events, role, domains, group, archived);
        Box::pin(self.observe_v2(c, d, &mut o)).await?;
        self.observe_permissions(c, d, o).await.map(Some)
    }

    async fn observe_permissions(&self, c: &Clients, d: &Desired, mut o: Observed) -> Result<Observed, Error> {
        // Functions whose policy may hold our statements: the ones we target, and the ones our
        // rules still target.
        let mut functions: Vec<String> = d.permissions().into_iter().map(|p| p.function_arn).collect();
        for rule in o.rules.iter().filter(|r| d.owner.ownership(&r.tags) == Ownership::Ours) {
            // A function in another account carries no statement of ours (and its policy is
            // not ours to read).
            functions.extend(
                rule.targets
                    .iter()
                    .filter(|t| is_lambda_arn(&t.arn) && !desired::is_cross_account_lambda(&t.arn, &d.env.account))
                    .map(|t| t.arn.clone()),
            );
        }
        functions.sort();
        functions.dedup();
        lambda::observe(&c.lambda, &functions, &d.owner.statement_prefix(), &mut o).await?;
        Ok(o)
    }

    /// Read the resource policy of every SQS / SNS target and dead-letter queue (one read per
    /// queue or topic) and return those that do not let EventBridge deliver from their rule.
    pub async fn delivery_gaps(&self, c: &Clients, d: &Desired) -> Result<Vec<(Delivery, Finding)>, Error> {
        let mut policies: BTreeMap<String, Result<Option<String>, Finding>> = BTreeMap::new();
        let mut gaps = Vec::new();
        for delivery in target_policy::deliveries(d) {
            if !policies.contains_key(&delivery.arn) {
                let read = match delivery.service() {
                    "sns" => sns::policy(&c.sns, &delivery.arn).await?,
                    _ => sqs::policy(&c.sqs, &delivery.arn).await?,
                };
                policies.insert(delivery.arn.clone(), read);
            }
            let finding = match &policies[&delivery.arn] {
                Ok(Some(text)) => match serde_json::from_str(text) {
                    Ok(policy) if target_policy::allows(&policy, &delivery, &d.env.account) => Finding::Allowed,
                    _ => Finding::Missing,
                },
                Ok(None) => Finding::Missing,
                Err(finding) => finding.clone(),
            };
            if finding != Finding::Allowed {
                gaps.push((delivery, finding));
            }
        }
        Ok(gaps)
    }
}

/// One observation from the per-service reads (each filled its own part).
fn merged(
    api: Observed,
    events: Observed,
    role: Observed,
    domains: Observed,
    group: Observed,
    archived: Observed,
) -> Observed {
    Observed {
        bus: events.bus,
        rules: events.rules,
        role: role.role,
        domains: domains.domains,
        log_group: group.log_group,
        archive: archived.archive,
        ..api
    }
}
