//! Planning the EventBridge side: the bus, rules, targets and the Lambda statements targets need.

use std::collections::BTreeSet;

use super::{Action, conflict, tags_missing};
use crate::desired::{Desired, DesiredTarget};
use crate::error::{Error, FieldError};
use crate::observed::Observed;
use crate::owner::Ownership;

pub(super) fn plan_bus(d: &Desired, o: &Observed, actions: &mut Vec<Action>) -> Result<(), Error> {
    match (&o.bus, d.bus.managed) {
        (None, true) => actions.push(Action::CreateBus { name: d.bus.name.clone() }),
        (Some(bus), true) => {
            if d.owner.ownership(&bus.tags) != Ownership::Ours {
                return Err(conflict(
                    "spec.eventBus.name",
                    format!(
                        "event bus {} already exists and is not owned by this bridge; choose another name or reference it with existingArn",
                        d.bus.name
                    ),
                ));
            }
            if tags_missing(&d.tags, &bus.tags) {
                actions.push(Action::TagBus { arn: bus.arn.clone() });
            }
        }
        (None, false) => {
            return Err(Error::DependencyMissing(FieldError::new(
                "spec.eventBus.existingArn",
                format!("event bus {} does not exist", d.bus.arn),
            )));
        }
        (Some(bus), false) => {
            // Another bridge's bus: its rules and events belong to that team.
            let managed_by_us =
                bus.tags.get(crate::owner::TAG_MANAGED_BY).map(String::as_str) == Some(crate::owner::MANAGED_BY);
            let owner = bus.tags.get(crate::owner::TAG_OWNER).map(String::as_str).unwrap_or_default();
            let same_team = bus.tags.get(crate::owner::TAG_CLUSTER) == Some(&d.owner.cluster)
                && owner.split('/').next() == Some(d.owner.namespace.as_str());
            if let (true, false, Some(policy)) = (managed_by_us, same_team, &d.bus.foreign_denied_by) {
                return Err(Error::PolicyDenied {
                    policy: policy.clone(),
                    denials: vec![crate::tenancy::Denial {
                        rule: "existingBusArns",
                        field: "spec.eventBus.existingArn".into(),
                        message: format!(
                            "event bus {} was created by the WebhookBridge {owner}, of another namespace or cluster; a policy must name its ARN exactly (no wildcard) to share it",
                            d.bus.arn
                        ),
                    }],
                });
            }
        }
    }
    Ok(())
}

pub(super) fn plan_rules(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), Error> {
    let owner = &d.owner;
    let desired_perms = d.permissions();
    let have_perms: BTreeSet<(&str, &str, Option<&str>)> = o
        .permissions
        .iter()
        .map(|p| (p.function_arn.as_str(), p.statement_id.as_str(), p.source_arn.as_deref()))
        .collect();

    for (i, rule) in d.rules.iter().enumerate() {
        let observed = o.rules.iter().find(|r| r.name == rule.name);
        if let Some(obs) = observed
            && owner.ownership(&obs.tags) != Ownership::Ours
        {
            return Err(conflict(
                &format!("spec.rules[{i}].name"),
                format!("EventBridge rule {} already exists and is not owned by this bridge", rule.name),
            ));
        }
        match observed {
            None => actions.push(Action::PutRule { name: rule.name.clone(), create: true }),
            Some(obs) => {
                let same = obs.pattern.as_ref() == Some(&rule.pattern)
                    && obs.enabled == rule.enabled
                    && obs.description.as_deref().unwrap_or("") == rule.description.as_deref().unwrap_or("");
                if !same {
                    actions.push(Action::PutRule { name: rule.name.clone(), create: false });
                }
                if tags_missing(&d.tags, &obs.tags) {
                    actions.push(Action::TagRule { arn: obs.arn.clone() });
                }
            }
        }
        // Invoke permissions before the targets that need them.
        for p in rule.permissions(owner) {
            if !have_perms.contains(&(p.function_arn.as_str(), p.statement_id.as_str(), Some(p.source_arn.as_str()))) {
                actions.push(Action::AddPermission(p));
            }
        }
        let have: &[DesiredTarget] = observed.map(|r| r.targets.as_slice()).unwrap_or(&[]);
        let put: Vec<String> = rule.targets.iter().filter(|t| !have.contains(t)).map(|t| t.id.clone()).collect();
        if !put.is_empty() {
            actions.push(Action::PutTargets { rule: rule.name.clone(), ids: put });
        }
        let remove: Vec<String> =
            have.iter().filter(|t| !rule.targets.iter().any(|w| w.id == t.id)).map(|t| t.id.clone()).collect();
        if !remove.is_empty() {
            gc.push(Action::RemoveTargets { rule: rule.name.clone(), ids: remove });
        }
    }

    // Rules the spec no longer names (only ours: a prefixed rule someone else tagged is left alone).
    for obs in &o.rules {
        if d.rules.iter().any(|r| r.name == obs.name) || owner.ownership(&obs.tags) != Ownership::Ours {
            continue;
        }
        if !obs.targets.is_empty() {
            gc.push(Action::RemoveTargets {
                rule: obs.name.clone(),
                ids: obs.targets.iter().map(|t| t.id.clone()).collect(),
            });
        }
        gc.push(Action::DeleteRule { name: obs.name.clone() });
    }

    // Permissions nothing needs any more (or whose rule ARN changed).
    for p in &o.permissions {
        let wanted = desired_perms.iter().any(|w| {
            w.function_arn == p.function_arn
                && w.statement_id == p.statement_id
                && Some(w.source_arn.as_str()) == p.source_arn.as_deref()
        });
        if !wanted {
            gc.push(Action::RemovePermission {
                function_arn: p.function_arn.clone(),
                statement_id: p.statement_id.clone(),
            });
        }
    }
    Ok(())
}
