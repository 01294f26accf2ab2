//! Operator benchmarks against a real kube-apiserver (upstream etcd + kube-apiserver, started by
//! tests/common/k8s.rs) and the local AWS emulator. Prints a table.
//!
//!   export TEST_ASSET_KUBE_APISERVER=/path/to/kube-apiserver TEST_ASSET_ETCD=/path/to/etcd
//!   cargo bench --bench operator                 # all (1,000 bridges)
//!   BRIDGES=200 cargo bench --bench operator     # fewer bridges
//!
//! Every bridge has the canonical shape of examples/orders.yaml (1 route, 2 rules, 2 Lambda
//! targets, managed bus and role), each on a bus of its own. Measures:
//! 1. apply → Ready latency of 20 bridges created one after another (in-process operator);
//! 2. AWS calls per in-sync resync, as the operator makes them: its own call counter over a window
//!    of resyncs (short resync interval), divided by the reconciles it counted;
//! 3. `webhook-bridge run` as its own process: time for N bridges created beforehand to be all
//!    Ready, its AWS calls (scraped from its /metrics), CPU time and RSS (from /proc).
//!
//! The emulator has no IAM propagation delay, so both operators run with a role-propagation wait
//! of 0 (the tests' `options()`, and `--role-propagation-seconds 0`): the numbers are the
//! operator's own; a real account adds that wait (30 s by default) to a new bridge's apply → Ready.
//! Moto runs without the model-check proxy (`MODEL_CHECK=off`) unless `MODEL_CHECK` is set.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Moto;
use common::kube_wait::{create, orders_json, ready};
use common::operator::{Operator, options, sample};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::aws::counter::{CallCounts, is_read};

const SUCCESS: &str = "webhook_bridge_reconciles_total{result=\"success\"}";
const RETRYABLE: &str = "webhook_bridge_reconciles_total{result=\"retryable_error\"}";
const TERMINAL: &str = "webhook_bridge_reconciles_total{result=\"terminal_error\"}";
const LAMBDAS: [&str; 2] = ["createOrder", "cancelOrder"];

fn bridges_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<WebhookBridge>(&()))
}

fn is_ready(o: &DynamicObject) -> bool {
    ready(serde_json::to_value(o).ok().as_ref())
}

/// The canonical bridge `name` in `ns`, on a bus of its own.
fn canonical(name: &str, ns: &str) -> Value {
    let v = orders_json(name, ns, &format!("bus-{name}"));
    assert_eq!(
        (v["spec"]["routes"].as_array().map(Vec::len), v["spec"]["rules"].as_array().map(Vec::len)),
        (Some(1), Some(2)),
        "examples/orders.yaml is no longer the canonical shape"
    );
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

/// `webhook_bridge_aws_calls_total` from a /metrics text, by operation.
fn aws_calls(metrics: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("webhook_bridge_aws_calls_total{") else { continue };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        let operation = labels
            .split(',')
            .find_map(|l| l.strip_prefix("operation=\""))
            .map(|v| v.trim_end_matches('"').to_string())
            .unwrap_or_default();
        *out.entry(operation).or_default() += value.trim().parse::<f64>().unwrap_or(0.0);
    }
    out
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
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    // A benchmark of the operator, not of the model-check proxy in front of moto.
    if std::env::var_os("MODEL_CHECK").is_none() {
        // SAFETY: no other thread exists yet (the runtime is built below).
        unsafe { std::env::set_var("MODEL_CHECK", "off") };
    }
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
    let check = std::env::var("MODEL_CHECK").unwrap_or_default();
    rows.push(("AWS emulator".into(), format!("moto (MODEL_CHECK={check}), role-propagation wait 0")));

    // 1. apply → Ready, 20 canonical bridges one after another, in-process operator.
    {
        let moto = Moto::start();
        moto.seed_lambdas(&LAMBDAS).await;
        let ns = cluster.namespace("bench-latency").await;
        let mut opts = options(&[&ns]);
        opts.settings.resync = Duration::from_secs(3600);
        let op = Operator::start(client.clone(), &moto, opts).await;
        let api = bridges_api(&client, &ns);
        let mut times = Vec::new();
        for i in 0..20 {
            let name = format!("latency-{i:02}");
            let start = Instant::now();
            create(&client, canonical(&name, &ns)).await;
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
        let moto = Moto::start();
        moto.seed_lambdas(&LAMBDAS).await;
        let ns = cluster.namespace("bench-resync").await;
        let mut opts = options(&[&ns]);
        opts.settings.resync = RESYNC;
        let op = Operator::start(client.clone(), &moto, opts).await;
        let api = bridges_api(&client, &ns);
        for i in 0..BRIDGES {
            create(&client, canonical(&format!("resync-{i}"), &ns)).await;
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

    // 3. N canonical bridges, then `webhook-bridge run` as its own process.
    let n: usize = std::env::var("BRIDGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    {
        let moto = Moto::start();
        moto.seed_lambdas(&LAMBDAS).await;
        let ns = cluster.namespace("bench-scale").await;
        let api = bridges_api(&client, &ns);
        let start = Instant::now();
        futures::stream::iter(0..n)
            .map(|i| {
                let (client, ns) = (client.clone(), ns.clone());
                async move { create(&client, canonical(&format!("b{i:04}"), &ns)).await }
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>()
            .await;
        let created = start.elapsed();
        rows.push((
            format!("create {n} bridges through the apiserver (16 at once)"),
            format!("{:.1} s", created.as_secs_f64()),
        ));

        let metrics_addr = free_addr();
        let log_path = std::env::temp_dir().join(format!("whb-bench-operator-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("operator log file");
        let binary = env!("CARGO_BIN_EXE_webhook-bridge");
        let mut child = KillOnDrop(
            Command::new(binary)
                .args(["run", "--metrics-addr", &metrics_addr.to_string()])
                .args(["--aws-rate", "2000", "--aws-burst", "100", "--concurrency", "16"])
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
                .env("AWS_REGION", "us-east-1")
                .env("RUST_LOG", "error")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start webhook-bridge run"),
        );
        let pid = child.0.id();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1500);
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
            tokio::time::sleep(Duration::from_secs(1)).await;
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
        let (reads, writes) = reads_writes(&calls);
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let log_lines = log.lines().count();

        rows.push((
            format!("{n} canonical bridges all Ready (separate process)"),
            format!("{done}/{n} in {:.0} s", took.as_secs_f64()),
        ));
        let secs = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.0} s", d.as_secs_f64()));
        rows.push(("  first Ready / half Ready".into(), format!("{} / {}", secs(first), secs(half))));
        rows.push((
            format!("  AWS calls per bridge, {n} bridges to Ready"),
            format!("{} reads, {} writes", num(reads / n as f64), num(writes / n as f64)),
        ));
        rows.push((
            "  reconciles (success / retryable / terminal)".into(),
            format!(
                "{} / {} / {} ({} per bridge)",
                sample(&metrics, SUCCESS),
                sample(&metrics, RETRYABLE),
                sample(&metrics, TERMINAL),
                num((sample(&metrics, SUCCESS) + sample(&metrics, RETRYABLE) + sample(&metrics, TERMINAL)) / n as f64)
            ),
        ));
        rows.push((
            format!("operator RSS holding {n} bridges"),
            format!(
                "{:.1} MiB (peak VmHWM {:.1} MiB, max sampled {:.1} MiB)",
                rss as f64 / 1024.0,
                peak as f64 / 1024.0,
                rss_max as f64 / 1024.0
            ),
        ));
        rows.push((
            "operator CPU time (user + system)".into(),
            format!("{:.1} s to all Ready, {:.1} s at exit", cpu_at_ready.as_secs_f64(), cpu.as_secs_f64()),
        ));
        rows.push(("operator log lines at RUST_LOG=error".into(), format!("{log_lines} ({})", log_path.display())));
        if log_lines > 0 {
            eprintln!("bench: webhook-bridge run logged (first lines):");
            for line in log.lines().take(10) {
                eprintln!("  {line}");
            }
        }
    }

    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(10);
    println!("\n{:<width$}  result", "measure");
    println!("{}  {}", "-".repeat(width), "-".repeat(40));
    for (k, v) in rows {
        println!("{k:<width$}  {v}");
    }
}
