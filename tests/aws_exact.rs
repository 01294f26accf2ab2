//! AWS behaviours the local emulator does not reproduce, with the error shapes AWS sends on the
//! wire (status, error type, body), decoded by the real SDK deserializers through
//! `aws-smithy-mocks`: duplicate route keys, duplicate bus names, a bus delete refused while
//! rules remain, UpdateStage, throttling, access denied, and JWT authorizers.

mod common;

use aws_sdk_apigatewayv2::Client as Apigw;
use aws_sdk_apigatewayv2::operation::create_api::CreateApiOutput;
use aws_sdk_apigatewayv2::operation::create_authorizer::CreateAuthorizerOutput;
use aws_sdk_apigatewayv2::operation::create_integration::CreateIntegrationOutput;
use aws_sdk_apigatewayv2::operation::create_route::CreateRouteOutput;
use aws_sdk_apigatewayv2::operation::create_stage::CreateStageOutput;
use aws_sdk_apigatewayv2::operation::get_apis::GetApisOutput;
use aws_sdk_apigatewayv2::operation::get_integrations::GetIntegrationsOutput;
use aws_sdk_apigatewayv2::operation::get_routes::GetRoutesOutput;
use aws_sdk_apigatewayv2::operation::get_stages::GetStagesOutput;
use aws_sdk_apigatewayv2::operation::update_route::UpdateRouteOutput;
use aws_sdk_apigatewayv2::operation::update_stage::UpdateStageOutput;
use aws_sdk_apigatewayv2::types::{Api, ProtocolType, RouteSettings, Stage};
use aws_sdk_eventbridge::Client as Events;
use aws_sdk_eventbridge::operation::create_event_bus::CreateEventBusOutput;
use aws_sdk_eventbridge::operation::delete_event_bus::DeleteEventBusOutput;
use aws_sdk_eventbridge::operation::describe_event_bus::DescribeEventBusOutput;
use aws_sdk_eventbridge::operation::list_rules::ListRulesOutput;
use aws_sdk_eventbridge::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_eventbridge::operation::put_rule::PutRuleOutput;
use aws_sdk_eventbridge::operation::put_targets::PutTargetsOutput;
use aws_sdk_eventbridge::types::{Rule as EbRule, Tag};
use aws_sdk_iam::Client as Iam;
use aws_sdk_iam::operation::create_role::CreateRoleOutput;
use aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput;
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::operation::add_permission::AddPermissionOutput;
use aws_smithy_mocks::{Rule, mock};
use common::mocks::{self, Mocks, aws_json_error, query_error, rest_json_error};
use common::{ACCOUNT, REGION};
use std::collections::BTreeMap;
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::error::Error;
use webhook_bridge::owner::Owner;

const BUS: &str = "custom-events-dev";

fn orders() -> WebhookBridge {
    common::with_uid(common::example("orders.yaml"), "uid-1")
}

fn owner(b: &WebhookBridge) -> Owner {
    mocks::engine(&Mocks::default()).owner(b)
}

/// Ownership tags plus the spec's tags: what every object of the bridge carries.
fn all_tags(b: &WebhookBridge) -> BTreeMap<String, String> {
    let mut tags = b.spec.tags.clone();
    tags.extend(owner(b).tags());
    tags
}

fn our_tags(b: &WebhookBridge) -> Vec<Tag> {
    all_tags(b).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build().expect("tag")).collect()
}

/// Reads of an account that holds nothing yet; writes that succeed.
fn empty_account() -> Mocks {
    Mocks {
        apigateway: vec![
            mock!(Apigw::get_apis).then_output(|| GetApisOutput::builder().build()),
            mock!(Apigw::create_api).then_output(|| {
                CreateApiOutput::builder()
                    .api_id("api1")
                    .api_endpoint("https://api1.execute-api.us-east-1.amazonaws.com")
                    .build()
            }),
            mock!(Apigw::create_stage).then_output(|| CreateStageOutput::builder().build()),
            mock!(Apigw::create_authorizer)
                .then_output(|| CreateAuthorizerOutput::builder().authorizer_id("auth1").build()),
            mock!(Apigw::create_integration)
                .then_output(|| CreateIntegrationOutput::builder().integration_id("int1").build()),
            mock!(Apigw::create_route).then_output(|| CreateRouteOutput::builder().route_id("route1").build()),
        ],
        events: vec![
            mock!(Events::describe_event_bus).then_http_response(|| {
                aws_json_error(400, "ResourceNotFoundException", "Event bus custom-events-dev does not exist.")
            }),
            mock!(Events::create_event_bus).then_output(|| CreateEventBusOutput::builder().build()),
            mock!(Events::put_rule).then_output(|| PutRuleOutput::builder().build()),
            mock!(Events::put_targets).then_output(|| PutTargetsOutput::builder().failed_entry_count(0).build()),
        ],
        iam: vec![
            mock!(Iam::get_role)
                .then_http_response(|| query_error(404, "NoSuchEntity", "The role with name whb cannot be found.")),
            mock!(Iam::create_role).then_output(|| CreateRoleOutput::builder().build()),
            mock!(Iam::put_role_policy).then_output(|| PutRolePolicyOutput::builder().build()),
        ],
        lambda: vec![
            mock!(Lambda::get_policy).then_http_response(|| {
                rest_json_error(404, "ResourceNotFoundException", "The resource you requested does not exist.")
            }),
            mock!(Lambda::add_permission).then_output(|| AddPermissionOutput::builder().build()),
        ],
        ..Mocks::default()
    }
}

/// Put `rule` first so it wins over the default of the same operation.
fn first(rules: &mut Vec<Rule>, rule: Rule) {
    rules.insert(0, rule);
}

/// API Gateway's 409 ConflictException is also permanent (e.g. route keys with different variable
/// names at one level, see `webhook_bridge::route_paths`): a conflict that fresh looks at AWS do
/// not explain is terminal after a bounded number of tries, never retried forever.
#[tokio::test]
async fn a_route_conflict_fresh_looks_do_not_explain_is_terminal_after_three_tries() {
    let mut m = empty_account();
    let create = mock!(Apigw::create_route).then_http_response(|| {
        rest_json_error(
            409,
            "ConflictException",
            "Unable to create route. Route with key POST /api/webhook already exists for this API.",
        )
    });
    first(&mut m.apigateway, create.clone());
    let engine = mocks::engine(&m);

    let err = engine.reconcile(&orders()).await.expect_err("conflict");

    assert!(
        matches!(&err, Error::Rejected { operation: "CreateRoute", code, .. } if code == "ConflictException"),
        "{err:?}"
    );
    assert!(!err.is_retryable(), "terminal: waits for a change of the spec");
    assert_eq!(create.num_calls(), 3, "three passes of observe, plan, apply");
    assert!(err.to_string().contains("already exists for this API") && err.to_string().contains("3 tries"), "{err}");
}

/// A 409 a fresh look explains (a route with our key created since we looked: a race, as
/// "ConflictException: Unable to complete operation due to concurrent modification" is in
/// https://github.com/hashicorp/terraform-provider-aws/pull/29735) converges in the same pass.
#[tokio::test]
async fn a_route_created_meanwhile_is_updated_after_a_fresh_look() {
    let bridge = orders();
    let mut m = api_with_stage(&bridge, webhook_bridge::desired::NO_STAGE_LIMIT);
    let create = mock!(Apigw::create_route)
        .sequence()
        .http_response(|| {
            rest_json_error(
                409,
                "ConflictException",
                "Unable to create route. Route with key POST /api/webhook already exists for this API.",
            )
        })
        .output(|| CreateRouteOutput::builder().route_id("route2").build())
        .repeatedly()
        .build();
    let routes = mock!(Apigw::get_routes)
        .sequence()
        .output(|| GetRoutesOutput::builder().build())
        .output(|| {
            GetRoutesOutput::builder()
                .items(
                    aws_sdk_apigatewayv2::types::Route::builder()
                        .route_id("route1")
                        .route_key("POST /api/webhook")
                        .operation_name("webhook")
                        .build(),
                )
                .build()
        })
        .repeatedly()
        .build();
    let update = mock!(Apigw::update_route).then_output(|| UpdateRouteOutput::builder().route_id("route1").build());
    first(&mut m.apigateway, create.clone());
    first(&mut m.apigateway, routes);
    first(&mut m.apigateway, update.clone());
    let engine = mocks::engine(&m);

    one_pass(&engine, &bridge).await;

    assert_eq!((create.num_calls(), update.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_bus_name_taken_meanwhile_is_retried_then_reported_as_a_conflict() {
    let bridge = orders();
    let mut m = empty_account();
    first(
        &mut m.events,
        mock!(Events::create_event_bus).then_http_response(|| {
            aws_json_error(400, "ResourceAlreadyExistsException", "Event bus custom-events-dev already exists.")
        }),
    );
    let engine = mocks::engine(&m);
    let err = engine.reconcile(&bridge).await.expect_err("race");
    assert!(matches!(&err, Error::Transient { code, .. } if code == "ResourceAlreadyExistsException"), "{err:?}");
    assert!(err.is_retryable());

    // The retry observes a bus without our tags: a terminal conflict, and no write at all.
    let mut m = empty_account();
    first(
        &mut m.events,
        mock!(Events::describe_event_bus).then_output(|| {
            DescribeEventBusOutput::builder()
                .name(BUS)
                .arn(format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}"))
                .build()
        }),
    );
    m.events.push(mock!(Events::list_tags_for_resource).then_output(|| ListTagsForResourceOutput::builder().build()));
    m.events.push(mock!(Events::list_rules).then_output(|| ListRulesOutput::builder().build()));
    let engine = mocks::engine(&m);
    let err = engine.reconcile(&bridge).await.expect_err("conflict");
    assert!(matches!(&err, Error::Conflict(f) if f.field == "spec.eventBus.name"), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(engine.aws.counter.writes(), 0);
}

/// The bus of the bridge exists (ours) and, for `ListRules` without a prefix, these rules remain.
fn deleting_bus(bridge: &WebhookBridge, delete_answers: Vec<bool>, remaining: Vec<String>) -> (Mocks, Rule) {
    let tags = our_tags(bridge);
    let mut delete = mock!(Events::delete_event_bus).sequence();
    for ok in delete_answers {
        delete = if ok {
            delete.output(|| DeleteEventBusOutput::builder().build())
        } else {
            // AWS refuses to delete a bus that still has rules.
            delete.http_response(|| {
                aws_json_error(
                    400,
                    "ValidationException",
                    "Event bus custom-events-dev cannot be deleted since it has rules.",
                )
            })
        };
    }
    let delete = delete.build();
    let m = Mocks {
        apigateway: vec![mock!(Apigw::get_apis).then_output(|| GetApisOutput::builder().build())],
        events: vec![
            mock!(Events::describe_event_bus).then_output(|| {
                DescribeEventBusOutput::builder()
                    .name(BUS)
                    .arn(format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}"))
                    .build()
            }),
            mock!(Events::list_tags_for_resource)
                .then_output(move || ListTagsForResourceOutput::builder().set_tags(Some(tags.clone())).build()),
            // Our prefixed rules: none left to plan (they were deleted in an earlier step).
            mock!(Events::list_rules)
                .match_requests(|r| r.name_prefix().is_some())
                .then_output(|| ListRulesOutput::builder().build()),
            mock!(Events::list_rules).match_requests(|r| r.name_prefix().is_none()).then_output(move || {
                ListRulesOutput::builder()
                    .set_rules(Some(remaining.iter().map(|n| EbRule::builder().name(n).build()).collect()))
                    .build()
            }),
            delete.clone(),
        ],
        iam: vec![mock!(Iam::get_role).then_http_response(|| query_error(404, "NoSuchEntity", "not found"))],
        lambda: vec![mock!(Lambda::get_policy).then_http_response(|| {
            rest_json_error(404, "ResourceNotFoundException", "The resource you requested does not exist.")
        })],
        ..Mocks::default()
    };
    (m, delete)
}

/// DeleteEventBus committed but its answer was lost (here: a 500 after the fact): the rules check
/// that follows finds the bus gone, which means done, not a terminal error.
#[tokio::test]
async fn a_bus_delete_whose_answer_was_lost_is_done_once_the_bus_is_gone() {
    let bridge = orders();
    let (mut m, _) = deleting_bus(&bridge, vec![], vec![]);
    let lost = mock!(Events::delete_event_bus)
        .then_http_response(|| aws_json_error(500, "InternalException", "Internal service error"));
    let rules = mock!(Events::list_rules).match_requests(|r| r.name_prefix().is_none()).sequence();
    let rules = rules
        .output(|| ListRulesOutput::builder().build())
        .http_response(|| {
            aws_json_error(400, "ResourceNotFoundException", "Event bus custom-events-dev does not exist.")
        })
        .repeatedly()
        .build();
    first(&mut m.events, lost.clone());
    first(&mut m.events, rules.clone());
    let engine = mocks::engine(&m);

    engine.delete(&bridge).await.expect("the bus is gone: deleted");
    assert_eq!(lost.num_calls(), 1);
}

#[tokio::test]
async fn a_bus_delete_refused_while_our_rules_go_away_is_retried() {
    let bridge = orders();
    let still_going = owner(&bridge).rule_name("create-order");
    let (m, delete) = deleting_bus(&bridge, vec![false, true], vec![still_going]);
    let engine = mocks::engine(&m);

    engine.delete(&bridge).await.expect("deleted on the second try");

    assert_eq!(delete.num_calls(), 2);
}

/// AWS keeps refusing while only our archive's managed rule lingers (it outlives the archive a
/// while: "When you delete a rule, incoming events might continue to match to the deleted rule.
/// Allow a short period of time for changes to take effect", EventBridge API reference,
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeleteRule.html): not a
/// terminal `Rejected` that waits for the object to change, but retryable (operator backoff, CLI
/// exit 5) until AWS catches up.
#[tokio::test]
async fn a_bus_delete_refused_while_our_archive_rule_lingers_stays_retryable() {
    let bridge = orders();
    let lingering = format!("Events-Archive-{}", owner(&bridge).archive_name());
    let (m, delete) = deleting_bus(&bridge, vec![false, false, false, false, false], vec![lingering.clone()]);
    let engine = mocks::engine(&m);

    let err = engine.delete(&bridge).await.expect_err("AWS has not caught up yet");

    assert!(matches!(&err, Error::BusDraining { rules, .. } if *rules == lingering), "{err:?}");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.reason(), "BusDraining");
    assert_eq!(delete.num_calls(), 3, "a bounded number of tries in one pass, then the caller's backoff");
    assert!(err.to_string().contains("eventually consistent"), "{err}");
}

#[tokio::test]
async fn a_bus_holding_someone_elses_rules_is_not_deleted_and_says_why() {
    let bridge = orders();
    let (m, delete) = deleting_bus(&bridge, vec![false], vec!["billing-team-rule".into()]);
    let engine = mocks::engine(&m);

    let err = engine.delete(&bridge).await.expect_err("blocked");

    assert!(matches!(&err, Error::BusNotEmpty { rules, .. } if rules == "billing-team-rule"), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(delete.num_calls(), 0, "a bus holding someone else's rules is not even tried");
}

/// Issue #19: a rule someone else put on our bus under a name with our prefix (anyone who may
/// create rules there can pick it: the prefix is a hash of cluster, namespace and name) is still
/// someone else's: its tags say so, and the bus is not deleted from under it.
#[tokio::test]
async fn a_rule_with_our_name_prefix_but_not_our_tags_keeps_the_bus() {
    let bridge = orders();
    let squatter = owner(&bridge).rule_name("planted");
    let (mut m, delete) = deleting_bus(&bridge, vec![true], vec![squatter.clone()]);
    let foreign = mock!(Events::list_tags_for_resource)
        .match_requests(|r| r.resource_arn().is_some_and(|a| a.contains(":rule/")))
        .then_output(|| {
            ListTagsForResourceOutput::builder()
                .set_tags(Some(vec![
                    aws_sdk_eventbridge::types::Tag::builder().key("team").value("billing").build().expect("tag"),
                ]))
                .build()
        });
    first(&mut m.events, foreign);
    let engine = mocks::engine(&m);

    let err = engine.delete(&bridge).await.expect_err("blocked");

    assert!(matches!(&err, Error::BusNotEmpty { rules, .. } if *rules == squatter), "{err:?}");
    assert_eq!(delete.num_calls(), 0, "not even tried");
}

/// An existing API with one stage, and no routes (for stage-level tests).
fn api_with_stage(bridge: &WebhookBridge, throttling: (i32, f64)) -> Mocks {
    let tags: std::collections::HashMap<String, String> = all_tags(bridge).into_iter().collect();
    let stage_tags = tags.clone();
    let api_name = owner(bridge).default_name(128);
    let mut m = empty_account();
    m.apigateway = vec![
        mock!(Apigw::get_apis).then_output(move || {
            GetApisOutput::builder()
                .items(
                    Api::builder()
                        .api_id("api1")
                        .name(api_name.clone())
                        .protocol_type(ProtocolType::Http)
                        .route_selection_expression("$request.method $request.path")
                        .description("Managed by webhook-bridge for default/orders")
                        .set_tags(Some(tags.clone()))
                        .build(),
                )
                .build()
        }),
        mock!(Apigw::get_stages).then_output(move || {
            GetStagesOutput::builder()
                .items(
                    Stage::builder()
                        .stage_name("dev")
                        .auto_deploy(true)
                        .default_route_settings(
                            RouteSettings::builder()
                                .throttling_burst_limit(throttling.0)
                                .throttling_rate_limit(throttling.1)
                                .build(),
                        )
                        .set_tags(Some(stage_tags.clone()))
                        .build(),
                )
                .build()
        }),
        mock!(Apigw::get_integrations).then_output(|| GetIntegrationsOutput::builder().build()),
        mock!(Apigw::get_routes).then_output(|| GetRoutesOutput::builder().build()),
        mock!(Apigw::create_integration)
            .then_output(|| CreateIntegrationOutput::builder().integration_id("int1").build()),
        mock!(Apigw::create_route).then_output(|| CreateRouteOutput::builder().route_id("route1").build()),
    ];
    m
}

#[tokio::test]
async fn update_stage_changes_throttling_in_place() {
    // moto answers UpdateStage with a 500; AWS updates DefaultRouteSettings in place.
    let mut bridge = orders();
    bridge.spec.api.throttling = Some(webhook_bridge::api::Throttling { burst_limit: 200, rate_limit: 100.0 });
    let mut m = api_with_stage(&bridge, (50, 25.0));
    let update = mock!(Apigw::update_stage)
        .match_requests(|r| {
            r.stage_name() == Some("dev")
                && r.auto_deploy() == Some(true)
                && r.default_route_settings().and_then(|s| s.throttling_burst_limit()) == Some(200)
                && r.default_route_settings().and_then(|s| s.throttling_rate_limit()) == Some(100.0)
        })
        .then_output(|| UpdateStageOutput::builder().stage_name("dev").build());
    m.apigateway.insert(0, update.clone());
    let engine = mocks::engine(&m);

    one_pass(&engine, &bridge).await;

    assert_eq!(update.num_calls(), 1);
    let writes = engine.aws.counter.writes_by_operation();
    assert_eq!((writes.get("UpdateStage"), writes.get("CreateStage")), (Some(&1), None), "{writes:?}");
}

/// Removing `spec.api.throttling`: AWS cannot unset stage limits. UpdateStage with an empty
/// DefaultRouteSettings keeps them (AWS support's answer quoted in
/// https://github.com/serverless/serverless/pull/8590), 0 or null sets them to 0 and blocks all
/// traffic (https://github.com/terraform-aws-modules/terraform-aws-apigateway-v2/issues/45,
/// https://github.com/pulumi/pulumi-aws/issues/2363). So the stage gets the account-level
/// defaults, 5,000 burst / 10,000 rps (API Gateway Developer Guide, "Throttling requests to
/// your HTTP API"), which leave the account's limits in charge.
#[tokio::test]
async fn removing_throttling_sets_the_account_level_defaults() {
    let bridge = orders();
    assert!(bridge.spec.api.throttling.is_none());
    let mut m = api_with_stage(&bridge, (50, 25.0));
    let update = mock!(Apigw::update_stage)
        .match_requests(|r| {
            r.default_route_settings().and_then(|s| s.throttling_burst_limit()) == Some(5_000)
                && r.default_route_settings().and_then(|s| s.throttling_rate_limit()) == Some(10_000.0)
        })
        .then_output(|| UpdateStageOutput::builder().stage_name("dev").build());
    m.apigateway.insert(0, update.clone());
    let engine = mocks::engine(&m);

    one_pass(&engine, &bridge).await;

    assert_eq!(update.num_calls(), 1);
}

/// What AWS returns after that removal is in sync: the next pass writes nothing to the stage.
#[tokio::test]
async fn a_stage_at_the_account_level_defaults_is_in_sync_without_throttling() {
    let bridge = orders();
    let engine = mocks::engine(&api_with_stage(&bridge, webhook_bridge::desired::NO_STAGE_LIMIT));

    one_pass(&engine, &bridge).await;

    let writes = engine.aws.counter.writes_by_operation();
    assert_eq!(writes.get("UpdateStage"), None, "{writes:?}");
}

/// One reconcile pass over canned answers (AWS is not read again after the writes).
async fn one_pass(engine: &webhook_bridge::engine::Engine, bridge: &WebhookBridge) {
    if let Err(e) = engine.reconcile(bridge).await {
        panic!("reconcile: {e}");
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable_in_every_service() {
    let cases: Vec<(&str, Mocks)> = vec![
        ("apigateway 429", {
            let mut m = empty_account();
            first(
                &mut m.apigateway,
                mock!(Apigw::get_apis)
                    .then_http_response(|| rest_json_error(429, "TooManyRequestsException", "Too Many Requests")),
            );
            m
        }),
        ("eventbridge throttling", {
            let mut m = empty_account();
            first(
                &mut m.events,
                mock!(Events::describe_event_bus)
                    .then_http_response(|| aws_json_error(400, "ThrottlingException", "Rate exceeded")),
            );
            m
        }),
        ("iam throttling", {
            let mut m = empty_account();
            first(
                &mut m.iam,
                mock!(Iam::get_role).then_http_response(|| query_error(400, "Throttling", "Rate exceeded")),
            );
            m
        }),
        ("eventbridge 500", {
            let mut m = empty_account();
            first(
                &mut m.events,
                mock!(Events::describe_event_bus)
                    .then_http_response(|| aws_json_error(500, "InternalException", "oops")),
            );
            m
        }),
    ];
    for (name, m) in cases {
        let engine = mocks::engine(&m);
        let err = engine.reconcile(&orders()).await.expect_err(name);
        assert!(matches!(err, Error::Transient { .. }), "{name}: {err:?}");
        assert!(err.is_retryable(), "{name}");
        assert_eq!(engine.aws.counter.writes(), 0, "{name}: nothing is written on a failed read");
    }
}

#[tokio::test]
async fn access_denied_is_terminal() {
    let mut m = empty_account();
    first(
        &mut m.iam,
        mock!(Iam::get_role).then_http_response(|| {
            query_error(
                403,
                "AccessDenied",
                "User: arn:aws:sts::123456789012:assumed-role/op is not authorized to perform: iam:GetRole",
            )
        }),
    );
    let engine = mocks::engine(&m);
    let err = engine.reconcile(&orders()).await.expect_err("denied");
    assert!(matches!(&err, Error::AccessDenied { operation: "GetRole", .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.reason(), "AccessDenied");
}

#[tokio::test]
async fn a_jwt_route_gets_an_authorizer_and_the_route_points_at_it() {
    // moto 5.2.5 does not implement GetAuthorizers: JWT is covered here.
    let bridge = common::with_uid(common::example("jwt.yaml"), "uid-jwt");
    let mut m = empty_account();
    let authorizer = mock!(Apigw::create_authorizer)
        .match_requests(|r| {
            r.authorizer_type().map(|t| t.as_str()) == Some("JWT")
                && r.identity_source() == ["$request.header.Authorization".to_string()]
                && r.jwt_configuration().and_then(|j| j.issuer()) == Some("https://auth.example.com/")
                && r.jwt_configuration().map(|j| j.audience().to_vec()) == Some(vec!["webhooks".to_string()])
        })
        .then_output(|| CreateAuthorizerOutput::builder().authorizer_id("auth1").build());
    let route = mock!(Apigw::create_route)
        .match_requests(|r| {
            r.route_key() == Some("POST /partners/{partnerId}/events")
                && r.authorization_type().map(|t| t.as_str()) == Some("JWT")
                && r.authorizer_id() == Some("auth1")
                && r.authorization_scopes() == ["events:write".to_string()]
                && r.target() == Some("integrations/int1")
        })
        .then_output(|| CreateRouteOutput::builder().route_id("route1").build());
    let stage = mock!(Apigw::create_stage)
        .match_requests(|r| {
            r.stage_name() == Some("$default")
                && r.default_route_settings().and_then(|s| s.throttling_burst_limit()) == Some(200)
        })
        .then_output(|| CreateStageOutput::builder().build());
    first(&mut m.apigateway, authorizer.clone());
    first(&mut m.apigateway, route.clone());
    first(&mut m.apigateway, stage.clone());
    // Its SQS target's policy is read (and found missing: reported, not an error).
    m.sqs.push(mock!(aws_sdk_sqs::Client::get_queue_url).then_output(|| {
        aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput::builder()
            .queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/partner-events")
            .build()
    }));
    m.sqs.push(
        mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .then_output(|| aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput::builder().build()),
    );
    // Reads after the writes find the authorizer listing too.
    m.apigateway.push(
        mock!(Apigw::get_authorizers)
            .then_output(|| aws_sdk_apigatewayv2::operation::get_authorizers::GetAuthorizersOutput::builder().build()),
    );
    let engine = mocks::engine(&m);

    one_pass(&engine, &bridge).await;

    assert_eq!((authorizer.num_calls(), route.num_calls(), stage.num_calls()), (1, 1, 1));
    let writes: BTreeMap<String, u64> = engine.aws.counter.writes_by_operation();
    assert_eq!(writes.get("CreateAuthorizer"), Some(&1), "{writes:?}");
    assert_eq!(writes.get("AddPermission"), None, "an SQS target needs no Lambda permission");
}

#[tokio::test]
async fn access_logs_turned_on_create_the_group_then_set_the_stage_in_place() {
    // moto 5.2.5 answers UpdateStage with a 500; AWS sets AccessLogSettings in place (API
    // Gateway v2 reference, UpdateStage; the format must contain $context.requestId).
    let mut bridge = orders();
    bridge.spec.api.access_logs =
        Some(webhook_bridge::api::AccessLogs { enabled: true, retention_days: 14, format: None });
    let mut m = api_with_stage(&bridge, (0, 0.0));
    let group = mock!(aws_sdk_cloudwatchlogs::Client::create_log_group)
        .match_requests(|r| {
            r.log_group_name().is_some_and(|n| n.starts_with("/aws/vendedlogs/webhook-bridge/"))
                && r.tags().is_some_and(|t| t.contains_key("webhookbridge.io/owner"))
        })
        .then_output(|| aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupOutput::builder().build());
    let retention = mock!(aws_sdk_cloudwatchlogs::Client::put_retention_policy)
        .match_requests(|r| r.retention_in_days() == Some(14))
        .then_output(|| {
            aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyOutput::builder().build()
        });
    m.logs.extend([group.clone(), retention.clone()]);
    let update = mock!(Apigw::update_stage)
        .match_requests(|r| {
            let logs = r.access_log_settings();
            logs.and_then(|l| l.destination_arn()).is_some_and(|a| {
                a.starts_with("arn:aws:logs:us-east-1:") && a.contains(":log-group:/aws/vendedlogs/webhook-bridge/")
            }) && logs.and_then(|l| l.format()).is_some_and(|f| f.contains("$context.requestId"))
        })
        .then_output(|| UpdateStageOutput::builder().stage_name("dev").build());
    m.apigateway.insert(0, update.clone());
    let engine = mocks::engine(&m);

    one_pass(&engine, &bridge).await;

    assert_eq!((group.num_calls(), retention.num_calls(), update.num_calls()), (1, 1, 1));
}
