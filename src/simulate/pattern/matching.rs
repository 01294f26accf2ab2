//! Matching an event against a parsed pattern, and the failure reported when it does not.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::parse::{integer, quantize};
use super::*;

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
    /// Match an event (the full envelope: `source`, `detail-type`, `detail`, ...). To match one
    /// event against many patterns, make an [`Event`] once and use [`Pattern::matches_event`].
    pub fn matches(&self, event: &Value) -> Outcome {
        self.matches_event(&Event::new(event))
    }

    /// Match a prepared event (its dotted names already split).
    pub fn matches_event(&self, event: &Event) -> Outcome {
        match match_obj(&self.root, Some(&event.value)) {
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
    pub(super) fn matches(&self, s: &str) -> bool {
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
pub(super) fn equals_ignore_case(s: &str, lowered: &str) -> bool {
    s.chars().flat_map(char::to_lowercase).eq(lowered.chars())
}

pub(super) fn starts_with_ignore_case(s: &str, lowered: &str) -> bool {
    let mut chars = s.chars().flat_map(char::to_lowercase);
    lowered.chars().all(|p| chars.next() == Some(p))
}

pub(super) fn ends_with_ignore_case(s: &str, lowered: &str) -> bool {
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
pub(super) fn show(value: &Value, out: &mut String) {
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
