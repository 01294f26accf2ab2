//! Pure tests of the planner: no AWS, no I/O. `mirror` builds the observed state AWS holds once
//! a desired state has been applied, so each test states only the difference it is about.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::api::WebhookBridge;
use crate::desired::{
    AwsEnv, DesiredRole, INTEGRATION_SUBTYPE, INTEGRATION_TIMEOUT_MS, PAYLOAD_FORMAT_VERSION, desired,
};
use crate::observed::{
    ObsApi, ObsArchive, ObsAuthorizer, ObsBus, ObsDomain, ObsIntegration, ObsLogGroup, ObsMapping, ObsPermission,
    ObsRole, ObsRoute, ObsRule, ObsStage,
};
use crate::owner::{Owner, TAG_UID};

pub(super) fn env() -> AwsEnv {
    AwsEnv { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() }
}

pub(super) fn owner() -> Owner {
    Owner { cluster: "c1".into(), namespace: "default".into(), name: "orders".into(), uid: "u1".into() }
}

pub(super) fn bridge(yaml: &str) -> WebhookBridge {
    serde_saphyr::from_str(yaml).expect("example parses")
}

pub(super) fn orders() -> WebhookBridge {
    bridge(include_str!("../../examples/orders.yaml"))
}

pub(super) fn d_of(b: &WebhookBridge) -> Desired {
    desired(b, &owner(), &env())
}

/// What AWS holds after `d` was applied.
pub(super) fn mirror(d: &Desired) -> Observed {
    let tags = d.tags.clone();
    Observed {
        apis: vec![ObsApi {
            id: "api1".into(),
            name: d.api.name.clone(),
            endpoint: Some("https://api1.execute-api.us-east-1.amazonaws.com".into()),
            description: Some(d.api.description.clone()),
            cors: d.api.cors.clone(),
            tags: tags.clone(),
            created: 1,
        }],
        stages: vec![ObsStage {
            name: d.stage.name.clone(),
            auto_deploy: true,
            throttling: d.stage.throttling,
            access_log: d.logs.settings(),
            tags: tags.clone(),
        }],
        authorizers: d
            .authorizers
            .iter()
            .map(|a| ObsAuthorizer {
                id: format!("auth-{}", a.name),
                name: a.name.clone(),
                issuer: Some(a.issuer.clone()),
                audiences: a.audiences.clone(),
            })
            .collect(),
        integrations: d
            .routes
            .iter()
            .map(|r| ObsIntegration {
                id: format!("int-{}", r.name),
                description: Some(r.integration.description.clone()),
                integration_type: Some("AWS_PROXY".into()),
                subtype: Some(INTEGRATION_SUBTYPE.into()),
                request_parameters: r.integration.request_parameters.clone(),
                credentials_arn: Some(r.integration.credentials_arn.clone()),
                payload_format_version: Some(PAYLOAD_FORMAT_VERSION.into()),
                timeout_ms: Some(INTEGRATION_TIMEOUT_MS),
            })
            .collect(),
        routes: d
            .routes
            .iter()
            .map(|r| ObsRoute {
                id: format!("route-{}", r.name),
                route_key: r.route_key.clone(),
                target: Some(format!("integrations/int-{}", r.name)),
                authorization_type: Some(r.authorization_type.as_str().into()),
                authorizer_id: r.authorizer.as_ref().map(|a| format!("auth-{a}")),
                scopes: r.scopes.clone(),
                operation_name: Some(r.name.clone()),
            })
            .collect(),
        bus: Some(ObsBus {
            name: d.bus.name.clone(),
            arn: d.bus.arn.clone(),
            tags: if d.bus.managed { tags.clone() } else { BTreeMap::new() },
        }),
        rules: d
            .rules
            .iter()
            .map(|r| ObsRule {
                name: r.name.clone(),
                arn: r.arn.clone(),
                pattern: Some(r.pattern.clone()),
                enabled: r.enabled,
                description: r.description.clone(),
                tags: tags.clone(),
                targets: r.targets.clone(),
            })
            .collect(),
        role: match &d.role {
            DesiredRole::Managed { name, arn, trust_policy, policy, permissions_boundary } => Some(ObsRole {
                name: name.clone(),
                arn: arn.clone(),
                trust_policy: Some(trust_policy.clone()),
                policy: Some(policy.clone()),
                permissions_boundary: permissions_boundary.clone(),
                tags: tags.clone(),
            }),
            DesiredRole::Existing { .. } => None,
        },
        permissions: d
            .permissions()
            .into_iter()
            .map(|p| ObsPermission {
                function_arn: p.function_arn,
                statement_id: p.statement_id,
                source_arn: Some(p.source_arn),
            })
            .collect(),
        domains: d
            .domain
            .iter()
            .map(|w| ObsDomain {
                name: w.name.clone(),
                certificate_arn: Some(w.certificate_arn.clone()),
                endpoint_type: Some(ENDPOINT_TYPE.into()),
                security_policy: Some(SECURITY_POLICY.into()),
                target_domain_name: Some("d-abc.execute-api.us-east-1.amazonaws.com".into()),
                hosted_zone_id: Some("Z1UJRXOUMOOFQ8".into()),
                tags: tags.clone(),
                mappings: vec![ObsMapping {
                    id: "map1".into(),
                    api_id: "api1".into(),
                    stage: d.stage.name.clone(),
                    key: w.base_path.clone(),
                }],
            })
            .collect(),
        log_group: d.logs.enabled.then(|| ObsLogGroup {
            name: d.logs.group_name.clone(),
            retention_days: Some(d.logs.retention_days),
            tags: tags.clone(),
        }),
        archive: d.archive.as_ref().map(|a| ObsArchive {
            name: a.name.clone(),
            arn: a.arn.clone(),
            source_arn: d.bus.arn.clone(),
            description: Some(a.description.clone()),
            pattern: a.pattern.clone(),
            retention_days: a.retention_days,
            state: Some("ENABLED".into()),
        }),
        foreign_route_keys: Default::default(),
        v2: Default::default(),
    }
}

pub(super) fn names(actions: &[Action]) -> Vec<String> {
    actions.iter().map(|a| a.to_string().split_whitespace().take(3).collect::<Vec<_>>().join(" ")).collect()
}

#[test]
fn from_nothing_the_canonical_bridge_is_one_write_per_object_in_dependency_order() {
    let d = d_of(&orders());
    let actions = plan(&d, &Observed::default()).expect("plan");
    assert_eq!(
        names(&actions),
        [
            "create iam role",
            "put iam role",
            "create eventbridge bus",
            "create eventbridge rule",
            "add lambda permission",
            "put eventbridge rule",
            "create eventbridge rule",
            "add lambda permission",
            "put eventbridge rule",
            "create apigateway api",
            "create apigateway stage",
            "create apigateway integration",
            "create apigateway route",
        ]
    );
}

#[test]
fn every_example_in_sync_plans_nothing() {
    for (name, yaml) in [
        ("orders", include_str!("../../examples/orders.yaml")),
        ("jwt", include_str!("../../examples/jwt.yaml")),
        ("existing-bus", include_str!("../../examples/existing-bus.yaml")),
        ("multi-route", include_str!("../../examples/multi-route.yaml")),
    ] {
        let d = d_of(&bridge(yaml));
        assert_eq!(plan(&d, &mirror(&d)).expect(name), vec![], "{name}");
    }
}

#[test]
fn a_removed_route_deletes_its_route_then_its_integration() {
    let mut b = bridge(include_str!("../../examples/multi-route.yaml"));
    let before = mirror(&d_of(&b));
    b.spec.routes.retain(|r| r.name != "adyen");
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert_eq!(
        actions,
        [
            Action::DeleteRoute { id: "route-adyen".into(), key: "POST /adyen".into() },
            Action::DeleteIntegration { id: "int-adyen".into() },
        ]
    );
}

#[test]
fn a_changed_path_updates_the_route_in_place() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.routes[0].path = "/hooks/orders".into();
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert_eq!(actions, [Action::UpdateRoute { id: "route-webhook".into(), route: "webhook".into() }]);
}

#[test]
fn swapped_route_keys_are_two_updates_not_a_conflict() {
    let mut b = bridge(include_str!("../../examples/multi-route.yaml"));
    let before = mirror(&d_of(&b));
    b.spec.routes[0].path = "/adyen".into();
    b.spec.routes[1].path = "/stripe".into();
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert!(actions.iter().all(|a| matches!(a, Action::UpdateRoute { .. })), "{actions:?}");
    assert_eq!(actions.len(), 2);
}

#[test]
fn a_changed_mapping_updates_the_integration_only() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.routes[0].event.source = "$request.header.X-Source".into();
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert_eq!(actions, [Action::UpdateIntegration { id: "int-webhook".into(), route: "webhook".into() }]);
}

#[test]
fn a_dropped_mapping_replaces_the_integration_then_deletes_the_old_one() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.routes[0].event.time = None;
    let actions = plan(&d_of(&b), &before).expect("plan");
    // An update would merge and leave Time live; an empty value is not a valid mapping.
    assert_eq!(
        actions,
        [
            Action::CreateIntegration { route: "webhook".into() },
            Action::UpdateRoute { id: "route-webhook".into(), route: "webhook".into() },
            Action::DeleteIntegration { id: "int-webhook".into() },
        ]
    );
    // Killed after the create: the re-run keeps the new integration, repoints, deletes the old.
    let mut after_create = before.clone();
    let mut fresh = before.integrations[0].clone();
    fresh.id = "int-new".into();
    fresh.request_parameters.remove("Time");
    after_create.integrations.push(fresh);
    let actions = plan(&d_of(&b), &after_create).expect("plan");
    assert_eq!(
        actions,
        [
            Action::UpdateRoute { id: "route-webhook".into(), route: "webhook".into() },
            Action::DeleteIntegration { id: "int-webhook".into() },
        ]
    );
}

#[test]
fn a_replaced_lambda_target_is_added_before_the_old_one_is_removed() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.rules[0].targets[0].arn = "arn:aws:lambda:us-east-1:123456789012:function:auditOrder".into();
    let d = d_of(&b);
    let actions = plan(&d, &before).expect("plan");
    assert_eq!(
        names(&actions),
        ["add lambda permission", "put eventbridge rule", "remove lambda permission", "remove eventbridge rule"]
    );
    assert!(
        matches!(&actions[2], Action::RemovePermission { function_arn, .. } if function_arn.ends_with(":createOrder"))
    );
}

#[test]
fn a_changed_pattern_is_one_put_rule() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.rules[1].pattern.insert("detail-type".into(), json!(["cancel", "cancelled"]));
    let d = d_of(&b);
    let actions = plan(&d, &before).expect("plan");
    assert_eq!(actions, [Action::PutRule { name: d.rules[1].name.clone(), create: false }]);
}

#[test]
fn a_removed_rule_loses_permissions_then_targets_then_the_rule_and_survives_a_kill_at_each() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.rules.remove(1);
    let d = d_of(&b);
    let actions = plan(&d, &before).expect("plan");
    assert_eq!(names(&actions), ["remove lambda permission", "remove eventbridge rule", "delete eventbridge rule"]);

    // Killed after RemovePermission: the rule still targets the function, so a re-run finds it
    // and finishes. (In the old order, a kill after RemoveTargets left the statement for good:
    // with no target left, nothing led the next run to the function.)
    let mut after_permission = before.clone();
    after_permission.permissions.retain(|p| !p.function_arn.ends_with(":cancelOrder"));
    assert_eq!(
        names(&plan(&d, &after_permission).expect("plan")),
        ["remove eventbridge rule", "delete eventbridge rule"]
    );
    // Killed after RemoveTargets: only the rule is left.
    let mut after_targets = after_permission.clone();
    let dropped = before.rules.iter().find(|r| !d.rules.iter().any(|w| w.name == r.name)).expect("dropped rule");
    after_targets.rules.iter_mut().filter(|r| r.name == dropped.name).for_each(|r| r.targets.clear());
    assert_eq!(names(&plan(&d, &after_targets).expect("plan")), ["delete eventbridge rule"]);
}

#[test]
fn objects_that_are_not_ours_are_conflicts_naming_the_field() {
    let d = d_of(&orders());
    let mut o = mirror(&d);
    o.role.as_mut().expect("role").tags.clear();
    let err = plan(&d, &o).expect_err("foreign role");
    assert!(matches!(&err, Error::Conflict(f) if f.field == "spec.role"), "{err}");

    let mut o = mirror(&d);
    o.bus.as_mut().expect("bus").tags.insert(TAG_UID.into(), "an-older-uid".into());
    let err = plan(&d, &o).expect_err("previous incarnation's bus");
    assert!(matches!(&err, Error::Conflict(f) if f.field == "spec.eventBus.name"), "{err}");

    let mut o = mirror(&d);
    o.rules[0].tags.clear();
    let err = plan(&d, &o).expect_err("foreign rule");
    assert!(matches!(&err, Error::Conflict(f) if f.field == "spec.rules[0].name"), "{err}");
}

#[test]
fn a_missing_existing_bus_is_a_retryable_dependency() {
    let d = d_of(&bridge(include_str!("../../examples/existing-bus.yaml")));
    let mut o = mirror(&d);
    o.bus = None;
    let err = plan(&d, &o).expect_err("missing");
    assert!(matches!(&err, Error::DependencyMissing(f) if f.field == "spec.eventBus.existingArn"));
    assert!(err.is_retryable());
}

#[test]
fn duplicates_from_interrupted_creates_collapse_to_one() {
    let d = d_of(&orders());
    let mut o = mirror(&d);
    let mut newer = o.apis[0].clone();
    newer.id = "api2".into();
    newer.created = 2;
    o.apis.push(newer);
    // An integration created twice for the same route; the route points at the second.
    let mut dup = o.integrations[0].clone();
    dup.id = "int-dup".into();
    o.integrations.insert(0, dup);
    let actions = plan(&d, &o).expect("plan");
    assert_eq!(actions, [Action::DeleteIntegration { id: "int-dup".into() }, Action::DeleteApi { id: "api2".into() }]);
}

#[test]
fn an_integration_left_without_its_route_is_reused_not_duplicated() {
    let d = d_of(&orders());
    let mut o = mirror(&d);
    o.routes.clear();
    let actions = plan(&d, &o).expect("plan");
    assert_eq!(actions, [Action::CreateRoute { route: "webhook".into() }]);
}

#[test]
fn switching_to_an_existing_role_removes_the_managed_one_last() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.role.existing_arn = Some("arn:aws:iam::123456789012:role/mine".into());
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert_eq!(names(&actions).last().map(String::as_str), Some("delete iam role"));
    assert!(actions.iter().any(|a| matches!(a, Action::UpdateIntegration { .. })), "integration now uses the new role");
    let update = actions.iter().position(|a| matches!(a, Action::UpdateIntegration { .. }));
    let delete = actions.iter().position(|a| matches!(a, Action::DeleteRole { .. }));
    assert!(update < delete);
}

#[test]
fn jwt_changes_update_the_authorizer_and_dropping_jwt_detaches_then_deletes_it() {
    let mut b = bridge(include_str!("../../examples/jwt.yaml"));
    let before = mirror(&d_of(&b));
    b.spec.routes[0].authorization.scopes = Some(vec!["events:admin".into()]);
    assert_eq!(
        plan(&d_of(&b), &before).expect("plan"),
        [Action::UpdateRoute { id: "route-partner".into(), route: "partner".into() }]
    );

    let mut b = bridge(include_str!("../../examples/jwt.yaml"));
    b.spec.routes[0].authorization = Default::default();
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert_eq!(names(&actions), ["update apigateway route", "delete apigateway authorizer"]);
}

#[test]
fn duplicate_authorizers_collapse_to_the_one_routes_use() {
    let d = d_of(&bridge(include_str!("../../examples/jwt.yaml")));
    let mut o = mirror(&d);
    // A CreateAuthorizer retried after its answer was lost: a second one of the same name,
    // listed first; the route points at the original.
    let mut dup = o.authorizers[0].clone();
    dup.id = "auth-dup".into();
    o.authorizers.insert(0, dup);
    assert_eq!(plan(&d, &o).expect("plan"), [Action::DeleteAuthorizer { id: "auth-dup".into() }]);

    // A route pointing at the duplicate keeps it; the other goes once nothing uses it.
    o.routes[0].authorizer_id = Some("auth-dup".into());
    let original = o.authorizers[1].id.clone();
    assert_eq!(plan(&d, &o).expect("plan"), [Action::DeleteAuthorizer { id: original }]);

    // No route points at either (the route was being created): the first listed is kept and
    // the route is pointed at it before the other is deleted.
    o.routes[0].authorizer_id = None;
    let actions = plan(&d, &o).expect("plan");
    assert_eq!(names(&actions), ["update apigateway route", "delete apigateway authorizer"]);
    assert!(matches!(&actions[1], Action::DeleteAuthorizer { id } if id != "auth-dup"));
}

#[test]
fn missing_tags_are_added_without_touching_anything_else() {
    let mut b = orders();
    let before = mirror(&d_of(&b));
    b.spec.tags.insert("env".into(), "prod".into());
    let actions = plan(&d_of(&b), &before).expect("plan");
    assert_eq!(
        names(&actions),
        [
            "tag iam role",
            "tag eventbridge bus",
            "tag eventbridge rule",
            "tag eventbridge rule",
            "tag apigateway api",
            "tag apigateway stage"
        ]
    );
}

#[test]
fn delete_removes_only_what_is_ours_in_dependency_order() {
    let d = d_of(&orders());
    let mut o = mirror(&d);
    // A rule with our prefix but someone else's tags is left alone.
    let mut foreign = o.rules[0].clone();
    foreign.name = format!("{}theirs", owner().rule_prefix());
    foreign.tags = BTreeMap::new();
    o.rules.push(foreign);
    let actions = plan_delete(&d, &o);
    assert_eq!(
        names(&actions),
        [
            "delete apigateway api",
            "remove lambda permission",
            "remove lambda permission",
            "remove eventbridge rule",
            "remove eventbridge rule",
            "delete eventbridge rule",
            "delete eventbridge rule",
            "delete eventbridge bus",
            "delete iam role",
            "delete iam role",
        ]
    );
    assert!(!actions.iter().any(|a| a.to_string().contains("theirs")));
}

#[test]
fn delete_never_touches_an_existing_bus_or_role() {
    let mut b = bridge(include_str!("../../examples/existing-bus.yaml"));
    b.spec.role.existing_arn = Some("arn:aws:iam::123456789012:role/mine".into());
    let d = d_of(&b);
    let actions = plan_delete(&d, &mirror(&d));
    assert!(!actions.iter().any(|a| matches!(a, Action::DeleteBus { .. } | Action::DeleteRole { .. })), "{actions:?}");
}
