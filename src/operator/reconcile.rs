//! One reconcile of one WebhookBridge: finalizer, engine, status, Events. The controller never
//! writes to spec: finalizers go through metadata patches, everything else through `/status`.

use std::sync::Arc;
use std::time::Instant;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, DeserializeGuard};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tracing::{Instrument, info, warn};

use super::context::Context;
use crate::api::{DeletionPolicy, READY, WebhookBridge, WebhookBridgeStatus};
use crate::error::Error;
use crate::status;

/// Added before the first AWS write; removed once AWS is clean (or at once under Retain).
pub const FINALIZER: &str = "webhookbridge.io/cleanup";

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Engine(#[from] Error),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl ReconcileError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ReconcileError::Engine(e) => e.is_retryable(),
            ReconcileError::Kube(_) => true,
        }
    }
}

/// The key a bridge goes by in logs, metrics and the operator's own maps: namespace/name.
pub fn key_of(namespace: Option<&str>, name: &str) -> String {
    format!("{}/{name}", namespace.unwrap_or("default"))
}

pub async fn reconcile(
    guard: Arc<DeserializeGuard<WebhookBridge>>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    // Every log line of this reconcile (engine, kube client) carries the object.
    let key = match &guard.0 {
        Ok(b) => key_of(b.namespace().as_deref(), &b.name_any()),
        Err(invalid) => key_of(invalid.metadata.namespace.as_deref(), invalid.metadata.name.as_deref().unwrap_or("")),
    };
    let span = tracing::info_span!("reconcile", object = %key);
    // AWS requests wait for their service's tokens as this namespace's: tenants take turns.
    let tenant = match &guard.0 {
        Ok(b) => b.namespace().unwrap_or_default(),
        Err(invalid) => invalid.metadata.namespace.clone().unwrap_or_default(),
    };
    crate::aws::ratelimit::as_tenant(&tenant, reconcile_in_span(guard, ctx)).instrument(span).await
}

async fn reconcile_in_span(
    guard: Arc<DeserializeGuard<WebhookBridge>>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let start = Instant::now();
    let result = match (&guard.0, ctx.engine.aws.fence.check()) {
        // A replica that is not the confirmed leader writes nothing, to AWS or Kubernetes.
        (_, Err(fenced)) => Err(Error::NotLeader(fenced.to_string()).into()),
        (Ok(bridge), Ok(())) => reconcile_bridge(bridge, &ctx).await,
        (Err(invalid), Ok(())) => {
            report_invalid(invalid, &ctx).await;
            Ok(Action::await_change())
        }
    };
    let label = match &result {
        Ok(_) => "success",
        Err(e) if e.is_retryable() => "retryable_error",
        Err(_) => "terminal_error",
    };
    ctx.metrics.reconciled(label, start.elapsed());
    result
}

/// Terminal errors wait for the object to change; retryable ones back off with jitter.
pub fn error_policy(guard: Arc<DeserializeGuard<WebhookBridge>>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let (namespace, name) = match &guard.0 {
        Ok(b) => (b.namespace(), b.name_any()),
        Err(invalid) => (invalid.metadata.namespace.clone(), invalid.metadata.name.clone().unwrap_or_default()),
    };
    let key = key_of(namespace.as_deref(), &name);
    if error.is_retryable() {
        let delay = ctx.backoff(&key);
        warn!(object = %key, error = %error, retry_in = ?delay, "reconcile failed; retrying");
        Action::requeue(delay)
    } else {
        warn!(object = %key, error = %error, "reconcile failed; waiting for the object to change");
        Action::await_change()
    }
}

async fn publish(ctx: &Context, bridge: &WebhookBridge, type_: EventType, reason: &str, note: String) {
    let mut note = note;
    if note.len() > 1000 {
        let mut cut = 1000;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push('…');
    }
    let event =
        Event { type_, reason: reason.to_string(), note: Some(note), action: "Reconcile".into(), secondary: None };
    if let Err(e) = ctx.recorder.publish(&event, &bridge.object_ref(&())).await {
        warn!(object = %key_of(bridge.namespace().as_deref(), &bridge.name_any()), error = %e, "could not publish an Event");
    }
}

fn has_finalizer(bridge: &WebhookBridge) -> bool {
    bridge.finalizers().iter().any(|f| f == FINALIZER)
}

async fn add_finalizer(api: &Api<WebhookBridge>, bridge: &WebhookBridge) -> Result<(), kube::Error> {
    let rv = bridge.resource_version().unwrap_or_default();
    let ops = if bridge.metadata.finalizers.is_none() {
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
               {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}])
    } else {
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
               {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}])
    };
    let patch: json_patch::Patch = serde_json::from_value(ops).map_err(kube::Error::SerdeError)?;
    api.patch::<()>(&bridge.name_any(), &PatchParams::default(), &Patch::Json(patch)).await?;
    Ok(())
}

async fn remove_finalizer(api: &Api<WebhookBridge>, bridge: &WebhookBridge) -> Result<(), kube::Error> {
    let Some(index) = bridge.finalizers().iter().position(|f| f == FINALIZER) else { return Ok(()) };
    let path = format!("/metadata/finalizers/{index}");
    let ops = json!([{"op": "test", "path": path, "value": FINALIZER}, {"op": "remove", "path": path}]);
    let patch: json_patch::Patch = serde_json::from_value(ops).map_err(kube::Error::SerdeError)?;
    match api.patch::<()>(&bridge.name_any(), &PatchParams::default(), &Patch::Json(patch)).await {
        Ok(_) => Ok(()),
        // Already gone: the last finalizer went and the object with it.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// A merge patch that replaces the whole status: fields `previous` had and `next` lacks become
/// `null`, so they are removed.
fn status_patch(previous: &WebhookBridgeStatus, next: &WebhookBridgeStatus) -> Result<Value, kube::Error> {
    let mut value = serde_json::to_value(next).map_err(kube::Error::SerdeError)?;
    if let (Value::Object(map), Value::Object(before)) =
        (&mut value, serde_json::to_value(previous).map_err(kube::Error::SerdeError)?)
    {
        for field in before.keys() {
            map.entry(field.clone()).or_insert(Value::Null);
        }
    }
    Ok(json!({ "status": value }))
}

/// Write `next` unless it equals `previous` (ignoring `lastSyncedTime`), so an in-sync resync
/// writes nothing to Kubernetes either.
async fn write_status(
    api: &Api<WebhookBridge>,
    bridge: &WebhookBridge,
    previous: &WebhookBridgeStatus,
    mut next: WebhookBridgeStatus,
) -> Result<(), kube::Error> {
    let comparable = |s: &WebhookBridgeStatus| WebhookBridgeStatus { last_synced_time: None, ..s.clone() };
    if comparable(previous) == comparable(&next) {
        return Ok(());
    }
    let ready = next.conditions.iter().any(|c| c.type_ == READY && c.status == "True");
    next.last_synced_time = if ready { Some(status::now()) } else { previous.last_synced_time.clone() };
    api.patch_status(&bridge.name_any(), &PatchParams::default(), &Patch::Merge(status_patch(previous, &next)?))
        .await?;
    Ok(())
}

async fn reconcile_bridge(bridge: &WebhookBridge, ctx: &Context) -> Result<Action, ReconcileError> {
    let namespace = bridge.namespace().unwrap_or_else(|| "default".into());
    let key = key_of(Some(&namespace), &bridge.name_any());
    let api: Api<WebhookBridge> = Api::namespaced(ctx.client.clone(), &namespace);
    let generation = bridge.metadata.generation;
    let previous = bridge.status.clone().unwrap_or_default();
    // Never attempted: the Progressing write below comes before any AWS call, so an object whose
    // status has no observedGeneration has made nothing in AWS yet (see Engine::observe_fresh);
    // and this process has not tried it either (its cache may not show that write yet).
    let uid = bridge.metadata.uid.clone().unwrap_or_default();
    let fresh = bridge.metadata.deletion_timestamp.is_none()
        && ctx.first_attempt(&uid)
        && previous.observed_generation.is_none();
    let now = status::now();
    // Out of the resync backlog whatever this pass does (putting it back re-adds it); asked for
    // by a trigger (route handover, Secret rotation, gateway change, policy): no slot wait.
    ctx.resync_backlog.started(&uid);
    ctx.metrics.set_resyncs_waiting(ctx.resync_backlog.waiting());
    let urgent = ctx.resync_backlog.take_urgent(&key);

    if bridge.metadata.deletion_timestamp.is_some() {
        if !has_finalizer(bridge) {
            ctx.forget(&uid);
            ctx.metrics.set_state(&key, None);
            return Ok(Action::await_change());
        }
        return match ctx.engine.delete(bridge).await {
            Ok(actions) => {
                let note = match bridge.spec.deletion_policy {
                    DeletionPolicy::Retain => "deletionPolicy Retain: AWS objects left in place".to_string(),
                    DeletionPolicy::Delete => {
                        format!("removed the bridge's AWS objects ({} AWS write(s))", actions.len())
                    }
                };
                info!(object = %key, "{note}");
                publish(ctx, bridge, EventType::Normal, "Deleted", note).await;
                remove_finalizer(&api, bridge).await?;
                if let Some(g) = &ctx.gateways {
                    g.bridge_changed(bridge);
                    g.released(bridge);
                }
                ctx.forget(&uid);
                ctx.metrics.set_state(&key, None);
                ctx.succeeded(&key);
                Ok(Action::await_change())
            }
            Err(e @ Error::NotLeader(_)) => Err(e.into()), // deposed: no status, no Event
            Err(e) => {
                let next = WebhookBridgeStatus {
                    conditions: status::stamp(&previous.conditions, status::failed(generation, &e), &now),
                    ..previous.clone()
                };
                let _ = write_status(&api, bridge, &previous, next).await;
                publish(ctx, bridge, EventType::Warning, "DeleteFailed", e.tenant_message()).await;
                Err(e.into())
            }
        };
    }

    // The policy decides before the finalizer: a bridge that may not act gets none, so its
    // deletion (and its namespace's) never waits on AWS; one that acted before and is now
    // denied has what the policy no longer allows taken back.
    if let Err(e) = ctx.engine.admit(bridge) {
        if matches!(e, Error::PolicyDenied { .. }) && has_finalizer(bridge) {
            return withdraw(bridge, ctx, &api, &previous, e).await;
        }
        // A gateway that no longer accepts the namespace takes back what the bridge made on it
        // (as a policy that narrows does); the bridge keeps its finalizer and says why.
        if matches!(e, Error::NotAllowedByGateway(_)) && has_finalizer(bridge) {
            match ctx.engine.delete(bridge).await {
                Ok(actions) if !actions.is_empty() => {
                    info!(object = %key, writes = actions.len(), "taken back from a gateway that no longer accepts the bridge")
                }
                Ok(_) => {}
                Err(d) => {
                    warn!(object = %key, error = %d, "taking back from the gateway failed; retried on the next pass")
                }
            }
        }
        return report_failure(bridge, ctx, &api, &previous, e).await;
    }
    if !has_finalizer(bridge) {
        add_finalizer(&api, bridge).await?;
    }
    // A new generation: say so before touching AWS (kstatus: in progress).
    let mut previous = previous;
    let new_generation = previous.observed_generation != generation;
    if new_generation {
        let progressing = WebhookBridgeStatus {
            observed_generation: generation,
            conditions: status::stamp(
                &previous.conditions,
                status::progressing(generation, "Progressing", "applying the spec to AWS"),
                &now,
            ),
            ..previous.clone()
        };
        write_status(&api, bridge, &previous, progressing.clone()).await?;
        previous = progressing;
    }

    // An in-sync resync (Ready at this generation, not failing) waits for a resync slot, so new,
    // changed and failing bridges always find reconcile capacity and AWS quota first.
    let in_sync = previous.observed_generation == generation
        && previous.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
        && !ctx.failing(&key);
    // One without a slot asks again once the resyncs waiting ahead of it have about drained;
    // one a trigger asked for goes now.
    let waits_for_slot = in_sync && !urgent;
    let _slot = match (waits_for_slot, waits_for_slot.then(|| ctx.resync_slot()).flatten()) {
        (true, None) => {
            ctx.metrics.resync_deferred();
            let wait = ctx.resync_backlog.defer(&uid, ctx.settings.resync_slots);
            ctx.metrics.set_resyncs_waiting(ctx.resync_backlog.waiting());
            return Ok(Action::requeue(wait));
        }
        (_, slot) => slot,
    };
    let resync_began = std::time::Instant::now();
    // In sync: read by the ids status keeps (no account-wide search, no tag reads).
    let known = if in_sync {
        let bridges = ctx.metrics.bridge_count();
        let interval = super::context::effective_resync(&ctx.settings, bridges);
        let now_secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let uid = bridge.metadata.uid.as_deref().unwrap_or_default();
        super::known::from_status(&previous, super::known::reads_api(uid, interval, now_secs))
    } else {
        None
    };
    let result = ctx.engine.reconcile_as(bridge, known.as_ref(), fresh).await;
    if in_sync {
        // Counted once its AWS reads are done, so reads and resyncs can be compared.
        ctx.metrics.resync_ran();
        ctx.resync_backlog.finished(resync_began.elapsed());
    }
    if !in_sync && let Some(g) = &ctx.gateways {
        // A new or changed bridge on a gateway: the gateway recounts what it holds.
        g.bridge_changed(bridge);
        if new_generation && result.is_ok() {
            // A changed spec may have given up a route key another bridge waits for.
            g.released(bridge);
        }
    }
    match result {
        Ok(outcome) => {
            // A role change reaches API Gateway only once IAM has propagated it: not Ready until
            // then. The deadline lives in status, so a restarted operator keeps to it.
            let changed = outcome.actions.iter().any(|a| a.changes_role());
            let role_usable_after = ctx.role_deadline(&key, changed, previous.role_usable_after.as_deref());
            let propagating = role_usable_after.as_deref().and_then(status::until);
            let gaps = &outcome.delivery_gaps;
            let conditions = match propagating {
                // On a gateway, routes an older bridge holds: the rest is applied; these wait.
                _ if !outcome.lost_routes.is_empty() => status::progressing(
                    generation,
                    "RouteConflict",
                    &format!(
                        "the gateway gives route keys two bridges claim to the older one (Gateway API: oldest wins), and this bridge is newer: {}; the other routes and the rules are applied",
                        outcome.lost_routes.join("; ")
                    ),
                ),
                _ if !gaps.is_empty() => {
                    status::progressing(generation, "TargetPolicyMissing", &status::delivery_gaps_message(gaps))
                }
                Some(_) => status::progressing(
                    generation,
                    "RolePropagating",
                    &format!(
                        "AWS matches the spec, but the IAM role changed: API Gateway can assume it once IAM has propagated the change (expected by {}); until then webhooks may be answered 500",
                        role_usable_after.as_deref().unwrap_or_default()
                    ),
                ),
                None => status::ready(generation, "AWS matches the spec"),
            };
            let mut conditions = conditions;
            if bridge.spec.gateway_ref.is_some() {
                conditions.extend(status::gateway_conditions(generation, None, &outcome.lost_routes));
            }
            conditions.extend(status::dead_letter_condition(
                &outcome.no_dead_letter_queue,
                outcome.targets,
                generation,
            ));
            let next = WebhookBridgeStatus {
                observed_generation: generation,
                conditions: status::stamp(&previous.conditions, conditions, &now),
                last_synced_time: previous.last_synced_time.clone(),
                role_usable_after,
                ..outcome.status
            };
            // A bridge on a gateway shows the gateway's domain; its DNS record is the gateway's.
            let dns = bridge.spec.domain.is_some() || (previous.domain.is_some() && bridge.spec.gateway_ref.is_none());
            let dns_status = next.clone();
            write_status(&api, bridge, &previous, next).await?;
            if dns {
                match super::dns::sync(&ctx.client, bridge, &dns_status).await? {
                    super::dns::Outcome::NoCrd => {
                        let note = "spec.domain.dnsEndpoint: the cluster does not serve the DNSEndpoint CRD (externaldns.k8s.io/v1alpha1); install external-dns with its CRD source, or create the DNS record yourself (status.domain.targetDomainName)";
                        publish(ctx, bridge, EventType::Warning, "DNSEndpointUnavailable", note.to_string()).await;
                    }
                    super::dns::Outcome::Waiting => {
                        info!(object = %key, "DNSEndpoint waits for the domain's regional name");
                    }
                    _ => {}
                }
            }
            if !outcome.actions.is_empty() {
                let summary: Vec<String> = outcome
                    .actions
                    .iter()
                    .map(|a| a.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                info!(object = %key, writes = outcome.actions.len(), "synced");
                publish(
                    ctx,
                    bridge,
                    EventType::Normal,
                    "Synced",
                    format!("{} AWS change(s): {}", summary.len(), summary.join("; ")),
                )
                .await;
            }
            if !outcome.lost_routes.is_empty() {
                let message = outcome.lost_routes.join("; ");
                publish(ctx, bridge, EventType::Warning, "RouteConflict", message).await;
                ctx.metrics.set_state(&key, Some("Reconciling"));
                let bridges = ctx.metrics.bridge_count();
                return Ok(Action::requeue(super::context::next_resync(&ctx.settings, bridges)));
            }
            if !gaps.is_empty() {
                // The fix is outside the spec (a queue or topic policy): look again with backoff.
                let message = status::delivery_gaps_message(gaps);
                publish(ctx, bridge, EventType::Warning, "TargetPolicyMissing", message).await;
                ctx.metrics.set_state(&key, Some("Reconciling"));
                return Ok(Action::requeue(ctx.backoff(&key)));
            }
            ctx.succeeded(&key);
            if let Some(left) = propagating {
                ctx.metrics.set_state(&key, Some("Reconciling"));
                return Ok(Action::requeue(left + std::time::Duration::from_millis(500)));
            }
            ctx.metrics.set_state(&key, Some("Ready"));
            let bridges = ctx.metrics.bridge_count();
            ctx.metrics.set_effective_resync(super::context::effective_resync(&ctx.settings, bridges));
            Ok(Action::requeue(super::context::next_resync(&ctx.settings, bridges)))
        }
        Err(e @ Error::NotLeader(_)) => Err(e.into()), // deposed: no status, no Event
        // Denied by what AWS showed (another team's bus): take back as for the policy's own.
        Err(e @ Error::PolicyDenied { .. }) if has_finalizer(bridge) => withdraw(bridge, ctx, &api, &previous, e).await,
        Err(e) => {
            if let (Error::RouteHeld(_), Some(g)) = (&e, &ctx.gateways) {
                g.yield_to(bridge);
            }
            report_failure(bridge, ctx, &api, &previous, e).await
        }
    }
}

/// A failed pass: status (Reconciling or Stalled with the error's reason), a Warning Event, the
/// state metric; the error goes back to the controller's error policy.
async fn report_failure(
    bridge: &WebhookBridge,
    ctx: &Context,
    api: &Api<WebhookBridge>,
    previous: &WebhookBridgeStatus,
    e: Error,
) -> Result<Action, ReconcileError> {
    let generation = bridge.metadata.generation;
    let next = WebhookBridgeStatus {
        observed_generation: generation,
        conditions: status::stamp(
            &previous.conditions,
            {
                let mut c = status::failed(generation, &e);
                if bridge.spec.gateway_ref.is_some() {
                    c.extend(status::gateway_conditions(generation, Some(&e), &[]));
                }
                c
            },
            &status::now(),
        ),
        ..previous.clone()
    };
    write_status(api, bridge, previous, next).await?;
    publish(ctx, bridge, EventType::Warning, e.reason(), e.tenant_message()).await;
    let key = key_of(bridge.namespace().as_deref(), &bridge.name_any());
    ctx.metrics.set_state(&key, Some(if e.is_retryable() { "Reconciling" } else { "Stalled" }));
    Err(e.into())
}

/// A bridge that acted and that its policy no longer allows: reconcile the cut-down spec (what
/// the policy took back leaves AWS), then report it Stalled/PolicyDenied saying what went and
/// what is still live. Every policy change runs this again (in sync: no write).
async fn withdraw(
    bridge: &WebhookBridge,
    ctx: &Context,
    api: &Api<WebhookBridge>,
    previous: &WebhookBridgeStatus,
    denied: Error,
) -> Result<Action, ReconcileError> {
    let key = key_of(bridge.namespace().as_deref(), &bridge.name_any());
    let generation = bridge.metadata.generation;
    let now = status::now();
    let found = match &denied {
        Error::PolicyDenied { denials, .. } => denials.clone(),
        _ => Vec::new(),
    };
    let Some(w) = ctx.engine.withdrawal_with(bridge, &found)? else { return Err(denied.into()) };
    let (outcome, summary) = match ctx.engine.withdraw(&w).await {
        Ok(outcome) => (Some(outcome), w.summary()),
        Err(e @ Error::NotLeader(_)) => return Err(e.into()),
        Err(e) if e.is_retryable() => {
            warn!(object = %key, error = %e, "taking back what the policy no longer allows; retrying");
            let next = WebhookBridgeStatus {
                conditions: status::stamp(&previous.conditions, status::failed(generation, &e), &now),
                ..previous.clone()
            };
            write_status(api, bridge, previous, next).await?;
            return Err(e.into());
        }
        Err(e) => (None, format!("taking back what it no longer allows failed: {}", e.tenant_message())),
    };
    let changed = outcome.as_ref().is_some_and(|o| !o.actions.is_empty());
    let mut next = match outcome {
        Some(o) => WebhookBridgeStatus { role_usable_after: previous.role_usable_after.clone(), ..o.status },
        None => previous.clone(),
    };
    next.observed_generation = generation;
    next.last_synced_time = previous.last_synced_time.clone();
    next.conditions = status::stamp(&previous.conditions, status::withdrawn(generation, &denied, &summary), &now);
    let dns_status = next.clone();
    write_status(api, bridge, previous, next).await?;
    if bridge.spec.domain.is_some() || previous.domain.is_some() {
        super::dns::sync(&ctx.client, &w.bridge, &dns_status).await?;
    }
    if changed {
        info!(object = %key, "took back what the policy no longer allows: {summary}");
    }
    let note = format!("{}. {summary}", denied.tenant_message());
    publish(ctx, bridge, EventType::Warning, denied.reason(), note).await;
    ctx.metrics.set_state(&key, Some("Stalled"));
    Err(denied.into())
}

/// An object that does not deserialize: report it (status + Event) and leave it alone; the
/// watch carries on for every other object.
async fn report_invalid(invalid: &kube::core::error_boundary::InvalidObject, ctx: &Context) {
    let meta = &invalid.metadata;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone().unwrap_or_default();
    let key = key_of(Some(&namespace), &name);
    let message = format!("the object does not match the WebhookBridge schema: {}", invalid.error);
    warn!(object = %key, "{message}");
    ctx.metrics.set_state(&key, Some("Stalled"));
    let error = Error::invalid("spec", message.clone());
    let conditions = status::stamp(&[], status::failed(meta.generation, &error), &status::now());
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &namespace, &ApiResource::erase::<WebhookBridge>(&()));
    let patch = json!({"status": {"observedGeneration": meta.generation, "conditions": conditions}});
    // Best effort: an apiserver validating the whole object refuses status writes to it too.
    if let Err(e) = api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
        warn!(object = %key, error = %e, "could not write the Stalled status; reporting by Event only");
    }
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(WebhookBridge::api_version(&()).to_string()),
        kind: Some(WebhookBridge::kind(&()).to_string()),
        name: Some(name),
        namespace: Some(namespace),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..Default::default()
    };
    let event = Event {
        type_: EventType::Warning,
        reason: "InvalidObject".into(),
        note: Some(message),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        warn!(object = %key, error = %e, "could not publish an Event");
    }
}
