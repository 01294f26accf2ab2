//! EventBridge pattern matching, offline (`webhook-bridge simulate`/`serve`/`test`): patterns
//! matched per second, 100 rules against 1 KB events. Prints a table.
//!
//!   cargo bench --bench patterns

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use webhook_bridge::simulate::pattern::{self, Event, Outcome, Pattern};

/// A ~1 KB event: the envelope and a detail with nested objects, arrays and numbers.
fn event(i: usize) -> Value {
    let items: Vec<Value> = (0..8)
        .map(|k| json!({"sku": format!("sku-{k}"), "qty": k + 1, "price": 9.5 * k as f64, "tags": ["a", "b"]}))
        .collect();
    json!({
        "version": "0", "id": format!("00000000-0000-0000-0000-{i:012}"), "detail-type": (["create", "cancel", "refund"][i % 3]),
        "source": "source.events", "account": "123456789012", "time": "2026-11-27T10:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"order_id": format!("o-{i}"), "customer": {"id": format!("c-{}", i % 97), "tier": (["gold", "silver"][i % 2]),
                    "ip": format!("10.0.{}.{}", i % 255, i % 7)}, "amount": (i % 500) as f64 + 0.5,
                   "currency": "EUR", "items": items, "note": "x".repeat(200)}
    })
}

/// 100 rules of the shapes people write: exact, prefix, numeric, anything-but, exists, `$or`,
/// nested, cidr, wildcard.
fn rules() -> Vec<Pattern> {
    (0..100)
        .map(|i| {
            let p = match i % 10 {
                0 => json!({"source": ["source.events"], "detail-type": ["create"]}),
                1 => json!({"detail-type": [{"prefix": "can"}]}),
                2 => json!({"detail": {"amount": [{"numeric": [">", i * 3, "<=", i * 3 + 100]}]}}),
                3 => json!({"detail": {"customer": {"tier": [{"anything-but": ["silver"]}]}}}),
                4 => json!({"detail": {"coupon": [{"exists": false}]}}),
                5 => json!({"$or": [{"detail-type": ["refund"]}, {"detail": {"currency": ["USD"]}}]}),
                6 => json!({"detail": {"items": {"sku": [format!("sku-{}", i % 8)]}}}),
                7 => json!({"detail": {"customer": {"ip": [{"cidr": "10.0.0.0/16"}]}}}),
                8 => json!({"detail": {"order_id": [{"wildcard": format!("o-{}*", i % 10)}]}}),
                _ => json!({"source": ["other"], "detail": {"customer": {"id": [format!("c-{i}")]}}}),
            };
            pattern::parse(&p).unwrap_or_else(|e| panic!("rule {i}: {}: {}", e.path, e.message))
        })
        .collect()
}

fn main() {
    let rules = rules();
    let events: Vec<Value> = (0..1000).map(event).collect();
    let size = serde_json::to_string(&events[0]).map(|s| s.len()).unwrap_or(0);
    // Warm up, then measure for at least 2 s.
    let mut matched = 0usize;
    for e in events.iter().take(100) {
        let e = Event::new(e);
        matched += rules.iter().filter(|r| r.matches_event(&e) == Outcome::Matched).count();
    }
    let (mut evaluations, start) = (0u64, Instant::now());
    while start.elapsed() < Duration::from_secs(2) {
        for e in &events {
            // As `simulate` does: dotted names split once per event, then every rule.
            let e = Event::new(e);
            for r in &rules {
                if r.matches_event(&e) == Outcome::Matched {
                    matched += 1;
                }
                evaluations += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("| rules | event size | pattern evaluations/s | events/s (all 100 rules) | matched (sanity) |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {size} B | {:.0} | {:.0} | {matched} |",
        rules.len(),
        evaluations as f64 / secs,
        evaluations as f64 / secs / rules.len() as f64
    );
}
