//! A gateway's pass: its own objects (API, stage, authorizers, domain, bus, role, logs,
//! archive) reconciled as a bridge's are, never a route of its API (those are the attached
//! bridges'), and a delete that waits until no bridge route is left on it.

use super::{Engine, Outcome, outcome};
use crate::api::{DeletionPolicy, WebhookBridgeGateway};
use crate::aws::{Clients, apigateway};
use crate::desired::{self, Desired};
use crate::error::Error;
use crate::gateway;
use crate::observed::Known;
use crate::plan::{self, Action};
use crate::{tenancy, validate};

impl Engine {
    /// Clients and desired state of a gateway: checked as a bridge of its namespace is (the
    /// policy's regions, bus names, domains, certificates, issuers, origins; its identity acts).
    async fn prepare_gateway(&self, gw: &WebhookBridgeGateway, check: bool) -> Result<(Clients, Desired), Error> {
        let shape = gateway::as_bridge(gw);
        let region = self.region(&shape)?;
        let owner = self.owner(&shape);
        let governance = self.tenancy.governance(&owner.namespace)?;
        if check {
            tenancy::check(&governance, &shape, &region).map_err(|e| match e {
                Error::PolicyDenied { policy, mut denials } => {
                    for d in &mut denials {
                        d.field = gateway::gateway_field(&d.field);
                    }
                    Error::PolicyDenied { policy, denials }
                }
                other => other,
            })?;
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
        Box::pin(self.v2_bus_in_use(&c, &o, &d.owner.key().replacen(gateway::OWNER_PREFIX, "", 1))).await?;
        let actions = plan::plan_delete(&d, &o);
        Box::pin(self.apply(&c, &d, &o, &actions)).await?;
        Ok(actions)
    }
}
