//! Tenancy: which `WebhookBridgePolicy` governs a bridge, and whether the bridge stays inside
//! it. Pure (the policies come from a [`PolicySource`]); the engine runs [`check`] before any AWS
//! call, for the CLI and the operator alike.

use std::fmt;
use std::sync::Arc;

use crate::api::{WebhookBridge, WebhookBridgePolicySpec};
use crate::error::Error;

/// Where the policies come from (the operator: a watch on WebhookBridgePolicies and Namespaces).
pub trait PolicySource: Send + Sync {
    /// The policies selecting `namespace`, as (name, spec), sorted by name. `None`: the
    /// namespace is unknown (not in the cache).
    fn policies_for(&self, namespace: &str) -> Option<Vec<(String, WebhookBridgePolicySpec)>>;

    /// Why no policy can be known at all (e.g. the apiserver does not serve the policy CRD).
    fn unavailable(&self) -> Option<String> {
        None
    }
}

/// How bridges are governed.
#[derive(Clone, Default)]
pub enum Tenancy {
    /// One team owns the cluster and the AWS account (the CLI and the demo): no policy, the
    /// operator's identity acts, and only the built-in rules apply (the default bus is never
    /// referenced).
    #[default]
    Single,
    /// Every namespace needs exactly one policy selecting it (fail closed).
    Multi(Arc<dyn PolicySource>),
}

impl fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tenancy::Single => "Single",
            Tenancy::Multi(_) => "Multi",
        })
    }
}

/// What governs one bridge.
#[derive(Clone, Debug, PartialEq)]
pub enum Governance {
    SingleTenant,
    Policy { name: String, spec: Box<WebhookBridgePolicySpec> },
}

impl Governance {
    /// The role to assume for this bridge's AWS calls, if any.
    pub fn assume_role(&self) -> Option<&str> {
        match self {
            Governance::Policy { spec, .. } => spec.assume_role_arn.as_deref(),
            Governance::SingleTenant => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Governance::Policy { name, .. } => name,
            Governance::SingleTenant => "(single-tenant mode)",
        }
    }
}

/// One thing a policy does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The policy field that denies it, e.g. `targetArns`.
    pub rule: &'static str,
    /// The spec field, e.g. `spec.rules[0].targets[1].arn`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (policy rule {})", self.field, self.message, self.rule)
    }
}

impl Tenancy {
    /// The governance of a bridge in `namespace`: `NoPolicy` or `PolicyConflict` (both terminal:
    /// a new or changed policy triggers the next reconcile) unless exactly one policy selects it.
    pub fn governance(&self, namespace: &str) -> Result<Governance, Error> {
        let Tenancy::Multi(source) = self else {
            return Ok(Governance::SingleTenant);
        };
        if let Some(why) = source.unavailable() {
            return Err(Error::PolicyApiMissing(why));
        }
        let mut found = source.policies_for(namespace).unwrap_or_default();
        match found.len() {
            0 => Err(Error::NoPolicy(format!(
                "no WebhookBridgePolicy selects namespace {namespace}: the operator does nothing in AWS for it; ask the platform team for one"
            ))),
            1 => {
                let (name, spec) = found.remove(0);
                Ok(Governance::Policy { name, spec: Box::new(spec) })
            }
            _ => Err(Error::PolicyConflict(format!(
                "WebhookBridgePolicies {} all select namespace {namespace}; exactly one may",
                found.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

/// `*` matches any run of characters, `?` one; everything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn allowed(patterns: &[String], arn: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, arn))
}

const DEFAULT_BUS_SUFFIX: &str = ":event-bus/default";

/// The account's `default` bus: allowed only by a pattern naming it with no wildcard in the
/// bus name, never by `*` alone.
fn default_bus_allowed(patterns: &[String], arn: &str) -> bool {
    patterns.iter().any(|p| p.ends_with(DEFAULT_BUS_SUFFIX) && glob_match(p, arn))
}

/// Everything in `bridge` its governance does not allow (empty: allowed). `region` is the one
/// the bridge resolves to.
pub fn denials(g: &Governance, bridge: &WebhookBridge, region: &str) -> Vec<Denial> {
    let spec = &bridge.spec;
    let mut out = Vec::new();
    let mut deny = |rule: &'static str, field: String, message: String| out.push(Denial { rule, field, message });
    if let Some(arn) = &spec.event_bus.existing_arn
        && arn.ends_with(DEFAULT_BUS_SUFFIX)
    {
        let explicit = match g {
            Governance::Policy { spec: p, .. } => default_bus_allowed(&p.existing_bus_arns, arn),
            Governance::SingleTenant => false,
        };
        if !explicit {
            deny(
                "existingBusArns",
                "spec.eventBus.existingArn".into(),
                format!("{arn} is the account's default bus, which only a policy naming it explicitly allows"),
            );
        }
    }
    let Governance::Policy { spec: p, .. } = g else {
        return out;
    };
    if !p.allowed_regions.iter().any(|r| glob_match(r, region)) {
        deny("allowedRegions", "spec.region".into(), format!("region {region} is not allowed"));
    }
    if let Some(max) = p.max_routes
        && spec.routes.len() > max as usize
    {
        deny("maxRoutes", "spec.routes".into(), format!("{} routes, at most {max} allowed", spec.routes.len()));
    }
    if let Some(max) = p.max_rules
        && spec.rules.len() > max as usize
    {
        deny("maxRules", "spec.rules".into(), format!("{} rules, at most {max} allowed", spec.rules.len()));
    }
    if !p.authorization_types.is_empty() {
        for (i, r) in spec.routes.iter().enumerate() {
            if !p.authorization_types.contains(&r.authorization.kind) {
                let kinds: Vec<&str> = p.authorization_types.iter().map(|k| k.as_str()).collect();
                deny(
                    "authorizationTypes",
                    format!("spec.routes[{i}].authorization.type"),
                    format!("{} is not allowed; allowed: {}", r.authorization.kind.as_str(), kinds.join(", ")),
                );
            }
        }
    }
    // A bridge on a gateway has no stage of its own: the gateway's throttling is checked under
    // the gateway's namespace's policy.
    if let Some(max) = p.max_throttling.as_ref().filter(|_| spec.gateway_ref.is_none()) {
        match &spec.api.throttling {
            None => deny(
                "maxThrottling",
                "spec.api.throttling".into(),
                format!(
                    "a stage throttling is required, at most burstLimit {} and rateLimit {}",
                    max.burst_limit, max.rate_limit
                ),
            ),
            Some(t) if t.burst_limit > max.burst_limit || t.rate_limit > max.rate_limit => deny(
                "maxThrottling",
                "spec.api.throttling".into(),
                format!(
                    "burstLimit {} / rateLimit {} is over the ceiling {} / {}",
                    t.burst_limit, t.rate_limit, max.burst_limit, max.rate_limit
                ),
            ),
            Some(_) => {}
        }
    }
    let namespace = bridge.metadata.namespace.as_deref().unwrap_or("default");
    let for_namespace = |patterns: &[String]| -> Vec<String> {
        patterns.iter().map(|pat| pat.replace("{namespace}", namespace)).collect()
    };
    if let Some(gw) = &spec.gateway_ref {
        let key = format!("{}/{}", gw.namespace.as_deref().unwrap_or(namespace), gw.name);
        if !allowed(&for_namespace(&p.gateways), &key) {
            let why = if p.gateways.is_empty() {
                "the policy allows no gateway".to_string()
            } else {
                format!("allowed: {}", p.gateways.join(", "))
            };
            deny("gateways", "spec.gatewayRef".into(), format!("gateway {key} is not allowed; {why}"));
        }
    }
    if let (Some(name), None) = (&spec.event_bus.name, &spec.event_bus.existing_arn)
        && !allowed(&for_namespace(&p.event_bus_names), name)
    {
        let why = if p.event_bus_names.is_empty() {
            "the policy allows only the default bus name (leave spec.eventBus.name unset)".to_string()
        } else {
            format!("allowed: {}", p.event_bus_names.join(", "))
        };
        deny("eventBusNames", "spec.eventBus.name".into(), format!("bus name {name} is not allowed; {why}"));
    }
    if let Some(domain) = &spec.domain {
        if !allowed(&for_namespace(&p.domain_names), &domain.name) {
            deny("domainNames", "spec.domain.name".into(), format!("custom domain {} is not allowed", domain.name));
        }
        if !allowed(&p.certificate_arns, &domain.certificate_arn) {
            deny(
                "certificateArns",
                "spec.domain.certificateArn".into(),
                format!("certificate {} is not allowed", domain.certificate_arn),
            );
        }
        if domain.dns_endpoint && !p.dns_endpoints {
            deny(
                "dnsEndpoints",
                "spec.domain.dnsEndpoint".into(),
                "the policy does not let bridges ask for DNS records (DNSEndpoint)".into(),
            );
        }
    }
    for (i, r) in spec.routes.iter().enumerate() {
        if let Some(issuer) = &r.authorization.issuer
            && !allowed(&p.jwt_issuers, issuer)
        {
            deny(
                "jwtIssuers",
                format!("spec.routes[{i}].authorization.issuer"),
                format!("issuer {issuer} is not allowed"),
            );
        }
    }
    if let Some(cors) = &spec.api.cors {
        for (i, origin) in cors.allow_origins.iter().enumerate() {
            // The origin `*` (any site) only by the pattern `*` itself, not by `https://*`.
            let ok =
                if origin == "*" { p.cors_origins.iter().any(|o| o == "*") } else { allowed(&p.cors_origins, origin) };
            if !ok {
                deny(
                    "corsOrigins",
                    format!("spec.api.cors.allowOrigins[{i}]"),
                    format!("origin {origin} is not allowed"),
                );
            }
        }
    }
    if let Some(arn) = &spec.event_bus.existing_arn
        && !arn.ends_with(DEFAULT_BUS_SUFFIX)
        && !allowed(&p.existing_bus_arns, arn)
    {
        deny("existingBusArns", "spec.eventBus.existingArn".into(), format!("{arn} is not allowed"));
    }
    if let Some(arn) = &spec.role.existing_arn
        && !allowed(&p.existing_role_arns, arn)
    {
        deny("existingRoleArns", "spec.role.existingArn".into(), format!("{arn} is not allowed"));
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        for (j, t) in rule.targets.iter().enumerate() {
            let at = format!("spec.rules[{i}].targets[{j}]");
            if !allowed(&p.target_arns, &t.arn) {
                deny("targetArns", format!("{at}.arn"), format!("{} is not allowed", t.arn));
            }
            if let Some(role) = &t.role_arn
                && !allowed(&p.target_role_arns, role)
            {
                deny("targetRoleArns", format!("{at}.roleArn"), format!("{role} is not allowed"));
            }
            if let Some(dlq) = &t.dead_letter_arn
                && !allowed(&p.dead_letter_arns, dlq)
            {
                deny("deadLetterArns", format!("{at}.deadLetterArn"), format!("{dlq} is not allowed"));
            }
        }
    }
    out
}

/// Whether a bridge may put its rules on an existing bus that another bridge (of another
/// namespace or cluster) created and owns: in single-tenant mode yes (one team), in multi-tenant
/// mode only when the policy names that bus's ARN exactly, without a wildcard. `None`: allowed;
/// otherwise the name of the policy that does not allow it.
pub fn foreign_bus_denied_by(g: &Governance, arn: &str) -> Option<String> {
    match g {
        Governance::SingleTenant => None,
        Governance::Policy { name, spec } => {
            let exact = spec.existing_bus_arns.iter().any(|p| p == arn && !p.contains(['*', '?']));
            (!exact).then(|| name.clone())
        }
    }
}

/// [`denials`] as an error naming the policy (terminal).
pub fn check(g: &Governance, bridge: &WebhookBridge, region: &str) -> Result<(), Error> {
    let denials = denials(g, bridge, region);
    if denials.is_empty() { Ok(()) } else { Err(Error::PolicyDenied { policy: g.name().to_string(), denials }) }
}

#[cfg(test)]
#[path = "tenancy_tests.rs"]
mod tests;
