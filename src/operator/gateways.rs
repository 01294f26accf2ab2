//! Gateways as the engine sees them from the operator: the WebhookBridgeGateways, Namespaces and
//! WebhookBridges the watches cache, as the engine's [`GatewaySource`], and which bridges to
//! look at again when a gateway changes (or a route key changes hands).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{broadcast, watch};
use tracing::{error, info, warn};

use super::policies::Policies;
use crate::api::{WebhookBridge, WebhookBridgeGateway};
use crate::error::Error;
use crate::gateway::{self, GatewaySource, arbiter};

/// What bridges and the log say while the gateway CRD is missing.
pub const GATEWAY_CRD_MISSING: &str = "the apiserver does not serve WebhookBridgeGateways (CRD webhookbridgegateways.webhookbridge.io), which a bridge with spec.gatewayRef needs: it waits until the CRD is installed. Helm installs crds/ only on first install and never upgrades them: run `kubectl apply --server-side -f charts/webhook-bridge/crds/` (or `webhook-bridge crd gateway | kubectl apply --server-side -f -`), or run the operator with --install-crds";

/// Which bridges to look at again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Every bridge attached to this gateway (namespace, name).
    Gateway(String, String),
    /// One bridge (namespace, name): e.g. the newer holder of a route key an older bridge claims.
    Bridge(String, String),
    /// Every bridge with a gatewayRef (the gateway CRD came back).
    AllAttached,
    /// The bridges with a gatewayRef in this namespace (its labels changed).
    Namespace(String),
}

/// The cached gateways, namespaces and bridges.
pub struct GatewayWatch {
    /// One cache per watched namespace (or one for all).
    gateways: Vec<Store<WebhookBridgeGateway>>,
    /// Namespaces (their labels, for `allowedRoutes.namespaces.from: Selector`): the policy
    /// cache's in multi-tenant mode, a watch of our own otherwise.
    policies: Option<Arc<Policies>>,
    namespaces: Option<Store<Namespace>>,
    /// The bridge controllers' caches (one per watched namespace, or one for all).
    bridges: RwLock<Vec<Store<DeserializeGuard<WebhookBridge>>>>,
    /// Which cached bridges name which gateway, kept from the same events as the cache.
    index: RwLock<BridgeIndex>,
    triggers: broadcast::Sender<Trigger>,
    /// Gateways to look at again (namespace, name): a bridge attached, changed or left, so its
    /// capacity figures change.
    gateway_triggers: broadcast::Sender<(String, String)>,
    missing: watch::Sender<bool>,
}

impl std::fmt::Debug for GatewayWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayWatch").field("missing", &*self.missing.borrow()).finish_non_exhaustive()
    }
}

fn ns_of<K: kube::Resource>(k: &K) -> String {
    k.meta().namespace.clone().unwrap_or_else(|| "default".into())
}

/// Whether `bridge`'s gatewayRef names `namespace/name` (no allocation).
fn names(bridge: &WebhookBridge, namespace: &str, name: &str) -> bool {
    bridge.spec.gateway_ref.as_ref().is_some_and(|r| {
        r.name == name
            && r.namespace.as_deref().or(bridge.metadata.namespace.as_deref()).unwrap_or("default") == namespace
    })
}

type BridgeRef = ObjectRef<DeserializeGuard<WebhookBridge>>;

/// The bridges of the cache by the gateway they name, so a gateway's bridges are found without
/// walking every cached bridge: each reconcile of an attached bridge asks (its verdict), and at
/// 10,000 bridges a walk of the whole cache per ask made admission O(n) per reconcile.
///
/// Fed the watch events the cache is (see [`GatewayWatch::observe`]); a (re)list builds a new
/// index that replaces the old at its end, as the cache's store does. Readers still check each
/// bridge they take from the cache, so an entry can only be stale in the harmless direction.
#[derive(Debug, Default)]
struct BridgeIndex {
    by_gateway: std::collections::HashMap<(String, String), std::collections::HashSet<BridgeRef>>,
    gateway_of: std::collections::HashMap<BridgeRef, (String, String)>,
    /// A (re)list in progress.
    building: Option<Box<BridgeIndex>>,
}

impl BridgeIndex {
    fn upsert(&mut self, object: &DeserializeGuard<WebhookBridge>) {
        let at = ObjectRef::from_obj(object);
        self.remove(&at);
        if let Some(key) = object.0.as_ref().ok().and_then(gateway::key_of) {
            self.by_gateway.entry(key.clone()).or_default().insert(at.clone());
            self.gateway_of.insert(at, key);
        }
    }

    fn remove(&mut self, at: &BridgeRef) {
        if let Some(key) = self.gateway_of.remove(at)
            && let Some(set) = self.by_gateway.get_mut(&key)
        {
            set.remove(at);
            if set.is_empty() {
                self.by_gateway.remove(&key);
            }
        }
    }

    fn apply(&mut self, event: &watcher::Event<DeserializeGuard<WebhookBridge>>) {
        match event {
            watcher::Event::Apply(o) => self.upsert(o),
            watcher::Event::Delete(o) => self.remove(&ObjectRef::from_obj(o)),
            watcher::Event::Init => self.building = Some(Box::default()),
            watcher::Event::InitApply(o) => self.building.get_or_insert_with(Box::default).upsert(o),
            watcher::Event::InitDone => {
                if let Some(built) = self.building.take() {
                    self.by_gateway = built.by_gateway;
                    self.gateway_of = built.gateway_of;
                }
            }
        }
    }

    fn on(&self, namespace: &str, name: &str) -> Vec<BridgeRef> {
        self.by_gateway
            .get(&(namespace.to_string(), name.to_string()))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// A bridge of the cache attached to a gateway, shared with the cache (never copied).
#[derive(Clone)]
pub struct Attached(Arc<DeserializeGuard<WebhookBridge>>);

impl Attached {
    /// The bridge ([`GatewayWatch::attached`] keeps only the ones that deserialized).
    pub fn bridge(&self) -> Option<&WebhookBridge> {
        self.0.0.as_ref().ok()
    }
}

impl GatewaySource for GatewayWatch {
    fn gateway(&self, namespace: &str, name: &str) -> Result<WebhookBridgeGateway, Error> {
        if *self.missing.borrow() {
            return Err(Error::GatewayNotFound(GATEWAY_CRD_MISSING.to_string()));
        }
        let at = ObjectRef::new(name).within(namespace);
        self.gateways.iter().find_map(|s| s.get(&at)).map(|g| (*g).clone()).ok_or_else(|| {
            Error::GatewayNotFound(format!(
                "WebhookBridgeGateway {namespace}/{name} not found; the bridge attaches once it exists"
            ))
        })
    }

    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        if let Some(p) = &self.policies {
            return p.namespace_labels(namespace);
        }
        let ns = self.namespaces.as_ref()?.get(&ObjectRef::new(namespace))?;
        Some(ns.labels().clone())
    }

    fn verdict(&self, gw: &WebhookBridgeGateway, bridge: &WebhookBridge) -> arbiter::Verdict {
        // The bridges admitted before, and this one (the cache may not show its finalizer yet).
        let attached = self.attached(gw);
        let refs: Vec<&WebhookBridge> = attached
            .iter()
            .filter_map(Attached::bridge)
            .filter(|b| b.metadata.uid != bridge.metadata.uid)
            .chain(std::iter::once(bridge))
            .collect();
        let (verdicts, _) = arbiter::arbitrate(gw, &refs);
        bridge.metadata.uid.as_ref().and_then(|uid| verdicts.get(uid).cloned()).unwrap_or_default()
    }
}

impl GatewayWatch {
    /// Start watching gateways (and namespaces, without a policy cache); the future drives the
    /// watches for the operator's lifetime.
    pub fn watch(
        client: kube::Client,
        policies: Option<Arc<Policies>>,
        namespaces_watched: &[String],
    ) -> (Arc<GatewayWatch>, BoxFuture<'static, ()>) {
        let (triggers, _) = broadcast::channel(1024);
        let (missing, _) = watch::channel(false);
        let (namespaces, namespace_drive) = if policies.is_none() {
            let (reader, writer) = reflector::store();
            let drive = watcher(Api::<Namespace>::all(client.clone()), watcher::Config::default())
                .default_backoff()
                .modify(|ns| ns.managed_fields_mut().clear())
                .reflect(writer)
                .for_each({
                    let triggers = triggers.clone();
                    move |event| {
                        let triggers = triggers.clone();
                        async move {
                            match event {
                                // Relabelled: a gateway's `from: Selector` may take or drop it.
                                Ok(watcher::Event::Apply(ns) | watcher::Event::Delete(ns)) => {
                                    let _ = triggers.send(Trigger::Namespace(ns.name_any()));
                                }
                                Ok(_) => {}
                                Err(e) => warn!(error = %e, "watching Namespaces"),
                            }
                        }
                    }
                });
            let drive: BoxFuture<'static, ()> = Box::pin(drive);
            (Some(reader), Some(drive))
        } else {
            (None, None)
        };
        let apis: Vec<Api<WebhookBridgeGateway>> = if namespaces_watched.is_empty() {
            vec![Api::all(client)]
        } else {
            namespaces_watched.iter().map(|ns| Api::namespaced(client.clone(), ns)).collect()
        };
        let mut stores = Vec::new();
        let mut drives = Vec::new();
        for api in apis {
            let (reader, writer) = reflector::store();
            stores.push(reader);
            let (triggers, missing) = (triggers.clone(), missing.clone());
            let drive = watcher(api, watcher::Config::default())
                .default_backoff()
                .modify(|g| g.managed_fields_mut().clear())
                .reflect(writer)
                .for_each(move |event| {
                    let (triggers, missing) = (triggers.clone(), missing.clone());
                    async move {
                        let not_served = |e: &watcher::Error| match e {
                            watcher::Error::InitialListFailed(kube::Error::Api(s))
                            | watcher::Error::WatchStartFailed(kube::Error::Api(s)) => s.code == 404,
                            _ => false,
                        };
                        match event {
                            Ok(watcher::Event::InitDone) => {
                                if missing.send_if_modified(|m| std::mem::replace(m, false)) {
                                    info!("WebhookBridgeGateways are served again: reconciling attached bridges");
                                    let _ = triggers.send(Trigger::AllAttached);
                                }
                            }
                            // Not on every Apply: a gateway's status changes with each recount
                            // of its capacity, and retriggering its (up to 150) bridges each time
                            // cost the 1,000-bridge bench 230 s of CPU. Its reconcile triggers
                            // them when what they take from it changes (ids, Ready, generation).
                            Ok(watcher::Event::Delete(g)) => {
                                let _ = triggers.send(Trigger::Gateway(ns_of(&g), g.name_any()));
                            }
                            Ok(_) => {}
                            Err(e) if not_served(&e) => {
                                if missing.send_if_modified(|m| !std::mem::replace(m, true)) {
                                    error!("{GATEWAY_CRD_MISSING}");
                                    let _ = triggers.send(Trigger::AllAttached);
                                }
                            }
                            Err(e) => warn!(error = %e, "watching WebhookBridgeGateways"),
                        }
                    }
                });
            drives.push(drive);
        }
        let this = Arc::new(GatewayWatch {
            gateways: stores,
            policies,
            namespaces,
            bridges: RwLock::new(Vec::new()),
            index: RwLock::default(),
            triggers,
            gateway_triggers: broadcast::channel(1024).0,
            missing,
        });
        let drive_gateways = futures::future::join_all(drives);
        let drive = async move {
            match namespace_drive {
                Some(ns) => {
                    futures::join!(drive_gateways, ns);
                }
                None => {
                    drive_gateways.await;
                }
            }
        };
        (this, Box::pin(drive))
    }

    /// A watch event of the bridge cache (after the cache took it): the index follows.
    pub fn observe(&self, event: &watcher::Event<DeserializeGuard<WebhookBridge>>) {
        self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner).apply(event);
    }

    /// The cached bridges naming `namespace/name` (any state), from the index.
    fn cached_on(&self, namespace: &str, name: &str) -> Vec<Arc<DeserializeGuard<WebhookBridge>>> {
        // A poisoned lock still holds the last index: never "no siblings" (that would fail open).
        let refs = self.index.read().unwrap_or_else(std::sync::PoisonError::into_inner).on(namespace, name);
        let stores = self.bridges.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        refs.iter()
            .filter_map(|at| stores.iter().find_map(|s| s.get(at)))
            .filter(|b| b.0.as_ref().is_ok_and(|bridge| names(bridge, namespace, name)))
            .collect()
    }

    /// The bridge controllers' caches, once they exist.
    pub fn set_bridges(&self, stores: Vec<Store<DeserializeGuard<WebhookBridge>>>) {
        if let Ok(mut b) = self.bridges.write() {
            *b = stores;
        }
    }

    /// Every cached bridge naming `gw` that the operator admitted (it holds our finalizer, which
    /// only a bridge its policy and the gateway both allowed gets), is not being deleted, and
    /// the gateway still accepts (its namespace rule). A bridge its policy denies never takes a
    /// route key or room from one that may attach.
    ///
    /// Every reconcile of an attached bridge asks, so this shares the cache's objects rather
    /// than copying them: a deep copy of each sibling per reconcile made the CPU per bridge grow
    /// with the gateway's size (perf, benches/gateway.rs at 400 and 1,000 bridges).
    pub fn attached(&self, gw: &WebhookBridgeGateway) -> Vec<Attached> {
        let (ns, name) = (ns_of(gw), gw.name_any());
        let mut labels: BTreeMap<String, Option<BTreeMap<String, String>>> = BTreeMap::new();
        self.cached_on(&ns, &name)
            .into_iter()
            .filter(|b| {
                let Ok(bridge) = &b.0 else { return false };
                if !names(bridge, &ns, &name)
                    || bridge.metadata.deletion_timestamp.is_some()
                    || !bridge.finalizers().iter().any(|f| f == super::reconcile::FINALIZER)
                {
                    return false;
                }
                let ns = ns_of(bridge);
                let labels = labels.entry(ns.clone()).or_insert_with(|| self.namespace_labels(&ns));
                gateway::admission::namespace_allowed(gw, &ns, labels.as_ref())
            })
            .map(Attached)
            .collect()
    }

    /// Every cached bridge naming `gw`, deleting or not (a gateway's delete waits for them).
    pub fn referencing(&self, namespace: &str, name: &str) -> Vec<String> {
        let mut found: Vec<String> = self
            .cached_on(namespace, name)
            .iter()
            .filter_map(|b| b.0.as_ref().ok().map(|bridge| format!("{}/{}", ns_of(bridge), bridge.name_any())))
            .collect();
        found.sort();
        found
    }

    /// `bridge` waits for a route key another bridge holds: look again at the newer bridges the
    /// arbiter says must give a key up to it, so they release it now rather than at their next
    /// resync.
    pub fn yield_to(&self, bridge: &WebhookBridge) {
        let Some((ns, name)) = gateway::key_of(bridge) else { return };
        let Ok(gw) = self.gateway(&ns, &name) else { return };
        let attached = self.attached(&gw);
        let refs: Vec<&WebhookBridge> = attached.iter().filter_map(Attached::bridge).collect();
        let (verdicts, _) = arbiter::arbitrate(&gw, &refs);
        let me = format!("{}/{}", ns_of(bridge), bridge.name_any());
        for b in refs {
            let loses = b
                .metadata
                .uid
                .as_ref()
                .and_then(|u| verdicts.get(u))
                .is_some_and(|v| v.lost_routes.iter().any(|(_, _, holder)| *holder == me));
            if loses {
                self.trigger(Trigger::Bridge(ns_of(b), b.name_any()));
            }
        }
    }

    /// `bridge` left its gateway or changed its spec, so a route key it held may be free: look
    /// again now at the bridges on that gateway waiting for a key (Ready reason RouteConflict),
    /// rather than at their next resync (which at 10,000 bridges is hours away). Not on every
    /// pass: two waiting bridges would retrigger each other without end.
    pub fn released(&self, bridge: &WebhookBridge) {
        let Some((ns, name)) = gateway::key_of(bridge) else { return };
        for b in self.cached_on(&ns, &name) {
            let Ok(other) = &b.0 else { continue };
            let waiting = other.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| c.type_ == "Ready" && c.status != "True" && c.reason == "RouteConflict")
            });
            if waiting && other.metadata.uid != bridge.metadata.uid {
                self.trigger(Trigger::Bridge(ns_of(other), other.name_any()));
            }
        }
    }

    /// A bridge on `bridge`'s gateway attached, changed or left: the gateway recounts.
    pub fn bridge_changed(&self, bridge: &WebhookBridge) {
        if let Some(key) = gateway::key_of(bridge) {
            let _ = self.gateway_triggers.send(key);
        }
    }

    /// The gateways of `reader` the bridges point at.
    pub fn gateways_retriggered(
        &self,
        reader: Store<WebhookBridgeGateway>,
    ) -> impl futures::Stream<Item = ObjectRef<WebhookBridgeGateway>> + Send + 'static {
        futures::stream::unfold(self.gateway_triggers.subscribe(), |mut rx| async move {
            match rx.recv().await {
                Ok(key) => Some((Some(key), rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some((None, rx)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .flat_map(move |key| {
            let refs: Vec<ObjectRef<WebhookBridgeGateway>> = reader
                .state()
                .iter()
                .filter(|g| key.as_ref().is_none_or(|(ns, name)| ns_of(g.as_ref()) == *ns && g.name_any() == *name))
                .map(|g| ObjectRef::from_obj(g.as_ref()))
                .collect();
            futures::stream::iter(refs)
        })
    }

    /// Ask for bridges to be looked at again.
    pub fn trigger(&self, t: Trigger) {
        let _ = self.triggers.send(t);
    }

    /// Whether the gateway CRD is missing.
    pub fn missing(&self) -> bool {
        *self.missing.borrow()
    }

    /// Wait until the apiserver serves gateways (every cache holds a full list).
    pub async fn served(&self) {
        futures::future::join_all(self.gateways.iter().map(|s| s.wait_until_ready())).await;
    }

    /// Wait until the gateway cache holds a full list, or the CRD turns out to be missing.
    pub async fn ready(&self) {
        let mut missing = self.missing.subscribe();
        let all = futures::future::join_all(self.gateways.iter().map(|s| s.wait_until_ready()));
        tokio::select! {
            _ = all => {}
            _ = missing.wait_for(|m| *m) => {}
        }
        if let Some(ns) = &self.namespaces {
            let _ = ns.wait_until_ready().await;
        }
    }

    /// The bridges of `reader` the triggers point at.
    pub fn retriggered(
        &self,
        reader: Store<DeserializeGuard<WebhookBridge>>,
    ) -> impl futures::Stream<Item = ObjectRef<DeserializeGuard<WebhookBridge>>> + Send + 'static {
        futures::stream::unfold(self.triggers.subscribe(), |mut rx| async move {
            match rx.recv().await {
                Ok(t) => Some((t, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some((Trigger::AllAttached, rx)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .flat_map(move |t| {
            let refs: Vec<_> = reader
                .state()
                .iter()
                .filter(|b| {
                    let Ok(bridge) = &b.0 else { return false };
                    match &t {
                        Trigger::AllAttached => bridge.spec.gateway_ref.is_some(),
                        Trigger::Namespace(ns) => bridge.spec.gateway_ref.is_some() && ns_of(bridge) == *ns,
                        Trigger::Gateway(ns, name) => {
                            gateway::key_of(bridge).as_ref() == Some(&(ns.clone(), name.clone()))
                        }
                        Trigger::Bridge(ns, name) => {
                            ns_of(bridge) == *ns && bridge.metadata.name.as_deref() == Some(name.as_str())
                        }
                    }
                })
                .map(|b| ObjectRef::from_obj(b.as_ref()))
                .collect();
            futures::stream::iter(refs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GatewayRef;

    fn bridge(ns: &str, name: &str, gateway: Option<(&str, &str)>) -> DeserializeGuard<WebhookBridge> {
        let mut b: WebhookBridge =
            serde_saphyr::from_str(include_str!("../../examples/gateway/orders.yaml")).expect("example");
        b.metadata.namespace = Some(ns.into());
        b.metadata.name = Some(name.into());
        b.spec.gateway_ref = gateway.map(|(ns, name)| GatewayRef { namespace: Some(ns.into()), name: name.into() });
        DeserializeGuard(Ok(b))
    }

    fn on(index: &BridgeIndex, ns: &str, name: &str) -> Vec<String> {
        let mut v: Vec<String> = index.on(ns, name).iter().map(|r| r.name.clone()).collect();
        v.sort();
        v
    }

    /// The index follows the cache's events: a bridge that moves to another gateway, drops its
    /// gatewayRef or is deleted leaves its old gateway; a relist replaces the index at its end.
    #[test]
    fn the_index_follows_the_watch_events() {
        let mut index = BridgeIndex::default();
        index.apply(&watcher::Event::Apply(bridge("a", "one", Some(("p", "gw1")))));
        index.apply(&watcher::Event::Apply(bridge("b", "two", Some(("p", "gw1")))));
        index.apply(&watcher::Event::Apply(bridge("b", "three", None)));
        assert_eq!(on(&index, "p", "gw1"), ["one", "two"]);
        index.apply(&watcher::Event::Apply(bridge("a", "one", Some(("p", "gw2")))));
        assert_eq!(on(&index, "p", "gw1"), ["two"]);
        assert_eq!(on(&index, "p", "gw2"), ["one"]);
        index.apply(&watcher::Event::Apply(bridge("b", "two", None)));
        index.apply(&watcher::Event::Delete(bridge("a", "one", Some(("p", "gw2")))));
        assert!(on(&index, "p", "gw1").is_empty() && on(&index, "p", "gw2").is_empty());
        assert!(index.by_gateway.is_empty() && index.gateway_of.is_empty(), "{index:?}");

        index.apply(&watcher::Event::Apply(bridge("a", "gone-while-down", Some(("p", "gw1")))));
        index.apply(&watcher::Event::Init);
        index.apply(&watcher::Event::InitApply(bridge("c", "four", Some(("p", "gw1")))));
        assert_eq!(on(&index, "p", "gw1"), ["gone-while-down"], "the old index serves until the relist ends");
        index.apply(&watcher::Event::InitDone);
        assert_eq!(on(&index, "p", "gw1"), ["four"]);
        // A bridge that does not deserialize names no gateway.
        let broken = DeserializeGuard::<WebhookBridge>(Err(kube::core::error_boundary::InvalidObject {
            metadata: kube::core::ObjectMeta {
                namespace: Some("c".into()),
                name: Some("four".into()),
                ..Default::default()
            },
            error: "bad".into(),
        }));
        index.apply(&watcher::Event::Apply(broken));
        assert!(on(&index, "p", "gw1").is_empty());
    }
}
