//! Planning access logs: the CloudWatch Logs group (the stage's `AccessLogSettings` are planned
//! with the stage).

use super::{Action, conflict};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::owner::Ownership;

pub(super) fn plan_log_group(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), super::Error> {
    let name = &d.logs.group_name;
    match (&o.log_group, d.logs.enabled) {
        (None, true) => {
            actions.push(Action::CreateLogGroup { name: name.clone() });
            actions.push(Action::PutRetentionPolicy { name: name.clone() });
        }
        (Some(group), true) => {
            if d.owner.ownership(&group.tags) != Ownership::Ours {
                return Err(conflict(
                    "spec.api.accessLogs",
                    format!("log group {name} already exists and is not owned by this bridge"),
                ));
            }
            if group.retention_days != Some(d.logs.retention_days) {
                actions.push(Action::PutRetentionPolicy { name: name.clone() });
            }
        }
        (Some(group), false) if d.owner.ownership(&group.tags) == Ownership::Ours => {
            gc.push(Action::DeleteLogGroup { name: name.clone() });
        }
        _ => {}
    }
    Ok(())
}
