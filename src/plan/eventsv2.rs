//! Planning the Custom Event Bus family (`eventsv2`): a gateway's bus, a webhook-source
//! bridge's event sources (create, update in place, rotate the credential when the Kubernetes
//! Secret changed, never change the auth type) and subscribers. Pure.

use std::fmt;

use serde_json::Value;

use super::{Action, conflict, tags_missing};
use crate::desired::Desired;
use crate::desired_webhook::{TAG_CREDENTIAL, V2Source, V2Subscriber, auth_kind_of_member};
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
        return Err(conflict(
            &field,
            format!(
                "webhook event source {} was revoked by the bus owner (revocation is permanent); rename the source to make a new one",
                want.name
            ),
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
    if !have.config.as_ref().is_some_and(|c| json_subset(&compared, c)) {
        actions.push(Action::V2(V2Action::UpdateSource { name: name.clone(), arn: arn.clone() }));
    }
    let tagged = have.tags.get(TAG_CREDENTIAL);
    // Rotation: the Secret's value changed (its fingerprint is not the tag), or a source whose
    // credential came from a Secret is now to be generated by EventBridge.
    if want.credential.as_ref() != tagged {
        if want.credential.is_some() || tagged.is_some() {
            actions.push(Action::V2(V2Action::RotateCredential { name: name.clone(), arn: arn.clone() }));
        }
        actions.push(Action::V2(V2Action::TagSource { name, arn }));
    } else if tags_missing(&d.tags, &have.tags) {
        actions.push(Action::V2(V2Action::TagSource { name, arn }));
    }
    Ok(())
}

/// The subscriber's settings as AWS reads them back, against the spec.
fn subscriber_in_sync(want: &V2Subscriber, have: &ObsV2Subscriber) -> bool {
    have.pattern.as_ref() == Some(&want.pattern)
        && have.role_arn.as_deref() == Some(want.role_arn.as_str())
        && have.retry_policy == want.target.retry_policy
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
