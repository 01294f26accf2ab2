//! Subscribers (one per rule target of a webhook-source bridge): describe, create, update, delete.

use super::*;

pub(super) async fn describe_subscriber(client: &Client, arn: &str) -> Result<Option<ObsV2Subscriber>, Error> {
    let out = match client.describe_subscriber().subscriber_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(classify(SVC, "DescribeSubscriber", e)),
    };
    let Some(tags) = tags_of(client, arn).await? else { return Ok(None) };
    let invoke = out.invoke_configuration();
    Ok(Some(ObsV2Subscriber {
        name: out.name().unwrap_or_default().to_string(),
        arn: arn.to_string(),
        target_arn: invoke.map(|i| i.target_arn().to_string()),
        role_arn: invoke.map(|i| i.role_arn().to_string()),
        pattern: out
            .filter_configuration()
            .and_then(|f| f.filters().first())
            .and_then(|f| serde_json::from_str(f.pattern()).ok()),
        state: out.state().map(|s| s.as_str().to_string()),
        revoked: out.revoked().unwrap_or(false),
        retry_policy: out.retry_policy().map(|r| (r.max_retry_attempts(), r.max_event_age_in_seconds())),
        dead_letter_arn: out.on_failure_configuration().and_then(|f| f.arn()).map(str::to_string),
        message_group_id: invoke
            .and_then(|i| i.sqs_parameters())
            .and_then(|p| p.message_group_id())
            .map(str::to_string),
        tags,
    }))
}

fn filter(s: &V2Subscriber) -> Result<FilterConfiguration, Error> {
    let f = Filter::builder()
        .pattern(s.pattern.to_string())
        .scope(FilterScope::Data)
        .build()
        .map_err(|e| Error::Config(format!("subscriber {}: {e}", s.name)))?;
    Ok(FilterConfiguration::builder().filters(f).build())
}

fn is_service(arn: &str, service: &str) -> bool {
    crate::desired::arn_part(arn, 2) == Some(service)
}

fn sqs_parameters(s: &V2Subscriber) -> Option<SqsParameters> {
    let group = s.target.message_group_id.as_ref()?;
    Some(SqsParameters::builder().message_group_id(group).build())
}

fn retry(s: &V2Subscriber) -> Option<RetryPolicy> {
    s.target.retry_policy.map(|(attempts, age)| {
        RetryPolicy::builder().set_max_retry_attempts(attempts).set_max_event_age_in_seconds(age).build()
    })
}

/// RetryPolicy's documented defaults: "(0-185, default: 5)", "(60-86400, default: 300)".
fn default_retry() -> RetryPolicy {
    let (attempts, age) = crate::desired_webhook::retry_or_default(None);
    RetryPolicy::builder().max_retry_attempts(attempts).max_event_age_in_seconds(age).build()
}

fn on_failure(s: &V2Subscriber) -> Option<OnFailureConfiguration> {
    s.target.dead_letter_arn.as_ref().map(|arn| OnFailureConfiguration::builder().arn(arn).build())
}

fn run_state(s: &V2Subscriber) -> SubscriberState {
    if s.enabled { SubscriberState::Running } else { SubscriberState::Stopped }
}

/// CreateSubscriber: the rule's pattern (on the webhook's data), the target with the role, its
/// retry policy and dead-letter queue, our tags and a ClientToken.
pub async fn create_subscriber(client: &Client, d: &Desired, s: &V2Subscriber) -> Result<(), Error> {
    let bus_arn = d.v2.bus_arn.clone().ok_or_else(|| Error::Config("CreateSubscriber: no bus".into()))?;
    let t = &s.target;
    let mut invoke = InvokeConfiguration::builder().role_arn(&s.role_arn).target_arn(&t.arn);
    if is_service(&t.arn, "sqs") {
        invoke = invoke.set_sqs_parameters(sqs_parameters(s));
    }
    if is_service(&t.arn, "lambda") {
        invoke = invoke.lambda_parameters(
            LambdaParameters::builder().invocation_type(aws_sdk_eventbridgev2::types::InvocationType::Event).build(),
        );
    }
    let invoke = invoke.build().map_err(|e| Error::Config(format!("subscriber {}: {e}", s.name)))?;
    let request = client
        .create_subscriber()
        .name(&s.name)
        .event_bus_arn(&bus_arn)
        .invoke_configuration(invoke)
        .filter_configuration(filter(s)?)
        .set_retry_policy(retry(s))
        .set_on_failure_configuration(on_failure(s))
        .state(run_state(s))
        .description(format!("webhook-bridge rule {} of {}", s.rule, d.owner.key()))
        .set_tags(Some(d.tags.clone().into_iter().collect::<BTreeMap<_, _>>().into_iter().collect()))
        .client_token(&s.client_token);
    match Box::pin(request.send()).await {
        Ok(_) => Ok(()),
        Err(e) => Err(write_error(client, "CreateSubscriber", e, &bus_arn, Some(&bus_arn)).await),
    }
}

pub async fn update_subscriber(client: &Client, s: &V2Subscriber, arn: &str) -> Result<(), Error> {
    let mut invoke = UpdateInvokeConfiguration::builder().role_arn(&s.role_arn);
    if is_service(&s.target.arn, "sqs") {
        invoke = invoke.set_sqs_parameters(sqs_parameters(s));
    }
    let invoke = invoke.build().map_err(|e| Error::Config(format!("subscriber {}: {e}", s.name)))?;
    let request = client
        .update_subscriber()
        .subscriber_arn(arn)
        .invoke_configuration(invoke)
        .filter_configuration(filter(s)?)
        // Omitted fields are "left unchanged" (UpdateSubscriber): a retry policy or dead-letter
        // queue the spec dropped is sent as AWS's defaults / an empty OnFailureConfiguration.
        .retry_policy(retry(s).unwrap_or_else(default_retry))
        .on_failure_configuration(on_failure(s).unwrap_or_else(|| OnFailureConfiguration::builder().build()))
        .state(run_state(s));
    match Box::pin(request.send()).await {
        Ok(_) => Ok(()),
        Err(e) => Err(write_error(client, "UpdateSubscriber", e, arn, None).await),
    }
}

pub async fn delete_subscriber(client: &Client, arn: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteSubscriber", NOT_FOUND, client.delete_subscriber().subscriber_arn(arn).send().await)
}
