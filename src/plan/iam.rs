//! Planning the IAM role API Gateway assumes to call PutEvents.

use super::{Action, conflict, tags_missing};
use crate::desired::{Desired, DesiredRole};
use crate::error::Error;
use crate::observed::Observed;
use crate::owner::Ownership;

pub(super) fn plan_role(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), Error> {
    let owner = &d.owner;
    match (&d.role, &o.role) {
        (DesiredRole::Managed { name, .. }, None) => {
            actions.push(Action::CreateRole { name: name.clone() });
            actions.push(Action::PutRolePolicy { name: name.clone() });
        }
        (DesiredRole::Managed { name, trust_policy, policy, permissions_boundary, .. }, Some(role)) => {
            if owner.ownership(&role.tags) != Ownership::Ours {
                return Err(conflict(
                    "spec.role",
                    format!(
                        "IAM role {name} already exists and is not owned by this bridge; delete it or set spec.role.existingArn"
                    ),
                ));
            }
            // The boundary first: the operator's IAM policy allows role writes only on roles
            // bounded by it. A boundary only restricts: one the spec no longer names stays
            // (that policy grants no DeleteRolePermissionsBoundary).
            if let Some(want) = permissions_boundary
                && role.permissions_boundary.as_ref() != Some(want)
            {
                actions.push(Action::PutPermissionsBoundary { name: name.clone(), arn: want.clone() })
            }
            if role.trust_policy.as_ref() != Some(trust_policy) {
                actions.push(Action::UpdateTrustPolicy { name: name.clone() });
            }
            if role.policy.as_ref() != Some(policy) {
                actions.push(Action::PutRolePolicy { name: name.clone() });
            }
            if tags_missing(&d.tags, &role.tags) {
                actions.push(Action::TagRole { name: name.clone() });
            }
        }
        // Switched to a user-managed role: remove the one we made before, if any.
        (DesiredRole::Existing { .. }, Some(role)) if owner.ownership(&role.tags) == Ownership::Ours => {
            if role.policy.is_some() {
                gc.push(Action::DeleteRolePolicy { name: role.name.clone() });
            }
            gc.push(Action::DeleteRole { name: role.name.clone() });
        }
        (DesiredRole::Existing { .. }, _) => {}
    }
    Ok(())
}
