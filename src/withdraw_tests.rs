//! The cut-down spec of a narrowed policy: each kind of denial takes back exactly its object.

use super::*;
use crate::tenancy::{Governance, denials};

fn orders() -> WebhookBridge {
    serde_saphyr::from_str(include_str!("../examples/orders.yaml")).expect("example parses")
}

fn policy(spec: serde_json::Value) -> (Governance, crate::api::WebhookBridgePolicySpec) {
    let mut spec = spec;
    spec["namespaceSelector"] = serde_json::json!({});
    let spec: crate::api::WebhookBridgePolicySpec = serde_json::from_value(spec).expect("policy");
    (Governance::Policy { name: "p".into(), spec: Box::new(spec.clone()) }, spec)
}

fn cut(b: &WebhookBridge, spec: serde_json::Value) -> Withdrawal {
    let (g, p) = policy(spec);
    let d = denials(&g, b, "us-east-1");
    withdraw(b, &d, p.max_throttling.as_ref(), p.max_routes, p.max_rules)
}

const ALL: &str = "arn:aws:lambda:us-east-1:123456789012:function:*";

#[test]
fn a_denied_target_goes_and_the_rest_stays() {
    let b = orders();
    let w = cut(
        &b,
        serde_json::json!({"allowedRegions": ["*"], "eventBusNames": ["*"],
            "targetArns": ["arn:aws:lambda:us-east-1:123456789012:function:createOrder"]}),
    );
    assert_eq!(w.bridge.spec.rules.len(), 2);
    assert_eq!(w.bridge.spec.rules[0].targets.len(), 1);
    assert!(w.bridge.spec.rules[1].targets.is_empty(), "{:?}", w.bridge.spec.rules[1]);
    assert_eq!(w.bridge.spec.routes, b.spec.routes);
    assert!(w.kept.is_empty());
    assert_eq!(w.removed.len(), 1, "{:?}", w.removed);
    assert!(w.removed[0].contains("cancelOrder"), "{:?}", w.removed);
}

#[test]
fn a_denied_authorization_removes_the_route() {
    let b = orders();
    let w = cut(
        &b,
        serde_json::json!({"allowedRegions": ["*"], "eventBusNames": ["*"], "targetArns": [ALL],
            "authorizationTypes": ["JWT"]}),
    );
    assert!(w.bridge.spec.routes.is_empty());
    assert_eq!(w.bridge.spec.rules, b.spec.rules);
    assert!(
        w.summary().starts_with("taken back from AWS: spec.routes[0] (route POST /api/webhook)"),
        "{}",
        w.summary()
    );
}

#[test]
fn a_whole_bridge_denial_disables_routes_and_rules_and_keeps_what_holds_data() {
    let b = orders();
    // The bus name is no longer allowed.
    let w = cut(&b, serde_json::json!({"allowedRegions": ["*"], "targetArns": [ALL]}));
    assert!(w.bridge.spec.routes.is_empty() && w.bridge.spec.rules.is_empty());
    assert_eq!(w.bridge.spec.event_bus, b.spec.event_bus, "the bus itself stays");
    assert!(w.summary().contains("still live: spec.eventBus.name"), "{}", w.summary());
    assert!(w.summary().contains("the bus (and its archive)"), "{}", w.summary());
}

#[test]
fn domains_dns_records_throttling_and_cors_are_taken_back() {
    let mut b = orders();
    b.spec.domain = Some(crate::api::DomainSpec {
        name: "hooks.example.com".into(),
        certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/abc".into(),
        base_path: None,
        dns_endpoint: true,
    });
    b.spec.api.cors = Some(
        serde_json::from_value(serde_json::json!({"allowOrigins": ["https://a.example.com", "*"]})).expect("cors"),
    );
    b.spec.api.throttling = Some(crate::api::Throttling { burst_limit: 500, rate_limit: 50.0 });
    let allowed = serde_json::json!({"allowedRegions": ["*"], "eventBusNames": ["*"], "targetArns": [ALL],
        "domainNames": ["hooks.example.com"], "certificateArns": ["arn:aws:acm:*"],
        "corsOrigins": ["https://*.example.com"], "maxThrottling": {"burstLimit": 100, "rateLimit": 100}});
    let w = cut(&b, allowed.clone());
    let domain = w.bridge.spec.domain.as_ref().expect("the domain is allowed");
    assert!(!domain.dns_endpoint, "no DNS records without dnsEndpoints");
    let cors = w.bridge.spec.api.cors.as_ref().expect("one origin stays");
    assert_eq!(cors.allow_origins, ["https://a.example.com"]);
    assert_eq!(w.bridge.spec.api.throttling, Some(crate::api::Throttling { burst_limit: 100, rate_limit: 50.0 }));
    let mut other = allowed;
    other["domainNames"] = serde_json::json!(["{namespace}.hooks.example.com"]);
    let w = cut(&b, other);
    assert!(w.bridge.spec.domain.is_none());
}

#[test]
fn ceilings_cut_the_tail() {
    let b = orders();
    let w = cut(
        &b,
        serde_json::json!({"allowedRegions": ["*"], "eventBusNames": ["*"], "targetArns": [ALL], "maxRules": 1}),
    );
    assert_eq!(w.bridge.spec.rules.len(), 1);
    assert_eq!(w.bridge.spec.rules[0].name, b.spec.rules[0].name);
}

#[test]
fn a_ceiling_counts_what_the_other_denials_left() {
    // Second read's finding: [A (authorization denied), B, C] with maxRoutes 2 kept only B.
    let mut b = orders();
    let route = b.spec.routes[0].clone();
    b.spec.routes = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let mut r = route.clone();
            r.name = (*n).into();
            r.path = format!("/{n}");
            r
        })
        .collect();
    b.spec.routes[0].authorization.kind = crate::api::AuthorizationType::AwsIam;
    let w = cut(
        &b,
        serde_json::json!({"allowedRegions": ["*"], "eventBusNames": ["*"], "targetArns": [ALL],
            "authorizationTypes": ["NONE"], "maxRoutes": 2}),
    );
    let names: Vec<&str> = w.bridge.spec.routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["b", "c"]);
}
