//! What real AWS needs that moto never asked for, each against the answer AWS documents, decoded
//! by the real SDK through `aws-smithy-mocks`: rule deletes that race target removal, failed
//! target entries, quotas, IAM's eventual consistency, rule ARNs on the default bus, StartReplay's
//! error classes and route paths API Gateway refuses together.

mod common;

use aws_sdk_eventbridge::operation::put_rule::PutRuleOutput;
use aws_sdk_eventbridge::operation::remove_targets::RemoveTargetsOutput;
use aws_sdk_eventbridge::types::RemoveTargetsResultEntry;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::mocks::aws_json_error;
use common::{ACCOUNT, REGION};
use serde_json::json;
use webhook_bridge::aws::eventbridge;
use webhook_bridge::desired::{self, AwsEnv, Desired};
use webhook_bridge::error::Error;

fn env() -> AwsEnv {
    AwsEnv { region: REGION.into(), account: ACCOUNT.into(), partition: "aws".into() }
}

fn desired_of(patch: impl Fn(&mut serde_json::Value)) -> Desired {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("example");
    let mut v: serde_json::Value = serde_saphyr::from_str(&yaml).expect("yaml");
    patch(&mut v);
    let bridge = common::bridge(&serde_json::to_string(&v).expect("json"));
    let engine_owner = webhook_bridge::owner::Owner::local("c", "default", "orders");
    desired::desired(&bridge, &engine_owner, &env())
}

/// Right after RemoveTargets, DeleteRule may be refused while the removal propagates: retry.
#[tokio::test]
async fn a_rule_delete_refused_for_lingering_targets_is_retried_not_terminal() {
    let d = desired_of(|_| {});
    let delete = mock!(aws_sdk_eventbridge::Client::delete_rule).then_http_response(|| {
        aws_json_error(400, "ValidationException", "Rule can't be deleted since it has targets.")
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&delete]);
    let err = eventbridge::delete_rule(&client, &d, "whb-x-create-order").await.expect_err("refused");
    assert!(err.is_retryable(), "{err:?}");
}

/// RemoveTargets answers 200 with FailedEntryCount when some targets were not removed.
#[tokio::test]
async fn failed_target_entries_are_errors_retryable_only_when_aws_says_so() {
    let d = desired_of(|_| {});
    for (code, retryable) in [("ConcurrentModificationException", true), ("ValidationException", false)] {
        let remove = mock!(aws_sdk_eventbridge::Client::remove_targets).then_output(move || {
            RemoveTargetsOutput::builder()
                .failed_entry_count(1)
                .failed_entries(
                    RemoveTargetsResultEntry::builder().target_id("t1").error_code(code).error_message("no").build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&remove]);
        let err = eventbridge::remove_targets(&client, &d, "rule", &["t1".to_string()]).await.expect_err(code);
        assert_eq!(err.is_retryable(), retryable, "{code}: {err}");
        assert!(err.to_string().contains("target t1"), "{err}");
    }
}

/// LimitExceededException is a quota (e.g. 300 rules per bus), not throttling: terminal, plainly said.
#[tokio::test]
async fn a_reached_quota_is_terminal_and_says_what_to_do() {
    let d = desired_of(|_| {});
    let put = mock!(aws_sdk_eventbridge::Client::put_rule).then_http_response(|| {
        aws_json_error(400, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
    });
    let ok = mock!(aws_sdk_eventbridge::Client::put_rule).then_output(|| PutRuleOutput::builder().build());
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&put, &ok]);
    let err = eventbridge::put_rule(&client, &d, &d.rules[0], true).await.expect_err("quota");
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.reason(), "QuotaExceeded");
    assert!(err.to_string().contains("Service Quotas"), "{err}");
}

/// On the default bus a rule's ARN is `rule/<name>`; a Lambda permission scoped to
/// `rule/default/<name>` would never match.
#[test]
fn rules_on_the_default_bus_have_the_short_arn() {
    let d = desired_of(|v| {
        v["spec"]["eventBus"] = json!({"existingArn": format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default")});
    });
    let rule = &d.rules[0];
    assert_eq!(rule.arn, format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{}", rule.name));
    assert!(d.permissions().iter().all(|p| !p.source_arn.contains("rule/default/")), "{:?}", d.permissions());
    let custom = desired_of(|_| {});
    assert_eq!(
        custom.rules[0].arn,
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/custom-events-dev/{}", custom.rules[0].name)
    );
}

/// IAM is eventually consistent: PutRolePolicy right after CreateRole may answer NoSuchEntity.
#[tokio::test]
async fn no_such_entity_right_after_our_create_is_retried() {
    let d = desired_of(|_| {});
    let put = mock!(aws_sdk_iam::Client::put_role_policy)
        .then_http_response(|| common::mocks::query_error(404, "NoSuchEntity", "The role cannot be found."));
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&put]);
    let err = webhook_bridge::aws::iam::put_role_policy(&client, &d).await.expect_err("not yet");
    assert!(err.is_retryable(), "{err:?}");
}

/// Many bridges targeting one function fill its 20 KB resource policy.
#[tokio::test]
async fn a_full_lambda_policy_is_terminal_and_names_the_function() {
    let d = desired_of(|_| {});
    let p = d.permissions()[0].clone();
    let add = mock!(aws_sdk_lambda::Client::add_permission).then_http_response(|| {
        common::mocks::rest_json_error(
            400,
            "PolicyLengthExceededException",
            "The final policy size (20539) is bigger than the limit (20480).",
        )
    });
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&add]);
    let err = webhook_bridge::aws::lambda::add_permission(&client, &p).await.expect_err("full");
    assert!(matches!(err, Error::QuotaExceeded { .. }) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains(&p.function_arn) && err.to_string().contains("20 KB"), "{err}");
}

fn replay_request() -> webhook_bridge::replay::Request {
    let now = jiff::Timestamp::now();
    webhook_bridge::replay::Request {
        archive_arn: format!("arn:aws:events:{REGION}:{ACCOUNT}:archive/whb-orders"),
        archive_name: "whb-orders".into(),
        bus_arn: format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/custom-events-dev"),
        filter_arns: vec![],
        window: webhook_bridge::replay::Window { from: now - jiff::SignedDuration::from_hours(1), to: now },
        description: "test".into(),
    }
}

/// StartReplay with a name taken (two replays within one second) answers, per LocalStack's
/// AWS-validated snapshot tests/aws/services/events/test_archive_and_replay.snapshot.json
/// (test_start_replay_error_duplicate_name_same_archive), 400 ResourceAlreadyExistsException
/// "Replay <replay-name> already exists.": the next second's name is tried, not an error.
#[tokio::test]
async fn a_replay_name_taken_within_the_second_is_tried_again_with_the_next() {
    let start = mock!(aws_sdk_eventbridge::Client::start_replay)
        .sequence()
        .http_response(|| aws_json_error(400, "ResourceAlreadyExistsException", "Replay whb-orders-x already exists."))
        .output(|| aws_sdk_eventbridge::operation::start_replay::StartReplayOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&start]);
    webhook_bridge::replay::start(&client, &replay_request()).await.expect("started on the second try");
    assert_eq!(start.num_calls(), 2);
}

/// Too many active replays: 400 LimitExceededException "The requested resource exceeds the
/// maximum number allowed." (the same snapshot file, tests_concurrency_error_too_many_active_replays).
/// It clears when a replay ends: retryable (CLI exit 5), not a quota to raise.
#[tokio::test]
async fn too_many_active_replays_is_temporary_not_a_quota() {
    let start = mock!(aws_sdk_eventbridge::Client::start_replay).then_http_response(|| {
        aws_json_error(400, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&start]);
    let err = webhook_bridge::replay::start(&client, &replay_request()).await.expect_err("limit");
    assert!(matches!(&err, Error::Transient { code, .. } if code == "LimitExceededException"), "{err:?}");
    assert!(err.is_retryable() && !err.to_string().contains("Service Quotas"), "{err}");
    assert!(err.to_string().contains("run again"), "{err}");
}

/// Route paths with different variable names at one level (`/orders/{id}` and
/// `/orders/{orderId}/...`): API Gateway answers 409 ConflictException forever (evidence in
/// `webhook_bridge::route_paths`). Refused offline, naming the field, before any AWS write.
#[tokio::test]
async fn route_paths_with_different_variables_at_one_level_are_refused_before_any_write() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("example");
    let mut v: serde_json::Value = serde_saphyr::from_str(&yaml).expect("yaml");
    let mut second = v["spec"]["routes"][0].clone();
    v["spec"]["routes"][0]["path"] = json!("/orders/{id}");
    second["name"] = json!("items");
    second["path"] = json!("/orders/{orderId}/items");
    v["spec"]["routes"].as_array_mut().expect("routes").push(second);
    let bridge = common::bridge(&serde_json::to_string(&v).expect("json"));
    let engine = common::mocks::engine(&common::mocks::Mocks::default());

    let err = engine.reconcile(&bridge).await.expect_err("refused");

    assert!(
        matches!(&err, Error::InvalidSpec(f) if f.iter().any(|f| f.field == "spec.routes[1].path" && f.message.contains("{orderId}"))),
        "{err}"
    );
    assert_eq!(engine.aws.counter.writes(), 0);
}
