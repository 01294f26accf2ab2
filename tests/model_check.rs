//! The model check bites: requests that moto would accept but AWS's own service model forbids are
//! answered by scripts/aws_emulator with AWS's error for that protocol, never reach moto,
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

/// CloudWatch Logs (json, `Logs_20140328.*`) is checked like the others, with its own error code
/// for invalid input (InvalidParameterException); retention is checked against the values AWS
/// documents (the model's `Days` has no enum); faults are injected and writes counted on it too.
#[tokio::test]
async fn cloudwatch_logs_requests_are_checked_faulted_and_counted() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let group = "/aws/vendedlogs/webhook-bridge/default/b1";
    c.logs.create_log_group().log_group_name(group).tags("k", "v").send().await.expect("CreateLogGroup");
    c.logs.put_retention_policy().log_group_name(group).retention_in_days(14).send().await.expect("PutRetentionPolicy");

    let (code, message) =
        error_of(c.logs.put_retention_policy().log_group_name(group).retention_in_days(13).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains(
            "PutRetentionPolicy: retentionInDays: value 13 is not one of [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"
        ),
        "{message}"
    );
    let (code, message) = error_of(c.logs.create_log_group().log_group_name("bad name!").send().await);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("CreateLogGroup: logGroupName: value 'bad name!' does not match pattern"), "{message}");
    let seen = moto.expect_violations(2);
    assert_eq!(seen[0]["service"], "logs");

    let groups = c.logs.describe_log_groups().log_group_name_prefix("/aws/vendedlogs/").send().await.expect("Describe");
    let found = groups.log_groups();
    assert_eq!(found.len(), 1, "the refused group was not created: {found:?}");
    assert_eq!(found[0].retention_in_days(), Some(14), "the refused retention did not reach moto");
    let arn = found[0].log_group_arn().expect("logGroupArn");
    let tags = c.logs.list_tags_for_resource().resource_arn(arn).send().await.expect("ListTagsForResource");
    assert_eq!(tags.tags().and_then(|t| t.get("k")).map(String::as_str), Some("v"));

    // Faults, on a client that does not retry (the SDK retries throttles and 5xx).
    let config = aws_sdk_cloudwatchlogs::config::Builder::from(&moto.config().await)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let logs = aws_sdk_cloudwatchlogs::Client::from_conf(config);
    moto.reset_fault_stats();
    moto.set_faults(&FaultConfig { throttle: 1.0, ..FaultConfig::default() });
    let (code, _) = error_of(logs.describe_log_groups().send().await);
    assert_eq!(code, "ThrottlingException");
    moto.set_faults(&FaultConfig { server_error: 1.0, seed: 7, ..FaultConfig::default() });
    for _ in 0..4 {
        let (code, _) = error_of(logs.describe_log_groups().send().await);
        assert_eq!(code, "ServiceUnavailableException", "500 and 503 alike: the logs model's fault");
    }
    moto.clear_faults();
    logs.delete_log_group().log_group_name(group).send().await.expect("DeleteLogGroup");
    let stats = moto.fault_stats();
    assert_eq!(stats["faults_by_call"]["logs.DescribeLogGroups"]["throttle"], 1, "{stats}");
    assert_eq!(stats["faults_by_call"]["logs.DescribeLogGroups"]["server_error"], 4, "{stats}");
    assert_eq!(stats["committed_writes"], 1, "{stats}");
    assert_eq!(stats["committed_writes_by_call"]["logs.DeleteLogGroup"], 1, "{stats}");
}
