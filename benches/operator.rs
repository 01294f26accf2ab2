//! Operator benchmarks against a real kube-apiserver (upstream etcd + kube-apiserver, started by
//! tests/common/k8s.rs) and the local AWS emulator. Prints two tables.
//!
//!   export TEST_ASSET_KUBE_APISERVER=/path/to/kube-apiserver TEST_ASSET_ETCD=/path/to/etcd
//!   cargo bench --bench operator                     # N = 100 and N = 1,000 bridges
//!   BRIDGES=10000 cargo bench --bench operator       # other sizes (by hand, outside CI)
//!   BRIDGES=100,1000 cargo bench --bench operator    # several, in one run
//!   BASELINE=off BRIDGES=10000 cargo bench ...       # without the emulator-only baseline
//!
//!   BENCH_WRAP="heaptrack -o /tmp/whb" ...            # the operator under a profiler
//!
//! Every bridge has the canonical shape of examples/orders.yaml (1 route, 2 rules, 2 Lambda
//! targets, managed bus and role), each on a bus of its own; every 20 bridges share a pair of
//! functions (AWS caps a function's resource policy at 20 KB, about 60 such statements, so on AWS
//! 1,000 bridges cannot target one function; moto has no cap). Measures:
//! 1. apply → Ready latency of 20 bridges created one after another (in-process operator);
//! 2. AWS calls per in-sync resync, as the operator makes them: its own call counter over a window
//!    of resyncs (short resync interval), divided by the reconciles it counted;
//! 3. for each N, with a fresh emulator and namespace: `webhook-bridge run` as its own process
//!    (16 reconciles at once): time for N bridges created beforehand to be all Ready, its AWS calls
//!    per bridge by service (scraped from its /metrics), CPU time and RSS (from /proc); then the
//!    emulator-only baseline on another fresh emulator: a load generator sending straight to it,
//!    16 bridges at once, the writes a canonical bridge needs and the reads the operator made for
//!    it at that N (by operation). The operator's time over the baseline's is the overhead (goal:
//!    at most 2x); calls and time per bridge at the largest N over the smallest show whether the
//!    cost per bridge stays flat (goal: within 20 %). The operator's time runs from its process
//!    start; both emulators first get one uncounted read per service (moto sets a service up at
//!    its first request, about 2 s in all). The notes under the tables list, per N, what the
//!    baseline sent per bridge by operation next to what the operator did.
//!
//! The emulator has no IAM propagation delay, so both operators run with a role-propagation wait
//! of 0 (the tests' `options()`, and `--role-propagation-seconds 0`): the numbers are the
//! operator's own; a real account adds that wait (30 s by default) to a new bridge's apply → Ready.
//! Moto runs behind the model check with AWS's quotas on (`raised_quotas`: an account whose bus
//! and role quotas were raised, since a default account holds only 99 standalone bridges); the
//! shared-gateway bench (benches/gateway.rs) runs in a default account.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_apigatewayv2::types::{AuthorizationType, IntegrationType, ProtocolType};
use aws_sdk_eventbridge::types::{RuleState, Target};
use common::Moto;
use common::kube_wait::{create, orders_json, ready};
use common::operator::{Operator, options, sample};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::aws::CallCounter;
use webhook_bridge::aws::counter::{CallCounts, is_read};
use webhook_bridge::desired::{
    self, AwsEnv, Desired, DesiredRole, INTEGRATION_SUBTYPE, INTEGRATION_TIMEOUT_MS, PAYLOAD_FORMAT_VERSION,
};
use webhook_bridge::owner::{Owner, ROLE_POLICY_NAME};

const SUCCESS: &str = "webhook_bridge_reconciles_total{result=\"success\"}";
/// In-sync resyncs sent back to wait for a slot (each counted as a successful reconcile).
const DEFERRED: &str = "webhook_bridge_resyncs_deferred_total";
const RETRYABLE: &str = "webhook_bridge_reconciles_total{result=\"retryable_error\"}";
const TERMINAL: &str = "webhook_bridge_reconciles_total{result=\"terminal_error\"}";
/// The canonical bridge's two Lambda targets, one pair of functions per this many bridges: AWS caps
/// a function's resource policy at 20 KB (Lambda quotas), about 50 of the operator's statements, so
/// 1,000 bridges cannot all target one function on AWS (moto has no such cap).
const BRIDGES_PER_FUNCTION: usize = 20;
/// Section 3's bridge counts unless `BRIDGES` says otherwise.
const SIZES: [usize; 2] = [100, 1000];
/// Bridges in flight at once: the operator's `--concurrency`, the baseline's load.
const IN_FLIGHT: usize = 16;
/// Goals (issue 13): the operator's convergence time at most this many times the baseline's ...
const BASELINE_GOAL: f64 = 2.0;
/// ... and calls and time per bridge at the largest N at most this much above the smallest N's.
const FLAT_GOAL: f64 = 0.2;
/// The page size the operator asks API Gateway for.
const PAGE: &str = "500";

/// AWS calls by (service, operation, outcome), as `webhook_bridge_aws_calls_total` labels them.
type Calls = BTreeMap<(String, String, String), f64>;

fn bridges_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<WebhookBridge>(&()))
}

fn is_ready(o: &DynamicObject) -> bool {
    ready(serde_json::to_value(o).ok().as_ref())
}

/// The two functions of the `i`th bridge's rules.
fn functions_of(i: usize) -> [String; 2] {
    let group = i / BRIDGES_PER_FUNCTION;
    [format!("createOrder-{group:04}"), format!("cancelOrder-{group:04}")]
}

/// The functions `n` bridges target.
fn functions(n: usize) -> Vec<String> {
    (0..n.max(1)).step_by(BRIDGES_PER_FUNCTION).flat_map(functions_of).collect()
}

/// Seed the functions of `n` bridges, 16 at once.
async fn seed_functions(moto: &Moto, n: usize) {
    let names = functions(n);
    let chunks: Vec<Vec<&str>> =
        names.chunks(names.len().div_ceil(16).max(1)).map(|c| c.iter().map(String::as_str).collect()).collect();
    futures::future::join_all(chunks.iter().map(|c| moto.seed_lambdas(c))).await;
}

/// The canonical bridge `name` (the `i`th) in `ns`, on a bus of its own.
fn canonical(name: &str, ns: &str, i: usize) -> Value {
    let mut v = orders_json(name, ns, &format!("bus-{name}"));
    assert_eq!(
        (v["spec"]["routes"].as_array().map(Vec::len), v["spec"]["rules"].as_array().map(Vec::len)),
        (Some(1), Some(2)),
        "examples/orders.yaml is no longer the canonical shape"
    );
    for (rule, function) in functions_of(i).iter().enumerate() {
        v["spec"]["rules"][rule]["targets"][0]["arn"] =
            Value::from(format!("arn:aws:lambda:{}:{}:function:{function}", common::REGION, common::ACCOUNT));
    }
    v
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// (VmRSS, VmHWM) in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU time of a process.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After "pid (comm) ": state is field 0, utime 11, stime 12.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok())).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64(ticks as f64 / hz)
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port")
}

async fn scrape(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else { return String::new() };
    if stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out).await;
    out
}

/// `webhook_bridge_aws_calls_total` from a /metrics text.
fn aws_calls(metrics: &str) -> Calls {
    let mut out = Calls::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("webhook_bridge_aws_calls_total{") else { continue };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(name)?.strip_prefix("=\""))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap_or_default()
        };
        *out.entry((label("service"), label("operation"), label("outcome"))).or_default() +=
            value.trim().parse::<f64>().unwrap_or(0.0);
    }
    out
}

/// Calls by operation.
fn operations(calls: &Calls) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for ((_, op, _), n) in calls {
        *out.entry(op.clone()).or_default() += n;
    }
    out
}

/// Calls answered with an error.
fn failed(calls: &Calls) -> f64 {
    calls.iter().filter(|((_, _, outcome), _)| outcome != "ok").map(|(_, n)| n).sum()
}

/// Calls by operation, `after - before`.
fn by_operation(before: &CallCounts, after: &CallCounts) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for ((_, op, _), n) in after {
        *out.entry(op.clone()).or_default() += *n as f64;
    }
    for ((_, op, _), n) in before {
        *out.entry(op.clone()).or_default() -= *n as f64;
    }
    out.retain(|_, n| *n > 0.0);
    out
}

/// (reads, writes) of calls by operation.
fn reads_writes(calls: &BTreeMap<String, f64>) -> (f64, f64) {
    let sum = |reads: bool| calls.iter().filter(|(op, _)| is_read(op) == reads).map(|(_, n)| n).sum();
    (sum(true), sum(false))
}

/// A number as an integer when it is one.
fn num(x: f64) -> String {
    let x = x + 0.0; // -0 (an empty float sum) prints as 0
    if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { format!("{x:.2}") }
}

/// A moment when the operator is between reconciles: its AWS calls and reconciles unchanged over
/// 300 ms. Returns its counts then.
async fn quiet(op: &Operator) -> (CallCounts, f64, f64) {
    let read = || async { (op.engine.aws.counter.snapshot(), op.sample(SUCCESS).await, op.sample(RETRYABLE).await) };
    let mut last = read().await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = read().await;
        if now == last {
            return now;
        }
        last = now;
    }
}

/// name → resourceVersion of every bridge in `ns`.
async fn versions(api: &Api<DynamicObject>) -> BTreeMap<String, String> {
    let list = api.list(&ListParams::default()).await.expect("list webhookbridges");
    list.items
        .into_iter()
        .map(|o| (o.metadata.name.unwrap_or_default(), o.metadata.resource_version.unwrap_or_default()))
        .collect()
}

/// Kills the operator process if the bench stops early.
/// The operator (under `BENCH_WRAP`, its wrapper and the wrapper's process group).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.0.id()) {
            // SAFETY: a plain syscall. Only a wrapped operator leads a group of its own (ESRCH
            // otherwise, ignored).
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The account section 3 runs in. Standalone bridges need one bus and one role each, so a
/// default account (100 buses, the default bus among them; 1,000 roles) holds 99 of them: the
/// bench asks for an account whose quota increases were granted, as AWS allows them (buses are
/// adjustable; roles at most 5,000), and says so in its table. 10,000 standalone bridges fit no
/// account (roles); benches/gateway.rs runs them on shared gateways in a default one.
fn raised_quotas() -> serde_json::Value {
    serde_json::json!({"eventbridge.buses_per_account": 1100, "iam.roles_per_account": 5000})
}

/// Every emulator of this bench: the model check and AWS's quotas on (never an account that
/// cannot exist), at [`raised_quotas`].
fn emulator() -> Moto {
    let moto = Moto::start();
    moto.set_quotas(&raised_quotas());
    moto
}

fn main() {
    assert!(
        common::model_check_enabled(),
        "the quotas live in the emulator in front of moto: do not set MODEL_CHECK=off"
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(bench());
}

async fn bench() {
    let cluster = common::k8s::cluster("bench").unwrap_or_else(|| {
        panic!(
            "the operator bench needs a real kube-apiserver: set TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD \
             (or KUBEBUILDER_ASSETS) to the kube-apiserver and etcd binaries"
        )
    });
    let client = cluster.client().await;
    let mut rows: Vec<(String, String)> = Vec::new();
    rows.push((
        "AWS emulator".into(),
        format!(
            "moto behind the model check with AWS's quotas on, raised as AWS allows: {}; role-propagation wait 0",
            raised_quotas()
        ),
    ));

    // 1. apply → Ready, 20 canonical bridges one after another, in-process operator.
    {
        let moto = emulator();
        seed_functions(&moto, 1).await;
        let ns = cluster.namespace("bench-latency").await;
        let mut opts = options(&[&ns]);
        opts.settings.resync = Duration::from_secs(3600);
        let op = Operator::start(client.clone(), &moto, opts).await;
        let api = bridges_api(&client, &ns);
        let mut times = Vec::new();
        for i in 0..20 {
            let name = format!("latency-{i:02}");
            let start = Instant::now();
            create(&client, canonical(&name, &ns, 0)).await;
            let cond = |o: Option<&DynamicObject>| o.is_some_and(is_ready);
            tokio::time::timeout(
                Duration::from_secs(60),
                kube::runtime::wait::await_condition(api.clone(), &name, cond),
            )
            .await
            .unwrap_or_else(|_| panic!("{ns}/{name} not Ready within 60 s"))
            .expect("watch");
            times.push(start.elapsed());
        }
        let errors = op.sample(RETRYABLE).await + op.sample(TERMINAL).await;
        op.shutdown().await;
        times.sort();
        rows.push((
            "apply → Ready, canonical bridge (20 runs)".into(),
            format!(
                "median {}, p90 {}, max {}",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.9)),
                ms(times[times.len() - 1])
            ),
        ));
        if errors > 0.0 {
            rows.push(("  failed reconciles during the 20 applies".into(), num(errors)));
        }
    }

    // 2. AWS calls per in-sync resync, as the operator makes them.
    {
        const BRIDGES: usize = 3;
        const RESYNC: Duration = Duration::from_secs(2);
        let moto = emulator();
        seed_functions(&moto, 1).await;
        let ns = cluster.namespace("bench-resync").await;
        let mut opts = options(&[&ns]);
        opts.settings.resync = RESYNC;
        let op = Operator::start(client.clone(), &moto, opts).await;
        let api = bridges_api(&client, &ns);
        for i in 0..BRIDGES {
            create(&client, canonical(&format!("resync-{i}"), &ns, 0)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let list = api.list(&ListParams::default()).await.expect("list webhookbridges");
            if list.items.len() == BRIDGES && list.items.iter().all(is_ready) {
                break;
            }
            assert!(Instant::now() < deadline, "the resync bridges were not Ready within 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Let the follow-ups of the first apply (the status write's own watch event) pass.
        tokio::time::sleep(RESYNC * 2).await;
        let rv_before = versions(&api).await;
        let (calls_before, ok_before, err_before) = quiet(&op).await;
        let window = Instant::now();
        tokio::time::sleep(Duration::from_secs(12)).await;
        let (calls_after, ok_after, err_after) = quiet(&op).await;
        let window = window.elapsed();
        let rv_after = versions(&api).await;
        op.shutdown().await;

        let resyncs = ok_after - ok_before;
        assert!(resyncs > 0.0, "no resync in {window:?}");
        let calls = by_operation(&calls_before, &calls_after);
        let (reads, writes) = reads_writes(&calls);
        let k8s_writes = rv_after.iter().filter(|(name, rv)| rv_before.get(*name) != Some(rv)).count();
        rows.push((
            "AWS calls per in-sync resync (canonical bridge)".into(),
            format!("{} reads, {} writes", num(reads / resyncs), num(writes / resyncs)),
        ));
        rows.push((
            "  window".into(),
            format!(
                "{} resyncs of {BRIDGES} bridges in {:.1} s (resync every {} s), {} failed, {k8s_writes} bridges written to",
                num(resyncs),
                window.as_secs_f64(),
                RESYNC.as_secs(),
                num(err_after - err_before)
            ),
        ));
        let per_op: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {}", num(n / resyncs))).collect();
        rows.push(("  per resync, by operation".into(), per_op.join(", ")));
    }

    // 3. For each N: N canonical bridges, then `webhook-bridge run` as its own process; then the
    // emulator-only baseline for the same N.
    let mut runs = Vec::new();
    // BASELINE=off skips the load generator (e.g. for BRIDGES=10000, where it doubles the time).
    let with_baseline = std::env::var("BASELINE").map_or(true, |v| v != "off");
    for n in sizes() {
        let mut run = scale(cluster, &client, n).await;
        if with_baseline {
            run.baseline = Some(baseline(n, &run.calls).await);
        }
        runs.push(run);
    }

    print_table(&["measure".to_string(), "result".to_string()], rows.into_iter().map(|(k, v)| (k, vec![v])).collect());
    print_table(
        &std::iter::once("N bridges".to_string())
            .chain(runs.iter().map(|r| format!("N = {}", r.n)))
            .collect::<Vec<_>>(),
        scale_rows(&runs),
    );
    println!();
    for run in &runs {
        if let Some(b) = &run.baseline {
            println!("baseline, per bridge (N = {}): {}", run.n, per_operation(&b.calls, run.n));
            let per = |ops: &BTreeMap<String, f64>| {
                ops.iter().map(|(op, k)| format!("{op} {}", num(k / run.n as f64))).collect::<Vec<_>>().join(", ")
            };
            if !b.stand_ins.is_empty() {
                println!("  operator reads it replays as another read of the service: {}", per(&b.stand_ins));
            }
            if !b.unreplayed.is_empty() {
                println!("  operator reads it does not replay: {}", per(&b.unreplayed));
            }
            let writes = |calls: &Calls| {
                let mut ops = operations(calls);
                ops.retain(|op, _| !is_read(op));
                ops
            };
            let (ours, theirs) = (writes(&b.calls), writes(&run.calls));
            let differ: Vec<String> = ours
                .keys()
                .chain(theirs.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|op| ours.get(*op) != theirs.get(*op))
                .map(|op| {
                    let per = |m: &BTreeMap<String, f64>| num(m.get(op).copied().unwrap_or(0.0) / run.n as f64);
                    format!("{op} {} (operator {})", per(&ours), per(&theirs))
                })
                .collect();
            if !differ.is_empty() {
                println!("  writes other than the operator's: {}", differ.join(", "));
            }
            if let Some(e) = &b.first_error {
                println!("  {} of {} baseline bridges failed, the first: {e}", b.failed_bridges, run.n);
            }
        }
        println!("operator, per bridge (N = {}): {}", run.n, per_operation(&run.calls, run.n));
        if run.log_lines > 0 {
            println!("  operator log ({} lines at RUST_LOG=error): {}", run.log_lines, run.log_path.display());
        }
    }
}

/// The bridge counts of section 3: `BRIDGES` (a number or a comma list), else 100 and 1,000.
fn sizes() -> Vec<usize> {
    let Ok(list) = std::env::var("BRIDGES") else { return SIZES.to_vec() };
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('_', "").parse().unwrap_or_else(|_| panic!("BRIDGES={list}: {s} is not a number")))
        .filter(|&n| n > 0)
        .collect()
}

/// One N of section 3: the operator's run and the baseline's.
struct Scale {
    n: usize,
    /// Creating the N bridges through the apiserver.
    created: Duration,
    /// Bridges Ready when the wait ended (N, unless it timed out).
    done: usize,
    /// `webhook-bridge run` started → all Ready.
    took: Duration,
    first: Option<Duration>,
    half: Option<Duration>,
    /// The operator's AWS calls, start to settled.
    calls: Calls,
    /// Reconciles: success (less the deferred), retryable error, terminal error, resyncs deferred.
    reconciles: [f64; 4],
    /// KiB: VmRSS once settled, VmHWM (the kernel's peak), highest VmRSS sampled.
    rss: u64,
    peak: u64,
    rss_max: u64,
    cpu_at_ready: Duration,
    cpu: Duration,
    log_lines: usize,
    log_path: std::path::PathBuf,
    baseline: Option<Baseline>,
}

impl Scale {
    fn per_bridge(&self, x: f64) -> f64 {
        x / self.n as f64
    }

    fn time_per_bridge(&self) -> Duration {
        self.took / self.n as u32
    }

    fn calls_per_bridge(&self) -> f64 {
        self.per_bridge(self.calls.values().sum())
    }
}

/// N canonical bridges created in a fresh namespace, then `webhook-bridge run` on a fresh emulator
/// until all are Ready and its AWS calls hold still.
async fn scale(cluster: &common::k8s::Cluster, client: &kube::Client, n: usize) -> Scale {
    let moto = emulator();
    seed_functions(&moto, n).await;
    warm(&moto).await;
    let ns = cluster.namespace(&format!("bench-scale-{n}")).await;
    let api = bridges_api(client, &ns);
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let (client, ns) = (client.clone(), ns.clone());
            async move { create(&client, canonical(&format!("b{i:05}"), &ns, i)).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    let created = start.elapsed();

    let metrics_addr = free_addr();
    let log_path = std::env::temp_dir().join(format!("whb-bench-operator-{}-{n}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).expect("operator log file");
    let binary = env!("CARGO_BIN_EXE_webhook-bridge");
    // BENCH_WRAP="heaptrack -o /tmp/whb" runs the operator under a profiler (RSS is then the
    // wrapper's; for finding where memory goes, not for the table).
    let wrap: Vec<String> =
        std::env::var("BENCH_WRAP").unwrap_or_default().split_whitespace().map(String::from).collect();
    let mut command = match wrap.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            // A group of its own, so the wrapper's child (the operator) is killed with it.
            c.args(args).arg(binary).process_group(0);
            c
        }
        None => Command::new(binary),
    };
    let mut child = KillOnDrop(
        command
            .args(["run", "--metrics-addr", &metrics_addr.to_string()])
            .args(["--aws-rate", "2000", "--aws-burst", "100", "--concurrency", &IN_FLIGHT.to_string()])
            .args([
                "--namespaces",
                &ns,
                "--cluster-name",
                "bench",
                "--role-propagation-seconds",
                "0",
                "--tenancy",
                "single",
            ])
            .env("KUBECONFIG", cluster.kubeconfig_path())
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", common::REGION)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start webhook-bridge run"),
    );
    let pid = child.0.id();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(1500).max(Duration::from_millis(1500 * n as u64));
    // Listing N bridges is not free: poll a small set often, a large one less (a list of 10,000
    // every second kept the apiserver at 90 % of a core, slowing the operator's status writes).
    let poll = Duration::from_millis((n as u64).clamp(100, 1000).max((n as u64 / 2).min(5000)));
    let mut done = 0;
    let (mut first, mut half) = (None, None);
    let mut rss_max = 0;
    let mut said = Instant::now();
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.0.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("webhook-bridge run exited ({status}) with {done}/{n} Ready; its log:\n{log}");
        }
        rss_max = rss_max.max(rss_kib(pid).0);
        if let Ok(list) = api.list(&ListParams::default()).await {
            done = list.items.iter().filter(|o| is_ready(o)).count();
        }
        if done > 0 && first.is_none() {
            first = Some(start.elapsed());
        }
        if done * 2 >= n && half.is_none() {
            half = Some(start.elapsed());
        }
        if done == n {
            break;
        }
        if said.elapsed() > Duration::from_secs(30) {
            eprintln!("bench: {done}/{n} Ready after {:.0} s", start.elapsed().as_secs_f64());
            said = Instant::now();
        }
        tokio::time::sleep(poll).await;
    }
    let took = start.elapsed();
    let cpu_at_ready = cpu_time(pid);
    // The follow-ups of the last applies: until the AWS call counts hold still for 2 s.
    let mut calls = aws_calls(&scrape(metrics_addr).await);
    let settle = Instant::now() + Duration::from_secs(30);
    while Instant::now() < settle {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = aws_calls(&scrape(metrics_addr).await);
        if now == calls {
            break;
        }
        calls = now;
    }
    let metrics = scrape(metrics_addr).await;
    let (rss, peak) = rss_kib(pid);
    let rss_max = rss_max.max(rss);
    let cpu = cpu_time(pid);
    drop(child);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let log_lines = log.lines().count();
    if log_lines > 0 {
        eprintln!("bench: webhook-bridge run logged (first lines, N = {n}):");
        for line in log.lines().take(10) {
            eprintln!("  {line}");
        }
    }
    Scale {
        n,
        created,
        done,
        took,
        first,
        half,
        calls,
        reconciles: [
            sample(&metrics, SUCCESS) - sample(&metrics, DEFERRED),
            sample(&metrics, RETRYABLE),
            sample(&metrics, TERMINAL),
            sample(&metrics, DEFERRED),
        ],
        rss,
        peak,
        rss_max,
        cpu_at_ready,
        cpu,
        log_lines,
        log_path,
        baseline: None,
    }
}

/// One read of each service the bridges use, uncounted: moto sets a service up at its first
/// request (about 2 s in all), a cost of the emulator that neither the operator nor the baseline
/// should carry.
async fn warm(moto: &Moto) {
    let c = moto.clients().await;
    let _ = c.apigateway.get_apis().send().await;
    let _ = c.events.list_event_buses().send().await;
    let _ = c.iam.list_roles().send().await;
    let _ = c.lambda.list_functions().send().await;
    let _ = c.logs.describe_log_groups().send().await;
    let _ = c.sts.get_caller_identity().send().await;
}

/// The emulator-only baseline of one N.
struct Baseline {
    /// First request → last answer.
    took: Duration,
    /// What it sent, counted as the operator counts its own.
    calls: Calls,
    /// Operator reads (`service operation`, all bridges) it sent another read of that service for
    /// (see `Reads::one`) ...
    stand_ins: BTreeMap<String, f64>,
    /// ... and those it has nothing for.
    unreplayed: BTreeMap<String, f64>,
    failed_bridges: usize,
    first_error: Option<String>,
}

/// Plain SDK clients on the emulator, every call counted by the operator's own interceptor.
struct Direct {
    apigateway: aws_sdk_apigatewayv2::Client,
    events: aws_sdk_eventbridge::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    sts: aws_sdk_sts::Client,
}

impl Direct {
    async fn new(moto: &Moto, counter: &CallCounter) -> Direct {
        // Region us-east-1, endpoint_url = the emulator, static test credentials.
        let config = moto.config().await;
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf($sdk::config::Builder::from(&config).interceptor(counter.clone()).build())
            };
        }
        Direct {
            apigateway: client!(aws_sdk_apigatewayv2),
            events: client!(aws_sdk_eventbridge),
            iam: client!(aws_sdk_iam),
            lambda: client!(aws_sdk_lambda),
            logs: client!(aws_sdk_cloudwatchlogs),
            sts: client!(aws_sdk_sts),
        }
    }
}

/// Per-bridge reads when the operator's run counted none: one observe of a canonical bridge.
const FALLBACK_READS: [(&str, &str, f64); 12] = [
    ("apigatewayv2", "GetApis", 1.0),
    ("apigatewayv2", "GetStages", 1.0),
    ("apigatewayv2", "GetIntegrations", 1.0),
    ("apigatewayv2", "GetRoutes", 1.0),
    ("eventbridge", "DescribeEventBus", 1.0),
    ("eventbridge", "ListTagsForResource", 3.0),
    ("eventbridge", "ListRules", 1.0),
    ("eventbridge", "ListTargetsByRule", 2.0),
    ("iam", "GetRole", 1.0),
    ("iam", "GetRolePolicy", 1.0),
    ("lambda", "GetPolicy", 2.0),
    ("sts", "GetCallerIdentity", 1.0),
];

/// Bridge `i`'s part of `total` calls spread evenly over `n` bridges.
fn share(total: f64, i: usize, n: usize) -> usize {
    let total = total.round().max(0.0) as usize;
    (i + 1) * total / n - i * total / n
}

/// The desired state of the baseline's bridge `i`: the operator's own names, ARNs, tags and
/// documents for a canonical bridge (in a namespace no operator watches).
fn baseline_desired(i: usize) -> Desired {
    let (name, ns) = (format!("b{i:05}"), "bench-baseline");
    let bridge: WebhookBridge = serde_json::from_value(canonical(&name, ns, i)).expect("the canonical bridge");
    let owner = Owner { cluster: "bench".into(), namespace: ns.into(), name, uid: format!("baseline-uid-{i}") };
    let env = AwsEnv { region: common::REGION.into(), account: common::ACCOUNT.into(), partition: "aws".into() };
    desired::desired(&bridge, &owner, &env)
}

/// What the baseline sends for one bridge: (service, operation) reads before its writes (the
/// operator's failed reads: of objects not there yet) and after them.
struct Load {
    d: Desired,
    before: Vec<(String, String)>,
    after: Vec<(String, String)>,
}

/// Send what an emulator needs to see for N canonical bridges, 16 bridges at once, straight to a
/// fresh emulator: the canonical bridge's writes, and the reads the operator made (`operator`,
/// its calls at this N), operation by operation.
async fn baseline(n: usize, operator: &Calls) -> Baseline {
    let mut mix: Calls = operator.iter().filter(|((_, op, _), _)| is_read(op)).map(|(k, v)| (k.clone(), *v)).collect();
    if mix.is_empty() {
        mix = FALLBACK_READS
            .iter()
            .map(|(s, op, k)| ((s.to_string(), op.to_string(), "ok".to_string()), k * n as f64))
            .collect();
    }
    let loads: Vec<Load> = (0..n)
        .map(|i| {
            let (mut before, mut after) = (Vec::new(), Vec::new());
            for ((service, op, outcome), total) in &mix {
                let into = if outcome == "ok" { &mut after } else { &mut before };
                into.extend(std::iter::repeat_n((service.clone(), op.clone()), share(*total, i, n)));
            }
            Load { d: baseline_desired(i), before, after }
        })
        .collect();

    let moto = emulator();
    seed_functions(&moto, n).await;
    warm(&moto).await;
    let counter = CallCounter::default();
    let c = Direct::new(&moto, &counter).await;
    let start = Instant::now();
    let results: Vec<Result<Gaps, String>> =
        futures::stream::iter(&loads).map(|load| send_bridge(&c, load)).buffer_unordered(IN_FLIGHT).collect().await;
    let took = start.elapsed();

    let (mut stand_ins, mut unreplayed) = (BTreeMap::new(), BTreeMap::new());
    let (mut failed_bridges, mut first_error) = (0, None);
    for result in results {
        match result {
            Ok(gaps) => {
                for ((op, replayed), k) in gaps {
                    let into = if replayed { &mut stand_ins } else { &mut unreplayed };
                    *into.entry(op).or_default() += k as f64;
                }
            }
            Err(e) => {
                failed_bridges += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let calls = counter.snapshot().into_iter().map(|(k, v)| (k, v as f64)).collect();
    Baseline { took, calls, stand_ins, unreplayed, failed_bridges, first_error }
}

fn fail<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{operation}: {}", aws_smithy_types::error::display::DisplayErrorContext(e))
}

/// (`service operation`, whether a stand-in was sent) → reads the baseline had no exact replay for.
type Gaps = BTreeMap<(String, bool), usize>;

/// One bridge of the baseline: the reads of objects not there yet, the writes the operator makes
/// for a new canonical bridge (in its order, with its request fields; see src/aws/*.rs), then the
/// other reads. Returns the reads it had no exact replay for.
async fn send_bridge(c: &Direct, load: &Load) -> Result<Gaps, String> {
    let d = &load.d;
    let mut gaps = BTreeMap::new();
    let mut reads = Reads::default();
    for (service, op) in &load.before {
        if let Some(replayed) = reads.one(c, d, service, op).await {
            *gaps.entry((format!("{service} {op}"), replayed)).or_default() += 1;
        }
    }

    let DesiredRole::Managed { name: role, trust_policy, policy, .. } = &d.role else {
        return Err("the canonical bridge has a managed role".into());
    };
    let events_tags: Vec<aws_sdk_eventbridge::types::Tag> = d
        .tags
        .iter()
        .filter_map(|(k, v)| aws_sdk_eventbridge::types::Tag::builder().key(k).value(v).build().ok())
        .collect();
    let iam_tags: Vec<aws_sdk_iam::types::Tag> =
        d.tags.iter().filter_map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().ok()).collect();
    let api_tags: HashMap<String, String> = d.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();

    c.iam
        .create_role()
        .role_name(role)
        .path(d.owner.role_path())
        .description(format!("API Gateway -> EventBridge PutEvents for webhook-bridge {}", d.owner.key()))
        .assume_role_policy_document(trust_policy.to_string())
        .set_tags(Some(iam_tags))
        .send()
        .await
        .map_err(fail("CreateRole"))?;
    c.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(ROLE_POLICY_NAME)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(fail("PutRolePolicy"))?;
    c.events
        .create_event_bus()
        .name(&d.bus.name)
        .description(format!("Managed by webhook-bridge for {}", d.owner.key()))
        .set_tags(Some(events_tags.clone()))
        .send()
        .await
        .map_err(fail("CreateEventBus"))?;
    for rule in &d.rules {
        c.events
            .put_rule()
            .name(&rule.name)
            .event_bus_name(&d.bus.name)
            .event_pattern(rule.pattern.to_string())
            .state(if rule.enabled { RuleState::Enabled } else { RuleState::Disabled })
            .description(rule.description.clone().unwrap_or_default())
            .set_tags(Some(events_tags.clone()))
            .send()
            .await
            .map_err(fail("PutRule"))?;
        for p in rule.permissions(&d.owner) {
            c.lambda
                .add_permission()
                .function_name(&p.function_arn)
                .statement_id(&p.statement_id)
                .action("lambda:InvokeFunction")
                .principal("events.amazonaws.com")
                .source_arn(&p.source_arn)
                .send()
                .await
                .map_err(fail("AddPermission"))?;
        }
        let targets = rule
            .targets
            .iter()
            .map(|t| Target::builder().id(&t.id).arn(&t.arn).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("PutTargets: {e}"))?;
        let out = c
            .events
            .put_targets()
            .rule(&rule.name)
            .event_bus_name(&d.bus.name)
            .set_targets(Some(targets))
            .send()
            .await
            .map_err(fail("PutTargets"))?;
        if !out.failed_entries().is_empty() {
            return Err(format!("PutTargets: {:?}", out.failed_entries()));
        }
    }
    let api_id = c
        .apigateway
        .create_api()
        .name(&d.api.name)
        .protocol_type(ProtocolType::Http)
        .description(&d.api.description)
        .set_tags(Some(api_tags.clone()))
        .send()
        .await
        .map_err(fail("CreateApi"))?
        .api_id
        .ok_or("CreateApi: no ApiId")?;
    c.apigateway
        .create_stage()
        .api_id(&api_id)
        .stage_name(&d.stage.name)
        .auto_deploy(true)
        .set_tags(Some(api_tags))
        .send()
        .await
        .map_err(fail("CreateStage"))?;
    for route in &d.routes {
        let integration_id = c
            .apigateway
            .create_integration()
            .api_id(&api_id)
            .integration_type(IntegrationType::AwsProxy)
            .integration_subtype(INTEGRATION_SUBTYPE)
            .credentials_arn(&route.integration.credentials_arn)
            .payload_format_version(PAYLOAD_FORMAT_VERSION)
            .timeout_in_millis(INTEGRATION_TIMEOUT_MS)
            .description(&route.integration.description)
            .set_request_parameters(Some(
                route.integration.request_parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ))
            .send()
            .await
            .map_err(fail("CreateIntegration"))?
            .integration_id
            .ok_or("CreateIntegration: no IntegrationId")?;
        c.apigateway
            .create_route()
            .api_id(&api_id)
            .route_key(&route.route_key)
            .target(format!("integrations/{integration_id}"))
            .operation_name(&route.name)
            .authorization_type(AuthorizationType::from(route.authorization_type.as_str()))
            .send()
            .await
            .map_err(fail("CreateRoute"))?;
    }

    reads.api_id = Some(api_id);
    for (service, op) in &load.after {
        if let Some(replayed) = reads.one(c, d, service, op).await {
            *gaps.entry((format!("{service} {op}"), replayed)).or_default() += 1;
        }
    }
    Ok(gaps)
}

/// The baseline's reads of one bridge, as the operator makes them (see src/aws/*.rs: `observe`).
#[derive(Default)]
struct Reads {
    api_id: Option<String>,
    /// Where the next GetApis page starts (the operator reads every page).
    apis_page: Option<String>,
    /// Calls so far by operation, to take turns over the bridge's rules, functions, tagged ARNs.
    made: BTreeMap<String, usize>,
}

impl Reads {
    /// One read of `service` `op`, or when it has no replay for that operation another read of the
    /// same service (Some(true)), or none (Some(false)). Its outcome is the emulator's (the
    /// counter records it).
    async fn one(&mut self, c: &Direct, d: &Desired, service: &str, op: &str) -> Option<bool> {
        if self.exact(c, d, service, op).await {
            return None;
        }
        let stand_in = match service {
            "apigatewayv2" => "GetApi",
            "eventbridge" => "DescribeEventBus",
            "iam" => "GetRole",
            "lambda" => "GetPolicy",
            "logs" => "DescribeLogGroups",
            "sts" => "GetCallerIdentity",
            _ => return Some(false),
        };
        Some(self.exact(c, d, service, stand_in).await)
    }

    /// One read of `service` `op`; false for an operation it has no replay for.
    async fn exact(&mut self, c: &Direct, d: &Desired, service: &str, op: &str) -> bool {
        let made = self.made.entry(op.to_string()).or_default();
        let k = *made;
        *made += 1;
        let api = self.api_id.as_deref().unwrap_or("none");
        let rule = &d.rules[k % d.rules.len()];
        match (service, op) {
            ("apigatewayv2", "GetApis") => {
                let out = c.apigateway.get_apis().max_results(PAGE).set_next_token(self.apis_page.take()).send().await;
                self.apis_page = out.ok().and_then(|o| o.next_token);
            }
            ("apigatewayv2", "GetApi") => {
                let _ = c.apigateway.get_api().api_id(api).send().await;
            }
            ("apigatewayv2", "GetDomainNames") => {
                let _ = c.apigateway.get_domain_names().max_results(PAGE).send().await;
            }
            ("apigatewayv2", "GetStages") => {
                let _ = c.apigateway.get_stages().api_id(api).max_results(PAGE).send().await;
            }
            ("apigatewayv2", "GetIntegrations") => {
                let _ = c.apigateway.get_integrations().api_id(api).max_results(PAGE).send().await;
            }
            ("apigatewayv2", "GetRoutes") => {
                let _ = c.apigateway.get_routes().api_id(api).max_results(PAGE).send().await;
            }
            ("apigatewayv2", "GetAuthorizers") => {
                let _ = c.apigateway.get_authorizers().api_id(api).max_results(PAGE).send().await;
            }
            ("eventbridge", "DescribeEventBus") => {
                let _ = c.events.describe_event_bus().name(&d.bus.name).send().await;
            }
            ("eventbridge", "ListTagsForResource") => {
                // The bus's tags, then each rule's.
                let arn = match k % (d.rules.len() + 1) {
                    0 => &d.bus.arn,
                    r => &d.rules[r - 1].arn,
                };
                let _ = c.events.list_tags_for_resource().resource_arn(arn).send().await;
            }
            ("eventbridge", "DescribeArchive") => {
                let _ = c.events.describe_archive().archive_name(d.owner.archive_name()).send().await;
            }
            ("eventbridge", "ListRules") => {
                let _ =
                    c.events.list_rules().event_bus_name(&d.bus.name).name_prefix(d.owner.rule_prefix()).send().await;
            }
            ("eventbridge", "ListTargetsByRule") => {
                let _ = c.events.list_targets_by_rule().rule(&rule.name).event_bus_name(&d.bus.name).send().await;
            }
            ("iam", "GetRole") => {
                let _ = c.iam.get_role().role_name(d.owner.role_name()).send().await;
            }
            ("iam", "GetRolePolicy") => {
                let _ =
                    c.iam.get_role_policy().role_name(d.owner.role_name()).policy_name(ROLE_POLICY_NAME).send().await;
            }
            ("lambda", "GetPolicy") => {
                let functions = d.permissions();
                let Some(p) = functions.get(k % functions.len().max(1)) else { return false };
                let _ = c.lambda.get_policy().function_name(&p.function_arn).send().await;
            }
            ("logs", "DescribeLogGroups") => {
                let _ = c.logs.describe_log_groups().log_group_name_prefix(&d.logs.group_name).limit(50).send().await;
            }
            ("sts", "GetCallerIdentity") => {
                let _ = c.sts.get_caller_identity().send().await;
            }
            _ => return false,
        }
        true
    }
}

/// A table: a header row, then one row per measure, columns padded to their widest cell.
fn print_table(header: &[String], rows: Vec<(String, Vec<String>)>) {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (k, values) in &rows {
        widths[0] = widths[0].max(k.chars().count());
        for (i, v) in values.iter().enumerate().take(columns - 1) {
            widths[i + 1] = widths[i + 1].max(v.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    println!();
    line(header.iter().map(String::as_str).collect());
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(rules.iter().map(String::as_str).collect());
    for (k, values) in &rows {
        line(std::iter::once(k.as_str()).chain(values.iter().map(String::as_str)).collect());
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A duration per bridge, in ms with a sensible precision.
fn per_bridge_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.0} ms") }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `reads, writes` of calls, per bridge.
fn reads_writes_per(calls: &Calls, n: usize) -> String {
    let (reads, writes) = reads_writes(&operations(calls));
    format!("{} reads, {} writes", num(reads / n as f64), num(writes / n as f64))
}

/// A ratio against a goal: `1.23x ok` / `2.50x over`.
fn ratio(r: f64, goal: f64) -> String {
    let verdict = if r <= goal { "ok" } else { "over" };
    format!("{r:.2}x {verdict}")
}

/// Calls per bridge by service and operation: `apigatewayv2 CreateApi 1, GetApis 2; iam ...`.
fn per_operation(calls: &Calls, n: usize) -> String {
    let mut by: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for ((service, op, _), k) in calls {
        *by.entry(service).or_default().entry(op).or_default() += k;
    }
    by.iter()
        .map(|(service, ops)| {
            let ops: Vec<String> = ops.iter().map(|(op, k)| format!("{op} {}", num(k / n as f64))).collect();
            format!("{service} {}", ops.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rows of the section 3 table, one column per N.
fn scale_rows(runs: &[Scale]) -> Vec<(String, Vec<String>)> {
    let mut rows = Vec::new();
    let mut row = |label: &str, cell: &dyn Fn(&Scale) -> String| {
        rows.push((label.to_string(), runs.iter().map(cell).collect::<Vec<_>>()));
    };
    row("create N bridges through the apiserver (16 at once)", &|r| secs(r.created));
    row("`webhook-bridge run`: all Ready", &|r| {
        let late = if r.done < r.n { " (timed out)" } else { "" };
        format!("{}/{} in {}{late}", r.done, r.n, secs(r.took))
    });
    row("  time per bridge", &|r| per_bridge_ms(r.time_per_bridge()));
    row("  first / half Ready", &|r| {
        let s = |d: Option<Duration>| d.map_or("-".to_string(), secs);
        format!("{} / {}", s(r.first), s(r.half))
    });
    row("AWS calls per bridge to converge", &|r| reads_writes_per(&r.calls, r.n));
    let services: BTreeSet<&str> = runs.iter().flat_map(|r| r.calls.keys().map(|(s, _, _)| s.as_str())).collect();
    for service in services {
        row(&format!("  {service}"), &|r| {
            let calls: Calls =
                r.calls.iter().filter(|((s, _, _), _)| s == service).map(|(k, v)| (k.clone(), *v)).collect();
            reads_writes_per(&calls, r.n)
        });
    }
    if runs.iter().any(|r| failed(&r.calls) > 0.0) {
        row("  of which error answers (e.g. not found)", &|r| num(r.per_bridge(failed(&r.calls))));
    }
    row("reconciles per bridge: success / retryable / terminal", &|r| {
        let [ok, retry, terminal, _] = r.reconciles.map(|x| num(r.per_bridge(x)));
        format!("{ok} / {retry} / {terminal}")
    });
    if runs.iter().any(|r| r.reconciles[3] > 0.0) {
        // Bridges Ready early come up for their resync while later ones still converge.
        row("  in-sync resyncs deferred (new bridges first)", &|r| num(r.reconciles[3]));
    }
    row("operator peak RSS (VmHWM)", &|r| mib(r.peak));
    row("  RSS settled / highest sampled", &|r| format!("{} / {}", mib(r.rss), mib(r.rss_max)));
    row("operator CPU time: to all Ready / at exit", &|r| format!("{} / {}", secs(r.cpu_at_ready), secs(r.cpu)));
    row("operator log lines at RUST_LOG=error", &|r| r.log_lines.to_string());
    row("emulator-only baseline (16 bridges at once)", &|r| {
        r.baseline
            .as_ref()
            .map_or("-".into(), |b| format!("{} ({} per bridge)", secs(b.took), per_bridge_ms(b.took / r.n as u32)))
    });
    row("  its calls per bridge", &|r| r.baseline.as_ref().map_or("-".into(), |b| reads_writes_per(&b.calls, r.n)));
    if runs.iter().any(|r| r.baseline.as_ref().is_some_and(|b| failed(&b.calls) > 0.0)) {
        row("  its error answers per bridge", &|r| {
            r.baseline.as_ref().map_or("-".into(), |b| num(r.per_bridge(failed(&b.calls))))
        });
    }
    row(&format!("operator time / baseline time (goal ≤ {BASELINE_GOAL}x)"), &|r| {
        r.baseline.as_ref().map_or("-".into(), |b| ratio(r.took.as_secs_f64() / b.took.as_secs_f64(), BASELINE_GOAL))
    });
    // Flat cost: each N against the smallest.
    if let Some(base) = runs.iter().min_by_key(|r| r.n)
        && runs.len() > 1
    {
        let flat = |x: f64, x0: f64| if x0 > 0.0 { ratio(x / x0, 1.0 + FLAT_GOAL) } else { "-".into() };
        let goal = FLAT_GOAL * 100.0;
        row(&format!("flat cost vs N = {}: calls per bridge (goal ≤ +{goal:.0} %)", base.n), &|r| {
            if r.n == base.n { "-".into() } else { flat(r.calls_per_bridge(), base.calls_per_bridge()) }
        });
        row(&format!("flat cost vs N = {}: time per bridge (goal ≤ +{goal:.0} %)", base.n), &|r| {
            if r.n == base.n {
                "-".into()
            } else {
                flat(r.time_per_bridge().as_secs_f64(), base.time_per_bridge().as_secs_f64())
            }
        });
    }
    rows
}
