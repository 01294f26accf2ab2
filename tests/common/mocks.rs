//! Engines over `aws-smithy-mocks` clients, for AWS behaviours the emulator does not reproduce.
//! Unexpected calls fail the test (no rule matches); every call is still counted. Only the reads of
//! custom domains, the access-log group and the archive have a default, after a test's own rules:
//! none exist (see `absent`).

use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use webhook_bridge::aws::{Aws, CallCounter, Clients};
use webhook_bridge::engine::Engine;

use super::{ACCOUNT, REGION};

#[derive(Default)]
pub struct Mocks {
    pub apigateway: Vec<Rule>,
    pub events: Vec<Rule>,
    pub iam: Vec<Rule>,
    pub lambda: Vec<Rule>,
    pub sqs: Vec<Rule>,
    pub sns: Vec<Rule>,
    pub logs: Vec<Rule>,
}

/// Defaults after a test's own rules: the account has no custom domain name, no access-log group
/// and no archive (tests of those give their own answers first).
fn absent() -> (Rule, Rule, Rule) {
    (
        mock!(aws_sdk_apigatewayv2::Client::get_domain_names)
            .then_output(|| aws_sdk_apigatewayv2::operation::get_domain_names::GetDomainNamesOutput::builder().build()),
        mock!(aws_sdk_eventbridge::Client::describe_archive)
            .then_http_response(|| aws_json_error(400, "ResourceNotFoundException", "Archive does not exist.")),
        mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups).then_output(|| {
            aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput::builder().build()
        }),
    )
}

/// An engine whose AWS answers come from the rules (STS always answers with the test account).
pub fn engine(m: &Mocks) -> Engine {
    let (no_domains, no_archive, no_log_group) = absent();
    let counter = CallCounter::default();
    let sts_rule = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        GetCallerIdentityOutput::builder().account(ACCOUNT).arn(format!("arn:aws:iam::{ACCOUNT}:user/test")).build()
    });
    let c = counter.clone();
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&sts_rule], |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let apigateway =
        mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, m.apigateway.iter().chain([&no_domains]), |b| b
            .interceptor(c.clone())
            .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, m.events.iter().chain([&no_archive]), |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &m.iam, |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &m.lambda, |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &m.sqs, |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, &m.sns, |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let c = counter.clone();
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, m.logs.iter().chain([&no_log_group]), |b| b
        .interceptor(c.clone())
        .retry_config(RetryConfig::disabled()));
    let clients = Clients::from_parts(REGION, apigateway, events, iam, lambda, sts, sqs, sns, logs);
    let mut engine = Engine::new(Aws::from_clients(clients, counter), "test-cluster");
    engine.retry_delay = std::time::Duration::from_millis(5);
    engine
}

/// An AWS JSON error on the wire, as API Gateway v2 (restJson1) sends it.
pub fn rest_json_error(status: u16, code: &str, message: &str) -> Response {
    let mut r = Response::new(
        StatusCode::try_from(status).expect("status"),
        SdkBody::from(format!(r#"{{"message":"{message}"}}"#)),
    );
    r.headers_mut().insert("x-amzn-ErrorType", code.to_string());
    r.headers_mut().insert("content-type", "application/json");
    r
}

/// An AWS JSON error on the wire, as EventBridge (awsJson1.1) sends it.
pub fn aws_json_error(status: u16, code: &str, message: &str) -> Response {
    let mut r = Response::new(
        StatusCode::try_from(status).expect("status"),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    );
    r.headers_mut().insert("content-type", "application/x-amz-json-1.1");
    r
}

/// An AWS query-protocol error on the wire, as IAM sends it.
pub fn query_error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    );
    let mut r = Response::new(StatusCode::try_from(status).expect("status"), SdkBody::from(body));
    r.headers_mut().insert("content-type", "text/xml");
    r
}
