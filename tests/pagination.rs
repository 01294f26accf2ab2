//! Every list the engine reads is paged: the bridge's own objects on page 2 are found, so no
//! duplicate is created (a CreateApi for an API on page 2 would make a second API). Pages are
//! AWS-shaped answers through `aws-smithy-mocks`, chosen by the request's NextToken.

mod common;

use aws_sdk_apigatewayv2::operation::get_apis::GetApisOutput;
use aws_sdk_apigatewayv2::operation::get_authorizers::GetAuthorizersOutput;
use aws_sdk_apigatewayv2::operation::get_integrations::GetIntegrationsOutput;
use aws_sdk_apigatewayv2::operation::get_routes::GetRoutesOutput;
use aws_sdk_apigatewayv2::operation::get_stages::GetStagesOutput;
use aws_sdk_apigatewayv2::types::{Api, Authorizer, Integration, ProtocolType, Route, Stage};
use aws_sdk_eventbridge::operation::describe_event_bus::DescribeEventBusOutput;
use aws_sdk_eventbridge::operation::list_rules::ListRulesOutput;
use aws_sdk_eventbridge::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleOutput;
use aws_sdk_eventbridge::types::{Rule as EbRule, Tag, Target};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::{ACCOUNT, REGION};
use webhook_bridge::aws::{apigateway, eventbridge};
use webhook_bridge::desired::{self, AwsEnv, Desired};
use webhook_bridge::observed::Observed;
use webhook_bridge::owner::{Owner, route_of_integration};

fn desired(example: &str) -> Desired {
    let bridge = common::example(example);
    let env = AwsEnv { region: REGION.into(), account: ACCOUNT.into(), partition: "aws".into() };
    desired::desired(&bridge, &Owner::local("c", "default", bridge.metadata.name.as_deref().unwrap_or("")), &env)
}

#[tokio::test]
async fn api_gateway_objects_on_page_two_are_found() {
    let d = desired("jwt.yaml");
    let tags: std::collections::HashMap<String, String> = d.tags.clone().into_iter().collect();
    let route = &d.routes[0];
    let (marker, route_key) = (route.integration.description.clone(), route.route_key.clone());
    assert_eq!(route_of_integration(&marker), Some(route.name.as_str()));
    let authorizer = d.authorizers[0].name.clone();
    let first = |r: Option<&str>| r.is_none();
    let second = |r: Option<&str>| r == Some("page-2");
    let rules = [
        mock!(aws_sdk_apigatewayv2::Client::get_apis).match_requests(move |r| first(r.next_token())).then_output(
            || {
                let foreign = Api::builder()
                    .api_id("theirs")
                    .name("x")
                    .protocol_type(ProtocolType::Http)
                    .route_selection_expression("$request.method $request.path")
                    .build();
                GetApisOutput::builder().items(foreign).next_token("page-2").build()
            },
        ),
        mock!(aws_sdk_apigatewayv2::Client::get_apis).match_requests(move |r| second(r.next_token())).then_output(
            move || {
                let ours = Api::builder()
                    .api_id("ours")
                    .name("default-partner-events")
                    .protocol_type(ProtocolType::Http)
                    .route_selection_expression("$request.method $request.path")
                    .set_tags(Some(tags.clone()))
                    .build();
                GetApisOutput::builder().items(ours).build()
            },
        ),
        mock!(aws_sdk_apigatewayv2::Client::get_stages)
            .then_output(|| GetStagesOutput::builder().items(Stage::builder().stage_name("$default").build()).build()),
        mock!(aws_sdk_apigatewayv2::Client::get_integrations)
            .match_requests(move |r| first(r.next_token()))
            .then_output(|| GetIntegrationsOutput::builder().next_token("page-2").build()),
        mock!(aws_sdk_apigatewayv2::Client::get_integrations)
            .match_requests(move |r| second(r.next_token()))
            .then_output(move || {
                GetIntegrationsOutput::builder()
                    .items(Integration::builder().integration_id("int1").description(&marker).build())
                    .build()
            }),
        mock!(aws_sdk_apigatewayv2::Client::get_routes)
            .match_requests(move |r| first(r.next_token()))
            .then_output(|| GetRoutesOutput::builder().next_token("page-2").build()),
        mock!(aws_sdk_apigatewayv2::Client::get_routes).match_requests(move |r| second(r.next_token())).then_output(
            move || {
                GetRoutesOutput::builder()
                    .items(Route::builder().route_id("route1").route_key(&route_key).build())
                    .build()
            },
        ),
        mock!(aws_sdk_apigatewayv2::Client::get_authorizers)
            .match_requests(move |r| first(r.next_token()))
            .then_output(|| GetAuthorizersOutput::builder().next_token("page-2").build()),
        mock!(aws_sdk_apigatewayv2::Client::get_authorizers)
            .match_requests(move |r| second(r.next_token()))
            .then_output(move || {
                GetAuthorizersOutput::builder()
                    .items(Authorizer::builder().authorizer_id("auth1").name(&authorizer).build())
                    .build()
            }),
    ];
    let client = mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, &rules);
    let mut o = Observed::default();
    apigateway::observe(&client, &d.owner, webhook_bridge::desired::RouteScope::WholeApi, true, &mut o)
        .await
        .expect("observe");
    assert_eq!(o.api().map(|a| a.id.as_str()), Some("ours"), "our API is on page 2");
    assert_eq!((o.integrations.len(), o.routes.len(), o.authorizers.len()), (1, 1, 1), "{o:#?}");
    let actions = webhook_bridge::plan::plan(&d, &o).expect("plan");
    assert!(
        !actions.iter().any(|a| matches!(
            a,
            webhook_bridge::plan::Action::CreateApi { .. }
                | webhook_bridge::plan::Action::CreateIntegration { .. }
                | webhook_bridge::plan::Action::CreateRoute { .. }
                | webhook_bridge::plan::Action::CreateAuthorizer { .. }
        )),
        "a duplicate would be created: {actions:?}"
    );
}

#[tokio::test]
async fn rules_and_targets_on_page_two_are_found() {
    let d = desired("orders.yaml");
    let tags: Vec<Tag> = d.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build().expect("tag")).collect();
    let (bus_arn, rules_wanted) = (d.bus.arn.clone(), d.rules.clone());
    let rule = rules_wanted[0].clone();
    let first = |r: Option<&str>| r.is_none();
    let second = |r: Option<&str>| r == Some("page-2");
    let rules = [
        mock!(aws_sdk_eventbridge::Client::describe_event_bus)
            .then_output(move || DescribeEventBusOutput::builder().name("custom-events-dev").arn(&bus_arn).build()),
        mock!(aws_sdk_eventbridge::Client::list_tags_for_resource)
            .then_output(move || ListTagsForResourceOutput::builder().set_tags(Some(tags.clone())).build()),
        mock!(aws_sdk_eventbridge::Client::list_rules)
            .match_requests(move |r| first(r.next_token()))
            .then_output(|| ListRulesOutput::builder().next_token("page-2").build()),
        mock!(aws_sdk_eventbridge::Client::list_rules).match_requests(move |r| second(r.next_token())).then_output(
            move || {
                let rules = rules_wanted.iter().map(|r| EbRule::builder().name(&r.name).arn(&r.arn).build()).collect();
                ListRulesOutput::builder().set_rules(Some(rules)).build()
            },
        ),
        mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
            .match_requests(move |r| first(r.next_token()))
            .then_output(|| {
                let t = Target::builder().id("t-1").arn("arn:aws:sqs:us-east-1:123456789012:one").build().expect("t");
                ListTargetsByRuleOutput::builder().targets(t).next_token("page-2").build()
            }),
        mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
            .match_requests(move |r| second(r.next_token()))
            .then_output(move || {
                let t = Target::builder().id(&rule.targets[0].id).arn(&rule.targets[0].arn).build().expect("t");
                ListTargetsByRuleOutput::builder().targets(t).build()
            }),
    ];
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &rules);
    let mut o = Observed::default();
    eventbridge::observe(&client, &d, &mut o).await.expect("observe");
    assert_eq!(o.rules.len(), 2, "both rules are on page 2");
    assert!(o.rules.iter().all(|r| r.targets.len() == 2), "a target on each page: {:#?}", o.rules);

    // The bus delete check reads every page of rules too (someone else's rule on page 2).
    let pages = [
        mock!(aws_sdk_eventbridge::Client::list_rules)
            .match_requests(move |r| first(r.next_token()))
            .then_output(|| ListRulesOutput::builder().next_token("page-2").build()),
        mock!(aws_sdk_eventbridge::Client::list_rules).match_requests(move |r| second(r.next_token())).then_output(
            || ListRulesOutput::builder().rules(EbRule::builder().name("billing-team-rule").build()).build(),
        ),
    ];
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &pages);
    assert_eq!(
        eventbridge::rules_on(&client, "custom-events-dev").await.expect("rules"),
        Some(vec!["billing-team-rule".to_string()])
    );
}
