use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::api::gateway::{AuthorizerStatus, FromNamespaces, WebhookBridgeGatewayStatus};
use crate::api::{Condition, ResourceRef, WebhookBridgeGateway};
use crate::desired::{self, AwsEnv, RouteScope};
use crate::observed::{ObsApi, ObsIntegration, ObsRoute, Observed};
use crate::owner::Owner;
use crate::plan::{self, Action};

fn gateway() -> WebhookBridgeGateway {
    let mut gw: WebhookBridgeGateway =
        serde_saphyr::from_str(include_str!("../../examples/gateway/gateway.yaml")).expect("example");
    gw.metadata.generation = Some(1);
    gw.metadata.uid = Some("gw-uid".into());
    gw.status = Some(WebhookBridgeGatewayStatus {
        observed_generation: Some(1),
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Ready".into(),
            message: String::new(),
            last_transition_time: None,
            observed_generation: Some(1),
        }],
        api_id: Some("api1".into()),
        api_endpoint: Some("https://api1.execute-api.us-east-1.amazonaws.com".into()),
        stage: Some("live".into()),
        event_bus: Some(ResourceRef {
            name: "platform-gw_hooks-x".into(),
            arn: "arn:aws:events:us-east-1:123456789012:event-bus/platform-gw_hooks-x".into(),
            managed: true,
        }),
        role: Some(ResourceRef {
            name: "whb-x".into(),
            arn: "arn:aws:iam::123456789012:role/webhook-bridge/c1/whb-x".into(),
            managed: true,
        }),
        ..Default::default()
    });
    gw
}

fn bridge(file: &str, uid: &str, created: i64) -> WebhookBridge {
    let text = match file {
        "orders" => include_str!("../../examples/gateway/orders.yaml"),
        _ => include_str!("../../examples/gateway/billing.yaml"),
    };
    let mut b: WebhookBridge = serde_saphyr::from_str(text).expect("example");
    b.metadata.uid = Some(uid.into());
    b.metadata.creation_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::from_second(created).expect("timestamp")));
    b
}

fn env() -> AwsEnv {
    AwsEnv { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() }
}

fn labels(ns: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("webhooks.example.com/gateway".to_string(), "hooks".to_string()), ("x".into(), ns.into())])
}

#[test]
fn the_gateway_accepts_only_the_namespaces_it_selects_and_paths_under_their_prefix() {
    let gw = gateway();
    let orders = bridge("orders", "u1", 10);
    assert!(admission::check(&gw, &orders, Some(&labels("payments"))).is_ok());
    // Unlabelled namespace: refused, naming the gateway's rule.
    let e = admission::check(&gw, &orders, Some(&BTreeMap::new())).expect_err("not selected");
    assert_eq!(e.reason(), "NotAllowedByGateway");
    assert!(e.to_string().contains("platform/hooks") && e.to_string().contains("Selector"), "{e}");
    // Labels unknown (no namespace cache): refused, fail closed.
    assert!(admission::check(&gw, &orders, None).is_err());
    // A path outside /payments/.
    let mut wrong = orders.clone();
    wrong.spec.routes[0].path = "/billing/orders".into();
    let e = admission::check(&gw, &wrong, Some(&labels("payments"))).expect_err("outside prefix");
    assert!(e.to_string().contains("spec.routes[0].path") && e.to_string().contains("/payments/"), "{e}");
    // from: Same takes only the gateway's own namespace.
    let mut same = gw.clone();
    same.spec.allowed_routes.namespaces.from = FromNamespaces::Same;
    same.spec.allowed_routes.namespaces.selector = None;
    assert!(admission::check(&same, &orders, Some(&labels("payments"))).is_err());
}

#[test]
fn a_jwt_route_needs_one_of_the_gateways_authorizers() {
    let gw = gateway();
    let mut orders = bridge("orders", "u1", 10);
    orders.spec.routes[0].authorization.kind = crate::api::AuthorizationType::Jwt;
    orders.spec.routes[0].authorization.issuer = Some("https://id.example.com".into());
    orders.spec.routes[0].authorization.audiences = Some(vec!["hooks".into()]);
    let e = admission::check(&gw, &orders, Some(&labels("payments"))).expect_err("no such authorizer");
    assert!(e.to_string().contains("spec.routes[0].authorization"), "{e}");
    let mut with = gw.clone();
    with.spec.jwt_authorizers.push(crate::api::gateway::JwtAuthorizerSpec {
        issuer: "https://id.example.com".into(),
        audiences: vec!["hooks".into()],
    });
    assert!(admission::check(&with, &orders, Some(&labels("payments"))).is_ok());
}

#[test]
fn of_two_bridges_claiming_a_route_key_the_older_keeps_it() {
    let gw = gateway();
    let older = bridge("orders", "old", 10);
    let mut newer = bridge("orders", "new", 20);
    newer.metadata.name = Some("orders-copy".into());
    newer.spec.routes.push(crate::api::RouteSpec {
        name: "other".into(),
        path: "/payments/other".into(),
        ..newer.spec.routes[0].clone()
    });
    // Order of the input does not matter: creation time decides.
    let (verdicts, capacity) = arbiter::arbitrate(&gw, &[&newer, &older]);
    assert_eq!(verdicts["old"], arbiter::Verdict::default());
    let lost = &verdicts["new"].lost_routes;
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].1, "POST /payments/orders");
    assert_eq!(lost[0].2, "payments/orders");
    assert!(verdicts["new"].conflicts()[0].contains("held by the older bridge payments/orders"));
    // The newer keeps its other route; capacity counts each key once.
    let routes = capacity.iter().find(|q| q.quota == "routesPerApi").expect("routes");
    assert_eq!((routes.used, routes.limit), (2, 300));
    let rules = capacity.iter().find(|q| q.quota == "rulesPerBus").expect("rules");
    assert_eq!((rules.used, rules.limit), (4, 300));
}

#[test]
fn a_bridge_that_would_exceed_a_quota_is_refused_and_takes_no_room() {
    let mut gw = gateway();
    gw.spec.quotas.rules_per_bus = Some(3);
    let first = bridge("orders", "a", 10); // 2 rules
    let second = bridge("orders", "b", 20); // 2 more: 4 > 3
    let mut second = second;
    second.metadata.name = Some("second".into());
    second.spec.routes[0].path = "/payments/second".into();
    let third = bridge("billing", "c", 30); // 1 rule: fits (3 of 3)
    let (verdicts, capacity) = arbiter::arbitrate(&gw, &[&first, &second, &third]);
    assert!(verdicts["a"].over_quota.is_none());
    let why = verdicts["b"].over_quota.as_deref().expect("over quota");
    assert!(why.contains("rules per event bus (3"), "{why}");
    assert!(verdicts["c"].over_quota.is_none(), "a later bridge that fits still gets in");
    let rules = capacity.iter().find(|q| q.quota == "rulesPerBus").expect("rules");
    assert_eq!((rules.used, rules.limit), (3, 3));
    // Routes: integrations (300, fixed) bound a raised routes quota.
    gw.spec.quotas.routes_per_api = Some(1000);
    assert_eq!(gw.spec.quotas.routes(), 300);
}

#[test]
fn an_attached_bridge_wants_only_its_routes_integrations_and_rules() {
    let gw = gateway();
    let att = attachment(&gw, None).expect("ready");
    let orders = bridge("orders", "u1", 10);
    let owner = Owner { cluster: "c1".into(), namespace: "payments".into(), name: "orders".into(), uid: "u1".into() };
    let d = desired::attached(&orders, &owner, &env(), &att);
    assert_eq!(d.scope, RouteScope::Marked);
    assert!(!d.bus.managed && d.bus.arn == att.bus_arn);
    assert_eq!(d.role.arn(), att.role_arn);
    let r = &d.routes[0];
    assert_eq!(r.integration.request_parameters["EventBusName"], att.bus_arn);
    assert_eq!(r.integration.credentials_arn, att.role_arn);
    assert!(owner.marks(Some(&r.integration.description)), "{}", r.integration.description);
    let sibling = Owner { name: "invoices".into(), uid: "u2".into(), ..owner.clone() };
    assert!(!sibling.marks(Some(&r.integration.description)), "a sibling's marker is not ours");
    assert!(d.rules[0].arn.contains(":rule/platform-gw_hooks-x/"), "{}", d.rules[0].arn);

    // From nothing on the gateway's API: exactly the 8 writes of the issue.
    let mut o = Observed {
        apis: vec![ObsApi {
            id: "api1".into(),
            name: String::new(),
            endpoint: None,
            description: None,
            cors: None,
            tags: Default::default(),
            created: 0,
        }],
        ..Default::default()
    };
    o.bus =
        Some(crate::observed::ObsBus { name: d.bus.name.clone(), arn: d.bus.arn.clone(), tags: Default::default() });
    let actions = plan::plan(&d, &o).expect("plan");
    let shown: Vec<String> = actions.iter().map(ToString::to_string).collect();
    assert_eq!(actions.len(), 8, "{shown:#?}");
    assert!(
        !actions.iter().any(|a| matches!(
            a,
            Action::CreateApi { .. }
                | Action::CreateStage { .. }
                | Action::CreateBus { .. }
                | Action::CreateRole { .. }
                | Action::UpdateApi { .. }
                | Action::UpdateStage { .. }
        )),
        "{shown:#?}"
    );

    // A sibling's route on the same key: held, retryable, no write.
    o.foreign_route_keys.insert("POST /payments/orders".into());
    let e = plan::plan(&d, &o).expect_err("held");
    assert!(e.is_retryable() && e.reason() == "RouteConflict", "{e}");
    o.foreign_route_keys.clear();

    // Delete: our route, then our integration; never the API, bus or role.
    o.integrations = vec![ObsIntegration {
        id: "i1".into(),
        description: Some(r.integration.description.clone()),
        integration_type: None,
        subtype: None,
        request_parameters: Default::default(),
        credentials_arn: None,
        payload_format_version: None,
        timeout_ms: None,
    }];
    o.routes = vec![ObsRoute {
        id: "r1".into(),
        route_key: r.route_key.clone(),
        target: Some("integrations/i1".into()),
        authorization_type: None,
        authorizer_id: None,
        scopes: Vec::new(),
        operation_name: Some("webhook".into()),
    }];
    let delete = plan::plan_delete(&d, &o);
    assert_eq!(delete[0], Action::DeleteRoute { id: "r1".into(), key: r.route_key.clone() });
    assert_eq!(delete[1], Action::DeleteIntegration { id: "i1".into() });
    assert!(
        !delete
            .iter()
            .any(|a| matches!(a, Action::DeleteApi { .. } | Action::DeleteBus { .. } | Action::DeleteRole { .. }))
    );
}

#[test]
fn a_gateway_wants_its_api_stage_bus_and_role_and_no_routes() {
    let gw = gateway();
    let shape = as_bridge(&gw);
    assert_eq!(shape.metadata.name.as_deref(), Some("gw_hooks"), "never a bridge's owner name");
    let owner =
        Owner { cluster: "c1".into(), namespace: "platform".into(), name: "gw_hooks".into(), uid: "gw-uid".into() };
    let d = desired::gateway(&gw, &owner, &env());
    assert_eq!(d.scope, RouteScope::NoRoutes);
    assert!(d.routes.is_empty() && d.rules.is_empty());
    let actions = plan::plan(&d, &Observed::default()).expect("plan");
    let shown: Vec<String> = actions.iter().map(ToString::to_string).collect();
    assert!(shown.iter().any(|a| a.starts_with("create  apigateway api")), "{shown:#?}");
    assert!(shown.iter().any(|a| a.starts_with("create  eventbridge bus")), "{shown:#?}");
    assert!(shown.iter().any(|a| a.starts_with("create  iam role")), "{shown:#?}");
    assert!(!shown.iter().any(|a| a.contains("route") || a.contains("integration")), "{shown:#?}");
}

#[test]
fn a_gateway_without_status_is_not_ready() {
    let mut gw = gateway();
    gw.status = None;
    let e = attachment(&gw, None).expect_err("not ready");
    assert!(e.is_retryable() && e.reason() == "GatewayNotReady", "{e}");
    let mut stale = gateway();
    stale.metadata.generation = Some(2);
    assert!(attachment(&stale, None).is_err(), "Ready at an older generation is not ready");
    let mut with_auth = gateway();
    if let Some(s) = with_auth.status.as_mut() {
        s.authorizers.push(AuthorizerStatus { name: "whb-jwt-x".into(), id: "au1".into(), issuer: "https://i".into() });
    }
    assert_eq!(attachment(&with_auth, None).expect("ready").authorizers["whb-jwt-x"], "au1");
}

#[test]
fn a_policy_denial_on_the_gateway_names_the_gateways_field() {
    assert_eq!(gateway_field("spec.routes[2].authorization.issuer"), "spec.jwtAuthorizers[2].issuer");
    assert_eq!(gateway_field("spec.domain.name"), "spec.domain.name");
}
