//! EventBridge Custom Event Bus (`eventsv2`) reads and writes: a gateway's bus, a webhook-source
//! bridge's event sources and subscribers. Every create carries a ClientToken derived from the
//! owner and the object (`desired_webhook::client_token`) and our ownership tags, and every
//! observe finds by name prefix and tags what an interrupted run made.
//!
//! The SDK (`aws-sdk-eventbridgev2` 1.7, the newest) predates webhook sources: it cannot send a
//! `WebhookEventsConfiguration`, drops the `EventSourceDetails` of its answers (the URL and the
//! secret's ARN) and has no `RotateWebhookCredentials`. Those calls still go through the SDK's
//! client, so they are signed, retried, rate limited, fenced and counted like every other call:
//! [`RawCbor`] replaces the request body with one encoded by `aws::cbor` (and, for the rotation,
//! the operation in the path and in the call's metadata) and keeps the raw answer to decode.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridgev2::Client;
use aws_sdk_eventbridgev2::types::{
    Filter, FilterConfiguration, FilterScope, InvokeConfiguration, LambdaParameters, OnFailureConfiguration,
    RetryPolicy, SqsParameters, StorageConfiguration, SubscriberState, UpdateInvokeConfiguration,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

use super::cbor::Cbor;
use super::{gone_ok, has_code};
use crate::desired::Desired;
use crate::desired_webhook::{TAG_CREDENTIAL, TAG_USERNAME, V2Source, V2Subscriber};
use crate::error::{Error, classify};
use crate::observed::{ObsV2Bus, ObsV2Source, ObsV2Subscriber, Observed, Tags};

const SVC: &str = "eventsv2";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const PAGE: i32 = 100;
/// Describes of a bus (or source) just created, a second apart, before the pass hands the wait
/// to the caller's backoff as "not yet".
const ACTIVE_POLLS: u32 = 10;

/// 0.2 s, 0.4 s, ... (11 s over the ten polls).
fn poll_delay(attempt: u32) -> Duration {
    Duration::from_millis(200 * u64::from(attempt + 1))
}

/// Replaces a request's body (and optionally its operation) before it is signed, and keeps the
/// raw answer. The body may carry a webhook secret: it is never logged or printed.
#[derive(Clone)]
pub struct RawCbor {
    body: Arc<Vec<u8>>,
    operation: Option<&'static str>,
    answer: Arc<Mutex<Option<Vec<u8>>>>,
}

impl std::fmt::Debug for RawCbor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawCbor").field("operation", &self.operation).field("body", &"<redacted>").finish()
    }
}

impl RawCbor {
    pub fn new(body: &Cbor, operation: Option<&'static str>) -> RawCbor {
        RawCbor { body: Arc::new(body.encode()), operation, answer: Arc::default() }
    }

    /// The decoded answer body (None: none kept, e.g. the call failed).
    pub fn answer(&self) -> Option<Cbor> {
        let bytes = self.answer.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        if bytes.is_empty() {
            return Some(Cbor::Map(Vec::new()));
        }
        Cbor::decode(&bytes).ok()
    }
}

impl Intercept for RawCbor {
    fn name(&self) -> &'static str {
        "webhook-bridge-eventsv2-raw-cbor"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.body.as_ref().clone());
        request.headers_mut().insert("content-length", self.body.len().to_string());
        if let Some(op) = self.operation {
            let uri = request.uri().to_string();
            let (base, _) = uri.rsplit_once("/operation/").ok_or("eventsv2: no /operation/ in the request path")?;
            request.set_uri(format!("{base}/operation/{op}"))?;
            let service = cfg.load::<Metadata>().map(|m| m.service().to_string()).unwrap_or_else(|| SVC.into());
            cfg.interceptor_state().store_put(Metadata::new(op, service));
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.response().status().is_success()
            && let Some(bytes) = context.response().body().bytes()
        {
            *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// A CBOR item as JSON (maps with text keys become objects; timestamps their number).
pub fn to_json(v: &Cbor) -> Value {
    match v {
        Cbor::Uint(n) => Value::from(*n),
        Cbor::Neg(n) => i64::try_from(*n).map_or(Value::Null, Value::from),
        Cbor::Bytes(_) | Cbor::Null => Value::Null,
        Cbor::Text(t) => Value::String(t.clone()),
        Cbor::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Cbor::Map(pairs) => {
            Value::Object(pairs.iter().filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), to_json(v)))).collect())
        }
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Cbor::Tag(_, v) => to_json(v),
    }
}

/// JSON as a CBOR item (integers stay integers).
pub fn from_json(v: &Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Cbor::Uint(u),
            (None, Some(i)) => Cbor::Neg(i128::from(i)),
            _ => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(from_json).collect()),
        Value::Object(m) => Cbor::map(m.iter().map(|(k, v)| (k.clone(), from_json(v)))),
    }
}

/// An eventsv2 write's error: `InvalidStateException` (the bus or source is CREATING or
/// UPDATING: "The event bus must be in the ACTIVE state") is a retryable "not yet" with AWS's
/// message; everything else as `classify` says.
fn v2_error<E>(
    operation: &'static str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if has_code(&e, &["InvalidStateException"]) {
        return Error::NotYet(format!("AWS {SVC} {operation}: {}", super::message_of(&e)));
    }
    classify(SVC, operation, e)
}

/// What was read about the object an `InvalidStateException` was about, and its bus.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateSeen {
    /// The source or subscriber written (None: not one, or not found).
    pub target: Option<(String, Option<String>, bool)>,
    /// The bus's state (None: not read, or not found).
    pub bus: Option<String>,
}

/// What an `InvalidStateException` means, from the states read right after it. The model: "The
/// resource is not in a state that allows the operation. For example, an event bus that is still
/// being created cannot accept events"; a source or subscriber needs an ACTIVE bus
/// (CreateEventSource, CreateSubscriber); "A revoked resource refuses mutating operations with
/// InvalidStateException" and "Revocation is terminal" (RevokeResource); a rotation is refused
/// "For a revoked EventSource or an EventSource in any other state [than ACTIVE, UPDATING or
/// UPDATE_FAILED]" and "if the secret of the EventSource is scheduled for deletion or has been
/// deleted" (RotateWebhookCredentials). So: revoked, a failed state, or a bus being deleted are
/// terminal (no retry changes them); CREATING, UPDATING or DELETING of the object or its bus is
/// a retryable "not yet"; a rotation refused while the source is in a state that allows it means
/// its secret is being deleted: terminal. Anything else (the state settled before the read) is
/// retried.
pub fn invalid_state_verdict(operation: &'static str, message: &str, seen: &StateSeen) -> Error {
    let terminal = |what: String, state: &str, reason: String| Error::AwsFailed { what, state: state.into(), reason };
    if let Some((what, _, true)) = &seen.target {
        return terminal(
            what.clone(),
            "REVOKED",
            format!("revoked by the owner of the Custom Event Bus (permanent); AWS {SVC} {operation}: {message}"),
        );
    }
    match seen.bus.as_deref() {
        Some(state @ ("CREATE_FAILED" | "UPDATE_FAILED" | "DELETE_FAILED" | "DELETING")) => {
            return terminal(
                "the gateway's Custom Event Bus".into(),
                state,
                format!("AWS {SVC} {operation}: {message}; the bus must be ACTIVE (see the gateway's status)"),
            );
        }
        Some("CREATING" | "UPDATING") => {
            return Error::NotYet(format!("AWS {SVC} {operation}: {message} (the Custom Event Bus is not ACTIVE yet)"));
        }
        _ => {}
    }
    match seen.target.as_ref().map(|(what, state, _)| (what, state.as_deref())) {
        Some((what, Some(state @ ("CREATE_FAILED" | "DELETE_FAILED")))) => terminal(
            what.clone(),
            state,
            format!("AWS {SVC} {operation}: {message}; rename it in the spec to make a new one"),
        ),
        Some((what, Some("ACTIVE" | "UPDATING" | "UPDATE_FAILED"))) if operation == "RotateWebhookCredentials" => {
            terminal(
                what.clone(),
                "SECRET_DELETED",
                format!(
                    "AWS {SVC} {operation}: {message}; its Secrets Manager secret is scheduled for deletion or deleted (restore it, or rename the source to make a new one)"
                ),
            )
        }
        _ => Error::NotYet(format!("AWS {SVC} {operation}: {message}")),
    }
}

/// A write's error: `InvalidStateException` explained by reading the object `arn` names and the
/// bus ([`invalid_state_verdict`]); `ResourceAlreadyExistsException` of a create a retryable
/// "not yet" (an earlier create of ours not listed yet, or another's: the next look by name and
/// tags decides); everything else as `classify` says.
async fn write_error<E>(
    client: &Client,
    operation: &'static str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    arn: &str,
    bus_arn: Option<&str>,
) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if has_code(&e, &["ResourceAlreadyExistsException"]) && operation.starts_with("Create") {
        return Error::NotYet(format!("AWS {SVC} {operation}: {}", super::message_of(&e)));
    }
    if !has_code(&e, &["InvalidStateException"]) {
        return classify(SVC, operation, e);
    }
    let message = super::message_of(&e);
    let mut seen = StateSeen::default();
    if arn.contains(":event-sourcev2/") {
        if let Ok(Some(s)) = describe_source(client, arn).await {
            seen.target = Some((format!("webhook event source {}", s.name), s.state, s.revoked));
        }
    } else if arn.contains(":subscriber/")
        && let Ok(Some(s)) = describe_subscriber(client, arn).await
    {
        seen.target = Some((format!("subscriber {}", s.name), s.state, s.revoked));
    }
    let bus_arn = bus_arn.or_else(|| arn.contains(":event-busv2/").then_some(arn));
    if let Some(bus_arn) = bus_arn
        && let Ok(Some(bus)) = describe_bus(client, bus_arn).await
    {
        seen.bus = bus.state;
    }
    invalid_state_verdict(operation, &message, &seen)
}

/// `e` with every occurrence of the secret replaced: an AWS validation message may quote the
/// value it refused ("Value '...' at '...' failed to satisfy constraint"), and errors end up in
/// conditions, Events and logs.
pub fn redacted(e: Error, secret: Option<&crate::desired_webhook::SecretValue>) -> Error {
    let Some(secret) = secret.map(|s| s.expose()).filter(|s| !s.is_empty()) else { return e };
    let clean = |m: String| m.replace(secret, "<redacted>");
    match e {
        Error::Rejected { service, operation, code, message } => {
            Error::Rejected { service, operation, code, message: clean(message) }
        }
        Error::Transient { service, operation, code, message } => {
            Error::Transient { service, operation, code, message: clean(message) }
        }
        Error::AccessDenied { service, operation, message } => {
            Error::AccessDenied { service, operation, message: clean(message) }
        }
        Error::QuotaExceeded { service, operation, message } => {
            Error::QuotaExceeded { service, operation, message: clean(message) }
        }
        Error::NotYet(message) => Error::NotYet(clean(message)),
        other => other,
    }
}

fn tag_map(tags: &Tags) -> Cbor {
    Cbor::map(tags.iter().map(|(k, v)| (k.clone(), Cbor::text(v.clone()))))
}

async fn tags_of(client: &Client, arn: &str) -> Result<Option<Tags>, Error> {
    match client.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => {
            Ok(Some(out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()))
        }
        Err(e) if has_code(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(classify(SVC, "ListTagsForResource", e)),
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway's bus

/// The bus the gateway's spec names (whoever owns it: the plan refuses a foreign one).
pub async fn observe_bus(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    let Some(want) = &d.v2.bus else { return Ok(()) };
    into.v2.bus = find_bus(client, &want.name).await?;
    Ok(())
}

async fn find_bus(client: &Client, name: &str) -> Result<Option<ObsV2Bus>, Error> {
    let mut token: Option<String> = None;
    let arn = loop {
        let out = client
            .list_event_buses()
            .name_prefix(name)
            .max_results(PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify(SVC, "ListEventBuses", e))?;
        if let Some(b) = out.event_buses().iter().find(|b| b.name() == Some(name)) {
            break b.event_bus_arn().map(str::to_string);
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break None;
        }
    };
    let Some(arn) = arn else { return Ok(None) };
    describe_bus(client, &arn).await
}

async fn describe_bus(client: &Client, arn: &str) -> Result<Option<ObsV2Bus>, Error> {
    let out = match client.describe_event_bus().event_bus_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(classify(SVC, "DescribeEventBus", e)),
    };
    let Some(tags) = tags_of(client, arn).await? else { return Ok(None) };
    Ok(Some(ObsV2Bus {
        name: out.name().unwrap_or_default().to_string(),
        arn: arn.to_string(),
        state: out.state().map(|s| s.as_str().to_string()),
        state_reason: out.state_reason().map(str::to_string),
        retention_days: out.storage_configuration().and_then(|s| s.retention_period_in_days()),
        tags,
    }))
}

/// CreateEventBus (name, tags, ClientToken, retention), then Describe until it is ACTIVE.
pub async fn create_bus(client: &Client, d: &Desired) -> Result<ObsV2Bus, Error> {
    let want = d.v2.bus.as_ref().ok_or_else(|| Error::Config("CreateEventBus: no bus in the spec".into()))?;
    let out = client
        .create_event_bus()
        .name(&want.name)
        .set_tags(Some(d.tags.clone().into_iter().collect()))
        .client_token(&want.client_token)
        .set_storage_configuration(
            want.retention_days.map(|days| StorageConfiguration::builder().retention_period_in_days(days).build()),
        )
        .send()
        .await
        .map_err(|e| v2_error("CreateEventBus", e))?;
    let arn = out.event_bus_arn().unwrap_or_default().to_string();
    wait_bus(client, &arn).await
}

/// The bus once it is ACTIVE; `NotYet` (retryable) while AWS still creates it, and AWS's reason
/// (terminal) when it failed.
pub async fn wait_bus(client: &Client, arn: &str) -> Result<ObsV2Bus, Error> {
    for attempt in 0..ACTIVE_POLLS {
        let bus = describe_bus(client, arn)
            .await?
            .ok_or_else(|| Error::NotYet(format!("Custom Event Bus {arn} is not listed yet")))?;
        match bus_ready(&bus) {
            Ok(()) => return Ok(bus),
            Err(e @ Error::NotYet(_)) if attempt + 1 < ACTIVE_POLLS => {
                tracing::debug!(error = %e, "waiting for the Custom Event Bus");
                tokio::time::sleep(poll_delay(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::NotYet(format!("Custom Event Bus {arn} is not ACTIVE yet")))
}

/// Whether a bus can take sources: ACTIVE; CREATING/UPDATING are "not yet"; a failed state is
/// terminal with AWS's reason.
pub fn bus_ready(bus: &ObsV2Bus) -> Result<(), Error> {
    match bus.state.as_deref() {
        Some("ACTIVE") => Ok(()),
        Some(state @ ("CREATE_FAILED" | "UPDATE_FAILED" | "DELETE_FAILED")) => Err(Error::AwsFailed {
            what: format!("Custom Event Bus {}", bus.name),
            state: state.to_string(),
            reason: bus.state_reason.clone().unwrap_or_else(|| "no reason given".into()),
        }),
        state => Err(Error::NotYet(format!(
            "Custom Event Bus {} is {} (EventBridge provisions it asynchronously)",
            bus.name,
            state.unwrap_or("not ACTIVE yet")
        ))),
    }
}

pub async fn tag(client: &Client, d: &Desired, arn: &str) -> Result<(), Error> {
    let tags: std::collections::HashMap<String, String> = d.spec_tags().map(|(k, v)| (k.clone(), v.clone())).collect();
    if tags.is_empty() {
        return Ok(());
    }
    match client.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(write_error(client, "TagResource", e, arn, d.v2.bus_arn.as_deref()).await),
    }
}

/// DeleteEventBus; AWS refuses while sources or subscribers are on it (another bridge's):
/// `GatewayInUse`, retried.
pub async fn delete_bus(client: &Client, name: &str, arn: &str) -> Result<(), Error> {
    match client.delete_event_bus().event_bus_arn(arn).send().await {
        Err(e) if has_code(&e, &["ResourceInUseException"]) => {
            return Err(Error::GatewayInUse(format!(
                "Custom Event Bus {name} still has webhook sources or subscribers of attached bridges; it is deleted once they are gone"
            )));
        }
        other => gone_ok(SVC, "DeleteEventBus", NOT_FOUND, other)?,
    }
    // DELETING, then gone: waited for, so a delete that returns leaves nothing behind.
    for attempt in 0..ACTIVE_POLLS {
        if describe_bus(client, arn).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(poll_delay(attempt)).await;
    }
    Err(Error::NotYet(format!("Custom Event Bus {name} is still DELETING")))
}

/// Names of every source and subscriber on a bus (any owner): a gateway is not deleted while
/// attached bridges have any.
pub async fn occupants(client: &Client, bus_arn: &str) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = list_sources(client, bus_arn, None).await?.into_iter().map(|(n, _)| n).collect();
    names.extend(list_subscribers(client, bus_arn, None).await?.into_iter().map(|(n, _)| n));
    Ok(names)
}

// ---------------------------------------------------------------------------------------------
// A bridge's webhook sources and subscribers

/// Every (name, ARN) of a paged list, from its pages: `page(token)` is one call's items and next
/// token, or `None` when the bus is gone (then what was read so far).
async fn paged<F, Fut>(mut page: F) -> Result<Vec<(String, String)>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Option<(Vec<(String, String)>, Option<String>)>, Error>>,
{
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let Some((items, next)) = page(token.take()).await? else { return Ok(all) };
        all.extend(items);
        token = next;
        if token.is_none() {
            return Ok(all);
        }
    }
}

async fn list_sources(client: &Client, bus_arn: &str, prefix: Option<&str>) -> Result<Vec<(String, String)>, Error> {
    paged(|token| async move {
        let sent = client
            .list_event_sources()
            .event_bus_arn(bus_arn)
            .set_name_prefix(prefix.map(str::to_string))
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some((
                out.event_sources()
                    .iter()
                    .filter_map(|s| Some((s.name()?.to_string(), s.event_source_arn()?.to_string())))
                    .collect(),
                out.next_token().map(str::to_string),
            ))),
            Err(e) if has_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(classify(SVC, "ListEventSources", e)),
        }
    })
    .await
}

async fn list_subscribers(
    client: &Client,
    bus_arn: &str,
    prefix: Option<&str>,
) -> Result<Vec<(String, String)>, Error> {
    paged(|token| async move {
        let sent = client
            .list_subscribers()
            .event_bus_arn(bus_arn)
            .set_name_prefix(prefix.map(str::to_string))
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some((
                out.subscribers()
                    .iter()
                    .filter_map(|s| Some((s.name()?.to_string(), s.subscriber_arn()?.to_string())))
                    .collect(),
                out.next_token().map(str::to_string),
            ))),
            Err(e) if has_code(&e, NOT_FOUND) => Ok(None),
            Err(e) => Err(classify(SVC, "ListSubscribers", e)),
        }
    })
    .await
}

/// The bridge's sources and subscribers on its gateway's bus: by its name prefix, then tags and
/// a describe each (the plan decides what is ours).
///
/// Without the bus's ARN (the gateway is not Ready, or its status lost the bus) every Custom
/// Event Bus of the account and region is searched (5 per account by default): a delete must
/// find what the bridge made wherever it is, never take "no bus known" for "nothing left".
pub async fn observe_webhook(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    if !d.v2.webhook {
        return Ok(());
    }
    let buses = match &d.v2.bus_arn {
        Some(arn) => vec![arn.clone()],
        None => all_buses(client).await?,
    };
    for bus_arn in &buses {
        observe_webhook_on(client, d, bus_arn, into).await?;
    }
    Ok(())
}

/// The ARN of every Custom Event Bus in the account and region.
async fn all_buses(client: &Client) -> Result<Vec<String>, Error> {
    let found = paged(|token| async move {
        let out = client
            .list_event_buses()
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(SVC, "ListEventBuses", e))?;
        Ok(Some((
            out.event_buses()
                .iter()
                .filter_map(|b| Some((b.name()?.to_string(), b.event_bus_arn()?.to_string())))
                .collect(),
            out.next_token().map(str::to_string),
        )))
    })
    .await?;
    Ok(found.into_iter().map(|(_, arn)| arn).collect())
}

async fn observe_webhook_on(client: &Client, d: &Desired, bus_arn: &str, into: &mut Observed) -> Result<(), Error> {
    let prefix = d.owner.rule_prefix();
    for (name, arn) in list_sources(client, bus_arn, Some(&prefix)).await? {
        if !name.starts_with(&prefix) {
            continue;
        }
        if let Some(s) = describe_source(client, &arn).await? {
            into.v2.sources.push(s);
        }
    }
    for (name, arn) in list_subscribers(client, bus_arn, Some(&prefix)).await? {
        if !name.starts_with(&prefix) {
            continue;
        }
        if let Some(s) = describe_subscriber(client, &arn).await? {
            into.v2.subscribers.push(s);
        }
    }
    Ok(())
}

/// DescribeEventSource, its configuration and webhook details read from the raw answer.
pub async fn describe_source(client: &Client, arn: &str) -> Result<Option<ObsV2Source>, Error> {
    let raw = RawCbor::new(&Cbor::map([("EventSourceArn", Cbor::text(arn))]), None);
    match client.describe_event_source().event_source_arn(arn).customize().interceptor(raw.clone()).send().await {
        Ok(_) => {}
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(classify(SVC, "DescribeEventSource", e)),
    }
    let answer = raw.answer().ok_or_else(|| Error::Transient {
        service: SVC,
        operation: "DescribeEventSource",
        code: "ResponseError".into(),
        message: "the answer is not CBOR".into(),
    })?;
    let Some(tags) = tags_of(client, arn).await? else { return Ok(None) };
    Ok(Some(source_of(&answer, arn, tags)))
}

/// A source from a Create/Describe answer.
pub fn source_of(answer: &Cbor, arn: &str, tags: Tags) -> ObsV2Source {
    ObsV2Source {
        name: answer.str_at(&["Name"]).unwrap_or_default().to_string(),
        arn: answer.str_at(&["EventSourceArn"]).unwrap_or(arn).to_string(),
        state: answer.str_at(&["State"]).map(str::to_string),
        revoked: answer.get("Revoked").and_then(Cbor::as_bool).unwrap_or(false),
        config: answer.at(&["Configuration", "WebhookEventsConfiguration"]).map(to_json),
        url: answer.str_at(&["EventSourceDetails", "WebhookDetails", "WebhookUrl"]).map(str::to_string),
        secret_arn: answer.str_at(&["EventSourceDetails", "WebhookDetails", "SecretArn"]).map(str::to_string),
        tags,
    }
}

/// Configuration.WebhookEventsConfiguration of a source, with its secret when it has one.
fn source_configuration(s: &V2Source, with_secret: bool) -> Cbor {
    let mut config = s.config();
    if with_secret && let Some(secret) = &s.secret {
        let (member, field, _) = s.secret_members();
        config["AuthConfiguration"][member][field] = Value::String(secret.expose().to_string());
    }
    Cbor::map([("WebhookEventsConfiguration", from_json(&config))])
}

fn source_tags(d: &Desired, s: &V2Source) -> Tags {
    let mut tags = d.tags.clone();
    if let Some(c) = &s.credential {
        tags.insert(TAG_CREDENTIAL.to_string(), c.clone());
    }
    if let Some(u) = &s.username_tag {
        tags.insert(TAG_USERNAME.to_string(), u.clone());
    }
    tags
}

/// CreateEventSource with the webhook configuration (and the Secret's value, or none for
/// EventBridge to generate), our tags with the credential's fingerprint, and a ClientToken.
pub async fn create_source(client: &Client, d: &Desired, s: &V2Source) -> Result<ObsV2Source, Error> {
    let bus_arn = d.v2.bus_arn.clone().ok_or_else(|| Error::Config("CreateEventSource: no bus".into()))?;
    let body = Cbor::map([
        ("Name", Cbor::text(&s.name)),
        ("EventBusArn", Cbor::text(&bus_arn)),
        ("Configuration", source_configuration(s, true)),
        ("Description", Cbor::text(format!("webhook-bridge source {} of {}", s.spec_name, d.owner.key()))),
        ("Tags", tag_map(&source_tags(d, s))),
        ("ClientToken", Cbor::text(&s.client_token)),
    ]);
    let raw = RawCbor::new(&body, None);
    // The SDK's own body is replaced before signing; the placeholder only satisfies its builder.
    let placeholder = aws_sdk_eventbridgev2::types::EventSourceConfiguration::AwsServiceEventsConfiguration(
        aws_sdk_eventbridgev2::types::AwsServiceEventsSourceConfiguration::builder()
            .aws_service("aws.placeholder")
            .build()
            .map_err(|e| Error::Config(format!("CreateEventSource: {e}")))?,
    );
    let sent = client
        .create_event_source()
        .name(&s.name)
        .event_bus_arn(&bus_arn)
        .configuration(placeholder)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await;
    if let Err(e) = sent {
        let e = write_error(client, "CreateEventSource", e, &bus_arn, Some(&bus_arn)).await;
        return Err(redacted(e, s.secret.as_ref()));
    }
    let answer = raw.answer().unwrap_or(Cbor::Null);
    let arn = answer.str_at(&["EventSourceArn"]).unwrap_or_default().to_string();
    Ok(source_of(&answer, &arn, source_tags(d, s)))
}

/// UpdateEventSource with the spec's whole configuration: the Configuration member replaces the
/// source's (a field the spec dropped is left out, and so removed; "Fields omitted from the
/// request are left unchanged" is taken to mean the request's members, Configuration and
/// Description). An HMAC or token secret is not sent (only [`rotate`] changes it); a basic-auth
/// source's is, with its Username: "Supply both Username and Password, or omit both so that
/// EventBridge generates the pair. Supplying only one fails with InvalidInputException"
/// (WebhookBasicHttpAuthConfiguration), and omitting both would have EventBridge generate a new
/// pair. This is also how a changed username is applied (RotateWebhookCredentials: "For HTTP
/// Basic authentication, only the password changes. The username does not change").
pub async fn update_source(client: &Client, s: &V2Source, arn: &str) -> Result<(), Error> {
    let raw = RawCbor::new(&update_body(s, arn)?, None);
    match client.update_event_source().event_source_arn(arn).customize().interceptor(raw).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(redacted(write_error(client, "UpdateEventSource", e, arn, None).await, s.secret.as_ref())),
    }
}

/// The UpdateEventSource body of [`update_source`].
fn update_body(s: &V2Source, arn: &str) -> Result<Cbor, Error> {
    let basic = matches!(s.scheme, crate::webhook::AuthScheme::Basic { .. });
    if basic && s.secret.is_none() {
        return Err(Error::DependencyMissing(crate::error::FieldError::new(
            format!("spec.webhookSources[{}].secretRef", s.index),
            format!(
                "webhook source {}: updating a basic-auth source sends its username with the password (AWS takes both or neither), and the Secret's password was not read",
                s.spec_name
            ),
        )));
    }
    Ok(Cbor::map([("EventSourceArn", Cbor::text(arn)), ("Configuration", source_configuration(s, basic))]))
}

/// RotateWebhookCredentials to the Secret's value (or, without one, a value EventBridge
/// generates), with a ClientToken for this one change (a retry does not rotate twice). Sent as
/// an UpdateEventSource request whose operation and body are replaced (see the module doc).
pub async fn rotate(client: &Client, d: &Desired, s: &V2Source, arn: &str) -> Result<(), Error> {
    let mut body = vec![("EventSourceArn", Cbor::text(arn)), ("ClientToken", Cbor::text(s.rotate_token(&d.owner)))];
    if let Some(secret) = &s.secret {
        let (_, _, member) = s.secret_members();
        body.push(("Credential", Cbor::map([(member, Cbor::text(secret.expose()))])));
    }
    let raw = RawCbor::new(&Cbor::map(body), Some("RotateWebhookCredentials"));
    match client.update_event_source().event_source_arn(arn).customize().interceptor(raw).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(redacted(write_error(client, "RotateWebhookCredentials", e, arn, None).await, s.secret.as_ref())),
    }
}

/// The source's tags: the spec's, and the credential fingerprint (removed when EventBridge now
/// generates the credential). Ownership tags are only ever written at creation.
pub async fn tag_source(client: &Client, d: &Desired, s: &V2Source, arn: &str) -> Result<(), Error> {
    let mut tags: std::collections::HashMap<String, String> =
        d.spec_tags().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(c) = &s.credential {
        tags.insert(TAG_CREDENTIAL.to_string(), c.clone());
    }
    if let Some(u) = &s.username_tag {
        tags.insert(TAG_USERNAME.to_string(), u.clone());
    }
    if !tags.is_empty()
        && let Err(e) = client.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await
    {
        return Err(write_error(client, "TagResource", e, arn, None).await);
    }
    if s.credential.is_none()
        && let Err(e) = client.untag_resource().resource_arn(arn).tag_keys(TAG_CREDENTIAL).send().await
    {
        return Err(write_error(client, "UntagResource", e, arn, None).await);
    }
    Ok(())
}

/// DeleteEventSource, then Describe until it is gone (DELETING first; its bus cannot be
/// deleted before).
pub async fn delete_source(client: &Client, arn: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteEventSource", NOT_FOUND, client.delete_event_source().event_source_arn(arn).send().await)?;
    for attempt in 0..ACTIVE_POLLS {
        if describe_source(client, arn).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(poll_delay(attempt)).await;
    }
    Err(Error::NotYet(format!("webhook event source {arn} is still DELETING")))
}

/// Whether a source can take requests: ACTIVE (UPDATING still serves); CREATING is "not yet";
/// a failed state is terminal with AWS's reason.
pub fn source_ready(s: &ObsV2Source) -> Result<(), Error> {
    match s.state.as_deref() {
        Some("ACTIVE") => Ok(()),
        Some(state @ ("CREATE_FAILED" | "UPDATE_FAILED" | "DELETE_FAILED")) => Err(Error::AwsFailed {
            what: format!("webhook event source {}", s.name),
            state: state.to_string(),
            reason: "see the source in the EventBridge console; rename the source to make a new one".into(),
        }),
        state => {
            Err(Error::NotYet(format!("webhook event source {} is {}", s.name, state.unwrap_or("not ACTIVE yet"))))
        }
    }
}

/// Describe until every source of the bridge is ACTIVE (a few seconds at most, then `NotYet`).
pub async fn wait_sources(client: &Client, sources: &mut [ObsV2Source]) -> Result<(), Error> {
    for attempt in 0..ACTIVE_POLLS {
        let mut waiting = None;
        for s in sources.iter_mut() {
            match source_ready(s) {
                Ok(()) => {}
                Err(e @ Error::NotYet(_)) => {
                    if let Some(now) = describe_source(client, &s.arn).await? {
                        *s = now;
                    }
                    if source_ready(s).is_err() {
                        waiting = Some(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        match waiting {
            None => return Ok(()),
            Some(e) if attempt + 1 == ACTIVE_POLLS => return Err(e),
            Some(_) => tokio::time::sleep(poll_delay(attempt)).await,
        }
    }
    Ok(())
}

mod subscribers;
use subscribers::describe_subscriber;
pub use subscribers::{create_subscriber, delete_subscriber, update_subscriber};

#[cfg(test)]
mod tests;
