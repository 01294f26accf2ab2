//! Dot-joined field names. Event Ruler (and so EventBridge) flattens both the event and the
//! pattern into paths whose names are joined with `.`, so `{"state": {"status": ...}}` and
//! `{"state.status": ...}` are the same field (user guide, eb-event-patterns.html,
//! "Considerations when creating event patterns"; recorded against AWS by LocalStack,
//! tests/aws/services/events/event_pattern_templates/dot_joining_*.json5).
//!
//! The matcher walks nested objects, so both sides are brought to one nested form instead: every
//! name is split at each `.` (empty parts kept, so the joined path is unchanged), and objects
//! that land on the same name are merged. The pattern is split once at parse; an event once per
//! [`Event`], and only when one of its names has a dot (the common case borrows the event).

use std::borrow::Cow;

use serde_json::{Map, Value};

/// An event ready for matching against any number of patterns.
#[derive(Clone, Debug)]
pub struct Event<'e> {
    pub(super) value: Cow<'e, Value>,
}

impl<'e> Event<'e> {
    pub fn new(event: &'e Value) -> Self {
        let value = if has_dotted_name(event) { Cow::Owned(split(event)) } else { Cow::Borrowed(event) };
        Event { value }
    }
}

fn has_dotted_name(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('.') || has_dotted_name(v)),
        Value::Array(items) => items.iter().any(has_dotted_name),
        _ => false,
    }
}

/// The event with every dotted name split into nested objects.
fn split(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let mut nested = split(child);
                // `rsplit` yields at least one part: the last name first.
                let mut parts = key.rsplit('.');
                let mut head = parts.next().unwrap_or_default();
                for segment in parts {
                    let mut wrap = Map::new();
                    wrap.insert(head.to_string(), nested);
                    nested = Value::Object(wrap);
                    head = segment;
                }
                insert(&mut out, head, nested);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(split).collect()),
        scalar => scalar.clone(),
    }
}

/// Put `value` at `key`, merging with what is there: objects merge name by name; anything else
/// becomes (or joins) an array of both, so a leaf sees every value the flattened event has at
/// that path (Event Ruler matches a field against each of them).
fn insert(map: &mut Map<String, Value>, key: &str, value: Value) {
    let Some(existing) = map.get_mut(key) else {
        map.insert(key.to_string(), value);
        return;
    };
    match (existing, value) {
        (Value::Object(have), Value::Object(add)) => {
            for (k, v) in add {
                insert(have, &k, v);
            }
        }
        (Value::Array(have), Value::Array(add)) => have.extend(add),
        (Value::Array(have), add) => have.push(add),
        (have, Value::Array(mut add)) => {
            add.insert(0, have.take());
            *have = Value::Array(add);
        }
        (have, add) => *have = Value::Array(vec![have.take(), add]),
    }
}
