//! Leader election with real processes on a real kube-apiserver: `webhook-bridge run` replicas,
//! the leader killed with SIGKILL in the middle of reconciling (no graceful release), then the
//! next leader frozen with SIGSTOP until another replica took over and resumed with SIGCONT.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::k8s::Cluster;
use common::kube_wait::{create, orders_json};
use common::tap::Tap;
use common::{Inventory, Moto, inventory, orders_counts};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use webhook_bridge::api::WebhookBridge;

const LEASE_SECONDS: u64 = 4;

/// A `webhook-bridge run` process, killed on drop.
struct Replica {
    child: Child,
    identity: &'static str,
    tap: Tap,
    metrics: String,
}

impl Replica {
    async fn start(cluster: &Cluster, ns: &str, identity: &'static str, moto: &Moto) -> Replica {
        let tap = Tap::start(&moto.endpoint).await;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let log = std::fs::File::create(cluster.dir.join(format!("{ns}-{identity}.log"))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
            .args([
                "--cluster-name",
                "failover",
                "--region",
                "us-east-1",
                "run",
                "--namespaces",
                ns,
                "--tenancy",
                "single",
            ])
            .args(["--leader-election", "--lease-namespace", ns, "--identity", identity])
            .args(["--lease-seconds", &LEASE_SECONDS.to_string(), "--concurrency", "1"])
            .args(["--backoff-seconds", "1", "--max-backoff-seconds", "2", "--role-propagation-seconds", "0"])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .env("KUBECONFIG", cluster.kubeconfig_path())
            .env("AWS_ENDPOINT_URL", &tap.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("RUST_LOG", "info")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start webhook-bridge run");
        Replica { child, identity, tap, metrics: format!("127.0.0.1:{port}") }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.identity);
    }

    async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(mut s) = tokio::net::TcpStream::connect(&self.metrics).await else { return String::new() };
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let mut out = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await;
        out
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn holder(client: &kube::Client, ns: &str) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), ns).get_opt("webhook-bridge-leader").await.ok()??;
    lease.spec?.holder_identity
}

async fn until_holder(client: &kube::Client, ns: &str, identity: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while holder(client, ns).await.as_deref() != Some(identity) {
        assert!(start.elapsed() < within, "{identity} did not take the lease within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

/// Names of the Ready bridges in `ns`.
async fn ready_count(client: &kube::Client, ns: &str) -> usize {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<WebhookBridge>(&()));
    let list = api.list(&ListParams::default()).await.expect("list");
    list.items
        .iter()
        .filter(|o| {
            let v = serde_json::to_value(o).unwrap_or_default();
            common::kube_wait::ready(Some(&v))
        })
        .count()
}

async fn until_ready(client: &kube::Client, ns: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while ready_count(client, ns).await < n {
        assert!(Instant::now() < deadline, "only {}/{n} Ready", ready_count(client, ns).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Wait until some but not all of `n` bridges are Ready: the leader is in the middle of its work.
async fn until_midway(client: &kube::Client, ns: &str, from: usize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = ready_count(client, ns).await;
        assert!(ready < n, "all {n} were Ready before the fault could be injected");
        if ready > from {
            return;
        }
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Exactly one of each AWS object per bridge, nothing else.
fn expect_exactly(inv: &Inventory, bridges: usize) {
    assert_eq!(
        inv.counts(),
        orders_counts(bridges),
        "apis, stages, integrations, routes, buses, rules, targets, roles, permissions: {inv:#?}"
    );
    let mut buses = inv.buses.clone();
    buses.dedup();
    assert_eq!(buses.len(), bridges, "a duplicated bus: {:?}", inv.buses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_a_paused_one_never_calls_aws_again() {
    let cluster = require_cluster!();
    let ns = cluster.namespace("failover").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;

    let a = Replica::start(cluster, &ns, "a", &moto).await;
    until_holder(&client, &ns, "a", Duration::from_secs(30)).await;
    let b = Replica::start(cluster, &ns, "b", &moto).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 1. SIGKILL the leader while it works through a batch: no release, the Lease must expire.
    const BATCH: usize = 12;
    for i in 0..BATCH {
        create(&client, orders_json(&format!("one-{i}"), &ns, &format!("bus-one-{i}"))).await;
    }
    until_midway(&client, &ns, 0, BATCH).await;
    let mut a = a;
    a.child.kill().expect("SIGKILL a");
    let killed = Instant::now();
    let _ = a.child.wait();
    until_holder(&client, &ns, "b", Duration::from_secs(LEASE_SECONDS + 6)).await;
    let takeover = killed.elapsed();
    assert!(
        takeover <= Duration::from_secs(LEASE_SECONDS + 3),
        "the standby took {takeover:?} to take over a {LEASE_SECONDS} s lease"
    );
    until_ready(&client, &ns, BATCH).await;
    expect_exactly(&inventory(&moto.clients().await).await, BATCH);
    drop(a);

    // 2. Freeze the new leader mid-batch with SIGSTOP; a third replica takes over and finishes.
    let c = Replica::start(cluster, &ns, "c", &moto).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..BATCH {
        create(&client, orders_json(&format!("two-{i}"), &ns, &format!("bus-two-{i}"))).await;
    }
    until_midway(&client, &ns, BATCH, 2 * BATCH).await;
    b.signal(libc::SIGSTOP);
    until_holder(&client, &ns, "c", Duration::from_secs(LEASE_SECONDS + 6)).await;
    until_ready(&client, &ns, 2 * BATCH).await;

    // b wakes up with reconciles in flight, believing for a moment that it still leads. Its write
    // fence has expired on the monotonic clock meanwhile: no request attempt passes it any more.
    // Only a request already past its last check (right before the HTTP connector) when the
    // process froze can still leave at once: AWS takes no fencing token, so that window (pool
    // checkout and the socket write) cannot be shut from our side. Nothing may follow it.
    b.signal(libc::SIGCONT);
    let resumed = Instant::now();
    tokio::time::sleep(Duration::from_secs(LEASE_SECONDS + 2)).await;
    // One reconcile at a time (--concurrency 1), whose reads go out up to 6 at once.
    const IN_FLIGHT: usize = 8;
    let late: Vec<Duration> =
        b.tap.requests().into_iter().filter(|(t, _)| *t >= resumed).map(|(t, _)| t - resumed).collect();
    assert!(
        late.len() <= IN_FLIGHT && late.iter().all(|d| *d < Duration::from_millis(100)),
        "the deposed replica called AWS after it resumed, beyond what was in flight: {late:?}"
    );
    if !late.is_empty() {
        eprintln!("requests in flight at the freeze that left at resume: {late:?}");
    }
    let metrics = b.scrape().await;
    assert!(!metrics.is_empty(), "the deposed replica is alive and serving metrics");
    assert_ne!(holder(&client, &ns).await.as_deref(), Some("b"), "b did not take the lease back");
    expect_exactly(&inventory(&moto.clients().await).await, 2 * BATCH);
    drop((b, c));
}
