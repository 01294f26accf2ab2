//! Who gets what on a shared gateway, as the Gateway API decides between Routes: of two bridges
//! claiming one route key the older (creation time, then namespace/name) keeps it and the newer
//! is told why; bridges are then admitted oldest first while they fit the quotas that bind the
//! gateway (routes and integrations per API, rules per bus), so a bridge that would go over is
//! refused before any AWS write, and never takes the place of one already admitted.

use std::collections::BTreeMap;

use crate::api::WebhookBridge;
use crate::api::gateway::{
    API_MAPPINGS_PER_DOMAIN, AUTHORIZERS_PER_API, INTEGRATIONS_PER_API, QuotaUse, WebhookBridgeGateway,
};

/// What the arbiter decided for one bridge.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// Routes (spec name, route key, the older bridge holding the key) this bridge does not get.
    pub lost_routes: Vec<(String, String, String)>,
    /// The quota it would exceed: it gets nothing on the gateway until there is room.
    pub over_quota: Option<String>,
}

impl Verdict {
    /// The lost routes, for a condition message.
    pub fn conflicts(&self) -> Vec<String> {
        self.lost_routes
            .iter()
            .map(|(name, key, holder)| format!("route {name} ({key}) is held by the older bridge {holder}"))
            .collect()
    }
}

fn key(b: &WebhookBridge) -> String {
    format!("{}/{}", b.metadata.namespace.as_deref().unwrap_or("default"), b.metadata.name.as_deref().unwrap_or(""))
}

fn uid(b: &WebhookBridge) -> String {
    b.metadata.uid.clone().unwrap_or_else(|| key(b))
}

/// Decide for every bridge attached to `gw` (already accepted by the gateway's admission and
/// not being deleted), and what they use of each quota. Bridges are keyed by uid (by
/// `namespace/name` when they have none, as in the CLI).
pub fn arbitrate(gw: &WebhookBridgeGateway, bridges: &[&WebhookBridge]) -> (BTreeMap<String, Verdict>, Vec<QuotaUse>) {
    let mut ordered: Vec<&WebhookBridge> = bridges.to_vec();
    ordered.sort_by(|a, b| {
        let created = |x: &WebhookBridge| x.metadata.creation_timestamp.as_ref().map(|t| t.0);
        (created(a).is_none(), created(a), key(a)).cmp(&(created(b).is_none(), created(b), key(b)))
    });
    let routes_limit = gw.spec.quotas.routes();
    let rules_limit = gw.spec.quotas.rules();
    let mut holders: BTreeMap<String, String> = BTreeMap::new();
    let (mut routes, mut rules) = (0u32, 0u32);
    let mut verdicts = BTreeMap::new();
    for b in ordered {
        let mut v = Verdict::default();
        let mut kept = Vec::new();
        for r in &b.spec.routes {
            let route_key = format!("{} {}", r.method.as_str(), r.path);
            match holders.get(&route_key) {
                Some(holder) => v.lost_routes.push((r.name.clone(), route_key, holder.clone())),
                None => kept.push(route_key),
            }
        }
        // A webhook-source bridge's rules are subscribers on the Custom Event Bus, not rules on
        // the gateway's bus.
        let classic_rules = if b.spec.webhook_sources.is_empty() { b.spec.rules.len() } else { 0 };
        let (want_routes, want_rules) = (kept.len() as u32, classic_rules as u32);
        if routes + want_routes > routes_limit {
            let which = if routes_limit == INTEGRATIONS_PER_API {
                format!("routes and integrations per API ({routes_limit}; integrations are fixed by AWS)")
            } else {
                format!("routes per API ({routes_limit})")
            };
            v.over_quota = Some(format!(
                "the bridge needs {want_routes} route(s) and the gateway's API has {} of {routes_limit} left: quota {which}; use another gateway",
                routes_limit - routes
            ));
        } else if rules + want_rules > rules_limit {
            v.over_quota = Some(format!(
                "the bridge needs {want_rules} rule(s) and the gateway's bus has {} of {rules_limit} left: quota rules per event bus ({rules_limit}; raise it in Service Quotas and set the gateway's spec.quotas.rulesPerBus, or use another gateway)",
                rules_limit - rules
            ));
        } else {
            routes += want_routes;
            rules += want_rules;
            for k in kept {
                holders.insert(k, key(b));
            }
        }
        verdicts.insert(uid(b), v);
    }
    let mut capacity = vec![
        QuotaUse {
            quota: "routesPerApi".into(),
            used: routes,
            limit: gw.spec.quotas.routes_per_api.unwrap_or(routes_limit.max(crate::api::gateway::ROUTES_PER_API)),
        },
        QuotaUse { quota: "integrationsPerApi".into(), used: routes, limit: INTEGRATIONS_PER_API },
        QuotaUse { quota: "rulesPerBus".into(), used: rules, limit: rules_limit },
        QuotaUse {
            quota: "authorizersPerApi".into(),
            used: gw.spec.jwt_authorizers.len() as u32,
            limit: AUTHORIZERS_PER_API,
        },
    ];
    if gw.spec.domain.is_some() {
        capacity.push(QuotaUse { quota: "apiMappingsPerDomain".into(), used: 1, limit: API_MAPPINGS_PER_DOMAIN });
    }
    (verdicts, capacity)
}
