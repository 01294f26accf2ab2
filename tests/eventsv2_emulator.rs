//! The emulator's EventBridge Custom Event Bus API (`eventbridgev2`, scripts/aws_emulator/
//! shims_eventsv2.py, eventsv2_webhooks.py), which moto lacks: the real aws-sdk-eventbridgev2
//! client's Smithy RPC v2 CBOR requests pass the model check, and the emulator answers as the
//! botocore 1.44.8 model (eventbridgev2 2025-05-15) documents: asynchronous states, ClientToken
//! idempotency, name conflicts, quotas, tags, rotation, delete order; and the webhook data plane
//! verifies requests as "Securing a webhook event source" (EventBridge user guide,
//! eb-custom-bus-webhook-auth) says and delivers accepted ones to subscribers.
//!
//! aws-sdk-eventbridgev2 1.7.0 (the version in Cargo.lock) predates webhook event sources: it has
//! no `WebhookEventsConfiguration`, `EventSourceDetails` or `RotateWebhookCredentials`. Those calls
//! are sent here as the same protocol's raw requests (`cbor_call`, a small CBOR codec below);
//! everything else goes through the SDK.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_eventbridgev2::client::Waiters;
use aws_sdk_eventbridgev2::types::BusState;
use aws_sdk_eventbridgev2::types::{
    AwsServiceEventsSourceConfiguration, EventSourceConfiguration, EventSourceState, Filter, FilterConfiguration,
    FilterScope, InvokeConfiguration, PutEventsRequestEntry, Transformer, TransformerType,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use common::eventsv2::{cbor_call, code, http};
use common::*;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/webhook-bridge-events";
const LIMIT: &str = "The requested resource exceeds the maximum number allowed.";

fn skipped() -> bool {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped (the eventbridgev2 emulation is the proxy's)");
    }
    !model_check_enabled()
}

/// A client that does not retry (a refusal is seen once; a held request fails at release).
async fn client(moto: &Moto) -> aws_sdk_eventbridgev2::Client {
    let config = aws_sdk_eventbridgev2::config::Builder::from(&moto.config().await)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_eventbridgev2::Client::from_conf(config)
}

/// (HTTP status, code, message) of a refused SDK call.
fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (u16, String, String) {
    let err = result.expect_err("the emulator refuses this call");
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (status, err.code().unwrap_or("<none>").to_string(), err.message().unwrap_or("<none>").to_string())
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A bus that is ACTIVE: created, then described until it is (the EventBusActive waiter's path).
async fn active_bus(c: &aws_sdk_eventbridgev2::Client, name: &str) -> String {
    let bus = c.create_event_bus().name(name).send().await.expect("CreateEventBus");
    assert_eq!(bus.state(), Some(&BusState::Creating), "a bus starts CREATING");
    let arn = bus.event_bus_arn().expect("EventBusArn").to_string();
    for _ in 0..5 {
        let d = c.describe_event_bus().event_bus_arn(&arn).send().await.expect("DescribeEventBus");
        if d.state() == Some(&BusState::Active) {
            return arn;
        }
    }
    panic!("bus {arn} never ACTIVE");
}

/// A webhook event source (raw CBOR: not in SDK 1.7) described until ACTIVE: its ARN, WebhookUrl
/// and SecretArn.
fn webhook_source(moto: &Moto, bus: &str, name: &str, config: Value) -> (String, String, String) {
    let (status, doc) = cbor_call(
        moto,
        "CreateEventSource",
        &json!({"Name": name, "EventBusArn": bus, "ClientToken": format!("tok-{name}"),
                "Configuration": {"WebhookEventsConfiguration": config}}),
    );
    assert_eq!(status, 200, "CreateEventSource {name}: {doc}");
    let arn = doc["EventSourceArn"].as_str().expect("EventSourceArn").to_string();
    for _ in 0..5 {
        let (_, d) = cbor_call(moto, "DescribeEventSource", &json!({"EventSourceArn": arn}));
        if d["State"] == "ACTIVE" {
            break;
        }
    }
    let details = &doc["EventSourceDetails"]["WebhookDetails"];
    (
        arn,
        details["WebhookUrl"].as_str().expect("WebhookUrl").into(),
        details["SecretArn"].as_str().expect("SecretArn").into(),
    )
}

fn github_config(secret: &str) -> Value {
    json!({"RoleArn": ROLE, "MetadataHttpHeaders": ["X-GitHub-Event"],
           "AuthConfiguration": {"HmacAuthConfiguration": {"Algorithm": "SHA256", "Encoding": "HEX",
               "SignatureHttpHeader": "X-Hub-Signature-256", "SignaturePrefix": "sha256=",
               "SignedMessageComposition": "BODY", "SecretValue": secret}}})
}

fn last_log(moto: &Moto) -> Value {
    moto.webhook_log().last().cloned().expect("a webhook log entry")
}

// ---------------------------------------------------------------------------------------------
// Control plane

/// The model's documentation is the evidence throughout: CreateEventBus ("the bus is returned in
/// the CREATING state and transitions to ACTIVE", "Retries carrying the same ClientToken are
/// idempotent"), CreateEventSource ("The event bus must be in the ACTIVE state"), DeleteEventBus
/// ("A bus with subscribers or event sources cannot be deleted", "moves to DELETING and
/// disappears"), the error shapes' httpStatusCode (ResourceAlreadyExistsException 409, ...).
#[tokio::test]
async fn the_sdk_drives_buses_sources_and_subscribers_through_their_documented_states() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;

    // Idempotency: the same token and input answer the same bus; another input, a mismatch.
    let first = c.create_event_bus().name("orders").client_token("tok-1").send().await.expect("CreateEventBus");
    let arn = first.event_bus_arn().expect("arn").to_string();
    assert!(arn.starts_with(&format!("arn:aws:events:{REGION}:{ACCOUNT}:event-busv2/orders/")), "{arn}");
    assert_eq!(first.state(), Some(&BusState::Creating));
    let again = c.create_event_bus().name("orders").client_token("tok-1").send().await.expect("a retry");
    assert_eq!(again.event_bus_arn(), Some(arn.as_str()), "the same token and input: the same bus");
    let mismatch = refusal(c.create_event_bus().name("orders").description("other").client_token("tok-1").send().await);
    assert_eq!((mismatch.0, mismatch.1.as_str()), (409, "IdempotentParameterMismatchException"), "{mismatch:?}");
    let taken = refusal(c.create_event_bus().name("orders").send().await);
    assert_eq!((taken.0, taken.1.as_str()), (409, "ResourceAlreadyExistsException"), "{taken:?}");

    // A source needs an ACTIVE bus; the bus is ACTIVE on the 2nd Describe (transition_reads 1).
    let aws_source = |name: &str| {
        c.create_event_source().name(name).event_bus_arn(&arn).configuration(
            EventSourceConfiguration::AwsServiceEventsConfiguration(
                AwsServiceEventsSourceConfiguration::builder().aws_service("aws.s3").build().expect("config"),
            ),
        )
    };
    let not_yet = refusal(aws_source("s3-events").send().await);
    assert_eq!((not_yet.0, not_yet.1.as_str()), (409, "InvalidStateException"), "{not_yet:?}");
    let mut states = Vec::new();
    for _ in 0..2 {
        states
            .push(c.describe_event_bus().event_bus_arn(&arn).send().await.expect("DescribeEventBus").state().cloned());
    }
    assert_eq!(states, [Some(BusState::Creating), Some(BusState::Active)]);

    let source = aws_source("s3-events").tags("owner", "test").send().await.expect("CreateEventSource");
    let source_arn = source.event_source_arn().expect("arn").to_string();
    assert!(source_arn.contains(":event-sourcev2/aws.service/s3-events/"), "{source_arn}");
    assert_eq!(source.state(), Some(&EventSourceState::Creating));
    let d = c.describe_event_source().event_source_arn(&source_arn).send().await.expect("DescribeEventSource");
    assert_eq!(d.state(), Some(&EventSourceState::Creating));
    let d = c.describe_event_source().event_source_arn(&source_arn).send().await.expect("DescribeEventSource");
    assert_eq!(d.state(), Some(&EventSourceState::Active));

    let filter = FilterConfiguration::builder()
        .filters(Filter::builder().pattern(r#"{"kind":["order"]}"#).scope(FilterScope::Data).build().expect("filter"))
        .build();
    let invoke = InvokeConfiguration::builder()
        .role_arn(ROLE)
        .target_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:audit"))
        .build()
        .expect("invoke");
    let sub = c
        .create_subscriber()
        .name("audit")
        .event_bus_arn(&arn)
        .invoke_configuration(invoke.clone())
        .filter_configuration(filter.clone())
        .send()
        .await
        .expect("CreateSubscriber");
    let sub_arn = sub.subscriber_arn().expect("arn").to_string();
    assert!(sub_arn.contains(":subscriber/audit/"), "{sub_arn}");
    let listed = c.list_subscribers().event_bus_arn(&arn).send().await.expect("ListSubscribers");
    assert_eq!(listed.subscribers().len(), 1);
    let buses = c.list_event_buses().send().await.expect("ListEventBuses");
    assert_eq!(buses.event_buses().len(), 1);
    let sources = c.list_event_sources().event_bus_arn(&arn).send().await.expect("ListEventSources");
    assert_eq!(sources.event_sources().len(), 1);

    // Updates: "Fields omitted from the request are left unchanged"; a bus update is asynchronous
    // ("the bus moves to UPDATING and returns to ACTIVE"); a subscriber's State is the customer's.
    let updated =
        c.update_event_bus().event_bus_arn(&arn).description("orders bus").send().await.expect("UpdateEventBus");
    assert_eq!(updated.state(), Some(&BusState::Updating));
    let d = c.describe_event_bus().event_bus_arn(&arn).send().await.expect("DescribeEventBus");
    assert_eq!((d.state(), d.description()), (Some(&BusState::Updating), Some("orders bus")));
    c.update_event_source().event_source_arn(&source_arn).description("s3").send().await.expect("UpdateEventSource");
    let stopped = c
        .update_subscriber()
        .subscriber_arn(&sub_arn)
        .state(aws_sdk_eventbridgev2::types::SubscriberState::Stopped)
        .send()
        .await
        .expect("UpdateSubscriber");
    assert_eq!(stopped.state(), Some(&aws_sdk_eventbridgev2::types::SubscriberState::Stopped));
    let d = c.describe_subscriber().subscriber_arn(&sub_arn).send().await.expect("DescribeSubscriber");
    assert_eq!(d.invoke_configuration().map(|i| i.target_arn()), Some(invoke.target_arn()), "the target is kept");
    assert_eq!(d.filter_configuration(), Some(&filter), "the filter is kept");
    // The SDK's own waiter (DescribeEventBus until ACTIVE) ends on the emulator.
    c.wait_until_event_bus_active().event_bus_arn(&arn).wait(Duration::from_secs(30)).await.expect("EventBusActive");

    // Tags.
    c.tag_resource().resource_arn(&arn).tags("team", "payments").tags("env", "dev").send().await.expect("TagResource");
    c.untag_resource().resource_arn(&arn).tag_keys("env").send().await.expect("UntagResource");
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await.expect("ListTagsForResource");
    assert_eq!(tags.tags().map(|t| t.len()), Some(1));
    let tags = c.list_tags_for_resource().resource_arn(&source_arn).send().await.expect("tags of a source");
    assert_eq!(tags.tags().and_then(|t| t.get("owner")).map(String::as_str), Some("test"));

    // Delete order: the bus is refused while it has sources or subscribers.
    let in_use = refusal(c.delete_event_bus().event_bus_arn(&arn).send().await);
    assert_eq!((in_use.0, in_use.1.as_str()), (409, "ResourceInUseException"), "{in_use:?}");
    c.delete_subscriber().subscriber_arn(&sub_arn).send().await.expect("DeleteSubscriber");
    c.delete_event_source().event_source_arn(&source_arn).send().await.expect("DeleteEventSource");
    let d = c.describe_event_source().event_source_arn(&source_arn).send().await.expect("a DELETING source");
    assert_eq!(d.state(), Some(&EventSourceState::Deleting));
    let gone = refusal(c.describe_event_source().event_source_arn(&source_arn).send().await);
    assert_eq!((gone.0, gone.1.as_str()), (404, "ResourceNotFoundException"), "{gone:?}");
    c.delete_event_bus().event_bus_arn(&arn).send().await.expect("DeleteEventBus");
    let d = c.describe_event_bus().event_bus_arn(&arn).send().await.expect("a DELETING bus");
    assert_eq!(d.state(), Some(&BusState::Deleting));
    let gone = refusal(c.describe_event_bus().event_bus_arn(&arn).send().await);
    assert_eq!((gone.0, gone.1.as_str()), (404, "ResourceNotFoundException"), "{gone:?}");

    // Every eventbridgev2 write is a committed write of the fault layer (kill points count it).
    let stats = moto.fault_stats();
    for call in ["CreateEventBus", "CreateEventSource", "CreateSubscriber", "TagResource", "DeleteEventBus"] {
        assert!(
            stats["committed_writes_by_call"][format!("eventbridgev2.{call}")].as_u64() >= Some(1),
            "{call}: {stats}"
        );
    }
    assert_eq!(
        stats["committed_writes_by_call"]["eventbridgev2.DescribeEventBus"],
        Value::Null,
        "reads are not writes"
    );
    assert!(moto.violations().is_empty(), "the SDK's CBOR requests break no model rule: {:?}", moto.violations());

    // /moto-api/reset forgets eventbridgev2 too.
    active_bus(&c, "after-reset").await;
    moto.reset();
    assert!(c.list_event_buses().send().await.expect("ListEventBuses").event_buses().is_empty());
}

/// A request the model forbids (EventBusName's pattern `[A-Za-z0-9][\.\-_A-Za-z0-9]*`, the
/// EventBusArn pattern) is answered 400 InvalidInputException (every operation's declared input
/// error; the model has no ValidationException) and recorded; the SDK does not check patterns.
#[tokio::test]
async fn a_request_the_model_forbids_is_refused_and_recorded() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    let bad = refusal(c.create_event_bus().name("-leading-dash").send().await);
    assert_eq!((bad.0, bad.1.as_str()), (400, "InvalidInputException"), "{bad:?}");
    let taken = moto.expect_violations(1);
    assert_eq!(taken[0]["operation"], "CreateEventBus");
    assert_eq!(taken[0]["path"], "Name");
    let bad = refusal(
        c.describe_event_bus().event_bus_arn("arn:aws:events:us-east-1:123456789012:event-bus/classic").send().await,
    );
    assert_eq!((bad.0, bad.1.as_str()), (400, "InvalidInputException"), "{bad:?}");
    moto.expect_violations(1);
    // A union with two members set (WebhookAuthConfiguration: "Exactly one variant must be set").
    let (status, doc) = cbor_call(
        &moto,
        "CreateEventSource",
        &json!({"Name": "two", "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-busv2/b/aaaaaaaaaaaaaaaaaaaaaaaaa",
                "Configuration": {"WebhookEventsConfiguration": {"RoleArn": ROLE, "AuthConfiguration": {
                    "StaticTokenAuthConfiguration": {"TokenHttpHeader": "X-Token"},
                    "BasicHttpAuthConfiguration": {}}}}}),
    );
    assert_eq!((status, code(&doc)), (400, "InvalidInputException"), "{doc}");
    let taken = moto.expect_violations(1);
    assert!(
        taken[0]["constraint"].as_str().is_some_and(|m| m.contains("union must have exactly one member")),
        "{taken:?}"
    );
}

/// "[EventsV2]" quotas (Amazon EventBridge quotas; shared/reference/aws-facts.md): 5 Custom Event
/// Buses per account; the 6th CreateEventBus is refused 400 LimitExceededException (declared by
/// every create: "attempted to create resource beyond the allowed service quota") and is not a
/// committed write.
#[tokio::test]
async fn the_sixth_custom_event_bus_is_refused_with_limit_exceeded() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let quotas = moto.quotas();
    assert_eq!(
        (
            &quotas["eventbridgev2.buses_per_account"],
            &quotas["eventbridgev2.event_sources_per_account"],
            &quotas["eventbridgev2.subscribers_per_bus"]
        ),
        (&json!(5), &json!(200), &json!(10000))
    );
    let c = client(&moto).await;
    for i in 0..5 {
        c.create_event_bus().name(format!("bus-{i}")).send().await.expect("CreateEventBus within the quota");
    }
    // The paginator (paginators-1.json: NextToken, MaxResults) reads every page.
    let pages: Vec<_> = c.list_event_buses().max_results(2).into_paginator().send().collect::<Vec<_>>().await;
    assert_eq!(pages.len(), 3, "5 buses, 2 a page");
    let names: Vec<String> = pages
        .into_iter()
        .flat_map(|p| {
            p.expect("a page").event_buses().iter().filter_map(|b| b.name().map(String::from)).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(names, ["bus-0", "bus-1", "bus-2", "bus-3", "bus-4"]);
    moto.reset_fault_stats();
    let refused = refusal(c.create_event_bus().name("bus-5").send().await);
    assert_eq!(refused, (400, "LimitExceededException".into(), LIMIT.into()));
    assert_eq!(moto.fault_stats()["committed_writes_by_call"]["eventbridgev2.CreateEventBus"], Value::Null);
    // A retry of a create that exists adds nothing: not refused by the quota.
    let c2 = c.create_event_bus().name("bus-0").send().await;
    assert_eq!(refusal(c2).1, "ResourceAlreadyExistsException");
    // Subscribers per bus, lowered to reach it.
    moto.set_quotas(&json!({"eventbridgev2.subscribers_per_bus": 1}));
    let bus = c.list_event_buses().name_prefix("bus-0").send().await.expect("ListEventBuses").event_buses()[0]
        .event_bus_arn()
        .expect("arn")
        .to_string();
    c.describe_event_bus().event_bus_arn(&bus).send().await.expect("DescribeEventBus");
    let subscriber = |name: &str| {
        c.create_subscriber()
            .name(name)
            .event_bus_arn(&bus)
            .invoke_configuration(
                InvokeConfiguration::builder()
                    .role_arn(ROLE)
                    .target_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:q"))
                    .build()
                    .expect("invoke"),
            )
            .filter_configuration(
                FilterConfiguration::builder()
                    .filters(
                        Filter::builder().pattern(r#"{"a":["b"]}"#).scope(FilterScope::Data).build().expect("filter"),
                    )
                    .build(),
            )
            .send()
    };
    subscriber("first").await.expect("CreateSubscriber within the quota");
    assert_eq!(refusal(subscriber("second").await), (400, "LimitExceededException".into(), LIMIT.into()));
    assert!(moto.violations().is_empty(), "{:?}", moto.violations());
}

/// A kill point after an eventbridgev2 write (faults.py `/__faults/hold`): the 1st committed
/// write's answer is held, the client sees the connection drop, the bus exists, and the retry
/// with the same ClientToken answers the same bus (CreateEventBus is idempotent per token).
#[tokio::test]
async fn a_kill_point_holds_the_answer_to_an_eventsv2_write() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    moto.hold_after_write(1);
    let held = tokio::spawn({
        let c = c.clone();
        async move { c.create_event_bus().name("held").client_token("tok-held").send().await }
    });
    let mut state = moto.hold_state();
    for _ in 0..200 {
        if state["held"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        state = moto.hold_state();
    }
    assert_eq!(state["held_call"], "eventbridgev2.CreateEventBus", "{state}");
    moto.release_hold();
    assert!(held.await.expect("join").is_err(), "the held answer is never sent");
    let retry = c.create_event_bus().name("held").client_token("tok-held").send().await.expect("the retry");
    let buses = c.list_event_buses().send().await.expect("ListEventBuses");
    assert_eq!(buses.event_buses().len(), 1, "the first attempt made the bus");
    assert_eq!(buses.event_buses()[0].event_bus_arn(), retry.event_bus_arn());
}

/// Webhook sources, by raw CBOR (SDK 1.7 lacks them): the WebhookUrl and SecretArn
/// (WebhookDetails), the credential never answered, the auth type unchangeable
/// ("it can't be changed after the EventSource is created"), RotateWebhookCredentials (the
/// member must match the auth type; HMAC keys 16 to 512 bytes; the same ClientToken does not
/// rotate again; the SecretArn does not change), HMAC configuration rules (TimestampHttpHeader
/// not allowed with BODY).
#[tokio::test]
async fn webhook_sources_keep_their_secret_and_rotate_it() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    let bus = active_bus(&c, "hooks").await;
    let (arn, url, secret_arn) = webhook_source(&moto, &bus, "github", github_config("It's a Secret to Everybody"));
    assert!(url.starts_with(&format!("{}/__webhooks/", moto.endpoint)), "{url}");
    assert!(
        secret_arn.starts_with(&format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:events-webhook/")),
        "{secret_arn}"
    );
    let (_, d) = cbor_call(&moto, "DescribeEventSource", &json!({"EventSourceArn": arn}));
    assert_eq!(d["State"], "ACTIVE");
    let hmac = &d["Configuration"]["WebhookEventsConfiguration"]["AuthConfiguration"]["HmacAuthConfiguration"];
    assert_eq!(hmac["SignatureHttpHeader"], "X-Hub-Signature-256");
    assert_eq!(hmac["SecretValue"], Value::Null, "EventBridge never returns the secret");
    assert_eq!(d["EventSourceDetails"]["WebhookDetails"]["WebhookUrl"], url.as_str(), "the URL is stable");
    // The SDK can describe it too (the unknown union variant decodes as Unknown).
    let sdk = c.describe_event_source().event_source_arn(&arn).send().await.expect("SDK DescribeEventSource");
    assert_eq!(sdk.state(), Some(&EventSourceState::Active));
    let secret = moto.webhook_secret(&secret_arn);
    assert_eq!(secret["SecretValue"], "It's a Secret to Everybody");

    let token =
        json!({"RoleArn": ROLE, "AuthConfiguration": {"StaticTokenAuthConfiguration": {"TokenHttpHeader": "X-Token"}}});
    let (status, doc) = cbor_call(
        &moto,
        "UpdateEventSource",
        &json!({"EventSourceArn": arn, "Configuration": {"WebhookEventsConfiguration": token}}),
    );
    assert_eq!((status, code(&doc)), (400, "InvalidInputException"), "{doc}");

    let rotate = |credential: Value, token: &str| {
        let mut input = json!({"EventSourceArn": arn, "ClientToken": token});
        if !credential.is_null() {
            input["Credential"] = credential;
        }
        cbor_call(&moto, "RotateWebhookCredentials", &input)
    };
    let (status, doc) = rotate(json!({"StaticTokenSecretValue": "a-token-value"}), "r1");
    assert_eq!((status, code(&doc)), (400, "InvalidInputException"), "the member of another auth type: {doc}");
    let (status, doc) = rotate(json!({"HmacSecretValue": "tooshort15bytes"}), "r2");
    assert_eq!((status, code(&doc)), (400, "InvalidInputException"), "15 bytes: {doc}");
    let (status, doc) = rotate(json!({"HmacSecretValue": "a-new-secret-of-32-bytes-length!"}), "r3");
    assert_eq!((status, doc["SecretArn"].as_str()), (200, Some(secret_arn.as_str())), "{doc}");
    let secret = moto.webhook_secret(&secret_arn);
    assert_eq!(secret["SecretValue"], "a-new-secret-of-32-bytes-length!");
    let (status, _) = rotate(json!({"HmacSecretValue": "a-new-secret-of-32-bytes-length!"}), "r3");
    assert_eq!(status, 200, "the same token and input: the same result");
    let (status, doc) = rotate(Value::Null, "r3");
    assert_eq!((status, code(&doc)), (409, "IdempotentParameterMismatchException"), "{doc}");
    // "EventBridge also accepts the previous credential for 15 minutes after the rotation ...
    // If you rotate again within 15 minutes, the older credential stops working immediately."
    let github = || {
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        http("POST", &url, &[("X-Hub-Signature-256", sig), ("X-GitHub-Event", "push")], b"Hello, World!").0
    };
    assert_eq!(github(), 200, "the replaced secret still verifies: {}", last_log(&moto));
    let (status, _) = rotate(Value::Null, "r4");
    assert_eq!(status, 200, "a generated credential");
    let generated = moto.webhook_secret(&secret_arn);
    assert_ne!(generated["SecretValue"], "a-new-secret-of-32-bytes-length!");
    assert!(generated["SecretValue"].as_str().is_some_and(|v| v.len() >= 16), "{generated}");
    assert_eq!(github(), 403, "two rotations later the first secret no longer verifies");

    let mut body_ts = github_config("It's a Secret to Everybody");
    body_ts["AuthConfiguration"]["HmacAuthConfiguration"]["TimestampHttpHeader"] = json!("X-Timestamp");
    let (status, doc) = cbor_call(
        &moto,
        "CreateEventSource",
        &json!({"Name": "bad-ts", "EventBusArn": bus, "Configuration": {"WebhookEventsConfiguration": body_ts}}),
    );
    assert_eq!((status, code(&doc)), (400, "InvalidInputException"), "{doc}");
    assert!(moto.violations().is_empty(), "{:?}", moto.violations());
}

// ---------------------------------------------------------------------------------------------
// Data plane

/// GitHub, "Validating webhook deliveries": secret "It's a Secret to Everybody", payload
/// "Hello, World!", `X-Hub-Signature-256: sha256=757107ea...043e17`. Accepted, the event is
/// delivered RAW to the SQS queue of a subscriber whose METADATA filter matches the
/// `x-github-event` header; a forged body and a missing header are refused with the reason in
/// the webhook log; a non-matching event is accepted but not delivered.
#[tokio::test]
async fn a_github_signed_request_lands_in_sqs_and_forged_or_unsigned_ones_are_refused() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    let clients = moto.clients().await;
    let queue = clients.sqs.create_queue().queue_name("github-events").send().await.expect("queue");
    let queue_url = queue.queue_url().expect("queue url").to_string();
    let bus = active_bus(&c, "github").await;
    let (_, url, _) = webhook_source(&moto, &bus, "github", github_config("It's a Secret to Everybody"));
    let filter = FilterConfiguration::builder()
        .filters(
            Filter::builder()
                .pattern(r#"{"x-github-event":["push"]}"#)
                .scope(FilterScope::Metadata)
                .build()
                .expect("filter"),
        )
        .build();
    c.create_subscriber()
        .name("to-sqs")
        .event_bus_arn(&bus)
        .invoke_configuration(
            InvokeConfiguration::builder()
                .role_arn(ROLE)
                .target_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:github-events"))
                .build()
                .expect("invoke"),
        )
        .filter_configuration(filter)
        .transformer(Transformer::builder().r#type(TransformerType::Raw).build())
        .send()
        .await
        .expect("CreateSubscriber");

    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let (status, _, _) =
        http("POST", &url, &[("X-Hub-Signature-256", sig), ("X-GitHub-Event", "push")], b"Hello, World!");
    assert_eq!(status, 200, "GitHub's test vector verifies: {}", last_log(&moto));
    let got =
        clients.sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.expect("receive");
    let bodies: Vec<_> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["Hello, World!"], "delivered RAW to the queue");

    let (status, _, _) =
        http("POST", &url, &[("X-Hub-Signature-256", sig), ("X-GitHub-Event", "push")], b"Hello, World?");
    assert_eq!(status, 403, "a forged body");
    let log = last_log(&moto);
    assert_eq!(log["accepted"], false);
    assert!(log["reason"].as_str().is_some_and(|r| r.contains("no signature in X-Hub-Signature-256 matches")), "{log}");
    let (status, _, _) = http("POST", &url, &[("X-GitHub-Event", "push")], b"Hello, World!");
    assert_eq!(status, 401, "no signature header");
    assert!(
        last_log(&moto)["reason"].as_str().is_some_and(|r| r.contains("missing signature header X-Hub-Signature-256"))
    );

    let (status, _, _) =
        http("POST", &url, &[("X-Hub-Signature-256", sig), ("X-GitHub-Event", "ping")], b"Hello, World!");
    assert_eq!(status, 200, "accepted");
    let deliveries = moto.eventsv2_deliveries();
    assert_eq!(deliveries.len(), 1, "the ping matched no filter: {deliveries:?}");
    assert_eq!(deliveries[0]["status"], "delivered");
    assert!(moto.violations().is_empty(), "{:?}", moto.violations());
}

fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, message).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Stripe, "Verify webhook signatures manually": `Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of
/// "<ts>.<payload>">` (several v1 allowed), tolerance 5 minutes; AWS's form: the timestamp in the
/// signature header (Delimiter ",", SignaturePrefix "v1=", TimestampPrefix "t=",
/// TIMESTAMP_DOT_BODY). A stale timestamp is refused even with a valid signature; any matching
/// v1 among several is accepted. Also a static token (the whole header value) and basic auth.
#[tokio::test]
async fn stripe_timestamps_expire_and_token_and_basic_auth_compare_the_whole_credential() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    let bus = active_bus(&c, "stripe").await;
    let secret = "whsec_stripe_test_secret_0123456789";
    let config = json!({"RoleArn": ROLE, "AuthConfiguration": {"HmacAuthConfiguration": {"Algorithm": "SHA256",
        "Encoding": "HEX", "SignatureHttpHeader": "Stripe-Signature", "SignaturePrefix": "v1=", "Delimiter": ",",
        "TimestampHttpHeader": "Stripe-Signature", "TimestampPrefix": "t=", "TimestampToleranceInSeconds": 300,
        "SignedMessageComposition": "TIMESTAMP_DOT_BODY", "SecretValue": secret}}});
    let (_, url, _) = webhook_source(&moto, &bus, "stripe", config);
    let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
    let signed = |t: u64| {
        let mut message = format!("{t}.").into_bytes();
        message.extend_from_slice(body);
        format!("t={t},v1={},v1={}", "0".repeat(64), hmac_hex(secret.as_bytes(), &message))
    };
    let (status, _, _) = http("POST", &url, &[("Stripe-Signature", &signed(now()))], body);
    assert_eq!(status, 200, "a fresh timestamp, the 2nd of two signatures matches: {}", last_log(&moto));
    let (status, _, _) = http("POST", &url, &[("Stripe-Signature", &signed(now() - 1000))], body);
    assert_eq!(status, 403, "1000 s old");
    let log = last_log(&moto);
    assert!(log["reason"].as_str().is_some_and(|r| r.contains("outside the tolerance of 300 s")), "{log}");

    // Static token: "EventBridge compares it against the entire header value".
    let config = json!({"RoleArn": ROLE, "AuthConfiguration": {"StaticTokenAuthConfiguration": {"TokenHttpHeader": "Authorization",
        "SecretValue": "Bearer gitlab-token-1"}}});
    let (_, url, _) = webhook_source(&moto, &bus, "token", config);
    assert_eq!(http("POST", &url, &[("Authorization", "Bearer gitlab-token-1")], b"{}").0, 200);
    assert_eq!(
        http("POST", &url, &[("Authorization", "gitlab-token-1")], b"{}").0,
        403,
        "the prefix is part of the token"
    );
    // Basic: generated username and password, read where Secrets Manager would hold them.
    let config = json!({"RoleArn": ROLE, "AuthConfiguration": {"BasicHttpAuthConfiguration": {}}});
    let (_, url, secret_arn) = webhook_source(&moto, &bus, "basic", config);
    let s = moto.webhook_secret(&secret_arn);
    let (user, password) = (s["Username"].as_str().expect("username"), s["SecretValue"].as_str().expect("password"));
    let good = format!("Basic {}", b64(format!("{user}:{password}").as_bytes()));
    assert_eq!(http("POST", &url, &[("Authorization", &good)], b"{}").0, 200);
    let bad = format!("Basic {}", b64(format!("{user}:wrong").as_bytes()));
    assert_eq!(http("POST", &url, &[("Authorization", &bad)], b"{}").0, 403);
    assert!(moto.violations().is_empty(), "{:?}", moto.violations());
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// Standard Webhooks (the spec AWS's MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY follows), signed by the
/// PyPI package `standardwebhooks` 1.1.0 (scripts/requirements.txt): `webhook-signature: v1,<b64>`
/// over `<webhook-id>.<webhook-timestamp>.<body>`, secret `whsec_<base64>` (SecretEncoding BASE64).
/// Accepted (a redelivery deduplicated, CONTENT_BASED); PutEvents reaches subscribers too,
/// delivered WITH_METADATA (eb-custom-bus-addressing, eb-custom-bus-transform); a message id with '.' is
/// refused ("Requests whose message ID contains a period (.) are rejected").
#[tokio::test]
async fn a_standard_webhooks_request_signed_by_the_reference_package_is_accepted() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    let bus = active_bus(&c, "svix").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let config = json!({"RoleArn": ROLE, "AuthConfiguration": {"HmacAuthConfiguration": {"Algorithm": "SHA256",
        "Encoding": "BASE64", "SignatureHttpHeader": "webhook-signature", "SignaturePrefix": "v1,", "Delimiter": " ",
        "TimestampHttpHeader": "webhook-timestamp", "MessageIdHttpHeader": "webhook-id",
        "SignedMessageComposition": "MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY", "SecretEncoding": "BASE64", "SecretValue": secret}},
        "DeduplicationConfiguration": {"DeduplicationType": "CONTENT_BASED"}});
    let (_, url, _) = webhook_source(&moto, &bus, "svix", config);
    let body = r#"{"type":"user.created","data":{"id":"u_1"}}"#;
    let sign = |id: &str, ts: u64| -> String {
        let script = "import sys, datetime; from standardwebhooks.webhooks import Webhook; \
                      print(Webhook(sys.argv[1]).sign(sys.argv[2], datetime.datetime.fromtimestamp(int(sys.argv[3]), datetime.timezone.utc), sys.argv[4]))";
        let out = std::process::Command::new(python())
            .args(["-c", script, secret, id, &ts.to_string(), body])
            .output()
            .expect("run .venv/bin/python (standardwebhooks)");
        assert!(out.status.success(), "standardwebhooks: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let ts = now();
    let sig = sign("msg_2a", ts);
    assert!(sig.starts_with("v1,"), "{sig}");
    let headers = |id: &'static str, sig: &str| -> Vec<(&'static str, String)> {
        vec![
            ("webhook-id", id.to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", format!("v1,AAAA {sig}")),
        ]
    };
    let send = |h: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        http("POST", &url, &pairs, body.as_bytes()).0
    };
    assert_eq!(send(headers("msg_2a", &sig)), 200, "{}", last_log(&moto));
    assert_eq!(send(headers("msg_2a", &sig)), 200, "a redelivery is answered");
    assert!(
        last_log(&moto)["reason"].as_str().is_some_and(|r| r.contains("deduplicated")),
        "CONTENT_BASED: not published again"
    );
    let dotted = sign("msg.2b", ts);
    assert_eq!(send(headers("msg.2b", &dotted)), 403);
    assert!(last_log(&moto)["reason"].as_str().is_some_and(|r| r.contains("contains '.'")));

    // PutEvents (the SDK's) reaches subscribers the same way; WITH_METADATA wraps the event.
    let queue = moto.clients().await.sqs.create_queue().queue_name("svix-events").send().await.expect("queue");
    c.create_subscriber()
        .name("all")
        .event_bus_arn(&bus)
        .invoke_configuration(
            InvokeConfiguration::builder()
                .role_arn(ROLE)
                .target_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:svix-events"))
                .build()
                .expect("invoke"),
        )
        .filter_configuration(
            FilterConfiguration::builder()
                .filters(
                    Filter::builder()
                        .pattern(r#"{"detail":{"type":["user.created"]}}"#)
                        .scope(FilterScope::Data)
                        .build()
                        .expect("filter"),
                )
                .build(),
        )
        .transformer(Transformer::builder().r#type(TransformerType::WithMetadata).build())
        .send()
        .await
        .expect("CreateSubscriber");
    let put = c
        .put_events()
        .event_bus_arn(&bus)
        .entries(
            PutEventsRequestEntry::builder()
                .source("app.users")
                .detail_type("user")
                .detail(body)
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(put.failed_entry_count(), 0);
    let got = moto
        .clients()
        .await
        .sqs
        .receive_message()
        .queue_url(queue.queue_url().unwrap_or_default())
        .send()
        .await
        .expect("receive");
    let message: Value =
        serde_json::from_str(got.messages().first().and_then(|m| m.body()).unwrap_or("null")).expect("JSON");
    // "Event structure: data, metadata, and system metadata": PutEvents' Data is the envelope,
    // the payload under `detail`; WITH_METADATA delivers Data, Metadata and SystemMetadata.
    assert_eq!(message["Data"]["detail"]["data"]["id"], "u_1", "{message}");
    assert_eq!(message["Data"]["source"], "app.users", "{message}");
    assert_eq!(message["SystemMetadata"]["aws:Source"], "app.users", "{message}");
    assert_eq!(message["SystemMetadata"]["aws:DeliveryType"], "LIVE", "{message}");
    assert_eq!(message["SystemMetadata"]["ContentType"], "application/eventbridge+json", "{message}");
    assert!(moto.violations().is_empty(), "{:?}", moto.violations());
}

/// The asynchronous states' length is the emulator's choice (AWS gives none): `transition_reads`
/// reads of the resource (default 1: ACTIVE on the 2nd Describe), or `transition_ms` (default
/// off); see scripts/aws_emulator/eventsv2_store.py.
#[tokio::test]
async fn how_long_creating_lasts_is_configurable() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = client(&moto).await;
    assert_eq!(moto.eventsv2_settings(&json!({})), json!({"transition_reads": 1, "transition_ms": null}));
    moto.eventsv2_settings(&json!({"transition_reads": 0}));
    let arn =
        c.create_event_bus().name("quick").send().await.expect("CreateEventBus").event_bus_arn().map(String::from);
    let d = c.describe_event_bus().set_event_bus_arn(arn).send().await.expect("DescribeEventBus");
    assert_eq!(d.state(), Some(&BusState::Active), "0 reads: ACTIVE on the first Describe");
    moto.eventsv2_settings(&json!({"transition_reads": 100, "transition_ms": 50}));
    c.create_event_bus().name("timed").send().await.expect("CreateEventBus");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let listed = c.list_event_buses().name_prefix("timed").send().await.expect("ListEventBuses");
    assert_eq!(listed.event_buses()[0].state(), Some(&BusState::Active), "50 ms passed");
    let (status, _) = moto.emulator_call("POST", "/__eventsv2/settings", Some(&json!({"transition_reads": -1})));
    assert_eq!(status, 400);
}
