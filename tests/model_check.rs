//! The model check bites: requests that moto would accept but AWS's own service model forbids are
//! answered by scripts/aws_model_proxy.py with AWS's error for that protocol, never reach moto,
//! and are recorded; valid requests go through untouched.

mod common;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::*;

/// (code, message) of a failed call's AWS error.
fn error_of<E: ProvideErrorMetadata, T: std::fmt::Debug>(result: Result<T, E>) -> (String, String) {
    let err = result.expect_err("the model forbids this request");
    (err.code().unwrap_or("<none>").to_string(), err.message().unwrap_or("<none>").to_string())
}

/// With `MODEL_CHECK=off` (moto alone, to time the check) there is nothing to prove.
fn skipped() -> bool {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped");
    }
    !model_check_enabled()
}

#[tokio::test]
async fn requests_the_model_forbids_are_refused_with_the_aws_error_and_recorded() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let long = |n: usize| "x".repeat(n);

    // Valid requests go through to moto.
    let who = c.sts.get_caller_identity().send().await.expect("GetCallerIdentity");
    assert_eq!(who.account(), Some(ACCOUNT));
    let api = c
        .apigateway
        .create_api()
        .name("model-check")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .tags("k", "v")
        .send()
        .await
        .expect("CreateApi");
    let api_id = api.api_id().expect("api id");
    c.events.put_rule().name("ok-rule").event_pattern(r#"{"source":["x"]}"#).send().await.expect("PutRule");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    c.iam
        .create_role()
        .role_name("ok-role")
        .path("/whb/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("CreateRole");
    assert!(moto.violations().is_empty(), "valid requests recorded: {:?}", moto.violations());

    // apigatewayv2 (rest-json): a limit that exists only in the shape's name.
    let (code, message) = error_of(
        c.apigateway
            .create_integration()
            .api_id(api_id)
            .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy)
            .integration_subtype("EventBridge-PutEvents")
            .payload_format_version("1.0")
            .request_parameters("Detail", long(600))
            .request_parameters("DetailType", "x")
            .request_parameters("Source", "y")
            .send()
            .await,
    );
    assert_eq!(code, "BadRequestException");
    assert!(
        message.contains(
            "CreateIntegration: RequestParameters.Detail: length 600 > max 512 (StringWithLengthBetween1And512)"
        ),
        "{message}"
    );
    let integrations = c.apigateway.get_integrations().api_id(api_id).send().await.expect("GetIntegrations");
    assert!(integrations.items().is_empty(), "the refused request did not reach moto");

    // events (json): name length, tag value length.
    let (code, message) =
        error_of(c.events.put_rule().name(long(65)).event_pattern(r#"{"source":["x"]}"#).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("PutRule: Name: length 65 > max 64 (RuleName)"), "{message}");
    let rule_arn = format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/ok-rule");
    let tag = aws_sdk_eventbridge::types::Tag::builder().key("k").value(long(257)).build().expect("tag");
    let (code, message) = error_of(c.events.tag_resource().resource_arn(&rule_arn).tags(tag).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("TagResource: Tags[0].Value: length 257 > max 256 (TagValue)"), "{message}");
    let rules = c.events.list_rules().send().await.expect("ListRules");
    assert_eq!(rules.rules().len(), 1, "only the valid rule reached moto");

    // iam (query): role name length, path pattern.
    let (code, message) =
        error_of(c.iam.create_role().role_name(long(65)).assume_role_policy_document(trust).send().await);
    assert_eq!(code, "ValidationError");
    assert!(message.contains("CreateRole: RoleName: length 65 > max 64 (roleNameType)"), "{message}");
    let (code, message) =
        error_of(c.iam.create_role().role_name("bad-path").path("whb").assume_role_policy_document(trust).send().await);
    assert_eq!(code, "ValidationError");
    assert!(message.contains("CreateRole: Path: value 'whb' does not match pattern"), "{message}");
    assert!(c.iam.get_role().role_name("bad-path").send().await.is_err(), "the refused role was not created");

    // lambda (rest-json): a function name outside its pattern, a page size below its minimum.
    let (code, message) = error_of(c.lambda.get_policy().function_name("not a name").send().await);
    assert_eq!(code, "InvalidParameterValueException");
    assert!(message.contains("GetPolicy: FunctionName: value 'not a name' does not match pattern"), "{message}");
    let (code, message) = error_of(c.lambda.list_functions().max_items(0).send().await);
    assert_eq!(code, "InvalidParameterValueException");
    assert!(message.contains("ListFunctions: MaxItems: value 0 < min 1 (MaxListItems)"), "{message}");

    // sns (query): a tag value over its limit.
    let tag = aws_sdk_sns::types::Tag::builder().key("k").value(long(257)).build().expect("tag");
    let (code, message) = error_of(c.sns.create_topic().name("model-check").tags(tag).send().await);
    assert_eq!(code, "ValidationError");
    assert!(message.contains("CreateTopic: Tags[0].Value: length 257 > max 256 (TagValue)"), "{message}");

    let seen = moto.expect_violations(8);
    let operations: Vec<&str> = seen.iter().filter_map(|v| v["operation"].as_str()).collect();
    assert_eq!(
        operations,
        [
            "CreateIntegration",
            "PutRule",
            "TagResource",
            "CreateRole",
            "CreateRole",
            "GetPolicy",
            "ListFunctions",
            "CreateTopic"
        ]
    );

    // Moto's own endpoints pass through unchecked, and the proxy keeps working after them.
    moto.reset();
    assert!(c.iam.get_role().role_name("ok-role").send().await.is_err(), "reset reached moto");
    c.events.put_rule().name("ok-rule").event_pattern(r#"{"source":["x"]}"#).send().await.expect("PutRule");
    assert!(moto.violations().is_empty());
}

#[tokio::test]
#[should_panic(expected = "broke AWS's service model")]
async fn a_violation_fails_the_test_even_when_the_caller_ignores_the_error() {
    if skipped() {
        panic!("broke AWS's service model: not checked, MODEL_CHECK=off");
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    // The error is swallowed, as an engine retrying or logging it might: the drop still fails.
    let _ = c.events.put_rule().name("x".repeat(65)).send().await;
}

#[tokio::test]
async fn a_stopped_emulator_comes_back_behind_the_check_on_the_same_port() {
    if skipped() {
        return;
    }
    let mut moto = Moto::start();
    let port = moto.port();
    moto.stop();
    let c = moto.clients().await;
    assert!(c.sts.get_caller_identity().send().await.is_err(), "stopped: the endpoint is unreachable");
    let again = Moto::start_on(Some(port));
    assert_eq!(again.port(), port);
    let c = again.clients().await;
    c.sts.get_caller_identity().send().await.expect("back on the same port");
    let _ = c.events.put_rule().name("x".repeat(65)).send().await;
    assert_eq!(again.expect_violations(1)[0]["operation"], "PutRule", "the check is back too");
}
