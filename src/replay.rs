//! `webhook-bridge replay`: send a time window of the bus archive's events to the bridge's rules
//! again (EventBridge StartReplay), and follow the replay to its end.
//!
//! Everything checkable without AWS is checked first ([`window`], [`rules`]): the times, that the
//! bridge has an archive, that each `--rule` is one of its rules. Then the replay is started from
//! the archive onto the bridge's bus, filtered to the bridge's own rules (without `FilterArns`
//! AWS replays to every rule on the bus, other teams' rules on a shared bus included), and
//! [`follow`] polls DescribeReplay until COMPLETED, FAILED or CANCELLED.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::operation::describe_replay::DescribeReplayOutput;
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::api::WebhookBridge;
use crate::desired::Desired;
use crate::error::{Error, classify};
use crate::owner;

const SVC: &str = "eventbridge";

/// The events to replay: those whose time is in `[from, to]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

fn parse_time(flag: &str, value: &str) -> Result<Timestamp, Error> {
    value.trim().parse::<Timestamp>().map_err(|e| {
        Error::Config(format!("{flag} {value:?}: not an RFC 3339 time such as 2026-11-27T10:00:00Z ({e})"))
    })
}

/// `--from` and `--to`, checked: RFC 3339, `from` before `to`, `to` not after `now` (an archive
/// holds no events from the future; AWS's API reference sets no such bound, so it is ours).
pub fn window(from: &str, to: &str, now: Timestamp) -> Result<Window, Error> {
    let (from, to) = (parse_time("--from", from)?, parse_time("--to", to)?);
    if from >= to {
        return Err(Error::Config(format!("--from {from} is not before --to {to}: give --from earlier than --to")));
    }
    if to > now {
        return Err(Error::Config(format!(
            "--to {to} is in the future (now is {}): the archive holds no events after now; give --to at or before now",
            now.round(jiff::Unit::Second).unwrap_or(now)
        )));
    }
    Ok(Window { from, to })
}

/// The bridge must keep an archive (`spec.eventBus.archive`) to replay from.
pub fn check_archive(bridge: &WebhookBridge) -> Result<(), Error> {
    if bridge.spec.event_bus.archive.is_some() {
        Ok(())
    } else {
        Err(Error::invalid(
            "spec.eventBus.archive",
            "not set: replay sends events from the bus's archive, and this bridge keeps none; add spec.eventBus.archive (e.g. {retentionDays: 7}), apply, and replay events archived from then on",
        ))
    }
}

/// The spec names of the rules to replay to: each `--rule` (checked against the spec), or every
/// rule of the bridge when none is given.
pub fn rules(bridge: &WebhookBridge, wanted: &[String]) -> Result<Vec<String>, Error> {
    let names: Vec<&str> = bridge.spec.rules.iter().map(|r| r.name.as_str()).collect();
    if names.is_empty() {
        return Err(Error::invalid("spec.rules", "the bridge has no rules: a replay would deliver to no target"));
    }
    if wanted.is_empty() {
        return Ok(names.iter().map(|n| n.to_string()).collect());
    }
    let unknown: Vec<&String> = wanted.iter().filter(|w| !names.contains(&w.as_str())).collect();
    if !unknown.is_empty() {
        let unknown: Vec<String> = unknown.iter().map(|u| format!("{u:?}")).collect();
        return Err(Error::Config(format!(
            "--rule {}: not a rule of this bridge; its rules are: {}",
            unknown.join(", "),
            names.join(", ")
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for w in wanted {
        if !out.contains(w) {
            out.push(w.clone());
        }
    }
    Ok(out)
}

/// The AWS ARNs of the rules with these spec names (`Destination.FilterArns`).
pub fn filter_arns(d: &Desired, spec_names: &[String]) -> Vec<String> {
    spec_names.iter().filter_map(|n| d.rules.iter().find(|r| &r.spec_name == n)).map(|r| r.arn.clone()).collect()
}

/// `<archive>-<yyyymmddThhmmss>` (UTC), at most 64 characters of `[.\-_A-Za-z0-9]`.
pub fn replay_name(archive: &str, now: Timestamp) -> String {
    let name: String = format!("{archive}-{}", now.strftime("%Y%m%dT%H%M%S"))
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '-' })
        .collect();
    owner::bounded(&name, 64)
}

fn aws_time(t: Timestamp) -> Result<DateTime, Error> {
    DateTime::from_nanos(t.as_nanosecond()).map_err(|e| Error::Config(format!("time {t}: {e}")))
}

/// An AWS time as a jiff timestamp (None if out of jiff's range).
pub fn jiff_time(t: &DateTime) -> Option<Timestamp> {
    Timestamp::from_nanosecond(t.as_nanos()).ok()
}

fn rfc3339(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok()).map_or(Value::Null, Value::String)
}

/// The archive's ARN, read with DescribeArchive: it must exist and archive this bridge's bus.
pub async fn archive_arn(client: &Client, d: &Desired) -> Result<String, Error> {
    let Some(archive) = &d.archive else {
        return Err(Error::invalid("spec.eventBus.archive", "not set"));
    };
    let out = match client.describe_archive().archive_name(&archive.name).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = classify(SVC, "DescribeArchive", e);
            return Err(if e.is_not_found() {
                Error::DependencyMissing(crate::error::FieldError::new(
                    "spec.eventBus.archive",
                    format!(
                        "archive {} does not exist in AWS yet: run `webhook-bridge apply` first (only events put after that are archived)",
                        archive.name
                    ),
                ))
            } else {
                e
            });
        }
    };
    let source = out.event_source_arn().unwrap_or_default();
    if source != d.bus.arn {
        return Err(Error::Conflict(crate::error::FieldError::new(
            "spec.eventBus.archive",
            format!("archive {} archives {source}, not this bridge's bus {}", archive.name, d.bus.arn),
        )));
    }
    Ok(out.archive_arn().map_or_else(|| archive.arn.clone(), str::to_string))
}

/// What to replay, where.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub archive_arn: String,
    pub archive_name: String,
    pub bus_arn: String,
    pub filter_arns: Vec<String>,
    pub window: Window,
    pub description: String,
}

/// StartReplay; returns the replay's name. A name already taken (two replays started within the
/// same second) waits for the next second and tries again.
pub async fn start(client: &Client, request: &Request) -> Result<String, Error> {
    let destination = ReplayDestination::builder()
        .arn(&request.bus_arn)
        .set_filter_arns(Some(request.filter_arns.clone()))
        .build()
        .map_err(|e| Error::Config(format!("StartReplay destination: {e}")))?;
    let mut attempt = 0;
    loop {
        let name = replay_name(&request.archive_name, Timestamp::now());
        let sent = client
            .start_replay()
            .replay_name(&name)
            .description(&request.description)
            .event_source_arn(&request.archive_arn)
            .event_start_time(aws_time(request.window.from)?)
            .event_end_time(aws_time(request.window.to)?)
            .destination(destination.clone())
            .send()
            .await;
        // Matched on AWS's code, whatever its class: ResourceAlreadyExistsException is retryable
        // in general (a create that raced), here it means "a replay of that name exists"
        // (LocalStack's AWS-validated snapshot, tests/aws/services/events/
        // test_archive_and_replay.snapshot.json, test_start_replay_error_duplicate_name_same_archive:
        // 400 "Replay <replay-name> already exists."), i.e. one started within the same second.
        let sent = sent.map_err(|e| classify(SVC, "StartReplay", e));
        let code = match &sent {
            Err(Error::Rejected { code, .. } | Error::Transient { code, .. }) => code.as_str(),
            Err(Error::QuotaExceeded { .. }) => "LimitExceededException",
            _ => "",
        };
        if code == "LimitExceededException" {
            // Too many replays running at once (the same snapshot file,
            // tests_concurrency_error_too_many_active_replays: 400 LimitExceededException "The
            // requested resource exceeds the maximum number allowed."): temporary, not a quota
            // to raise; it clears as a running replay ends.
            return Err(Error::Transient {
                service: SVC,
                operation: "StartReplay",
                code: code.to_string(),
                message: "too many replays are running in this account and region; run again when one has finished"
                    .into(),
            });
        }
        match sent {
            Ok(_) => return Ok(name),
            Err(_) if code == "ResourceAlreadyExistsException" && attempt < 3 => {
                attempt += 1;
                let now = Timestamp::now();
                let into_second = Duration::from_nanos(u64::try_from(now.subsec_nanosecond()).unwrap_or(0));
                tokio::time::sleep(Duration::from_secs(1).saturating_sub(into_second) + Duration::from_millis(10))
                    .await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How [`follow`] polls and shows progress.
#[derive(Clone, Copy, Debug)]
pub struct Follow {
    /// Between DescribeReplay calls.
    pub interval: Duration,
    /// A progress bar redrawn in place (a terminal), or one line per state change and at most
    /// every `line_every` otherwise.
    pub bar: bool,
    pub line_every: Duration,
}

/// Where a followed replay ended.
#[derive(Clone, Debug)]
pub struct Followed {
    /// The last DescribeReplay (None only when abandoned before the first answer).
    pub replay: Option<DescribeReplayOutput>,
    /// Ctrl-C was pressed: CancelReplay was sent.
    pub interrupted: bool,
    /// A second Ctrl-C: stopped waiting before the replay reached a final state.
    pub abandoned: bool,
}

impl Followed {
    pub fn state(&self) -> Option<&ReplayState> {
        self.replay.as_ref().and_then(|r| r.state())
    }
}

/// COMPLETED, FAILED and CANCELLED are final.
pub fn is_final(state: Option<&ReplayState>) -> bool {
    matches!(state, Some(ReplayState::Completed | ReplayState::Failed | ReplayState::Cancelled))
}

/// The share of the window replayed, 0 to 1: EventLastReplayedTime between from and to (1 once
/// COMPLETED, whatever AWS reports).
pub fn progress(window: Window, state: Option<&ReplayState>, last: Option<&DateTime>) -> f64 {
    if state == Some(&ReplayState::Completed) {
        return 1.0;
    }
    let Some(last) = last.and_then(jiff_time) else { return 0.0 };
    let total = window.to.as_nanosecond() - window.from.as_nanosecond();
    if total <= 0 {
        return 0.0;
    }
    ((last.as_nanosecond() - window.from.as_nanosecond()) as f64 / total as f64).clamp(0.0, 1.0)
}

fn state_str(state: Option<&ReplayState>) -> &str {
    state.map_or("UNKNOWN", |s| s.as_str())
}

/// One progress line: `[#########...........]  45%  RUNNING  up to 2026-11-27T10:04:00Z`.
pub fn progress_line(window: Window, replay: &DescribeReplayOutput) -> String {
    const WIDTH: usize = 30;
    let share = progress(window, replay.state(), replay.event_last_replayed_time());
    let filled = ((share * WIDTH as f64).round() as usize).min(WIDTH);
    let mut line = format!(
        "[{}{}] {:>3}%  {}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        (share * 100.0).floor() as u32,
        state_str(replay.state())
    );
    if let Some(last) = replay.event_last_replayed_time().and_then(jiff_time) {
        line.push_str(&format!("  up to {}", last.round(jiff::Unit::Second).unwrap_or(last)));
    }
    line
}

struct Display<'a> {
    out: &'a mut dyn Write,
    follow: Follow,
    window: Window,
    name: &'a str,
    last_state: Option<String>,
    last_line: Option<Instant>,
    drawn: bool,
}

impl Display<'_> {
    fn show(&mut self, replay: &DescribeReplayOutput) {
        let state = state_str(replay.state()).to_string();
        let line = progress_line(self.window, replay);
        if self.follow.bar {
            let _ = write!(self.out, "\r\x1b[2Kreplay {} {line}", self.name);
            self.drawn = true;
        } else {
            let changed = self.last_state.as_deref() != Some(state.as_str());
            let due = self.last_line.is_none_or(|t| t.elapsed() >= self.follow.line_every);
            if changed || due {
                let _ = writeln!(self.out, "replay {} {line}", self.name);
                self.last_line = Some(Instant::now());
            }
        }
        let _ = self.out.flush();
        self.last_state = Some(state);
    }

    /// A message on a line of its own (ending the bar's line first).
    fn say(&mut self, message: &str) {
        if self.drawn {
            let _ = writeln!(self.out);
            self.drawn = false;
        }
        let _ = writeln!(self.out, "{message}");
        let _ = self.out.flush();
    }

    fn end(&mut self) {
        if self.drawn {
            let _ = writeln!(self.out);
            self.drawn = false;
        }
    }
}

async fn describe(client: &Client, name: &str) -> Result<DescribeReplayOutput, Error> {
    client.describe_replay().replay_name(name).send().await.map_err(|e| classify(SVC, "DescribeReplay", e))
}

/// CancelReplay. A replay already final (IllegalStatusException) is not an error: the next
/// DescribeReplay shows how it ended.
async fn cancel(client: &Client, name: &str) -> Result<(), Error> {
    match client.cancel_replay().replay_name(name).send().await.map_err(|e| classify(SVC, "CancelReplay", e)) {
        Ok(_) => Ok(()),
        Err(Error::Rejected { code, .. }) if code == "IllegalStatusException" => Ok(()),
        Err(e) => Err(e),
    }
}

/// Poll DescribeReplay until the replay is final, drawing progress on `out`. `interrupt` makes a
/// future that resolves on Ctrl-C: the first sends CancelReplay and waits for the replay to end
/// (CANCELLED, or whatever it reached first); a second stops waiting.
pub async fn follow<I, F>(
    client: &Client,
    name: &str,
    window: Window,
    options: Follow,
    out: &mut dyn Write,
    mut interrupt: I,
) -> Result<Followed, Error>
where
    I: FnMut() -> F,
    F: Future<Output = ()>,
{
    let mut display = Display { out, follow: options, window, name, last_state: None, last_line: None, drawn: false };
    let mut followed = Followed { replay: None, interrupted: false, abandoned: false };
    let mut signal = Box::pin(interrupt());
    loop {
        let mut signalled = false;
        tokio::select! {
            answer = describe(client, name) => {
                let replay = answer?;
                display.show(&replay);
                let done = is_final(replay.state());
                followed.replay = Some(replay);
                if done {
                    display.end();
                    return Ok(followed);
                }
            }
            () = &mut signal => signalled = true,
        }
        if !signalled {
            tokio::select! {
                () = tokio::time::sleep(options.interval) => {}
                () = &mut signal => signalled = true,
            }
        }
        if signalled {
            if followed.interrupted {
                display.say(&format!(
                    "stopped waiting; replay {name} may still be cancelling (aws events describe-replay --replay-name {name})"
                ));
                followed.abandoned = true;
                return Ok(followed);
            }
            followed.interrupted = true;
            display.say(&format!("interrupted: cancelling replay {name} (Ctrl-C again to stop waiting)"));
            cancel(client, name).await?;
            signal = Box::pin(interrupt());
        }
    }
}

/// A DescribeReplay answer as JSON, with AWS's member names and RFC 3339 times.
pub fn to_json(r: &DescribeReplayOutput) -> Value {
    json!({
        "ReplayName": r.replay_name(),
        "ReplayArn": r.replay_arn(),
        "Description": r.description(),
        "State": r.state().map(|s| s.as_str()),
        "StateReason": r.state_reason(),
        "EventSourceArn": r.event_source_arn(),
        "Destination": r.destination().map(|d| json!({"Arn": d.arn(), "FilterArns": d.filter_arns()})),
        "EventStartTime": rfc3339(r.event_start_time()),
        "EventEndTime": rfc3339(r.event_end_time()),
        "EventLastReplayedTime": rfc3339(r.event_last_replayed_time()),
        "ReplayStartTime": rfc3339(r.replay_start_time()),
        "ReplayEndTime": rfc3339(r.replay_end_time()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn the_window_is_checked_before_any_aws_call() {
        let now = t("2026-11-27T12:00:00Z");
        let w = window("2026-11-27T10:00:00Z", "2026-11-27T12:00:00+01:00", now).expect("ok");
        assert_eq!((w.from, w.to), (t("2026-11-27T10:00:00Z"), t("2026-11-27T11:00:00Z")));
        let e = window("2026-11-27T10:00:00Z", "2026-11-27T09:00:00Z", now).expect_err("from after to").to_string();
        assert!(e.contains("--from") && e.contains("--to"), "{e}");
        let e = window("2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z", now).expect_err("empty").to_string();
        assert!(e.contains("not before"), "{e}");
        let e = window("2026-11-27T10:00:00Z", "2026-11-27T12:00:01Z", now).expect_err("future").to_string();
        assert!(e.contains("--to") && e.contains("future"), "{e}");
        let e = window("yesterday", "2026-11-27T11:00:00Z", now).expect_err("bad").to_string();
        assert!(e.contains("--from \"yesterday\"") && e.contains("RFC 3339"), "{e}");
        assert!(window("2026-11-27T10:00:00Z", "2026-11-27T12:00:00Z", now).is_ok(), "to == now is fine");
    }

    #[test]
    fn replay_names_fit_aws() {
        let now = t("2026-11-27T10:04:05.5Z");
        assert_eq!(replay_name("whb-1234abcd-default-orders", now), "whb-1234abcd-default-orders-20261127T100405");
        let long = replay_name(&"a".repeat(48), now);
        assert_eq!(long.len(), 64);
        assert!(long.ends_with("-20261127T100405"));
        let odd = replay_name(&format!("{}/x", "b".repeat(60)), now);
        assert!(odd.len() <= 64 && odd.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)), "{odd}");
    }

    #[test]
    fn progress_follows_the_last_replayed_time() {
        let w = Window { from: t("2026-11-27T10:00:00Z"), to: t("2026-11-27T11:00:00Z") };
        let at = |s: &str| DateTime::from_secs(t(s).as_second());
        assert_eq!(progress(w, Some(&ReplayState::Running), None), 0.0);
        assert_eq!(progress(w, Some(&ReplayState::Running), Some(&at("2026-11-27T10:15:00Z"))), 0.25);
        assert_eq!(progress(w, Some(&ReplayState::Running), Some(&at("2026-11-27T12:00:00Z"))), 1.0);
        assert_eq!(progress(w, Some(&ReplayState::Completed), None), 1.0);
        let r = DescribeReplayOutput::builder()
            .state(ReplayState::Running)
            .event_last_replayed_time(at("2026-11-27T10:30:00Z"))
            .build();
        let line = progress_line(w, &r);
        assert!(line.starts_with(&format!("[{}{}]  50%  RUNNING", "#".repeat(15), ".".repeat(15))), "{line}");
        assert!(line.ends_with("up to 2026-11-27T10:30:00Z"), "{line}");
    }

    #[test]
    fn json_uses_aws_member_names() {
        let r = DescribeReplayOutput::builder()
            .replay_name("r")
            .state(ReplayState::Failed)
            .state_reason("boom")
            .event_start_time(DateTime::from_secs(0))
            .build();
        let v = to_json(&r);
        assert_eq!(v["State"], "FAILED");
        assert_eq!(v["StateReason"], "boom");
        assert_eq!(v["EventStartTime"], "1970-01-01T00:00:00Z");
        assert_eq!(v["EventLastReplayedTime"], Value::Null);
    }
}
