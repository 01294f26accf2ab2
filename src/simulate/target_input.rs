//! What a target receives for a matched event: `input`, `inputPath` or `inputTransformer`, or
//! the whole event.
//!
//! AWS documentation this module follows (cited again where each rule is applied):
//! - EventBridge user guide, "Amazon EventBridge input transformation" (`eb-transform-target-input`):
//!   variables by JSON path (up to 100), `<variable>` placeholders, predefined variables, the
//!   examples table and "Common issues with transforming input".
//! - EventBridge API reference, `InputTransformer` and `Target` (`Input`, `InputPath`).
//!
//! Observed AWS behaviour that the docs leave open is taken from LocalStack's tests recorded
//! against AWS (`tests/aws/services/events/test_events_inputs.snapshot.json`): a missing variable
//! is an empty string (`""` as a JSON value), a string template is delivered with its quotes, an
//! `inputPath` to a string delivers the quoted JSON string, `aws.events.event` names the
//! detail-type `detailType`, and an undefined placeholder is refused by PutTargets.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::request::{Step, select};
use crate::api::{InputTransformer, TargetSpec};

/// Why a target gets nothing: the field of the target (`input`, `inputPath`,
/// `inputTransformer.inputTemplate`, ...) and what is wrong (PutTargets would refuse it, or the
/// transformed payload is not what the target can take).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub field: String,
    pub message: String,
}

/// The rule name [`payload`] uses for `<aws.events.rule-name>` (and in `<aws.events.rule-arn>`).
pub const PLACEHOLDER_RULE_NAME: &str = "rule";

/// The payload the target receives for `event` (the envelope from `request::event`), as text,
/// with a placeholder rule ([`PLACEHOLDER_RULE_NAME`], on the event's account and region) for
/// `<aws.events.rule-name>` and `<aws.events.rule-arn>`.
pub fn payload(target: &TargetSpec, event: &Value) -> Result<String, InputError> {
    let region = event.get("region").and_then(Value::as_str).unwrap_or("us-east-1");
    let account = event.get("account").and_then(Value::as_str).unwrap_or("123456789012");
    let arn = format!("arn:aws:events:{region}:{account}:rule/{PLACEHOLDER_RULE_NAME}");
    payload_for_rule(target, event, PLACEHOLDER_RULE_NAME, &arn)
}

/// The payload the target of the rule `rule_name` (`rule_arn`) receives for `event`.
/// - neither `input`, `inputPath` nor `inputTransformer`: the whole event as JSON;
/// - `input`: "Valid JSON text passed to the target" (Target.Input), as is (PutTargets refuses
///   text that is not JSON);
/// - `inputPath`: the value it selects, as JSON (a string arrives quoted, as AWS delivers it);
/// - `inputTransformer`: see [`transform`].
pub fn payload_for_rule(
    target: &TargetSpec,
    event: &Value,
    rule_name: &str,
    rule_arn: &str,
) -> Result<String, InputError> {
    if let Some(input) = &target.input {
        return match serde_json::from_str::<Value>(input) {
            Ok(_) => Ok(input.clone()),
            Err(e) => Err(InputError {
                field: "input".into(),
                message: format!("is not valid JSON ({e}); PutTargets takes \"Valid JSON text\" only"),
            }),
        };
    }
    if let Some(path) = &target.input_path {
        let steps = event_path(path).ok_or_else(|| InputError {
            field: "inputPath".into(),
            message: format!(
                "{path:?} is not a JSON path EventBridge evaluates: $ then dot notation (names of letters, digits, \
                 -, _ and /), array indices [n] and wildcards *"
            ),
        })?;
        return match select(event, &steps) {
            Some(v) => Ok(v.to_string()),
            None => Err(InputError {
                field: "inputPath".into(),
                message: format!("{path:?} selects nothing in this event, so there is nothing to send"),
            }),
        };
    }
    if let Some(t) = &target.input_transformer {
        return transform(t, event, rule_name, rule_arn);
    }
    Ok(event.to_string())
}

// ---- inputTransformer ----

const RULE_ARN: &str = "aws.events.rule-arn";
const RULE_NAME: &str = "aws.events.rule-name";
const INGESTION_TIME: &str = "aws.events.event.ingestion-time";
const EVENT: &str = "aws.events.event";
const EVENT_JSON: &str = "aws.events.event.json";

/// "You can define up to 100 variables" (eb-transform-target-input; InputTransformer:
/// "Map Entries: Maximum number of 100 items").
pub const MAX_VARIABLES: usize = 100;

/// One template variable's value.
#[derive(Clone, Debug, PartialEq)]
enum Var {
    /// "If you specify a variable to match a JSON path that doesn't exist in the event, that
    /// variable isn't created and won't appear in the output": an empty string (observed: `""` as
    /// a JSON value, nothing inside a string).
    Missing,
    Value(Value),
    /// `aws.events.event` / `aws.events.event.json`: "Can only be used as a value for a JSON
    /// field, as it's contents are not escaped."
    Event(Value),
}

/// Where a placeholder stands in the template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// A JSON value in a JSON template: `{"a": <v>}`.
    JsonValue,
    /// Inside a string of a JSON template (`{"a": "x <v>"}`), or anywhere in a template that is
    /// not JSON.
    Text,
}

/// Apply an input transformer (eb-transform-target-input; API reference InputTransformer):
/// - variables: `inputPathsMap` (at most [`MAX_VARIABLES`]; names may not be the predefined
///   ones, "The keys cannot start with "AWS.""), plus the predefined `aws.events.rule-arn`,
///   `aws.events.rule-name`, `aws.events.event.ingestion-time` ("an ISO 8601 timestamp"; here the
///   event's `time`, the closest a simulation has), `aws.events.event` ("The original event
///   payload as JSON (without the detail field)") and `aws.events.event.json` ("The full original
///   event payload as JSON. (with the detail field)");
/// - a placeholder naming no variable is refused (observed: PutTargets answers "InputTemplate for
///   target ... contains invalid placeholder");
/// - "If InputTemplate is a JSON object (surrounded by curly braces)" it is a JSON template:
///   "The placeholder cannot be used as an object key"; as a JSON value a string variable gets
///   quotes ("EventBridge automatically adds quotes to string variable values during
///   transformation, to ensure the transformation output is valid JSON. EventBridge does not add
///   quotes to variables that represent JSON objects or arrays"); inside a string a variable is
///   inserted raw ("EventBridge doesn't escape values extracted by Input Path, when populating the
///   Input Template"), an object or array with its quotes removed ("If a JSON path references a
///   JSON object or array, but the variable is referenced in a string, EventBridge removes any
///   internal quotes to ensure a valid string"). The result must be JSON and is passed "minified"
///   ("The JSON that is passed to the target is minified and escaped"); when a raw value breaks it
///   (a quote, backslash or newline inside quotes) the error names the variable;
/// - any other template is text ("You can create a template that passes either a string or JSON
///   to the target"): every variable is inserted raw, and the text is delivered as is, quotes
///   included (the doc's "Simple string" example, `"instance <instance> is in <state>"` →
///   `"instance i-0123456789 is in RUNNING"`).
pub fn transform(t: &InputTransformer, event: &Value, rule_name: &str, rule_arn: &str) -> Result<String, InputError> {
    let vars = variables(t, event, rule_name, rule_arn)?;
    let template = t.input_template.as_str();
    if !template.trim_start().starts_with('{') {
        return render(template, false, &mut |name, at| value_text(name, &vars, at));
    }
    // Observed on AWS (LocalStack, tests/aws/services/events/test_events_inputs.py
    // test_input_transformer_nested_keys_replacement_not_valid, AWS-validated 2025-10-08): in a
    // JSON template, an object or array variable inside quotes (`{"payload": "<payload>"}`) makes
    // EventBridge deliver nothing at all, though PutTargets accepted the template. The guide's
    // "removes any internal quotes" holds for text templates only.
    let mut quoted = Vec::new();
    render(template, true, &mut |name, at| {
        if at == At::Text
            && let Some(Var::Value(v @ (Value::Object(_) | Value::Array(_)))) = vars.get(name)
        {
            quoted.push(format!("<{name}> is {}", if v.is_object() { "an object" } else { "an array" }));
        }
        Ok(String::new())
    })?;
    if !quoted.is_empty() {
        return Err(InputError {
            field: "inputTransformer.inputTemplate".into(),
            message: format!(
                "AWS delivers nothing to this target for this event: {} inside quotes in a JSON template \
                 (PutTargets accepts it; the event is dropped). Put the placeholder outside quotes",
                quoted.join(", ")
            ),
        });
    }
    let out = render(template, true, &mut |name, at| value_text(name, &vars, at))?;
    if serde_json::from_str::<Value>(&out).is_ok() {
        return Ok(minify(&out));
    }
    // Invalid: the template itself, or a value inserted raw inside quotes?
    let dummy = render(template, true, &mut |_, at| Ok(if at == At::JsonValue { "\"x\"".into() } else { "x".into() }))?;
    if let Err(e) = serde_json::from_str::<Value>(&dummy) {
        return Err(InputError {
            field: "inputTransformer.inputTemplate".into(),
            message: format!(
                "starts with {{ but is not a JSON object even with its placeholders filled ({e}); PutTargets refuses it \
                 (Invalid InputTemplate)"
            ),
        });
    }
    let mut culprits = Vec::new();
    let _ = render(template, true, &mut |name, at| {
        if at == At::Text
            && let Some(Var::Value(Value::String(s))) = vars.get(name)
            && s.chars().any(|c| c == '"' || c == '\\' || c.is_control())
        {
            culprits.push(format!("<{name}> = {s:?}"));
        }
        Ok(String::new())
    });
    Err(InputError {
        field: "inputTransformer.inputTemplate".into(),
        message: format!(
            "gives invalid JSON for this event: EventBridge doesn't escape values extracted by InputPath, and {} inside \
             quotes in the template; put the placeholder outside quotes (EventBridge then quotes and escapes the string)",
            if culprits.is_empty() {
                "a value breaks the JSON".to_string()
            } else {
                culprits.join(", ") + " is inserted raw"
            }
        ),
    })
}

/// The admission warning for a transformer (see `validate::warnings`): variables placed inside
/// quotes in a JSON template whose path selects an object or array in every event (`$`,
/// `$.detail`) or an array (a path with `*`), where AWS delivers nothing. Other paths depend on
/// the event: `simulate` tells, per event.
pub fn quoted_object_variables(t: &InputTransformer) -> Vec<String> {
    let template = t.input_template.as_str();
    if !template.trim_start().starts_with('{') {
        return Vec::new();
    }
    let mut found = Vec::new();
    let _ = render(template, true, &mut |name, at| {
        let object = match t.input_paths_map.get(name).map(String::as_str) {
            Some(path) => path == "$" || path == "$.detail" || path.contains('*'),
            None => name == EVENT || name == EVENT_JSON,
        };
        if at == At::Text && object && !found.iter().any(|f: &String| f == name) {
            found.push(name.to_string());
        }
        Ok(String::new())
    });
    found
}

/// The variables of a transformer for one event.
fn variables(
    t: &InputTransformer,
    event: &Value,
    rule_name: &str,
    rule_arn: &str,
) -> Result<BTreeMap<String, Var>, InputError> {
    if t.input_paths_map.len() > MAX_VARIABLES {
        return Err(InputError {
            field: "inputTransformer.inputPathsMap".into(),
            message: format!("has {} variables; EventBridge takes at most {MAX_VARIABLES}", t.input_paths_map.len()),
        });
    }
    let mut vars = BTreeMap::new();
    for (name, path) in &t.input_paths_map {
        if name.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws.")) {
            return Err(InputError {
                field: format!("inputTransformer.inputPathsMap.{name}"),
                message:
                    "is reserved: \"The keys cannot start with \"AWS.\"\" (the predefined variables are aws.events.*)"
                        .into(),
            });
        }
        // "There is no validation when creating JSON path for your template": a path EventBridge
        // cannot evaluate selects nothing.
        let value = event_path(path).and_then(|steps| select(event, &steps));
        vars.insert(name.clone(), value.map_or(Var::Missing, Var::Value));
    }
    let time = event.get("time").cloned().unwrap_or(Value::String(String::new()));
    vars.insert(RULE_ARN.into(), Var::Value(Value::String(rule_arn.into())));
    vars.insert(RULE_NAME.into(), Var::Value(Value::String(rule_name.into())));
    vars.insert(INGESTION_TIME.into(), Var::Value(time));
    vars.insert(EVENT.into(), Var::Event(event_without_detail(event)));
    vars.insert(EVENT_JSON.into(), Var::Event(event.clone()));
    Ok(vars)
}

/// `aws.events.event`: the event without `detail` (observed on AWS: the keys `id`, `account`,
/// `detailType`, `time`, `source`, `region`, `resources`, `version`, detail-type renamed).
fn event_without_detail(event: &Value) -> Value {
    let mut out = Map::new();
    for (key, from) in [
        ("id", "id"),
        ("account", "account"),
        ("detailType", "detail-type"),
        ("time", "time"),
        ("source", "source"),
        ("region", "region"),
        ("resources", "resources"),
        ("version", "version"),
    ] {
        if let Some(v) = event.get(from) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The text a variable puts in the template at `at`.
fn value_text(name: &str, vars: &BTreeMap<String, Var>, at: At) -> Result<String, InputError> {
    let var = vars.get(name).ok_or_else(|| InputError {
        field: "inputTransformer.inputTemplate".into(),
        message: format!(
            "contains invalid placeholder {name}: neither a key of inputPathsMap nor a predefined variable \
             (aws.events.rule-arn, aws.events.rule-name, aws.events.event, aws.events.event.json, \
             aws.events.event.ingestion-time); PutTargets refuses it"
        ),
    })?;
    Ok(match (var, at) {
        (Var::Missing, At::JsonValue) => "\"\"".into(),
        (Var::Missing, At::Text) => String::new(),
        (Var::Event(v), At::JsonValue) => v.to_string(),
        (Var::Event(_), At::Text) => {
            return Err(InputError {
                field: "inputTransformer.inputTemplate".into(),
                message: format!(
                    "uses <{name}> inside a string or in a text template; it \"can only be used as a value for a JSON \
                     field, as it's contents are not escaped\""
                ),
            });
        }
        (Var::Value(v), At::JsonValue) => v.to_string(),
        (Var::Value(Value::String(s)), At::Text) => s.clone(),
        (Var::Value(v @ (Value::Object(_) | Value::Array(_))), At::Text) => v.to_string().replace('"', ""),
        (Var::Value(v), At::Text) => v.to_string(),
    })
}

/// A placeholder at the start of `s` (`<name>`): the name and the length it takes. A name is
/// anything up to `>` without whitespace, quotes or `<`.
fn placeholder(s: &str) -> Option<(&str, usize)> {
    let rest = s.strip_prefix('<')?;
    let end = rest.find('>')?;
    let name = &rest[..end];
    (!name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '"' || c == '<')).then_some((name, end + 2))
}

/// Substitute every placeholder of `template` with `fill(name, at)`. In a JSON template, tracks
/// strings (with their escapes) and object keys: a placeholder in key position is refused.
fn render(
    template: &str,
    json: bool,
    fill: &mut dyn FnMut(&str, At) -> Result<String, InputError>,
) -> Result<String, InputError> {
    let mut out = String::with_capacity(template.len());
    // JSON state: containers (true = object), whether an object key comes next, inside a string
    // (and whether that string is a key).
    let mut stack: Vec<bool> = Vec::new();
    let mut expect_key = false;
    let mut string: Option<bool> = None;
    let mut i = 0;
    while i < template.len() {
        let rest = &template[i..];
        if let Some((name, len)) = placeholder(rest) {
            if json && (expect_key || string == Some(true)) {
                return Err(InputError {
                    field: "inputTransformer.inputTemplate".into(),
                    message: format!(
                        "uses <{name}> as an object key; \"If InputTemplate is a JSON object (surrounded by curly \
                         braces) ... The placeholder cannot be used as an object key\""
                    ),
                });
            }
            let at = if json && string.is_none() { At::JsonValue } else { At::Text };
            out.push_str(&fill(name, at)?);
            i += len;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(c);
        i += c.len_utf8();
        if !json {
            continue;
        }
        match (string, c) {
            (Some(_), '\\') => {
                if let Some(next) = template[i..].chars().next() {
                    out.push(next);
                    i += next.len_utf8();
                }
            }
            (Some(_), '"') => string = None,
            (Some(_), _) => {}
            (None, '"') => {
                string = Some(expect_key);
                expect_key = false;
            }
            (None, '{') => {
                stack.push(true);
                expect_key = true;
            }
            (None, '[') => {
                stack.push(false);
                expect_key = false;
            }
            (None, '}' | ']') => {
                stack.pop();
                expect_key = false;
            }
            (None, ',') => expect_key = stack.last() == Some(&true),
            (None, ':') => expect_key = false,
            (None, _) => {}
        }
    }
    Ok(out)
}

/// JSON text without the whitespace outside strings (key order and number text kept).
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// An EventBridge JSON path (`$.detail`, `$.detail.items[0]`, `$.resources[*]`, `$`): "Supported
/// syntax includes: dot notation (for example, $.detail), dashes, underscores, alphanumeric
/// characters, array indices, wildcards (*), forward slashes" (eb-transform-target-input); "You
/// must use JSON dot notation, not bracket notation" (InputTransformer.InputPathsMap). `None` for
/// anything else.
fn event_path(path: &str) -> Option<Vec<Step>> {
    let mut s = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !s.is_empty() {
        if let Some(rest) = s.strip_prefix('.') {
            if let Some(rest) = rest.strip_prefix('*') {
                steps.push(Step::Wildcard);
                s = rest;
                continue;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/')) {
                return None;
            }
            steps.push(Step::Key(name.to_string()));
            s = &rest[end..];
        } else if let Some(rest) = s.strip_prefix('[') {
            let close = rest.find(']')?;
            let inner = &rest[..close];
            if inner == "*" {
                steps.push(Step::Wildcard);
            } else if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) {
                steps.push(Step::Index(inner.parse().ok()?));
            } else {
                return None;
            }
            s = &rest[close + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

#[cfg(test)]
#[path = "target_input_tests.rs"]
mod tests;
