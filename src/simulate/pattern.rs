//! EventBridge event patterns, offline: [`parse`] once (rejecting what `PutRule` rejects), then
//! [`Pattern::matches`] events, naming the first field that failed and why.
//!
//! Semantics follow the EventBridge user guide, whose pages are cited at each operator by name
//! (`eb-create-pattern-operators.html` and the like, under
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/>), and, where the guide is silent,
//! Event Ruler (`aws/event-ruler`), AWS's Java library for this pattern language: its README
//! ("JSON Array Matching", "The $or Primitive") and its rule compiler's checks.
//!
//! Why not a crate: quamina, a Go library for the same pattern language, has a Rust port on
//! crates.io, `quamina` (0.7.0, released 2026-08, maintained). It was evaluated and not used:
//! - its API answers only *which* patterns matched, never which field failed or why, and
//!   [`Outcome::Failed`] (what `simulate` shows users) needs exactly that;
//! - it lacks operators EventBridge has: `$or`, `prefix`/`suffix` with `equals-ignore-case`, and
//!   `anything-but` with `prefix`/`suffix`/`wildcard`/`equals-ignore-case`;
//! - it does not check what EventBridge rejects (numeric bounds out of order or outside ±5e9,
//!   `/32` CIDRs, reserved names inside `$or`), and adds six dependencies.
//!
//! Evaluation walks the parsed pattern against the `serde_json::Value` of the event: no
//! flattening, and no allocation until a failure is reported.
//!
//! Choices where the documentation is silent or ambiguous (each also pinned by a test):
//! - An object inside an event array is matched element-wise: a nested pattern matches an array
//!   if one element matches all of it (Event Ruler's "array-consistent" matching). One case
//!   differs from Event Ruler, which expands `$or` before matching: when fields inside and
//!   outside a `$or` reach into the same array, each side may be met by a different element.
//! - A field whose value is an object, or an array with no scalar in it (`[]`), is not a leaf:
//!   `exists: false` matches it, everything else (including `exists: true`) does not (the guide's
//!   "Exists matching only works on leaf nodes" example). `null` is a leaf value: `exists: true`
//!   matches it.
//! - `anything-but` matches any present value the excluded values/operators do not match,
//!   whatever its type (`{"anything-but": "a"}` matches `5`); never a missing field.
//! - Numbers compare at 6 decimals (scaled by 1e6 and rounded) within ±5e9; a number outside that
//!   range never matches `numeric`, and equals another only exactly.
//! - `cidr` mirrors Event Ruler: the range runs from the address as written to the end of its
//!   block, and `/32` (IPv4) and `/128` (IPv6) are rejected (match one address with a plain
//!   string, which also matches other spellings of the same address).
//! - Nesting is limited to 10 levels, as `validate` does at admission; AWS documents no depth
//!   limit, only a pattern size (2048 characters, raisable to 4096), which is not checked here.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::{Map, Value};

/// A pattern that failed to parse: the JSON path inside the pattern and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// e.g. `detail.amount[0].numeric`; empty for the pattern itself.
    pub path: String,
    pub message: String,
}

/// A parsed event pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    root: Obj,
}

/// Whether an event matched, and if not, the first field that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Matched,
    /// `field`: the event's field (e.g. `detail.status`); `reason`: why it did not match.
    Failed {
        field: String,
        reason: String,
    },
}

/// Levels of nested objects (and `$or` branches) allowed, as in `validate`'s admission check.
const MAX_DEPTH: usize = 10;

/// Numeric matching's range, eb-create-pattern-operators.html "Numeric matching": "values
/// between -5.0e9 and +5.0e9 inclusive, with 15 digits of precision, or six digits to the right
/// of the decimal point".
const NUMERIC_LIMIT: f64 = 5e9;

/// Names Event Ruler refuses as field names inside a `$or` branch (its operators, and names it
/// reserves), so a misplaced operator is an error rather than a field nobody has.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

const OPERATORS: &str = "prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr";

/// The members of one pattern object, in the order written: fields (AND) and `$or` groups.
#[derive(Clone, Debug, PartialEq)]
struct Obj {
    members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq)]
enum Member {
    Field(Field),
    /// eb-create-pattern-operators.html "Complex example with $or matching": matches if any
    /// branch matches; each branch is a pattern object at the same level as the `$or` key (which
    /// adds no path segment).
    Or(Vec<Obj>),
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    key: String,
    /// The dotted path in the event, for failures.
    path: String,
    node: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Obj(Obj),
    Leaf(Leaf),
}

/// A leaf: the OR of its match values.
#[derive(Clone, Debug, PartialEq)]
struct Leaf {
    matchers: Vec<Matcher>,
    /// `{"exists": false}` is among the matchers: a missing field (or a non-leaf) matches.
    absent_ok: bool,
    /// The array as written, rendered for failure messages.
    shown: String,
    /// A single operator's operand as written (`[">", 10]` for `[{"numeric": [">", 10]}]`; the
    /// `"x"` of `{"prefix": {"equals-ignore-case": "x"}}`), rendered; empty otherwise.
    operand: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Matcher {
    /// eb-event-patterns.html (values are matched exactly: strings, numbers, `true`/`false`) and
    /// eb-event-patterns-null-values.html (`null` matches a null value, `""` an empty string, and
    /// the two are not interchangeable).
    Exact(Literal),
    /// eb-create-pattern-operators.html "Prefix matching": string values only.
    Prefix(String),
    /// eb-create-pattern-operators.html "Prefix matching while ignoring case". Stored lowercased.
    PrefixIgnoreCase(String),
    /// eb-create-pattern-operators.html "Suffix matching".
    Suffix(String),
    /// eb-create-pattern-operators.html "Suffix matching while ignoring case". Stored lowercased.
    SuffixIgnoreCase(String),
    /// eb-create-pattern-operators.html "Equals-ignore-case matching". Stored lowercased.
    EqualsIgnoreCase(String),
    /// eb-create-pattern-operators.html "Matching using wildcards".
    Wildcard(Wildcard),
    /// eb-create-pattern-operators.html "Anything-but matching" (and its prefix, suffix,
    /// ignore-case and wildcard forms).
    AnythingBut(AnythingBut),
    /// eb-create-pattern-operators.html "Numeric matching".
    Numeric(Range),
    /// eb-create-pattern-operators.html "Exists matching".
    Exists(bool),
    /// eb-create-pattern-operators.html "IP address matching".
    Cidr(Cidr),
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    /// `ip`: the string is an IP address, so other spellings of it match too (Event Ruler turns
    /// such strings into one-address ranges).
    Str {
        s: String,
        ip: Option<IpAddr>,
    },
    Num(Num),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
struct Num {
    f: f64,
    /// Scaled by 1e6 and rounded, within ±5e9.
    q: Option<i64>,
    /// Exact, for integers (account numbers and the like exceed 5e9).
    int: Option<i128>,
}

#[derive(Clone, Debug, PartialEq)]
enum AnythingBut {
    Values(Vec<Literal>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    /// Lowercased.
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

/// `numeric` bounds, scaled like [`Num::q`]; `true`: inclusive.
#[derive(Clone, Debug, PartialEq)]
struct Range {
    lower: Option<(i64, bool)>,
    upper: Option<(i64, bool)>,
}

/// `*`-separated literal parts (escapes resolved): `parts.len()` is the number of `*` plus one.
#[derive(Clone, Debug, PartialEq)]
struct Wildcard {
    parts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct Cidr {
    v6: bool,
    low: u128,
    high: u128,
}

// ---------------------------------------------------------------------------------------------
// Parsing

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
        members.push(Member::Field(Field { key: key.clone(), path, node }));
    }
    Ok(Obj { members })
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

fn integer(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// A number as numeric matching compares it: scaled to 6 decimals, within ±5e9.
fn quantize(f: f64) -> Option<i64> {
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
fn parse_wildcard(text: &str) -> Result<Wildcard, String> {
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

// ---------------------------------------------------------------------------------------------
// Matching

/// Why a leaf failed, borrowed from the pattern and the event: turned into text only when it is
/// the failure reported.
struct Miss<'p, 'e> {
    path: &'p str,
    leaf: &'p Leaf,
    got: Got<'e>,
    /// > 0: every one of this many `$or` alternatives failed; this is the first one's failure.
    alternatives: usize,
    /// > 1: no element of an array of this many matched; this is the first element's failure.
    elements: usize,
}

enum Got<'e> {
    Missing,
    /// An object where the pattern has a leaf.
    Object,
    /// An array with no scalar in it.
    NoValues,
    Value(&'e Value),
}

impl Pattern {
    /// Match an event (the full envelope: `source`, `detail-type`, `detail`, ...).
    pub fn matches(&self, event: &Value) -> Outcome {
        match match_obj(&self.root, Some(event)) {
            Ok(()) => Outcome::Matched,
            Err(miss) => miss.outcome(),
        }
    }
}

/// An object pattern against the event's value at the same place (`None`: absent).
fn match_obj<'p, 'e>(obj: &'p Obj, value: Option<&'e Value>) -> Result<(), Miss<'p, 'e>> {
    // eb-event-patterns-arrays.html and Event Ruler's README "JSON Array Matching": objects in an
    // array are matched as if each were the field's value, and all the fields a pattern object
    // names must come from one element.
    if let Some(Value::Array(items)) = value {
        if items.is_empty() {
            return match_obj(obj, None);
        }
        let mut first = None;
        for item in items {
            match match_obj(obj, Some(item)) {
                Ok(()) => return Ok(()),
                Err(miss) => {
                    first.get_or_insert(miss);
                }
            }
        }
        return match first {
            Some(mut miss) => {
                if items.len() > 1 && miss.elements == 0 {
                    miss.elements = items.len();
                }
                Err(miss)
            }
            None => Ok(()),
        };
    }
    let map = match value {
        Some(Value::Object(map)) => Some(map),
        _ => None,
    };
    for member in &obj.members {
        match member {
            Member::Field(field) => {
                let child = map.and_then(|m| lookup(m, &field.key));
                match &field.node {
                    Node::Obj(inner) => match_obj(inner, child)?,
                    Node::Leaf(leaf) => match_leaf(&field.path, leaf, child)?,
                }
            }
            Member::Or(branches) => {
                let mut first = None;
                for branch in branches {
                    match match_obj(branch, value) {
                        Ok(()) => {
                            first = None;
                            break;
                        }
                        Err(miss) => {
                            first.get_or_insert(miss);
                        }
                    }
                }
                if let Some(mut miss) = first {
                    miss.alternatives = branches.len();
                    return Err(miss);
                }
            }
        }
    }
    Ok(())
}

/// A key's value: small objects (an event's envelope, most details) are scanned, which is cheaper
/// than hashing the key with the map's SipHash; larger ones are hashed.
fn lookup<'e>(map: &'e Map<String, Value>, key: &str) -> Option<&'e Value> {
    const SCAN_MAX: usize = 16;
    if map.len() > SCAN_MAX {
        return map.get(key);
    }
    // Length and first byte before the full comparison: most keys differ there.
    let (len, first) = (key.len(), key.as_bytes().first());
    map.iter().find_map(|(k, v)| (k.len() == len && k.as_bytes().first() == first && k == key).then_some(v))
}

fn match_leaf<'p, 'e>(path: &'p str, leaf: &'p Leaf, value: Option<&'e Value>) -> Result<(), Miss<'p, 'e>> {
    let got = match value {
        None => Got::Missing,
        // "Exists matching only works on leaf nodes": an object is no value here.
        Some(Value::Object(_)) => Got::Object,
        Some(array @ Value::Array(items)) => {
            let mut seen = false;
            if any_element(items, leaf, &mut seen) {
                return Ok(());
            }
            if seen { Got::Value(array) } else { Got::NoValues }
        }
        Some(scalar) => {
            if leaf.matchers.iter().any(|m| m.matches(scalar)) {
                return Ok(());
            }
            Got::Value(scalar)
        }
    };
    // `exists: false` matches wherever there is no leaf value.
    if leaf.absent_ok && !matches!(got, Got::Value(_)) {
        return Ok(());
    }
    Err(Miss { path, leaf, got, alternatives: 0, elements: 0 })
}

/// eb-event-patterns-arrays.html: "If the value in the event is an array, then the event pattern
/// matches if the intersection of the event pattern array and the event array is non-empty."
/// Nested arrays are flattened; objects in the array are not leaf values.
fn any_element(items: &[Value], leaf: &Leaf, seen: &mut bool) -> bool {
    for item in items {
        match item {
            Value::Array(inner) => {
                if any_element(inner, leaf, seen) {
                    return true;
                }
            }
            Value::Object(_) => {}
            scalar => {
                *seen = true;
                if leaf.matchers.iter().any(|m| m.matches(scalar)) {
                    return true;
                }
            }
        }
    }
    false
}

impl Matcher {
    /// Whether a present scalar (string, number, bool or null) matches.
    fn matches(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(literal) => literal.equals(value),
            Matcher::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::PrefixIgnoreCase(p) => value.as_str().is_some_and(|s| starts_with_ignore_case(s, p)),
            Matcher::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Matcher::SuffixIgnoreCase(p) => value.as_str().is_some_and(|s| ends_with_ignore_case(s, p)),
            Matcher::EqualsIgnoreCase(p) => value.as_str().is_some_and(|s| equals_ignore_case(s, p)),
            Matcher::Wildcard(w) => value.as_str().is_some_and(|s| w.matches(s)),
            Matcher::AnythingBut(but) => !but.excludes(value),
            // `as_f64` is `None` for anything but a JSON number.
            Matcher::Numeric(range) => value.as_f64().and_then(quantize).is_some_and(|q| range.contains(q)),
            Matcher::Exists(present) => *present,
            Matcher::Cidr(cidr) => value.as_str().is_some_and(|s| cidr.contains(s)),
        }
    }
}

impl Literal {
    fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (Literal::Str { s, ip }, Value::String(v)) => {
                s == v || ip.is_some_and(|ip| v.parse::<IpAddr>().is_ok_and(|other| other == ip))
            }
            (Literal::Num(p), Value::Number(n)) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                match (p.q, quantize(f), p.int, integer(n)) {
                    (Some(a), Some(b), _, _) => a == b,
                    (_, _, Some(a), Some(b)) => a == b,
                    _ => p.f == f,
                }
            }
            (Literal::Bool(b), Value::Bool(v)) => b == v,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl AnythingBut {
    /// Whether the excluded values/operators match the value (then anything-but does not).
    fn excludes(&self, value: &Value) -> bool {
        match self {
            AnythingBut::Values(values) => values.iter().any(|l| l.equals(value)),
            AnythingBut::Prefix(ps) => value.as_str().is_some_and(|s| ps.iter().any(|p| s.starts_with(p.as_str()))),
            AnythingBut::Suffix(ps) => value.as_str().is_some_and(|s| ps.iter().any(|p| s.ends_with(p.as_str()))),
            AnythingBut::EqualsIgnoreCase(ps) => {
                value.as_str().is_some_and(|s| ps.iter().any(|p| equals_ignore_case(s, p)))
            }
            AnythingBut::Wildcard(ws) => value.as_str().is_some_and(|s| ws.iter().any(|w| w.matches(s))),
        }
    }
}

impl Range {
    fn contains(&self, q: i64) -> bool {
        let above = match self.lower {
            Some((low, inclusive)) => q > low || (inclusive && q == low),
            None => true,
        };
        let below = match self.upper {
            Some((high, inclusive)) => q < high || (inclusive && q == high),
            None => true,
        };
        above && below
    }
}

impl Wildcard {
    fn matches(&self, s: &str) -> bool {
        let [first, middle @ .., last] = self.parts.as_slice() else {
            // One part: no `*`.
            return self.parts.first().is_some_and(|p| p == s);
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) || !s.ends_with(last.as_str()) {
            return false;
        }
        let Some(mut rest) = s.get(first.len()..s.len() - last.len()) else {
            return false;
        };
        // Leftmost placement of each literal part is optimal when `*` is the only metacharacter.
        for part in middle {
            match rest.find(part.as_str()) {
                Some(at) => match rest.get(at + part.len()..) {
                    Some(tail) => rest = tail,
                    None => return false,
                },
                None => return false,
            }
        }
        true
    }
}

impl Cidr {
    fn contains(&self, s: &str) -> bool {
        let address = match s.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) if !self.v6 => u128::from(u32::from(a)),
            Ok(IpAddr::V6(a)) if self.v6 => u128::from(a),
            _ => return false,
        };
        (self.low..=self.high).contains(&address)
    }
}

/// `lowered` is already lowercase; compares without allocating.
fn equals_ignore_case(s: &str, lowered: &str) -> bool {
    s.chars().flat_map(char::to_lowercase).eq(lowered.chars())
}

fn starts_with_ignore_case(s: &str, lowered: &str) -> bool {
    let mut chars = s.chars().flat_map(char::to_lowercase);
    lowered.chars().all(|p| chars.next() == Some(p))
}

fn ends_with_ignore_case(s: &str, lowered: &str) -> bool {
    let mut chars = s.chars().rev().flat_map(|c| c.to_lowercase().rev());
    lowered.chars().rev().all(|p| chars.next() == Some(p))
}

// ---------------------------------------------------------------------------------------------
// Failure messages

/// Longest rendering of an event value in a reason, in characters.
const SHOW_MAX: usize = 120;

impl Miss<'_, '_> {
    /// The reported failure: the only place matching allocates, written into one string.
    fn outcome(&self) -> Outcome {
        let mut reason = String::with_capacity(128);
        if self.alternatives > 0 {
            let _ = write!(
                reason,
                "none of the {} $or alternatives matched; the first failed on {}: ",
                self.alternatives, self.path
            );
        }
        self.reason(&mut reason);
        if self.elements > 1 {
            let _ = write!(reason, " (no element of the {}-element array matched; the first is shown)", self.elements);
        }
        Outcome::Failed { field: self.path.to_string(), reason }
    }

    fn reason(&self, out: &mut String) {
        let leaf = self.leaf;
        let value = match self.got {
            Got::Missing => return out.push_str("field is missing"),
            Got::Object => {
                return out.push_str("field is an object, not a value (nest the pattern to match inside it)");
            }
            Got::NoValues => return out.push_str("field has no values (an empty array)"),
            Got::Value(value) => value,
        };
        if leaf.matchers == [Matcher::Exists(false)] {
            return out.push_str("field exists; the pattern requires it to be absent");
        }
        if let Value::Array(_) = value {
            out.push_str("no element of ");
            show(value, out);
            out.push_str(" matches ");
            return out.push_str(&leaf.shown);
        }
        show(value, out);
        let (text, operand, after) = match leaf.matchers.as_slice() {
            matchers if matchers.iter().all(|m| matches!(m, Matcher::Exact(_))) => (" is not one of ", &leaf.shown, ""),
            [Matcher::Numeric(_)] if !value.is_number() => {
                (" is not a number (numeric ", &leaf.operand, " matches JSON numbers only)")
            }
            [Matcher::Numeric(_)] if value.as_f64().and_then(quantize).is_none() => {
                return out.push_str(" is outside numeric matching's range (-5e9 to 5e9)");
            }
            [Matcher::Numeric(_)] => (" is not in numeric ", &leaf.operand, ""),
            [Matcher::AnythingBut(_)] => (" is excluded by anything-but ", &leaf.operand, ""),
            [Matcher::Prefix(_)] => (" does not start with ", &leaf.operand, ""),
            [Matcher::PrefixIgnoreCase(_)] => (" does not start with ", &leaf.operand, " (ignoring case)"),
            [Matcher::Suffix(_)] => (" does not end with ", &leaf.operand, ""),
            [Matcher::SuffixIgnoreCase(_)] => (" does not end with ", &leaf.operand, " (ignoring case)"),
            [Matcher::EqualsIgnoreCase(_)] => (" is not ", &leaf.operand, " (ignoring case)"),
            [Matcher::Wildcard(_)] => (" does not match wildcard ", &leaf.operand, ""),
            [Matcher::Cidr(_)] => (" is not an address in cidr ", &leaf.operand, ""),
            _ => (" matches none of ", &leaf.shown, ""),
        };
        out.push_str(text);
        out.push_str(operand);
        out.push_str(after);
    }
}

/// Appends compact JSON with `", "` separators (`[">", 10]`), cut at [`SHOW_MAX`] characters.
fn show(value: &Value, out: &mut String) {
    let start = out.len();
    render(value, out);
    if let Some((cut, _)) = out.get(start..).and_then(|shown| shown.char_indices().nth(SHOW_MAX)) {
        out.truncate(start + cut);
        out.push('…');
    }
}

fn render(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                // Operator names: plain ASCII, where Rust's quoting is JSON's.
                let _ = write!(out, "{key:?}: ");
                render(item, out);
            }
            out.push('}');
        }
        // `Value`'s `Display` is its JSON, written without an intermediate string.
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
