//! Checks only the engine can make (they need the account, region or a deeper look than CEL
//! affords), plus the admission rules re-run so nothing bad ever reaches AWS. Pure: no I/O.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::admission;
use crate::api::{RouteSpec, TargetSpec, WebhookBridge};
use crate::desired::{AwsEnv, arn_part, is_cross_account_lambda, is_lambda_arn};
use crate::error::{Error, FieldError};
use crate::owner;
use crate::simulate::pattern::complexity::{CAP, MAX_COMPLEXITY};

/// Maximum JWT authorizers per HTTP API (AWS quota).
const MAX_AUTHORIZERS: usize = 10;

/// eb-quota.html: "Event pattern size", in characters.
const MAX_PATTERN_CHARS: usize = 2048;

/// eb-quota.html: "Rules containing wildcards", per event bus.
const MAX_WILDCARD_RULES: usize = 30;

/// The admission rules (schema + CEL), re-run so nothing bad ever reaches AWS even if the CRD
/// in the cluster is older than the operator. Needs no AWS call.
pub fn admission(bridge: &WebhookBridge) -> Result<(), Error> {
    let mut errors = match serde_json::to_value(bridge) {
        Ok(value) => admission::check_schema(&value),
        Err(e) => vec![FieldError::new("spec", e.to_string())],
    };
    if errors.is_empty() {
        errors.extend(admission::check_cel(bridge));
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::InvalidSpec(errors)) }
}

/// The rules that need the account and region.
pub fn against(bridge: &WebhookBridge, env: &AwsEnv) -> Result<(), Error> {
    let errors = semantic(bridge, env);
    if errors.is_empty() { Ok(()) } else { Err(Error::InvalidSpec(errors)) }
}

/// The checks that need neither AWS nor the account: what `simulate`, `serve` and `test` refuse a
/// file for (exit 3), as `apply` does.
pub fn offline(bridge: &WebhookBridge) -> Result<(), Error> {
    let errors = offline_errors(bridge);
    if errors.is_empty() { Ok(()) } else { Err(Error::InvalidSpec(errors)) }
}

/// What AWS accepts but then acts on differently than the spec suggests: warnings, not refusals
/// (the CLI prints them on stderr; nothing else has a warning channel, and the apiserver has no
/// admission webhook to carry them). Today: an input transformer with an object or array
/// variable inside quotes in a JSON template, for which AWS accepts the target and delivers
/// nothing.
pub fn warnings(bridge: &WebhookBridge) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (i, rule) in bridge.spec.rules.iter().enumerate() {
        for (j, target) in rule.targets.iter().enumerate() {
            let Some(t) = &target.input_transformer else { continue };
            for name in crate::simulate::target_input::quoted_object_variables(t) {
                out.push(FieldError::new(
                    format!("spec.rules[{i}].targets[{j}].inputTransformer.inputTemplate"),
                    format!(
                        "<{name}> selects an object or array and stands inside quotes in a JSON template: AWS accepts \
                         the target and then delivers nothing to it; put the placeholder outside quotes"
                    ),
                ));
            }
        }
    }
    out
}

/// The checks CEL cannot express.
pub fn semantic(bridge: &WebhookBridge, env: &AwsEnv) -> Vec<FieldError> {
    let mut errors = offline_errors(bridge);
    errors.extend(env_errors(bridge, env));
    errors
}

fn offline_errors(bridge: &WebhookBridge) -> Vec<FieldError> {
    let spec = &bridge.spec;
    let mut errors = Vec::new();
    let mut err = |field: String, message: String| errors.push(FieldError::new(field, message));

    // Route names and keys (also CEL; repeated here for objects from older CRDs and the CLI).
    let mut names = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let mut authorizers = BTreeSet::new();
    for (i, route) in spec.routes.iter().enumerate() {
        let at = format!("spec.routes[{i}]");
        if !names.insert(route.name.as_str()) {
            err(format!("{at}.name"), format!("duplicate route name {:?}", route.name));
        }
        if !keys.insert((route.method, route.path.as_str())) {
            err(format!("{at}.path"), format!("duplicate route key \"{} {}\"", route.method.as_str(), route.path));
        }
        if let (Some(issuer), Some(audiences)) = (&route.authorization.issuer, &route.authorization.audiences) {
            authorizers.insert(owner::authorizer_name(issuer, audiences));
        }
        for (field, value) in mapping_values(route) {
            if let Some(message) = check_mapping(route, field, value) {
                err(format!("{at}.event.{field}"), message);
            }
        }
    }
    for e in crate::route_paths::conflicting_variables(spec.routes.iter().map(|r| r.path.as_str())) {
        err(e.field, e.message);
    }
    if authorizers.len() > MAX_AUTHORIZERS {
        err(
            "spec.routes".into(),
            format!(
                "{} distinct JWT issuer/audience sets; an HTTP API allows at most {MAX_AUTHORIZERS}",
                authorizers.len()
            ),
        );
    }

    // Rules and targets, as far as the account does not matter.
    let mut rule_names = BTreeSet::new();
    let mut with_wildcards = 0;
    for (i, rule) in spec.rules.iter().enumerate() {
        let at = format!("spec.rules[{i}]");
        if !rule_names.insert(rule.name.as_str()) {
            err(format!("{at}.name"), format!("duplicate rule name {:?}", rule.name));
        }
        if check_pattern(&mut err, &format!("{at}.pattern"), &Value::Object(rule.pattern.clone())) {
            with_wildcards += 1;
        }
        let mut ids = BTreeSet::new();
        for (j, target) in rule.targets.iter().enumerate() {
            let tat = format!("{at}.targets[{j}]");
            let id = target.id.clone().unwrap_or_else(|| owner::target_id(&target.arn));
            if !ids.insert(id) {
                err(format!("{tat}.arn"), "the same target appears twice in this rule; give one an id".into());
            }
            if let Some(input) = &target.input
                && serde_json::from_str::<Value>(input).is_err()
            {
                err(format!("{tat}.input"), "must be valid JSON".into());
            }
        }
    }
    // eb-quota.html, "Rules containing wildcards": 30 rules per event bus, not adjustable. Only
    // this bridge's rules can be counted here: on an existing (shared) bus, other rules count too,
    // and AWS refuses the PutRule that goes over.
    if with_wildcards > MAX_WILDCARD_RULES {
        err(
            "spec.rules".into(),
            format!(
                "{with_wildcards} rules use wildcard patterns; EventBridge allows at most {MAX_WILDCARD_RULES} per event bus \
                 (quota \"Rules containing wildcards\", not adjustable)"
            ),
        );
    }
    errors.extend(webhook_source_errors(bridge));
    errors
}

/// AWS's MetadataHttpHeaders: at most 20 in all.
const MAX_METADATA_HEADERS: usize = 20;

/// A webhook-source bridge (`spec.webhookSources`): what its CEL rules cannot see, the preset's
/// scheme and metadata headers together with the source's own, and the targets, each of which
/// becomes a subscriber.
pub fn webhook_source_errors(bridge: &WebhookBridge) -> Vec<FieldError> {
    let spec = &bridge.spec;
    let mut errors = Vec::new();
    if spec.webhook_sources.is_empty() {
        return errors;
    }
    for (i, source) in spec.webhook_sources.iter().enumerate() {
        let at = format!("spec.webhookSources[{i}]");
        let scheme = match crate::webhook::presets::scheme(source) {
            Ok(s) => s,
            Err(message) => {
                errors.push(FieldError::new(format!("{at}.provider"), message));
                continue;
            }
        };
        let preset = crate::webhook::presets::metadata_headers(source.provider);
        for (j, name) in source.metadata_headers.iter().enumerate() {
            if let Some(p) = preset.iter().find(|p| p.eq_ignore_ascii_case(name)) {
                errors.push(FieldError::new(
                    format!("{at}.metadataHeaders[{j}]"),
                    format!(
                        "{name}: the {:?} preset already adds {p} (AWS refuses a repeated MetadataHttpHeaders name)",
                        source.provider
                    ),
                ));
            }
            if let crate::webhook::AuthScheme::Token { header } = &scheme
                && header.eq_ignore_ascii_case(name)
            {
                errors.push(FieldError::new(
                    format!("{at}.metadataHeaders[{j}]"),
                    format!("{name} carries the source's token: AWS refuses it in MetadataHttpHeaders (it would put the secret on every event)"),
                ));
            }
        }
        let total = crate::webhook::event::metadata_header_names(source).len();
        if total > MAX_METADATA_HEADERS {
            errors.push(FieldError::new(
                format!("{at}.metadataHeaders"),
                format!(
                    "{total} metadata headers with the preset's ({}); AWS's MetadataHttpHeaders takes at most {MAX_METADATA_HEADERS}",
                    preset.join(", ")
                ),
            ));
        }
    }
    // Each target becomes one subscriber (the rule's pattern its filter): what a subscriber has no
    // equivalent for is refused, not dropped.
    for (i, rule) in spec.rules.iter().enumerate() {
        for (j, target) in rule.targets.iter().enumerate() {
            let tat = format!("spec.rules[{i}].targets[{j}]");
            if target.role_arn.is_some() {
                errors.push(FieldError::new(
                    format!("{tat}.roleArn"),
                    "not available on a webhook-source bridge: every subscriber invokes its target as the bridge's managed role (allowed exactly its targets); remove it",
                ));
            }
            if crate::desired_webhook::invoke_action(&target.arn).is_none() {
                errors.push(FieldError::new(
                    format!("{tat}.arn"),
                    format!(
                        "{}: a webhook-source bridge's subscribers reach Lambda, SQS, SNS, Step Functions, Kinesis and event bus targets (the managed role is granted exactly those actions); this service is not supported on this ingress",
                        target.arn
                    ),
                ));
            }
            for (field, set) in [
                ("input", target.input.is_some()),
                ("inputPath", target.input_path.is_some()),
                ("inputTransformer", target.input_transformer.is_some()),
            ] {
                if set {
                    errors.push(FieldError::new(
                        format!("{tat}.{field}"),
                        format!(
                            "not available on a webhook-source bridge: each target becomes an EventBridge subscriber, and a subscriber has no {field} equivalent (its Transformer is RAW, WITH_METADATA or JSONATA); remove it and reshape the event in the target"
                        ),
                    ));
                }
            }
        }
    }
    errors
}

/// The checks that need the account and region.
fn env_errors(bridge: &WebhookBridge, env: &AwsEnv) -> Vec<FieldError> {
    let spec = &bridge.spec;
    let mut errors = Vec::new();
    let mut err = |field: String, message: String| errors.push(FieldError::new(field, message));

    if env.region.is_empty() {
        err("spec.region".into(), "no region: set spec.region or the operator's default region".into());
    }

    // Bus and role references.
    if let Some(arn) = &spec.event_bus.existing_arn {
        check_arn(&mut err, "spec.eventBus.existingArn", arn, env, true);
    }
    if let Some(arn) = &spec.role.existing_arn {
        check_arn(&mut err, "spec.role.existingArn", arn, env, false);
    }
    if let Some(arn) = &spec.role.permissions_boundary_arn
        && arn_part(arn, 1) != Some(env.partition.as_str())
    {
        err("spec.role.permissionsBoundaryArn".into(), format!("partition must be {:?}", env.partition));
    }

    // Targets.
    for (i, rule) in spec.rules.iter().enumerate() {
        for (j, target) in rule.targets.iter().enumerate() {
            let tat = format!("spec.rules[{i}].targets[{j}]");
            if arn_part(&target.arn, 1) != Some(env.partition.as_str()) {
                err(format!("{tat}.arn"), format!("partition must be {:?}", env.partition));
            } else if is_lambda_arn(&target.arn) && arn_part(&target.arn, 3) != Some(env.region.as_str()) {
                err(format!("{tat}.arn"), format!("a Lambda target must be in the bridge's region {}", env.region));
            }
            check_target_needs(&mut err, &tat, target, env);
        }
    }
    errors
}

/// What a target's service needs beyond PutTargets (EventBridge User Guide, "IAM roles for
/// sending events to targets" and "Using resource-based policies"; PutTargets API reference).
fn check_target_needs(err: &mut impl FnMut(String, String), tat: &str, target: &TargetSpec, env: &AwsEnv) {
    let service = arn_part(&target.arn, 2).unwrap_or_default();
    let other_bus = service == "events"
        && (arn_part(&target.arn, 3) != Some(env.region.as_str())
            || arn_part(&target.arn, 4) != Some(env.account.as_str()));
    // EventBridge User Guide, "Sending events to an AWS service in another account": an execution
    // role of the bus's account, allowed by the function's own policy; no AddPermission of ours.
    let other_account_lambda = is_cross_account_lambda(&target.arn, &env.account);
    let needs_role = matches!(service, "states" | "kinesis" | "ecs" | "codebuild" | "codepipeline" | "batch")
        || other_bus
        || other_account_lambda;
    if other_account_lambda && target.role_arn.is_none() {
        err(
            format!("{tat}.roleArn"),
            format!(
                "required for a Lambda function in another account ({}): EventBridge invokes it by assuming a role of account {} that may call lambda:InvokeFunction on it, and the function's own resource policy must allow that role (this bridge cannot add a permission to a function of another account)",
                arn_part(&target.arn, 4).unwrap_or_default(),
                env.account
            ),
        );
    } else if other_account_lambda
        && let Some(role) = &target.role_arn
        && arn_part(role, 4) != Some(env.account.as_str())
    {
        err(
            format!("{tat}.roleArn"),
            format!("must be a role of the bridge's account {} for a Lambda function in another account", env.account),
        );
    } else if needs_role && target.role_arn.is_none() {
        let what = if other_bus {
            "a target event bus in another account or region".to_string()
        } else {
            format!("a {service} target")
        };
        err(
            format!("{tat}.roleArn"),
            format!("required for {what}: EventBridge delivers by assuming this role, and PutTargets fails without it"),
        );
    }
    if matches!(service, "lambda" | "sns" | "sqs") && !other_account_lambda && target.role_arn.is_some() {
        err(
            format!("{tat}.roleArn"),
            format!(
                "not allowed for a {service} target: its resource policy authorizes EventBridge, and a role can make deliveries fail"
            ),
        );
    }
    let fifo = service == "sqs" && target.arn.ends_with(".fifo");
    if fifo && target.sqs_parameters.is_none() {
        err(
            format!("{tat}.sqsParameters.messageGroupId"),
            "required for a FIFO queue target (name ending .fifo)".into(),
        );
    }
    if !fifo && target.sqs_parameters.is_some() {
        err(
            format!("{tat}.sqsParameters"),
            "only a FIFO SQS queue target (name ending .fifo) takes sqsParameters".into(),
        );
    }
    if target.dead_letter_arn.as_deref().is_some_and(|arn| arn.ends_with(".fifo")) {
        err(format!("{tat}.deadLetterArn"), "a dead-letter queue must be a standard SQS queue, not FIFO".into());
    }
}

fn check_arn(err: &mut impl FnMut(String, String), field: &str, arn: &str, env: &AwsEnv, regional: bool) {
    if arn_part(arn, 1) != Some(env.partition.as_str()) {
        err(field.into(), format!("partition must be {:?} (the operator's account)", env.partition));
    }
    if regional && arn_part(arn, 3) != Some(env.region.as_str()) {
        err(field.into(), format!("the bus must be in the bridge's region {} (rules are created on it)", env.region));
    }
    if regional && arn_part(arn, 4) != Some(env.account.as_str()) {
        err(field.into(), format!("the bus must be in account {} (rules are created on it)", env.account));
    }
}

fn mapping_values(route: &RouteSpec) -> Vec<(&'static str, &str)> {
    let e = &route.event;
    let mut values =
        vec![("source", e.source.as_str()), ("detailType", e.detail_type.as_str()), ("detail", e.detail.as_str())];
    for (field, value) in [("time", &e.time), ("resources", &e.resources), ("traceHeader", &e.trace_header)] {
        if let Some(v) = value {
            values.push((field, v.as_str()));
        }
    }
    values
}

/// Path parameter names declared by a route path (`{id}`, `{proxy+}` → `id`, `proxy`).
fn path_params(path: &str) -> BTreeSet<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_end_matches('+'))
        .collect()
}

fn check_mapping(route: &RouteSpec, field: &str, value: &str) -> Option<String> {
    if let Some(param) = value.strip_prefix("$request.path.") {
        if !path_params(&route.path).contains(param) {
            return Some(format!("{value} refers to a path parameter that {:?} does not declare", route.path));
        }
        return None;
    }
    if value.starts_with('$') {
        return None;
    }
    match field {
        "detail" if !matches!(serde_json::from_str::<Value>(value), Ok(Value::Object(_))) => {
            Some("a constant Detail must be a JSON object (or use an expression such as $request.body)".into())
        }
        "detailType" if value.chars().count() > 128 => Some("a constant DetailType is at most 128 characters".into()),
        "time" if !looks_like_rfc3339(value) => {
            Some("a constant Time must be RFC 3339, e.g. 2026-01-02T03:04:05Z".into())
        }
        _ => None,
    }
}

fn looks_like_rfc3339(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':'
}

/// EventBridge pattern semantics, by the parser `simulate` and `serve` match with
/// (`crate::simulate::pattern`): a pattern AWS would reject is refused before any AWS call.
/// Keys starting with `$` other than `$or` are refused too: EventBridge reserves them for
/// operators. Also PutRule's limits: the pattern's size and its wildcards' complexity.
/// Returns whether the (valid) pattern uses wildcards.
fn check_pattern(err: &mut impl FnMut(String, String), at: &str, value: &Value) -> bool {
    fn dollar_keys(err: &mut impl FnMut(String, String), at: &str, value: &Value) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                if key.starts_with('$') && key != "$or" {
                    err(format!("{at}.{key}"), "only $or is allowed as an operator key".into());
                } else if key == "$or" {
                    for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                        dollar_keys(err, &format!("{at}.$or[{i}]"), item);
                    }
                } else {
                    dollar_keys(err, &format!("{at}.{key}"), child);
                }
            }
        }
    }
    let before = std::cell::Cell::new(false);
    dollar_keys(
        &mut |f, m| {
            before.set(true);
            err(f, m)
        },
        at,
        value,
    );
    if before.get() {
        return false;
    }
    // eb-quota.html, "Event pattern size": 2048 characters (adjustable, to at most the 4096 of
    // PutRule's model). Measured on the text PutRule sends (compact JSON, as aws/eventbridge.rs).
    let size = serde_json::to_string(value).map(|t| t.chars().count()).unwrap_or(0);
    if size > MAX_PATTERN_CHARS {
        err(
            at.to_string(),
            format!(
                "is {size} characters as JSON; EventBridge's event pattern size quota is {MAX_PATTERN_CHARS} \
                 (split the rule, or shorten the pattern)"
            ),
        );
    }
    match crate::simulate::pattern::parse(value) {
        Err(e) => {
            let field = if e.path.is_empty() { at.to_string() } else { format!("{at}.{}", e.path) };
            err(field, e.message);
            false
        }
        Ok(pattern) => {
            if let Some((field, complexity)) = pattern.most_complex_field()
                && complexity > MAX_COMPLEXITY
            {
                err(
                    at.to_string(),
                    format!(
                        "Event pattern is not valid. Reason: Rule is too complex - try using fewer wildcard characters \
                         or fewer repeating character sequences after a wildcard character (AWS's answer to PutRule; \
                         the wildcards on {field} have complexity {}, EventBridge accepts at most {MAX_COMPLEXITY})",
                        if complexity >= CAP { format!("{CAP} or more") } else { complexity.to_string() }
                    ),
                );
            }
            pattern.has_wildcard()
        }
    }
}
