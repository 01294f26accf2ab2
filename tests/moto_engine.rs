//! The engine against a real local AWS emulator (moto): the seed's CloudFormation shape, zero
//! writes in sync, convergence and garbage collection, delete, Retain, existing buses, conflicts
//! and crash-safety (an abort after every single write, then a re-run).

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::error::Error;
use webhook_bridge::plan::Action;

const CLUSTER: &str = "test-cluster";

fn orders() -> WebhookBridge {
    with_uid(example("orders.yaml"), "uid-orders-1")
}

fn writes(engine: &webhook_bridge::engine::Engine) -> BTreeMap<String, u64> {
    engine.aws.counter.writes_by_operation()
}

/// ARNs of the targets of a rule on the canonical bus.
async fn target_arns(c: &webhook_bridge::aws::Clients, rule: &str) -> Vec<String> {
    let out =
        c.events.list_targets_by_rule().rule(rule).event_bus_name("custom-events-dev").send().await.expect("targets");
    out.targets().iter().map(|t| t.arn().to_string()).collect()
}

fn policy(text: Option<&str>) -> Value {
    webhook_bridge::aws::iam::parse_policy(text.unwrap_or_default()).expect("policy document")
}

/// The writes that create the orders example from scratch: one per object.
fn seed_writes() -> BTreeMap<String, u64> {
    counts(&[
        ("AddPermission", 2),
        ("CreateApi", 1),
        ("CreateEventBus", 1),
        ("CreateIntegration", 1),
        ("CreateRole", 1),
        ("CreateRoute", 1),
        ("CreateStage", 1),
        ("PutRolePolicy", 1),
        ("PutRule", 2),
        ("PutTargets", 2),
    ])
}

#[tokio::test]
async fn creates_the_seed_shape_from_scratch_with_one_write_per_object() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();

    let outcome = engine.reconcile(&bridge).await.expect("reconcile");

    assert_eq!(writes(&engine), seed_writes(), "first apply writes");

    let c = moto.clients().await;
    let owner = engine.owner(&bridge);
    let api_id = outcome.status.api_id.clone().expect("api id");

    // API: HTTP, tagged with ownership + user tags.
    let api = c.apigateway.get_api().api_id(&api_id).send().await.expect("GetApi");
    assert_eq!(api.protocol_type().map(|p| p.as_str()), Some("HTTP"));
    let tags = api.tags().expect("tags");
    assert_eq!(tags.get("webhookbridge.io/owner").map(String::as_str), Some("default/orders"));
    assert_eq!(tags.get("webhookbridge.io/cluster").map(String::as_str), Some(CLUSTER));
    assert_eq!(tags.get("webhookbridge.io/uid").map(String::as_str), Some("uid-orders-1"));
    assert_eq!(tags.get("team").map(String::as_str), Some("payments"));

    // Stage: dev, AutoDeploy.
    let stage = c.apigateway.get_stage().api_id(&api_id).stage_name("dev").send().await.expect("GetStage");
    assert_eq!(stage.auto_deploy(), Some(true));

    // Route → integration.
    let routes = c.apigateway.get_routes().api_id(&api_id).send().await.expect("GetRoutes");
    assert_eq!(routes.items().len(), 1);
    let route = &routes.items()[0];
    assert_eq!(route.route_key(), Some("POST /api/webhook"));
    let integration_id = route.target().and_then(|t| t.strip_prefix("integrations/")).expect("target");
    let integration = c
        .apigateway
        .get_integration()
        .api_id(&api_id)
        .integration_id(integration_id)
        .send()
        .await
        .expect("GetIntegration");
    assert_eq!(integration.integration_type().map(|t| t.as_str()), Some("AWS_PROXY"));
    assert_eq!(integration.integration_subtype(), Some("EventBridge-PutEvents"));
    assert_eq!(integration.payload_format_version(), Some("1.0"));
    assert_eq!(integration.timeout_in_millis(), Some(10_000));
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/webhook-bridge/{CLUSTER}/{}", owner.role_name());
    assert_eq!(integration.credentials_arn(), Some(role_arn.as_str()));
    let bus_arn = format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/custom-events-dev");
    let params: BTreeMap<&str, &str> =
        integration.request_parameters().expect("params").iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        params,
        BTreeMap::from([
            ("Source", "source.events"),
            ("DetailType", "$request.body.event_type"),
            ("Detail", "$request.body"),
            ("Time", "$request.body.event_time"),
            ("EventBusName", bus_arn.as_str()),
        ])
    );

    // Bus, tagged.
    let bus = c.events.describe_event_bus().name("custom-events-dev").send().await.expect("bus");
    assert_eq!(bus.arn(), Some(bus_arn.as_str()));

    // Role: trusts API Gateway in the form AWS documents (no condition); may PutEvents on exactly this bus.
    let role = c.iam.get_role().role_name(owner.role_name()).send().await.expect("role").role.expect("role");
    assert_eq!(role.path(), format!("/webhook-bridge/{CLUSTER}/"));
    assert_eq!(
        policy(role.assume_role_policy_document()),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    );
    let inline = c
        .iam
        .get_role_policy()
        .role_name(owner.role_name())
        .policy_name("webhook-bridge-put-events")
        .send()
        .await
        .expect("inline policy");
    assert_eq!(
        policy(Some(inline.policy_document())),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn}]})
    );

    // Rules, patterns and Lambda targets with invoke permissions scoped to the rule.
    let rules = c.events.list_rules().event_bus_name("custom-events-dev").send().await.expect("rules");
    let create =
        rules.rules().iter().find(|r| r.name() == Some(owner.rule_name("create-order").as_str())).expect("rule");
    assert_eq!(
        serde_json::from_str::<Value>(create.event_pattern().unwrap_or_default()).expect("pattern"),
        json!({"source": ["source.events"], "detail-type": ["create"]})
    );
    let targets = target_arns(&c, &owner.rule_name("create-order")).await;
    assert_eq!(targets, [lambda_arn("createOrder")]);
    let lambda_policy = c.lambda.get_policy().function_name("createOrder").send().await.expect("policy");
    let doc: Value = serde_json::from_str(lambda_policy.policy().unwrap_or_default()).expect("json");
    let statement = &doc["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Condition"]["ArnLike"]["AWS:SourceArn"], create.arn().unwrap_or_default());

    // Status.
    let url = outcome.status.routes[0].url.clone().expect("url");
    assert_eq!(url, format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/dev/api/webhook"));
    assert_eq!(inventory(&c).await, canonical_inventory(&owner.role_name(), &owner.rule_prefix()));
}

#[tokio::test]
async fn reapply_in_sync_makes_zero_writes() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();
    engine.reconcile(&bridge).await.expect("first");
    engine.aws.counter.reset();

    let again = engine.reconcile(&bridge).await.expect("second");

    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert_eq!(engine.aws.counter.writes(), 0, "{}", engine.aws.counter.table());
    assert!(engine.aws.counter.reads() > 0);
}

#[tokio::test]
async fn spec_changes_converge_in_place_and_gc_what_is_gone() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder", "auditOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let mut bridge = orders();
    engine.reconcile(&bridge).await.expect("create");
    let c = moto.clients().await;
    let owner = engine.owner(&bridge);

    // Change the mapping, the path, add a route, change a rule pattern, swap a target, drop a rule.
    bridge.spec.routes[0].event.detail_type = "$request.header.X-Event-Type".into();
    bridge.spec.routes[0].path = "/hooks/orders".into();
    let mut second = bridge.spec.routes[0].clone();
    second.name = "refunds".into();
    second.path = "/hooks/refunds".into();
    bridge.spec.routes.push(second);
    bridge.spec.rules[0].pattern.insert("detail-type".into(), json!(["create", "created"]));
    bridge.spec.rules[0].targets[0].arn = lambda_arn("auditOrder");
    bridge.spec.rules.remove(1);
    engine.aws.counter.reset();
    let outcome = engine.reconcile(&bridge).await.expect("update");

    let w = writes(&engine);
    assert_eq!(w.get("UpdateIntegration"), Some(&1), "{w:?}");
    assert_eq!(w.get("UpdateRoute"), Some(&1), "path change is an in-place update: {w:?}");
    assert_eq!(w.get("CreateRoute"), Some(&1), "{w:?}");
    assert_eq!(w.get("CreateApi"), None, "{w:?}");
    assert_eq!(w.get("DeleteRule"), Some(&1), "{w:?}");
    assert_eq!(w.get("PutRule"), Some(&1), "{w:?}");
    assert!(outcome.actions.iter().any(|a| matches!(a, Action::RemovePermission { .. })));

    let inv = inventory(&c).await;
    assert_eq!(inv.routes, vec!["POST /hooks/orders".to_string(), "POST /hooks/refunds".to_string()]);
    assert_eq!(inv.integrations, 2);
    assert_eq!(inv.rules, vec![owner.rule_name("create-order")]);
    assert_eq!(inv.targets, 1);
    assert_eq!(inv.permissions, 1, "old createOrder and cancelOrder permissions are removed");
    let targets = target_arns(&c, &owner.rule_name("create-order")).await;
    assert_eq!(targets, [lambda_arn("auditOrder")]);

    // And now in sync again.
    engine.aws.counter.reset();
    assert!(engine.reconcile(&bridge).await.expect("again").actions.is_empty());
    assert_eq!(engine.aws.counter.writes(), 0, "{}", engine.aws.counter.table());

    // Removing a route garbage-collects its route and integration.
    bridge.spec.routes.remove(1);
    engine.reconcile(&bridge).await.expect("shrink");
    let inv = inventory(&c).await;
    assert_eq!(inv.routes, vec!["POST /hooks/orders".to_string()]);
    assert_eq!(inv.integrations, 1);
}

#[tokio::test]
async fn drift_made_behind_our_back_is_restored() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();
    let outcome = engine.reconcile(&bridge).await.expect("create");
    let c = moto.clients().await;
    let owner = engine.owner(&bridge);
    let api_id = outcome.status.api_id.expect("api");

    // Someone deletes the route in the console and edits a rule pattern.
    let route_id = outcome.status.routes[0].route_id.clone().expect("route id");
    c.apigateway.delete_route().api_id(&api_id).route_id(route_id).send().await.expect("delete route");
    c.events
        .put_rule()
        .name(owner.rule_name("cancel-order"))
        .event_bus_name("custom-events-dev")
        .event_pattern(r#"{"source":["evil"]}"#)
        .send()
        .await
        .expect("edit rule");

    engine.aws.counter.reset();
    engine.reconcile(&bridge).await.expect("heal");
    let w = writes(&engine);
    assert_eq!(w, BTreeMap::from([("CreateRoute".to_string(), 1), ("PutRule".to_string(), 1)]));
    assert_eq!(inventory(&c).await, canonical_inventory(&owner.role_name(), &owner.rule_prefix()));
}

#[tokio::test]
async fn delete_leaves_no_object_with_our_tags() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();
    engine.reconcile(&bridge).await.expect("create");

    let actions = engine.delete(&bridge).await.expect("delete");
    assert!(actions.iter().any(|a| matches!(a, Action::DeleteBus { .. })));
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default());

    // Deleting again is a no-op.
    engine.aws.counter.reset();
    assert!(engine.delete(&bridge).await.expect("again").is_empty());
    assert_eq!(engine.aws.counter.writes(), 0);
}

#[tokio::test]
async fn retain_leaves_aws_untouched() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let mut bridge = orders();
    bridge.spec.deletion_policy = webhook_bridge::api::DeletionPolicy::Retain;
    engine.reconcile(&bridge).await.expect("create");
    let c = moto.clients().await;
    let before = inventory(&c).await;

    engine.aws.counter.reset();
    assert!(engine.delete(&bridge).await.expect("delete").is_empty());
    assert!(
        engine.aws.counter.snapshot().is_empty(),
        "Retain needs no AWS call at all: {}",
        engine.aws.counter.table()
    );
    assert_eq!(inventory(&c).await, before);
}

#[tokio::test]
async fn an_existing_bus_is_referenced_and_never_deleted() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let c = moto.clients().await;
    c.events.create_event_bus().name("shared").send().await.expect("create shared bus");
    let engine = moto.engine(CLUSTER).await;
    let mut bridge = orders();
    bridge.spec.event_bus.name = None;
    bridge.spec.event_bus.existing_arn = Some(format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/shared"));

    engine.reconcile(&bridge).await.expect("create");
    let w = writes(&engine);
    assert_eq!(w.get("CreateEventBus"), None);
    assert_eq!(w.get("PutRule"), Some(&2));
    assert_eq!(w.get("TagResource"), None, "the shared bus is not ours to tag");

    engine.delete(&bridge).await.expect("delete");
    assert!(c.events.describe_event_bus().name("shared").send().await.is_ok(), "shared bus survives");
    let rules = c.events.list_rules().event_bus_name("shared").send().await.expect("rules");
    assert!(rules.rules().is_empty(), "our rules on it are gone");
    assert_eq!(inventory(&c).await, Inventory::default());
}

#[tokio::test]
async fn a_bus_name_taken_by_someone_else_is_a_conflict_with_zero_writes() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let c = moto.clients().await;
    c.events.create_event_bus().name("custom-events-dev").send().await.expect("foreign bus");
    let engine = moto.engine(CLUSTER).await;

    let err = engine.reconcile(&orders()).await.expect_err("conflict");

    assert!(matches!(&err, Error::Conflict(f) if f.field == "spec.eventBus.name"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(engine.aws.counter.writes(), 0);
    // And deleting the bridge does not delete someone else's bus.
    engine.delete(&orders()).await.expect("delete");
    assert!(c.events.describe_event_bus().name("custom-events-dev").send().await.is_ok());
}

#[tokio::test]
async fn two_clusters_sharing_an_account_never_touch_each_others_objects() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let a = moto.engine("cluster-a").await;
    let b = moto.engine("cluster-b").await;
    let mut in_b = orders();
    in_b.spec.event_bus.name = Some("custom-events-b".into());

    a.reconcile(&orders()).await.expect("a");
    b.reconcile(&in_b).await.expect("b");
    b.delete(&in_b).await.expect("delete b");

    let c = moto.clients().await;
    let owner_a = a.owner(&orders());
    assert_eq!(inventory(&c).await, canonical_inventory(&owner_a.role_name(), &owner_a.rule_prefix()));
}

#[tokio::test]
async fn an_abort_after_any_write_then_a_rerun_leaves_exactly_one_of_each() {
    let moto = Moto::start();
    let bridge = orders();
    let total = 13;
    for k in 0..total {
        moto.reset();
        moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
        let mut engine = moto.engine(CLUSTER).await;
        engine.abort_after_writes = Some(k + 1);
        let err = engine.reconcile(&bridge).await.expect_err("aborted run");
        assert!(matches!(err, Error::Injected(n) if n == k + 1), "run {k}: {err}");

        engine.abort_after_writes = None;
        engine.aws.counter.reset();
        engine.reconcile(&bridge).await.unwrap_or_else(|e| panic!("re-run after {} writes: {e}", k + 1));
        assert_eq!(
            engine.aws.counter.writes() as usize,
            total - (k + 1),
            "re-run after {} writes does only the rest: {:?}",
            k + 1,
            writes(&engine)
        );
        let owner = engine.owner(&bridge);
        assert_eq!(
            inventory(&moto.clients().await).await,
            canonical_inventory(&owner.role_name(), &owner.rule_prefix()),
            "after an abort following write {}",
            k + 1
        );
    }
}

/// The update that drops a rule with a Lambda target, aborted after each of its writes, then
/// re-run: the function keeps no statement of ours (it used to, after a kill right after
/// RemoveTargets: with no target left, nothing led the re-run to the function).
#[tokio::test]
async fn an_update_dropping_a_lambda_rule_survives_an_abort_after_any_write() {
    let moto = Moto::start();
    let bridge = orders();
    let mut dropped = bridge.clone();
    dropped.spec.rules.remove(1);
    let total = 3; // RemovePermission, RemoveTargets, DeleteRule
    for k in 0..total {
        moto.reset();
        moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
        let mut engine = moto.engine(CLUSTER).await;
        engine.reconcile(&bridge).await.expect("apply");
        assert_eq!(engine.plan(&dropped).await.expect("plan").len(), total);
        engine.abort_after_writes = Some(k + 1);
        let err = engine.reconcile(&dropped).await.expect_err("aborted run");
        assert!(matches!(err, Error::Injected(n) if n == k + 1), "run {k}: {err}");
        engine.abort_after_writes = None;
        engine.reconcile(&dropped).await.unwrap_or_else(|e| panic!("re-run after {} writes: {e}", k + 1));
        let inv = inventory(&moto.clients().await).await;
        assert_eq!((inv.rules.len(), inv.targets, inv.permissions), (1, 1, 1), "after write {}: {inv:#?}", k + 1);
    }
}

/// What a CreateApi retried after its answer was lost leaves: a second, empty API with our tags.
async fn duplicate_api(
    c: &webhook_bridge::aws::Clients,
    engine: &webhook_bridge::engine::Engine,
    bridge: &WebhookBridge,
) -> String {
    let tags = engine.owner(bridge).tags().into_iter().collect();
    c.apigateway
        .create_api()
        .name("default-orders")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .set_tags(Some(tags))
        .send()
        .await
        .expect("duplicate")
        .api_id
        .unwrap_or_default()
}

#[tokio::test]
async fn duplicate_apis_left_by_a_retried_create_are_collapsed_to_one() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();
    engine.reconcile(&bridge).await.expect("create");
    // A CreateApi whose answer was lost and was retried: a second API with our tags.
    let c = moto.clients().await;
    duplicate_api(&c, &engine, &bridge).await;
    assert_eq!(inventory(&c).await.apis, 2);

    engine.aws.counter.reset();
    engine.reconcile(&bridge).await.expect("collapse");
    assert_eq!(writes(&engine), BTreeMap::from([("DeleteApi".to_string(), 1)]), "the empty duplicate goes");
    let owner = engine.owner(&bridge);
    assert_eq!(inventory(&c).await, canonical_inventory(&owner.role_name(), &owner.rule_prefix()));
}

/// Among duplicate APIs the one carrying the most routes is kept, even when it is the newer:
/// keeping the oldest here would delete the working API and rebuild everything in the other.
#[tokio::test]
async fn among_duplicate_apis_the_one_with_the_most_routes_is_kept() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();
    engine.reconcile(&bridge).await.expect("create");
    let c = moto.clients().await;
    let first =
        c.apigateway.get_apis().send().await.expect("GetApis").items()[0].api_id().unwrap_or_default().to_string();
    // Creation times have one-second resolution: make the duplicate strictly newer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let newer = duplicate_api(&c, &engine, &bridge).await;
    for key in ["POST /api/webhook", "POST /other"] {
        c.apigateway.create_route().api_id(&newer).route_key(key).send().await.expect("route on the duplicate");
    }

    engine.aws.counter.reset();
    engine.reconcile(&bridge).await.expect("collapse");
    let apis = c.apigateway.get_apis().send().await.expect("GetApis");
    let ids: Vec<&str> = apis.items().iter().filter_map(|a| a.api_id()).collect();
    assert_eq!(ids, [newer.as_str()], "the API with two routes is kept, {first} deleted");
    let owner = engine.owner(&bridge);
    assert_eq!(inventory(&c).await, canonical_inventory(&owner.role_name(), &owner.rule_prefix()));
    assert_eq!(writes(&engine).get("DeleteApi"), Some(&1), "{}", engine.aws.counter.table());
}

/// A CreateAuthorizer retried after its answer was lost leaves two of one name (authorizers carry
/// no tags): the route keeps the one it uses, the other goes. (GetAuthorizers is answered by the
/// proxy from moto's authorizers.)
#[tokio::test]
async fn duplicate_authorizers_of_one_name_are_collapsed_to_the_one_in_use() {
    let moto = Moto::start();
    prerequisites(&moto, "jwt.yaml").await;
    let engine = moto.engine(CLUSTER).await;
    let mut bridge = example("jwt.yaml");
    bridge.spec.api.throttling = None; // moto 5.2.5 does not read stage throttling back
    engine.reconcile(&bridge).await.expect("create");
    let c = moto.clients().await;
    let api =
        c.apigateway.get_apis().send().await.expect("GetApis").items()[0].api_id().unwrap_or_default().to_string();
    let first = c.apigateway.get_authorizers().api_id(&api).send().await.expect("GetAuthorizers").items()[0].clone();
    c.apigateway
        .create_authorizer()
        .api_id(&api)
        .name(first.name().unwrap_or_default())
        .authorizer_type(aws_sdk_apigatewayv2::types::AuthorizerType::Jwt)
        .set_identity_source(Some(first.identity_source().to_vec()))
        .set_jwt_configuration(first.jwt_configuration().cloned())
        .send()
        .await
        .expect("duplicate");
    assert_eq!(inventory(&c).await.authorizers, 2);

    engine.aws.counter.reset();
    engine.reconcile(&bridge).await.expect("collapse");
    assert_eq!(writes(&engine), BTreeMap::from([("DeleteAuthorizer".to_string(), 1)]));
    let left = c.apigateway.get_authorizers().api_id(&api).send().await.expect("GetAuthorizers");
    assert_eq!(left.items().iter().map(|a| a.authorizer_id()).collect::<Vec<_>>(), [first.authorizer_id()]);
    assert_next_pass_writes_nothing(&engine, &bridge).await;
}

#[tokio::test]
async fn a_missing_lambda_is_a_retryable_dependency_error() {
    let moto = Moto::start();
    let engine = moto.engine(CLUSTER).await;
    let err = engine.reconcile(&orders()).await.expect_err("no lambdas yet");
    assert!(matches!(err, Error::DependencyMissing(_)), "{err}");
    assert!(err.is_retryable());
    // Once the functions exist, the same bridge converges with no duplicate.
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    engine.reconcile(&orders()).await.expect("converges");
    let owner = engine.owner(&orders());
    assert_eq!(inventory(&moto.clients().await).await, canonical_inventory(&owner.role_name(), &owner.rule_prefix()));
}

/// A Lambda target in another account: AddPermission on it fails half-way on AWS (the function
/// is not the operator's). EventBridge delivers to it directly only through an execution role of
/// the bus's account that the function's own policy allows (EventBridge User Guide, "Sending
/// events to an AWS service in another account",
/// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html).
/// Without the role: refused before any write, naming the field; with it: the exact writes, no
/// AddPermission on the other account's function.
#[tokio::test]
async fn a_lambda_in_another_account_is_delivered_through_a_role_never_add_permission() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let foreign = "arn:aws:lambda:us-east-1:999999999999:function:x";
    let mut bridge = orders();
    bridge.spec.rules[1].targets[0].arn = foreign.into();

    let err = engine.reconcile(&bridge).await.expect_err("no role");
    assert!(
        matches!(&err, Error::InvalidSpec(f) if f.iter().any(|f| f.field == "spec.rules[1].targets[0].roleArn" && f.message.contains("999999999999"))),
        "{err}"
    );
    assert_eq!(engine.aws.counter.writes(), 0, "refused before any write: {}", engine.aws.counter.table());

    let role = format!("arn:aws:iam::{ACCOUNT}:role/invoke-x");
    bridge.spec.rules[1].targets[0].role_arn = Some(role.clone());
    engine.reconcile(&bridge).await.expect("reconcile");
    let mut expected = seed_writes();
    expected.insert("AddPermission".into(), 1); // createOrder's only
    assert_eq!(writes(&engine), expected, "{}", engine.aws.counter.table());
    let c = moto.clients().await;
    let rule = engine.owner(&bridge).rule_name("cancel-order");
    let out =
        c.events.list_targets_by_rule().rule(&rule).event_bus_name("custom-events-dev").send().await.expect("targets");
    let t = &out.targets()[0];
    assert_eq!((t.arn(), t.role_arn()), (foreign, Some(role.as_str())));

    assert_next_pass_writes_nothing(&engine, &bridge).await;
}

/// Removing `spec.api.throttling` converges: one UpdateStage to the account-level defaults (AWS
/// keeps limits an empty DefaultRouteSettings leaves out, serverless/serverless#8590; the proxy
/// answers UpdateStage so), then 0 writes.
#[tokio::test]
async fn removing_throttling_converges_to_no_stage_limit() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let mut bridge = orders();
    bridge.spec.api.throttling = Some(webhook_bridge::api::Throttling { burst_limit: 20, rate_limit: 10.0 });
    let outcome = engine.reconcile(&bridge).await.expect("with throttling");
    let api = outcome.status.api_id.clone().expect("api id");

    bridge.spec.api.throttling = None;
    engine.aws.counter.reset();
    engine.reconcile(&bridge).await.expect("throttling removed");
    assert_eq!(writes(&engine), counts(&[("UpdateStage", 1)]));
    let c = moto.clients().await;
    let stage = c.apigateway.get_stage().api_id(&api).stage_name("dev").send().await.expect("GetStage");
    let limits = stage.default_route_settings().map(|s| (s.throttling_burst_limit(), s.throttling_rate_limit()));
    assert_eq!(limits, Some((Some(5_000), Some(10_000.0))), "never 0, which would block all traffic");

    assert_next_pass_writes_nothing(&engine, &bridge).await;
}

#[tokio::test]
async fn a_dropped_mapping_converges_without_an_update_on_every_reconcile() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine("test").await;
    let bridge = orders();
    engine.reconcile(&bridge).await.expect("apply");
    let mut dropped = bridge.clone();
    dropped.spec.routes[0].event.time = None;
    let outcome = engine.reconcile(&dropped).await.expect("drop Time");
    assert!(
        outcome.actions.iter().any(|a| matches!(a, Action::CreateIntegration { .. }))
            && outcome.actions.iter().any(|a| matches!(a, Action::DeleteIntegration { .. })),
        "the integration is replaced: {:?}",
        outcome.actions
    );
    let c = moto.clients().await;
    let api_id = outcome.status.api_id.expect("api");
    let integrations = c.apigateway.get_integrations().api_id(&api_id).send().await.expect("integrations");
    assert_eq!(integrations.items().len(), 1);
    let params = integrations.items()[0].request_parameters().cloned().unwrap_or_default();
    assert!(!params.contains_key("Time") && params.contains_key("Detail"), "{params:?}");
    let again = engine.plan(&dropped).await.expect("plan");
    assert!(again.is_empty(), "a write on every reconcile: {again:?}");
}

/// examples/multi-route.yaml with its prerequisites: until the queues' policies let EventBridge
/// deliver from the rules, the outcome names each one with the statement to add; with exactly
/// those statements added, nothing is reported.
#[tokio::test]
async fn sqs_deliveries_are_reported_until_the_queue_policy_allows_them() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let mut urls = BTreeMap::new();
    for queue in ["payments-audit", "payments-dlq"] {
        let out = c.sqs.create_queue().queue_name(queue).send().await.expect("queue");
        urls.insert(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"), out.queue_url().unwrap_or_default().to_string());
    }
    let engine = moto.engine("test").await;
    let bridge = example("multi-route.yaml");
    let outcome = engine.reconcile(&bridge).await.expect("apply");
    let fields: Vec<&str> = outcome.delivery_gaps.iter().map(|(d, _)| d.field.as_str()).collect();
    assert_eq!(fields, ["spec.rules[0].targets[0].deadLetterArn", "spec.rules[1].targets[0].arn"]);
    let message = webhook_bridge::status::delivery_gaps_message(&outcome.delivery_gaps);
    assert!(message.contains(r#""Principal":{"Service":"events.amazonaws.com"}"#), "{message}");

    // The user adds the statements the message gives (one queue, one statement each here).
    for (delivery, _) in &outcome.delivery_gaps {
        let policy = json!({"Version": "2012-10-17", "Statement": [delivery.statement()]});
        c.sqs
            .set_queue_attributes()
            .queue_url(&urls[&delivery.arn])
            .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .expect("set policy");
    }
    let again = engine.reconcile(&bridge).await.expect("again");
    assert!(again.delivery_gaps.is_empty(), "{:?}", again.delivery_gaps);
    assert!(again.actions.is_empty());
}

/// The next reconcile is in sync: no write at all.
async fn assert_next_pass_writes_nothing(engine: &webhook_bridge::engine::Engine, bridge: &WebhookBridge) {
    engine.aws.counter.reset();
    engine.reconcile(bridge).await.expect("in sync");
    assert_eq!(engine.aws.counter.writes(), 0, "{}", engine.aws.counter.table());
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// An in-sync resync reads by the ids status keeps: 10 reads for the canonical bridge, no
/// account-wide list, no tag read; GetApi in place of GetRole on the passes that read the API
/// object. Anything gone or changed sends the pass to the full search before a single write.
#[tokio::test]
async fn in_sync_resyncs_read_by_id_and_fall_back_to_the_search() {
    use webhook_bridge::operator::known;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = orders();
    let first = engine.reconcile(&bridge).await.expect("first");
    let api_id = first.status.api_id.clone().expect("api id");
    let by_id = known::from_status(&first.status, false).expect("ids in status");
    assert_eq!(by_id.rules.len(), 2, "both rules remembered: {by_id:?}");

    engine.aws.counter.reset();
    let again = engine.reconcile_known(&bridge, Some(&by_id)).await.expect("resync");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert_eq!(again.status, first.status, "status from the writes = status from the reads");
    let expected = counts(&[
        ("GetIntegrations", 1),
        ("GetPolicy", 2),
        ("GetRole", 1),
        ("GetRolePolicy", 1),
        ("GetRoutes", 1),
        ("GetStages", 1),
        ("ListRules", 1),
        ("ListTargetsByRule", 2),
    ]);
    assert_eq!(engine.aws.counter.reads_by_operation(), expected, "reads of an in-sync resync");
    assert_eq!(engine.aws.counter.reads(), 10);
    assert_eq!(engine.aws.counter.writes(), 0);

    engine.aws.counter.reset();
    let with_api = known::from_status(&first.status, true).expect("ids");
    engine.reconcile_known(&bridge, Some(&with_api)).await.expect("resync reading the API");
    let mut expected_api = expected.clone();
    expected_api.insert("GetApi".into(), 1);
    expected_api.remove("GetRole");
    assert_eq!(engine.aws.counter.reads_by_operation(), expected_api);
    assert_eq!(engine.aws.counter.reads(), 10, "at most 10 in every window");

    // The role's inline policy is read in that window too: drift there is found at once, and a
    // role gone sends the pass to the full search.
    let c = moto.clients().await;
    let role = first.status.role.clone().expect("role").name;
    c.iam
        .put_role_policy()
        .role_name(&role)
        .policy_name(webhook_bridge::owner::ROLE_POLICY_NAME)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("drift the role policy");
    let fixed = engine.reconcile_known(&bridge, Some(&with_api)).await.expect("fix the policy");
    assert_eq!(fixed.actions.len(), 1, "{:?}", fixed.actions);
    assert!(fixed.actions.iter().all(|a| a.changes_role()), "{:?}", fixed.actions);

    // The full look (CLI, first find) still searches by tags.
    engine.aws.counter.reset();
    engine.reconcile(&bridge).await.expect("full");
    let full = engine.aws.counter.reads_by_operation();
    assert!(full.contains_key("GetApis") && full.contains_key("ListTagsForResource"), "{full:?}");

    // Drift found by id: the write is planned from the full search.
    let rule = &first.status.rules[0].aws_name;
    c.events
        .put_rule()
        .name(rule)
        .event_bus_name("custom-events-dev")
        .event_pattern(r#"{"source":["drifted"]}"#)
        .send()
        .await
        .expect("drift a rule");
    engine.aws.counter.reset();
    let fixed = engine.reconcile_known(&bridge, Some(&by_id)).await.expect("fix drift");
    assert_eq!(fixed.actions, vec![Action::PutRule { name: rule.clone(), create: false }]);
    assert!(engine.aws.counter.reads_by_operation().contains_key("GetApis"), "full search before writing");

    // The API gone: found missing by id, re-created after the search.
    c.apigateway.delete_api().api_id(&api_id).send().await.expect("delete the API out of band");
    let rebuilt = engine.reconcile_known(&bridge, Some(&by_id)).await.expect("rebuild");
    assert!(rebuilt.actions.iter().any(|a| matches!(a, Action::CreateApi { .. })), "{:?}", rebuilt.actions);
    let new_id = rebuilt.status.api_id.clone().expect("new api id");
    assert_ne!(new_id, api_id);
    assert_eq!(rebuilt.status.endpoint, Some(format!("https://{new_id}.execute-api.us-east-1.amazonaws.com/dev")));
    let by_new = known::from_status(&rebuilt.status, true).expect("ids");
    let in_sync = engine.reconcile_known(&bridge, Some(&by_new)).await.expect("in sync");
    assert!(in_sync.actions.is_empty(), "{:?}", in_sync.actions);
    assert_eq!(in_sync.status, rebuilt.status);
}

fn production() -> WebhookBridge {
    with_uid(example("production.yaml"), "uid-production-1")
}

/// examples/production.yaml on the emulator: the custom domain, its mapping, the access-log group
/// and stage settings, the archive; each changed in place, turned off (collected), and deleted.
#[tokio::test]
async fn production_objects_are_created_changed_collected_and_deleted() {
    let moto = Moto::start();
    prerequisites(&moto, "production.yaml").await;
    let engine = moto.engine(CLUSTER).await;
    let mut bridge = production();
    let c = moto.clients().await;

    let first = engine.reconcile(&bridge).await.expect("apply");
    let api_id = first.status.api_id.clone().expect("api id");
    let domain = first.status.domain.clone().expect("domain status");
    assert_eq!(domain.url, "https://hooks.example.com/orders");
    assert_eq!(domain.route_urls, ["https://hooks.example.com/orders/api/webhook"]);
    assert!(
        domain.target_domain_name.as_deref().is_some_and(|t| t.ends_with(".execute-api.us-east-1.amazonaws.com")),
        "the DNS target right after the create: {domain:?}"
    );
    assert!(domain.hosted_zone_id.is_some(), "{domain:?}");
    assert_eq!(first.status.dead_letter_queues.as_deref(), Some("1/2"));
    assert_eq!(first.no_dead_letter_queue, [format!("rule cancel-order target {}", lambda_arn("cancelOrder"))]);
    let group = first.status.access_log_group.clone().expect("log group");
    let archive = first.status.archive.clone().expect("archive");

    // In AWS: the mapping serves the stage under the base path; the stage logs to the group.
    let mappings = c.apigateway.get_api_mappings().domain_name("hooks.example.com").send().await.expect("mappings");
    let m = &mappings.items()[0];
    assert_eq!((m.api_id(), m.stage(), m.api_mapping_key()), (Some(api_id.as_str()), Some("$default"), Some("orders")));
    let stage = c.apigateway.get_stage().api_id(&api_id).stage_name("$default").send().await.expect("stage");
    let logs = stage.access_log_settings().expect("access log settings");
    assert_eq!(logs.destination_arn(), Some(group.arn.as_str()));
    assert!(logs.format().is_some_and(|f| f.contains("$context.requestId") && f.contains("integrationLatency")));
    let described = c.logs.describe_log_groups().log_group_name_prefix(&group.name).send().await.expect("groups");
    assert_eq!(described.log_groups()[0].retention_in_days(), Some(30));
    let a = c.events.describe_archive().archive_name(&archive.name).send().await.expect("archive");
    assert_eq!(
        (a.retention_days(), a.event_source_arn()),
        (Some(14), Some(first.status.event_bus.clone().map(|b| b.arn).unwrap_or_default().as_str()))
    );

    // Changed in place: base path, retention, format, archive retention and pattern.
    if let Some(dm) = bridge.spec.domain.as_mut() {
        dm.base_path = Some("v2/orders".into());
    }
    if let Some(l) = bridge.spec.api.access_logs.as_mut() {
        l.retention_days = 90;
        l.format = Some(r#"{"requestId":"$context.requestId","status":"$context.status"}"#.into());
    }
    if let Some(ar) = bridge.spec.event_bus.archive.as_mut() {
        ar.retention_days = 30;
        ar.pattern = None;
    }
    let changed = engine.reconcile(&bridge).await.expect("change");
    let kinds: Vec<String> = changed
        .actions
        .iter()
        .map(|a| a.to_string().split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        kinds,
        [
            "update eventbridge archive",
            "put logs log",
            "update apigateway stage",
            "create apigateway api",
            "delete apigateway api"
        ],
        "{:?}",
        changed.actions
    );
    assert_eq!(changed.status.domain.as_ref().map(|x| x.url.as_str()), Some("https://hooks.example.com/v2/orders"));
    engine.aws.counter.reset();
    let again = engine.reconcile(&bridge).await.expect("again");
    assert!(again.actions.is_empty(), "converged in one pass: {:?}", again.actions);
    assert_eq!(engine.aws.counter.writes(), 0);

    // Turned off: the stage stops logging before the group goes; domain and archive collected.
    if let Some(l) = bridge.spec.api.access_logs.as_mut() {
        l.enabled = false;
    }
    bridge.spec.domain = None;
    bridge.spec.event_bus.archive = None;
    let off = engine.reconcile(&bridge).await.expect("turn off");
    assert!(off.status.domain.is_none() && off.status.archive.is_none() && off.status.access_log_group.is_none());
    let inv = inventory(&c).await;
    assert_eq!((inv.domains.len(), inv.mappings, inv.log_groups.len(), inv.archives.len()), (0, 0, 0, 0), "{inv:?}");
    let stage = c.apigateway.get_stage().api_id(&api_id).stage_name("$default").send().await.expect("stage");
    assert!(stage.access_log_settings().and_then(|s| s.destination_arn()).is_none(), "{stage:?}");
    assert!(engine.reconcile(&bridge).await.expect("again").actions.is_empty());

    // Back on, then the bridge deleted: nothing of ours left.
    let bridge = production();
    engine.reconcile(&bridge).await.expect("on again");
    engine.delete(&bridge).await.expect("delete");
    assert_eq!(inventory(&c).await, common::Inventory::default());
}

/// The production objects read by id too: the domain by name, no domain list, no tag read.
#[tokio::test]
async fn production_resyncs_read_by_id() {
    use webhook_bridge::operator::known;
    let moto = Moto::start();
    prerequisites(&moto, "production.yaml").await;
    let engine = moto.engine(CLUSTER).await;
    let bridge = production();
    let first = engine.reconcile(&bridge).await.expect("apply");
    let by_id = known::from_status(&first.status, false).expect("ids");
    assert_eq!(by_id.domain.as_deref(), Some("hooks.example.com"));
    engine.aws.counter.reset();
    let again = engine.reconcile_known(&bridge, Some(&by_id)).await.expect("resync");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert_eq!(again.status, first.status);
    let reads = engine.aws.counter.reads_by_operation();
    for op in ["GetApis", "GetDomainNames", "ListTagsForResource", "DescribeEventBus"] {
        assert!(!reads.contains_key(op), "{op}: {reads:?}");
    }
    // The canonical 10, plus the domain with its mappings, the log group, the archive and the
    // dead-letter queue's policy (GetQueueUrl, GetQueueAttributes).
    assert_eq!(
        (
            reads.get("GetDomainName"),
            reads.get("GetApiMappings"),
            reads.get("DescribeLogGroups"),
            reads.get("DescribeArchive")
        ),
        (Some(&1), Some(&1), Some(&1), Some(&1)),
        "{reads:?}"
    );
    assert_eq!(engine.aws.counter.reads(), 16, "{reads:?}");
}

/// A bridge that never ran skips the region-wide searches (nothing can carry its uid yet) but
/// still looks up every name it would take: a domain someone else holds is still a conflict.
#[tokio::test]
async fn a_bridge_that_never_ran_skips_the_searches_not_the_conflict_checks() {
    let moto = Moto::start();
    prerequisites(&moto, "production.yaml").await;
    let engine = moto.engine(CLUSTER).await;
    let c = moto.clients().await;
    c.apigateway
        .create_domain_name()
        .domain_name("hooks.example.com")
        .domain_name_configurations(
            aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
                .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/theirs")
                .endpoint_type(aws_sdk_apigatewayv2::types::EndpointType::Regional)
                .security_policy(aws_sdk_apigatewayv2::types::SecurityPolicy::Tls12)
                .build(),
        )
        .send()
        .await
        .expect("someone else's domain");
    let err = engine.reconcile_as(&production(), None, true).await.expect_err("conflict");
    assert!(matches!(&err, Error::Conflict(f) if f.field == "spec.domain.name"), "{err:?}");
    let reads = engine.aws.counter.reads_by_operation();
    assert!(!reads.contains_key("GetApis") && !reads.contains_key("GetDomainNames"), "{reads:?}");
    assert_eq!(engine.aws.counter.writes(), 0);

    let fresh = engine.reconcile_as(&orders(), None, true).await.expect("apply, never ran");
    let full = engine.reconcile(&orders()).await.expect("full look");
    assert!(full.actions.is_empty(), "the fresh pass made everything: {:?}", full.actions);
    assert_eq!(full.status, fresh.status);
}
