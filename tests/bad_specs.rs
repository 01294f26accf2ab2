//! A table of bad specs. Each names the field and the rule it breaks, exactly; none reaches AWS
//! with a write. Admission rules (schema + CEL, as the apiserver and the CLI apply them) and the
//! engine's own checks (which need the account and region) are both covered.

mod common;

use common::mocks;
use serde_json::{Value, json};
use webhook_bridge::admission;
use webhook_bridge::error::{Error, FieldError};

fn base() -> Value {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("example");
    serde_saphyr::from_str(&yaml).expect("yaml")
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    match v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}")) {
        Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        other => panic!("{parent} is {other}"),
    }
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    v.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent").remove(key);
}

fn route(name: &str, method: &str, path: &str) -> Value {
    json!({"name": name, "method": method, "path": path,
           "event": {"source": "s", "detailType": "$request.body.type"}})
}

type Patch = fn(&mut Value);

/// (case, patch, field, message fragment). The fragment is part of the rule the field breaks.
const CASES: &[(&str, Patch, &str, &str)] = &[
    // --- admission: OpenAPI schema ---
    ("no routes", |v| set(v, "/spec/routes", json!([])), "spec", "spec.routes: at least one route is required"),
    ("routes missing", |v| remove(v, "/spec/routes"), "spec", "spec.routes: at least one route is required"),
    ("unknown method", |v| set(v, "/spec/routes/0/method", json!("FETCH")), "spec.routes[0].method", "is not one of"),
    (
        "path without slash",
        |v| set(v, "/spec/routes/0/path", json!("api/webhook")),
        "spec.routes[0].path",
        "does not match",
    ),
    (
        "greedy param not last",
        |v| set(v, "/spec/routes/0/path", json!("/{proxy+}/x")),
        "spec.routes[0].path",
        "does not match",
    ),
    (
        "space in path",
        |v| set(v, "/spec/routes/0/path", json!("/api/web hook")),
        "spec.routes[0].path",
        "does not match",
    ),
    (
        "route name not a DNS label",
        |v| set(v, "/spec/routes/0/name", json!("Web_hook")),
        "spec.routes[0].name",
        "does not match",
    ),
    (
        "route name too long",
        |v| set(v, "/spec/routes/0/name", json!("a".repeat(41))),
        "spec.routes[0].name",
        "is longer than 40 characters",
    ),
    (
        "bad selection expression",
        |v| set(v, "/spec/routes/0/event/source", json!("$request.bodyx")),
        "spec.routes[0].event.source",
        "does not match",
    ),
    (
        "unknown expression root",
        |v| set(v, "/spec/routes/0/event/detailType", json!("$foo.bar")),
        "spec.routes[0].event.detailType",
        "does not match",
    ),
    (
        "source missing",
        |v| remove(v, "/spec/routes/0/event/source"),
        "spec.routes[0].event",
        "\"source\" is a required property",
    ),
    ("region malformed", |v| set(v, "/spec/region", json!("US-EAST-1")), "spec.region", "does not match"),
    ("stage name with space", |v| set(v, "/spec/api/stage", json!("dev stage")), "spec.api.stage", "does not match"),
    (
        "negative burst",
        |v| set(v, "/spec/api/throttling", json!({"burstLimit": -1, "rateLimit": 10})),
        "spec.api.throttling.burstLimit",
        "is less than the minimum of 0",
    ),
    (
        "cors maxAge too big",
        |v| set(v, "/spec/api/cors", json!({"maxAge": 100000})),
        "spec.api.cors.maxAge",
        "is greater than the maximum of 86400",
    ),
    ("bus name charset", |v| set(v, "/spec/eventBus/name", json!("bad name!")), "spec.eventBus.name", "does not match"),
    (
        "bus ARN of another service",
        |v| set(v, "/spec/eventBus", json!({"existingArn": "arn:aws:sqs:us-east-1:123456789012:q"})),
        "spec.eventBus.existingArn",
        "does not match",
    ),
    (
        "role ARN malformed",
        |v| set(v, "/spec/role", json!({"existingArn": "role/webhook"})),
        "spec.role.existingArn",
        "does not match",
    ),
    (
        "target not an ARN",
        |v| set(v, "/spec/rules/0/targets/0/arn", json!("createOrder")),
        "spec.rules[0].targets[0].arn",
        "does not match",
    ),
    (
        "six targets",
        |v| set(v, "/spec/rules/0/targets", json!(vec![json!({"arn": "arn:aws:sqs:us-east-1:123456789012:q"}); 6])),
        "spec.rules[0].targets",
        "has more than 5 items",
    ),
    (
        "retry attempts over 185",
        |v| set(v, "/spec/rules/0/targets/0/retryPolicy", json!({"maximumRetryAttempts": 200})),
        "spec.rules[0].targets[0].retryPolicy.maximumRetryAttempts",
        "is greater than the maximum of 185",
    ),
    (
        "unknown deletion policy",
        |v| set(v, "/spec/deletionPolicy", json!("Keep")),
        "spec.deletionPolicy",
        "is not one of",
    ),
    (
        "301 routes",
        |v| {
            set(
                v,
                "/spec/routes",
                Value::Array((0..301).map(|i| route(&format!("r{i}"), "POST", &format!("/r{i}"))).collect()),
            )
        },
        "spec.routes",
        "has more than 300 items",
    ),
    (
        "pattern is a string",
        |v| set(v, "/spec/rules/0/pattern", json!("source = x")),
        "spec.rules[0].pattern",
        "is not of type \"object\"",
    ),
    (
        "pattern is empty",
        |v| set(v, "/spec/rules/0/pattern", json!({})),
        "spec.rules[0].pattern",
        "has less than 1 property",
    ),
    (
        "unknown authorization type",
        |v| set(v, "/spec/routes/0/authorization", json!({"type": "OAUTH"})),
        "spec.routes[0].authorization.type",
        "is not one of",
    ),
    (
        "too many tags",
        |v| set(v, "/spec/tags", Value::Object((0..41).map(|i| (format!("k{i}"), json!("v"))).collect())),
        "spec.tags",
        "has more than 40 properties",
    ),
    (
        "detail mapping over 512 characters",
        |v| set(v, "/spec/routes/0/event/detail", json!(format!("$request.body.{}", "a".repeat(500)))),
        "spec.routes[0].event.detail",
        "is longer than 512 characters",
    ),
    (
        "tag value with a character AWS refuses",
        |v| set(v, "/spec/tags", json!({"team": "a*b"})),
        "spec.tags.team",
        "does not match",
    ),
    // --- admission: CEL rules ---
    (
        // PutEvents' DetailType limit, in the CRD's CEL since the apiserver let it through.
        "constant detailType too long",
        |v| set(v, "/spec/routes/0/event/detailType", json!("d".repeat(129))),
        "spec.routes[0].event.detailType",
        "a constant DetailType is at most 128 characters",
    ),
    (
        "tag key with a character AWS refuses",
        |v| set(v, "/spec/tags", json!({"team#1": "payments"})),
        "spec.tags",
        "keys are 1 to 128 letters, spaces, numbers or _.:/=+-@",
    ),
    (
        "bus name and ARN",
        |v| set(v, "/spec/eventBus/existingArn", json!("arn:aws:events:us-east-1:123456789012:event-bus/x")),
        "spec.eventBus",
        "set either name",
    ),
    ("bus named default", |v| set(v, "/spec/eventBus/name", json!("default")), "spec.eventBus.name", "reserved by AWS"),
    (
        "bus named aws.*",
        |v| set(v, "/spec/eventBus/name", json!("aws.partner")),
        "spec.eventBus.name",
        "reserved by AWS",
    ),
    (
        "role ARN with boundary",
        |v| {
            set(
                v,
                "/spec/role",
                json!({"existingArn": "arn:aws:iam::123456789012:role/r", "permissionsBoundaryArn": "arn:aws:iam::123456789012:policy/b"}),
            )
        },
        "spec.role",
        "permissionsBoundaryArn applies only to the managed role",
    ),
    (
        "JWT without issuer",
        |v| set(v, "/spec/routes/0/authorization", json!({"type": "JWT", "audiences": ["a"]})),
        "spec.routes[0].authorization",
        "type JWT requires issuer",
    ),
    (
        "issuer without JWT",
        |v| set(v, "/spec/routes/0/authorization", json!({"type": "NONE", "issuer": "https://id.example.com"})),
        "spec.routes[0].authorization",
        "only allowed with type JWT",
    ),
    (
        "duplicate route key",
        |v| v["spec"]["routes"].as_array_mut().expect("routes").push(route("again", "POST", "/api/webhook")),
        "spec.routes[1]",
        "Duplicate value",
    ),
    (
        "duplicate route names",
        |v| v["spec"]["routes"].as_array_mut().expect("routes").push(route("webhook", "PUT", "/other")),
        "spec.routes",
        "route names must be unique",
    ),
    (
        "duplicate rule names",
        |v| {
            let r = v["spec"]["rules"][0].clone();
            v["spec"]["rules"].as_array_mut().expect("rules").push(r);
        },
        "spec.rules[2]",
        "Duplicate value",
    ),
    (
        "input and inputTransformer",
        |v| {
            set(v, "/spec/rules/0/targets/0/input", json!("{}"));
            set(v, "/spec/rules/0/targets/0/inputTransformer", json!({"inputTemplate": "<id>"}));
        },
        "spec.rules[0].targets[0]",
        "at most one of input, inputPath and inputTransformer",
    ),
    (
        "input and inputPath (2)",
        |v| {
            set(v, "/spec/rules/0/targets/0/input", json!("{}"));
            v["spec"]["rules"][0]["targets"][0]["inputPath"] = json!("$.detail");
        },
        "spec.rules[0].targets[0]",
        "at most one of input",
    ),
    (
        "duplicate target ids",
        |v| {
            set(
                v,
                "/spec/rules/0/targets",
                json!([{"id": "t", "arn": "arn:aws:sqs:us-east-1:123456789012:a"}, {"id": "t", "arn": "arn:aws:sqs:us-east-1:123456789012:b"}]),
            )
        },
        "spec.rules[0]",
        "ids must be unique",
    ),
    (
        "aws: tag",
        |v| set(v, "/spec/tags", json!({"aws:cloudformation": "x"})),
        "spec.tags",
        "must not start with 'aws:'",
    ),
    (
        "ownership tag",
        |v| set(v, "/spec/tags", json!({"webhookbridge.io/owner": "x"})),
        "spec.tags",
        "must not start with 'aws:' or 'webhookbridge.io/'",
    ),
    // Issue #19: IAM tag keys are case-insensitive, so the reserved keys are in any case.
    (
        "ownership tag in another case",
        |v| set(v, "/spec/tags", json!({"WebhookBridge.io/owner": "x"})),
        "spec.tags",
        "in any case",
    ),
    (
        "aws: tag in another case",
        |v| set(v, "/spec/tags", json!({"AWS:cloudformation": "x"})),
        "spec.tags",
        "in any case",
    ),
];

/// Checks only the engine can make: admission accepts these, the engine refuses them.
const ENGINE_CASES: &[(&str, Patch, &str, &str)] = &[
    (
        "undeclared path parameter",
        |v| set(v, "/spec/routes/0/event/detailType", json!("$request.path.kind")),
        "spec.routes[0].event.detailType",
        "does not declare",
    ),
    (
        "constant detail not an object",
        |v| set(v, "/spec/routes/0/event/detail", json!("hello")),
        "spec.routes[0].event.detail",
        "must be a JSON object",
    ),
    (
        "constant time not RFC 3339",
        |v| set(v, "/spec/routes/0/event/time", json!("yesterday")),
        "spec.routes[0].event.time",
        "must be RFC 3339",
    ),
    (
        "bare pattern value",
        |v| set(v, "/spec/rules/0/pattern", json!({"source": "source.events"})),
        "spec.rules[0].pattern.source",
        "a bare value is not allowed",
    ),
    (
        "empty pattern array",
        |v| set(v, "/spec/rules/0/pattern", json!({"source": []})),
        "spec.rules[0].pattern.source",
        "must not be an empty array",
    ),
    (
        "unknown pattern operator",
        |v| set(v, "/spec/rules/0/pattern", json!({"$and": [{"a": ["b"]}]})),
        "spec.rules[0].pattern.$and",
        "only $or is allowed",
    ),
    (
        // AWS's answer to PutRule, recorded by LocalStack (github:localstack/localstack,
        // tests/aws/services/events/test_events_patterns.snapshot.json, content_wildcard_complex_EXC).
        "wildcards too complex",
        |v| set(v, "/spec/rules/0/pattern", json!({"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]})),
        "spec.rules[0].pattern",
        "Rule is too complex - try using fewer wildcard characters",
    ),
    (
        // eb-quota.html "Event pattern size": 2048 characters.
        "pattern over 2048 characters",
        |v| set(v, "/spec/rules/0/pattern", json!({"source": ["s".repeat(2040)]})),
        "spec.rules[0].pattern",
        "event pattern size quota is 2048",
    ),
    (
        // eb-quota.html "Rules containing wildcards": 30 per event bus.
        "31 rules with wildcards",
        |v| {
            let rule = v["spec"]["rules"][0].clone();
            let rules: Vec<Value> = (0..31)
                .map(|i| {
                    let mut r = rule.clone();
                    r["name"] = json!(format!("w{i}"));
                    r["pattern"] = json!({"source": [{"wildcard": format!("s{i}*")}]});
                    r
                })
                .collect();
            set(v, "/spec/rules", Value::Array(rules));
        },
        "spec.rules",
        "31 rules use wildcard patterns; EventBridge allows at most 30 per event bus",
    ),
    (
        "lambda in another region",
        |v| set(v, "/spec/rules/0/targets/0/arn", json!("arn:aws:lambda:eu-west-1:123456789012:function:f")),
        "spec.rules[0].targets[0].arn",
        "must be in the bridge's region us-east-1",
    ),
    (
        "target in another partition",
        |v| set(v, "/spec/rules/0/targets/0/arn", json!("arn:aws-cn:sqs:cn-north-1:123456789012:q")),
        "spec.rules[0].targets[0].arn",
        "partition must be \"aws\"",
    ),
    (
        "existing bus in another region",
        |v| set(v, "/spec/eventBus", json!({"existingArn": "arn:aws:events:eu-west-1:123456789012:event-bus/shared"})),
        "spec.eventBus.existingArn",
        "region us-east-1",
    ),
    (
        "existing bus in another account",
        |v| set(v, "/spec/eventBus", json!({"existingArn": "arn:aws:events:us-east-1:999999999999:event-bus/shared"})),
        "spec.eventBus.existingArn",
        "must be in account 123456789012",
    ),
    (
        "same target twice",
        |v| {
            let t = v["spec"]["rules"][0]["targets"][0].clone();
            v["spec"]["rules"][0]["targets"].as_array_mut().expect("targets").push(t);
        },
        "spec.rules[0].targets[1].arn",
        "appears twice",
    ),
    (
        "step functions target without roleArn",
        |v| set(v, "/spec/rules/0/targets/0/arn", json!("arn:aws:states:us-east-1:123456789012:stateMachine:m")),
        "spec.rules[0].targets[0].roleArn",
        "required for a states target",
    ),
    (
        "bus in another account without roleArn",
        |v| set(v, "/spec/rules/0/targets/0/arn", json!("arn:aws:events:us-east-1:999999999999:event-bus/central")),
        "spec.rules[0].targets[0].roleArn",
        "required for a target event bus in another account or region",
    ),
    (
        "lambda target with roleArn",
        |v| set(v, "/spec/rules/0/targets/0/roleArn", json!("arn:aws:iam::123456789012:role/r")),
        "spec.rules[0].targets[0].roleArn",
        "not allowed for a lambda target",
    ),
    (
        "fifo queue without message group",
        |v| set(v, "/spec/rules/0/targets/0/arn", json!("arn:aws:sqs:us-east-1:123456789012:orders.fifo")),
        "spec.rules[0].targets[0].sqsParameters.messageGroupId",
        "required for a FIFO queue target",
    ),
    (
        "fifo dead-letter queue",
        |v| set(v, "/spec/rules/0/targets/0/deadLetterArn", json!("arn:aws:sqs:us-east-1:123456789012:dlq.fifo")),
        "spec.rules[0].targets[0].deadLetterArn",
        "must be a standard SQS queue",
    ),
    (
        "target input not JSON",
        |v| set(v, "/spec/rules/0/targets/0/input", json!("{not json")),
        "spec.rules[0].targets[0].input",
        "must be valid JSON",
    ),
    (
        "eleven JWT authorizers",
        |v| {
            let routes: Vec<Value> = (0..11)
                .map(|i| {
                    let mut r = route(&format!("r{i}"), "POST", &format!("/r{i}"));
                    r["authorization"] =
                        json!({"type": "JWT", "issuer": format!("https://issuer{i}.example.com"), "audiences": ["a"]});
                    r
                })
                .collect();
            set(v, "/spec/routes", Value::Array(routes));
        },
        "spec.routes",
        "at most 10",
    ),
];

fn has(errors: &[FieldError], field: &str, fragment: &str) -> bool {
    errors.iter().any(|e| e.field == field && e.message.contains(fragment))
}

#[test]
fn the_table_is_large_enough() {
    assert!(CASES.len() + ENGINE_CASES.len() >= 30);
}

#[test]
fn admission_rejects_each_bad_spec_naming_the_field_and_rule() {
    let mut failures = Vec::new();
    for (name, patch, field, fragment) in CASES {
        let mut v = base();
        patch(&mut v);
        match admission::admit(&v) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(errors) if has(&errors, field, fragment) => {}
            Err(errors) => failures.push(format!("{name}: expected {field}: ...{fragment}..., got {errors:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_engine_rejects_every_bad_spec_with_zero_aws_writes() {
    let mut failures = Vec::new();
    for (name, patch, field, fragment) in CASES.iter().chain(ENGINE_CASES) {
        let mut v = base();
        patch(&mut v);
        // Engine-only cases pass admission; admission cases the apiserver would have stopped are
        // still refused by the engine when they parse (e.g. from a CRD installed without rules).
        let bridge = match serde_json::from_value(v.clone()) {
            Ok(b) => b,
            Err(_) => continue, // not representable: only admission can see it (covered above)
        };
        if ENGINE_CASES.iter().any(|c| c.0 == *name) && admission::admit(&v).is_err() {
            failures
                .push(format!("{name}: engine case unexpectedly failed admission: {:?}", admission::admit(&v).err()));
        }
        let engine = mocks::engine(&mocks::Mocks::default());
        match engine.reconcile(&bridge).await {
            Err(Error::InvalidSpec(errors)) if has(&errors, field, fragment) => {}
            other => failures.push(format!("{name}: expected InvalidSpec {field}: ...{fragment}..., got {other:?}")),
        }
        if engine.aws.counter.writes() != 0 {
            failures.push(format!("{name}: {} AWS writes", engine.aws.counter.writes()));
        }
        // Admission failures are found before any AWS call; engine checks need only STS.
        let expected_reads = if CASES.iter().any(|c| c.0 == *name) { 0 } else { 1 };
        if engine.aws.counter.reads() != expected_reads {
            failures.push(format!("{name}: {} AWS reads, expected {expected_reads}", engine.aws.counter.reads()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cli_reports_every_broken_rule_with_exit_code_3() {
    let dir = common::TempDir::new("whb-bad");
    let mut v = base();
    set(&mut v, "/spec/routes/0/path", json!("no-slash"));
    set(&mut v, "/spec/region", json!("Mars"));
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, serde_json::to_string(&v).expect("json")).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .args(["plan", "-f"])
        .arg(&file)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // never reached
        .output()
        .expect("run cli");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("spec.routes[0].path:"), "{stderr}");
    assert!(stderr.contains("spec.region:"), "{stderr}");
}

/// The same words the apiserver uses for a rule that our copy (jsonschema, CEL) words its own way.
fn apiserver_words(field: &str, fragment: &str) -> (String, String) {
    let number = |s: &str| s.split(|c: char| !c.is_ascii_digit()).find(|n| !n.is_empty()).unwrap_or("").to_string();
    if let Some(prop) = fragment.strip_suffix("\" is a required property").and_then(|f| f.strip_prefix('"')) {
        return (format!("{field}.{prop}"), "Required value".into());
    }
    let words = if fragment == "does not match" {
        "should match".to_string()
    } else if fragment.starts_with("is longer than") {
        format!("may not be longer than {}", number(fragment))
    } else if fragment == "is not one of" {
        "Unsupported value".into()
    } else if fragment.starts_with("has more than") {
        format!("must have at most {}", number(fragment))
    } else if fragment.contains("has less than 1 item") {
        "should have at least 1 items".into()
    } else if fragment.contains("has less than 1 property") {
        "should have at least 1 properties".into()
    } else if fragment.starts_with("is less than the minimum of") {
        format!("should be greater than or equal to {}", number(fragment))
    } else if fragment.starts_with("is greater than the maximum of") {
        format!("should be less than or equal to {}", number(fragment))
    } else if fragment.starts_with("is not of type") {
        "must be of type object".into()
    } else {
        fragment.to_string() // CEL rules and Duplicate value: our message is the apiserver's
    };
    (field.to_string(), words)
}

#[tokio::test]
async fn the_real_apiserver_refuses_each_admission_case_naming_the_field_and_rule() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("bad-specs").await;
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        cluster.client().await,
        &ns,
        &kube::api::ApiResource::erase::<webhook_bridge::api::WebhookBridge>(&()),
    );
    let mut failures = Vec::new();
    for (i, (name, patch, field, fragment)) in CASES.iter().enumerate() {
        let mut v = base();
        patch(&mut v);
        v["metadata"] = json!({"name": format!("bad-{i}"), "namespace": ns});
        let object: kube::api::DynamicObject = serde_json::from_value(v).expect("object");
        let (field, words) = apiserver_words(field, fragment);
        match api.create(&kube::api::PostParams { dry_run: true, ..Default::default() }, &object).await {
            Ok(_) => failures.push(format!("{name}: the apiserver accepted it")),
            Err(kube::Error::Api(e))
                if e.code == 422 && e.message.contains(&format!("{field}: ")) && e.message.contains(&words) => {}
            Err(e) => failures.push(format!("{name}: expected 422 naming {field}: ...{words}..., got {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- webhook sources (spec.webhookSources, on a gateway's Custom Event Bus) ----

/// examples/webhook-sources/hooks.yaml: a GitHub source ([0]) and a Stripe source ([1]).
fn webhook_base() -> Value {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhook-sources/hooks.yaml"))
        .expect("example");
    serde_saphyr::from_str(&yaml).expect("yaml")
}

/// Source [0] becomes a Custom HMAC source with this `auth.hmac`.
fn custom_hmac(v: &mut Value, hmac: Value) {
    set(
        v,
        "/spec/webhookSources/0",
        json!({"name": "custom", "provider": "Custom", "secretRef": {"name": "s"}, "auth": {"hmac": hmac}}),
    );
}

fn hmac_fields(extra: Value) -> Value {
    let mut h =
        json!({"algorithm": "Sha256", "encoding": "Hex", "signatureHeader": "X-Signature", "signedMessage": "Body"});
    for (k, val) in extra.as_object().expect("object") {
        h[k] = val.clone();
    }
    h
}

/// Refused at admission (schema or CEL): (case, patch, field, message fragment).
const WEBHOOK_CASES: &[(&str, Patch, &str, &str)] = &[
    (
        "Slack cannot be expressed",
        |v| set(v, "/spec/webhookSources/0/provider", json!("Slack")),
        "spec.webhookSources[0]",
        "provider Slack cannot be verified by EventBridge: Slack signs \"v0:<timestamp>:<body>\"",
    ),
    (
        "Twilio cannot be expressed",
        |v| set(v, "/spec/webhookSources/0/provider", json!("Twilio")),
        "spec.webhookSources[0]",
        "provider Twilio cannot be verified by EventBridge: Twilio signs the full request URL",
    ),
    (
        "preset with auth",
        |v| set(v, "/spec/webhookSources/0/auth", json!({"token": {"header": "X-Token"}})),
        "spec.webhookSources[0]",
        "auth is set exactly when provider is Custom",
    ),
    (
        "tolerance on a BODY preset",
        |v| set(v, "/spec/webhookSources/0/timestampToleranceSeconds", json!(60)),
        "spec.webhookSources[0]",
        "timestampToleranceSeconds only applies to a scheme that signs a timestamp",
    ),
    (
        "tolerance above 900",
        |v| set(v, "/spec/webhookSources/1/timestampToleranceSeconds", json!(901)),
        "spec.webhookSources[1].timestampToleranceSeconds",
        "is greater than the maximum of 900",
    ),
    (
        "timestamp header with BODY",
        |v| custom_hmac(v, hmac_fields(json!({"timestampHeader": "X-Timestamp"}))),
        "spec.webhookSources[0].auth.hmac",
        "not allowed with signedMessage Body, because BODY does not sign the timestamp",
    ),
    (
        "TIMESTAMP_DOT_BODY without timestamp header",
        |v| custom_hmac(v, hmac_fields(json!({"signedMessage": "TimestampDotBody"}))),
        "spec.webhookSources[0].auth.hmac",
        "timestampHeader: required with signedMessage TimestampDotBody",
    ),
    (
        "message id composition without message id header",
        |v| {
            custom_hmac(
                v,
                hmac_fields(json!({"signedMessage": "MessageIdDotTimestampDotBody", "timestampHeader": "X-Timestamp"})),
            )
        },
        "spec.webhookSources[0].auth.hmac",
        "messageIdHeader: required with signedMessage MessageIdDotTimestampDotBody",
    ),
    (
        "same signature and timestamp header without delimiter",
        |v| {
            custom_hmac(
                v,
                hmac_fields(json!({"signedMessage": "TimestampDotBody", "timestampHeader": "x-signature",
                                   "signaturePrefix": "v1=", "timestampPrefix": "t="})),
            )
        },
        "spec.webhookSources[0].auth.hmac",
        "delimiter, signaturePrefix and timestampPrefix are all required",
    ),
    (
        "timestamp prefix without timestamp header",
        |v| custom_hmac(v, hmac_fields(json!({"timestampPrefix": "t="}))),
        "spec.webhookSources[0].auth.hmac",
        "timestampPrefix: only with timestampHeader",
    ),
    (
        "X-Forwarded-* signature header",
        |v| custom_hmac(v, hmac_fields(json!({"signatureHeader": "X-Forwarded-Signature"}))),
        "spec.webhookSources[0].auth.hmac.signatureHeader",
        "a header name AWS reserves",
    ),
    (
        "Host as timestamp header",
        |v| custom_hmac(v, hmac_fields(json!({"signedMessage": "TimestampDotBody", "timestampHeader": "Host"}))),
        "spec.webhookSources[0].auth.hmac.timestampHeader",
        "a header name AWS reserves",
    ),
    (
        "Content-Length as token header",
        |v| {
            set(
                v,
                "/spec/webhookSources/0",
                json!({"name": "t", "provider": "Custom", "auth": {"token": {"header": "content-length"}}}),
            )
        },
        "spec.webhookSources[0].auth.token.header",
        "a header name AWS reserves",
    ),
    (
        "header name with a space",
        |v| custom_hmac(v, hmac_fields(json!({"signatureHeader": "X Signature"}))),
        "spec.webhookSources[0].auth.hmac.signatureHeader",
        "does not match",
    ),
    (
        "basic username without the password",
        |v| {
            set(
                v,
                "/spec/webhookSources/0",
                json!({"name": "b", "provider": "Custom", "auth": {"basic": {"username": "hooks"}}}),
            )
        },
        "spec.webhookSources[0]",
        "auth.basic needs secretRef (the password)",
    ),
    (
        "basic username with a colon",
        |v| {
            set(
                v,
                "/spec/webhookSources/0",
                json!({"name": "b", "provider": "Custom", "secretRef": {"name": "s"}, "auth": {"basic": {"username": "a:b"}}}),
            )
        },
        "spec.webhookSources[0].auth.basic.username",
        "does not match",
    ),
    (
        "metadata header repeated in another case",
        |v| set(v, "/spec/webhookSources/1/metadataHeaders", json!(["X-Request-Id", "x-request-id"])),
        "spec.webhookSources[1].metadataHeaders",
        "case-insensitive and must not repeat",
    ),
    (
        "metadata header carrying credentials",
        |v| set(v, "/spec/webhookSources/1/metadataHeaders", json!(["Authorization"])),
        "spec.webhookSources[1].metadataHeaders",
        "cannot be added to event metadata",
    ),
    (
        "metadata header name too long",
        |v| set(v, "/spec/webhookSources/1/metadataHeaders", json!(["x".repeat(129)])),
        "spec.webhookSources[1].metadataHeaders[0]",
        "is longer than 128 characters",
    ),
    (
        "webhook sources next to routes",
        |v| set(v, "/spec/routes", json!([route("r", "POST", "/r")])),
        "spec",
        "a bridge with webhook sources needs spec.gatewayRef",
    ),
];

/// Admitted, then refused by the checks the engine runs before any AWS call (validate.rs).
const WEBHOOK_ENGINE_CASES: &[(&str, Patch, &str, &str)] = &[
    (
        "target input on a webhook-source bridge",
        |v| set(v, "/spec/rules/0/targets/0/input", json!("{\"a\":1}")),
        "spec.rules[0].targets[0].input",
        "not available on a webhook-source bridge: each target becomes an EventBridge subscriber, and a subscriber has no input equivalent",
    ),
    (
        "target inputPath on a webhook-source bridge",
        |v| set(v, "/spec/rules/1/targets/0/inputPath", json!("$.detail")),
        "spec.rules[1].targets[0].inputPath",
        "subscriber has no inputPath equivalent",
    ),
    (
        "target inputTransformer on a webhook-source bridge",
        |v| set(v, "/spec/rules/0/targets/0/inputTransformer", json!({"inputTemplate": "\"x\""})),
        "spec.rules[0].targets[0].inputTransformer",
        "subscriber has no inputTransformer equivalent",
    ),
    (
        "metadata header the preset already adds",
        |v| set(v, "/spec/webhookSources/0/metadataHeaders", json!(["x-github-event"])),
        "spec.webhookSources[0].metadataHeaders[0]",
        "the GitHub preset already adds X-GitHub-Event",
    ),
    (
        "the token header as metadata",
        |v| {
            set(
                v,
                "/spec/webhookSources/0",
                json!({"name": "gitlab", "provider": "GitLab", "metadataHeaders": ["X-Gitlab-Token"]}),
            )
        },
        "spec.webhookSources[0].metadataHeaders[0]",
        "carries the source's token",
    ),
    (
        "more than 20 metadata headers with the preset's",
        |v| {
            let names: Vec<String> = (0..19).map(|i| format!("X-H{i}")).collect();
            set(v, "/spec/webhookSources/0/metadataHeaders", json!(names));
        },
        "spec.webhookSources[0].metadataHeaders",
        "21 metadata headers with the preset's",
    ),
];

#[test]
fn the_webhook_example_is_admitted_and_passes_the_engine_checks() {
    let bridge = admission::admit(&webhook_base()).expect("the example");
    webhook_bridge::validate::offline(&bridge).expect("engine checks");
    // Authorization is allowed as a token header (AWS: "Authorization is allowed").
    let mut v = webhook_base();
    set(
        &mut v,
        "/spec/webhookSources/0",
        json!({"name": "t", "provider": "Custom", "auth": {"token": {"header": "Authorization"}}}),
    );
    admission::admit(&v).expect("Authorization token header");
}

#[test]
fn admission_rejects_each_bad_webhook_source_naming_the_field_and_rule() {
    let mut failures = Vec::new();
    for (name, patch, field, fragment) in WEBHOOK_CASES {
        let mut v = webhook_base();
        patch(&mut v);
        match admission::admit(&v) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(errors) if has(&errors, field, fragment) => {}
            Err(errors) => failures.push(format!("{name}: expected {field}: ...{fragment}..., got {errors:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_engine_checks_refuse_each_bad_webhook_bridge_before_any_aws_call() {
    let mut failures = Vec::new();
    for (name, patch, field, fragment) in WEBHOOK_ENGINE_CASES {
        let mut v = webhook_base();
        patch(&mut v);
        let bridge = match admission::admit(&v) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{name}: engine case failed admission: {e:?}"));
                continue;
            }
        };
        // What the engine runs before any AWS call, and the offline commands too.
        match webhook_bridge::validate::offline(&bridge) {
            Err(Error::InvalidSpec(errors)) if has(&errors, field, fragment) => {}
            other => failures.push(format!("{name}: expected InvalidSpec {field}: ...{fragment}..., got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_real_apiserver_refuses_each_bad_webhook_source_naming_the_field_and_rule() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("bad-webhook-sources").await;
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        cluster.client().await,
        &ns,
        &kube::api::ApiResource::erase::<webhook_bridge::api::WebhookBridge>(&()),
    );
    let mut failures = Vec::new();
    let mut good = webhook_base();
    good["metadata"] = json!({"name": "good", "namespace": ns});
    let object: kube::api::DynamicObject = serde_json::from_value(good).expect("object");
    if let Err(e) = api.create(&kube::api::PostParams { dry_run: true, ..Default::default() }, &object).await {
        failures.push(format!("the example: refused: {e}"));
    }
    for (i, (name, patch, field, fragment)) in WEBHOOK_CASES.iter().enumerate() {
        let mut v = webhook_base();
        patch(&mut v);
        v["metadata"] = json!({"name": format!("bad-{i}"), "namespace": ns});
        let object: kube::api::DynamicObject = serde_json::from_value(v).expect("object");
        let (field, words) = apiserver_words(field, fragment);
        match api.create(&kube::api::PostParams { dry_run: true, ..Default::default() }, &object).await {
            Ok(_) => failures.push(format!("{name}: the apiserver accepted it")),
            Err(kube::Error::Api(e))
                if e.code == 422 && e.message.contains(&format!("{field}: ")) && e.message.contains(&words) => {}
            Err(e) => failures.push(format!("{name}: expected 422 naming {field}: ...{words}..., got {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
