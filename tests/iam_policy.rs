//! docs/iam-policy.json grants exactly the AWS actions the engine can call: derived from the
//! source (every AWS call is classified by service and operation in src/aws/), plus the
//! iam:PassRole that CreateIntegration/UpdateIntegration imply by passing a CredentialsArn.

use std::collections::BTreeSet;

use serde_json::Value;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (service, Operation) for every AWS call site in src/aws/.
fn operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (file, service) in [
        ("apigateway", "apigateway"),
        ("eventbridge", "events"),
        ("iam", "iam"),
        ("lambda", "lambda"),
        ("sqs", "sqs"),
        ("sns", "sns"),
    ] {
        let source = std::fs::read_to_string(root().join(format!("src/aws/{file}.rs"))).expect("source");
        // Whitespace-free, so calls rustfmt splits over lines read the same.
        let text: String = source.chars().filter(|c| !c.is_whitespace()).collect();
        // `classify(SVC,"Op"` / `gone_ok(SVC,"Op"` at each call; `all_pages!(request,"Op")` for paged reads.
        for marker in ["classify(SVC,\"", "gone_ok(SVC,\""] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                ops.insert((service.to_string(), rest[..rest.find('"').expect("quote")].to_string()));
            }
        }
        for (i, _) in text.match_indices("all_pages!(client") {
            let call = &text[i..i + text[i..].find("\")").expect("end of all_pages!")];
            ops.insert((service.to_string(), call.rsplit(",\"").next().expect("op").to_string()));
        }
    }
    ops
}

/// The IAM action each operation needs.
fn action(service: &str, op: &str) -> String {
    if service != "apigateway" {
        return format!("{service}:{op}");
    }
    // API Gateway authorises HTTP verbs on resource paths.
    let verb = match op {
        o if o.starts_with("Get") => "GET",
        o if o.starts_with("Create") || o == "TagResource" => "POST",
        o if o.starts_with("Update") => "PATCH",
        o if o.starts_with("Delete") => "DELETE",
        other => panic!("no API Gateway verb known for {other}"),
    };
    format!("apigateway:{verb}")
}

fn granted(policy: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        match &statement["Action"] {
            Value::String(a) => {
                out.insert(a.clone());
            }
            Value::Array(actions) => out.extend(actions.iter().filter_map(Value::as_str).map(str::to_string)),
            other => panic!("bad Action {other}"),
        }
    }
    out
}

#[test]
fn the_policy_grants_exactly_what_the_engine_calls() {
    let ops = operations();
    assert!(ops.len() > 30, "derivation found too little: {ops:?}");
    assert!(ops.contains(&("apigateway".into(), "GetApis".into())));
    let mut needed: BTreeSet<String> = ops.iter().map(|(s, o)| action(s, o)).collect();
    needed.insert("iam:PassRole".into());
    let policy: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/iam-policy.json")).expect("policy"))
            .expect("json");
    let granted = granted(&policy);
    let missing: Vec<_> = needed.difference(&granted).collect();
    let unused: Vec<_> = granted.difference(&needed).collect();
    assert!(missing.is_empty(), "docs/iam-policy.json misses {missing:?}");
    assert!(unused.is_empty(), "docs/iam-policy.json grants actions the engine never calls: {unused:?}");
}

#[test]
fn the_policy_is_scoped() {
    let policy: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/iam-policy.json")).expect("policy"))
            .expect("json");
    for statement in policy["Statement"].as_array().expect("statements") {
        let actions = statement["Action"].to_string();
        assert!(!actions.contains("\"*\"") && !actions.contains(":*\""), "wildcard action in {statement}");
        // Roles are managed under our path only; other roles may only be passed to EventBridge
        // (a target's roleArn), never to anything else.
        let passes_to_events = statement["Condition"]["StringEquals"]["iam:PassedToService"] == "events.amazonaws.com";
        if actions.contains("iam:") && !passes_to_events {
            assert_eq!(
                statement["Resource"], "arn:aws:iam::*:role/webhook-bridge/*",
                "IAM beyond the operator's path: {statement}"
            );
        }
        if passes_to_events {
            assert_eq!(statement["Action"], "iam:PassRole", "only PassRole, for target roles: {statement}");
        }
        if actions.contains("events:PutRule") {
            assert_eq!(
                statement["Resource"],
                serde_json::json!(["arn:aws:events:*:*:rule/*/whb-*", "arn:aws:events:*:*:rule/whb-*"]),
                "rules beyond our prefix (on a custom bus, and on the default bus): {statement}"
            );
        }
        if actions.contains("events:DeleteEventBus") || actions.contains("iam:PassRole") {
            assert!(statement["Condition"].is_object(), "unconditioned {statement}");
        }
    }
}
