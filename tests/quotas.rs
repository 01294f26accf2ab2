//! AWS's default quotas, as scripts/aws_emulator/quotas.py enforces them in front of moto (which
//! has none): a create past a quota is refused with AWS's own code, HTTP status and message, never
//! reaches moto (it is not a committed write), a delete frees room, and a raised quota allows
//! more. Most tests lower a quota through `POST /__quotas` to reach it in a few calls; one checks
//! that the defaults are AWS's numbers. The evidence for each answer is named in quotas.py:
//! EventBridge: tmobile/pacbot#253 (PutRule) and LocalStack's
//! tests/aws/services/events/test_events.snapshot.json `test_add_exceed_fife_targets_per_rule`
//! (PutTargets); IAM: serverless-nextjs/serverless-next.js#2234 and ansible/workshops#1801 (409);
//! API Gateway v2: anomalyco/sst#4522 (429 ConflictException, authorizers) and
//! serverless/serverless-websockets-plugin#22 (integrations).

mod common;

use aws_sdk_apigatewayv2::types::{
    AuthorizerType, DomainNameConfiguration, EndpointType, IntegrationType, JwtConfiguration, ProtocolType,
};
use aws_sdk_eventbridge::types::Target;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use common::*;
use serde_json::json;
use webhook_bridge::aws::Clients;

/// Without the emulator (`MODEL_CHECK=off`) moto answers alone: nothing to test.
fn skipped() -> bool {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped");
    }
    !model_check_enabled()
}

/// Clients that do not retry: the SDK takes EventBridge's `LimitExceededException` for throttling
/// and would retry it, which only slows the test down.
async fn clients(moto: &Moto) -> Clients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "moto"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Clients::new(&config, &Default::default())
}

/// (HTTP status, code, message) of a call AWS refuses.
fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (u16, String, String) {
    let err = result.expect_err("AWS refuses this call");
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (status, err.code().unwrap_or("<none>").to_string(), err.message().unwrap_or("<none>").to_string())
}

/// A new HTTP API's id.
async fn http_api(c: &Clients, name: &str) -> String {
    let api = c.apigateway.create_api().name(name).protocol_type(ProtocolType::Http).send().await.expect("CreateApi");
    api.api_id().expect("api id").to_string()
}

/// How many times moto committed `call` ("service.Op") since the last reset of the stats.
fn committed(moto: &Moto, call: &str) -> u64 {
    moto.fault_stats()["committed_writes_by_call"][call].as_u64().unwrap_or(0)
}

const EVENTS_LIMIT: &str = "The requested resource exceeds the maximum number allowed.";

#[tokio::test]
async fn the_defaults_are_the_aws_quotas_and_can_be_raised_and_reset() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    // Amazon EventBridge quotas (eb-quota.html), IAM and AWS STS quotas (reference_iam-quotas.html),
    // Amazon API Gateway quotas for HTTP APIs (http-api-quotas.html).
    let aws = json!({
        "eventbridge.buses_per_account": 100,
        "eventbridge.rules_per_bus": 300,
        "eventbridge.targets_per_rule": 5,
        "iam.roles_per_account": 1000,
        "apigatewayv2.routes_per_api": 300,
        "apigatewayv2.integrations_per_api": 300,
        "apigatewayv2.authorizers_per_api": 10,
        "apigatewayv2.stages_per_api": 10,
        "apigatewayv2.domain_names_per_account": 120,
        "apigatewayv2.api_mappings_per_domain": 200,
        "eventbridgev2.buses_per_account": 5,
        "eventbridgev2.event_sources_per_account": 200,
        "eventbridgev2.subscribers_per_bus": 10000,
    });
    assert_eq!(moto.quotas(), aws);

    // A raise changes the keys given, the others stay.
    let raised = moto.set_quotas(&json!({"apigatewayv2.routes_per_api": 600}));
    assert_eq!(raised["apigatewayv2.routes_per_api"], 600);
    assert_eq!(raised["eventbridge.targets_per_rule"], 5);
    assert_eq!(moto.quotas(), raised);

    // An unknown key or a bad value is refused, and nothing changes.
    for bad in
        [json!({"eventbridge.buses": 200}), json!({"iam.roles_per_account": -1}), json!({"iam.roles_per_account": "9"})]
    {
        let (status, body) = moto.emulator_call("POST", "/__quotas", Some(&bad));
        assert_eq!(status, 400, "{bad} accepted: {body}");
    }
    assert_eq!(moto.quotas(), raised);

    moto.reset_quotas();
    assert_eq!(moto.quotas(), aws);
}

#[tokio::test]
async fn eventbridge_buses_rules_and_targets_stop_at_their_quotas() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = clients(&moto).await;
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:quota-queue");
    let target = |id: &str| Target::builder().id(id).arn(&queue).build().expect("target");

    // Event buses: the default bus is one of them.
    moto.set_quotas(&json!({"eventbridge.buses_per_account": 3}));
    for name in ["quota-a", "quota-b"] {
        c.events.create_event_bus().name(name).send().await.expect("CreateEventBus");
    }
    moto.reset_fault_stats();
    let refused = refusal(c.events.create_event_bus().name("quota-c").send().await);
    assert_eq!(refused, (400, "LimitExceededException".into(), EVENTS_LIMIT.into()));
    assert_eq!(committed(&moto, "events.CreateEventBus"), 0, "a refused create is not a write");
    let buses = c.events.list_event_buses().send().await.expect("ListEventBuses");
    assert_eq!(buses.event_buses().len(), 3, "moto never saw the refused bus");
    c.events.delete_event_bus().name("quota-b").send().await.expect("DeleteEventBus");
    c.events.create_event_bus().name("quota-c").send().await.expect("a delete frees room");
    moto.set_quotas(&json!({"eventbridge.buses_per_account": 4}));
    c.events.create_event_bus().name("quota-d").send().await.expect("a raised quota allows more");

    // Rules per bus: a new rule past the quota is refused; an existing one is still updated; the
    // quota is per bus.
    moto.set_quotas(&json!({"eventbridge.rules_per_bus": 2}));
    let rule = |name: &str, bus: &str| {
        c.events.put_rule().name(name).event_bus_name(bus).event_pattern(r#"{"source":["quota"]}"#).send()
    };
    rule("r1", "quota-a").await.expect("PutRule");
    rule("r2", "quota-a").await.expect("PutRule");
    moto.reset_fault_stats();
    let refused = refusal(rule("r3", "quota-a").await);
    assert_eq!(refused, (400, "LimitExceededException".into(), EVENTS_LIMIT.into()));
    assert_eq!(committed(&moto, "events.PutRule"), 0);
    rule("r2", "quota-a").await.expect("an update of an existing rule adds none");
    rule("r3", "quota-c").await.expect("another bus has its own quota");
    let rules = c.events.list_rules().event_bus_name("quota-a").send().await.expect("ListRules");
    assert_eq!(rules.rules().len(), 2);
    c.events.delete_rule().name("r1").event_bus_name("quota-a").send().await.expect("DeleteRule");
    rule("r3", "quota-a").await.expect("a delete frees room");

    // Targets per rule, at AWS's default (5): a request that would go past it is refused whole.
    let put = |ids: &[&str]| {
        let mut call = c.events.put_targets().rule("r2").event_bus_name("quota-a");
        for id in ids {
            call = call.targets(target(id));
        }
        call.send()
    };
    moto.reset_fault_stats();
    let refused = refusal(put(&["t1", "t2", "t3", "t4", "t5", "t6"]).await);
    assert_eq!(refused, (400, "LimitExceededException".into(), EVENTS_LIMIT.into()));
    assert_eq!(committed(&moto, "events.PutTargets"), 0);
    let listed = || c.events.list_targets_by_rule().rule("r2").event_bus_name("quota-a").send();
    assert!(listed().await.expect("ListTargetsByRule").targets().is_empty(), "none of the six was made");
    let out = put(&["t1", "t2", "t3", "t4", "t5"]).await.expect("five targets");
    assert_eq!(out.failed_entry_count(), 0);
    let refused = refusal(put(&["t6"]).await);
    assert_eq!(refused, (400, "LimitExceededException".into(), EVENTS_LIMIT.into()));
    put(&["t1"]).await.expect("a target id the rule has is replaced, not added");
    c.events.remove_targets().rule("r2").event_bus_name("quota-a").ids("t5").send().await.expect("RemoveTargets");
    put(&["t6"]).await.expect("a removal frees room");
    assert_eq!(listed().await.expect("ListTargetsByRule").targets().len(), 5);
}

#[tokio::test]
async fn iam_roles_stop_at_the_account_quota() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = clients(&moto).await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let create = |name: &str| c.iam.create_role().role_name(name).assume_role_policy_document(trust).send();
    moto.set_quotas(&json!({"iam.roles_per_account": 2}));
    create("quota-role-1").await.expect("CreateRole");
    create("quota-role-2").await.expect("CreateRole");
    moto.reset_fault_stats();
    // As AWS answered in serverless-nextjs/serverless-next.js#2234 (the quota's value in it).
    let refused = refusal(create("quota-role-3").await);
    assert_eq!(refused, (409, "LimitExceeded".into(), "Cannot exceed quota for RolesPerAccount: 2".into()));
    assert_eq!(committed(&moto, "iam.CreateRole"), 0);
    assert_eq!(c.iam.list_roles().send().await.expect("ListRoles").roles().len(), 2);
    c.iam.delete_role().role_name("quota-role-1").send().await.expect("DeleteRole");
    create("quota-role-3").await.expect("a delete frees room");
    moto.set_quotas(&json!({"iam.roles_per_account": 3}));
    create("quota-role-4").await.expect("a raised quota allows more");
}

/// API Gateway v2's answer to a create past a quota (anomalyco/sst#4522: 429, ConflictException).
fn apigw_limit(what: &str, per: &str) -> (u16, String, String) {
    let message = if what == "Integrations" {
        // As quoted in serverless/serverless-websockets-plugin#22, two spaces included.
        "Maximum number of Integrations for this API has been reached.  Please contact AWS if you need additional Integrations."
            .to_string()
    } else {
        format!(
            "Maximum number of {what} for {per} has been reached. Please contact AWS if you need additional {what}."
        )
    };
    (429, "ConflictException".into(), message)
}

#[tokio::test]
async fn http_api_routes_integrations_authorizers_and_stages_stop_at_their_quotas() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = clients(&moto).await;
    let gw = &c.apigateway;
    let id = http_api(&c, "quota-api").await;
    let other = http_api(&c, "quota-other").await;
    moto.set_quotas(&json!({
        "apigatewayv2.routes_per_api": 2,
        "apigatewayv2.integrations_per_api": 1,
        "apigatewayv2.authorizers_per_api": 1,
        "apigatewayv2.stages_per_api": 1,
    }));

    // Routes.
    let route = |api: &str, key: &str| gw.create_route().api_id(api).route_key(key).send();
    let first = route(&id, "GET /a").await.expect("CreateRoute");
    route(&id, "GET /b").await.expect("CreateRoute");
    moto.reset_fault_stats();
    assert_eq!(refusal(route(&id, "GET /c").await), apigw_limit("Routes", "this API"));
    assert_eq!(committed(&moto, "apigatewayv2.CreateRoute"), 0);
    assert_eq!(gw.get_routes().api_id(&id).send().await.expect("GetRoutes").items().len(), 2);
    route(&other, "GET /c").await.expect("another API has its own quota");
    gw.delete_route().api_id(&id).route_id(first.route_id().expect("id")).send().await.expect("DeleteRoute");
    route(&id, "GET /c").await.expect("a delete frees room");

    // Integrations.
    let integration = |api: &str| {
        gw.create_integration()
            .api_id(api)
            .integration_type(IntegrationType::HttpProxy)
            .integration_method("GET")
            .integration_uri("https://example.com")
            .payload_format_version("1.0")
            .send()
    };
    integration(&id).await.expect("CreateIntegration");
    assert_eq!(refusal(integration(&id).await), apigw_limit("Integrations", "this API"));

    // Authorizers (moto cannot list them: the emulator counts the ones it saw made and moto still has).
    let authorizer = |api: &str, name: &str| {
        gw.create_authorizer()
            .api_id(api)
            .name(name)
            .authorizer_type(AuthorizerType::Jwt)
            .identity_source("$request.header.Authorization")
            .jwt_configuration(
                JwtConfiguration::builder().audience("quota").issuer("https://issuer.example.com").build(),
            )
            .send()
    };
    let made = authorizer(&id, "jwt-1").await.expect("CreateAuthorizer");
    assert_eq!(refusal(authorizer(&id, "jwt-2").await), apigw_limit("Authorizers", "this API"));
    let made_id = made.authorizer_id().expect("authorizer id");
    gw.delete_authorizer().api_id(&id).authorizer_id(made_id).send().await.expect("DeleteAuthorizer");
    authorizer(&id, "jwt-2").await.expect("a delete frees room");

    // Stages.
    gw.create_stage().api_id(&id).stage_name("$default").send().await.expect("CreateStage");
    assert_eq!(refusal(gw.create_stage().api_id(&id).stage_name("v2").send().await), apigw_limit("Stages", "this API"));
    moto.set_quotas(&json!({"apigatewayv2.stages_per_api": 2}));
    gw.create_stage().api_id(&id).stage_name("v2").send().await.expect("a raised quota allows more");

    // Deleting the API takes its routes with it: a new API starts from none.
    gw.delete_api().api_id(&id).send().await.expect("DeleteApi");
    let again = http_api(&c, "quota-again").await;
    route(&again, "GET /a").await.expect("CreateRoute");
    route(&again, "GET /b").await.expect("CreateRoute");
    assert_eq!(refusal(route(&again, "GET /c").await), apigw_limit("Routes", "this API"));
}

#[tokio::test]
async fn custom_domain_names_and_api_mappings_stop_at_their_quotas() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = clients(&moto).await;
    let gw = &c.apigateway;
    let conf = DomainNameConfiguration::builder()
        .certificate_arn(format!("arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000001-aaaa-bbbb-cccc-dddddddddddd"))
        .endpoint_type(EndpointType::Regional)
        .build();
    let domain = |name: &str| gw.create_domain_name().domain_name(name).domain_name_configurations(conf.clone()).send();
    moto.set_quotas(&json!({"apigatewayv2.domain_names_per_account": 1, "apigatewayv2.api_mappings_per_domain": 1}));
    domain("a.quota.example.com").await.expect("CreateDomainName");
    moto.reset_fault_stats();
    assert_eq!(refusal(domain("b.quota.example.com").await), apigw_limit("DomainNames", "this account"));
    assert_eq!(committed(&moto, "apigatewayv2.CreateDomainName"), 0);

    let api = http_api(&c, "quota-mapped").await;
    let api = api.as_str();
    gw.create_stage().api_id(api).stage_name("$default").send().await.expect("CreateStage");
    let map = |key: &str| {
        gw.create_api_mapping()
            .domain_name("a.quota.example.com")
            .api_id(api)
            .stage("$default")
            .api_mapping_key(key)
            .send()
    };
    let mapping = map("v1").await.expect("CreateApiMapping");
    assert_eq!(refusal(map("v2").await), apigw_limit("ApiMappings", "this DomainName"));
    let mapping_id = mapping.api_mapping_id().expect("mapping id");
    gw.delete_api_mapping()
        .domain_name("a.quota.example.com")
        .api_mapping_id(mapping_id)
        .send()
        .await
        .expect("DeleteApiMapping");
    map("v2").await.expect("a delete frees room");
}

#[tokio::test]
async fn concurrent_creates_never_pass_a_quota_together() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = clients(&moto).await;
    let gw = &c.apigateway;
    let api = http_api(&c, "quota-race").await;
    moto.set_quotas(&json!({"apigatewayv2.routes_per_api": 3}));
    let calls = (0..12).map(|i| {
        let (gw, api) = (gw.clone(), api.clone());
        tokio::spawn(async move { gw.create_route().api_id(api).route_key(format!("GET /r{i}")).send().await })
    });
    let mut made = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.expect("task") {
            Ok(_) => made += 1,
            Err(e) => assert_eq!(e.code(), Some("ConflictException"), "{e:?}"),
        }
    }
    assert_eq!(made, 3);
    assert_eq!(gw.get_routes().api_id(&api).send().await.expect("GetRoutes").items().len(), 3);
}
