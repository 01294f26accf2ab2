//! CloudWatch Logs: the access-log group API Gateway delivers to, by its deterministic name
//! (`/aws/vendedlogs/webhook-bridge/<cluster>/<namespace>/<name>`), checked by tag.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::aws::{gone_ok, has_code};
use crate::desired::Desired;
use crate::error::{Error, classify};
use crate::observed::{ObsLogGroup, Observed, Tags};

const SVC: &str = "logs";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
/// DescribeLogGroups' largest page.
const PAGE: i32 = 50;

/// The group named exactly `name` among groups listed by that name as a prefix.
fn exact<'a>(groups: &'a [LogGroup], name: &str) -> Option<&'a LogGroup> {
    groups.iter().find(|g| g.log_group_name() == Some(name))
}

/// Read the log group with the deterministic name, if it exists, with its tags.
pub async fn observe(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    read(client, d, true, into).await
}

/// The log group an earlier pass confirmed as ours: its retention only (no tag read; the
/// ownership tags are taken as the spec's).
pub async fn observe_known(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    read(client, d, false, into).await
}

async fn read(client: &Client, d: &Desired, with_tags: bool, into: &mut Observed) -> Result<(), Error> {
    let name = &d.logs.group_name;
    // The name as a prefix also lists `<name>-x` and `<name>/y` groups: keep the exact one.
    let mut token = None;
    let retention_days = loop {
        let out = client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .limit(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(SVC, "DescribeLogGroups", e))?;
        if let Some(group) = exact(out.log_groups(), name) {
            break group.retention_in_days();
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(());
        }
    };
    if !with_tags {
        into.log_group = Some(ObsLogGroup { name: name.clone(), retention_days, tags: d.tags.clone() });
        return Ok(());
    }
    // Tagging calls take the ARN without the trailing `:*` (d.logs.group_arn).
    let tags: Tags = match client.list_tags_for_resource().resource_arn(&d.logs.group_arn).send().await {
        Ok(out) => out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
        // Deleted since the list: not there.
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(classify(SVC, "ListTagsForResource", e)),
    };
    into.log_group = Some(ObsLogGroup { name: name.clone(), retention_days, tags });
    Ok(())
}

/// Create the log group with our tags. It never expires until [`put_retention`] sets a retention.
/// ResourceAlreadyExistsException stays an error: the plan creates only after observing none, so
/// a group that exists now is someone's since then, for the next observe to classify.
pub async fn create_log_group(client: &Client, d: &Desired) -> Result<(), Error> {
    client
        .create_log_group()
        .log_group_name(&d.logs.group_name)
        .set_tags(Some(d.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateLogGroup", e))?;
    Ok(())
}

/// Set the group's retention to the spec's days (CloudWatch Logs accepts only its listed values:
/// 1, 3, 5, 7, 14, 30, ..., 3653; the spec's validation keeps to them).
pub async fn put_retention(client: &Client, d: &Desired) -> Result<(), Error> {
    client
        .put_retention_policy()
        .log_group_name(&d.logs.group_name)
        .retention_in_days(d.logs.retention_days)
        .send()
        .await
        .map_err(|e| classify(SVC, "PutRetentionPolicy", e))?;
    Ok(())
}

/// Delete the log group and every log event in it.
pub async fn delete_log_group(client: &Client, name: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteLogGroup", NOT_FOUND, client.delete_log_group().log_group_name(name).send().await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::CallCounter;
    use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupOutput;
    use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
    use aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;

    fn d() -> Desired {
        crate::desired::orders_for_tests()
    }

    fn client(rules: &[Rule], counter: &CallCounter) -> Client {
        let c = counter.clone();
        mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, rules, |b| b
            .interceptor(c.clone())
            .retry_config(RetryConfig::disabled()))
    }

    /// An error as CloudWatch Logs (awsJson1.1) sends it.
    fn error(status: u16, code: &str) -> Response {
        let mut r = Response::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::from(format!(r#"{{"__type":"{code}","message":"m"}}"#)),
        );
        r.headers_mut().insert("content-type", "application/x-amz-json-1.1");
        r
    }

    #[tokio::test]
    async fn the_group_is_found_by_exact_name_over_pages_and_its_tags_read_by_the_bare_arn() {
        let d = d();
        let name = d.logs.group_name.clone();
        let (first, second) = (name.clone(), name.clone());
        let tags = d.tags.clone();
        let rules = [
            mock!(Client::describe_log_groups).match_requests(|r| r.next_token().is_none()).then_output(move || {
                DescribeLogGroupsOutput::builder()
                    .log_groups(LogGroup::builder().log_group_name(format!("{first}-2")).build())
                    .next_token("p2")
                    .build()
            }),
            mock!(Client::describe_log_groups).match_requests(|r| r.next_token() == Some("p2")).then_output(
                move || {
                    DescribeLogGroupsOutput::builder()
                        .log_groups(LogGroup::builder().log_group_name(second.clone()).retention_in_days(14).build())
                        .build()
                },
            ),
            mock!(Client::list_tags_for_resource)
                .match_requests(|r| r.resource_arn().is_some_and(|a| !a.ends_with(":*")))
                .then_output(move || {
                    ListTagsForResourceOutput::builder()
                        .set_tags(Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                        .build()
                }),
        ];
        let counter = CallCounter::default();
        let mut into = Observed::default();
        observe(&client(&rules, &counter), &d, &mut into).await.expect("observe");
        assert_eq!(into.log_group, Some(ObsLogGroup { name, retention_days: Some(14), tags: d.tags.clone() }));
        let calls = counter.snapshot();
        assert_eq!(calls.get(&("logs".into(), "DescribeLogGroups".into(), "ok".into())), Some(&2), "{calls:?}");
        assert_eq!(calls.get(&("logs".into(), "ListTagsForResource".into(), "ok".into())), Some(&1), "{calls:?}");
    }

    #[tokio::test]
    async fn no_group_means_none_and_no_tag_read() {
        let rules = [mock!(Client::describe_log_groups).then_output(|| DescribeLogGroupsOutput::builder().build())];
        let counter = CallCounter::default();
        let mut into = Observed::default();
        observe(&client(&rules, &counter), &d(), &mut into).await.expect("observe");
        assert_eq!(into.log_group, None);
        assert_eq!(counter.reads(), 1);
    }

    #[tokio::test]
    async fn writes_send_the_name_tags_and_retention() {
        let d = d();
        let (name, tags) = (d.logs.group_name.clone(), d.tags.clone());
        let rules = [
            mock!(Client::create_log_group)
                .match_requests(move |r| {
                    r.log_group_name() == Some(name.as_str())
                        && r.tags()
                            .is_some_and(|t| t.len() == tags.len() && tags.iter().all(|(k, v)| t.get(k) == Some(v)))
                })
                .then_output(|| CreateLogGroupOutput::builder().build()),
            mock!(Client::put_retention_policy).match_requests(|r| r.retention_in_days() == Some(30)).then_output(
                || aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyOutput::builder().build(),
            ),
            mock!(Client::delete_log_group).then_http_response(|| error(400, "ResourceNotFoundException")),
        ];
        let c = client(&rules, &CallCounter::default());
        create_log_group(&c, &d).await.expect("create");
        put_retention(&c, &d).await.expect("retention");
        delete_log_group(&c, &d.logs.group_name).await.expect("a group already gone is deleted");
    }

    #[tokio::test]
    async fn errors_are_classified() {
        let d = d();
        for (code, retryable, quota) in [
            ("OperationAbortedException", true, false),
            ("ServiceUnavailableException", true, false),
            ("ThrottlingException", true, false),
            ("ResourceAlreadyExistsException", true, false),
            ("LimitExceededException", false, true),
            ("InvalidParameterException", false, false),
        ] {
            let rules = [mock!(Client::create_log_group).then_http_response(move || error(400, code))];
            let e = create_log_group(&client(&rules, &CallCounter::default()), &d).await.expect_err(code);
            assert_eq!(e.is_retryable(), retryable, "{code}: {e}");
            assert_eq!(matches!(e, Error::QuotaExceeded { .. }), quota, "{code}: {e}");
        }
    }

    #[test]
    fn only_the_exact_name_matches_the_prefix_listing() {
        let name = "/aws/vendedlogs/webhook-bridge/c1/payments/orders";
        let groups = [
            LogGroup::builder().log_group_name(format!("{name}-v2")).retention_in_days(7).build(),
            LogGroup::builder().log_group_name(format!("{name}/x")).build(),
            LogGroup::builder().log_group_name(name).retention_in_days(30).build(),
        ];
        assert_eq!(exact(&groups, name).and_then(|g| g.retention_in_days()), Some(30));
        assert!(exact(&groups[..2], name).is_none());
    }
}
