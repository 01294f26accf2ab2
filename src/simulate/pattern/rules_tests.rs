//! The pattern rules beyond the documented table: failure reasons, what `PutRule` rejects, edge
//! patterns, the choices made where AWS documents nothing, cidr, wildcards, ignore-case, and the
//! project's own examples.

use super::matching::{ends_with_ignore_case, equals_ignore_case, starts_with_ignore_case};
use super::parse::parse_wildcard;
use super::*;
use serde_json::{Value, json};

fn failure(pattern: Value, event: Value) -> (String, String) {
    match parse(&pattern).expect("pattern parses").matches(&event) {
        Outcome::Failed { field, reason } => (field, reason),
        Outcome::Matched => panic!("{pattern} matched {event}"),
    }
}

#[test]
fn reasons_name_the_value_and_the_rule() {
    let reason = |p: Value, e: Value| failure(p, e).1;
    assert_eq!(
        reason(json!({"detail-type": ["create"]}), json!({"detail-type": "refund"})),
        r#""refund" is not one of ["create"]"#
    );
    assert_eq!(reason(json!({"a": {"b": ["x"]}}), json!({})), "field is missing");
    assert_eq!(reason(json!({"n": [{"numeric": [">", 10]}]}), json!({"n": 4.5})), r#"4.5 is not in numeric [">", 10]"#);
    assert_eq!(
        reason(json!({"s": [{"prefix": "can"}]}), json!({"s": "refund"})),
        r#""refund" does not start with "can""#
    );
    assert_eq!(
        reason(json!({"s": [{"prefix": {"equals-ignore-case": "EventB"}}]}), json!({"s": "lambda"})),
        r#""lambda" does not start with "EventB" (ignoring case)"#
    );
    assert_eq!(
        reason(json!({"s": [{"anything-but": ["a"]}]}), json!({"s": "a"})),
        r#""a" is excluded by anything-but ["a"]"#
    );
    assert_eq!(
        reason(json!({"s": [{"exists": false}]}), json!({"s": 1})),
        "field exists; the pattern requires it to be absent"
    );
    assert_eq!(
        reason(json!({"s": ["a"]}), json!({"s": {"x": 1}})),
        "field is an object, not a value (nest the pattern to match inside it)"
    );
    assert_eq!(
        reason(json!({"s": ["a", {"prefix": "b"}]}), json!({"s": "c"})),
        r#""c" matches none of ["a", {"prefix": "b"}]"#
    );
    assert_eq!(reason(json!({"s": ["a"]}), json!({"s": ["b", "c"]})), r#"no element of ["b", "c"] matches ["a"]"#);
    assert_eq!(
        reason(json!({"n": [{"numeric": ["<", 1]}]}), json!({"n": "0"})),
        r#""0" is not a number (numeric ["<", 1] matches JSON numbers only)"#
    );
    assert_eq!(
        reason(json!({"ip": [{"cidr": "10.0.0.0/8"}]}), json!({"ip": "11.0.0.1"})),
        r#""11.0.0.1" is not an address in cidr "10.0.0.0/8""#
    );
    // $or: all alternatives failed; the first one's field and reason.
    let (field, reason) = failure(json!({"$or": [{"a": ["x"]}, {"b": ["y"]}]}), json!({"a": "z"}));
    assert_eq!(field, "a");
    assert_eq!(reason, r#"none of the 2 $or alternatives matched; the first failed on a: "z" is not one of ["x"]"#);
    // Arrays of objects: the first element's failure, said to be one of several.
    let (field, reason) = failure(json!({"items": {"sku": ["c"]}}), json!({"items": [{"sku": "a"}, {"sku": "b"}]}));
    assert_eq!(field, "items.sku");
    assert_eq!(reason, r#""a" is not one of ["c"] (no element of the 2-element array matched; the first is shown)"#);
    // Long values are cut.
    let long = "x".repeat(500);
    assert!(reason_len(json!({"s": ["a"]}), json!({"s": long})) < 200);
}

fn reason_len(pattern: Value, event: Value) -> usize {
    failure(pattern, event).1.chars().count()
}

/// What `PutRule` rejects (Event Ruler's rule compiler, and the limits the guide states).
#[test]
fn invalid_patterns_are_rejected_with_their_path() {
    let deep = (0..12).fold(json!(["x"]), |inner, _| json!({"a": inner}));
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!("source"), "", "must be a JSON object"),
        (json!(["a"]), "", "must be a JSON object"),
        (json!({}), "", "empty object"),
        (json!({"detail": {}}), "detail", "empty object"),
        (json!({"source": []}), "source", "empty array"),
        (json!({"source": "aws.ec2"}), "source", "must be an object or an array"),
        (json!({"source": 5}), "source", "must be an object or an array"),
        (json!({"source": [["a"]]}), "source[0]", "not arrays"),
        (json!({"source": [{"regex": "a.*"}]}), "source[0].regex", "unknown operator"),
        (json!({"source": [{"exactly": "a"}]}), "source[0].exactly", "unknown operator"),
        (json!({"source": [{}]}), "source[0]", "exactly one key"),
        (json!({"source": [{"prefix": "a", "suffix": "b"}]}), "source[0]", "exactly one key"),
        (json!({"source": [{"prefix": 5}]}), "source[0].prefix", "must be a string"),
        (json!({"source": [{"prefix": {"wildcard": "a*"}}]}), "source[0].prefix", "equals-ignore-case"),
        (
            json!({"source": [{"suffix": {"equals-ignore-case": 5}}]}),
            "source[0].suffix.equals-ignore-case",
            "must be a string",
        ),
        (json!({"source": [{"equals-ignore-case": ["a"]}]}), "source[0].equals-ignore-case", "must be a string"),
        (json!({"detail": {"n": [{"numeric": 5}]}}), "detail.n[0].numeric", "numeric must be"),
        (json!({"n": [{"numeric": [">"]}]}), "n[0].numeric", "numeric must be"),
        (json!({"n": [{"numeric": [">", 1, "<"]}]}), "n[0].numeric", "numeric must be"),
        (json!({"n": [{"numeric": ["!=", 1]}]}), "n[0].numeric[0]", "must be one of"),
        (json!({"n": [{"numeric": [">", "1"]}]}), "n[0].numeric[1]", "must be a number"),
        (json!({"n": [{"numeric": ["<", 10, ">", 5]}]}), "n[0].numeric", "lower bound"),
        (json!({"n": [{"numeric": ["=", 1, "<", 5]}]}), "n[0].numeric", "lower bound"),
        (json!({"n": [{"numeric": [">", 1, ">", 5]}]}), "n[0].numeric[2]", "\"<\" or \"<=\""),
        (json!({"n": [{"numeric": [">", 10, "<", 5]}]}), "n[0].numeric", "below the upper bound"),
        (json!({"n": [{"numeric": [">=", 5, "<=", 5]}]}), "n[0].numeric", "below the upper bound"),
        (json!({"n": [{"numeric": ["<", 5.1e9]}]}), "n[0].numeric[1]", "-5e9 to 5e9"),
        (json!({"n": [{"numeric": [">", -6e9, "<", 0]}]}), "n[0].numeric[1]", "-5e9 to 5e9"),
        (json!({"ip": [{"cidr": "10.0.0.0"}]}), "ip[0].cidr", "not a CIDR block"),
        (json!({"ip": [{"cidr": "10.0.0.0/33"}]}), "ip[0].cidr", "0 to 31"),
        (json!({"ip": [{"cidr": "10.0.0.1/32"}]}), "ip[0].cidr", "0 to 31"),
        (json!({"ip": [{"cidr": "2001:db8::1/128"}]}), "ip[0].cidr", "0 to 127"),
        (json!({"ip": [{"cidr": "10.0.0.0/x"}]}), "ip[0].cidr", "not a CIDR block"),
        (json!({"ip": [{"cidr": "10.0.0.0/-1"}]}), "ip[0].cidr", "not a CIDR block"),
        (json!({"ip": [{"cidr": "example.com/8"}]}), "ip[0].cidr", "not a CIDR block"),
        (json!({"ip": [{"cidr": "10.0.0.0/8/8"}]}), "ip[0].cidr", "not a CIDR block"),
        (json!({"f": [{"exists": "true"}]}), "f[0].exists", "true or false"),
        (json!({"f": [{"exists": null}]}), "f[0].exists", "true or false"),
        (json!({"f": [{"wildcard": "a**b"}]}), "f[0].wildcard", "consecutive wildcard"),
        (json!({"f": [{"wildcard": "a\\b"}]}), "f[0].wildcard", "backslash"),
        (json!({"f": [{"wildcard": "a\\"}]}), "f[0].wildcard", "backslash"),
        (json!({"f": [{"anything-but": []}]}), "f[0].anything-but", "empty"),
        (json!({"f": [{"anything-but": [null]}]}), "f[0].anything-but", "only strings or only numbers"),
        (json!({"f": [{"anything-but": ["a", 1]}]}), "f[0].anything-but", "only strings or only numbers"),
        (json!({"f": [{"anything-but": true}]}), "f[0].anything-but", "must be a string"),
        (json!({"f": [{"anything-but": 6e9}]}), "f[0].anything-but", "-5e9 to 5e9"),
        (json!({"f": [{"anything-but": {"exists": true}}]}), "f[0].anything-but.exists", "not \"exists\""),
        (json!({"f": [{"anything-but": {"prefix": ""}}]}), "f[0].anything-but.prefix", "must not be empty"),
        (json!({"f": [{"anything-but": {"prefix": 5}}]}), "f[0].anything-but.prefix", "string"),
        (json!({"f": [{"anything-but": {"suffix": []}}]}), "f[0].anything-but.suffix", "empty"),
        (json!({"f": [{"anything-but": {"wildcard": ["*a", "b**"]}}]}), "f[0].anything-but.wildcard", "consecutive"),
        (json!({"f": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}), "f[0].anything-but", "exactly one key"),
        (json!({"$or": {"a": ["x"]}}), "$or", "at least two"),
        (json!({"$or": [{"a": ["x"]}]}), "$or", "at least two"),
        (json!({"detail": {"$or": [{"a": ["x"]}, "b"]}}), "detail.$or[1]", "pattern object"),
        (json!({"$or": [{"a": ["x"]}, {}]}), "$or[1]", "empty object"),
        (json!({"$or": [{"numeric": [1]}, {"b": ["y"]}]}), "$or[0].numeric", "operator name"),
        (json!({"$or": [{"a": {"prefix": ["x"]}}, {"b": ["y"]}]}), "$or[0].a.prefix", "operator name"),
        (deep, "a.a.a.a.a.a.a.a.a.a.a", "nested too deeply"),
    ];
    let mut failures = Vec::new();
    for (pattern, path, message) in &cases {
        match parse(pattern) {
            Ok(_) => failures.push(format!("{pattern}: parsed")),
            Err(e) if e.path != *path || !e.message.contains(message) => {
                failures.push(format!("{pattern}: want {path:?} / {message:?}, got {e:?}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_edge_patterns_parse() {
    for pattern in [
        // The project's own example (examples/jwt.yaml): every string starts with "".
        json!({"detail-type": [{"prefix": ""}]}),
        // Ten levels, as admission allows.
        (0..10).fold(json!(["x"]), |inner, _| json!({"a": inner})),
        json!({"n": [{"numeric": ["=", -5e9]}, {"numeric": ["<=", 5e9]}]}),
        json!({"ip": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]}),
        json!({"f": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}),
        json!({"f": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}),
        json!({"f": [{"wildcard": "a\\\\b\\*"}]}),
        // Field names that are operator names, outside $or, are just field names.
        json!({"prefix": ["x"], "numeric": [1]}),
        // Exact numbers outside numeric matching's range are fine (account ids).
        json!({"account": [123456789012u64]}),
    ] {
        parse(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
    }
}

/// The choices made where AWS documents nothing (see the module's documentation).
#[test]
fn undocumented_behaviour_is_pinned() {
    let matches = |p: Value, e: Value| parse(&p).expect("pattern parses").matches(&e) == Outcome::Matched;
    // anything-but excludes only what it names, whatever the value's type; never a missing field.
    assert!(matches(json!({"f": [{"anything-but": "a"}]}), json!({"f": 5})));
    assert!(matches(json!({"f": [{"anything-but": [1, 2]}]}), json!({"f": "1"})));
    assert!(matches(json!({"f": [{"anything-but": {"prefix": "a"}}]}), json!({"f": null})));
    assert!(!matches(json!({"f": [{"anything-but": "a"}]}), json!({})));
    // A $or branch and its siblings reaching into one array may be met by different elements
    // (Event Ruler, which expands $or first, would want one element for both).
    assert!(matches(
        json!({"items": {"a": [1]}, "$or": [{"items": {"b": [2]}}, {"other": [0]}]}),
        json!({"items": [{"a": 1}, {"b": 2}]})
    ));
    // Within one pattern object, one element must meet every field.
    assert!(!matches(json!({"items": {"a": [1], "b": [2]}}), json!({"items": [{"a": 1}, {"b": 2}]})));
    // An object or an array of objects is no leaf value: exists false matches, exists true not.
    assert!(matches(json!({"f": [{"exists": false}]}), json!({"f": [{"x": 1}]})));
    assert!(!matches(json!({"f": [{"exists": true}]}), json!({"f": [{"x": 1}]})));
    // exists false in an array of objects: one element without the field suffices.
    assert!(matches(json!({"items": {"coupon": [{"exists": false}]}}), json!({"items": [{"coupon": 1}, {"sku": 2}]})));
    // A nested pattern under a scalar: its fields are missing.
    assert!(matches(json!({"detail": {"x": [{"exists": false}]}}), json!({"detail": "text"})));
    assert!(!matches(json!({"detail": {"x": ["a"]}}), json!({"detail": "text"})));
}

#[test]
fn cidr_follows_event_ruler() {
    let matches = |cidr: &str, ip: &str| {
        parse(&json!({"ip": [{"cidr": cidr}]})).expect("cidr parses").matches(&json!({"ip": ip})) == Outcome::Matched
    };
    assert!(matches("10.0.0.0/31", "10.0.0.1") && !matches("10.0.0.0/31", "10.0.0.2"));
    assert!(matches("0.0.0.0/0", "255.255.255.255"));
    // The range runs from the address as written (not the block's start) to the block's end.
    assert!(matches("10.0.0.5/24", "10.0.0.255") && !matches("10.0.0.5/24", "10.0.0.4"));
    assert!(matches("2001:db8::/127", "2001:db8::1") && !matches("2001:db8::/127", "2001:db8::2"));
}

#[test]
fn wildcards_match_by_hand() {
    let w = |p: &str, s: &str| parse_wildcard(p).expect("wildcard parses").matches(s);
    assert!(w("*", "") && w("*", "anything"));
    assert!(w("a*b*c", "abc") && w("a*b*c", "aXbYbZc") && !w("a*b*c", "aXcYb"));
    assert!(w("*.png", ".png") && !w("*.png", "png"));
    assert!(w("o-1*", "o-1") && w("o-1*", "o-12") && !w("o-1*", "o-2"));
    assert!(w("ä*ö", "äxyzö") && !w("ä*ö", "ö"));
    assert!(w("a\\\\*", "a\\zzz") && !w("a\\\\*", "azzz"));
    assert!(w("*a*", "ba") && w("*ab*ab*", "abab") && !w("*ab*ab*", "aba"));
}

#[test]
fn ignore_case_helpers_compare_unicode() {
    assert!(equals_ignore_case("ÉVÉNEMENT", "événement"));
    assert!(starts_with_ignore_case("EventBridge", "eventb") && !starts_with_ignore_case("Ev", "eventb"));
    assert!(ends_with_ignore_case("EventBRIDGE", "tbridge") && !ends_with_ignore_case("dge", "tbridge"));
    assert!(ends_with_ignore_case("STRASSE Ǆ", "strasse ǆ"));
}

#[test]
fn the_examples_patterns_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("example is readable");
        let doc: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (i, rule) in doc["spec"]["rules"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            parse(&rule["pattern"])
                .unwrap_or_else(|e| panic!("{} rule {i}: {}: {}", path.display(), e.path, e.message));
            seen += 1;
        }
    }
    assert!(seen >= 5, "only {seen} patterns found under {}", dir.display());
}

/// The example bridges' rules against events their routes would produce.
#[test]
fn the_examples_route_refunds_and_orders() {
    let refunds = json!({"$or": [
        {"source": ["stripe"], "detail-type": ["charge.refunded"]},
        {"source": ["adyen"], "detail-type": ["REFUND"]}
    ]});
    let refunds = parse(&refunds).expect("multi-route refunds pattern parses");
    assert_eq!(refunds.matches(&json!({"source": "adyen", "detail-type": "REFUND", "detail": {}})), Outcome::Matched);
    let Outcome::Failed { field, .. } =
        refunds.matches(&json!({"source": "stripe", "detail-type": "charge.succeeded"}))
    else {
        panic!("a stripe charge is not a refund");
    };
    assert_eq!(field, "detail-type");
    let create =
        parse(&json!({"source": ["source.events"], "detail-type": ["create"]})).expect("orders pattern parses");
    assert_eq!(create.matches(&json!({"source": "source.events", "detail-type": "create"})), Outcome::Matched);
}

#[test]
fn parsing_is_deterministic() {
    let p = json!({"detail": {"amount": [{"numeric": [">", 0, "<=", 100]}], "$or": [{"a": ["x"]}, {"b": [{"exists": false}]}]}});
    assert_eq!(parse(&p), parse(&p.clone()));
}
