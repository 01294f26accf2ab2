//! `webhook-bridge run`: the operator, reconciling WebhookBridges in the cluster.

use std::process::ExitCode;

use super::Cli;
use super::batch::engine_on;
use super::output::report;
use crate::aws::Aws;
use crate::error::Error;

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
    /// Reconciles running at once (one controller serves every watched namespace).
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

/// `webhook-bridge run`: the operator, until SIGTERM or Ctrl-C.
pub(super) async fn run(cli: &Cli, args: &RunArgs) -> ExitCode {
    use crate::operator::{LeaderElection, Options, Settings, serve};
    use std::time::Duration;

    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => return report(&Error::Config(format!("Kubernetes client: {e}"))),
    };
    let engine = engine_on(Aws::from_env_rate_limited(rate_limits(args)).await, cli);
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
