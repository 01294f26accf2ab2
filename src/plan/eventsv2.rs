//! Planning the Custom Event Bus family (`eventsv2`): a gateway's bus, a webhook-source
//! bridge's event sources (create, update in place, rotate the credential when the Kubernetes
//! Secret changed, never change the auth type) and subscribers. Pure.

use std::fmt;

use serde_json::Value;

use super::{Action, conflict, tags_missing};
use crate::desired::Desired;
use crate::desired_webhook::{
    TAG_CREDENTIAL, TAG_USERNAME, V2Source, V2Subscriber, auth_kind_of_member, retry_or_default,
};
use crate::error::Error;
use crate::observed::{ObsV2Source, ObsV2Subscriber, Observed};
use crate::owner::Ownership;

/// One `eventsv2` write.
#[derive(Clone, Debug, PartialEq)]
pub enum V2Action {
    CreateBus {
        name: String,
    },
    TagBus {
        arn: String,
    },
    DeleteBus {
        name: String,
        arn: String,
    },
    CreateSource {
        name: String,
    },
    /// UpdateEventSource with the spec's configuration (no secret).
    UpdateSource {
        name: String,
        arn: String,
    },
    /// RotateWebhookCredentials to the Secret's value (or a generated one).
    RotateCredential {
        name: String,
        arn: String,
    },
    /// The ownership, spec and credential tags.
    TagSource {
        name: String,
        arn: String,
    },
    DeleteSource {
        name: String,
        arn: String,
    },
    CreateSubscriber {
        name: String,
    },
    UpdateSubscriber {
        name: String,
        arn: String,
    },
    TagSubscriber {
        name: String,
        arn: String,
    },
    DeleteSubscriber {
        name: String,
        arn: String,
    },
}

impl V2Action {
    pub fn removes(&self) -> bool {
        matches!(self, V2Action::DeleteBus { .. } | V2Action::DeleteSource { .. } | V2Action::DeleteSubscriber { .. })
    }
}

impl fmt::Display for V2Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use V2Action::*;
        match self {
            CreateBus { name } => write!(f, "create  eventsv2 bus {name}"),
            TagBus { arn } => write!(f, "tag     eventsv2 bus {arn}"),
            DeleteBus { name, .. } => write!(f, "delete  eventsv2 bus {name}"),
            CreateSource { name } => write!(f, "create  eventsv2 webhook source {name}"),
            UpdateSource { name, .. } => write!(f, "update  eventsv2 webhook source {name}"),
            RotateCredential { name, .. } => write!(f, "rotate  eventsv2 webhook source {name} credential"),
            TagSource { name, .. } => write!(f, "tag     eventsv2 webhook source {name}"),
            DeleteSource { name, .. } => write!(f, "delete  eventsv2 webhook source {name}"),
            CreateSubscriber { name } => write!(f, "create  eventsv2 subscriber {name}"),
            UpdateSubscriber { name, .. } => write!(f, "update  eventsv2 subscriber {name}"),
            TagSubscriber { name, .. } => write!(f, "tag     eventsv2 subscriber {name}"),
            DeleteSubscriber { name, .. } => write!(f, "delete  eventsv2 subscriber {name}"),
        }
    }
}

/// Whether `want` is contained in `have`: every key of every object `want` has, with the same
/// value (AWS adds its defaults on reads; arrays compare whole, header names case-insensitively).
pub fn json_subset(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| h.get(k).is_some_and(|x| json_subset(v, x))),
        (Value::Array(w), Value::Array(h)) => w.len() == h.len() && w.iter().zip(h).all(|(a, b)| json_subset(a, b)),
        (Value::String(a), Value::String(b)) => a == b || (a.eq_ignore_ascii_case(b) && !a.contains(':')),
        (a, b) => a == b,
    }
}

/// The fields of a WebhookEventsConfiguration the spec says (the model's members; any other,
/// e.g. `LogConfiguration` or `KmsKeyIdentifier`, is not ours and never compared), and of each
/// AuthConfiguration member. A field AWS holds and the spec no longer has is drift as much as
/// a changed one.
const MANAGED: &[&str] = &["AuthConfiguration", "RoleArn", "MetadataHttpHeaders", "DeduplicationConfiguration"];
const AUTH_FIELDS: &[&str] = &[
    "Algorithm",
    "Encoding",
    "SignatureHttpHeader",
    "SignaturePrefix",
    "Delimiter",
    "TimestampHttpHeader",
    "TimestampPrefix",
    "TimestampToleranceInSeconds",
    "MessageIdHttpHeader",
    "SignedMessageComposition",
    "SecretEncoding",
    "TokenHttpHeader",
];

/// A field's value with AWS's documented default filled in, so that a read showing the default
/// equals a spec that leaves it out: `SecretEncoding` "The default is RAW";
/// `TimestampToleranceInSeconds` "The default is 300 seconds" (with a timestamp header);
/// `MetadataHttpHeaders` "Omit the list to add no headers" (WebhookHmacAuthConfiguration,
/// WebhookEventsSourceConfiguration, botocore eventbridgev2 2025-05-15).
fn with_default<'a>(member: &Value, key: &str, v: Option<&'a Value>) -> Option<std::borrow::Cow<'a, Value>> {
    use std::borrow::Cow;
    match (key, v) {
        (_, Some(v)) => Some(Cow::Borrowed(v)),
        ("SecretEncoding", None) => Some(Cow::Owned(Value::from("RAW"))),
        ("TimestampToleranceInSeconds", None) if member.get("TimestampHttpHeader").is_some() => {
            Some(Cow::Owned(Value::from(300)))
        }
        ("MetadataHttpHeaders", None) => Some(Cow::Owned(Value::Array(Vec::new()))),
        (_, None) => None,
    }
}

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => json_equal(a, b),
        _ => false,
    }
}

/// Equality of two JSON values, header names compared case-insensitively (as [`json_subset`]).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => json_subset(a, b),
    }
}

/// Whether a source's configuration as read (`have`) is the spec's (`want`, from
/// [`V2Source::config`], without the secret and a basic-auth Username AWS never returns), both
/// ways: a field the spec dropped (a timestamp header, a tolerance, a prefix, the deduplication)
/// is a difference, so UpdateEventSource sends the configuration without it.
pub fn source_config_in_sync(want: &Value, have: &Value) -> bool {
    MANAGED.iter().all(|&key| {
        if key != "AuthConfiguration" {
            let none = Value::Null;
            return same(
                with_default(&none, key, want.get(key)).as_deref(),
                with_default(&none, key, have.get(key)).as_deref(),
            );
        }
        let (Some(w), Some(h)) = (want.get(key).and_then(Value::as_object), have.get(key).and_then(Value::as_object))
        else {
            return want.get(key).is_none() && have.get(key).is_none();
        };
        let members = |m: &serde_json::Map<String, Value>| -> Vec<String> {
            let mut k: Vec<String> = m.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect();
            k.sort();
            k
        };
        if members(w) != members(h) {
            return false;
        }
        w.iter().filter(|(_, v)| !v.is_null()).all(|(member, wm)| {
            let hm = &h[member];
            AUTH_FIELDS
                .iter()
                .all(|&f| same(with_default(wm, f, wm.get(f)).as_deref(), with_default(hm, f, hm.get(f)).as_deref()))
        })
    })
}

/// The gateway's bus: create it, tag it, or refuse a name someone else holds.
pub(super) fn plan_bus(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), Error> {
    let owner = &d.owner;
    match (&d.v2.bus, &o.v2.bus) {
        (Some(want), None) => actions.push(Action::V2(V2Action::CreateBus { name: want.name.clone() })),
        (Some(want), Some(have)) => {
            if owner.ownership(&have.tags) != Ownership::Ours {
                return Err(conflict(
                    "spec.customEventBus.name",
                    format!("Custom Event Bus {} already exists and is not owned by this gateway", want.name),
                ));
            }
            if tags_missing(&d.tags, &have.tags) {
                actions.push(Action::V2(V2Action::TagBus { arn: have.arn.clone() }));
            }
        }
        // The spec dropped the bus (the CRD makes it immutable, but a spec edited around that):
        // collected after its sources and subscribers are gone (AWS refuses otherwise).
        (None, Some(have)) if owner.ownership(&have.tags) == Ownership::Ours => {
            gc.push(Action::V2(V2Action::DeleteBus { name: have.name.clone(), arn: have.arn.clone() }))
        }
        (None, _) => {}
    }
    Ok(())
}

fn auth_member(config: &Value) -> Option<&str> {
    config.get("AuthConfiguration")?.as_object()?.keys().next().map(String::as_str)
}

fn plan_source(d: &Desired, want: &V2Source, have: &ObsV2Source, actions: &mut Vec<Action>) -> Result<(), Error> {
    let field = format!("spec.webhookSources[{}]", want.index);
    match d.owner.ownership(&have.tags) {
        Ownership::Ours => {}
        _ => {
            return Err(conflict(
                &field,
                format!("webhook event source {} already exists and is not owned by this bridge", want.name),
            ));
        }
    }
    if have.revoked {
        return Err(revoked(
            format!("webhook event source {} (spec.webhookSources[{}])", want.name, want.index),
            "rename the source to make a new one (a new URL)",
        ));
    }
    let config = want.config();
    let (name, arn) = (want.name.clone(), have.arn.clone());
    if let Some(have_member) = have.config.as_ref().and_then(auth_member) {
        let want_member = auth_member(&config).unwrap_or_default();
        if have_member != want_member {
            return Err(conflict(
                &format!("{field}.provider"),
                format!(
                    "webhook source {}: the auth type is {} in AWS and {} in the spec; AWS cannot change a source's auth type: rename the source (a new name makes a new source and URL) to change it",
                    want.spec_name,
                    auth_kind_of_member(have_member).unwrap_or(have_member),
                    auth_kind_of_member(want_member).unwrap_or(want_member),
                ),
            ));
        }
    }
    // Reads carry no credential: BASIC's Username is left out of them with the password.
    let mut compared = config.clone();
    if let Some(basic) =
        compared.pointer_mut("/AuthConfiguration/BasicHttpAuthConfiguration").and_then(Value::as_object_mut)
    {
        basic.remove("Username");
    }
    // A basic-auth username is seen through its tag (AWS never returns it); an untagged one
    // (made before the tag existed) is sent once more, with the password.
    let username_changed = want.username_tag.is_some() && want.username_tag.as_ref() != have.tags.get(TAG_USERNAME);
    let update = username_changed || !have.config.as_ref().is_some_and(|c| source_config_in_sync(&compared, c));
    if update {
        actions.push(Action::V2(V2Action::UpdateSource { name: name.clone(), arn: arn.clone() }));
    }
    let tagged = have.tags.get(TAG_CREDENTIAL);
    // Rotation: the Secret's value changed (its fingerprint is not the tag), or a source whose
    // credential came from a Secret is now to be generated by EventBridge. A basic-auth source
    // being updated needs none: its UpdateEventSource carries the Username and the Password
    // ("Supply both Username and Password, or omit both so that EventBridge generates the pair.
    // Supplying only one fails with InvalidInputException").
    let basic_update = update && want.username_tag.is_some();
    if want.credential.as_ref() != tagged || username_changed {
        if (want.credential.is_some() || tagged.is_some()) && want.credential.as_ref() != tagged && !basic_update {
            actions.push(Action::V2(V2Action::RotateCredential { name: name.clone(), arn: arn.clone() }));
        }
        actions.push(Action::V2(V2Action::TagSource { name, arn }));
    } else if tags_missing(&d.tags, &have.tags) {
        actions.push(Action::V2(V2Action::TagSource { name, arn }));
    }
    Ok(())
}

/// A revoked source or subscriber: terminal (RevokeResource: "Revocation is terminal: there is
/// no operation that clears it. A revoked resource refuses mutating operations with
/// InvalidStateException; delete stays available for cleanup").
fn revoked(what: String, fix: &str) -> Error {
    Error::AwsFailed {
        what,
        state: "REVOKED".into(),
        reason: format!("revoked by the owner of the gateway's Custom Event Bus (permanent); {fix}"),
    }
}

/// The subscriber's settings as AWS reads them back, against the spec (both ways: a retry
/// policy, dead-letter queue or message group the spec dropped is a difference).
fn subscriber_in_sync(want: &V2Subscriber, have: &ObsV2Subscriber) -> bool {
    have.pattern.as_ref() == Some(&want.pattern)
        && have.role_arn.as_deref() == Some(want.role_arn.as_str())
        && retry_or_default(have.retry_policy) == retry_or_default(want.target.retry_policy)
        && have.dead_letter_arn == want.target.dead_letter_arn
        && have.message_group_id == want.target.message_group_id
        && have.state.as_deref() == Some(if want.enabled { "RUNNING" } else { "STOPPED" })
}

/// A webhook-source bridge's sources and subscribers on its gateway's bus.
pub(super) fn plan_webhook(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), Error> {
    if !d.v2.webhook {
        return Ok(());
    }
    let owner = &d.owner;
    for want in &d.v2.sources {
        match o.v2.sources.iter().find(|s| s.name == want.name) {
            None => actions.push(Action::V2(V2Action::CreateSource { name: want.name.clone() })),
            Some(have) => plan_source(d, want, have, actions)?,
        }
    }
    for want in &d.v2.subscribers {
        match o.v2.subscribers.iter().find(|s| s.name == want.name) {
            None => actions.push(Action::V2(V2Action::CreateSubscriber { name: want.name.clone() })),
            Some(have) if owner.ownership(&have.tags) != Ownership::Ours => {
                return Err(conflict(
                    &format!("spec.rules[{}]", want.rule),
                    format!("subscriber {} already exists and is not owned by this bridge", want.name),
                ));
            }
            Some(have) if have.revoked => {
                return Err(revoked(
                    format!("subscriber {} (rule {})", want.name, want.rule),
                    "give the target another id (targets[].id) to make a new subscriber",
                ));
            }
            // The target is not updatable (UpdateInvokeConfiguration has no TargetArn): a new
            // one replaces the subscriber (an explicit target id kept across a new ARN).
            Some(have) if have.target_arn.as_deref() != Some(want.target.arn.as_str()) => {
                actions.push(Action::V2(V2Action::DeleteSubscriber { name: have.name.clone(), arn: have.arn.clone() }));
                actions.push(Action::V2(V2Action::CreateSubscriber { name: want.name.clone() }));
            }
            Some(have) => {
                if !subscriber_in_sync(want, have) {
                    actions.push(Action::V2(V2Action::UpdateSubscriber {
                        name: have.name.clone(),
                        arn: have.arn.clone(),
                    }));
                }
                if tags_missing(&d.tags, &have.tags) {
                    actions
                        .push(Action::V2(V2Action::TagSubscriber { name: have.name.clone(), arn: have.arn.clone() }));
                }
            }
        }
    }
    // Ours, no longer in the spec.
    for have in o.v2.subscribers.iter().filter(|s| owner.ownership(&s.tags) == Ownership::Ours) {
        if !d.v2.subscribers.iter().any(|w| w.name == have.name) {
            gc.push(Action::V2(V2Action::DeleteSubscriber { name: have.name.clone(), arn: have.arn.clone() }));
        }
    }
    for have in o.v2.sources.iter().filter(|s| owner.ownership(&s.tags) == Ownership::Ours) {
        if !d.v2.sources.iter().any(|w| w.name == have.name) {
            gc.push(Action::V2(V2Action::DeleteSource { name: have.name.clone(), arn: have.arn.clone() }));
        }
    }
    Ok(())
}

/// Everything of the family this owner made: subscribers, then sources, then the bus.
pub(super) fn plan_delete(d: &Desired, o: &Observed, actions: &mut Vec<Action>) {
    let owner = &d.owner;
    for s in o.v2.subscribers.iter().filter(|s| owner.ownership(&s.tags) == Ownership::Ours) {
        actions.push(Action::V2(V2Action::DeleteSubscriber { name: s.name.clone(), arn: s.arn.clone() }));
    }
    for s in o.v2.sources.iter().filter(|s| owner.ownership(&s.tags) == Ownership::Ours) {
        actions.push(Action::V2(V2Action::DeleteSource { name: s.name.clone(), arn: s.arn.clone() }));
    }
    if let Some(bus) = &o.v2.bus
        && owner.ownership(&bus.tags) == Ownership::Ours
    {
        actions.push(Action::V2(V2Action::DeleteBus { name: bus.name.clone(), arn: bus.arn.clone() }));
    }
}

/// Removal order within the family (before the role, which the sources and subscribers use).
pub(super) fn gc_rank(a: &V2Action) -> u8 {
    match a {
        V2Action::DeleteSubscriber { .. } => 0,
        V2Action::DeleteSource { .. } => 1,
        _ => 2,
    }
}

#[cfg(test)]
#[path = "eventsv2_tests.rs"]
mod tests;
