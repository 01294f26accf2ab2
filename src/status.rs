//! Status: what the user reads. Built purely from desired + observed, plus kstatus conditions.

use crate::api::{
    Condition, DomainStatus, NO_DEAD_LETTER_QUEUE, READY, RECONCILING, ResourceRef, RouteStatus, RuleStatus, STALLED,
    WebhookBridgeStatus,
};
use crate::desired::{Desired, DesiredRole};
use crate::error::Error;
use crate::observed::Observed;

/// Now, RFC 3339 to the second (the Kubernetes `Time` format).
pub fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

/// `wait` from now, RFC 3339 to the second (rounded up, so the deadline never comes early).
pub fn after(wait: std::time::Duration) -> String {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(wait.as_millis() as i64 + 999);
    let second = jiff::TimestampRound::new().smallest(jiff::Unit::Second).mode(jiff::RoundMode::Trunc);
    at.round(second).map(|t| t.to_string()).unwrap_or_else(|_| at.to_string())
}

/// How long until an RFC 3339 time; None once it has passed (or if it does not parse).
pub fn until(at: &str) -> Option<std::time::Duration> {
    let at: jiff::Timestamp = at.parse().ok()?;
    std::time::Duration::try_from(jiff::Timestamp::now().duration_until(at)).ok().filter(|d| !d.is_zero())
}

/// What a user must do about deliveries their resource policy does not allow, field by field.
pub fn delivery_gaps_message(gaps: &[(crate::target_policy::Delivery, crate::target_policy::Finding)]) -> String {
    use crate::target_policy::Finding;
    let lines: Vec<String> = gaps
        .iter()
        .map(|(d, finding)| {
            let statement = d.statement().to_string();
            match finding {
                Finding::NotFound => format!("{}: {} does not exist; events to it are dropped", d.field, d.arn),
                Finding::Unreadable(why) => format!(
                    "{}: cannot read the resource policy of {} ({why}); make sure it contains {statement}",
                    d.field, d.arn
                ),
                _ => format!(
                    "{}: the resource policy of {} does not let EventBridge deliver from rule {}, so events are dropped; add this statement: {statement}",
                    d.field, d.arn, d.rule_arn
                ),
            }
        })
        .collect();
    format!("AWS matches the spec, but: {}", lines.join("; "))
}

/// Base URL of the stage: the API endpoint, plus `/<stage>` unless the stage is `$default`.
pub fn stage_url(endpoint: &str, stage: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if stage == "$default" { endpoint.to_string() } else { format!("{endpoint}/{stage}") }
}

/// The descriptive part of the status (no conditions).
pub fn describe(d: &Desired, o: &Observed) -> WebhookBridgeStatus {
    let api = o.api();
    let endpoint = api.and_then(|a| a.endpoint.as_deref()).map(|e| stage_url(e, &d.stage.name));
    let routes = d
        .routes
        .iter()
        .map(|r| {
            let route = o.routes.iter().find(|x| x.route_key == r.route_key);
            RouteStatus {
                name: r.name.clone(),
                route_key: r.route_key.clone(),
                url: endpoint.as_ref().map(|e| format!("{e}{}", r.path)),
                route_id: route.map(|x| x.id.clone()),
                integration_id: route
                    .and_then(|x| x.target.as_deref())
                    .and_then(|t| t.strip_prefix("integrations/"))
                    .map(str::to_string),
            }
        })
        .collect();
    let role = match &d.role {
        DesiredRole::Managed { name, arn, .. } => ResourceRef {
            name: name.clone(),
            arn: o.role.as_ref().map(|r| r.arn.clone()).unwrap_or_else(|| arn.clone()),
            managed: true,
        },
        DesiredRole::Existing { arn } => {
            ResourceRef { name: arn.rsplit('/').next().unwrap_or(arn).to_string(), arn: arn.clone(), managed: false }
        }
    };
    WebhookBridgeStatus {
        endpoint,
        api_id: api.map(|a| a.id.clone()),
        stage: Some(d.stage.name.clone()),
        routes,
        event_bus: Some(ResourceRef {
            name: d.bus.name.clone(),
            arn: o.bus.as_ref().map(|b| b.arn.clone()).unwrap_or_else(|| d.bus.arn.clone()),
            managed: d.bus.managed,
        }),
        role: Some(role),
        rules: d
            .rules
            .iter()
            .map(|r| {
                let obs = o.rules.iter().find(|x| x.name == r.name);
                RuleStatus {
                    name: r.spec_name.clone(),
                    aws_name: r.name.clone(),
                    arn: obs.map(|x| x.arn.clone()),
                    targets: obs.map(|x| x.targets.len() as u32).unwrap_or(0),
                }
            })
            .collect(),
        domain: d
            .domain
            .as_ref()
            .map(|want| {
                let url = want.url();
                let found = o.domains.iter().find(|x| x.name == want.name);
                DomainStatus {
                    name: want.name.clone(),
                    route_urls: d.routes.iter().map(|r| format!("{url}{}", r.path)).collect(),
                    url,
                    target_domain_name: found.and_then(|x| x.target_domain_name.clone()),
                    hosted_zone_id: found.and_then(|x| x.hosted_zone_id.clone()),
                }
            })
            .or_else(|| {
                // On a gateway with a custom domain: the URLs on the gateway's domain.
                let att = d.attachment.as_ref()?;
                let (name, url) = (att.domain_name.clone()?, att.domain_url.clone()?);
                Some(DomainStatus {
                    name,
                    route_urls: d.routes.iter().map(|r| format!("{url}{}", r.path)).collect(),
                    url,
                    target_domain_name: None,
                    hosted_zone_id: None,
                })
            }),
        gateway: d.attachment.as_ref().map(|a| a.gateway.clone()),
        access_log_group: d.logs.enabled.then(|| ResourceRef {
            name: d.logs.group_name.clone(),
            arn: d.logs.group_arn.clone(),
            managed: true,
        }),
        archive: d.archive.as_ref().map(|a| ResourceRef {
            name: a.name.clone(),
            arn: o.archive.as_ref().map_or_else(|| a.arn.clone(), |x| x.arn.clone()),
            managed: true,
        }),
        dead_letter_queues: {
            let targets: Vec<_> = d.rules.iter().flat_map(|r| &r.targets).collect();
            let with = targets.iter().filter(|t| t.dead_letter_arn.is_some()).count();
            (!targets.is_empty()).then(|| format!("{with}/{}", targets.len()))
        },
        ..Default::default()
    }
}

/// Targets without a dead-letter queue, as `rule <name> target <arn>`.
pub fn without_dead_letter_queue(d: &Desired) -> Vec<String> {
    d.rules
        .iter()
        .flat_map(|r| {
            r.targets
                .iter()
                .filter(|t| t.dead_letter_arn.is_none())
                .map(move |t| format!("rule {} target {}", r.spec_name, t.arn))
        })
        .collect()
}

/// The informational `NoDeadLetterQueue` condition (does not affect Ready): True while some
/// target has no dead-letter queue, so events EventBridge fails to deliver (after its retries)
/// are dropped rather than kept. None when the bridge has no targets.
pub fn dead_letter_condition(missing: &[String], targets: usize, generation: Option<i64>) -> Option<Condition> {
    if targets == 0 {
        return None;
    }
    Some(if missing.is_empty() {
        condition(NO_DEAD_LETTER_QUEUE, false, "AllTargetsHaveDeadLetterQueues", "", generation)
    } else {
        condition(
            NO_DEAD_LETTER_QUEUE,
            true,
            "NoDeadLetterQueue",
            &format!(
                "events EventBridge fails to deliver after its retries are dropped for: {}; set deadLetterArn to keep them",
                missing.join(", ")
            ),
            generation,
        )
    })
}

fn condition(type_: &str, status: bool, reason: &str, message: &str, generation: Option<i64>) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: None,
        observed_generation: generation,
    }
}

/// Gateway API conditions of a bridge on a gateway, next to the kstatus ones: `ResolvedRefs`
/// (its gateway exists and is Ready) and `Accepted` (the gateway and the policy take it, and it
/// fits the gateway's quotas). `error`: why the last pass failed, if it did; `lost`: route keys
/// an older bridge holds (accepted, but partly: reason `RouteConflict`).
pub fn gateway_conditions(generation: Option<i64>, error: Option<&Error>, lost: &[String]) -> Vec<Condition> {
    let reason = error.map(Error::reason);
    let message = error.map(Error::tenant_message).unwrap_or_default();
    let resolved = !matches!(reason, Some("GatewayNotFound" | "GatewayNotReady"));
    let refused = matches!(reason, Some("NotAllowedByGateway" | "PolicyDenied" | "NoPolicy" | "QuotaExceeded"));
    let (accepted_reason, accepted_message) = match (resolved, refused) {
        (false, _) => ("Pending", "waiting for the gateway".to_string()),
        (true, true) => (reason.unwrap_or("NotAllowed"), message.clone()),
        (true, false) if !lost.is_empty() => ("RouteConflict", lost.join("; ")),
        _ => ("Accepted", String::new()),
    };
    vec![
        condition(
            "ResolvedRefs",
            resolved,
            if resolved { "ResolvedRefs" } else { reason.unwrap_or("GatewayNotFound") },
            if resolved { "" } else { &message },
            generation,
        ),
        condition("Accepted", resolved && !refused, accepted_reason, &accepted_message, generation),
    ]
}

/// kstatus conditions for a successful reconcile.
pub fn ready(generation: Option<i64>, message: &str) -> Vec<Condition> {
    vec![
        condition(READY, true, "Synced", message, generation),
        condition(RECONCILING, false, "Synced", "", generation),
        condition(STALLED, false, "Synced", "", generation),
    ]
}

/// kstatus conditions for a failed reconcile: Stalled when terminal, Reconciling when retryable.
pub fn failed(generation: Option<i64>, error: &Error) -> Vec<Condition> {
    let message = error.tenant_message();
    let reason = error.reason();
    let retryable = error.is_retryable();
    vec![
        condition(READY, false, reason, &message, generation),
        condition(RECONCILING, retryable, reason, if retryable { &message } else { "" }, generation),
        condition(STALLED, !retryable, reason, if retryable { "" } else { &message }, generation),
    ]
}

/// [`failed`] for a bridge its policy no longer allows, after what the policy took back was
/// removed from AWS: the message says what went and what is still live.
pub fn withdrawn(generation: Option<i64>, error: &Error, summary: &str) -> Vec<Condition> {
    let mut conditions = failed(generation, error);
    for c in conditions.iter_mut().filter(|c| !c.message.is_empty()) {
        c.message = format!("{}. {summary}", c.message);
    }
    conditions
}

/// kstatus conditions while work is in progress (e.g. before the first reconcile finishes).
pub fn progressing(generation: Option<i64>, reason: &str, message: &str) -> Vec<Condition> {
    vec![
        condition(READY, false, reason, message, generation),
        condition(RECONCILING, true, reason, message, generation),
        condition(STALLED, false, reason, "", generation),
    ]
}

/// Stamp transition times: keep the previous time when a condition's status did not change.
pub fn stamp(previous: &[Condition], mut next: Vec<Condition>, now: &str) -> Vec<Condition> {
    for c in &mut next {
        let before = previous.iter().find(|p| p.type_ == c.type_);
        c.last_transition_time = match before {
            Some(p) if p.status == c.status => p.last_transition_time.clone().or_else(|| Some(now.to_string())),
            _ => Some(now.to_string()),
        };
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    #[test]
    fn stage_url_handles_default_stage() {
        assert_eq!(stage_url("https://x.example/", "$default"), "https://x.example");
        assert_eq!(stage_url("https://x.example", "dev"), "https://x.example/dev");
    }

    #[test]
    fn a_bridge_on_a_gateway_says_whether_it_is_resolved_and_accepted() {
        let get =
            |cs: &[Condition], t: &str| cs.iter().find(|c| c.type_ == t).map(|c| (c.status.clone(), c.reason.clone()));
        let ok = gateway_conditions(Some(1), None, &[]);
        assert_eq!(get(&ok, "Accepted"), Some(("True".into(), "Accepted".into())));
        assert_eq!(get(&ok, "ResolvedRefs"), Some(("True".into(), "ResolvedRefs".into())));
        let missing = gateway_conditions(Some(1), Some(&Error::GatewayNotFound("x".into())), &[]);
        assert_eq!(get(&missing, "ResolvedRefs"), Some(("False".into(), "GatewayNotFound".into())));
        assert_eq!(get(&missing, "Accepted").map(|c| c.0), Some("False".into()));
        let refused = gateway_conditions(Some(1), Some(&Error::NotAllowedByGateway("x".into())), &[]);
        assert_eq!(get(&refused, "Accepted"), Some(("False".into(), "NotAllowedByGateway".into())));
        let partly = gateway_conditions(Some(1), None, &["route a".into()]);
        assert_eq!(get(&partly, "Accepted"), Some(("True".into(), "RouteConflict".into())));
    }

    #[test]
    fn terminal_errors_stall_and_retryable_ones_reconcile() {
        let terminal = failed(Some(2), &Error::invalid("spec.routes[0].path", "bad"));
        let get = |cs: &[Condition], t: &str| cs.iter().find(|c| c.type_ == t).map(|c| c.status.clone());
        assert_eq!(get(&terminal, STALLED).as_deref(), Some("True"));
        assert_eq!(get(&terminal, RECONCILING).as_deref(), Some("False"));
        assert!(terminal[0].message.contains("spec.routes[0].path"));
        let retry = failed(Some(2), &Error::DependencyMissing(FieldError::new("f", "m")));
        assert_eq!(get(&retry, STALLED).as_deref(), Some("False"));
        assert_eq!(get(&retry, RECONCILING).as_deref(), Some("True"));
    }

    #[test]
    fn transition_time_kept_while_status_holds() {
        let first = stamp(&[], ready(Some(1), "ok"), "t1");
        let second = stamp(&first, ready(Some(2), "ok"), "t2");
        assert_eq!(second[0].last_transition_time.as_deref(), Some("t1"));
        let third = stamp(&second, failed(Some(3), &Error::invalid("f", "m")), "t3");
        assert_eq!(third[0].last_transition_time.as_deref(), Some("t3"));
    }
}
