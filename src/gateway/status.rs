//! A gateway's status from its reconcile's outcome: what attached bridges need (API id and
//! endpoint, stage, bus, role, authorizer ids, base URL) and how full it is.

use crate::api::gateway::{AuthorizerStatus, QuotaUse, WebhookBridgeGatewayStatus};
use crate::engine::Outcome;

/// The descriptive part of the status (no conditions); `attached` and `capacity` from the
/// arbiter.
pub fn describe(outcome: &Outcome, attached: u32, capacity: Vec<QuotaUse>) -> WebhookBridgeGatewayStatus {
    let s = &outcome.status;
    let api_endpoint = s.endpoint.as_ref().map(|e| match s.stage.as_deref() {
        None | Some("$default") => e.clone(),
        Some(stage) => e.strip_suffix(&format!("/{stage}")).unwrap_or(e).to_string(),
    });
    WebhookBridgeGatewayStatus {
        api_id: s.api_id.clone(),
        api_endpoint,
        stage: s.stage.clone(),
        endpoint: s.endpoint.clone(),
        url: s.domain.as_ref().map(|d| d.url.clone()).or_else(|| s.endpoint.clone()),
        event_bus: s.event_bus.clone(),
        role: s.role.clone(),
        authorizers: outcome
            .authorizers
            .iter()
            .map(|(name, id, issuer)| AuthorizerStatus { name: name.clone(), id: id.clone(), issuer: issuer.clone() })
            .collect(),
        domain: s.domain.clone(),
        access_log_group: s.access_log_group.clone(),
        custom_event_bus: outcome.custom_event_bus.clone(),
        attached_bridges: attached,
        capacity,
        ..Default::default()
    }
}

/// `describe` with `Ready` at `generation`: what the CLI (and tests) hand attached bridges
/// for a gateway they just reconciled (the operator writes its own conditions).
pub fn ready(outcome: &Outcome, generation: Option<i64>) -> WebhookBridgeGatewayStatus {
    let mut s = describe(outcome, 0, Vec::new());
    let generation = generation.or(Some(0));
    s.observed_generation = generation;
    s.conditions = vec![crate::api::Condition {
        type_: crate::api::READY.into(),
        status: "True".into(),
        reason: "Ready".into(),
        message: "the gateway's API, stage, bus and role are in sync".into(),
        last_transition_time: None,
        observed_generation: generation,
    }];
    s
}
