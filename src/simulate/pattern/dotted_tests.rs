//! Dot-joined field names, as AWS answered them. Evidence: the user guide's "Considerations when
//! creating event patterns" (eb-event-patterns.html) and TestEventPattern answers recorded against
//! AWS by LocalStack (github:localstack/localstack,
//! tests/aws/services/events/event_pattern_templates/dot_joining_{event,pattern}{,_NEG}.json5, with
//! tests/aws/services/events/test_events_patterns.snapshot.json: no exception, `Result` as the
//! `_NEG` suffix says).

use serde_json::{Value, json};

use super::*;

fn envelope(detail: Value) -> Value {
    json!({"id": "1", "source": "test-source", "detail-type": "test-detail-type", "account": "123456789012",
           "region": "us-east-2", "time": "2022-07-13T13:48:01Z", "detail": detail})
}

fn outcome(pattern: Value, event: Value) -> Outcome {
    parse(&pattern).unwrap_or_else(|e| panic!("{pattern}: {}: {}", e.path, e.message)).matches(&event)
}

#[test]
fn dotted_names_in_the_event_match_nested_patterns() {
    // dot_joining_event.json5: AWS answers Result true.
    let event = envelope(json!({"state.status": "running"}));
    assert_eq!(outcome(json!({"detail": {"state": {"status": ["running"]}}}), event), Outcome::Matched);
    // dot_joining_event_NEG.json5: detail.state.status.status is not detail.state.status.
    let event = envelope(json!({"state.status": {"status": "running"}}));
    assert!(matches!(
        outcome(json!({"detail": {"state": {"status": ["running"]}}}), event),
        Outcome::Failed { field, .. } if field == "detail.state.status"
    ));
}

#[test]
fn dotted_names_in_the_pattern_match_nested_events() {
    // dot_joining_pattern.json5: AWS answers Result true.
    let event = envelope(json!({"state": {"status": "running"}}));
    assert_eq!(outcome(json!({"detail": {"state.status": ["running"]}}), event.clone()), Outcome::Matched);
    // dot_joining_pattern_NEG.json5.
    assert!(matches!(
        outcome(json!({"detail": {"state.status": {"status": ["running"]}}}), event),
        Outcome::Failed { field, .. } if field == "detail.state.status.status"
    ));
    // A failure names the event's path, joined as written.
    let other = envelope(json!({"state": {"status": "stopped"}}));
    match outcome(json!({"detail": {"state.status": ["running"]}}), other) {
        Outcome::Failed { field, reason } => {
            assert_eq!(field, "detail.state.status");
            assert!(reason.contains("\"stopped\""), "{reason}");
        }
        Outcome::Matched => panic!("stopped matched running"),
    }
}

#[test]
fn dotted_names_reach_into_arrays_of_objects() {
    // The same rule inside arrays (Event Ruler flattens array elements under the same joined name);
    // LocalStack's recorded test_event_with_large_and_complex_payload matches
    // {"detail": {"payload.nested.another-level.deep": {"inside-list": [{"prefix": "q-test"}]}}}
    // against nested objects and lists (snapshot "complex-event-complex-pattern": Result true).
    let event = envelope(json!({"items": [{"state": {"status": "stopped"}}, {"state": {"status": "running"}}]}));
    assert_eq!(outcome(json!({"detail": {"items.state.status": ["running"]}}), event.clone()), Outcome::Matched);
    assert_eq!(outcome(json!({"detail": {"items": {"state.status": ["running"]}}}), event), Outcome::Matched);
    let event = envelope(json!({"items": [{"state.status": "stopped"}, {"state.status": "running"}]}));
    assert_eq!(outcome(json!({"detail": {"items": {"state": {"status": ["running"]}}}}), event), Outcome::Matched);
    let event = envelope(json!({"payload": {"nested": {"another-level": {"deep": [{"inside-list": "q-test-1"}]}}}}));
    let pattern = json!({"detail": {"payload.nested.another-level.deep": {"inside-list": [{"prefix": "q-test"}]}}});
    assert_eq!(outcome(pattern, event), Outcome::Matched);
}

#[test]
fn dotted_and_nested_spellings_of_one_object_are_one_object() {
    // Fields reaching into the same array must still come from one element, however spelled.
    let event = envelope(json!({"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}));
    let split = json!({"detail": {"items.sku": ["a"], "items": {"qty": [2]}}});
    assert!(
        matches!(outcome(split, event.clone()), Outcome::Failed { .. }),
        "sku a and qty 2 are in different elements"
    );
    assert_eq!(outcome(json!({"detail": {"items.sku": ["b"], "items": {"qty": [2]}}}), event), Outcome::Matched);
    // Both spellings in one event: the leaf sees both values.
    let event = envelope(json!({"a.b": "x", "a": {"b": "y", "c": "z"}}));
    assert_eq!(outcome(json!({"detail": {"a": {"b": ["x"], "c": ["z"]}}}), event.clone()), Outcome::Matched);
    assert_eq!(outcome(json!({"detail": {"a.b": ["y"]}}), event), Outcome::Matched);
}

#[test]
fn an_event_without_dotted_names_is_borrowed() {
    let event = envelope(json!({"state": {"status": "running"}}));
    assert!(matches!(Event::new(&event).value, std::borrow::Cow::Borrowed(_)));
    let dotted = envelope(json!({"state.status": "running"}));
    assert!(matches!(Event::new(&dotted).value, std::borrow::Cow::Owned(_)));
}
