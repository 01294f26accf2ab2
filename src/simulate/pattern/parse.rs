//! Parsing a pattern into matchers, refusing what `PutRule` refuses.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::matching::show;
use super::*;

fn error(path: &str, message: impl Into<String>) -> PatternError {
    PatternError { path: path.to_string(), message: message.into() }
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() { key.to_string() } else { format!("{base}.{key}") }
}

/// Parse an EventBridge event pattern.
///
/// eb-event-patterns.html: a pattern is a JSON object whose keys are event fields and whose
/// values are nested objects or non-empty arrays of match values (OR); all keys must match (AND).
pub fn parse(pattern: &Value) -> Result<Pattern, PatternError> {
    let Value::Object(map) = pattern else {
        return Err(error("", "an event pattern must be a JSON object"));
    };
    Ok(Pattern { root: parse_obj(map, "", "", 0, false)? })
}

/// `at`: the path inside the pattern (for errors); `event_path`: the dotted path in the event.
fn parse_obj(
    map: &Map<String, Value>,
    at: &str,
    event_path: &str,
    depth: usize,
    in_or: bool,
) -> Result<Obj, PatternError> {
    if map.is_empty() {
        return Err(error(at, "must not be an empty object"));
    }
    if depth > MAX_DEPTH {
        return Err(error(at, format!("is nested too deeply (more than {MAX_DEPTH} levels)")));
    }
    let mut members = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key_at = join(at, key);
        if key == "$or" {
            // Event Ruler: "$or" must be followed by an array of at least 2 objects.
            let alternatives = match value {
                Value::Array(items) if items.len() >= 2 => items,
                _ => return Err(error(&key_at, "$or must be an array of at least two pattern objects")),
            };
            let mut branches = Vec::with_capacity(alternatives.len());
            for (i, item) in alternatives.iter().enumerate() {
                let item_at = format!("{key_at}[{i}]");
                let Value::Object(branch) = item else {
                    return Err(error(&item_at, "each $or alternative must be a pattern object"));
                };
                branches.push(parse_obj(branch, &item_at, event_path, depth + 1, true)?);
            }
            members.push(Member::Or(branches));
            continue;
        }
        if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return Err(error(
                &key_at,
                format!("{key:?} is an operator name and cannot be a field name inside $or (put it in an array)"),
            ));
        }
        let path = join(event_path, key);
        let node = match value {
            Value::Object(child) => Node::Obj(parse_obj(child, &key_at, &path, depth + 1, in_or)?),
            Value::Array(items) => Node::Leaf(parse_leaf(items, &key_at)?),
            _ => {
                return Err(error(
                    &key_at,
                    "must be an object or an array of match values (e.g. [\"create\"]); a bare value is not allowed",
                ));
            }
        };
        add_field(&mut members, event_path, key, path, node);
    }
    Ok(Obj { members })
}

/// Add a field, its dotted name split into nested fields (see `dotted`): `{"state.status": x}`
/// becomes `{"state": {"status": x}}`, merged with a `state` object already there, so fields
/// reaching into the same array still have to match one element.
fn add_field(members: &mut Vec<Member>, event_path: &str, key: &str, path: String, node: Node) {
    let Some((first, rest)) = key.split_once('.') else {
        // Merge objects that meet on one name (`{"a.b": .., "a": {"c": ..}}`).
        if let Node::Obj(add) = node {
            for member in members.iter_mut() {
                if let Member::Field(Field { key: have, path: have_path, node: Node::Obj(obj) }) = member
                    && have == key
                {
                    for m in add.members {
                        match m {
                            Member::Field(f) => add_field(&mut obj.members, have_path, &f.key, f.path, f.node),
                            or => obj.members.push(or),
                        }
                    }
                    return;
                }
            }
            members.push(Member::Field(Field { key: key.to_string(), path, node: Node::Obj(add) }));
            return;
        }
        members.push(Member::Field(Field { key: key.to_string(), path, node }));
        return;
    };
    let first_path = join(event_path, first);
    let mut inner = Vec::new();
    add_field(&mut inner, &first_path, rest, path, node);
    add_field(members, event_path, first, first_path, Node::Obj(Obj { members: inner }));
}

fn parse_leaf(items: &[Value], at: &str) -> Result<Leaf, PatternError> {
    if items.is_empty() {
        return Err(error(at, "must not be an empty array"));
    }
    let mut matchers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_at = format!("{at}[{i}]");
        let matcher = match item {
            Value::Object(op) => parse_operator(op, &item_at)?,
            Value::Array(_) => {
                return Err(error(&item_at, "match values must be strings, numbers, booleans or null, not arrays"));
            }
            scalar => Matcher::Exact(literal(scalar)),
        };
        matchers.push(matcher);
    }
    let absent_ok = matchers.contains(&Matcher::Exists(false));
    let mut shown = String::new();
    show(&Value::Array(items.to_vec()), &mut shown);
    let mut operand = String::new();
    if let [Value::Object(op)] = items {
        // `{"prefix": {"equals-ignore-case": "x"}}`: the "x".
        match op.values().next() {
            Some(Value::Object(inner))
                if matches!(matchers.as_slice(), [Matcher::PrefixIgnoreCase(_) | Matcher::SuffixIgnoreCase(_)]) =>
            {
                inner.values().for_each(|v| show(v, &mut operand));
            }
            Some(value) => show(value, &mut operand),
            None => {}
        }
    }
    Ok(Leaf { matchers, absent_ok, shown, operand })
}

/// A scalar match value (objects and arrays are handled by the callers).
fn literal(value: &Value) -> Literal {
    match value {
        Value::String(s) => Literal::Str { s: s.clone(), ip: s.parse().ok() },
        Value::Number(n) => Literal::Num(num(n)),
        Value::Bool(b) => Literal::Bool(*b),
        _ => Literal::Null,
    }
}

fn num(n: &serde_json::Number) -> Num {
    let f = n.as_f64().unwrap_or(f64::NAN);
    Num { f, q: quantize(f), int: integer(n) }
}

pub(super) fn integer(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// A number as numeric matching compares it: scaled to 6 decimals, within ±5e9.
pub(super) fn quantize(f: f64) -> Option<i64> {
    // The product is at most 5e15 in magnitude, below 2^53: exact as an i64.
    (f.is_finite() && (-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&f)).then(|| (f * 1e6).round() as i64)
}

fn parse_operator(op: &Map<String, Value>, at: &str) -> Result<Matcher, PatternError> {
    let mut entries = op.iter();
    let (Some((name, value)), None) = (entries.next(), entries.next()) else {
        return Err(error(
            at,
            format!("an operator object must have exactly one key (one of {OPERATORS}), e.g. {{\"prefix\": \"x\"}}"),
        ));
    };
    let op_at = format!("{at}.{name}");
    let string = |what: &str| match value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(error(&op_at, format!("{what} must be a string"))),
    };
    match name.as_str() {
        "prefix" => match value {
            Value::Object(inner) => Ok(Matcher::PrefixIgnoreCase(ignore_case_value(inner, &op_at)?)),
            _ => Ok(Matcher::Prefix(string("prefix")?)),
        },
        "suffix" => match value {
            Value::Object(inner) => Ok(Matcher::SuffixIgnoreCase(ignore_case_value(inner, &op_at)?)),
            _ => Ok(Matcher::Suffix(string("suffix")?)),
        },
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(string("equals-ignore-case")?.to_lowercase())),
        "wildcard" => {
            let text = string("wildcard")?;
            Ok(Matcher::Wildcard(parse_wildcard(&text).map_err(|m| error(&op_at, m))?))
        }
        "anything-but" => Ok(Matcher::AnythingBut(parse_anything_but(value, &op_at)?)),
        "numeric" => Ok(Matcher::Numeric(parse_numeric(value, &op_at)?)),
        "exists" => match value {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(error(&op_at, "exists must be true or false")),
        },
        "cidr" => {
            let text = string("cidr")?;
            Ok(Matcher::Cidr(parse_cidr(&text).map_err(|m| error(&op_at, m))?))
        }
        other => Err(error(&op_at, format!("unknown operator {other:?}; EventBridge supports {OPERATORS}"))),
    }
}

/// The `{"equals-ignore-case": "x"}` inside `prefix`/`suffix`, lowercased.
fn ignore_case_value(inner: &Map<String, Value>, at: &str) -> Result<String, PatternError> {
    let mut entries = inner.iter();
    match (entries.next(), entries.next()) {
        (Some((name, Value::String(s))), None) if name == "equals-ignore-case" => Ok(s.to_lowercase()),
        (Some((name, _)), None) if name == "equals-ignore-case" => {
            Err(error(&format!("{at}.{name}"), "equals-ignore-case must be a string"))
        }
        _ => Err(error(at, "must be a string or {\"equals-ignore-case\": \"...\"}")),
    }
}

/// eb-create-pattern-operators.html "Anything-but matching": a string, a number, a list of only
/// strings or only numbers, or one of `prefix`/`suffix`/`equals-ignore-case`/`wildcard` with a
/// string (or, as Event Ruler accepts, a list of strings).
fn parse_anything_but(value: &Value, at: &str) -> Result<AnythingBut, PatternError> {
    match value {
        Value::String(_) => Ok(AnythingBut::Values(vec![literal(value)])),
        Value::Number(n) => Ok(AnythingBut::Values(vec![Literal::Num(limited_number(n, at)?)])),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(error(at, "anything-but must not be an empty list"));
            }
            let strings = items.iter().all(Value::is_string);
            let numbers = items.iter().all(Value::is_number);
            if !strings && !numbers {
                return Err(error(
                    at,
                    "an anything-but list must hold only strings or only numbers (no null, booleans, objects or mixes)",
                ));
            }
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                values.push(match item {
                    Value::Number(n) => Literal::Num(limited_number(n, &format!("{at}[{i}]"))?),
                    other => literal(other),
                });
            }
            Ok(AnythingBut::Values(values))
        }
        Value::Object(inner) => {
            let mut entries = inner.iter();
            let (Some((name, operand)), None) = (entries.next(), entries.next()) else {
                return Err(error(
                    at,
                    "an anything-but object must have exactly one key: prefix, suffix, equals-ignore-case or wildcard",
                ));
            };
            let op_at = format!("{at}.{name}");
            if !matches!(name.as_str(), "prefix" | "suffix" | "equals-ignore-case" | "wildcard") {
                return Err(error(
                    &op_at,
                    format!("anything-but supports prefix, suffix, equals-ignore-case and wildcard, not {name:?}"),
                ));
            }
            let texts: Vec<&str> = match operand {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) if !items.is_empty() => {
                    let mut texts = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::String(s) => texts.push(s.as_str()),
                            _ => return Err(error(&format!("{op_at}[{i}]"), format!("{name} values must be strings"))),
                        }
                    }
                    texts
                }
                Value::Array(_) => return Err(error(&op_at, "must not be an empty list")),
                _ => return Err(error(&op_at, format!("{name} must be a string or a list of strings"))),
            };
            let owned = || texts.iter().map(|t| t.to_string()).collect::<Vec<_>>();
            match name.as_str() {
                "prefix" | "suffix" => {
                    if texts.iter().any(|t| t.is_empty()) {
                        return Err(error(&op_at, format!("an anything-but {name} must not be empty")));
                    }
                    Ok(if name == "prefix" { AnythingBut::Prefix(owned()) } else { AnythingBut::Suffix(owned()) })
                }
                "equals-ignore-case" => {
                    Ok(AnythingBut::EqualsIgnoreCase(texts.iter().map(|t| t.to_lowercase()).collect()))
                }
                _ => {
                    let mut wildcards = Vec::with_capacity(texts.len());
                    for text in texts {
                        wildcards.push(parse_wildcard(text).map_err(|m| error(&op_at, m))?);
                    }
                    Ok(AnythingBut::Wildcard(wildcards))
                }
            }
        }
        _ => Err(error(at, "anything-but must be a string, a number, a list, or an operator object")),
    }
}

fn limited_number(n: &serde_json::Number, at: &str) -> Result<Num, PatternError> {
    let parsed = num(n);
    if parsed.q.is_none() {
        return Err(error(at, format!("{n} is outside numeric matching's range (-5e9 to 5e9)")));
    }
    Ok(parsed)
}

/// eb-create-pattern-operators.html "Numeric matching": `["=", x]`, `["<" | "<=", x]`,
/// `[">" | ">=", x]`, or `[">" | ">=", low, "<" | "<=", high]` with `low < high` (Event Ruler's
/// grammar: the lower bound comes first).
fn parse_numeric(value: &Value, at: &str) -> Result<Range, PatternError> {
    const SHAPE: &str = "numeric must be [\"=\", x], [\"<\" or \"<=\", x], [\">\" or \">=\", x], \
                         or [\">\" or \">=\", low, \"<\" or \"<=\", high]";
    let Value::Array(items) = value else {
        return Err(error(at, SHAPE));
    };
    if items.len() != 2 && items.len() != 4 {
        return Err(error(at, SHAPE));
    }
    let operator = |i: usize| match items.get(i) {
        Some(Value::String(op)) if matches!(op.as_str(), "=" | "<" | "<=" | ">" | ">=") => Ok(op.as_str()),
        _ => Err(error(&format!("{at}[{i}]"), "must be one of \"=\", \"<\", \"<=\", \">\", \">=\"")),
    };
    let bound = |i: usize| -> Result<i64, PatternError> {
        let item_at = format!("{at}[{i}]");
        match items.get(i) {
            Some(Value::Number(n)) => match quantize(n.as_f64().unwrap_or(f64::NAN)) {
                Some(q) => Ok(q),
                None => Err(error(&item_at, format!("{n} is outside numeric matching's range (-5e9 to 5e9)"))),
            },
            _ => Err(error(&item_at, "must be a number")),
        }
    };
    let first = operator(0)?;
    let x = bound(1)?;
    let lower = match first {
        "=" | "<" | "<=" if items.len() == 4 => {
            return Err(error(at, format!("{SHAPE} (a range starts with its lower bound, \">\" or \">=\")")));
        }
        "=" => return Ok(Range { lower: Some((x, true)), upper: Some((x, true)) }),
        "<" => return Ok(Range { lower: None, upper: Some((x, false)) }),
        "<=" => return Ok(Range { lower: None, upper: Some((x, true)) }),
        ">" => (x, false),
        _ => (x, true),
    };
    if items.len() == 2 {
        return Ok(Range { lower: Some(lower), upper: None });
    }
    let upper_inclusive = match operator(2)? {
        "<" => false,
        "<=" => true,
        _ => return Err(error(&format!("{at}[2]"), "the upper bound's operator must be \"<\" or \"<=\"")),
    };
    let y = bound(3)?;
    if lower.0 >= y {
        return Err(error(at, "the lower bound must be below the upper bound"));
    }
    Ok(Range { lower: Some(lower), upper: Some((y, upper_inclusive)) })
}

/// eb-create-pattern-operators.html "Matching using wildcards": `*` matches any run of
/// characters; `\*` is a literal `*` and `\\` a literal `\`; any other escape, and `**`, are
/// rejected (Event Ruler's wildcard parser).
pub(super) fn parse_wildcard(text: &str) -> Result<Wildcard, String> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if chars.peek() == Some(&'*') {
                    return Err(format!("{text:?}: consecutive wildcard characters (**) are not allowed"));
                }
                parts.push(String::new());
            }
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '\\')) => {
                    if let Some(last) = parts.last_mut() {
                        last.push(escaped);
                    }
                }
                _ => return Err(format!("{text:?}: a backslash may only escape * or \\")),
            },
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    Ok(Wildcard { parts })
}

/// eb-create-pattern-operators.html "IP address matching" (IPv4 and IPv6), with Event Ruler's
/// checks: one `/`, an integer prefix length below 32 (IPv4) or 128 (IPv6).
fn parse_cidr(text: &str) -> Result<Cidr, String> {
    let shape = || format!("{text:?} is not a CIDR block like \"10.0.0.0/24\" or \"2001:db8::/64\"");
    let Some((address, bits)) = text.split_once('/') else {
        return Err(shape());
    };
    let bits: u32 = bits.parse().map_err(|_| shape())?;
    let address: IpAddr = address.parse().map_err(|_| shape())?;
    match address {
        IpAddr::V4(a) => {
            if bits > 31 {
                return Err(format!(
                    "{text:?}: an IPv4 prefix length must be 0 to 31; match one address with a plain string"
                ));
            }
            let low = u32::from(a);
            Ok(Cidr { v6: false, low: u128::from(low), high: u128::from(low | (u32::MAX >> bits)) })
        }
        IpAddr::V6(a) => {
            if bits > 127 {
                return Err(format!(
                    "{text:?}: an IPv6 prefix length must be 0 to 127; match one address with a plain string"
                ));
            }
            let low = u128::from(a);
            Ok(Cidr { v6: true, low, high: low | (u128::MAX >> bits) })
        }
    }
}
