//! `webhook-bridge replay`: send an archive's events of a time window to the bridge's rules
//! again, and follow the replay to its end.

use std::path::PathBuf;
use std::process::ExitCode;

use super::batch::cli_engine;
use super::manifests::{bridge_name, one_bridge};
use super::output::{print_calls, report};
use super::{Cli, Output};
use crate::api::WebhookBridge;
use crate::engine::Engine;
use crate::error::Error;

#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// Replay events from this time on (RFC 3339, e.g. 2026-11-27T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// Replay events up to this time (RFC 3339): after --from, and not after now.
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// Replay to this rule of the bridge only (its name in spec.rules; repeatable). Default:
    /// all of the bridge's rules, and no other rule on the bus.
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,
    /// `json`: print the final DescribeReplay on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Milliseconds between DescribeReplay calls.
    #[arg(long, hide = true, default_value_t = 1000)]
    pub poll_interval_ms: u64,
}

/// `webhook-bridge replay`: checks without AWS first (bad input exits 3), then StartReplay and
/// follow it. Exit 0 COMPLETED, 1 FAILED or CANCELLED, 130 after Ctrl-C.
pub(super) async fn run(cli: &Cli, args: &ReplayArgs) -> ExitCode {
    use crate::replay;
    let bridge = match one_bridge(&args.file) {
        Ok(b) => b,
        Err(e) => return report(&e),
    };
    let name = bridge_name(&bridge);
    let checked = replay::check_archive(&bridge)
        .and_then(|()| replay::window(&args.from, &args.to, jiff::Timestamp::now()))
        .and_then(|w| replay::rules(&bridge, &args.rules).map(|rules| (w, rules)));
    let (window, rules) = match checked {
        Ok(x) => x,
        Err(e) => {
            eprint!("{name}: ");
            return report(&e);
        }
    };
    let engine = cli_engine(cli).await;
    let code = run_replay(&engine, &bridge, &name, args, window, &rules).await;
    print_calls(&engine);
    code
}

async fn run_replay(
    engine: &Engine,
    bridge: &WebhookBridge,
    name: &str,
    args: &ReplayArgs,
    window: crate::replay::Window,
    rules: &[String],
) -> ExitCode {
    use crate::replay;
    use std::io::IsTerminal;
    use std::sync::Arc;

    let fail = |e: Error| {
        eprint!("{name}: ");
        report(&e)
    };
    let (c, d) = match engine.prepare(bridge, true).await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let archive_arn = match replay::archive_arn(&c.events, &d).await {
        Ok(arn) => arn,
        Err(e) => return fail(e),
    };
    let archive_name = d.archive.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    let request = replay::Request {
        archive_arn,
        archive_name: archive_name.clone(),
        bus_arn: d.bus.arn.clone(),
        filter_arns: replay::filter_arns(&d, rules),
        window,
        description: format!("webhook-bridge replay for {name}"),
    };
    // Ctrl-C is caught from here on (before StartReplay, so a replay never runs on uncancelled).
    let interrupts = Arc::new(tokio::sync::Notify::new());
    let forwarder = match interrupt_forwarder(interrupts.clone()) {
        Ok(task) => task,
        Err(e) => return fail(Error::Config(format!("cannot catch Ctrl-C: {e}"))),
    };
    let replay_name = match replay::start(&c.events, &request).await {
        Ok(n) => n,
        Err(e) => {
            forwarder.abort();
            return fail(e);
        }
    };
    eprintln!(
        "{name}: replay {replay_name} started: events from {} to {} in archive {archive_name}, to rule(s) {}",
        window.from,
        window.to,
        rules.join(", ")
    );
    let options = replay::Follow {
        interval: std::time::Duration::from_millis(args.poll_interval_ms.max(1)),
        bar: std::io::stderr().is_terminal(),
        line_every: std::time::Duration::from_secs(10),
    };
    let mut stderr = std::io::stderr();
    let followed = replay::follow(&c.events, &replay_name, window, options, &mut stderr, || {
        let interrupts = interrupts.clone();
        async move { interrupts.notified().await }
    })
    .await;
    forwarder.abort();
    let followed = match followed {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "{name}: lost track of replay {replay_name}; it goes on in AWS (aws events describe-replay --replay-name {replay_name})"
            );
            return fail(e);
        }
    };
    let state = followed.state().map_or("UNKNOWN", |s| s.as_str()).to_string();
    if args.output == Output::Json {
        if let Some(r) = &followed.replay {
            println!("{}", serde_json::to_string_pretty(&replay::to_json(r)).unwrap_or_default());
        }
    } else {
        println!("{name}: replay {replay_name} {state}");
    }
    let completed = followed.state() == Some(&aws_sdk_eventbridge::types::ReplayState::Completed);
    if !completed && !followed.abandoned {
        let reason = followed.replay.as_ref().and_then(|r| r.state_reason()).unwrap_or("AWS gave no reason");
        eprintln!("{name}: replay {replay_name} {state}: {reason}");
    }
    if followed.interrupted {
        ExitCode::from(130)
    } else if completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A task that turns each Ctrl-C (SIGINT) into a notification (kept until awaited), catching it
/// from the moment this returns.
fn interrupt_forwarder(to: std::sync::Arc<tokio::sync::Notify>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint = signal(SignalKind::interrupt())?;
        Ok(tokio::spawn(async move {
            while sigint.recv().await.is_some() {
                to.notify_one();
            }
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                to.notify_one();
            }
        }))
    }
}
