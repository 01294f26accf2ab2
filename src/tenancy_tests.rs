//! The policy checks, pure: each rule of a WebhookBridgePolicy denies what it should, names the
//! field and the rule, and allows the rest.

use std::collections::BTreeMap;

use super::*;
use crate::api::policy::{LabelOperator, LabelRequirement, NamespaceSelector};
use crate::api::{AuthorizationType, Throttling};

fn bridge(yaml: &str) -> WebhookBridge {
    serde_saphyr::from_str(yaml).expect("example parses")
}

fn orders() -> WebhookBridge {
    bridge(include_str!("../examples/orders.yaml"))
}

fn team_a() -> Governance {
    Governance::Policy {
        name: "team-a".into(),
        spec: Box::new(WebhookBridgePolicySpec {
            allowed_regions: vec!["us-east-1".into()],
            target_arns: vec!["arn:aws:lambda:us-east-1:123456789012:function:*Order".into()],
            existing_bus_arns: vec!["arn:aws:events:us-east-1:123456789012:event-bus/team-a-*".into()],
            event_bus_names: vec!["custom-events-*".into()],
            ..Default::default()
        }),
    }
}

fn with(g: Governance, f: impl FnOnce(&mut WebhookBridgePolicySpec)) -> Governance {
    let Governance::Policy { name, mut spec } = g else { unreachable!("a policy") };
    f(&mut spec);
    Governance::Policy { name, spec }
}

#[test]
fn bus_names_are_governed_and_fail_closed() {
    // Issue #19: a namespace with no bus rule took the name `payments-shared` another team's
    // policy allowed as an existing bus.
    let mut b = orders();
    b.spec.event_bus.name = Some("payments-shared".into());
    let none = with(team_a(), |p| p.event_bus_names.clear());
    assert_eq!(rules(&denials(&none, &b, "us-east-1")), [("eventBusNames", "spec.eventBus.name")]);
    b.spec.event_bus.name = None;
    assert_eq!(denials(&none, &b, "us-east-1"), [], "the default name (unique to the bridge) is always allowed");
    let own = with(team_a(), |p| p.event_bus_names = vec!["{namespace}.*".into()]);
    b.spec.event_bus.name = Some("default.orders".into()); // orders.yaml is in namespace default
    assert_eq!(denials(&own, &b, "us-east-1"), []);
    b.spec.event_bus.name = Some("payments-shared".into());
    assert_eq!(rules(&denials(&own, &b, "us-east-1")), [("eventBusNames", "spec.eventBus.name")]);
}

#[test]
fn domains_certificates_and_dns_records_fail_closed() {
    let mut b = orders();
    b.spec.domain = Some(crate::api::DomainSpec {
        name: "login.payments.example.com".into(),
        certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/team-a".into(),
        base_path: None,
        dns_endpoint: true,
    });
    assert_eq!(
        rules(&denials(&team_a(), &b, "us-east-1")),
        [
            ("domainNames", "spec.domain.name"),
            ("certificateArns", "spec.domain.certificateArn"),
            ("dnsEndpoints", "spec.domain.dnsEndpoint")
        ]
    );
    let allows = with(team_a(), |p| {
        p.domain_names = vec!["{namespace}.hooks.example.com".into()];
        p.certificate_arns = vec!["arn:aws:acm:us-east-1:123456789012:certificate/*".into()];
        p.dns_endpoints = true;
    });
    assert_eq!(rules(&denials(&allows, &b, "us-east-1")), [("domainNames", "spec.domain.name")]);
    if let Some(d) = b.spec.domain.as_mut() {
        d.name = "default.hooks.example.com".into();
    }
    assert_eq!(denials(&allows, &b, "us-east-1"), []);
}

#[test]
fn jwt_issuers_and_cors_origins_fail_closed() {
    let mut b = bridge(include_str!("../examples/jwt.yaml"));
    b.spec.event_bus = Default::default();
    b.spec.api.cors = Some(
        serde_json::from_value(serde_json::json!({"allowOrigins": ["*", "https://app.example.com"]})).expect("cors"),
    );
    let g = with(team_a(), |p| {
        p.allowed_regions = vec!["*".into()];
        p.target_arns = vec!["*".into()];
    });
    let all = denials(&g, &b, "us-east-1");
    let found = rules(&all);
    assert!(found.contains(&("jwtIssuers", "spec.routes[0].authorization.issuer")), "{found:?}");
    assert!(found.contains(&("corsOrigins", "spec.api.cors.allowOrigins[0]")), "{found:?}");
    assert!(found.contains(&("corsOrigins", "spec.api.cors.allowOrigins[1]")), "{found:?}");
    let g = with(g, |p| {
        p.jwt_issuers = vec!["https://*".into()];
        p.cors_origins = vec!["https://*".into()];
    });
    let all = denials(&g, &b, "us-east-1");
    let found = rules(&all);
    assert_eq!(found, [("corsOrigins", "spec.api.cors.allowOrigins[0]")], "the origin * needs the pattern * itself");
}

#[test]
fn another_bridges_bus_needs_its_exact_arn() {
    let arn = "arn:aws:events:us-east-1:123456789012:event-bus/team-a-shared";
    assert_eq!(foreign_bus_denied_by(&team_a(), arn), Some("team-a".into()), "a wildcard is not enough");
    let exact = with(team_a(), |p| p.existing_bus_arns.push(arn.into()));
    assert_eq!(foreign_bus_denied_by(&exact, arn), None);
    assert_eq!(foreign_bus_denied_by(&Governance::SingleTenant, arn), None);
}

fn rules(d: &[Denial]) -> Vec<(&'static str, &str)> {
    d.iter().map(|d| (d.rule, d.field.as_str())).collect()
}

#[test]
fn glob_patterns_match_like_iam() {
    assert!(glob_match("arn:aws:lambda:*:123:function:a-*", "arn:aws:lambda:us-east-1:123:function:a-x"));
    assert!(!glob_match("arn:aws:lambda:*:123:function:a-*", "arn:aws:lambda:us-east-1:123:function:b-x"));
    assert!(glob_match("*", "anything"));
    assert!(glob_match("a?c", "abc") && !glob_match("a?c", "ac"));
    assert!(glob_match("*a*b*", "xxaxxbxx") && !glob_match("*a*b", "xxbxxa"));
    assert!(!glob_match("arn:aws:sqs:*:123:q", "arn:aws:sqs:us-east-1:123:q-longer"), "whole ARN, not a prefix");
}

#[test]
fn an_allowed_bridge_has_no_denials() {
    assert_eq!(denials(&team_a(), &orders(), "us-east-1"), []);
    assert_eq!(denials(&Governance::SingleTenant, &orders(), "us-east-1"), []);
}

#[test]
fn each_rule_denies_naming_the_field_and_the_rule() {
    let mut b = orders();
    b.spec.rules[1].targets[0].arn = "arn:aws:lambda:us-east-1:123456789012:function:payroll".into();
    b.spec.rules[0].targets[0].role_arn = Some("arn:aws:iam::123456789012:role/x".into());
    b.spec.rules[0].targets[0].dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:dlq".into());
    b.spec.event_bus = crate::api::EventBusSpec {
        existing_arn: Some("arn:aws:events:us-east-1:123456789012:event-bus/team-b".into()),
        ..Default::default()
    };
    b.spec.role.existing_arn = Some("arn:aws:iam::123456789012:role/admin".into());
    let d = denials(&team_a(), &b, "eu-west-1");
    assert_eq!(
        rules(&d),
        [
            ("allowedRegions", "spec.region"),
            ("existingBusArns", "spec.eventBus.existingArn"),
            ("existingRoleArns", "spec.role.existingArn"),
            ("targetRoleArns", "spec.rules[0].targets[0].roleArn"),
            ("deadLetterArns", "spec.rules[0].targets[0].deadLetterArn"),
            ("targetArns", "spec.rules[1].targets[0].arn"),
        ]
    );
    let err = check(&team_a(), &b, "eu-west-1").expect_err("denied");
    assert_eq!(err.reason(), "PolicyDenied");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.starts_with("WebhookBridgePolicy team-a denies: spec.region: region eu-west-1 is not allowed (policy rule allowedRegions)"), "{text}");
    assert!(text.contains("spec.rules[1].targets[0].arn: arn:aws:lambda:us-east-1:123456789012:function:payroll is not allowed (policy rule targetArns)"), "{text}");
}

#[test]
fn limits_on_routes_rules_auth_and_throttling() {
    let Governance::Policy { spec, .. } = team_a() else { unreachable!() };
    let strict = Governance::Policy {
        name: "strict".into(),
        spec: Box::new(WebhookBridgePolicySpec {
            max_routes: Some(0),
            max_rules: Some(1),
            authorization_types: vec![AuthorizationType::Jwt],
            max_throttling: Some(Throttling { burst_limit: 100, rate_limit: 50.0 }),
            ..*spec
        }),
    };
    let d = denials(&strict, &orders(), "us-east-1");
    assert_eq!(
        rules(&d),
        [
            ("maxRoutes", "spec.routes"),
            ("maxRules", "spec.rules"),
            ("authorizationTypes", "spec.routes[0].authorization.type"),
            ("maxThrottling", "spec.api.throttling"),
        ]
    );
    assert!(d[3].message.contains("required"), "{}", d[3].message);
    let mut b = orders();
    b.spec.api.throttling = Some(Throttling { burst_limit: 200, rate_limit: 10.0 });
    let d = denials(&strict, &b, "us-east-1");
    assert!(d.iter().any(|d| d.rule == "maxThrottling" && d.message.contains("over the ceiling")), "{d:?}");
    b.spec.api.throttling = Some(Throttling { burst_limit: 100, rate_limit: 50.0 });
    assert!(!denials(&strict, &b, "us-east-1").iter().any(|d| d.rule == "maxThrottling"));
}

#[test]
fn the_default_bus_needs_a_policy_naming_it() {
    let mut b = orders();
    b.spec.event_bus = crate::api::EventBusSpec {
        existing_arn: Some("arn:aws:events:us-east-1:123456789012:event-bus/default".into()),
        ..Default::default()
    };
    let everything = |patterns: &[&str]| Governance::Policy {
        name: "open".into(),
        spec: Box::new(WebhookBridgePolicySpec {
            allowed_regions: vec!["us-east-1".into()],
            target_arns: vec!["*".into()],
            existing_bus_arns: patterns.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }),
    };
    for g in [Governance::SingleTenant, everything(&["*"]), everything(&["arn:aws:events:*:*:event-bus/*"])] {
        assert_eq!(rules(&denials(&g, &b, "us-east-1")), [("existingBusArns", "spec.eventBus.existingArn")], "{g:?}");
    }
    assert_eq!(denials(&everything(&["arn:aws:events:*:123456789012:event-bus/default"]), &b, "us-east-1"), []);
}

struct Fixed(Vec<(String, WebhookBridgePolicySpec)>);
impl PolicySource for Fixed {
    fn policies_for(&self, _: &str) -> Option<Vec<(String, WebhookBridgePolicySpec)>> {
        Some(self.0.clone())
    }
}

#[test]
fn exactly_one_policy_must_select_the_namespace() {
    let multi = |names: &[&str]| {
        Tenancy::Multi(Arc::new(Fixed(names.iter().map(|n| (n.to_string(), Default::default())).collect())))
    };
    let none = multi(&[]).governance("team-c").expect_err("fail closed");
    assert_eq!((none.reason(), none.is_retryable()), ("NoPolicy", false));
    assert!(none.to_string().contains("namespace team-c"), "{none}");
    let two = multi(&["a", "b"]).governance("team-c").expect_err("ambiguous");
    assert_eq!(two.reason(), "PolicyConflict");
    assert!(two.to_string().contains("a, b"), "{two}");
    assert!(matches!(multi(&["a"]).governance("x"), Ok(Governance::Policy { name, .. }) if name == "a"));
    assert_eq!(Tenancy::Single.governance("x").expect("single"), Governance::SingleTenant);
}

#[test]
fn namespace_selectors_follow_kubernetes_semantics() {
    let labels = BTreeMap::from([("team".to_string(), "a".to_string()), ("tier".to_string(), "prod".to_string())]);
    let sel = |labels: &[(&str, &str)], exprs: Vec<LabelRequirement>| NamespaceSelector {
        match_labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        match_expressions: exprs,
    };
    let req = |key: &str, operator, values: &[&str]| LabelRequirement {
        key: key.into(),
        operator,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    assert!(sel(&[], vec![]).matches(&labels), "{{}} selects everything");
    assert!(sel(&[("team", "a")], vec![]).matches(&labels));
    assert!(!sel(&[("team", "b")], vec![]).matches(&labels));
    assert!(sel(&[], vec![req("tier", LabelOperator::In, &["prod", "stage"])]).matches(&labels));
    assert!(!sel(&[], vec![req("tier", LabelOperator::NotIn, &["prod"])]).matches(&labels));
    assert!(sel(&[], vec![req("owner", LabelOperator::DoesNotExist, &[])]).matches(&labels));
    assert!(!sel(&[], vec![req("owner", LabelOperator::Exists, &[])]).matches(&labels));
}

fn on_gateway() -> WebhookBridge {
    bridge(include_str!("../examples/gateway/orders.yaml"))
}

/// `team_a` widened to what examples/gateway/orders.yaml needs, except gateways.
fn payments(gateways: &[&str]) -> Governance {
    with(team_a(), |p| {
        p.target_arns = vec!["arn:aws:lambda:us-east-1:123456789012:function:*".into()];
        p.gateways = gateways.iter().map(|g| g.to_string()).collect();
    })
}

#[test]
fn gateways_fail_closed_and_name_the_field_and_the_rule() {
    let b = on_gateway(); // namespace payments, gatewayRef platform/hooks
    let d = denials(&payments(&[]), &b, "us-east-1");
    assert_eq!(rules(&d), [("gateways", "spec.gatewayRef")], "an empty list allows no gateway");
    assert!(d[0].message.contains("gateway platform/hooks is not allowed; the policy allows no gateway"), "{d:?}");
    assert_eq!(denials(&payments(&["platform/*"]), &b, "us-east-1"), []);
    assert_eq!(denials(&payments(&["platform/hooks"]), &b, "us-east-1"), []);
    let d = denials(&payments(&["platform/other", "{namespace}/*"]), &b, "us-east-1");
    assert_eq!(rules(&d), [("gateways", "spec.gatewayRef")]);
    assert!(d[0].message.contains("allowed: platform/other, {namespace}/*"), "the patterns as written: {d:?}");
    // A bridge without gatewayRef is not governed by `gateways` at all.
    assert_eq!(denials(&payments(&[]), &orders(), "us-east-1"), []);
}

#[test]
fn a_namespace_pattern_allows_only_the_bridges_own_namespace() {
    let mut b = on_gateway();
    let own = payments(&["{namespace}/*"]);
    assert_eq!(rules(&denials(&own, &b, "us-east-1")), [("gateways", "spec.gatewayRef")], "platform is not payments");
    // A gatewayRef without a namespace means the bridge's own.
    b.spec.gateway_ref = Some(crate::api::GatewayRef { name: "hooks".into(), namespace: None });
    assert_eq!(denials(&own, &b, "us-east-1"), []);
    b.spec.gateway_ref = Some(crate::api::GatewayRef { name: "hooks".into(), namespace: Some("payments".into()) });
    assert_eq!(denials(&own, &b, "us-east-1"), []);
    // `{namespace}` is the bridge's namespace, not a wildcard: team-b's gateway stays out of reach,
    // and so does a namespace that merely starts with it.
    for ns in ["team-b", "payments-b"] {
        b.spec.gateway_ref = Some(crate::api::GatewayRef { name: "hooks".into(), namespace: Some(ns.into()) });
        assert_eq!(rules(&denials(&own, &b, "us-east-1")), [("gateways", "spec.gatewayRef")], "{ns}");
    }
    // The whole `namespace/name` must match: a pattern naming only the gateway's name does not.
    b.spec.gateway_ref = Some(crate::api::GatewayRef { name: "hooks".into(), namespace: Some("platform".into()) });
    assert_eq!(rules(&denials(&payments(&["hooks"]), &b, "us-east-1")), [("gateways", "spec.gatewayRef")]);
    assert_eq!(denials(&payments(&["platform/h?oks"]), &b, "us-east-1"), []);
}

#[test]
fn withdrawing_a_gateway_takes_back_every_route_and_rule() {
    let b = on_gateway();
    assert!(!b.spec.routes.is_empty() && !b.spec.rules.is_empty());
    let g = payments(&["platform/other"]);
    let d = denials(&g, &b, "us-east-1");
    let w = crate::withdraw::withdraw(&b, &d, None, None, None);
    assert!(w.bridge.spec.routes.is_empty(), "every route is cut: {:?}", w.bridge.spec.routes);
    assert!(w.bridge.spec.rules.is_empty(), "every rule is cut: {:?}", w.bridge.spec.rules);
    assert_eq!(
        w.bridge.spec.gateway_ref, b.spec.gateway_ref,
        "the reference stays: the gateway's objects are not the bridge's"
    );
    let summary = w.summary();
    assert!(summary.contains("spec.routes[0] (route POST /payments/orders)"), "{summary}");
    assert!(summary.contains("spec.rules[0] (rule create-order and its targets)"), "{summary}");
    assert!(summary.contains("spec.rules[1] (rule cancel-order and its targets)"), "{summary}");
    assert!(summary.contains("still live: spec.gatewayRef (gateway platform/hooks is not allowed"), "{summary}");
}
