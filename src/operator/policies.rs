//! Multi-tenant mode: WebhookBridgePolicies and Namespaces cached by watches, as the engine's
//! [`PolicySource`], and the bridges to look at again when either changes.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{broadcast, watch};
use tracing::{error, info, warn};

use crate::api::{WebhookBridgePolicy, WebhookBridgePolicySpec};
use crate::tenancy::PolicySource;

/// Which bridges to reconcile again: those of one namespace (its labels changed), or all (a
/// policy changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retrigger {
    Namespace(String),
    All,
}

/// The cached policies and namespaces.
#[derive(Clone)]
pub struct Policies {
    policies: Store<WebhookBridgePolicy>,
    namespaces: Store<Namespace>,
    triggers: broadcast::Sender<Retrigger>,
    /// True while the apiserver answers 404 for WebhookBridgePolicies (the CRD is missing).
    missing: watch::Sender<bool>,
}

/// What bridges, the log and `/readyz` say while the policy CRD is missing.
pub const POLICY_CRD_MISSING: &str = "the apiserver does not serve WebhookBridgePolicies (CRD webhookbridgepolicies.webhookbridge.io), which multi-tenant mode needs: nothing is done in AWS until it is installed. Helm installs crds/ only on first install and never upgrades them: run `kubectl apply --server-side -f charts/webhook-bridge/crds/` (or `webhook-bridge crd policy | kubectl apply --server-side -f -`), or run the operator with --tenancy single";

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies").field("missing", &self.missing()).finish_non_exhaustive()
    }
}

impl PolicySource for Policies {
    fn policies_for(&self, namespace: &str) -> Option<Vec<(String, WebhookBridgePolicySpec)>> {
        let ns = self.namespaces.get(&ObjectRef::new(namespace))?;
        let mut found: Vec<(String, WebhookBridgePolicySpec)> = self
            .policies
            .state()
            .iter()
            .filter(|p| p.spec.namespace_selector.matches(ns.labels()))
            .map(|p| (p.name_any(), p.spec.clone()))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Some(found)
    }

    fn unavailable(&self) -> Option<String> {
        self.missing().then(|| POLICY_CRD_MISSING.to_string())
    }
}

impl Policies {
    /// Start watching (the returned future drives the watches; run it for the operator's
    /// lifetime, on standby replicas too, so a new leader starts with a warm cache).
    pub fn watch(client: kube::Client) -> (Arc<Policies>, BoxFuture<'static, ()>) {
        let (policies, policy_writer) = reflector::store();
        let (namespaces, namespace_writer) = reflector::store();
        let (triggers, _) = broadcast::channel(1024);
        let (missing, _) = watch::channel(false);
        let this = Arc::new(Policies { policies, namespaces, triggers: triggers.clone(), missing: missing.clone() });

        let policy_events = watcher(Api::<WebhookBridgePolicy>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .modify(|p| p.managed_fields_mut().clear())
            .reflect(policy_writer);
        let policy_triggers = triggers.clone();
        let drive_policies = policy_events.for_each(move |event| {
            let triggers = policy_triggers.clone();
            let missing = missing.clone();
            async move {
                let not_served = |e: &watcher::Error| match e {
                    watcher::Error::InitialListFailed(kube::Error::Api(s))
                    | watcher::Error::WatchStartFailed(kube::Error::Api(s)) => s.code == 404,
                    _ => false,
                };
                match event {
                    // The store holds the full list only from InitDone on: bridges looked at
                    // before would see no policy.
                    Ok(watcher::Event::InitDone) => {
                        if missing.send_if_modified(|m| std::mem::replace(m, false)) {
                            info!("WebhookBridgePolicies are served again: reconciling every bridge");
                            let _ = triggers.send(Retrigger::All);
                        }
                    }
                    Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => {
                        let _ = triggers.send(Retrigger::All);
                    }
                    Ok(_) => {}
                    // Said once, loudly, not as a warning every backoff step.
                    Err(e) if not_served(&e) => {
                        if missing.send_if_modified(|m| !std::mem::replace(m, true)) {
                            error!("{POLICY_CRD_MISSING}");
                            let _ = triggers.send(Retrigger::All);
                        }
                    }
                    Err(e) => warn!(error = %e, "watching WebhookBridgePolicies"),
                }
            }
        });
        let drive_namespaces = watcher(Api::<Namespace>::all(client), watcher::Config::default())
            .default_backoff()
            .modify(|ns| ns.managed_fields_mut().clear())
            .reflect(namespace_writer)
            .for_each(move |event| {
                let triggers = triggers.clone();
                async move {
                    match event {
                        Ok(watcher::Event::Apply(ns) | watcher::Event::Delete(ns)) => {
                            let _ = triggers.send(Retrigger::Namespace(ns.name_any()));
                        }
                        Ok(_) => {}
                        Err(e) => warn!(error = %e, "watching Namespaces"),
                    }
                }
            });
        let drive = async move {
            futures::join!(drive_policies, drive_namespaces);
        };
        (this, Box::pin(drive))
    }

    /// Wait until both caches hold a full list (before the first reconcile: an empty cache
    /// would say NoPolicy to everyone).
    /// Or until the policy CRD turns out to be missing: bridges are then reconciled to say so
    /// (`PolicyCrdMissing`), never left without status.
    pub async fn ready(&self) {
        let mut missing = self.missing.subscribe();
        tokio::select! {
            _ = self.policies.wait_until_ready() => {}
            _ = missing.wait_for(|m| *m) => {}
        }
        let _ = self.namespaces.wait_until_ready().await;
    }

    /// The labels of a cached namespace (None: not in the cache).
    pub fn namespace_labels(&self, namespace: &str) -> Option<std::collections::BTreeMap<String, String>> {
        self.namespaces.get(&ObjectRef::new(namespace)).map(|ns| ns.labels().clone())
    }

    /// Whether the apiserver answers 404 for WebhookBridgePolicies.
    pub fn missing(&self) -> bool {
        *self.missing.borrow()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Retrigger> {
        self.triggers.subscribe()
    }
}

/// The bridges in `reader` a stream of [`Retrigger`]s points at (all of them if triggers were
/// missed).
pub fn retriggered<K>(
    reader: Store<K>,
    triggers: broadcast::Receiver<Retrigger>,
) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static
where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    futures::stream::unfold(triggers, |mut rx| async move {
        match rx.recv().await {
            Ok(t) => Some((t, rx)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some((Retrigger::All, rx)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
    .flat_map(move |t| {
        let refs: Vec<ObjectRef<K>> = reader
            .state()
            .iter()
            .filter(|b| match &t {
                Retrigger::All => true,
                Retrigger::Namespace(ns) => b.namespace().as_deref() == Some(ns.as_str()),
            })
            .map(|b| ObjectRef::from_obj(b.as_ref()))
            .collect();
        futures::stream::iter(refs)
    })
}
