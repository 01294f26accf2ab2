//! The operator under injected AWS faults (scripts/aws_emulator, in front of moto): writes
//! that AWS made but whose answer was lost or replaced by a 500, throttling. Every bridge must
//! still converge to exactly one set of objects, delete to an empty account, and the calls it
//! takes must stay bounded (retries, not a hot loop).

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::k8s::Cluster;
use common::kube_wait::{condition, create, events_for, get, is, orders_json, ready};
use common::operator::{Operator, options};
use common::{FaultConfig, Inventory, Moto, inventory, orders_counts};
use kube::api::{Api, DeleteParams};
use serde_json::Value;
use webhook_bridge::api::WebhookBridge;

const BRIDGES: usize = 20;

/// The operator's warnings, captured (to name the error of a terminal reconcile, which a
/// DeleteFailed Event does not tell from a retryable one).
static LOG: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The operator's log lines about terminal reconciles so far, taken.
fn take_terminal_log() -> Vec<String> {
    let text = std::mem::take(&mut *LOG.lock().unwrap_or_else(|p| p.into_inner()));
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| l.contains("waiting for the object to change"))
        .map(str::to_string)
        .collect()
}

/// What one phase cost, from the proxy (every HTTP attempt that passed the model check) and from
/// the operator's own counter (one per SDK operation call, however many attempts it took).
#[derive(Debug)]
struct Phase {
    attempts_create: u64,
    attempts_delete: u64,
    writes: u64,
    sdk_calls: u64,
    faults_create: Value,
    faults_delete: Value,
    wall: Duration,
    /// Reconciles by result: (success, retryable_error, terminal_error).
    reconciles: (f64, f64, f64),
    /// Warning Events with a terminal reason: "bridge: reason: note".
    warnings: Vec<String>,
    /// What AWS held beyond one set of objects per bridge when all were Ready.
    at_ready: Option<String>,
}

impl Phase {
    fn attempts_per_bridge(&self) -> f64 {
        (self.attempts_create + self.attempts_delete) as f64 / BRIDGES as f64
    }
}

fn total(stats: &Value) -> u64 {
    stats["total_calls"].as_u64().unwrap_or(0)
}

fn writes(stats: &Value) -> u64 {
    let calls = stats["calls"].as_object().cloned().unwrap_or_default();
    calls
        .iter()
        .filter(|(k, _)| {
            let op = k.split_once('.').map(|(_, op)| op).unwrap_or(k);
            !["Get", "List", "Describe"].iter().any(|p| op.starts_with(p))
        })
        .map(|(_, v)| v.as_u64().unwrap_or(0))
        .sum()
}

/// Poll every bridge until `check` holds for all of them.
async fn until_all(
    client: &kube::Client,
    ns: &str,
    what: &str,
    limit: Duration,
    check: impl Fn(Option<&Value>) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let mut pending = Vec::new();
        for i in 0..BRIDGES {
            let name = format!("orders-{i}");
            let object = get(client, ns, &name).await;
            if !check(object.as_ref()) {
                pending.push((name, object));
            }
        }
        if pending.is_empty() {
            return;
        }
        // Stalled is terminal: the operator waits for the object to change, so no use waiting.
        let stalled = pending.iter().any(|(_, o)| is(o.as_ref(), "Stalled", "True"));
        if stalled || Instant::now() > deadline {
            let shown: Vec<String> = pending
                .iter()
                .map(|(name, o)| {
                    let conditions = ["Ready", "Reconciling", "Stalled"]
                        .iter()
                        .map(|t| condition(o.as_ref(), t).map(|c| c.to_string()).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("  {name}: {conditions}")
                })
                .collect();
            let why = if stalled { "Stalled (terminal) on the way".to_string() } else { format!("not in {limit:?}") };
            panic!("{} of {BRIDGES} bridges never became {what}: {why}:\n{}", pending.len(), shown.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// 20 orders bridges created, Ready, checked in AWS, deleted, AWS empty; under `faults` if any.
async fn phase(cluster: &Cluster, prefix: &str, faults: Option<&FaultConfig>) -> Phase {
    let ns = cluster.namespace(prefix).await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    moto.reset_fault_stats();
    let op = Operator::start(client.clone(), &moto, options(&[&ns])).await;
    let started = Instant::now();
    if let Some(f) = faults {
        moto.set_faults(f);
    }
    for i in 0..BRIDGES {
        create(&client, orders_json(&format!("orders-{i}"), &ns, &format!("orders-bus-{i}"))).await;
    }
    until_all(&client, &ns, "Ready", Duration::from_secs(300), ready).await;
    let created = moto.fault_stats();
    moto.clear_faults();

    // Exactly one set of objects per bridge once all are Ready: a write retried after its answer
    // was lost must not have left a second API, integration, rule, role or permission behind.
    let inv = inventory(&moto.clients().await).await;
    let counts = inv.counts();
    let at_ready = (counts != orders_counts(BRIDGES)).then(|| {
        format!(
            "{prefix}: at Ready, AWS holds (apis, stages, integrations, routes, buses, rules, targets, roles, permissions) = {counts:?}, not {:?}",
            orders_counts(BRIDGES)
        )
    });

    moto.reset_fault_stats();
    if let Some(f) = faults {
        moto.set_faults(&FaultConfig { seed: f.seed + 1, ..f.clone() });
    }
    let bridges: Api<WebhookBridge> = Api::namespaced(client.clone(), &ns);
    for i in 0..BRIDGES {
        bridges.delete(&format!("orders-{i}"), &DeleteParams::default()).await.expect("delete");
    }
    until_all(&client, &ns, "gone", Duration::from_secs(300), |o| o.is_none()).await;
    let deleted = moto.fault_stats();
    let wall = started.elapsed();
    moto.clear_faults();
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default(), "{prefix}: AWS left empty");
    let sdk_calls = op.engine.aws.counter.snapshot().values().sum();
    let mut warnings = take_terminal_log();
    for i in 0..BRIDGES {
        let name = format!("orders-{i}");
        for (t, reason, note) in events_for(&client, &ns, &name).await {
            // AwsUnavailable and Converging (a duplicate from a retried create, being collected)
            // are the retryable reasons faults cause; DeleteFailed is either (the terminal ones
            // are counted by the reconcile metric).
            if t == "Warning" && !matches!(reason.as_str(), "AwsUnavailable" | "Converging" | "DeleteFailed") {
                warnings.push(format!("{name}: {reason}: {note}"));
            }
        }
    }
    let series = |result: &str| format!("webhook_bridge_reconciles_total{{result=\"{result}\"}}");
    let reconciles = (
        op.sample(&series("success")).await,
        op.sample(&series("retryable_error")).await,
        op.sample(&series("terminal_error")).await,
    );
    op.shutdown().await;
    Phase {
        attempts_create: total(&created),
        attempts_delete: total(&deleted),
        writes: writes(&created) + writes(&deleted),
        sdk_calls,
        faults_create: created["faults"].clone(),
        faults_delete: deleted["faults"].clone(),
        wall,
        reconciles,
        warnings,
        at_ready,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_under_30_percent_injected_faults() {
    let cluster = require_cluster!();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("webhook_bridge::operator=warn"))
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
    let clean = phase(cluster, "faults-none", None).await;
    assert_eq!(clean.faults_create, serde_json::json!({}));
    assert_eq!(clean.at_ready, None);
    assert_eq!((clean.reconciles.1, clean.reconciles.2, &clean.warnings), (0.0, 0.0, &Vec::<String>::new()));
    let faults = FaultConfig {
        drop_after_commit: 0.1,
        error_after_commit: 0.1,
        throttle: 0.1,
        seed: 42,
        ..FaultConfig::default()
    };
    let faulty = phase(cluster, "faults-30", Some(&faults)).await;

    let per_bridge = |p: &Phase| {
        format!(
            "{:.1} HTTP attempts/bridge ({:.1} create + {:.1} delete), {:.1} writes/bridge, {:.1} SDK calls/bridge, reconciles (ok, retryable, terminal) {:?}, {:.1?} wall",
            p.attempts_per_bridge(),
            p.attempts_create as f64 / BRIDGES as f64,
            p.attempts_delete as f64 / BRIDGES as f64,
            p.writes as f64 / BRIDGES as f64,
            p.sdk_calls as f64 / BRIDGES as f64,
            p.reconciles,
            p.wall,
        )
    };
    let ratio = faulty.attempts_per_bridge() / clean.attempts_per_bridge();
    let _ = writeln!(
        std::io::stderr(),
        "\n===== FAULTS: {BRIDGES} orders bridges, create + delete =====\n  fault-free: {}\n  30 % faults: {}\n  injected: create {} / delete {}\n  ratio: {ratio:.2}x\n  at Ready under faults: {}\n",
        per_bridge(&clean),
        per_bridge(&faulty),
        faulty.faults_create,
        faulty.faults_delete,
        faulty.at_ready.as_deref().unwrap_or("one set of objects per bridge"),
    );
    assert!(faulty.faults_create.as_object().is_some_and(|f| f.len() == 3), "all three modes were injected");
    assert_eq!(
        (faulty.reconciles.2, &faulty.warnings),
        (0.0, &Vec::<String>::new()),
        "an injected (transient) fault was taken for a terminal error"
    );
    assert!(ratio < 4.0, "30 % faults cost {ratio:.2}x the fault-free calls per bridge: a retry loop?");
    // A retried CreateApi / CreateIntegration whose first attempt committed would make a
    // duplicate: those creates are sent once, and a lost answer fails the pass instead.
    assert_eq!(faulty.at_ready, None, "a retried create left a duplicate behind at Ready");
}
