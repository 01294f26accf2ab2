//! The `webhook-bridge` command line. Each command runs the same engine the operator runs; state
//! lives in AWS (found by ownership tags), never in a local file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::admission;
use crate::api::{WebhookBridge, WebhookBridgeStatus, crd_yaml, policy_crd_yaml};
use crate::aws::Aws;
use crate::engine::Engine;
use crate::error::{Error, FieldError};
use crate::status;

#[derive(Parser, Debug)]
#[command(name = "webhook-bridge", version, about = "One WebhookBridge object → API Gateway HTTP API → EventBridge")]
pub struct Cli {
    /// Default AWS region for bridges without spec.region (else AWS_REGION / the AWS profile).
    #[arg(long, global = true, env = "WEBHOOK_BRIDGE_REGION")]
    pub region: Option<String>,
    /// Cluster name written into ownership tags; two clusters sharing an account must differ.
    #[arg(long, global = true, env = "WEBHOOK_BRIDGE_CLUSTER_NAME", default_value = "default", value_parser = cluster_name)]
    pub cluster_name: String,
    /// Permissions boundary (a managed policy ARN) every managed IAM role gets; the hardened
    /// operator IAM policy (docs/iam-policy.json) allows CreateRole only with it.
    #[arg(long, global = true, env = "WEBHOOK_BRIDGE_ROLE_PERMISSIONS_BOUNDARY")]
    pub role_permissions_boundary: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrdKind {
    /// webhookbridges.webhookbridge.io
    Bridge,
    /// webhookbridgepolicies.webhookbridge.io
    Policy,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a CustomResourceDefinition's YAML (crds/ holds both).
    Crd {
        #[arg(value_enum, default_value_t = CrdKind::Bridge)]
        kind: CrdKind,
    },
    /// Print the AWS writes a reconcile (or with --delete, a delete) would make now. No writes.
    Plan {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Plan the removal instead.
        #[arg(long)]
        delete: bool,
    },
    /// Reconcile once and print the resulting status as YAML.
    Apply {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
    },
    /// Remove what the bridge owns in AWS (honouring deletionPolicy).
    Delete {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
    },
    /// Show a bridge at a glance, as AWS holds it now: URL, custom domain and its DNS target,
    /// archive, access-log group, dead-letter queue coverage, route URLs, rules and their
    /// targets, and whether AWS is in sync with the file. No writes.
    Status {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// `json`: an array with one object per bridge: name, inSync, changes, actions, status.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Send the archived events of a time window to the bridge's rules again (EventBridge
    /// replay from the archive of spec.eventBus.archive), and follow the replay to its end.
    ///
    /// The replay goes to the bridge's own rules only (Destination.FilterArns), or to the
    /// --rule ones: without FilterArns AWS replays to every rule on the bus, including other
    /// teams' rules on a shared bus, so they would receive the events a second time.
    ///
    /// Progress (how far EventLastReplayedTime has come from --from to --to, and the state) is
    /// drawn on stderr. Exit 0 when the replay COMPLETED, 1 when it FAILED or was CANCELLED
    /// (with AWS's reason); Ctrl-C cancels the replay (CancelReplay), waits for CANCELLED and
    /// exits 130. Archiving lags: AWS recommends replaying events at least 10 minutes old.
    Replay(ReplayArgs),
    /// Run the operator: reconcile WebhookBridges in the cluster (in-cluster config or KUBECONFIG).
    Run(RunArgs),
    /// Show what a request would do, offline: the PutEvents entry API Gateway builds, each rule's
    /// verdict (or the first field that failed), and what each matched target receives.
    /// Exit 0 when the request reaches EventBridge, 1 when it does not (no route, a mapping error).
    Simulate(SimulateArgs),
    /// Serve the bridge's routes on localhost: each request is simulated and logged; answered as
    /// API Gateway would (200, 404, 500). `--forward` also puts the event on the bridge's bus.
    Serve {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Listen on this address.
        #[arg(long, default_value = "127.0.0.1")]
        address: std::net::IpAddr,
        /// Also send each entry with PutEvents (AWS or the emulator, from the environment).
        #[arg(long)]
        forward: bool,
    },
    /// Run request fixtures (each: a request and the expected rules, targets, payloads) for CI.
    /// Exit 1 on any mismatch, with a diff.
    Test {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Directory of fixtures (*.yaml, *.yml, *.json).
        fixtures: PathBuf,
        /// Also write the results as JUnit XML.
        #[arg(long)]
        junit: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// The route to call (its method and path; path parameters stay as written unless --path).
    #[arg(long)]
    pub route: Option<String>,
    #[arg(long)]
    pub method: Option<String>,
    #[arg(long)]
    pub path: Option<String>,
    /// The body: text, `@file`, or `-` for stdin.
    #[arg(long)]
    pub body: Option<String>,
    /// A header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// A query parameter, `name=value` (repeatable).
    #[arg(long = "query")]
    pub query: Vec<String>,
    /// Instead of a request: a full event (`@file`, `-` for stdin, or the JSON), run through the
    /// rules and targets as is, as AWS's TestEventPattern takes one (id, account, source, time,
    /// region and detail-type required; any other top-level field allowed).
    #[arg(long, value_name = "EVENT", conflicts_with_all = ["route", "method", "path", "body", "headers", "query"])]
    pub event: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

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

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Namespaces to watch (comma-separated); all namespaces when empty.
    #[arg(long, env = "WEBHOOK_BRIDGE_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Only reconcile WebhookBridges matching this label selector.
    #[arg(long, env = "WEBHOOK_BRIDGE_LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// Seconds between drift-correcting resyncs of an in-sync bridge.
    #[arg(long, env = "WEBHOOK_BRIDGE_RESYNC_SECONDS", default_value_t = 600)]
    pub resync_seconds: u64,
    /// API Gateway reads per second all in-sync resyncs may use together (its quota is 10/s per
    /// account, shared with everything else): with more bridges than fit, the resync interval
    /// stretches (metric webhook_bridge_effective_resync_seconds).
    #[arg(long, env = "WEBHOOK_BRIDGE_RESYNC_READ_BUDGET", default_value_t = 4.0)]
    pub resync_read_budget: f64,
    /// Reconciles running at once (per watched namespace).
    #[arg(long, env = "WEBHOOK_BRIDGE_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    /// First retry delay after a retryable error, in seconds (doubles per failure, with jitter).
    #[arg(long, default_value_t = 5)]
    pub backoff_seconds: u64,
    /// Cap on the retry delay, in seconds.
    #[arg(long, default_value_t = 300)]
    pub max_backoff_seconds: u64,
    /// AWS API requests per second, per service, across all bridges (client-side rate limit).
    /// Default: each service well under its documented quota (API Gateway 8/s, EventBridge 20/s,
    /// IAM 10/s, Lambda 10/s, STS 20/s); a value here applies to every service.
    #[arg(long, env = "WEBHOOK_BRIDGE_AWS_RATE")]
    pub aws_rate: Option<f64>,
    /// AWS API request burst per service, with --aws-rate (default: the rate, at least 1).
    #[arg(long, requires = "aws_rate")]
    pub aws_burst: Option<u32>,
    /// Where /metrics, /healthz and /readyz listen.
    #[arg(long, env = "WEBHOOK_BRIDGE_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// After a change to a managed role, stay RolePropagating (not Ready) this long: IAM changes
    /// take about 10 to 30 s to reach API Gateway, which answers 500 until then.
    #[arg(long, env = "WEBHOOK_BRIDGE_ROLE_PROPAGATION_SECONDS", default_value_t = 30)]
    pub role_propagation_seconds: u64,
    /// Elect a leader on a Lease so several replicas can run with one writer.
    #[arg(long, env = "WEBHOOK_BRIDGE_LEADER_ELECTION")]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "webhook-bridge-leader")]
    pub lease_name: String,
    /// Lease duration: a leader that stops renewing is replaced after about this long, and stops
    /// calling AWS shortly before it (see README "Leader election").
    #[arg(long, env = "WEBHOOK_BRIDGE_LEASE_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub lease_seconds: u64,
    /// Namespace of the Lease (the operator's own).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's identity (pod name).
    #[arg(long, env = "POD_NAME", default_value = "webhook-bridge")]
    pub identity: String,
    /// `multi`: every namespace needs a WebhookBridgePolicy selecting it, which decides what
    /// its bridges may do and whose AWS identity acts (fail closed). `single`: one team owns
    /// the cluster and the account; the operator's identity acts for every bridge.
    #[arg(long, env = "WEBHOOK_BRIDGE_TENANCY", value_enum, default_value_t = TenancyMode::Multi)]
    pub tenancy: TenancyMode,
    /// Apply the CRDs of this version (server-side) at start, so a chart upgrade brings new
    /// and changed CRDs too (Helm never upgrades `crds/`). Needs get/patch on the two CRDs.
    #[arg(long, env = "WEBHOOK_BRIDGE_INSTALL_CRDS")]
    pub install_crds: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenancyMode {
    Single,
    Multi,
}

/// A cluster name goes into tags, session names and the IAM role path: a DNS label.
fn cluster_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("must be a DNS label: 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'".into())
    }
}

/// Exit codes a script can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    /// A usage error (bad flags) — clap's own code.
    pub const USAGE: u8 = 2;
    /// The file or spec is invalid: fix it.
    pub const INVALID: u8 = 3;
    /// AWS refused for good (conflict, access denied, rejected): fix the account or spec.
    pub const TERMINAL: u8 = 4;
    /// AWS failed for now (throttling, 5xx, missing dependency): run again later.
    pub const RETRYABLE: u8 = 5;
}

fn exit_code(error: &Error) -> u8 {
    match error {
        Error::InvalidSpec(_) | Error::Config(_) => exit::INVALID,
        e if e.is_retryable() => exit::RETRYABLE,
        _ => exit::TERMINAL,
    }
}

fn report(error: &Error) -> ExitCode {
    match error {
        Error::InvalidSpec(fields) => {
            eprintln!("error: invalid spec");
            for f in fields {
                eprintln!("  {f}");
            }
        }
        other => eprintln!("error: {other}"),
    }
    ExitCode::from(exit_code(error))
}

/// Read every WebhookBridge document of a YAML (or JSON) file, admission rules applied.
pub fn load(path: &Path) -> Result<Vec<WebhookBridge>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .map_err(|e| Error::Config(format!("{}: not valid YAML: {e}", path.display())))?;
    let mut bridges = Vec::new();
    for (i, doc) in docs.into_iter().filter(|d| !d.is_null()).enumerate() {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if kind != "WebhookBridge" || api_version != "webhookbridge.io/v1alpha1" {
            return Err(Error::InvalidSpec(vec![FieldError::new(
                format!("document {}", i + 1),
                format!(
                    "expected apiVersion webhookbridge.io/v1alpha1 and kind WebhookBridge, got {api_version:?} {kind:?}"
                ),
            )]));
        }
        bridges.push(admission::admit(&doc).map_err(Error::InvalidSpec)?);
    }
    if bridges.is_empty() {
        return Err(Error::Config(format!("{}: no WebhookBridge in the file", path.display())));
    }
    Ok(bridges)
}

fn print_calls(engine: &Engine) {
    let c = &engine.aws.counter;
    eprintln!("AWS calls: {} reads, {} writes", c.reads(), c.writes());
}

pub async fn run(cli: Cli) -> ExitCode {
    let file = match &cli.command {
        Command::Crd { kind } => {
            let yaml = match kind {
                CrdKind::Bridge => crd_yaml(),
                CrdKind::Policy => policy_crd_yaml(),
            };
            return match yaml {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => report(&Error::Config(e.to_string())),
            };
        }
        Command::Plan { file, .. }
        | Command::Apply { file }
        | Command::Delete { file }
        | Command::Status { file, .. } => file,
        Command::Replay(args) => return replay(&cli, args).await,
        Command::Run(args) => return run_operator(&cli, args.clone()).await,
        Command::Simulate(args) => return simulate(args),
        Command::Serve { file, port, address, forward } => {
            return serve(&cli, file, std::net::SocketAddr::new(*address, *port), *forward).await;
        }
        Command::Test { file, fixtures, junit } => return test_fixtures(file, fixtures, junit.as_deref()),
    };
    let bridges = match load(file) {
        Ok(b) => b,
        Err(e) => return report(&e),
    };
    if matches!(cli.command, Command::Plan { .. } | Command::Apply { .. }) {
        bridges.iter().for_each(print_warnings);
    }
    let engine = cli_engine(&cli).await;
    let mut code = ExitCode::SUCCESS;
    let mut statuses: Vec<Value> = Vec::new();
    for bridge in &bridges {
        let name = bridge_name(bridge);
        let result = match &cli.command {
            Command::Plan { delete, .. } => {
                let planned = if *delete { engine.plan_delete(bridge).await } else { engine.plan(bridge).await };
                planned.map(|actions| {
                    if actions.is_empty() {
                        println!("{name}: no changes; AWS is in sync");
                    } else {
                        println!("{name}: {} change(s)", actions.len());
                        for a in actions {
                            println!("  {a}");
                        }
                    }
                })
            }
            Command::Apply { .. } => engine.reconcile(bridge).await.and_then(|outcome| {
                if outcome.actions.iter().any(|a| a.changes_role()) {
                    eprintln!(
                        "{name}: note: the IAM role changed; API Gateway can assume it once IAM has propagated the change (about 10 to 30 s); webhooks may be answered 500 until then"
                    );
                }
                let now = status::now();
                let generation = bridge.metadata.generation;
                let message = format!("{} AWS write(s) applied; AWS matches the spec", outcome.actions.len());
                let conditions = if outcome.delivery_gaps.is_empty() {
                    status::ready(generation, &message)
                } else {
                    let gaps = status::delivery_gaps_message(&outcome.delivery_gaps);
                    eprintln!("{name}: warning: {gaps}");
                    status::progressing(generation, "TargetPolicyMissing", &gaps)
                };
                let st = WebhookBridgeStatus {
                    observed_generation: generation,
                    conditions: status::stamp(&[], conditions, &now),
                    last_synced_time: Some(now),
                    ..outcome.status
                };
                let yaml = serde_saphyr::to_string(&serde_json::json!({ "name": name, "status": st }))
                    .map_err(|e| Error::Config(e.to_string()))?;
                println!("---\n{yaml}");
                Ok(())
            }),
            Command::Delete { .. } => engine.delete(bridge).await.map(|actions| {
                if bridge.spec.deletion_policy == crate::api::DeletionPolicy::Retain {
                    println!("{name}: deletionPolicy Retain; AWS left untouched");
                } else {
                    println!("{name}: deleted ({} AWS write(s))", actions.len());
                }
            }),
            Command::Status { output, .. } => match glance(&engine, bridge).await {
                Ok(g) => {
                    if *output == Output::Json {
                        statuses.push(g.to_json(&name));
                    } else {
                        print!("{}", g.text(&name, bridge, file));
                    }
                    g.plan.map(|_| ())
                }
                Err(e) => Err(e),
            },
            Command::Crd { .. }
            | Command::Run(_)
            | Command::Simulate(_)
            | Command::Serve { .. }
            | Command::Test { .. }
            | Command::Replay(_) => Ok(()),
        };
        if let Err(e) = result {
            eprint!("{name}: ");
            code = report(&e);
        }
    }
    if let Command::Status { output: Output::Json, .. } = &cli.command {
        match serde_json::to_string_pretty(&statuses) {
            Ok(json) => println!("{json}"),
            Err(e) => code = report(&Error::Config(e.to_string())),
        }
    }
    print_calls(&engine);
    code
}

/// `namespace/name` of a bridge, as every command prints it.
fn bridge_name(bridge: &WebhookBridge) -> String {
    format!(
        "{}/{}",
        bridge.metadata.namespace.as_deref().unwrap_or("default"),
        bridge.metadata.name.as_deref().unwrap_or("")
    )
}

/// The engine the file commands run: AWS from the environment, the global flags applied.
async fn cli_engine(cli: &Cli) -> Engine {
    let mut engine = Engine::new(Aws::from_env().await, cli.cluster_name.clone());
    engine.role_boundary = cli.role_permissions_boundary.clone();
    if cli.region.is_some() {
        engine.default_region = cli.region.clone();
    }
    engine
}

/// What `status` shows of one bridge: the status built from a read-only look at AWS, and the
/// plan from that same look (or why there is none).
struct Glance {
    status: WebhookBridgeStatus,
    plan: Result<Vec<crate::plan::Action>, Error>,
}

/// Read AWS (no writes: prepare, observe, plan; never reconcile) and describe the bridge.
async fn glance(engine: &Engine, bridge: &WebhookBridge) -> Result<Glance, Error> {
    let (c, d) = engine.prepare(bridge, true).await?;
    let o = engine.observe(&c, &d).await?;
    let plan = crate::plan::plan(&d, &o);
    Ok(Glance { status: status::describe(&d, &o), plan })
}

impl Glance {
    fn to_json(&self, name: &str) -> Value {
        let mut v = serde_json::json!({ "name": name, "status": self.status });
        match &self.plan {
            Ok(actions) => {
                v["inSync"] = Value::Bool(actions.is_empty());
                v["changes"] = Value::from(actions.len());
                v["actions"] = Value::from(actions.iter().map(ToString::to_string).collect::<Vec<_>>());
            }
            Err(e) => {
                v["inSync"] = Value::Null;
                v["error"] = Value::String(e.to_string());
            }
        }
        v
    }

    fn text(&self, name: &str, bridge: &WebhookBridge, file: &Path) -> String {
        use std::fmt::Write as _;
        let st = &self.status;
        let spec = &bridge.spec;
        let absent = |wanted: bool| if wanted { "not created yet" } else { "none" };
        let mut out = String::new();
        let mut line = |label: &str, value: &str| {
            let _ = writeln!(out, "  {label:<15}{value}");
        };
        line("URL", st.endpoint.as_deref().unwrap_or("not created yet (no API)"));
        match &st.domain {
            Some(domain) => {
                line("custom domain", &domain.url);
                let target = match (&domain.target_domain_name, &domain.hosted_zone_id) {
                    (Some(t), Some(zone)) => {
                        format!("CNAME {} -> {t} (Route 53 alias: hosted zone {zone})", domain.name)
                    }
                    (Some(t), None) => format!("CNAME {} -> {t}", domain.name),
                    _ => "pending: API Gateway has not reported the regional domain name yet".to_string(),
                };
                line("DNS", &target);
            }
            None => line("custom domain", absent(spec.domain.is_some())),
        }
        match &st.archive {
            Some(a) => line("archive", &format!("{} ({})", a.name, a.arn)),
            None => line("archive", absent(spec.event_bus.archive.is_some())),
        }
        match &st.access_log_group {
            Some(g) => line("access logs", &g.name),
            None => line("access logs", absent(spec.api.access_logs.as_ref().is_some_and(|l| l.enabled))),
        }
        match &st.dead_letter_queues {
            Some(dlq) => line("DLQ", &format!("{dlq} target(s) have a dead-letter queue")),
            None => line("DLQ", "unknown"),
        }
        let _ = writeln!(out, "  routes");
        for r in &st.routes {
            let _ = writeln!(
                out,
                "    {:<20} {:<28} {}",
                r.name,
                r.route_key,
                r.url.as_deref().unwrap_or("not created yet")
            );
        }
        if let Some(domain) = &st.domain {
            for url in &domain.route_urls {
                let _ = writeln!(out, "    {:<20} {:<28} {url}", "", "(custom domain)");
            }
        }
        let _ = writeln!(out, "  rules");
        for r in &st.rules {
            let state =
                if r.arn.is_some() { format!("{} target(s)", r.targets) } else { "not created yet".to_string() };
            let _ = writeln!(out, "    {:<20} {:<28} {}", r.name, state, r.aws_name);
        }
        let sync = match &self.plan {
            Ok(actions) if actions.is_empty() => "in sync".to_string(),
            Ok(actions) => format!(
                "{} change(s) pending: `webhook-bridge plan -f {}` lists them, `apply` makes them",
                actions.len(),
                file.display()
            ),
            Err(e) => format!("unknown: the plan was refused: {e}"),
        };
        let _ = writeln!(out, "  {:<15}{sync}", "AWS");
        format!("{name}\n{out}")
    }
}

/// `webhook-bridge replay`: checks without AWS first (bad input exits 3), then StartReplay and
/// follow it. Exit 0 COMPLETED, 1 FAILED or CANCELLED, 130 after Ctrl-C.
async fn replay(cli: &Cli, args: &ReplayArgs) -> ExitCode {
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

/// The one bridge of a file (simulate, serve and test take one), refused (exit 3) for what
/// `apply` would refuse without asking AWS: an invalid pattern is an error, not a rule that
/// never matches.
fn one_bridge(file: &std::path::Path) -> Result<WebhookBridge, Error> {
    let mut bridges = load(file)?;
    let bridge = match bridges.len() {
        1 => bridges.remove(0),
        n => {
            return Err(Error::Config(format!(
                "{}: {n} WebhookBridges; this command takes a file with one",
                file.display()
            )));
        }
    };
    crate::validate::offline(&bridge)?;
    print_warnings(&bridge);
    Ok(bridge)
}

/// `validate::warnings`, on stderr: what AWS accepts but will not do as the spec suggests.
fn print_warnings(bridge: &WebhookBridge) {
    for w in crate::validate::warnings(bridge) {
        eprintln!("{}: warning: {w}", bridge_name(bridge));
    }
}

fn simulate(args: &SimulateArgs) -> ExitCode {
    use crate::simulate::commands;
    let run = || -> Result<bool, Error> {
        let bridge = one_bridge(&args.file)?;
        if let Some(event) = &args.event {
            let report = crate::simulate::report::simulate_event(&bridge, &commands::read_event(event)?);
            return Ok(commands::print(&report, args.output == Output::Json));
        }
        let (method, path) =
            commands::request_for(&bridge, args.route.as_deref(), args.method.as_deref(), args.path.as_deref())?;
        let request = crate::simulate::request::Request {
            method,
            path,
            headers: commands::pairs(&args.headers, ':', "--header")?,
            query: commands::pairs(&args.query, '=', "--query")?,
            body: commands::read_body(args.body.as_deref())?,
        };
        let report = crate::simulate::report::simulate(&bridge, &request);
        Ok(commands::print(&report, args.output == Output::Json))
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => report(&e),
    }
}

async fn serve(cli: &Cli, file: &std::path::Path, addr: std::net::SocketAddr, forward: bool) -> ExitCode {
    let bridge = match one_bridge(file) {
        Ok(b) => b,
        Err(e) => return report(&e),
    };
    let client = if forward {
        let aws = Aws::from_env().await;
        let region = bridge.spec.region.clone().or_else(|| cli.region.clone()).or_else(|| aws.default_region());
        let Some(region) = region else {
            return report(&Error::Config("--forward: no region (spec.region, --region or AWS_REGION)".into()));
        };
        Some(aws.clients(&region).events)
    } else {
        None
    };
    let server = crate::simulate::commands::serve(bridge, addr, client);
    tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&e),
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}

fn test_fixtures(file: &std::path::Path, dir: &std::path::Path, junit: Option<&std::path::Path>) -> ExitCode {
    use crate::simulate::commands;
    let run = || -> Result<bool, Error> {
        let bridge = one_bridge(file)?;
        let verdicts: Vec<commands::Verdict> =
            commands::fixtures(dir)?.iter().map(|(path, f)| commands::check(&bridge, path, f)).collect();
        for v in &verdicts {
            if v.failures.is_empty() {
                println!("ok    {}", v.name);
            } else {
                println!("FAIL  {} ({})", v.name, v.file.display());
                for f in &v.failures {
                    println!("  {f}");
                }
            }
        }
        let failed = verdicts.iter().filter(|v| !v.failures.is_empty()).count();
        println!("{} fixture(s), {failed} failed", verdicts.len());
        if let Some(path) = junit {
            let suite = bridge.metadata.name.clone().unwrap_or_default();
            std::fs::write(path, commands::junit(&suite, &verdicts))
                .map_err(|e| Error::Config(format!("--junit {}: {e}", path.display())))?;
        }
        Ok(failed == 0)
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => report(&e),
    }
}

/// `webhook-bridge run`: the operator, until SIGTERM or Ctrl-C.
async fn run_operator(cli: &Cli, args: RunArgs) -> ExitCode {
    use crate::operator::{LeaderElection, Options, Settings, serve};
    use std::time::Duration;

    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => return report(&Error::Config(format!("Kubernetes client: {e}"))),
    };
    let mut engine = Engine::new(Aws::from_env_rate_limited(rate_limits(&args)).await, cli.cluster_name.clone());
    engine.role_boundary = cli.role_permissions_boundary.clone();
    if cli.region.is_some() {
        engine.default_region = cli.region.clone();
    }
    let options = Options {
        namespaces: args.namespaces.iter().filter(|n| !n.is_empty()).cloned().collect(),
        label_selector: args.label_selector.clone(),
        concurrency: args.concurrency.max(1),
        settings: Settings {
            resync: Duration::from_secs(args.resync_seconds.max(1)),
            base_backoff: Duration::from_secs(args.backoff_seconds.max(1)),
            max_backoff: Duration::from_secs(args.max_backoff_seconds.max(1)),
            role_propagation: Duration::from_secs(args.role_propagation_seconds),
            resync_read_budget: args.resync_read_budget,
            resync_slots: usize::from(args.concurrency.max(4) / 4),
        },
        leader_election: args.leader_election.then(|| LeaderElection {
            lease_name: args.lease_name.clone(),
            namespace: args.lease_namespace.clone(),
            identity: args.identity.clone(),
            lease_seconds: args.lease_seconds,
        }),
        metrics_addr: Some(args.metrics_addr),
        identity: args.identity.clone(),
        multi_tenant: args.tenancy == TenancyMode::Multi,
        install_crds: args.install_crds,
    };
    match serve(client, engine, options, shutdown_signal(), None).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&Error::Config(e.to_string())),
    }
}

fn rate_limits(args: &RunArgs) -> crate::aws::RateLimits {
    match args.aws_rate {
        Some(rate) => crate::aws::RateLimits::uniform(rate, args.aws_burst.unwrap_or(rate.ceil().max(1.0) as u32)),
        None => crate::aws::RateLimits::defaults(),
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing in-flight reconciles");
}
