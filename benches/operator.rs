//! Operator benchmarks against the local AWS emulator and the test API server. Prints a table.
//!
//!   cargo bench --bench operator                 # all (1,000 bridges for RSS)
//!   BRIDGES=200 cargo bench --bench operator     # fewer bridges
//!
//! Measures: apply → Ready latency (median of 20), AWS calls of an in-sync resync, and the
//! resident memory of a `webhook-bridge run` process (its own process, read from /proc) holding
//! N bridges.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Moto;
use common::apiserver::ApiServer;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::operator::{self, Options, Settings};

fn bridge(name: &str, with_rules: bool) -> WebhookBridge {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders.yaml")).expect("example");
    let mut v: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    v["metadata"] = json!({"name": name, "namespace": "default"});
    v["spec"]["eventBus"]["name"] = json!(format!("bus-{name}"));
    if !with_rules {
        v["spec"].as_object_mut().expect("spec").remove("rules");
    }
    serde_json::from_value(v).expect("bridge")
}

fn ready(o: &Value) -> bool {
    o["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        && o["status"]["observedGeneration"] == o["metadata"]["generation"]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut rows: Vec<(String, String)> = Vec::new();

    // 1. apply → Ready, 20 times, in-process operator.
    {
        let moto = Moto::start();
        moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
        let api = ApiServer::start().await;
        let engine = moto.engine("bench").await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = Options {
            settings: Settings { resync: Duration::from_secs(3600), ..Settings::default() },
            ..Options::default()
        };
        let task_engine = engine.clone();
        let client = api.client();
        let task = tokio::spawn(async move {
            let _ = operator::serve(
                client,
                task_engine,
                options,
                async move {
                    let _ = stopped.await;
                },
                None,
            )
            .await;
        });
        let bridges: Api<WebhookBridge> = Api::namespaced(api.client(), "default");
        let mut times = Vec::new();
        for i in 0..20 {
            let name = format!("latency-{i}");
            let start = Instant::now();
            bridges.create(&PostParams::default(), &bridge(&name, true)).await.expect("create");
            while !api.get("webhookbridges", "default", &name).is_some_and(|o| ready(&o)) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            times.push(start.elapsed());
        }
        times.sort();
        rows.push((
            "apply → Ready, canonical bridge (20 runs)".into(),
            format!(
                "median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
                percentile(&times, 0.5).as_secs_f64() * 1e3,
                percentile(&times, 0.9).as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3
            ),
        ));

        // 2. AWS calls of an in-sync resync of one canonical bridge.
        // (its own engine and counter, so the operator's own follow-up reconciles do not count)
        let one = bridges.get("latency-0").await.expect("get");
        let probe = moto.engine("bench").await;
        probe.reconcile(&one).await.expect("warm the STS identity cache, as a long-running operator has");
        probe.aws.counter.reset();
        let outcome = probe.reconcile(&one).await.expect("reconcile");
        assert!(outcome.actions.is_empty());
        rows.push((
            "AWS calls per in-sync resync (canonical bridge)".into(),
            format!("{} reads, {} writes", probe.aws.counter.reads(), probe.aws.counter.writes()),
        ));
        let _ = stop.send(());
        let _ = task.await;
    }

    // 3. Memory of the operator process holding N bridges.
    let n: usize = std::env::var("BRIDGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    {
        let moto = Moto::start();
        let api = ApiServer::start().await;
        let dir = std::env::temp_dir().join(format!("whb-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters: [{{name: t, cluster: {{server: '{}'}}}}]\nusers: [{{name: t, user: {{}}}}]\ncontexts: [{{name: t, context: {{cluster: t, user: t}}}}]\ncurrent-context: t\n",
                api.url()
            ),
        )
        .expect("kubeconfig");
        let bridges: Api<WebhookBridge> = Api::namespaced(api.client(), "default");
        for i in 0..n {
            bridges.create(&PostParams::default(), &bridge(&format!("b{i:04}"), false)).await.expect("create");
        }
        let binary = env!("CARGO_BIN_EXE_webhook-bridge");
        let mut child = Command::new(binary)
            .args([
                "run",
                "--metrics-addr",
                "127.0.0.1:0",
                "--aws-rate",
                "2000",
                "--aws-burst",
                "100",
                "--concurrency",
                "16",
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start operator");
        let pid = child.id();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1200);
        let mut done = 0;
        while Instant::now() < deadline {
            done = api.list("webhookbridges").iter().filter(|o| ready(o)).count();
            if done == n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let took = start.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (rss, peak) = rss_kib(pid);
        let _ = child.kill();
        let _ = child.wait();
        rows.push((
            format!("{n} bridges Ready (1 route each, managed bus + role)"),
            format!("{done}/{n} in {:.0} s", took.as_secs_f64()),
        ));
        rows.push((
            format!("operator RSS holding {n} bridges"),
            format!("{:.1} MiB (peak {:.1} MiB)", rss as f64 / 1024.0, peak as f64 / 1024.0),
        ));
    }

    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(10);
    println!("\n{:<width$}  result", "measure");
    println!("{}  {}", "-".repeat(width), "-".repeat(40));
    for (k, v) in rows {
        println!("{k:<width$}  {v}");
    }
}
