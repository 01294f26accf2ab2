//! What a narrowed policy takes back (pure). A bridge its policy no longer allows is not left
//! running as it was: the spec is cut down to what the policy still allows, and the engine
//! reconciles that, so every denied target, route, domain, DNS record and CORS origin is
//! removed from AWS by the ordinary plan (crash-safe, in dependency order). What removal would
//! lose (the bus with its archive, the API and its URL, the role) is kept and reported.

use crate::api::{Throttling, WebhookBridge};
use crate::tenancy::Denial;

/// The cut-down bridge and what it means.
#[derive(Clone, Debug)]
pub struct Withdrawal {
    /// The bridge with everything denied removed (never applied to Kubernetes: the controller
    /// never writes spec).
    pub bridge: WebhookBridge,
    /// What is taken back, one line each (`spec.rules[1].targets[0] (arn:...)`).
    pub removed: Vec<String>,
    /// Denials that only deleting the bridge can take back; their objects stay live.
    pub kept: Vec<String>,
}

/// Denials that concern the whole bridge: every route and rule is removed (nothing reaches the
/// denied bus, region or role any more), the API, stage, bus, archive and role are kept.
const WHOLE_BRIDGE: [&str; 5] = ["allowedRegions", "eventBusNames", "existingBusArns", "existingRoleArns", "gateways"];

/// `spec.rules[3].targets[1]...` → (3, 1).
fn indices(field: &str, list: &str, inner: Option<&str>) -> Option<(usize, Option<usize>)> {
    let rest = field.strip_prefix(list)?.strip_prefix('[')?;
    let (i, rest) = rest.split_once(']')?;
    let i = i.parse().ok()?;
    let Some(inner) = inner else { return Some((i, None)) };
    let rest = rest.strip_prefix('.')?.strip_prefix(inner)?.strip_prefix('[')?;
    let (j, _) = rest.split_once(']')?;
    Some((i, Some(j.parse().ok()?)))
}

/// Cut `bridge` down to what `denials` leave allowed. `max_*`: the policy's ceilings.
pub fn withdraw(
    bridge: &WebhookBridge,
    denials: &[Denial],
    max_throttling: Option<&Throttling>,
    max_routes: Option<u32>,
    max_rules: Option<u32>,
) -> Withdrawal {
    let mut b = bridge.clone();
    let (mut removed, mut kept) = (Vec::new(), Vec::new());
    let mut drop_routes = std::collections::BTreeSet::new();
    let mut drop_targets = std::collections::BTreeSet::new();
    let mut drop_origins = std::collections::BTreeSet::new();
    let mut whole = false;
    for d in denials {
        match d.rule {
            rule if WHOLE_BRIDGE.contains(&rule) => {
                whole = true;
                kept.push(format!("{} ({})", d.field, d.message));
            }
            "targetArns" | "targetRoleArns" => {
                if let Some((i, Some(j))) = indices(&d.field, "spec.rules", Some("targets")) {
                    drop_targets.insert((i, j));
                }
            }
            "deadLetterArns" => {
                if let Some((i, Some(j))) = indices(&d.field, "spec.rules", Some("targets"))
                    && let Some(t) = b.spec.rules.get_mut(i).and_then(|r| r.targets.get_mut(j))
                {
                    t.dead_letter_arn = None;
                    removed.push(format!(
                        "{}.deadLetterArn (its dead-letter queue)",
                        d.field.trim_end_matches(".deadLetterArn")
                    ));
                }
            }
            "authorizationTypes" | "jwtIssuers" => {
                if let Some((i, _)) = indices(&d.field, "spec.routes", None) {
                    drop_routes.insert(i);
                }
            }
            "corsOrigins" => {
                if let Some((i, _)) = indices(&d.field, "spec.api.cors.allowOrigins", None) {
                    drop_origins.insert(i);
                }
            }
            "domainNames" | "certificateArns" => {
                if b.spec.domain.take().is_some() {
                    removed.push("spec.domain (the custom domain, its API mapping and DNS record)".into());
                }
            }
            "dnsEndpoints" => {
                if let Some(domain) = b.spec.domain.as_mut().filter(|x| x.dns_endpoint) {
                    domain.dns_endpoint = false;
                    removed.push("spec.domain.dnsEndpoint (the DNSEndpoint record)".into());
                }
            }
            "maxThrottling" => {
                if let Some(max) = max_throttling {
                    let t = b.spec.api.throttling.get_or_insert_with(|| max.clone());
                    t.burst_limit = t.burst_limit.min(max.burst_limit);
                    t.rate_limit = t.rate_limit.min(max.rate_limit);
                    removed.push(format!(
                        "spec.api.throttling above the ceiling (the stage is throttled to burstLimit {} / rateLimit {})",
                        t.burst_limit, t.rate_limit
                    ));
                }
            }
            // Applied last, to what the other denials leave (see below).
            "maxRoutes" | "maxRules" => {}
            _ => kept.push(format!("{} ({})", d.field, d.message)),
        }
    }
    if whole {
        drop_routes.extend(0..b.spec.routes.len());
        for (i, r) in b.spec.rules.iter().enumerate() {
            removed.push(format!("spec.rules[{i}] (rule {} and its targets)", r.name));
        }
        b.spec.rules.clear();
        drop_targets.clear();
        kept.push("the API, its stage and URL, the bus (and its archive) and the role stay until the bridge is deleted or the policy allows it again".into());
    }
    for &(i, j) in drop_targets.iter().rev() {
        if let Some(rule) = b.spec.rules.get_mut(i)
            && j < rule.targets.len()
        {
            let t = rule.targets.remove(j);
            removed.push(format!("spec.rules[{i}].targets[{j}] ({}; its Lambda permission with it)", t.arn));
        }
    }
    for &i in drop_routes.iter().rev() {
        if i < b.spec.routes.len() {
            let r = b.spec.routes.remove(i);
            removed.push(format!("spec.routes[{i}] (route {} {})", r.method.as_str(), r.path));
        }
    }
    // The ceilings count what is left after the other denials took theirs.
    if let Some(max) = max_routes.map(|m| m as usize)
        && b.spec.routes.len() > max
    {
        for r in b.spec.routes.drain(max..) {
            removed.push(format!("route {} {} (over the ceiling of {max} routes)", r.method.as_str(), r.path));
        }
    }
    if let Some(max) = max_rules.map(|m| m as usize)
        && b.spec.rules.len() > max
    {
        for r in b.spec.rules.drain(max..) {
            removed.push(format!("rule {} and its targets (over the ceiling of {max} rules)", r.name));
        }
    }
    if let Some(cors) = b.spec.api.cors.as_mut() {
        for &i in drop_origins.iter().rev() {
            if i < cors.allow_origins.len() {
                let o = cors.allow_origins.remove(i);
                removed.push(format!("spec.api.cors.allowOrigins[{i}] ({o})"));
            }
        }
        if !drop_origins.is_empty() && cors.allow_origins.is_empty() {
            b.spec.api.cors = None;
        }
    }
    removed.sort();
    removed.dedup();
    kept.dedup();
    Withdrawal { bridge: b, removed, kept }
}

impl Withdrawal {
    /// One sentence for status and Events.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if !self.removed.is_empty() {
            out.push_str(&format!("taken back from AWS: {}", self.removed.join(", ")));
        }
        if !self.kept.is_empty() {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&format!("still live: {}", self.kept.join(", ")));
        }
        out
    }
}

#[cfg(test)]
#[path = "withdraw_tests.rs"]
mod tests;
