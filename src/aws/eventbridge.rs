//! EventBridge: the bus (by its deterministic name), our rules (by name prefix, checked by tag)
//! and their targets.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{
    DeadLetterConfig, InputTransformer, RetryPolicy, RuleState, SqsParameters, Tag, Target,
};

use crate::aws::{gone_ok, has_code, message_of};
use crate::desired::{Desired, DesiredRule, DesiredTarget};
use crate::error::{Error, classify};
use crate::observed::{Known, ObsBus, ObsRule, Observed, Tags};

const SVC: &str = "eventbridge";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// How API calls name the bus: its name when we own it, its ARN when it is referenced.
pub fn bus_ref(d: &Desired) -> &str {
    if d.bus.managed { &d.bus.name } else { &d.bus.arn }
}

fn tags(d: &Desired) -> Vec<Tag> {
    d.tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

async fn tags_of(client: &Client, arn: &str) -> Result<Tags, Error> {
    let out = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| classify(SVC, "ListTagsForResource", e))?;
    Ok(tag_map(out.tags()))
}

fn tag_map(tags: &[Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// The tags of `arn`; None when it does not exist (ResourceNotFoundException).
async fn tags_if_found(client: &Client, arn: &str) -> Result<Option<Tags>, Error> {
    match client.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => Ok(Some(tag_map(out.tags()))),
        Err(e) if has_code(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(classify(SVC, "ListTagsForResource", e)),
    }
}

fn target_of(t: &Target) -> DesiredTarget {
    DesiredTarget {
        id: t.id().to_string(),
        arn: t.arn().to_string(),
        role_arn: t.role_arn().map(str::to_string),
        input: t.input().map(str::to_string),
        input_path: t.input_path().map(str::to_string),
        input_transformer: t.input_transformer().map(|x| {
            (
                x.input_paths_map()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                x.input_template().to_string(),
            )
        }),
        dead_letter_arn: t.dead_letter_config().and_then(|c| c.arn()).map(str::to_string),
        retry_policy: t.retry_policy().map(|r| (r.maximum_retry_attempts(), r.maximum_event_age_in_seconds())),
        message_group_id: t.sqs_parameters().and_then(|p| p.message_group_id()).map(str::to_string),
    }
}

fn aws_target(t: &DesiredTarget) -> Result<Target, Error> {
    Target::builder()
        .id(&t.id)
        .arn(&t.arn)
        .set_role_arn(t.role_arn.clone())
        .set_input(t.input.clone())
        .set_input_path(t.input_path.clone())
        .set_input_transformer(t.input_transformer.as_ref().and_then(|(paths, template)| {
            InputTransformer::builder()
                .set_input_paths_map(
                    (!paths.is_empty()).then(|| paths.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                )
                .input_template(template)
                .build()
                .ok()
        }))
        .set_dead_letter_config(t.dead_letter_arn.as_ref().map(|arn| DeadLetterConfig::builder().arn(arn).build()))
        .set_sqs_parameters(t.message_group_id.as_ref().map(|g| SqsParameters::builder().message_group_id(g).build()))
        .set_retry_policy(t.retry_policy.map(|(attempts, age)| {
            RetryPolicy::builder().set_maximum_retry_attempts(attempts).set_maximum_event_age_in_seconds(age).build()
        }))
        .build()
        .map_err(|e| Error::Rejected {
            service: SVC,
            operation: "PutTargets",
            code: "BuildTarget".into(),
            message: e.to_string(),
        })
}

/// Read the bus and, if it exists, our rules on it with their tags and targets.
pub async fn observe(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    let bus = match client.describe_event_bus().name(bus_ref(d)).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(classify(SVC, "DescribeEventBus", e)),
    };
    let arn = bus.arn().unwrap_or(&d.bus.arn).to_string();
    // A referenced bus's tags too: one created by another bridge is refused (plan_bus).
    let bus_tags = tags_of(client, &arn).await?;
    into.bus = Some(ObsBus { name: bus.name().unwrap_or(&d.bus.name).to_string(), arn, tags: bus_tags });

    rules(client, d, None, into).await
}

/// Read the rules on the bus an earlier pass found, without DescribeEventBus (ListRules on a
/// missing bus answers ResourceNotFoundException) and without reading the tags of rules that
/// pass confirmed as ours (`known.rules`). Ok(false) when the bus is gone: the caller falls back
/// to the full look.
pub async fn observe_known(client: &Client, d: &Desired, known: &Known, into: &mut Observed) -> Result<bool, Error> {
    // A referenced bus the policy does not name exactly: its owner is read on every pass (one
    // tag read, not the full search), so a policy that narrows is seen at once (plan_bus).
    let tags = if d.bus.managed {
        d.tags.clone()
    } else if d.bus.foreign_denied_by.is_some() {
        let Some(tags) = tags_if_found(client, &d.bus.arn).await? else { return Ok(false) };
        tags
    } else {
        Tags::new()
    };
    into.bus = Some(ObsBus { name: d.bus.name.clone(), arn: d.bus.arn.clone(), tags });
    match rules(client, d, Some(&known.rules), into).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A bridge on a gateway: its rules on the gateway's bus, without reading the bus (the
/// gateway's reconcile does, once for all its bridges). A bus that is gone reads as no rules.
pub async fn observe_rules(
    client: &Client,
    d: &Desired,
    confirmed: Option<&std::collections::BTreeSet<String>>,
    into: &mut Observed,
) -> Result<(), Error> {
    into.bus = Some(ObsBus { name: d.bus.name.clone(), arn: d.bus.arn.clone(), tags: Tags::new() });
    match rules(client, d, confirmed, into).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// Our rules on the bus (by name prefix) with their targets, and their tags unless `confirmed`
/// names them (then the ownership tags are taken as the spec's).
async fn rules(
    client: &Client,
    d: &Desired,
    confirmed: Option<&std::collections::BTreeSet<String>>,
    into: &mut Observed,
) -> Result<(), Error> {
    let prefix = d.owner.rule_prefix();
    let mut token = None;
    loop {
        let out = client
            .list_rules()
            .event_bus_name(bus_ref(d))
            .name_prefix(&prefix)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(SVC, "ListRules", e))?;
        for rule in out.rules() {
            let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else { continue };
            if !name.starts_with(&prefix) {
                continue;
            }
            let tags = match confirmed {
                Some(names) if names.contains(name) => d.tags.clone(),
                _ => tags_of(client, arn).await?,
            };
            let targets = targets_of(client, bus_ref(d), name).await?;
            into.rules.push(ObsRule {
                name: name.to_string(),
                arn: arn.to_string(),
                pattern: rule.event_pattern().and_then(|p| serde_json::from_str(p).ok()),
                enabled: rule.state() == Some(&RuleState::Enabled),
                description: rule.description().map(str::to_string),
                tags,
                targets,
            });
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(())
}

pub async fn create_bus(client: &Client, d: &Desired) -> Result<(), Error> {
    client
        .create_event_bus()
        .name(&d.bus.name)
        .description(format!("Managed by webhook-bridge for {}", d.owner.key()))
        .set_tags(Some(tags(d)))
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateEventBus", e))?;
    Ok(())
}

pub async fn tag(client: &Client, d: &Desired, arn: &str) -> Result<(), Error> {
    let added = d.spec_tags().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(added))
        .send()
        .await
        .map_err(|e| classify(SVC, "TagResource", e))?;
    Ok(())
}

/// Delete the bus. AWS refuses while rules remain on it; that comes back as a retryable error
/// for the caller to handle (see `crate::engine`).
pub async fn delete_bus(client: &Client, name: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteEventBus", NOT_FOUND, client.delete_event_bus().name(name).send().await)
}

/// Every target of a rule, over all pages.
async fn targets_of(client: &Client, bus: &str, rule: &str) -> Result<Vec<DesiredTarget>, Error> {
    let (mut targets, mut token) = (Vec::new(), None);
    loop {
        let out = client
            .list_targets_by_rule()
            .rule(rule)
            .event_bus_name(bus)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(SVC, "ListTargetsByRule", e))?;
        targets.extend(out.targets().iter().map(target_of));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(targets);
        }
    }
}

/// Whether a rule still listed on a bus is ours (our ownership tags) or already gone (deleted,
/// lingering in the list): the bus delete's test for someone else's rules, by tags, not name.
pub async fn rule_owned_or_gone(client: &Client, arn: &str, owner: &crate::owner::Owner) -> Result<bool, Error> {
    Ok(tags_if_found(client, arn).await?.is_none_or(|tags| owner.ownership(&tags) == crate::owner::Ownership::Ours))
}

/// Names of the rules still on a bus (any owner), over all pages; None when the bus is gone
/// (e.g. a DeleteEventBus whose answer was lost had in fact deleted it).
pub async fn rules_on(client: &Client, bus: &str) -> Result<Option<Vec<String>>, Error> {
    let (mut names, mut token) = (Vec::new(), None);
    loop {
        let out = match client.list_rules().event_bus_name(bus).set_next_token(token).send().await {
            Ok(out) => out,
            Err(e) if has_code(&e, NOT_FOUND) => return Ok(None),
            Err(e) => return Err(classify(SVC, "ListRules", e)),
        };
        names.extend(out.rules().iter().filter_map(|r| r.name().map(str::to_string)));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(Some(names));
        }
    }
}

pub async fn put_rule(client: &Client, d: &Desired, rule: &DesiredRule, create: bool) -> Result<(), Error> {
    let pattern =
        serde_json::to_string(&rule.pattern).map_err(|e| Error::invalid("spec.rules.pattern", e.to_string()))?;
    client
        .put_rule()
        .name(&rule.name)
        .event_bus_name(bus_ref(d))
        .event_pattern(pattern)
        .state(if rule.enabled { RuleState::Enabled } else { RuleState::Disabled })
        .description(rule.description.clone().unwrap_or_default())
        .set_tags(create.then(|| tags(d)))
        .send()
        .await
        .map_err(|e| classify(SVC, "PutRule", e))?;
    Ok(())
}

pub async fn put_targets(client: &Client, d: &Desired, rule: &DesiredRule, ids: &[String]) -> Result<(), Error> {
    let targets = rule.targets.iter().filter(|t| ids.contains(&t.id)).map(aws_target).collect::<Result<Vec<_>, _>>()?;
    let out = client
        .put_targets()
        .rule(&rule.name)
        .event_bus_name(bus_ref(d))
        .set_targets(Some(targets))
        .send()
        .await
        .map_err(|e| classify(SVC, "PutTargets", e))?;
    failed_entries(
        "PutTargets",
        out.failed_entries().iter().map(|f| {
            (
                f.target_id().map(str::to_string),
                f.error_code().map(str::to_string),
                f.error_message().map(str::to_string),
            )
        }),
    )
}

/// Entries PutTargets or RemoveTargets could not apply, as one error: retryable when every
/// failed entry's code is (e.g. ConcurrentModificationException), terminal otherwise.
fn failed_entries(
    operation: &'static str,
    entries: impl Iterator<Item = (Option<String>, Option<String>, Option<String>)>,
) -> Result<(), Error> {
    let entries: Vec<_> = entries.collect();
    if entries.is_empty() {
        return Ok(());
    }
    let message = entries
        .iter()
        .map(|(id, code, msg)| {
            format!(
                "target {}: {} ({})",
                id.as_deref().unwrap_or("?"),
                msg.as_deref().unwrap_or("failed"),
                code.as_deref().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let retryable = entries.iter().all(|(_, code, _)| {
        matches!(code.as_deref(), Some("ConcurrentModificationException" | "InternalException" | "ThrottlingException"))
    });
    let code = "FailedEntries".to_string();
    Err(if retryable {
        Error::Transient { service: SVC, operation, code, message }
    } else {
        Error::Rejected { service: SVC, operation, code, message }
    })
}

pub async fn remove_targets(client: &Client, d: &Desired, rule: &str, ids: &[String]) -> Result<(), Error> {
    let out =
        match client.remove_targets().rule(rule).event_bus_name(bus_ref(d)).set_ids(Some(ids.to_vec())).send().await {
            Ok(out) => out,
            Err(e) if has_code(&e, NOT_FOUND) => return Ok(()), // the rule is gone, and its targets
            Err(e) => return Err(classify(SVC, "RemoveTargets", e)),
        };
    failed_entries(
        "RemoveTargets",
        out.failed_entries().iter().map(|f| {
            (
                f.target_id().map(str::to_string),
                f.error_code().map(str::to_string),
                f.error_message().map(str::to_string),
            )
        }),
    )
}

/// Delete a rule. Right after RemoveTargets, EventBridge may still answer `ValidationException:
/// Rule can't be deleted since it has targets` (target removal is eventually consistent): that is
/// retryable, not a verdict, or the finalizer would never go.
pub async fn delete_rule(client: &Client, d: &Desired, name: &str) -> Result<(), Error> {
    match client.delete_rule().name(name).event_bus_name(bus_ref(d)).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, NOT_FOUND) => Ok(()),
        Err(e) if has_code(&e, &["ValidationException"]) && message_of(&e).contains("targets") => {
            Err(Error::Transient {
                service: SVC,
                operation: "DeleteRule",
                code: "ValidationException".into(),
                message: "the rule still has targets (their removal has not propagated yet)".into(),
            })
        }
        Err(e) => Err(classify(SVC, "DeleteRule", e)),
    }
}
