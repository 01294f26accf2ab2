//! The engine's part of the Custom Event Bus family (`eventsv2`): the Secrets a webhook-source
//! bridge's sources name, the family's reads, its writes in plan order, and the wait for what
//! AWS provisions asynchronously (a bus or source CREATING is "not yet", retried; CREATE_FAILED
//! is terminal with AWS's reason). Sequencing only: the calls are `aws::eventsv2`'s, the
//! decisions `plan::eventsv2`'s and `desired_webhook`'s.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Engine;
use crate::api::WebhookBridge;
use crate::aws::{Clients, eventsv2, iam};
use crate::desired::Desired;
use crate::desired_webhook::{NoSecrets, SecretRead, SecretSource};
use crate::error::Error;
use crate::observed::{ObsV2Subscriber, Observed};
use crate::plan::V2Action;

/// The engine's [`SecretSource`].
#[derive(Clone)]
pub struct Secrets(pub Arc<dyn SecretSource>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets")
    }
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets(Arc::new(NoSecrets))
    }
}

impl Engine {
    /// The credential of each source with a `secretRef`, from the bridge's namespace. A Secret
    /// or key that is missing is left out (the desired state says which, see
    /// `desired_webhook::webhook`).
    pub(super) async fn webhook_secrets(&self, bridge: &WebhookBridge) -> Result<BTreeMap<String, SecretRead>, Error> {
        let namespace = bridge.metadata.namespace.as_deref().unwrap_or("default");
        let mut found = BTreeMap::new();
        for s in &bridge.spec.webhook_sources {
            let Some(r) = &s.secret_ref else { continue };
            if let Some(read) = self.secrets.0.get(namespace, &r.name, r.key()).await? {
                found.insert(s.name.clone(), read);
            }
        }
        Ok(found)
    }

    /// The family's reads: a gateway's bus, or a webhook-source bridge's sources, subscribers
    /// and managed role (the role of a bridge on a gateway is otherwise the gateway's).
    pub(super) async fn observe_v2(&self, c: &Clients, d: &Desired, o: &mut Observed) -> Result<(), Error> {
        o.v2 = Default::default();
        Box::pin(eventsv2::observe_bus(&c.eventsv2, d, o)).await?;
        if d.v2.webhook {
            Box::pin(eventsv2::observe_webhook(&c.eventsv2, d, o)).await?;
            let mut role = Observed::default();
            Box::pin(iam::observe(&c.iam, d, &mut role)).await?;
            o.role = role.role;
        }
        Ok(())
    }

    /// One `eventsv2` write.
    pub(super) async fn apply_v2(&self, c: &Clients, d: &Desired, action: &V2Action) -> Result<(), Error> {
        let client = &c.eventsv2;
        let source = |name: &str| {
            d.v2.sources
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| Error::Config(format!("{action}: source {name} is not in the spec")))
        };
        let subscriber = |name: &str| {
            d.v2.subscribers
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| Error::Config(format!("{action}: subscriber {name} is not in the spec")))
        };
        match action {
            V2Action::CreateBus { .. } => {
                // Waits (a few seconds) for ACTIVE; longer is the caller's retry.
                Box::pin(eventsv2::create_bus(client, d)).await?;
            }
            V2Action::TagBus { arn } => Box::pin(eventsv2::tag(client, d, arn)).await?,
            V2Action::DeleteBus { name, arn } => Box::pin(eventsv2::delete_bus(client, name, arn)).await?,
            V2Action::CreateSource { name } => {
                Box::pin(eventsv2::create_source(client, d, source(name)?)).await?;
            }
            V2Action::UpdateSource { name, arn } => {
                Box::pin(eventsv2::update_source(client, source(name)?, arn)).await?
            }
            V2Action::RotateCredential { name, arn } => {
                Box::pin(eventsv2::rotate(client, d, source(name)?, arn)).await?
            }
            V2Action::TagSource { name, arn } => Box::pin(eventsv2::tag_source(client, d, source(name)?, arn)).await?,
            V2Action::DeleteSource { arn, .. } => Box::pin(eventsv2::delete_source(client, arn)).await?,
            V2Action::CreateSubscriber { name } => {
                Box::pin(eventsv2::create_subscriber(client, d, subscriber(name)?)).await?
            }
            V2Action::UpdateSubscriber { name, arn } => {
                Box::pin(eventsv2::update_subscriber(client, subscriber(name)?, arn)).await?
            }
            V2Action::TagSubscriber { arn, .. } => Box::pin(eventsv2::tag(client, d, arn)).await?,
            V2Action::DeleteSubscriber { arn, .. } => Box::pin(eventsv2::delete_subscriber(client, arn)).await?,
        }
        Ok(())
    }

    /// After a pass: what the family holds now (read again when it wrote), and the wait for
    /// the bus or sources AWS is still provisioning. `Err(NotYet)` while one is not ACTIVE.
    pub(super) async fn settle_v2(&self, c: &Clients, d: &Desired, o: &mut Observed, wrote: bool) -> Result<(), Error> {
        if d.v2.bus.is_none() && !d.v2.webhook {
            return Ok(());
        }
        if wrote {
            self.observe_v2(c, d, o).await?;
        }
        if d.v2.bus.is_some()
            && let Some(bus) = &o.v2.bus
            && eventsv2::bus_ready(bus).is_err()
        {
            let arn = bus.arn.clone();
            o.v2.bus = Some(eventsv2::wait_bus(&c.eventsv2, &arn).await?);
        }
        if d.v2.webhook {
            let mut ours: Vec<_> =
                o.v2.sources.iter().filter(|s| d.v2.sources.iter().any(|w| w.name == s.name)).cloned().collect();
            eventsv2::wait_sources(&c.eventsv2, &mut ours).await?;
            for s in ours {
                if let Some(slot) = o.v2.sources.iter_mut().find(|x| x.name == s.name) {
                    *slot = s;
                }
            }
        }
        Ok(())
    }

    /// A gateway's Custom Event Bus is deleted only once no attached bridge has a source or
    /// subscriber on it (AWS refuses otherwise, and they are the bridges' to remove).
    pub(super) async fn v2_bus_in_use(&self, c: &Clients, o: &Observed, gateway: &str) -> Result<(), Error> {
        let Some(bus) = &o.v2.bus else { return Ok(()) };
        let left = eventsv2::occupants(&c.eventsv2, &bus.arn).await?;
        if left.is_empty() {
            return Ok(());
        }
        Err(Error::GatewayInUse(format!(
            "gateway {gateway}: its Custom Event Bus {} still has {} webhook source(s) or subscriber(s) of attached bridges ({}{}); it is deleted once they are gone",
            bus.name,
            left.len(),
            left.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if left.len() > 5 { ", ..." } else { "" }
        )))
    }
}

/// The status of a webhook-source bridge's sources (URL, ARN, secret ARN, state; never the
/// secret) and subscribers, in spec order.
pub fn webhook_status(
    d: &Desired,
    o: &Observed,
) -> (Vec<crate::api::webhook::WebhookSourceStatus>, Vec<crate::api::webhook::SubscriberStatus>) {
    let sources =
        d.v2.sources
            .iter()
            .map(|w| {
                let have = o.v2.sources.iter().find(|s| s.name == w.name);
                crate::api::webhook::WebhookSourceStatus {
                    name: w.spec_name.clone(),
                    url: have.and_then(|s| s.url.clone()),
                    arn: have.map(|s| s.arn.clone()),
                    secret_arn: have.and_then(|s| s.secret_arn.clone()),
                    // Revocation is a flag beside the lifecycle state; status shows it as the state.
                    state: have.and_then(|s| if s.revoked { Some("REVOKED".into()) } else { s.state.clone() }),
                }
            })
            .collect();
    let subscribers =
        d.v2.subscribers
            .iter()
            .map(|w| {
                let have: Option<&ObsV2Subscriber> = o.v2.subscribers.iter().find(|s| s.name == w.name);
                crate::api::webhook::SubscriberStatus {
                    name: w.name.clone(),
                    arn: have.map(|s| s.arn.clone()),
                    state: have.and_then(|s| if s.revoked { Some("REVOKED".into()) } else { s.state.clone() }),
                }
            })
            .collect();
    (sources, subscribers)
}
