//! The `webhook-bridge` command line. Each command runs the same engine the operator runs; state
//! lives in AWS (found by ownership tags), never in a local file.
//!
//! This module holds the flags (clap) and sends each command to its own module; what the
//! commands share is in `manifests` (reading files), `batch` (a verb over every bridge of a
//! file) and `output` (exit codes, errors on stderr).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod apply;
mod batch;
mod crd;
mod delete;
mod manifests;
mod operator;
mod output;
mod plan;
mod replay;
mod serve;
mod simulate;
mod status;
mod test;

pub use crd::CrdKind;
pub use manifests::{Document, documents, load};
pub use operator::{RunArgs, TenancyMode};
pub use output::exit;
pub use replay::ReplayArgs;
pub use simulate::SimulateArgs;

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
    /// A label of a namespace, as `NAMESPACE:KEY=VALUE` (repeatable), for gateways that accept
    /// namespaces by selector (`allowedRoutes.namespaces.from: Selector`). Every namespace
    /// also has `kubernetes.io/metadata.name=<namespace>`, as in a cluster.
    #[arg(long = "namespace-label", global = true, value_parser = namespace_label)]
    pub namespace_labels: Vec<(String, String, String)>,
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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a CustomResourceDefinition's YAML (crds/ holds both).
    Crd {
        #[arg(value_enum, default_value_t = CrdKind::Bridge)]
        kind: CrdKind,
    },
    /// Print the AWS writes a reconcile (or with --delete, a delete) would make now. No writes.
    Plan {
        /// Manifest files or directories (their *.yaml, *.yml, *.json); gateways
        /// (WebhookBridgeGateway) and the bridges on them may be given together.
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Plan the removal instead.
        #[arg(long)]
        delete: bool,
    },
    /// Reconcile once and print the resulting status as YAML: gateways first, then bridges.
    Apply {
        /// Manifest files or directories (their *.yaml, *.yml, *.json); gateways
        /// (WebhookBridgeGateway) and the bridges on them may be given together.
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
    },
    /// Remove what the bridge owns in AWS (honouring deletionPolicy): bridges first, then
    /// gateways (a gateway is kept while routes of bridges remain on its API).
    Delete {
        /// Manifest files or directories (their *.yaml, *.yml, *.json); gateways
        /// (WebhookBridgeGateway) and the bridges on them may be given together.
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Delete only the bridges: the gateways given are read for their ids, never deleted
        /// (detach some bridges from a gateway others still use).
        #[arg(long)]
        keep_gateways: bool,
    },
    /// Show a bridge at a glance, as AWS holds it now: URL, custom domain and its DNS target,
    /// archive, access-log group, dead-letter queue coverage, route URLs, rules and their
    /// targets, and whether AWS is in sync with the file. No writes.
    Status {
        /// Manifest files or directories (their *.yaml, *.yml, *.json); gateways
        /// (WebhookBridgeGateway) and the bridges on them may be given together.
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
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
        /// A webhook-source bridge's secrets (each source at `/<name>`).
        #[command(flatten)]
        secrets: simulate::SecretArgs,
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

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
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

/// `NAMESPACE:KEY=VALUE` → (namespace, key, value).
fn namespace_label(s: &str) -> Result<(String, String, String), String> {
    let (ns, label) = s.split_once(':').ok_or("expected NAMESPACE:KEY=VALUE")?;
    let (key, value) = label.split_once('=').ok_or("expected NAMESPACE:KEY=VALUE")?;
    if ns.is_empty() || key.is_empty() {
        return Err("expected NAMESPACE:KEY=VALUE (namespace and key not empty)".into());
    }
    Ok((ns.to_string(), key.to_string(), value.to_string()))
}

pub async fn run(cli: Cli) -> ExitCode {
    match &cli.command {
        Command::Crd { kind } => crd::run(*kind),
        Command::Plan { files, delete } => plan::run(&cli, files, *delete).await,
        Command::Apply { files } => apply::run(&cli, files).await,
        Command::Delete { files, keep_gateways } => delete::run(&cli, files, *keep_gateways).await,
        Command::Status { files, output } => status::run(&cli, files, *output).await,
        Command::Replay(args) => replay::run(&cli, args).await,
        Command::Run(args) => operator::run(&cli, args).await,
        Command::Simulate(args) => simulate::run(args),
        Command::Serve { file, port, address, forward, secrets } => {
            serve::run(&cli, file, std::net::SocketAddr::new(*address, *port), *forward, secrets).await
        }
        Command::Test { file, fixtures, junit } => test::run(file, fixtures, junit.as_deref()),
    }
}
