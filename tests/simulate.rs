//! `webhook-bridge simulate`, `test` and `serve` as a user runs them, on every example bridge
//! (examples/*.yaml and the bridges of examples/gateway/): no AWS (except `serve --forward`,
//! against the emulator).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Moto;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .args(args)
        .current_dir(root())
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run webhook-bridge")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// An example bridge: its file (relative to the repo) and its fixtures directory.
struct ExampleBridge {
    file: String,
    fixtures: String,
}

impl ExampleBridge {
    fn bridge(&self) -> webhook_bridge::api::WebhookBridge {
        common::example(self.file.strip_prefix("examples/").expect("under examples/"))
    }
}

/// Every example bridge: examples/<name>.yaml with examples/fixtures/<name>/, and each bridge of
/// examples/gateway/ (examples/gateway/<name>.yaml) with examples/fixtures/gateway/<name>/. The
/// gateway itself is no bridge: nothing to simulate (tests/crd.rs and tests/gateway.rs cover it).
fn example_bridges() -> Vec<ExampleBridge> {
    let mut out: Vec<ExampleBridge> = common::example_files()
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .map(|name| ExampleBridge {
            file: format!("examples/{name}.yaml"),
            fixtures: format!("examples/fixtures/{name}"),
        })
        .collect();
    let mut gateway: Vec<PathBuf> = std::fs::read_dir(root().join("examples/gateway"))
        .expect("examples/gateway")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    gateway.sort();
    let mut skipped = Vec::new();
    for path in gateway {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        if doc["kind"] == "WebhookBridge" {
            out.push(ExampleBridge {
                file: format!("examples/gateway/{name}.yaml"),
                fixtures: format!("examples/fixtures/gateway/{name}"),
            });
        } else {
            skipped.push(format!("{name}: {}", doc["kind"]));
        }
    }
    assert_eq!(skipped, [r#"gateway: "WebhookBridgeGateway""#], "only the gateway itself is not a bridge");
    assert!(out.iter().filter(|e| e.file.starts_with("examples/gateway/")).count() >= 2, "the gateway's bridges");
    out
}

#[test]
fn every_route_of_every_example_simulates() {
    for example in example_bridges() {
        let file = example.file.clone();
        let bridge = example.bridge();
        for route in &bridge.spec.routes {
            let out = cli(&["simulate", "-f", &file, "--route", &route.name, "--body", "{}", "--output", "json"]);
            let report: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{file} {}: {e}: {}{}", route.name, text(&out.stdout), text(&out.stderr)));
            assert_eq!(report["route"], route.name.as_str(), "{file}: {report}");
        }
    }
}

#[test]
fn a_create_order_reaches_create_order_only_and_the_other_rule_says_why_not() {
    let body = r#"{"event_type": "create", "event_time": "2026-11-27T10:00:00Z", "order_id": "o-1"}"#;
    let out = cli(&["simulate", "-f", "examples/orders.yaml", "--route", "webhook", "--body", body]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("rule     create-order: MATCHED"), "{stdout}");
    assert!(stdout.contains("function:createOrder"), "{stdout}");
    assert!(stdout.contains("rule     cancel-order: no match: detail-type"), "{stdout}");
    assert!(!stdout.contains("function:cancelOrder) receives"), "{stdout}");

    let json =
        cli(&["simulate", "-f", "examples/orders.yaml", "--route", "webhook", "--body", body, "--output", "json"]);
    let report: Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["entry"]["DetailType"], "create");
    assert_eq!(report["entry"]["Source"], "source.events");
    assert_eq!(report["entry"]["Time"], "2026-11-27T10:00:00Z");
    let detail: Value =
        serde_json::from_str(report["entry"]["Detail"].as_str().expect("Detail text")).expect("Detail JSON");
    assert_eq!(detail["order_id"], "o-1");
}

#[test]
fn a_request_no_route_takes_exits_1() {
    let out = cli(&["simulate", "-f", "examples/orders.yaml", "--method", "POST", "--path", "/nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("404"), "{}", text(&out.stdout));
    let out = cli(&["simulate", "-f", "examples/orders.yaml", "--route", "nope"]);
    assert_eq!(out.status.code(), Some(3), "a bad flag value is a usage error of the file kind");
    assert!(text(&out.stderr).contains("--route nope: no such route; the bridge has webhook"), "{}", text(&out.stderr));
}

/// `examples/orders.yaml` with its first rule's pattern replaced, in a temporary file.
fn orders_with_pattern(dir: &common::TempDir, pattern: Value) -> String {
    let yaml = std::fs::read_to_string(root().join("examples/orders.yaml")).expect("example");
    let mut v: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    v["spec"]["rules"][0]["pattern"] = pattern;
    let file = dir.path().join("bridge.yaml");
    std::fs::write(&file, serde_json::to_string(&v).expect("json")).expect("write");
    file.display().to_string()
}

#[test]
fn simulate_serve_and_test_refuse_a_pattern_apply_refuses_with_exit_3() {
    let dir = common::TempDir::new("whb-sim-bad");
    // Before: the rule was reported "invalid pattern" and simulate exited 0.
    let file = orders_with_pattern(&dir, serde_json::json!({"source": "source.events"}));
    for args in [
        vec!["simulate", "-f", &file, "--route", "webhook", "--body", "{}"],
        vec!["test", "-f", &file, "examples/fixtures/orders"],
        vec!["serve", "-f", &file, "--port", "0"],
    ] {
        let out = cli(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}{stderr}", text(&out.stdout));
        assert!(stderr.contains("spec.rules[0].pattern.source: "), "{stderr}");
        assert!(stderr.contains("a bare value is not allowed"), "{stderr}");
    }
    // AWS's PutRule answer (LocalStack's content_wildcard_complex_EXC), offline.
    let file = orders_with_pattern(&dir, serde_json::json!({"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}));
    let out = cli(&["simulate", "-f", &file, "--route", "webhook", "--body", "{}"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Rule is too complex - try using fewer wildcard characters"), "{stderr}");
}

#[test]
fn an_object_inside_quotes_in_a_json_template_warns_and_simulates_as_delivering_nothing() {
    // AWS accepts such a target and delivers nothing (LocalStack's AWS-validated
    // test_input_transformer_nested_keys_replacement_not_valid, tests/aws/services/events/
    // test_events_inputs.py).
    let dir = common::TempDir::new("whb-sim-quoted");
    let yaml = std::fs::read_to_string(root().join("examples/orders.yaml")).expect("example");
    let mut v: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    v["spec"]["rules"][0]["targets"][0]["inputTransformer"] =
        serde_json::json!({"inputPathsMap": {"payload": "$.detail"}, "inputTemplate": "{\"payload\": \"<payload>\"}"});
    let file = dir.path().join("bridge.yaml");
    std::fs::write(&file, serde_json::to_string(&v).expect("json")).expect("write");
    let file = file.display().to_string();
    let body = r#"{"event_type": "create", "event_time": "2026-11-27T10:00:00Z", "order_id": "o-1"}"#;
    let out = cli(&["simulate", "-f", &file, "--route", "webhook", "--body", body]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "a warning, not a refusal: {stdout}{stderr}");
    assert!(
        stderr
            .contains("warning: spec.rules[0].targets[0].inputTransformer.inputTemplate: <payload> selects an object"),
        "{stderr}"
    );
    assert!(stdout.contains("rule     create-order: MATCHED"), "{stdout}");
    assert!(stdout.contains("AWS delivers nothing to this target for this event: <payload> is an object"), "{stdout}");
    let plan = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .args(["plan", "-f", &file])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run plan");
    assert!(text(&plan.stderr).contains("<payload> selects an object"), "plan warns too: {}", text(&plan.stderr));
}

#[test]
fn simulate_event_runs_a_full_event_through_the_rules_as_test_event_pattern_does() {
    let dir = common::TempDir::new("whb-sim-event");
    // An AWS service event's shape with a top-level field no request mapping can set, and a
    // dotted name (the user guide's "Considerations when creating event patterns").
    let event = serde_json::json!({
        "version": "0", "id": "1", "detail-type": "cancel", "source": "source.events",
        "account": "111122223333", "time": "2026-11-27T10:00:00Z", "region": "us-east-1",
        "resources": [], "EventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/b",
        "detail": {"state.status": "running"}
    });
    let file = dir.path().join("event.json");
    std::fs::write(&file, event.to_string()).expect("write");
    let at = format!("@{}", file.display());
    let out = cli(&["simulate", "-f", "examples/orders.yaml", "--event", &at, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["givenEvent"], true);
    assert_eq!(report["event"], event, "the event as given: id, account and time are not replaced");
    let matched: Vec<&str> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["matched"] == true)
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(matched, ["cancel-order"]);
    let payload: Value =
        serde_json::from_str(report["rules"][1]["targets"][0]["payload"].as_str().expect("payload")).expect("json");
    assert_eq!(payload, event);
    let out = cli(&["simulate", "-f", "examples/orders.yaml", "--event", &at]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("event (as given)"), "{stdout}");
    assert!(stdout.contains("rule     create-order: no match: detail-type"), "{stdout}");

    // What TestEventPattern refuses ("Parameter Event is not valid.", LocalStack's recorded
    // test_invalid_event_payload and test_array_event_payload) exits 3.
    for bad in [r#"{"testEvent": "value"}"#, r#"["plain string"]"#] {
        let out = cli(&["simulate", "-f", "examples/orders.yaml", "--event", bad]);
        assert_eq!(out.status.code(), Some(3), "{bad}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("Parameter Event is not valid"), "{}", text(&out.stderr));
    }
    let out = cli(&["simulate", "-f", "examples/orders.yaml", "--event", "{}", "--route", "webhook"]);
    assert_eq!(out.status.code(), Some(2), "--event and a request together are a usage error");
}

#[test]
fn every_example_has_fixtures_and_they_pass() {
    for ExampleBridge { file, fixtures: dir } in example_bridges() {
        assert!(Path::new(&root().join(&dir)).is_dir(), "{file} has no {dir}/");
        let out = cli(&["test", "-f", &file, &dir]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{file}: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains(", 0 failed"), "{stdout}");
        assert!(
            !stdout.contains("\n0 fixture(s)") && !stdout.starts_with("0 fixture(s)"),
            "{file}: no fixture ran: {stdout}"
        );
    }
}

/// A bridge on a gateway simulates as a standalone one would: its routes and rules are its own;
/// the gateway's other bridges' paths are not its routes.
#[test]
fn a_bridge_on_the_gateway_simulates_its_own_routes_and_rules() {
    let body = r#"{"event_type": "cancel", "event_time": "2026-11-27T10:05:00Z", "order_id": "o-1"}"#;
    let out = cli(&["simulate", "-f", "examples/gateway/orders.yaml", "--route", "webhook", "--body", body]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("rule     cancel-order: MATCHED"), "{stdout}");
    assert!(stdout.contains("rule     create-order: no match: detail-type"), "{stdout}");
    let out = cli(&["simulate", "-f", "examples/gateway/orders.yaml", "--method", "POST", "--path", "/billing/stripe"]);
    assert_eq!(out.status.code(), Some(1), "billing's route is not this bridge's: {}", text(&out.stdout));
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_and_junit() {
    let dir = std::env::temp_dir().join(format!("whb-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("wrong.yaml"),
        "name: cancel expected\nrequest:\n  route: webhook\n  body: {event_type: create}\nexpect:\n  rules: [cancel-order]\n",
    )
    .expect("fixture");
    std::fs::write(
        dir.join("right.yaml"),
        "request:\n  route: webhook\n  body: {event_type: create}\nexpect:\n  rules: [create-order]\n",
    )
    .expect("fixture");
    let junit = dir.join("junit.xml");
    let out = cli(&[
        "test",
        "-f",
        "examples/orders.yaml",
        dir.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  cancel expected"), "{stdout}");
    assert!(stdout.contains(r#"rules: expected ["cancel-order"], got ["create-order"]"#), "{stdout}");
    assert!(stdout.contains("cancel-order did not match: detail-type"), "the failing field is named: {stdout}");
    assert!(stdout.contains("ok    right"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains(r#"tests="2" failures="1""#) && xml.contains("<failure message="), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

/// One HTTP/1.1 request: status and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str], env: &[(&str, &str)]) -> (Served, u16) {
    serve_file("examples/orders.yaml", args, env)
}

fn serve_file(file: &str, args: &[&str], env: &[(&str, &str)]) -> (Served, u16) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"));
    cmd.args(["serve", "-f", file, "--port", &port.to_string()])
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = Served(cmd.spawn().expect("serve"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

#[test]
fn serve_answers_as_api_gateway_would() {
    let (_served, port) = serve(&[], &[]);
    let (status, body) =
        http(port, "POST", "/api/webhook", r#"{"event_type": "create", "event_time": "2026-11-27T10:00:00Z"}"#);
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["FailedEntryCount"], 0);
    assert!(answer["Entries"][0]["EventId"].is_string(), "{answer}");
    let (status, body) = http(port, "POST", "/nope", "{}");
    assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));
    let (status, _) = http(port, "GET", "/api/webhook", "");
    assert_eq!(status, 404, "the route is POST only");
}

/// Every example served, every fixture of it sent over HTTP: the status its fixture expects.
#[test]
fn serve_answers_every_fixture_of_every_example() {
    for example in example_bridges() {
        let name = example.file.clone();
        let (_served, port) = serve_file(&example.file, &[], &[]);
        let bridge = example.bridge();
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(&example.fixtures))
            .expect("fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in files {
            let f: Value = serde_saphyr::from_str(&std::fs::read_to_string(&file).expect("read")).expect("fixture");
            if f.get("event").is_some() {
                continue; // a full event, not a request: nothing to send over HTTP
            }
            let r = &f["request"];
            let (method, path) = match r["route"].as_str() {
                Some(route) => {
                    let spec = bridge.spec.routes.iter().find(|x| x.name == route).expect("route");
                    (spec.method.as_str().to_string(), spec.path.clone())
                }
                None => {
                    (r["method"].as_str().expect("method").to_string(), r["path"].as_str().expect("path").to_string())
                }
            };
            let body = if r["body"].is_null() { String::new() } else { r["body"].to_string() };
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let headers: String = r["headers"]
                .as_object()
                .map(|h| h.iter().map(|(k, v)| format!("{k}: {}\r\n", v.as_str().unwrap_or_default())).collect())
                .unwrap_or_default();
            write!(
                s,
                "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .expect("write");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            let status: u64 = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
            let want = f["expect"]["status"].as_u64().unwrap_or(200);
            assert_eq!(status, want, "{name} {}: {answer}", file.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_forward_puts_the_event_on_the_bus() {
    let moto = Moto::start();
    let events = moto.clients().await.events;
    events.create_event_bus().name("custom-events-dev").send().await.expect("bus");
    let (_served, port) = serve(
        &["--forward"],
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(port, "POST", "/api/webhook", r#"{"event_type": "create", "event_time": "2026-11-27T10:00:00Z"}"#)
    })
    .await
    .expect("join");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    let id = answer["Entries"][0]["EventId"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty() && id != "00000000-0000-0000-0000-000000000000", "a real EventId: {answer}");
    assert_eq!(moto.fault_stats()["calls"]["events.PutEvents"], 1);
}

/// A webhook-source bridge served: each source at `/<name>`, verified with the secrets of a test
/// Secret manifest at the wall clock; every fixture of examples/fixtures/webhook-sources sent
/// over HTTP gets the status it expects (those signed at a fixed past time are stale against
/// the wall clock: 403), and the secret is never in the log.
#[test]
fn serve_answers_as_the_webhook_source_endpoint_would() {
    let secrets = "examples/fixtures/webhook-sources/secrets/test-secrets.yaml";
    let port = free_port();
    let log = std::env::temp_dir().join(format!("whb-serve-webhooks-{port}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"));
    cmd.args(["serve", "-f", "examples/webhook-sources/hooks.yaml", "--port", &port.to_string(), "--secrets", secrets])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"));
    let served = Served(cmd.spawn().expect("serve"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = root().join("examples/fixtures/webhook-sources");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let f: Value = serde_saphyr::from_str(&std::fs::read_to_string(&file).expect("read")).expect("fixture");
        if f.get("event").is_some() {
            continue; // the event's Data as given, not a request: nothing to send over HTTP
        }
        let r = &f["request"];
        let body = r["bodyText"].as_str().unwrap_or_default();
        let headers: String = r["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| format!("{k}: {}\r\n", v.as_str().unwrap_or_default())).collect())
            .unwrap_or_default();
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            s,
            "POST /{} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            r["source"].as_str().expect("source"),
            body.len()
        )
        .expect("write");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        let status: u64 = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        // `now:` pins a fixture's clock; served, the wall clock is far past those timestamps.
        let (want, reason) = if f.get("now").is_some() {
            (403, Some("timestamp outside tolerance"))
        } else {
            (f["expect"]["status"].as_u64().unwrap_or(200), f["expect"]["refusal"].as_str())
        };
        assert_eq!(status, want, "{}: {answer}", file.display());
        if let Some(reason) = reason {
            assert!(answer.contains(reason), "{}: {answer}", file.display());
        }
    }
    let (status, _) = http(port, "GET", "/github", "");
    assert_eq!(status, 405, "webhook sources take POST");
    drop(served);
    let logged = std::fs::read_to_string(&log).expect("log");
    let _ = std::fs::remove_file(&log);
    assert!(logged.contains("POST /github 200 source github: accepted -> rules: main-pushes"), "{logged}");
    assert!(logged.contains("403 source github: refused: no signature matches"), "{logged}");
    assert!(!logged.contains("Secret to Everybody") && !logged.contains("whsec_"), "{logged}");
}

/// `simulate` on a webhook-source bridge: refused with the reason (exit 1), or accepted with the
/// event and the matched rule (exit 0); a secret that breaks AWS's rules is refused (exit 3)
/// naming the Secret, never its value.
#[test]
fn simulate_verifies_a_webhook_request_and_checks_the_secret() {
    let secrets = "examples/fixtures/webhook-sources/secrets/test-secrets.yaml";
    let base = ["simulate", "-f", "examples/webhook-sources/hooks.yaml", "--source", "github", "--secrets", secrets];
    let body = r#"{"ref":"refs/heads/main"}"#;
    let forged = cli(&[&base[..], &["-H", "X-Hub-Signature-256: sha256=00", "--body", body]].concat());
    assert_eq!(forged.status.code(), Some(1), "{}", text(&forged.stderr));
    assert!(text(&forged.stdout).contains("refused  403: no signature matches"), "{}", text(&forged.stdout));
    let scheme = match webhook_bridge::webhook::presets::scheme(
        &common::example("webhook-sources/hooks.yaml").spec.webhook_sources[0],
    ) {
        Ok(webhook_bridge::webhook::AuthScheme::Hmac(h)) => h,
        other => panic!("{other:?}"),
    };
    let secret = webhook_bridge::webhook::secret::SecretValue::new("It's a Secret to Everybody");
    let signed = webhook_bridge::webhook::verify::sign(&scheme, &secret, body.as_bytes(), None, None).expect("sign");
    let header = format!("{}: {}", signed[0].0, signed[0].1);
    let ok = cli(&[&base[..], &["-H", &header, "--body", body, "--output", "json"]].concat());
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let report: Value = serde_json::from_str(&text(&ok.stdout)).expect("json");
    assert_eq!(report["event"]["Data"]["ref"], "refs/heads/main");
    assert_eq!(report["rules"][0]["matched"], true, "{report}");

    let dir = std::env::temp_dir().join(format!("whb-short-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let short = dir.join("secret");
    std::fs::write(&short, "tooshort-1\n").expect("write");
    let out = cli(&[
        "simulate",
        "-f",
        "examples/webhook-sources/hooks.yaml",
        "--source",
        "github",
        "--secret-file",
        short.to_str().expect("path"),
        "--body",
        body,
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the HMAC key is 10 bytes; AWS requires 16 to 512 bytes"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("tooshort"), "{}", text(&out.stderr));
}
