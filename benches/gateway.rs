//! Shared gateways at scale, inside AWS's default quotas (issue #21): a real kube-apiserver
//! (tests/common/k8s.rs), `webhook-bridge run` as its own process, and moto behind the emulator
//! (scripts/aws_emulator) with every default quota ON (100 buses, 1,000 roles, 300 routes and
//! integrations per API, 300 rules per bus, 5 targets per rule, ...), so no figure can come from
//! an account that cannot exist. Prints one table.
//!
//!   export TEST_ASSET_KUBE_APISERVER=/path/to/kube-apiserver TEST_ASSET_ETCD=/path/to/etcd
//!   cargo bench --bench gateway                       # 100 standalone, then 100 and 1,000 attached
//!   GATEWAY_BRIDGES=10000 cargo bench --bench gateway # 10,000 attached (by hand, outside CI)
//!   STANDALONE=0 ...                                  # skip the standalone comparison
//!
//! Scenarios, each on a fresh emulator (a fresh default account):
//! - standalone: S canonical bridges (examples/orders.yaml: 1 route, 2 rules, 2 Lambda targets,
//!   a bus, a role and an API each): about what a default account holds (100 buses);
//! - attached: N canonical bridges over G = ceil(N / 150) gateways (150 = 300 rules per bus / 2
//!   rules per bridge: the first quota to bind), spread over namespaces, each bridge's route under
//!   its namespace's prefix. Gateways are made first; the table counts the bridges' own calls.
//!
//! Every 20 bridges share a pair of Lambda functions (a function's policy holds about 60 of our
//! statements: Lambda's 20 KB quota). Role-propagation wait 0 (the emulator has no IAM delay).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Moto;
use common::kube_wait::{create, orders_json, ready};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::{WebhookBridge, WebhookBridgeGateway};
use webhook_bridge::aws::counter::is_read;

const BRIDGES_PER_FUNCTION: usize = 20;
/// Canonical bridges one gateway holds at default quotas: 300 rules per bus / 2 rules each.
const PER_GATEWAY: usize = 150;
const IN_FLIGHT: usize = 16;
const SUCCESS: &str = "webhook_bridge_reconciles_total{result=\"success\"}";
const RETRYABLE: &str = "webhook_bridge_reconciles_total{result=\"retryable_error\"}";
/// In-sync resyncs put back for want of a slot: counted as successful reconciles, but no work.
const DEFERRED: &str = "webhook_bridge_resyncs_deferred_total";
/// In-sync resyncs that ran.
const RESYNCS: &str = "webhook_bridge_resyncs_total";

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn api_of<K: kube::Resource<DynamicType = ()>>(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<K>(&()))
}

fn functions_of(i: usize) -> [String; 2] {
    let group = i / BRIDGES_PER_FUNCTION;
    [format!("createOrder-{group:04}"), format!("cancelOrder-{group:04}")]
}

async fn seed_functions(moto: &Moto, n: usize) {
    let names: Vec<String> = (0..n.max(1)).step_by(BRIDGES_PER_FUNCTION).flat_map(functions_of).collect();
    let chunks: Vec<Vec<&str>> =
        names.chunks(names.len().div_ceil(16).max(1)).map(|c| c.iter().map(String::as_str).collect()).collect();
    futures::future::join_all(chunks.iter().map(|c| moto.seed_lambdas(c))).await;
}

/// examples/orders.yaml as the `i`th bridge: standalone (its own bus) or on `gateway`.
fn canonical(name: &str, ns: &str, i: usize, gateway: Option<(&str, &str)>) -> Value {
    let mut v = orders_json(name, ns, &format!("bus-{name}"));
    for (rule, function) in functions_of(i).iter().enumerate() {
        v["spec"]["rules"][rule]["targets"][0]["arn"] =
            Value::from(format!("arn:aws:lambda:{}:{}:function:{function}", common::REGION, common::ACCOUNT));
    }
    if let Some((gw_ns, gw)) = gateway {
        let spec = v["spec"].as_object_mut().expect("spec");
        for field in ["region", "api", "eventBus", "role", "domain"] {
            spec.remove(field);
        }
        spec.insert("gatewayRef".into(), json!({"name": gw, "namespace": gw_ns}));
        v["spec"]["routes"][0]["path"] = json!(format!("/{ns}/{name}"));
    }
    v
}

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

fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok())).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
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

/// `service.Operation` → calls, from `webhook_bridge_aws_calls_total` (every outcome).
fn calls(metrics: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in metrics.lines().filter(|l| l.starts_with("webhook_bridge_aws_calls_total{")) {
        let label = |name: &str| {
            line.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("").to_string()
        };
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *out.entry(format!("{}.{}", label("service"), label("operation"))).or_default() += value;
    }
    out
}

fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok())).unwrap_or(0.0)
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

fn reads_writes(c: &BTreeMap<String, f64>) -> (f64, f64) {
    // Keys are `service.Operation`; reads by their operation (Get*, List*, Describe*).
    c.iter().fold(
        (0.0, 0.0),
        |(r, w), (op, n)| {
            if is_read(op.rsplit('.').next().unwrap_or(op)) { (r + n, w) } else { (r, w + n) }
        },
    )
}

struct Run {
    label: String,
    n: usize,
    gateways: usize,
    ready: Duration,
    reads: f64,
    writes: f64,
    resync_reads: Option<f64>,
    /// Reconciles to all Ready, per bridge: (succeeded, retried); in-sync resyncs (run or put
    /// back) are not counted here but in `resyncs`.
    reconciles: (f64, f64),
    /// In-sync resyncs run, and put back for want of a slot, while the bridges settled.
    resyncs: (f64, f64),
    rss_peak: u64,
    cpu: f64,
    buses: usize,
    roles: usize,
    apis: usize,
    /// Bridges refused (Stalled), by reason.
    stuck: BTreeMap<String, usize>,
}

fn spawn_operator(
    cluster: &common::k8s::Cluster,
    moto: &Moto,
    namespaces: &[String],
    addr: SocketAddr,
    resync: u64,
) -> KillOnDrop {
    let log = std::fs::File::create(std::env::temp_dir().join(format!("whb-bench-gateway-{}.log", addr.port())))
        .expect("log file");
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
            .args(["run", "--metrics-addr", &addr.to_string()])
            .args(["--aws-rate", "2000", "--aws-burst", "100", "--concurrency", &IN_FLIGHT.to_string()])
            .args(["--namespaces", &namespaces.join(",")])
            .args(["--cluster-name", "bench", "--role-propagation-seconds", "0", "--tenancy", "single"])
            .args(["--resync-seconds", &resync.to_string(), "--resync-read-budget", "1000000"])
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
    )
}

/// Whether a bridge is Stalled (terminal: e.g. QuotaExceeded, the account is full).
fn stalled(o: &DynamicObject) -> Option<String> {
    let v = serde_json::to_value(o).ok()?;
    let c = v["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == "Stalled" && c["status"] == "True")?;
    Some(c["reason"].as_str().unwrap_or_default().to_string())
}

/// Wait until every object of `api`s is Ready or Stalled; the peak RSS seen on the way and the
/// reasons of the Stalled ones (reason → count).
///
/// With the operator's metrics address (bridges), the wait polls its bridge gauges, one scrape,
/// until they count `n` Ready or Stalled, and only then lists to confirm from status: listing
/// every namespace every 5 s was 7,813 lists of 10,000 bridges at N = 10,000, load on the
/// apiserver the operator then competed with.
async fn all_ready(
    apis: &[Api<DynamicObject>],
    n: usize,
    pid: u32,
    what: &str,
    metrics: Option<SocketAddr>,
) -> (u64, BTreeMap<String, usize>) {
    let start = Instant::now();
    let mut peak = 0;
    if let Some(addr) = metrics {
        let mut said = Instant::now();
        loop {
            peak = peak.max(rss_kib(pid).0);
            let m = scrape(addr).await;
            let settled = sample(&m, "webhook_bridge_bridges{condition=\"Ready\"}")
                + sample(&m, "webhook_bridge_bridges{condition=\"Stalled\"}");
            if settled >= n as f64 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(3600), "{what}: {settled}/{n} settled after an hour");
            if said.elapsed() > Duration::from_secs(30) {
                eprintln!(
                    "bench: {what}: {settled}/{n} settled (operator gauge) after {:.0} s",
                    start.elapsed().as_secs_f64()
                );
                said = Instant::now();
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let poll = Duration::from_millis((n as u64 / 2).clamp(200, 5000));
    let mut said = Instant::now();
    loop {
        peak = peak.max(rss_kib(pid).0);
        let mut done = 0;
        let mut stuck: BTreeMap<String, usize> = BTreeMap::new();
        for api in apis {
            if let Ok(list) = api.list(&ListParams::default()).await {
                for o in &list.items {
                    if ready(serde_json::to_value(o).ok().as_ref()) {
                        done += 1;
                    } else if let Some(reason) = stalled(o) {
                        *stuck.entry(reason).or_default() += 1;
                    }
                }
            }
        }
        if done + stuck.values().sum::<usize>() >= n {
            return (peak, stuck);
        }
        assert!(start.elapsed() < Duration::from_secs(3600), "{what}: {done}/{n} Ready after an hour");
        if said.elapsed() > Duration::from_secs(30) {
            eprintln!("bench: {what}: {done}/{n} Ready after {:.0} s", start.elapsed().as_secs_f64());
            said = Instant::now();
        }
        tokio::time::sleep(poll).await;
    }
}

/// Calls until they hold still for 2 s (the follow-ups of the last applies).
async fn settled(addr: SocketAddr) -> BTreeMap<String, f64> {
    let mut last = calls(&scrape(addr).await);
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = calls(&scrape(addr).await);
        if now == last {
            break;
        }
        last = now;
    }
    last
}

async fn account(moto: &Moto) -> (usize, usize, usize) {
    let c = moto.clients().await;
    let mut buses = 0;
    let mut token: Option<String> = None;
    loop {
        let Ok(out) = c.events.list_event_buses().limit(100).set_next_token(token.take()).send().await else { break };
        buses += out.event_buses().len();
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let roles = c.iam.list_roles().max_items(1000).send().await.map(|o| o.roles().len()).unwrap_or(0);
    let apis = c.apigateway.get_apis().max_results("500").send().await.map(|o| o.items().len()).unwrap_or(0);
    (buses, roles, apis)
}

async fn standalone(cluster: &common::k8s::Cluster, client: &kube::Client, n: usize) -> Run {
    let moto = Moto::start();
    seed_functions(&moto, n).await;
    let ns = cluster.namespace("bench-standalone").await;
    futures::stream::iter(0..n)
        .map(|i| {
            let (client, ns) = (client.clone(), ns.clone());
            async move { create(&client, canonical(&format!("b{i:05}"), &ns, i, None)).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    let addr = free_addr();
    let op = spawn_operator(cluster, &moto, std::slice::from_ref(&ns), addr, 600);
    let pid = op.0.id();
    let start = Instant::now();
    let (peak, stuck) = all_ready(&[api_of::<WebhookBridge>(client, &ns)], n, pid, "standalone", Some(addr)).await;
    let ready_in = start.elapsed();
    let cpu = cpu_secs(pid);
    let (reads, writes) = reads_writes(&settled(addr).await);
    let m = scrape(addr).await;
    let reconciles = (
        (sample(&m, SUCCESS) - sample(&m, DEFERRED) - sample(&m, RESYNCS)) / n as f64,
        sample(&m, RETRYABLE) / n as f64,
    );
    let resyncs = (sample(&m, RESYNCS), sample(&m, DEFERRED));
    let (buses, roles, apis) = account(&moto).await;
    Run {
        label: format!("standalone, S = {n}"),
        n,
        gateways: 0,
        ready: ready_in,
        reads: reads / n as f64,
        writes: writes / n as f64,
        resync_reads: None,
        reconciles,
        resyncs,
        rss_peak: peak.max(rss_kib(pid).1),
        cpu,
        buses,
        roles,
        apis,
        stuck,
    }
}

async fn attached(cluster: &common::k8s::Cluster, client: &kube::Client, n: usize) -> Run {
    let moto = Moto::start();
    seed_functions(&moto, n).await;
    let g = n.div_ceil(PER_GATEWAY);
    let platform = cluster.namespace("bench-platform").await;
    let teams: Vec<String> = {
        // One team namespace per 100 bridges (at most 100), or `TEAM_NAMESPACES`.
        let k = std::env::var("TEAM_NAMESPACES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_else(|| n.div_ceil(100))
            .clamp(1, 100);
        let mut v = Vec::new();
        for _ in 0..k {
            v.push(cluster.namespace("bench-team").await);
        }
        v
    };
    let gateways = api_of::<WebhookBridgeGateway>(client, &platform);
    for j in 0..g {
        let gw: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "webhookbridge.io/v1alpha1",
            "kind": "WebhookBridgeGateway",
            "metadata": {"name": format!("gw{j:03}"), "namespace": platform},
            "spec": {"region": common::REGION, "allowedRoutes": {"namespaces": {"from": "All"}, "pathPrefix": "/{namespace}/"}}
        }))
        .expect("gateway");
        gateways.create(&PostParams::default(), &gw).await.expect("create gateway");
    }
    let mut watched = vec![platform.clone()];
    watched.extend(teams.iter().cloned());
    let addr = free_addr();
    // 150 ms per bridge, shorter than the about 200 ms each takes to settle: the first bridges'
    // in-sync resyncs fall due while the last are still new, as when bridges are added to a
    // running cluster. New bridges must go first (at N = 10,000 with a fixed 0.5..2 s wait for a
    // resync slot, 2,184 were never reconciled); the table counts those resyncs apart.
    let resync = (n as u64 * 3 / 20).max(60);
    let op = spawn_operator(cluster, &moto, &watched, addr, resync);
    let pid = op.0.id();
    let (_, gw_stuck) = all_ready(std::slice::from_ref(&gateways), g, pid, "gateways", None).await;
    assert!(gw_stuck.is_empty(), "gateways Stalled: {gw_stuck:?}");
    let before = settled(addr).await;
    let counted = |m: &str| (sample(m, SUCCESS) - sample(m, DEFERRED) - sample(m, RESYNCS), sample(m, RETRYABLE));
    let resyncs_of = |m: &str| (sample(m, RESYNCS), sample(m, DEFERRED));
    let m0 = scrape(addr).await;
    let (reconciles0, resyncs0) = (counted(&m0), resyncs_of(&m0));
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let (client, ns) = (client.clone(), teams[i % teams.len()].clone());
            let gw = format!("gw{:03}", i / PER_GATEWAY);
            let platform = platform.clone();
            async move { create(&client, canonical(&format!("b{i:05}"), &ns, i, Some((&platform, &gw)))).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    let apis: Vec<Api<DynamicObject>> = teams.iter().map(|ns| api_of::<WebhookBridge>(client, ns)).collect();
    let (peak, stuck) = all_ready(&apis, n, pid, "attached", Some(addr)).await;
    let ready_in = start.elapsed();
    let cpu = cpu_secs(pid);
    let after = settled(addr).await;
    let (reads, writes) = reads_writes(&delta(&before, &after));
    // In-sync resyncs: every call over the window below, per in-sync resync run in it.
    let metrics = scrape(addr).await;
    let reconciles1 = counted(&metrics);
    let reconciles = ((reconciles1.0 - reconciles0.0) / n as f64, (reconciles1.1 - reconciles0.1) / n as f64);
    let resyncs1 = resyncs_of(&metrics);
    let resyncs = (resyncs1.0 - resyncs0.0, resyncs1.1 - resyncs0.1);
    // Until min(N, 2,000) resyncs have run, or a resync interval and a half has passed.
    let (calls0, ok0) = (calls(&metrics), sample(&metrics, RESYNCS));
    let window = Instant::now();
    let mut metrics = metrics;
    while window.elapsed() < Duration::from_secs(resync * 3 / 2) && sample(&metrics, RESYNCS) - ok0 < n.min(2000) as f64
    {
        tokio::time::sleep(Duration::from_secs(5)).await;
        metrics = scrape(addr).await;
    }
    let (resync_calls, passes) = (delta(&calls0, &calls(&metrics)), sample(&metrics, RESYNCS) - ok0);
    let resync_reads = (passes > 0.0).then(|| reads_writes(&resync_calls).0 / passes);
    let (buses, roles, api_count) = account(&moto).await;
    Run {
        label: format!("attached, N = {n} in {} namespaces", teams.len()),
        n,
        gateways: g,
        ready: ready_in,
        reads: reads / n as f64,
        writes: writes / n as f64,
        resync_reads,
        reconciles,
        resyncs,
        rss_peak: peak.max(rss_kib(pid).1),
        cpu,
        buses,
        roles,
        apis: api_count,
        stuck,
    }
}

fn sizes(var: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(var) {
        Ok(list) => list.split(',').filter_map(|s| s.trim().replace('_', "").parse().ok()).filter(|&n| n > 0).collect(),
        Err(_) => default.to_vec(),
    }
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(bench());
}

async fn bench() {
    let cluster = common::k8s::cluster("bench-gateway").unwrap_or_else(|| {
        panic!("the gateway bench needs a real kube-apiserver: set TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD")
    });
    let client = cluster.client().await;
    assert!(common::model_check_enabled(), "quotas live in the emulator in front of moto: do not set MODEL_CHECK=off");
    let mut runs = Vec::new();
    for s in sizes("STANDALONE", &[100]) {
        runs.push(standalone(cluster, &client, s).await);
    }
    for n in sizes("GATEWAY_BRIDGES", &[100, 1000]) {
        runs.push(attached(cluster, &client, n).await);
    }
    println!();
    println!(
        "| run | bridges | gateways | all settled | per bridge | refused (Stalled) | writes / bridge | reads / bridge | reconciles / bridge (retried) | in-sync resyncs while settling (put back) | reads / in-sync resync | peak RSS | CPU to all settled | buses / 100 | roles / 1,000 | APIs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {:.1} s | {:.0} ms | {} | {:.2} | {:.2} | {:.2} ({:.2}) | {:.0} ({:.0}) | {} | {:.1} MiB | {:.1} s | {} | {} | {} |",
            r.label,
            r.n,
            r.gateways,
            r.ready.as_secs_f64(),
            r.ready.as_secs_f64() * 1e3 / r.n as f64,
            if r.stuck.is_empty() { "0".to_string() } else { format!("{:?}", r.stuck) },
            r.writes,
            r.reads,
            r.reconciles.0,
            r.reconciles.1,
            r.resyncs.0,
            r.resyncs.1,
            r.resync_reads.map_or("-".to_string(), |x| format!("{x:.2}")),
            r.rss_peak as f64 / 1024.0,
            r.cpu,
            r.buses,
            r.roles,
            r.apis
        );
    }
    let attached: Vec<&Run> = runs.iter().filter(|r| r.gateways > 0).collect();
    if let (Some(small), Some(large)) = (attached.first(), attached.last())
        && large.n > small.n
    {
        let per = |r: &Run| r.ready.as_secs_f64() / r.n as f64;
        println!();
        println!(
            "attached, N = {} over N = {}: time per bridge {:.2}x, writes per bridge {:.2}x, reads per bridge {:.2}x (goal: flat, within 20 %)",
            large.n,
            small.n,
            per(large) / per(small),
            large.writes / small.writes,
            large.reads / small.reads
        );
    }
    println!(
        "first quota to bind on a gateway: rules per bus (300 / 2 rules = {PER_GATEWAY} canonical bridges); then routes and integrations per API (300); per account: buses (1 per gateway of 100), roles (1 per gateway of 1,000)"
    );
}
