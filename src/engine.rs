//! The reconcile engine, shared by the CLI and the operator: validate → desired → observe → plan
//! → apply → status. Only `observe` and `apply` touch the network.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{DeletionPolicy, WebhookBridge, WebhookBridgeGateway, WebhookBridgeStatus};
use crate::aws::{AssumedRole, Aws, Clients, apigateway, archive, domain, eventbridge, iam, lambda, logs, sns, sqs};
use crate::desired::{self, Desired, RouteScope, is_lambda_arn};
use crate::error::{Error, FieldError};
use crate::gateway::{self, Attachment, GatewaySource, NoGateways, arbiter::Verdict};
use crate::observed::{Known, ObsApi, ObsRoute, ObsRule, Observed};
use crate::owner::{self, Owner, Ownership, TAG_NAMESPACE};
use crate::plan::{self, Action};
use crate::target_policy::{self, Delivery, Finding};
use crate::tenancy::{self, Tenancy};
use crate::withdraw::Withdrawal;
use crate::{status, validate};

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
        let o = merged(api, events, role, domains, group, archived);
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
        let o = Observed { bus: events.bus, rules: events.rules, ..api };
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
        let o = merged(api, events, role, domains, group, archived);
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
        let o = match created {
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
        let delivery_gaps = self.delivery_gaps(c, d).await?;
        Ok(outcome(d, &o, actions, delivery_gaps))
    }

    /// Clients and desired state of a gateway: checked as a bridge of its namespace is (the
    /// policy's regions, bus names, domains, certificates, issuers, origins; its identity acts).
    async fn prepare_gateway(&self, gw: &WebhookBridgeGateway, check: bool) -> Result<(Clients, Desired), Error> {
        let shape = gateway::as_bridge(gw);
        let region = self.region(&shape)?;
        let owner = self.owner(&shape);
        let governance = self.tenancy.governance(&owner.namespace)?;
        if check {
            tenancy::check(&governance, &shape, &region)?;
        }
        let clients = match governance.assume_role() {
            Some(arn) => self.aws.clients_as(&region, &self.session(arn, &owner.namespace)).await,
            None => self.aws.clients(&region),
        };
        let env = clients.env().await?;
        if check {
            validate::against(&shape, &env)?;
        }
        let mut d = desired::gateway(gw, &owner, &env);
        if let (Some(boundary), desired::DesiredRole::Managed { permissions_boundary, .. }) =
            (&self.role_boundary, &mut d.role)
        {
            *permissions_boundary = Some(boundary.clone());
        }
        Ok((clients, d))
    }

    /// Bring a gateway's own objects in line with its spec (never a route of its API: those are
    /// the attached bridges'). Its status comes from the outcome ([`gateway::status`]).
    /// `known`: what its status says an earlier pass found (see [`gateway::known`]): read by
    /// id, no account-wide search, when it is all still there and in sync.
    pub async fn reconcile_gateway(&self, gw: &WebhookBridgeGateway, known: Option<&Known>) -> Result<Outcome, Error> {
        let (c, d) = self.prepare_gateway(gw, true).await?;
        Box::pin(self.reconcile_prepared(&c, &d, known, false, false)).await
    }

    /// The writes a gateway reconcile would make now (no writes).
    pub async fn plan_gateway(&self, gw: &WebhookBridgeGateway) -> Result<Vec<Action>, Error> {
        let (c, d) = self.prepare_gateway(gw, true).await?;
        let o = self.observe(&c, &d).await?;
        plan::plan(&d, &o)
    }

    /// The writes a gateway delete would make now (no writes; nothing under Retain). Routes of
    /// attached bridges still on its API are not counted: `delete_gateway` refuses while any is.
    pub async fn plan_delete_gateway(&self, gw: &WebhookBridgeGateway) -> Result<Vec<Action>, Error> {
        if gw.spec.deletion_policy == DeletionPolicy::Retain {
            return Ok(Vec::new());
        }
        let (c, d) = self.prepare_gateway(gw, false).await?;
        let o = self.observe(&c, &d).await?;
        Ok(plan::plan_delete(&d, &o))
    }

    /// The gateway's objects as AWS holds them now (reads only): its status without a reconcile
    /// (the CLI attaches bridges to a gateway it did not apply in this run).
    pub async fn observe_gateway(&self, gw: &WebhookBridgeGateway) -> Result<Outcome, Error> {
        let (c, d) = self.prepare_gateway(gw, false).await?;
        let o = self.observe(&c, &d).await?;
        Ok(outcome(&d, &o, Vec::new(), Vec::new()))
    }

    /// Remove the gateway's objects (nothing under `deletionPolicy: Retain`). The caller waits
    /// until no bridge is attached; a rule another bridge left on the bus still keeps the bus
    /// (BusNotEmpty, retried).
    pub async fn delete_gateway(&self, gw: &WebhookBridgeGateway) -> Result<Vec<Action>, Error> {
        if gw.spec.deletion_policy == DeletionPolicy::Retain {
            return Ok(Vec::new());
        }
        let (c, d) = self.prepare_gateway(gw, false).await?;
        let o = self.observe(&c, &d).await?;
        // Deleting the API would take every attached bridge's routes with it: not while one
        // is left (whatever the caller checked).
        for api in &o.apis {
            let routes = apigateway::route_keys(&c.apigateway, &api.id).await?;
            if !routes.is_empty() {
                return Err(Error::GatewayInUse(format!(
                    "gateway {} still serves {} route(s) of attached bridges ({}{}); it is deleted once they are gone",
                    d.owner.key().replacen(gateway::OWNER_PREFIX, "", 1),
                    routes.len(),
                    routes.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                    if routes.len() > 5 { ", ..." } else { "" }
                )));
            }
        }
        let actions = plan::plan_delete(&d, &o);
        Box::pin(self.apply(&c, &d, &o, &actions)).await?;
        Ok(actions)
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
                Action::CreateRole { .. } => iam::create_role(&c.iam, d).await?,
                Action::UpdateTrustPolicy { .. } => iam::update_trust_policy(&c.iam, d).await?,
                Action::PutRolePolicy { .. } => iam::put_role_policy(&c.iam, d).await?,
                Action::PutPermissionsBoundary { name, arn } => {
                    iam::put_permissions_boundary(&c.iam, name, arn).await?
                }
                Action::TagRole { name } => iam::tag_role(&c.iam, d, name).await?,
                Action::DeleteRolePolicy { name } => iam::delete_role_policy(&c.iam, name).await?,
                Action::DeleteRole { name } => iam::delete_role(&c.iam, name).await?,
                Action::CreateBus { .. } => eventbridge::create_bus(&c.events, d).await?,
                Action::TagBus { arn } | Action::TagRule { arn } => eventbridge::tag(&c.events, d, arn).await?,
                Action::DeleteBus { name } => self.delete_bus(c, d, o, name).await?,
                Action::PutRule { name, create } => eventbridge::put_rule(&c.events, d, rule(name)?, *create).await?,
                Action::PutTargets { rule: name, ids } => {
                    eventbridge::put_targets(&c.events, d, rule(name)?, ids).await?
                }
                Action::RemoveTargets { rule, ids } => eventbridge::remove_targets(&c.events, d, rule, ids).await?,
                Action::DeleteRule { name } => eventbridge::delete_rule(&c.events, d, name).await?,
                Action::AddPermission(p) => lambda::add_permission(&c.lambda, p).await?,
                Action::RemovePermission { function_arn, statement_id } => {
                    lambda::remove_permission(&c.lambda, function_arn, statement_id).await?
                }
                Action::CreateApi { .. } => {
                    let (id, endpoint) = apigateway::create_api(&c.apigateway, d).await?;
                    api_id = Some(id.clone());
                    created.api = Some((id, endpoint));
                }
                Action::UpdateApi { id } => apigateway::update_api(&c.apigateway, d, id).await?,
                Action::TagApi { id } => apigateway::tag(&c.apigateway, d, id, None).await?,
                Action::DeleteApi { id } => apigateway::delete_api(&c.apigateway, id).await?,
                Action::CreateStage { .. } => apigateway::create_stage(&c.apigateway, d, &api()?).await?,
                Action::UpdateStage { .. } => apigateway::update_stage(&c.apigateway, d, &api()?).await?,
                Action::TagStage { name } => apigateway::tag(&c.apigateway, d, &api()?, Some(name)).await?,
                Action::DeleteStage { name } => apigateway::delete_stage(&c.apigateway, &api()?, name).await?,
                Action::CreateAuthorizer { name } => {
                    let id = apigateway::create_authorizer(&c.apigateway, d, &api()?, name).await?;
                    authorizers.insert(name.clone(), id);
                }
                Action::UpdateAuthorizer { id, name } => {
                    apigateway::update_authorizer(&c.apigateway, d, &api()?, id, name).await?
                }
                Action::DeleteAuthorizer { id } => apigateway::delete_authorizer(&c.apigateway, &api()?, id).await?,
                Action::CreateIntegration { route: name } => {
                    let id = apigateway::create_integration(&c.apigateway, &api()?, route(name)?).await?;
                    integrations.insert(name.clone(), id);
                }
                Action::UpdateIntegration { id, route: name } => {
                    apigateway::update_integration(&c.apigateway, &api()?, id, route(name)?).await?
                }
                Action::DeleteIntegration { id } => apigateway::delete_integration(&c.apigateway, &api()?, id).await?,
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
                            apigateway::update_route(&c.apigateway, &api()?, id, r, refs).await?
                        }
                        _ => {
                            let id = apigateway::create_route(&c.apigateway, &api()?, r, refs).await?;
                            created.routes.insert(name.clone(), id);
                        }
                    }
                }
                Action::DeleteRoute { id, .. } => apigateway::delete_route(&c.apigateway, &api()?, id).await?,
                Action::DeleteAccessLogSettings { stage } => {
                    apigateway::delete_access_log_settings(&c.apigateway, &api()?, stage).await?
                }
                Action::CreateDomain { name } => {
                    domain::create_domain(&c.apigateway, d).await?;
                    created.domain = Some(name.clone());
                }
                Action::UpdateDomain { .. } => domain::update_domain(&c.apigateway, d).await?,
                Action::DeleteDomain { name } => domain::delete_domain(&c.apigateway, name).await?,
                Action::CreateApiMapping { .. } => {
                    domain::create_api_mapping(&c.apigateway, d, &api()?).await?;
                }
                Action::UpdateApiMapping { id, .. } => {
                    domain::update_api_mapping(&c.apigateway, d, &api()?, id).await?
                }
                Action::DeleteApiMapping { domain: name, id } => {
                    domain::delete_api_mapping(&c.apigateway, name, id).await?
                }
                Action::CreateLogGroup { .. } => logs::create_log_group(&c.logs, d).await?,
                Action::PutRetentionPolicy { .. } => logs::put_retention(&c.logs, d).await?,
                Action::DeleteLogGroup { name } => logs::delete_log_group(&c.logs, name).await?,
                Action::CreateArchive { .. } => archive::create_archive(&c.events, d).await?,
                Action::UpdateArchive { .. } => archive::update_archive(&c.events, d).await?,
                Action::DeleteArchive { name } => archive::delete_archive(&c.events, name).await?,
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

/// An STS session name (at most 64 characters): a longer one keeps its start and ends in 16
/// hex digits (64 bits) of a hash of the whole name, so two namespaces' names cut to the same
/// start still differ (an 8-digit hash collided in seconds of search).
fn session_name(name: &str) -> String {
    owner::bounded_hashed(name, 64, 16)
}

/// Passes of observe, plan and apply within one reconcile that may end in API Gateway's 409
/// ConflictException before it is reported as terminal (see [`Error::is_api_conflict`]).
const API_CONFLICT_TRIES: u32 = 3;

/// DeleteEventBus tries within one pass (waits of `retry_delay`, then twice that) before the
/// refusal is handed to the caller's backoff as [`Error::BusDraining`].
const BUS_DELETE_TRIES: u32 = 3;

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

fn outcome(d: &Desired, o: &Observed, actions: Vec<Action>, delivery_gaps: Vec<(Delivery, Finding)>) -> Outcome {
    Outcome {
        status: status::describe(d, o),
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
