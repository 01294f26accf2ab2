//! `webhook-bridge run`: a kube-rs controller over WebhookBridges, running the same engine as
//! the CLI. Leader election on a Lease lets several replicas run with one writer.

pub mod context;
pub mod crd_check;
pub mod crds;
pub mod dns;
pub mod events;
pub mod gateway;
pub mod gateways;
pub mod http;
pub mod known;
pub mod metrics;
pub mod namespaces;
pub mod policies;
pub mod reconcile;
pub mod secrets;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use futures::future::{BoxFuture, FutureExt, Shared};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams};
use kube::core::DeserializeGuard;
use kube::runtime::{Controller, WatchStreamExt, controller, predicates, reflector, watcher};
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;
use tracing::{error, info, warn};

pub use context::{Context, Settings};
pub use reconcile::FINALIZER;

use crate::api::{WebhookBridge, WebhookBridgeGateway};
use crate::aws::WriteFence;
use crate::engine::{Engine, Gateways, Secrets};
use crate::tenancy::Tenancy;
use gateways::GatewayWatch;
use metrics::Metrics;
use policies::Policies;

/// Leader election on a `coordination.k8s.io/v1` Lease.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub lease_name: String,
    pub namespace: String,
    pub identity: String,
    /// Lease duration in seconds; a dead leader is replaced after about this long.
    pub lease_seconds: u64,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    pub label_selector: Option<String>,
    /// Reconciles running at once (one controller serves every watched namespace).
    pub concurrency: u16,
    pub settings: Settings,
    pub leader_election: Option<LeaderElection>,
    /// Where `/metrics`, `/healthz` and `/readyz` listen (None: not served).
    pub metrics_addr: Option<SocketAddr>,
    /// Identity in Events (pod name).
    pub identity: String,
    /// Multi-tenant: every namespace needs a WebhookBridgePolicy selecting it (fail closed).
    /// Off: single-tenant, the operator's identity acts for every bridge.
    pub multi_tenant: bool,
    /// Apply the CRDs of this version at start (see [`crds`]).
    pub install_crds: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespaces: Vec::new(),
            label_selector: None,
            concurrency: 8,
            settings: Settings::default(),
            leader_election: None,
            metrics_addr: None,
            identity: "webhook-bridge".into(),
            multi_tenant: true,
            install_crds: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics { addr: SocketAddr, source: std::io::Error },
    #[error("leader election: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
}

type Shutdown = Shared<BoxFuture<'static, ()>>;

/// A running operator's handles (tests read them).
pub struct Running {
    pub metrics: Arc<Metrics>,
    pub metrics_addr: Option<SocketAddr>,
    /// True while this instance holds the lease (always true without leader election).
    pub leading: watch::Receiver<bool>,
}

/// Wait until the WebhookBridge API answers (the CRD is installed), retrying with backoff.
/// Asks within the first watched namespace when scoped: namespaced RBAC forbids a cluster list.
async fn wait_for_crd(client: &kube::Client, namespaces: &[String], shutdown: &Shutdown) -> bool {
    let api: Api<WebhookBridge> = match namespaces.first() {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut delay = Duration::from_millis(500);
    loop {
        match api.list_metadata(&ListParams::default().limit(1)).await {
            Ok(_) => return true,
            Err(e) => warn!(error = %e, "WebhookBridge API not reachable yet (is the CRD installed?)"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.clone() => return false,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

fn controllers(
    ctx: Arc<Context>,
    options: &Options,
    policies: Option<Arc<Policies>>,
    gateways: Arc<GatewayWatch>,
    shutdown: Shutdown,
) -> BoxFuture<'static, ()> {
    let client = ctx.client.clone();
    let mut config = watcher::Config::default();
    if let Some(selector) = &options.label_selector {
        config = config.labels(selector);
    }
    // One controller over every watched namespace: one store, one scheduler and one
    // `--concurrency` however many namespaces `--namespaces` names (see [`namespaces`]).
    //
    // The cache keeps only what reconcile reads: managedFields and the client-side-apply
    // annotation (a full copy of the spec) are dropped as objects arrive. Only a new generation
    // (spec changed, or deletion requested: both bump it) triggers a reconcile: our own finalizer
    // patch and status writes would otherwise each come back as one more full pass over AWS.
    // Retries and resyncs are scheduled by reconcile itself.
    let (reader, writer) = reflector::store::<DeserializeGuard<WebhookBridge>>();
    let objects = namespaces::watch_all(client.clone(), &options.namespaces, config, reader.clone())
        .modify(trim)
        .reflect(writer)
        .inspect({
            // The gateway index follows the same events as the cache.
            let gateways = gateways.clone();
            move |event| {
                if let Ok(event) = event {
                    gateways.observe(event);
                }
            }
        })
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    let mut controller = Controller::for_stream(objects, reader.clone());
    // What a trigger asks for is urgent: it does not wait for an in-sync resync slot.
    let urgent = |ctx: Arc<Context>| {
        move |r: &kube::runtime::reflector::ObjectRef<DeserializeGuard<WebhookBridge>>| {
            ctx.resync_backlog.mark_urgent(reconcile::key_of(r.namespace.as_deref(), &r.name));
        }
    };
    if let Some(p) = &policies {
        // A new, changed or deleted policy, or relabelled namespace, changes what is allowed.
        controller =
            controller.reconcile_on(policies::retriggered(reader.clone(), p.subscribe()).inspect(urgent(ctx.clone())));
    }
    // A gateway's change (ids, Ready, allowedRoutes, quotas) or a route key changing hands.
    controller = controller.reconcile_on(gateways.retriggered(reader.clone()).inspect(urgent(ctx.clone())));
    // A Secret a webhook source names changed: rotate now, not at the next resync.
    controller = controller.reconcile_on(
        secrets::retriggered(client.clone(), &options.namespaces, reader.clone()).inspect(urgent(ctx.clone())),
    );
    let bridges = controller
        .with_config(controller::Config::default().concurrency(options.concurrency))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::reconcile, reconcile::error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(e) = result {
                match e {
                    controller::Error::ReconcilerFailed(..) => {} // logged by error_policy
                    other => warn!(error = %other, "controller"),
                }
            }
        });
    gateways.set_bridges(vec![reader]);

    let gctx = Arc::new(gateway::GatewayContext::new(ctx.clone(), gateways.clone()));
    let (gateway_reader, gateway_writer) = reflector::store::<WebhookBridgeGateway>();
    let gateway_objects =
        namespaces::watch_all(client, &options.namespaces, watcher::Config::default(), gateway_reader.clone())
            .reflect(gateway_writer)
            .applied_objects();
    // A bridge attached, changed or left: the gateway's capacity figures change.
    let gateway_run = Controller::for_stream(gateway_objects, gateway_reader.clone())
        .reconcile_on(gateways.gateways_retriggered(gateway_reader))
        .with_config(controller::Config::default().concurrency(options.concurrency))
        .graceful_shutdown_on(shutdown.clone())
        .run(gateway::reconcile, gateway::error_policy, gctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                match e {
                    controller::Error::ReconcilerFailed(..) => {}
                    other => tracing::debug!(error = %other, "gateway controller"),
                }
            }
        });
    // Only once the gateway CRD is served (a controller on an API that answers 404 would not
    // stop on shutdown); the watch says loudly while it is missing.
    let (served, stop) = (gateways.clone(), shutdown.clone());
    let gateway_run = async move {
        tokio::select! {
            _ = served.served() => gateway_run.await,
            _ = stop => {}
        }
    };
    let ready = async move {
        if let Some(p) = policies {
            p.ready().await;
        }
        gateways.ready().await;
    };
    ready
        .then(|_| async move {
            futures::join!(bridges, gateway_run);
        })
        .boxed()
}

/// Drop from a cached object what reconcile never reads.
fn trim(object: &mut DeserializeGuard<WebhookBridge>) {
    use kube::ResourceExt;
    object.managed_fields_mut().clear();
    object.annotations_mut().remove("kubectl.kubernetes.io/last-applied-configuration");
}

/// Run the operator until `shutdown` resolves; in-flight reconciles finish first.
pub async fn serve(
    client: kube::Client,
    engine: Engine,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
    started: Option<tokio::sync::oneshot::Sender<Running>>,
) -> Result<(), OperatorError> {
    let shutdown: Shutdown = shutdown.boxed().shared();
    if options.install_crds {
        crds::install(&client).await;
    }
    let mut engine = engine;
    let mut policies = None;
    let mut policy_watch = None;
    if options.multi_tenant {
        let (p, drive) = Policies::watch(client.clone());
        engine.tenancy = Tenancy::Multi(p.clone());
        policy_watch = Some(tokio::spawn(drive));
        policies = Some(p);
    }
    let (gateways, gateway_drive) = GatewayWatch::watch(client.clone(), policies.clone(), &options.namespaces);
    engine.gateways = Gateways(gateways.clone());
    engine.secrets = Secrets(Arc::new(secrets::KubeSecrets { client: client.clone() }));
    let gateway_watch = tokio::spawn(gateway_drive);
    if options.leader_election.is_some() {
        // No AWS call leaves this replica unless its Lease is confirmed (see aws::fence).
        engine.aws = engine.aws.with_fence(WriteFence::closed());
    }
    let metrics = Arc::new(Metrics::new(&engine.aws.counter));
    let health =
        Arc::new(http::Health { metrics: metrics.clone(), ready: Default::default(), policies: policies.clone() });
    let mut metrics_addr = None;
    let mut server = None;
    if let Some(addr) = options.metrics_addr {
        let (bound, task) =
            http::serve(addr, health.clone()).await.map_err(|source| OperatorError::Metrics { addr, source })?;
        info!(%bound, "serving /metrics, /healthz, /readyz");
        metrics_addr = Some(bound);
        server = Some(task);
    }
    let mut ctx = Context::new(client.clone(), engine, metrics.clone(), options.settings.clone(), &options.identity);
    ctx.gateways = Some(gateways.clone());
    let ctx = Arc::new(ctx);
    let (leading_tx, leading_rx) = watch::channel(options.leader_election.is_none());
    let mut crd_checks = None;
    if let Some(started) = started {
        let _ = started.send(Running { metrics: metrics.clone(), metrics_addr, leading: leading_rx });
    }

    if wait_for_crd(&client, &options.namespaces, &shutdown).await {
        health.ready.store(true, Ordering::Relaxed);
        // An older CRD than this operator's (Helm never upgrades crds/): said, and counted.
        let m = metrics.clone();
        crd_checks = Some(tokio::spawn(crd_check::watch(client.clone(), Duration::from_secs(300), move |found| {
            m.set_crd_missing_fields(found)
        })));
        match &options.leader_election {
            None => controllers(ctx, &options, policies, gateways.clone(), shutdown.clone()).await,
            Some(le) => {
                lead(
                    &client,
                    le,
                    &ctx.engine.aws.fence,
                    &leading_tx,
                    || controllers(ctx.clone(), &options, policies.clone(), gateways.clone(), shutdown.clone()),
                    shutdown.clone(),
                )
                .await?
            }
        }
    }
    if let Some(task) = server {
        task.abort();
    }
    if let Some(task) = crd_checks {
        task.abort();
    }
    if let Some(task) = policy_watch {
        task.abort();
    }
    gateway_watch.abort();
    info!("stopped");
    Ok(())
}

/// Run `work` only while holding the lease; stop it when the lease is lost, start it again when
/// it is won back. Releases the lease on shutdown.
async fn lead(
    client: &kube::Client,
    le: &LeaderElection,
    fence: &WriteFence,
    leading: &watch::Sender<bool>,
    work: impl Fn() -> BoxFuture<'static, ()>,
    shutdown: Shutdown,
) -> Result<(), OperatorError> {
    let manager = LeaseManagerBuilder::new(client.clone(), &le.lease_name)
        .with_namespace(&le.namespace)
        .with_identity(&le.identity)
        .with_duration(le.lease_seconds)
        .with_grace(grace_seconds(le.lease_seconds))
        .build()
        .await?;
    let (mut is_leader, task) = manager.watch().await;
    loop {
        // Stand by until this instance leads (or we are told to stop).
        tokio::select! {
            r = is_leader.wait_for(|l| *l) => if r.is_err() { break },
            _ = shutdown.clone() => break,
        }
        info!(identity = %le.identity, "leading: starting the controller");
        confirm_lease(client, le, fence).await;
        let confirming = tokio::spawn(keep_confirming_lease(client.clone(), le.clone(), fence.clone()));
        let _ = leading.send(true);
        let lost = async {
            let _ = is_leader.wait_for(|l| !*l).await;
        };
        let stop = tokio::select! {
            _ = work() => true, // shut down gracefully
            _ = lost => {
                error!(identity = %le.identity, "lost the lease: stopping the controller");
                false
            }
        };
        fence.close();
        confirming.abort();
        let _ = leading.send(false);
        if stop {
            break;
        }
    }
    fence.close();
    let _ = leading.send(false);
    drop(is_leader); // closing the channel makes the manager release the lease
    match task.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => warn!(error = %e, "releasing the lease"),
        Err(e) => warn!(error = %e, "lease task"),
    }
    Ok(())
}

/// Renew this long before the Lease expires.
fn grace_seconds(lease_seconds: u64) -> u64 {
    lease_seconds.div_ceil(3).max(1)
}

/// Read our Lease and open the write fence until half a grace period before it would expire
/// without renewal (the lease manager renews a whole grace period before); close the fence if the
/// Lease names someone else or has expired. An unreadable Lease leaves the deadline to lapse.
async fn confirm_lease(client: &kube::Client, le: &LeaderElection, fence: &WriteFence) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &le.namespace);
    let margin = Duration::from_secs(grace_seconds(le.lease_seconds)) / 2;
    // Both clocks are taken before the request: the deadline errs early, never late.
    let (sent, sent_wall) = (std::time::Instant::now(), jiff::Timestamp::now());
    let lease = match api.get(&le.lease_name).await {
        Ok(lease) => lease,
        Err(e) => {
            warn!(error = %e, "cannot confirm the lease; AWS calls stop when the last confirmation runs out");
            return;
        }
    };
    let spec = lease.spec.unwrap_or_default();
    // renewTime is written by this replica's own clock (kube-lease-manager), so no skew enters here.
    let left = match (spec.holder_identity.as_deref(), spec.renew_time, spec.lease_duration_seconds) {
        (Some(holder), Some(renewed), Some(seconds)) if holder == le.identity => renewed
            .0
            .checked_add(jiff::SignedDuration::from_secs(i64::from(seconds)))
            .ok()
            .and_then(|expiry| Duration::try_from(sent_wall.duration_until(expiry)).ok()),
        _ => None,
    };
    match left.and_then(|left| left.checked_sub(margin)) {
        Some(open_for) => fence.open_until(sent + open_for),
        None => fence.close(),
    }
}

async fn keep_confirming_lease(client: kube::Client, le: LeaderElection, fence: WriteFence) {
    let period = (Duration::from_secs(grace_seconds(le.lease_seconds)) / 3).max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(period).await;
        confirm_lease(&client, &le, &fence).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_drops_managed_fields_and_the_last_applied_copy() {
        let mut object: DeserializeGuard<WebhookBridge> = serde_json::from_value(serde_json::json!({
            "apiVersion": "webhookbridge.io/v1alpha1", "kind": "WebhookBridge",
            "metadata": {"name": "b", "namespace": "n",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "team": "a"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {"routes": [{"name": "r", "method": "POST", "path": "/", "event": {"source": "s", "detailType": "d"}}]}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        trim(&mut object);
        use kube::ResourceExt;
        assert!(object.managed_fields().is_empty());
        assert_eq!(object.annotations().keys().collect::<Vec<_>>(), ["team"]);
        assert!(object.0.is_ok(), "the object itself is intact");
    }
}
