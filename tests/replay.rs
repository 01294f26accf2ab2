//! `webhook-bridge replay` (and `status`): against the local emulator as a user runs the binary,
//! and the follow loop against scripted EventBridge answers for what the emulator does not do
//! (moto replays synchronously: COMPLETED at the first DescribeReplay, no RUNNING, no
//! EventLastReplayedTime, no FAILED).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use aws_sdk_eventbridge::operation::cancel_replay::CancelReplayOutput;
use aws_sdk_eventbridge::operation::describe_replay::DescribeReplayOutput;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, ReplayState};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::retry::RetryConfig;
use common::*;
use jiff::Timestamp;
use webhook_bridge::owner::Owner;
use webhook_bridge::replay::{self, Follow, Window};

const BUS: &str = "custom-events-dev";

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn cli(moto: &Moto, args: &[&str]) -> Output {
    moto.cli_command().args(args).output().expect("run webhook-bridge")
}

/// examples/orders.yaml with `eventBus.archive: {retentionDays: 1}`, in a file of its own. Its
/// rules target SQS queues (see [`queues`]) instead of Lambda functions: the emulator delivers
/// to queues (and fails PutEvents on a matched Lambda target), so replayed events can be seen.
fn archived_orders() -> PathBuf {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("read");
    let with_archive = yaml
        .replace(
            "  eventBus:\n    name: custom-events-dev\n",
            "  eventBus:\n    name: custom-events-dev\n    archive:\n      retentionDays: 1\n",
        )
        .replace("arn:aws:lambda:us-east-1:123456789012:function:createOrder", &queue_arn("create-orders"))
        .replace("arn:aws:lambda:us-east-1:123456789012:function:cancelOrder", &queue_arn("cancel-orders"));
    assert_eq!(with_archive.matches("archive:").count(), 1, "examples/orders.yaml changed: update the test");
    assert_eq!(with_archive.matches(":sqs:").count(), 2, "examples/orders.yaml changed: update the test");
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("webhook-bridge-replay-{}-{n}.yaml", std::process::id()));
    std::fs::write(&path, with_archive).expect("write");
    path
}

/// The CLI's owner of examples/orders.yaml (no uid; `--cluster-name` defaults to `default`).
fn owner() -> Owner {
    Owner::local("default", "default", "orders")
}

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

/// The two target queues, each letting EventBridge send to it.
async fn queues(moto: &Moto) {
    for name in ["create-orders", "cancel-orders"] {
        common::eventbridge_queue(moto, name).await;
    }
}

/// Every message on a queue (bodies), received and deleted.
async fn drain(moto: &Moto, name: &str) -> Vec<serde_json::Value> {
    let c = moto.clients().await;
    let url = c.sqs.get_queue_url().queue_name(name).send().await.expect("url").queue_url.unwrap_or_default();
    let mut bodies = Vec::new();
    loop {
        let out = c.sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("receive");
        if out.messages().is_empty() {
            return bodies;
        }
        for m in out.messages() {
            bodies.push(serde_json::from_str(m.body().unwrap_or_default()).expect("a JSON event"));
            let handle = m.receipt_handle().unwrap_or_default();
            c.sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await.expect("delete");
        }
    }
}

fn rule_arn(rule: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{BUS}/{}", owner().rule_name(rule))
}

/// Apply the archived bridge. While the engine cannot create archives yet ("not wired yet"),
/// apply the bridge without one and create the archive as the engine will: the deterministic
/// name, on the bridge's bus, with the ownership marker. Returns whether the engine made it.
async fn apply_with_archive(moto: &Moto, file: &str) -> bool {
    let apply = cli(moto, &["apply", "-f", file]);
    let mut by_engine = apply.status.code() == Some(0);
    if !by_engine {
        assert!(text(&apply.stderr).contains("not wired yet"), "apply: {}", text(&apply.stderr));
        let plain = cli(moto, &["apply", "-f", "examples/orders.yaml"]);
        assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    }
    let c = moto.clients().await;
    let name = owner().archive_name();
    if c.events.describe_archive().archive_name(&name).send().await.is_err() {
        by_engine = false;
        c.events
            .create_archive()
            .archive_name(&name)
            .event_source_arn(format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}"))
            .retention_days(1)
            .description(owner().archive_marker())
            .send()
            .await
            .expect("create the archive");
    }
    by_engine
}

async fn put_orders(moto: &Moto, n: usize) {
    let c = moto.clients().await;
    for i in 0..n {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(BUS)
            .source("source.events")
            .detail_type(if i % 2 == 0 { "create" } else { "cancel" })
            .detail(format!(r#"{{"order":{i}}}"#))
            .build();
        let out = c.events.put_events().entries(entry).send().await.expect("put events");
        assert_eq!(out.failed_entry_count(), 0);
    }
}

#[tokio::test]
async fn replay_sends_the_window_to_the_bridges_rules_and_exits_0_when_completed() {
    let moto = Moto::start();
    queues(&moto).await;
    let file = archived_orders();
    let file = file.to_str().expect("path");
    let by_engine = apply_with_archive(&moto, file).await;
    eprintln!("archive created by {}", if by_engine { "the engine" } else { "the test (engine not wired yet)" });

    let from = Timestamp::now() - jiff::SignedDuration::from_mins(5);
    put_orders(&moto, 3).await;
    let c = moto.clients().await;
    let archive = c.events.describe_archive().archive_name(owner().archive_name()).send().await.expect("archive");
    assert!(archive.event_count() >= 3, "the emulator archived the events: {archive:?}");
    let to = Timestamp::now();
    let (from, to) = (from.to_string(), to.to_string());
    let live = drain(&moto, "create-orders").await;
    assert_eq!(live.len(), 2, "orders 0 and 2 were delivered once: {live:?}");

    // Every rule of the bridge (FilterArns: both of its rules), text output.
    let run = cli(&moto, &["replay", "-f", file, "--from", &from, "--to", &to, "--poll-interval-ms", "100"]);
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("COMPLETED"), "{out}");
    assert!(out.starts_with("default/orders: replay whb-"), "{out}");
    assert!(err.contains("started: events from") && err.contains("create-order, cancel-order"), "{err}");
    assert!(err.contains("[##############################] 100%  COMPLETED"), "the last progress line: {err}");
    assert!(err.contains("AWS calls: "), "{err}");
    let again = drain(&moto, "create-orders").await;
    assert_eq!(again.len(), 2, "the archived create orders, delivered again: {again:?}");
    assert!(again.iter().all(|e| e["replay-name"].as_str().is_some_and(|n| n.starts_with("whb-"))), "{again:?}");

    let replays = c.events.list_replays().send().await.expect("list replays");
    assert_eq!(replays.replays().len(), 1);
    let first = replays.replays()[0].replay_name().expect("name").to_string();
    assert!(first.starts_with(&format!("{}-", owner().archive_name())) && first.len() <= 64, "{first}");
    let described = c.events.describe_replay().replay_name(&first).send().await.expect("describe");
    let destination = described.destination().expect("destination");
    assert_eq!(destination.arn(), format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}"));
    assert_eq!(
        destination.filter_arns(),
        [rule_arn("create-order"), rule_arn("cancel-order")],
        "without --rule: the bridge's own rules, never every rule on the bus"
    );
    assert_eq!(described.event_source_arn(), archive.archive_arn());

    // One rule, JSON output; started within the same second as the first, the name is retried.
    let run = cli(
        &moto,
        &[
            "replay",
            "-f",
            file,
            "--from",
            &from,
            "--to",
            &to,
            "--rule",
            "create-order",
            "--output",
            "json",
            "--poll-interval-ms",
            "100",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("stdout is the DescribeReplay JSON");
    assert_eq!(json["State"], "COMPLETED");
    assert_eq!(json["Destination"]["FilterArns"], serde_json::json!([rule_arn("create-order")]));
    assert_ne!(json["ReplayName"], first.as_str());
    assert_eq!(json["EventStartTime"].as_str().map(|s| s.parse::<Timestamp>().is_ok()), Some(true), "{json}");
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn bad_input_exits_3_before_any_aws_call_and_names_the_flag_or_field() {
    let moto = Moto::start();
    let file = archived_orders();
    let file = file.to_str().expect("path");
    let now = Timestamp::now();
    let hour_ago = (now - jiff::SignedDuration::from_hours(1)).to_string();
    let minute_ago = (now - jiff::SignedDuration::from_mins(1)).to_string();

    let cases: [(Vec<&str>, &[&str]); 6] = [
        (vec!["-f", "examples/orders.yaml", "--from", &hour_ago, "--to", &minute_ago], &["spec.eventBus.archive"]),
        (vec!["-f", file, "--from", &minute_ago, "--to", &hour_ago], &["--from", "--to", "not before"]),
        (vec!["-f", file, "--from", &hour_ago, "--to", &hour_ago], &["--from", "--to"]),
        (vec!["-f", file, "--from", &hour_ago, "--to", "2999-01-01T00:00:00Z"], &["--to", "future"]),
        (vec!["-f", file, "--from", "yesterday", "--to", &minute_ago], &["--from", "RFC 3339"]),
        (
            vec!["-f", file, "--from", &hour_ago, "--to", &minute_ago, "--rule", "create-order", "--rule", "nope"],
            &["--rule \"nope\"", "create-order, cancel-order"],
        ),
    ];
    for (args, expected) in cases {
        let run = cli(&moto, &[&["replay"][..], &args[..]].concat());
        let err = text(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{args:?}: {err}");
        for e in expected {
            assert!(err.contains(e), "{args:?}: expected {e:?} in: {err}");
        }
        assert!(!err.contains("AWS calls"), "{args:?}: checked before AWS is called: {err}");
    }
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn replay_of_an_archive_not_created_yet_says_to_apply_first() {
    let moto = Moto::start();
    queues(&moto).await;
    let file = archived_orders();
    let file = file.to_str().expect("path");
    let from = (Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string();
    let to = Timestamp::now().to_string();
    let run = cli(&moto, &["replay", "-f", file, "--from", &from, "--to", &to]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(5), "a missing dependency: {err}");
    assert!(err.contains("spec.eventBus.archive") && err.contains("webhook-bridge apply"), "{err}");
    assert!(err.contains(", 0 writes"), "{err}");
    let _ = std::fs::remove_file(file);
}

/// Ctrl-C cancels the replay and exits 130. moto completes a replay at once, so the interrupt may
/// come too late (exit 0); with an emulator whose replays take a while, it must cancel.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_cancels_the_replay_and_exits_130() {
    let moto = Moto::start();
    queues(&moto).await;
    let file = archived_orders();
    let path = file.to_str().expect("path").to_string();
    apply_with_archive(&moto, &path).await;
    let from = (Timestamp::now() - jiff::SignedDuration::from_mins(5)).to_string();
    put_orders(&moto, 1).await;
    let to = Timestamp::now().to_string();
    let mut child = moto
        .cli_command()
        .args(["replay", "-f", &path, "--from", &from, "--to", &to, "--poll-interval-ms", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.expect("read stderr");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("started: events from") {
            // SAFETY: signalling our own child process by its id.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            break;
        }
    }
    for line in lines {
        seen.push_str(&line.expect("read stderr"));
        seen.push('\n');
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = text(&out.stdout);
    match out.status.code() {
        Some(130) => {
            assert!(seen.contains("cancelling replay"), "{seen}");
            assert!(stdout.contains("CANCELLED") || stdout.contains("COMPLETED"), "{stdout}\n{seen}");
        }
        Some(0) => assert!(stdout.contains("COMPLETED"), "completed before the interrupt: {stdout}\n{seen}"),
        other => panic!("exit {other:?}: {stdout}\n{seen}"),
    }
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn status_shows_the_bridge_at_a_glance_without_writing() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let before = cli(&moto, &["status", "-f", "examples/orders.yaml"]);
    let out = text(&before.stdout);
    assert_eq!(before.status.code(), Some(0), "{}", text(&before.stderr));
    assert!(out.starts_with("default/orders\n"), "{out}");
    assert!(out.contains("not created yet"), "{out}");
    assert!(out.contains("change(s) pending"), "{out}");
    assert!(text(&before.stderr).contains(", 0 writes"), "status never writes: {}", text(&before.stderr));

    let apply = cli(&moto, &["apply", "-f", "examples/orders.yaml"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let after = cli(&moto, &["status", "-f", "examples/orders.yaml"]);
    let out = text(&after.stdout);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after.stderr));
    assert!(out.contains(".execute-api.us-east-1.amazonaws.com/dev/api/webhook"), "route URL: {out}");
    assert!(out.contains("create-order") && out.contains("1 target(s)"), "{out}");
    assert!(out.contains("in sync"), "{out}");
    assert!(out.contains("archive") && out.contains("custom domain") && out.contains("access logs"), "{out}");
    assert!(text(&after.stderr).contains(", 0 writes"), "{}", text(&after.stderr));

    let json = cli(&moto, &["status", "-f", "examples/orders.yaml", "--output", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v[0]["name"], "default/orders");
    assert_eq!(v[0]["inSync"], true);
    assert_eq!(v[0]["changes"], 0);
    assert_eq!(v[0]["status"]["rules"][0]["targets"], 1);
    assert!(v[0]["status"]["endpoint"].as_str().is_some_and(|e| e.ends_with("/dev")), "{v}");
}

// The follow loop, against scripted answers.

fn window() -> Window {
    Window { from: "2026-11-27T10:00:00Z".parse().expect("t"), to: "2026-11-27T11:00:00Z".parse().expect("t") }
}

fn at(s: &str) -> DateTime {
    DateTime::from_secs(s.parse::<Timestamp>().expect("t").as_second())
}

fn options() -> Follow {
    Follow { interval: Duration::from_millis(1), bar: false, line_every: Duration::from_secs(10) }
}

fn replay_in(state: ReplayState, last: Option<&str>) -> DescribeReplayOutput {
    DescribeReplayOutput::builder().replay_name("r").state(state).set_event_last_replayed_time(last.map(at)).build()
}

async fn never() {
    std::future::pending::<()>().await
}

#[tokio::test]
async fn progress_is_drawn_per_state_change_and_a_failure_carries_its_reason() {
    let describe = mock!(aws_sdk_eventbridge::Client::describe_replay)
        .sequence()
        .output(|| replay_in(ReplayState::Starting, None))
        .output(|| replay_in(ReplayState::Running, Some("2026-11-27T10:15:00Z")))
        .output(|| replay_in(ReplayState::Running, Some("2026-11-27T10:30:00Z")))
        .output(|| {
            DescribeReplayOutput::builder()
                .replay_name("r")
                .state(ReplayState::Failed)
                .state_reason("the destination rule was deleted")
                .event_last_replayed_time(at("2026-11-27T10:30:00Z"))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&describe], |b| b
        .retry_config(RetryConfig::disabled()));
    let mut out = Vec::new();
    let followed = replay::follow(&client, "r", window(), options(), &mut out, never).await.expect("follow");
    assert_eq!(followed.state(), Some(&ReplayState::Failed));
    assert!(!followed.interrupted && !followed.abandoned);
    assert_eq!(followed.replay.as_ref().and_then(|r| r.state_reason()), Some("the destination rule was deleted"));
    let drawn = String::from_utf8(out).expect("utf8");
    let lines: Vec<&str> = drawn.lines().collect();
    assert_eq!(lines.len(), 3, "one line per state change (the second RUNNING is not due yet): {drawn}");
    assert!(lines[0].ends_with("]   0%  STARTING"), "{drawn}");
    assert!(lines[1].contains("]  25%  RUNNING  up to 2026-11-27T10:15:00Z"), "{drawn}");
    assert!(lines[2].contains("]  50%  FAILED"), "{drawn}");
    assert_eq!(describe.num_calls(), 4);
}

#[tokio::test]
async fn an_interrupt_cancels_and_waits_for_cancelled() {
    let describe = mock!(aws_sdk_eventbridge::Client::describe_replay)
        .sequence()
        .output(|| replay_in(ReplayState::Running, Some("2026-11-27T10:05:00Z")))
        .output(|| replay_in(ReplayState::Cancelling, Some("2026-11-27T10:06:00Z")))
        .output(|| replay_in(ReplayState::Cancelled, Some("2026-11-27T10:06:00Z")))
        .build();
    let cancel = mock!(aws_sdk_eventbridge::Client::cancel_replay)
        .match_requests(|r| r.replay_name() == Some("r"))
        .then_output(|| CancelReplayOutput::builder().state(ReplayState::Cancelling).build());
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&describe, &cancel], |b| b
        .retry_config(RetryConfig::disabled()));
    let mut out = Vec::new();
    // The first interrupt comes while waiting after the first answer; no second one.
    let mut interrupts = 0;
    let options = Follow { interval: Duration::from_millis(50), ..options() };
    let followed = replay::follow(&client, "r", window(), options, &mut out, || {
        interrupts += 1;
        let first = interrupts == 1;
        async move {
            if first {
                tokio::time::sleep(Duration::from_millis(10)).await;
            } else {
                never().await;
            }
        }
    })
    .await
    .expect("follow");
    assert!(followed.interrupted && !followed.abandoned);
    assert_eq!(followed.state(), Some(&ReplayState::Cancelled));
    assert_eq!(cancel.num_calls(), 1);
    let drawn = String::from_utf8(out).expect("utf8");
    assert!(drawn.contains("interrupted: cancelling replay r"), "{drawn}");
    assert!(drawn.lines().last().is_some_and(|l| l.contains("CANCELLED")), "{drawn}");
}

#[tokio::test]
async fn a_second_interrupt_stops_waiting() {
    let describe = mock!(aws_sdk_eventbridge::Client::describe_replay)
        .sequence()
        .output(|| replay_in(ReplayState::Cancelling, None))
        .repeatedly()
        .build();
    let cancel = mock!(aws_sdk_eventbridge::Client::cancel_replay)
        .then_output(|| CancelReplayOutput::builder().state(ReplayState::Cancelling).build());
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&describe, &cancel], |b| b
        .retry_config(RetryConfig::disabled()));
    let mut out = Vec::new();
    let options = Follow { interval: Duration::from_millis(20), ..options() };
    let followed = replay::follow(&client, "r", window(), options, &mut out, || async {
        tokio::time::sleep(Duration::from_millis(5)).await
    })
    .await
    .expect("follow");
    assert!(followed.interrupted && followed.abandoned);
    assert_eq!(cancel.num_calls(), 1, "cancelled once");
    assert!(String::from_utf8(out).expect("utf8").contains("stopped waiting"));
}

#[tokio::test]
async fn a_replay_already_final_when_cancelled_is_no_error() {
    let describe = mock!(aws_sdk_eventbridge::Client::describe_replay)
        .sequence()
        .output(|| replay_in(ReplayState::Running, None))
        .output(|| replay_in(ReplayState::Completed, None))
        .build();
    let cancel = mock!(aws_sdk_eventbridge::Client::cancel_replay).then_http_response(|| {
        common::mocks::aws_json_error(400, "IllegalStatusException", "Replay r is not in a valid state")
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&describe, &cancel], |b| b
        .retry_config(RetryConfig::disabled()));
    let mut out = Vec::new();
    let mut first = true;
    let followed = replay::follow(&client, "r", window(), options(), &mut out, || {
        let now = std::mem::replace(&mut first, false);
        async move {
            if !now {
                never().await
            }
        }
    })
    .await
    .expect("follow");
    assert!(followed.interrupted);
    assert_eq!(followed.state(), Some(&ReplayState::Completed));
}
