//! The reconcile engine, shared by the CLI and the operator: validate → desired → observe → plan
//! → apply → status. Only `observe` and `apply` touch the network. The engine only sequences:
//! each object family (API, bus and rules, role, domain, logs, archive, Lambda permissions) has
//! its desired state in `crate::desired`, its reads and writes in `crate::aws::<family>` and its
//! plan in `crate::plan::<family>`. Here: the checks before any AWS call and the pass itself;
//! `observe` (the reads, side by side), `apply` (the writes, in plan order), `gateway_pass` (a
//! WebhookBridgeGateway's own objects).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{DeletionPolicy, WebhookBridge, WebhookBridgeStatus};
use crate::aws::{AssumedRole, Aws, Clients, domain};
use crate::desired::{self, Desired, RouteScope};
use crate::error::{Error, FieldError};
use crate::gateway::{self, Attachment, GatewaySource, NoGateways, arbiter::Verdict};
use crate::observed::{Known, ObsApi, ObsRoute, ObsRule, Observed};
use crate::owner::{self, Owner, TAG_NAMESPACE};
use crate::plan::{self, Action};
use crate::target_policy::{Delivery, Finding};
use crate::tenancy::{self, Tenancy};
use crate::withdraw::Withdrawal;
use crate::{status, validate};

mod apply;
mod gateway_pass;
mod observe;
mod webhook;

pub use webhook::{Secrets, webhook_status};

/// What a reconcile did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The actions applied (empty when AWS was already in sync).
    pub actions: Vec<Action>,
    /// Descriptive status (endpoint, URLs, ids), without conditions.
    pub status: WebhookBridgeStatus,
    /// SQS / SNS deliveries their resource policy does not (visibly) allow: AWS matches the
    /// spec, but events to these would be dropped.
    pub delivery_gaps: Vec<(Delivery, Finding)>,
    /// Targets without a dead-letter queue (`rule <name> target <arn>`), and how many targets
    /// there are: the informational `NoDeadLetterQueue` condition.
    pub no_dead_letter_queue: Vec<String>,
    pub targets: usize,
    /// On a gateway: the spec's routes the gateway gives an older bridge (`RouteConflict`).
    pub lost_routes: Vec<String>,
    /// JWT authorizers (name, id, issuer) of the API, as kept or created.
    pub authorizers: Vec<(String, String, String)>,
    /// A gateway's Custom Event Bus, once ACTIVE (for its status and attached bridges).
    pub custom_event_bus: Option<crate::api::ResourceRef>,
}

/// What the writes of one pass made: enough to describe AWS afterwards without reading it again.
#[derive(Clone, Debug, Default)]
pub struct Created {
    /// A new API: its id and endpoint.
    pub api: Option<(String, Option<String>)>,
    /// Route name → integration id (kept or new).
    pub integrations: BTreeMap<String, String>,
    /// Route name → id of a route created by this pass.
    pub routes: BTreeMap<String, String>,
    /// A custom domain created by this pass (read back once for its DNS target).
    pub domain: Option<String>,
    /// Authorizer name → id (kept or new).
    pub authorizers: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct Engine {
    pub aws: Aws,
    /// Written into the ownership tags: two clusters sharing an account never touch each other's
    /// objects.
    pub cluster: String,
    /// Region for bridges that do not set `spec.region`.
    pub default_region: Option<String>,
    /// Test hook: stop with [`Error::Injected`] after this many writes.
    pub abort_after_writes: Option<usize>,
    /// Base delay between retries of a bus delete AWS refuses while rules are being removed.
    pub retry_delay: Duration,
    /// Which policy governs each bridge (checked before any AWS call) and whose identity acts.
    pub tenancy: Tenancy,
    /// The permissions boundary every managed role gets (the operator's IAM policy allows
    /// CreateRole only with it); a spec naming another is refused.
    pub role_boundary: Option<String>,
    /// Where bridges on a gateway (`spec.gatewayRef`) find it.
    pub gateways: Gateways,
    /// Where the Secrets of webhook sources (`spec.webhookSources[].secretRef`) are read.
    pub secrets: Secrets,
}

/// What the checks before any AWS call found: region, governance, and for a bridge on a
/// gateway its attachment and the arbiter's verdict.
type Checked = (String, tenancy::Governance, Option<(Attachment, Verdict)>);

/// The engine's [`GatewaySource`].
#[derive(Clone)]
pub struct Gateways(pub Arc<dyn GatewaySource>);

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gateways")
    }
}

impl Default for Gateways {
    fn default() -> Self {
        Gateways(Arc::new(NoGateways))
    }
}

impl Engine {
    pub fn new(aws: Aws, cluster: impl Into<String>) -> Engine {
        let default_region = aws.default_region();
        Engine {
            aws,
            cluster: cluster.into(),
            default_region,
            abort_after_writes: None,
            retry_delay: Duration::from_secs(2),
            tenancy: Tenancy::Single,
            role_boundary: None,
            gateways: Gateways::default(),
            secrets: Secrets::default(),
        }
    }

    /// The owner of a bridge's AWS objects.
    pub fn owner(&self, bridge: &WebhookBridge) -> Owner {
        let namespace = bridge.metadata.namespace.clone().unwrap_or_else(|| "default".to_string());
        let name = bridge.metadata.name.clone().unwrap_or_default();
        match &bridge.metadata.uid {
            Some(uid) => Owner { cluster: self.cluster.clone(), namespace, name, uid: uid.clone() },
            None => Owner::local(&self.cluster, &namespace, &name),
        }
    }

    fn region(&self, bridge: &WebhookBridge) -> Result<String, Error> {
        bridge.spec.region.clone().or_else(|| self.default_region.clone()).ok_or_else(|| {
            Error::InvalidSpec(vec![FieldError::new(
                "spec.region",
                "no region: set spec.region, AWS_REGION or the operator's --region",
            )])
        })
    }

    /// Every check made before any AWS call (admission rules, region, governance, the policy,
    /// the permissions boundary): what the operator runs before it adds its finalizer, so a
    /// bridge that may not act never holds its namespace's deletion up.
    pub fn admit(&self, bridge: &WebhookBridge) -> Result<(), Error> {
        self.checked(bridge, true).map(|_| ())
    }

    /// The region and governance of a bridge; `check`: every rule of [`Engine::admit`].
    fn checked(&self, bridge: &WebhookBridge, check: bool) -> Result<(String, tenancy::Governance), Error> {
        self.checked_attached(bridge, check).map(|(region, governance, _)| (region, governance))
    }

    /// [`Engine::checked`] and, for a bridge on a gateway, its attachment and the arbiter's
    /// verdict (`check`: the gateway's admission and quotas too; a delete needs neither).
    fn checked_attached(&self, bridge: &WebhookBridge, check: bool) -> Result<Checked, Error> {
        if bridge.metadata.name.as_deref().unwrap_or_default().is_empty() {
            return Err(Error::invalid("metadata.name", "is required"));
        }
        let owner = self.owner(bridge);
        let gw = gateway::key_of(bridge).map(|(ns, name)| self.gateways.0.gateway(&ns, &name));
        let region = match &gw {
            Some(Ok(gw)) => gw.spec.region.clone().or_else(|| self.default_region.clone()).ok_or_else(|| {
                Error::invalid("spec.gatewayRef", "the gateway has no region and the operator no default region")
            })?,
            _ => self.region(bridge)?,
        };
        // The policy decides before any AWS call, and whose identity makes them. It comes
        // before the admission rules: a denied bridge is a denied bridge (and has what the
        // policy no longer allows taken back) even when its spec is also invalid.
        let governance = self.tenancy.governance(&owner.namespace)?;
        if check {
            tenancy::check(&governance, bridge, &region)?;
        }
        let attached = match gw {
            None => None,
            Some(gw) => {
                let gw = gw?;
                if check {
                    let labels = self.gateways.0.namespace_labels(&owner.namespace);
                    gateway::admission::check(&gw, bridge, labels.as_ref())?;
                }
                let att = gateway::attachment_as(&gw, self.default_region.as_deref(), check)?;
                let verdict = if check { self.gateways.0.verdict(&gw, bridge) } else { Verdict::default() };
                if let Some(why) = &verdict.over_quota {
                    return Err(Error::GatewayFull(format!("gateway {}: {why}", att.gateway)));
                }
                Some((att, verdict))
            }
        };
        if check {
            validate::admission(bridge)?;
            if let (Some(want), Some(have)) = (&self.role_boundary, &bridge.spec.role.permissions_boundary_arn)
                && want != have
            {
                return Err(Error::invalid(
                    "spec.role.permissionsBoundaryArn",
                    format!(
                        "the operator gives every managed role the permissions boundary {want}; remove the field or name that one"
                    ),
                ));
            }
        }
        Ok((region, governance, attached))
    }

    /// What the bridge's policy no longer allows, cut from the spec ([`crate::withdraw`]).
    /// None when the policy allows it all (or the bridge is not governed by a policy).
    pub fn withdrawal(&self, bridge: &WebhookBridge) -> Result<Option<Withdrawal>, Error> {
        self.withdrawal_with(bridge, &[])
    }

    /// Take back from AWS what the policy no longer allows: reconcile the cut-down spec of
    /// [`Engine::withdrawal`] (no policy check on it: it is the policy's own answer). The
    /// caller still reports the bridge as denied.
    /// Only removals are applied ([`Action::removes`]): nothing is created for a denied
    /// bridge, even if its objects are missing.
    pub async fn withdraw(&self, w: &Withdrawal) -> Result<Outcome, Error> {
        let (c, mut d) = self.prepare_as(&w.bridge, false, false).await?;
        // The cut-down spec puts no rule on a bus the policy no longer lets it share.
        if w.bridge.spec.rules.is_empty() {
            d.bus.foreign_denied_by = None;
        }
        self.reconcile_prepared(&c, &d, None, false, true).await
    }

    /// [`Engine::withdrawal`] with denials found in AWS (another bridge's bus, see
    /// `plan_bus`) as well as the policy's own.
    pub fn withdrawal_with(
        &self,
        bridge: &WebhookBridge,
        found: &[tenancy::Denial],
    ) -> Result<Option<Withdrawal>, Error> {
        let (region, governance) = self.checked(bridge, false)?;
        let tenancy::Governance::Policy { spec: p, .. } = &governance else { return Ok(None) };
        let mut denials = tenancy::denials(&governance, bridge, &region);
        denials.extend(found.iter().cloned());
        if denials.is_empty() {
            return Ok(None);
        }
        Ok(Some(crate::withdraw::withdraw(bridge, &denials, p.max_throttling.as_ref(), p.max_routes, p.max_rules)))
    }

    /// Clients and desired state for a bridge. `check` runs every validation rule first.
    pub async fn prepare(&self, bridge: &WebhookBridge, check: bool) -> Result<(Clients, Desired), Error> {
        self.prepare_as(bridge, check, check).await
    }

    /// [`Engine::prepare`]; `validate_env`: the checks against the account (a withdrawal is
    /// checked against it without the policy).
    async fn prepare_as(
        &self,
        bridge: &WebhookBridge,
        check: bool,
        validate_env: bool,
    ) -> Result<(Clients, Desired), Error> {
        let (region, governance, attached) = self.checked_attached(bridge, check)?;
        let owner = self.owner(bridge);
        let clients = match governance.assume_role() {
            Some(arn) => self.aws.clients_as(&region, &self.session(arn, &owner.namespace)).await,
            None => self.aws.clients(&region),
        };
        let env = clients.env().await?;
        if validate_env {
            validate::against(bridge, &env)?;
        }
        let mut d = match &attached {
            None => desired::desired(bridge, &owner, &env),
            Some((att, verdict)) => {
                // Routes the arbiter gives an older bridge are not ours to make (or keep).
                let mut kept = bridge.clone();
                kept.spec.routes.retain(|r| !verdict.lost_routes.iter().any(|(name, _, _)| name == &r.name));
                let mut d = desired::attached(&kept, &owner, &env, att);
                d.lost_routes = verdict.conflicts();
                d
            }
        };
        if !bridge.spec.webhook_sources.is_empty() {
            let Some((att, _)) = &attached else {
                return Err(Error::invalid(
                    "spec.webhookSources",
                    "a bridge with webhook sources needs spec.gatewayRef (a gateway with spec.customEventBus)",
                ));
            };
            if check && att.custom_bus_arn.is_none() {
                return Err(Error::GatewayNotReady(format!(
                    "gateway {} has no ACTIVE Custom Event Bus (spec.customEventBus) yet; the webhook sources are made once it has",
                    att.gateway
                )));
            }
            // A delete needs no credential (and must not wait for a Secret deleted first).
            let secrets = match Box::pin(self.webhook_secrets(bridge)).await {
                Ok(found) => found,
                Err(e) if check => return Err(e),
                Err(_) => Default::default(),
            };
            crate::desired_webhook::webhook_at(
                &mut d,
                &bridge.spec.webhook_sources,
                att.custom_bus_arn.as_deref(),
                &secrets,
                check,
                bridge.metadata.generation,
            )?;
        }
        if !d.bus.managed {
            d.bus.foreign_denied_by = tenancy::foreign_bus_denied_by(&governance, &d.bus.arn);
        }
        if let (Some(boundary), desired::DesiredRole::Managed { permissions_boundary, .. }) =
            (&self.role_boundary, &mut d.role)
        {
            *permissions_boundary = Some(boundary.clone());
        }
        Ok((clients, d))
    }

    /// The session a tenant's role is assumed with: named and tagged for cluster and namespace,
    /// so the role's policy can scope by `aws:PrincipalTag` and CloudTrail shows who acted.
    fn session(&self, arn: &str, namespace: &str) -> AssumedRole {
        let name: String = format!("whb-{}-{namespace}", self.cluster)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) { c } else { '-' })
            .collect();
        AssumedRole {
            arn: arn.to_string(),
            session_name: session_name(&name),
            tags: vec![
                (owner::TAG_CLUSTER.to_string(), self.cluster.clone()),
                (TAG_NAMESPACE.to_string(), namespace.to_string()),
            ],
        }
    }

    /// The writes a reconcile would make now (no writes).
    pub async fn plan(&self, bridge: &WebhookBridge) -> Result<Vec<Action>, Error> {
        let (c, d) = self.prepare(bridge, true).await?;
        let o = self.observe(&c, &d).await?;
        plan::plan(&d, &o)
    }

    /// The writes a delete would make now (no writes).
    pub async fn plan_delete(&self, bridge: &WebhookBridge) -> Result<Vec<Action>, Error> {
        if bridge.spec.deletion_policy == DeletionPolicy::Retain {
            return Ok(Vec::new());
        }
        let (c, d) = self.prepare(bridge, false).await?;
        let o = self.observe(&c, &d).await?;
        Ok(plan::plan_delete(&d, &o))
    }

    /// Bring AWS in line with the spec. In sync: reads only, zero writes.
    pub async fn reconcile(&self, bridge: &WebhookBridge) -> Result<Outcome, Error> {
        self.reconcile_known(bridge, None).await
    }

    /// [`Engine::reconcile`], reading by id what an earlier pass found (`known`, from the
    /// bridge's status). Every write is planned from the full look: a pass by id that finds
    /// anything to do, or anything gone, starts over with the search by tags. After the writes
    /// AWS is not read again: status comes from what was observed and what the writes returned
    /// (the creates that mint ids are sent once, see `apigateway::once`, so no retry can leave
    /// a duplicate behind).
    pub async fn reconcile_known(&self, bridge: &WebhookBridge, known: Option<&Known>) -> Result<Outcome, Error> {
        self.reconcile_as(bridge, known, false).await
    }

    /// [`Engine::reconcile_known`]; `fresh`: the bridge never ran (see [`Engine::observe_fresh`]).
    pub async fn reconcile_as(
        &self,
        bridge: &WebhookBridge,
        known: Option<&Known>,
        fresh: bool,
    ) -> Result<Outcome, Error> {
        let (c, d) = self.prepare(bridge, true).await?;
        self.reconcile_prepared(&c, &d, known, fresh, false).await
    }

    /// `removals_only`: apply only the actions that take something away (a withdrawal).
    async fn reconcile_prepared(
        &self,
        c: &Clients,
        d: &Desired,
        known: Option<&Known>,
        fresh: bool,
        removals_only: bool,
    ) -> Result<Outcome, Error> {
        if let Some(known) = known
            && let Some(o) = self.observe_known(c, d, known).await?
            && plan::plan(d, &o).is_ok_and(|actions| actions.is_empty())
        {
            let mut o = o;
            Box::pin(self.settle_v2(c, d, &mut o, false)).await?;
            let delivery_gaps = self.delivery_gaps(c, d).await?;
            return Ok(outcome(d, &o, Vec::new(), delivery_gaps));
        }
        let mut tries = 0u32;
        let (o, actions, created) = loop {
            let o = if fresh && tries == 0 { self.observe_fresh(c, d).await? } else { self.observe(c, d).await? };
            let mut actions = plan::plan(d, &o)?;
            if removals_only {
                actions.retain(Action::removes);
            }
            if actions.is_empty() {
                break (o, actions, None);
            }
            match Box::pin(self.apply(c, d, &o, &actions)).await {
                Ok(created) => break (o, actions, Some(created)),
                // A 409 from API Gateway: a race the next look explains, or a lasting conflict
                // (never retried forever: terminal after API_CONFLICT_TRIES).
                Err(e) if e.is_api_conflict() => {
                    tries += 1;
                    if tries >= API_CONFLICT_TRIES {
                        return Err(e.into_lasting_conflict(tries));
                    }
                    tracing::warn!(error = %e, tries, "API Gateway conflict: looking again");
                    tokio::time::sleep(self.retry_delay * 2u32.pow(tries - 1)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let mut o = match created {
            None => o,
            Some(created) => {
                let mut after = converged(d, &o, &created);
                // The DNS target of a new domain is in its create answer; one read keeps the
                // create call's signature plain.
                if let Some(name) = &created.domain {
                    let mut found = Observed::default();
                    if domain::observe_known(&c.apigateway, d, name, &mut found).await? {
                        after.domains.retain(|x| &x.name != name);
                        after.domains.extend(found.domains);
                    }
                }
                after
            }
        };
        let wrote_v2 = actions.iter().any(|a| matches!(a, Action::V2(_)));
        Box::pin(self.settle_v2(c, d, &mut o, wrote_v2)).await?;
        let delivery_gaps = self.delivery_gaps(c, d).await?;
        Ok(outcome(d, &o, actions, delivery_gaps))
    }

    /// Remove everything the bridge owns (nothing under `deletionPolicy: Retain`). The spec is
    /// not validated: a bridge whose spec went bad must still be deletable.
    /// Under Retain nothing, not even AWS credentials, is needed to let the object go.
    pub async fn delete(&self, bridge: &WebhookBridge) -> Result<Vec<Action>, Error> {
        if bridge.spec.deletion_policy == DeletionPolicy::Retain {
            return Ok(Vec::new());
        }
        // A bridge its policy (now) denies is deleted from its cut-down spec: no AWS read of
        // the ARNs it may not reach (what it made there is still found by its ownership tags).
        let withdrawn = self.withdrawal(bridge).ok().flatten();
        let bridge = withdrawn.as_ref().map_or(bridge, |w| &w.bridge);
        let (c, d) = self.prepare(bridge, false).await?;
        let o = self.observe(&c, &d).await?;
        let actions = plan::plan_delete(&d, &o);
        Box::pin(self.apply(&c, &d, &o, &actions)).await?;
        Ok(actions)
    }
}

/// An STS session name (at most 64 characters): a longer one keeps its start and ends in 16
/// hex digits (64 bits) of a hash of the whole name, so two namespaces' names cut to the same
/// start still differ (an 8-digit hash collided in seconds of search).
fn session_name(name: &str) -> String {
    owner::bounded_hashed(name, 64, 16)
}

/// Passes of observe, plan and apply within one reconcile that may end in API Gateway's 409
/// ConflictException before it is reported as terminal (see [`Error::is_api_conflict`]).
const API_CONFLICT_TRIES: u32 = 3;

fn outcome(d: &Desired, o: &Observed, actions: Vec<Action>, delivery_gaps: Vec<(Delivery, Finding)>) -> Outcome {
    let mut described = status::describe(d, o);
    if d.v2.webhook {
        (described.webhook_sources, described.subscribers) = webhook_status(d, o);
    }
    Outcome {
        status: described,
        custom_event_bus: d
            .v2
            .bus
            .as_ref()
            .and(o.v2.bus.as_ref())
            .filter(|b| b.state.as_deref() == Some("ACTIVE"))
            .map(|b| crate::api::ResourceRef { name: b.name.clone(), arn: b.arn.clone(), managed: true }),
        actions,
        delivery_gaps,
        no_dead_letter_queue: status::without_dead_letter_queue(d),
        targets: d.rules.iter().map(|r| r.targets.len()).sum(),
        lost_routes: d.lost_routes.clone(),
        authorizers: d
            .authorizers
            .iter()
            .filter_map(|a| plan::kept_authorizer(o, &a.name).map(|x| (a.name.clone(), x.id.clone(), a.issuer.clone())))
            .collect(),
    }
}

/// What AWS holds after a pass applied `created` on top of `o`: every object of the spec, with
/// the ids the writes returned (for status; nothing here is read from AWS).
fn converged(d: &Desired, o: &Observed, created: &Created) -> Observed {
    let mut after = o.clone();
    if let Some((id, endpoint)) = &created.api {
        after.apis = vec![ObsApi {
            id: id.clone(),
            name: d.api.name.clone(),
            endpoint: endpoint.clone(),
            description: Some(d.api.description.clone()),
            cors: d.api.cors.clone(),
            tags: d.tags.clone(),
            created: 0,
        }];
    }
    after.apis.truncate(1);
    if d.scope != RouteScope::Marked {
        after.authorizers = d
            .authorizers
            .iter()
            .filter_map(|a| {
                created.authorizers.get(&a.name).map(|id| crate::observed::ObsAuthorizer {
                    id: id.clone(),
                    name: a.name.clone(),
                    issuer: Some(a.issuer.clone()),
                    audiences: a.audiences.clone(),
                })
            })
            .collect();
    }
    after.routes = d
        .routes
        .iter()
        .filter_map(|r| {
            let id = created
                .routes
                .get(&r.name)
                .or_else(|| o.routes.iter().find(|x| x.route_key == r.route_key).map(|x| &x.id))?;
            Some(ObsRoute {
                id: id.clone(),
                route_key: r.route_key.clone(),
                target: created.integrations.get(&r.name).map(|i| format!("integrations/{i}")),
                authorization_type: None,
                authorizer_id: None,
                scopes: Vec::new(),
                operation_name: Some(r.name.clone()),
            })
        })
        .collect();
    after.rules = d
        .rules
        .iter()
        .map(|r| ObsRule {
            name: r.name.clone(),
            arn: o.rules.iter().find(|x| x.name == r.name).map_or_else(|| r.arn.clone(), |x| x.arn.clone()),
            pattern: Some(r.pattern.clone()),
            enabled: r.enabled,
            description: r.description.clone(),
            tags: d.tags.clone(),
            targets: r.targets.clone(),
        })
        .collect();
    after
}

#[cfg(test)]
mod tests {
    use super::session_name;

    #[test]
    fn long_session_names_stay_apart_and_within_64() {
        // Issue #19: two valid 57-character namespaces whose names were cut to one session name.
        let a = format!("whb-prod-{}a", "n".repeat(56));
        let b = format!("whb-prod-{}b", "n".repeat(56));
        let (sa, sb) = (session_name(&a), session_name(&b));
        assert_ne!(sa, sb);
        assert!(sa.len() <= 64 && sb.len() <= 64, "{sa} {sb}");
        assert_eq!(session_name("whb-prod-payments"), "whb-prod-payments");
        // 64 bits of hash: no collision among 200,000 names cut to the same start.
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            assert!(seen.insert(session_name(&format!("whb-prod-{}{i}", "n".repeat(50)))), "collision at {i}");
        }
    }
}
