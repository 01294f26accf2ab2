//! One reconcile of one WebhookBridgeGateway: finalizer, the engine's gateway pass, status with
//! the arbiter's capacity figures, and a delete that waits until no bridge is attached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::context::Context;
use super::gateways::{GatewayWatch, Trigger};
use super::reconcile::ReconcileError;
use crate::api::gateway::WebhookBridgeGatewayStatus;
use crate::api::{READY, WebhookBridgeGateway};
use crate::error::Error;
use crate::gateway::arbiter;
use crate::status;

/// Added before the first AWS write; removed once the gateway's AWS objects are gone.
pub const FINALIZER: &str = "webhookbridge.io/gateway-cleanup";

/// How often a gateway being deleted looks again for attached bridges.
const IN_USE_RECHECK: Duration = Duration::from_secs(10);

/// The controller's context for gateways: the shared one plus the gateway cache.
pub struct GatewayContext {
    pub ctx: Arc<Context>,
    pub watch: Arc<GatewayWatch>,
    /// Per gateway (uid): when its last AWS pass ended and its last recount ran. Bridges that
    /// attach, change or leave trigger a recount of the gateway's capacity: that reads no AWS
    /// (the pass runs on its resync) and runs at most once per [`RECOUNT_EVERY`].
    pub passes: std::sync::Mutex<std::collections::HashMap<String, (Instant, Instant)>>,
}

impl GatewayContext {
    pub fn new(ctx: Arc<Context>, watch: Arc<GatewayWatch>) -> GatewayContext {
        GatewayContext { ctx, watch, passes: Default::default() }
    }
}

/// A gateway's capacity figures are recounted at most this often while bridges come and go.
const RECOUNT_EVERY: Duration = Duration::from_secs(2);

fn key(gw: &WebhookBridgeGateway) -> (String, String) {
    (gw.namespace().unwrap_or_else(|| "default".into()), gw.name_any())
}

async fn publish(ctx: &Context, gw: &WebhookBridgeGateway, type_: EventType, reason: &str, note: String) {
    let note: String = note.chars().take(1000).collect();
    let event =
        Event { type_, reason: reason.to_string(), note: Some(note), action: "Reconcile".into(), secondary: None };
    if let Err(e) = ctx.recorder.publish(&event, &gw.object_ref(&())).await {
        warn!(error = %e, "could not publish an Event for a gateway");
    }
}

async fn patch_finalizers(
    api: &Api<WebhookBridgeGateway>,
    gw: &WebhookBridgeGateway,
    list: Vec<String>,
) -> Result<(), kube::Error> {
    let rv = gw.resource_version().unwrap_or_default();
    let patch = json!({"metadata": {"finalizers": list, "resourceVersion": rv}});
    match api.patch(&gw.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn write_status(
    api: &Api<WebhookBridgeGateway>,
    gw: &WebhookBridgeGateway,
    previous: &WebhookBridgeGatewayStatus,
    mut next: WebhookBridgeGatewayStatus,
) -> Result<bool, kube::Error> {
    let comparable =
        |s: &WebhookBridgeGatewayStatus| WebhookBridgeGatewayStatus { last_synced_time: None, ..s.clone() };
    if comparable(previous) == comparable(&next) {
        return Ok(false);
    }
    let ready = next.conditions.iter().any(|c| c.type_ == READY && c.status == "True");
    next.last_synced_time = if ready { Some(status::now()) } else { previous.last_synced_time.clone() };
    let mut value = serde_json::to_value(&next).map_err(kube::Error::SerdeError)?;
    if let (Value::Object(map), Ok(Value::Object(before))) = (&mut value, serde_json::to_value(previous)) {
        for field in before.keys() {
            map.entry(field.clone()).or_insert(Value::Null);
        }
    }
    api.patch_status(&gw.name_any(), &PatchParams::default(), &Patch::Merge(json!({ "status": value }))).await?;
    Ok(true)
}

pub async fn reconcile(gw: Arc<WebhookBridgeGateway>, gctx: Arc<GatewayContext>) -> Result<Action, ReconcileError> {
    let (ctx, watch) = (&gctx.ctx, &gctx.watch);
    let (namespace, name) = key(&gw);
    let span = tracing::info_span!("reconcile_gateway", object = %format!("{namespace}/{name}"));
    let _enter = span.enter();
    let api: Api<WebhookBridgeGateway> = Api::namespaced(ctx.client.clone(), &namespace);
    let generation = gw.metadata.generation;
    let previous = gw.status.clone().unwrap_or_default();
    let now = status::now();
    let finalizers = gw.finalizers().to_vec();

    if gw.metadata.deletion_timestamp.is_some() {
        if !finalizers.iter().any(|f| f == FINALIZER) {
            return Ok(Action::await_change());
        }
        // Wait for every bridge naming it (Gateway API: a parent outlives its routes here, so
        // no bridge's routes vanish under it).
        let left = watch.referencing(&namespace, &name);
        if !left.is_empty() {
            let e = Error::GatewayInUse(format!(
                "the gateway is deleted once no bridge is attached; still attached: {}{}",
                left.iter().take(20).cloned().collect::<Vec<_>>().join(", "),
                if left.len() > 20 { format!(" and {} more", left.len() - 20) } else { String::new() }
            ));
            let next = WebhookBridgeGatewayStatus {
                conditions: status::stamp(&previous.conditions, status::failed(generation, &e), &now),
                ..previous.clone()
            };
            write_status(&api, &gw, &previous, next).await?;
            return Ok(Action::requeue(IN_USE_RECHECK));
        }
        return match ctx.engine.delete_gateway(&gw).await {
            Ok(actions) => {
                info!(writes = actions.len(), "gateway's AWS objects removed");
                publish(
                    ctx,
                    &gw,
                    EventType::Normal,
                    "Deleted",
                    format!("removed the gateway's AWS objects ({} AWS write(s))", actions.len()),
                )
                .await;
                patch_finalizers(&api, &gw, finalizers.into_iter().filter(|f| f != FINALIZER).collect()).await?;
                if let (Ok(mut p), Some(uid)) = (gctx.passes.lock(), gw.metadata.uid.as_ref()) {
                    p.remove(uid);
                }
                Ok(Action::await_change())
            }
            Err(e) => {
                let next = WebhookBridgeGatewayStatus {
                    conditions: status::stamp(&previous.conditions, status::failed(generation, &e), &now),
                    ..previous.clone()
                };
                write_status(&api, &gw, &previous, next).await?;
                publish(ctx, &gw, EventType::Warning, "DeleteFailed", e.tenant_message()).await;
                Err(e.into())
            }
        };
    }

    if !finalizers.iter().any(|f| f == FINALIZER) {
        let mut list = finalizers.clone();
        list.push(FINALIZER.to_string());
        patch_finalizers(&api, &gw, list).await?;
    }
    // In sync and passed over AWS within the resync interval: a bridge's trigger only recounts.
    let uid = gw.metadata.uid.clone().unwrap_or_default();
    let last = gctx.passes.lock().ok().and_then(|p| p.get(&uid).copied());
    if let (Some((passed, recounted)), Some(_)) = (last, crate::gateway::known(&gw))
        && passed.elapsed() < ctx.settings.resync
    {
        if recounted.elapsed() < RECOUNT_EVERY {
            return Ok(Action::requeue(RECOUNT_EVERY - recounted.elapsed()));
        }
        let attached = watch.attached(&gw);
        let refs: Vec<_> = attached.iter().filter_map(super::gateways::Attached::bridge).collect();
        let (verdicts, capacity) = arbiter::arbitrate(&gw, &refs);
        let next = WebhookBridgeGatewayStatus {
            attached_bridges: verdicts.values().filter(|v| v.over_quota.is_none()).count() as u32,
            capacity,
            ..previous.clone()
        };
        write_status(&api, &gw, &previous, next).await?;
        if let Ok(mut p) = gctx.passes.lock() {
            p.insert(uid, (passed, Instant::now()));
        }
        return Ok(Action::requeue(ctx.settings.resync.saturating_sub(passed.elapsed())));
    }
    match ctx.engine.reconcile_gateway(&gw, crate::gateway::known(&gw).as_ref()).await {
        Ok(outcome) => {
            let attached = watch.attached(&gw);
            let refs: Vec<_> = attached.iter().filter_map(super::gateways::Attached::bridge).collect();
            let (verdicts, capacity) = arbiter::arbitrate(&gw, &refs);
            let admitted = verdicts.values().filter(|v| v.over_quota.is_none()).count() as u32;
            let mut next = crate::gateway::status::describe(&outcome, admitted, capacity);
            next.observed_generation = generation;
            next.conditions = status::stamp(
                &previous.conditions,
                status::ready(generation, "the gateway's API, stage, bus and role match the spec"),
                &now,
            );
            let shared_changed =
                (
                    &previous.api_id,
                    &previous.stage,
                    &previous.event_bus,
                    &previous.role,
                    &previous.authorizers,
                    &previous.url,
                ) != (&next.api_id, &next.stage, &next.event_bus, &next.role, &next.authorizers, &next.url)
                    || previous.custom_event_bus != next.custom_event_bus
                    || previous.observed_generation != generation;
            write_status(&api, &gw, &previous, next).await?;
            if let Ok(mut p) = gctx.passes.lock() {
                p.insert(uid, (Instant::now(), Instant::now()));
            }
            if !outcome.actions.is_empty() {
                let summary: Vec<String> = outcome.actions.iter().map(ToString::to_string).collect();
                publish(
                    ctx,
                    &gw,
                    EventType::Normal,
                    "Synced",
                    format!("{} AWS change(s): {}", summary.len(), summary.join("; ")),
                )
                .await;
            }
            if shared_changed {
                // Attached bridges take the ids from this status: look at them again.
                watch.trigger(Trigger::Gateway(namespace, name));
            }
            let bridges = ctx.metrics.bridge_count();
            Ok(Action::requeue(super::context::next_resync(&ctx.settings, bridges)))
        }
        Err(e) => {
            let next = WebhookBridgeGatewayStatus {
                observed_generation: generation,
                conditions: status::stamp(&previous.conditions, status::failed(generation, &e), &now),
                ..previous.clone()
            };
            write_status(&api, &gw, &previous, next).await?;
            publish(ctx, &gw, EventType::Warning, e.reason(), e.tenant_message()).await;
            Err(e.into())
        }
    }
}

pub fn error_policy(gw: Arc<WebhookBridgeGateway>, error: &ReconcileError, gctx: Arc<GatewayContext>) -> Action {
    let (namespace, name) = key(&gw);
    let k = format!("gateway:{namespace}/{name}");
    if error.is_retryable() {
        warn!(object = %k, error = %error, "gateway reconcile failed; retrying");
        Action::requeue(gctx.ctx.backoff(&k))
    } else {
        warn!(object = %k, error = %error, "gateway reconcile failed; waiting for a change");
        Action::await_change()
    }
}
