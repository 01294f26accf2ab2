//! Planning the bus archive. Archives take no tags: ownership is the description marker (see
//! `Owner::archive_ownership`).

use serde_json::{Value, json};

use super::{Action, conflict};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::owner::Ownership;

/// What an archive without a pattern is updated to: UpdateArchive cannot remove a pattern, so
/// "every event" is written as a pattern every event matches (every event has a `source`), and
/// read back as no pattern.
pub fn all_events() -> Value {
    json!({"source": [{"prefix": ""}]})
}

/// An observed pattern as the spec would say it (`all_events` reads as none).
fn normalized(pattern: Option<&Value>) -> Option<&Value> {
    pattern.filter(|p| **p != all_events())
}

pub(super) fn plan_archive(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), super::Error> {
    let name = d.owner.archive_name();
    match (&d.archive, &o.archive) {
        (Some(_), None) => actions.push(Action::CreateArchive { name }),
        (Some(want), Some(have)) => {
            if d.owner.archive_ownership(have.description.as_deref()) != Ownership::Ours || have.source_arn != d.bus.arn
            {
                return Err(conflict(
                    "spec.eventBus.archive",
                    format!("EventBridge archive {name} already exists and is not this bridge's archive of its bus"),
                ));
            }
            if have.retention_days != want.retention_days
                || normalized(have.pattern.as_ref()) != want.pattern.as_ref()
                || have.description.as_deref() != Some(want.description.as_str())
            {
                actions.push(Action::UpdateArchive { name });
            }
        }
        (None, Some(have)) if d.owner.archive_ownership(have.description.as_deref()) == Ownership::Ours => {
            gc.push(Action::DeleteArchive { name });
        }
        _ => {}
    }
    Ok(())
}
