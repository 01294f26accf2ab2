//! The operator run in-process (`operator::serve`) against a real apiserver, with its engine on
//! the local AWS emulator, and a scrape of its `/metrics`.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use webhook_bridge::engine::Engine;
use webhook_bridge::operator::{self, Options, Running, Settings};

use super::Moto;

pub struct Operator {
    pub running: Running,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    pub engine: Engine,
}

impl Operator {
    pub async fn start(client: kube::Client, moto: &Moto, options: Options) -> Operator {
        let mut engine = moto.engine("e2e").await;
        engine.retry_delay = Duration::from_millis(20);
        Operator::start_with(client, engine, options).await
    }

    /// With an engine of the test's making (another endpoint, retries off, ...).
    pub async fn start_with(client: kube::Client, engine: Engine, options: Options) -> Operator {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let task_engine = engine.clone();
        let task = tokio::spawn(async move {
            operator::serve(
                client,
                task_engine,
                options,
                async move {
                    let _ = stopped.await;
                },
                Some(started_tx),
            )
            .await
            .expect("operator");
        });
        let running = started_rx.await.expect("started");
        Operator { running, stop: Some(stop), task, engine }
    }

    /// SIGTERM: finish in-flight work and stop.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("graceful shutdown in time")
            .expect("task");
    }

    pub async fn metrics(&self) -> String {
        scrape(&self.running).await
    }

    /// The value of one sample line, e.g. `webhook_bridge_reconciles_total{result="success"}`.
    pub async fn sample(&self, series: &str) -> f64 {
        sample(&self.metrics().await, series)
    }

    /// Poll `/metrics` until it contains every line.
    pub async fn until_metrics(&self, lines: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.metrics().await;
            if lines.iter().all(|l| text.contains(l)) {
                return;
            }
            assert!(Instant::now() < deadline, "metrics never showed {lines:?}: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Options for a test: watch only `namespaces` (tests share one apiserver), fast timing.
pub fn options(namespaces: &[&str]) -> Options {
    Options {
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        settings: Settings {
            resync: Duration::from_secs(60),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(1),
            // Most tests are not about IAM propagation (one is, and sets it).
            role_propagation: Duration::ZERO,
            // The emulator has no quota; tests choose their resync interval.
            resync_read_budget: 1_000_000.0,
            resync_slots: 8,
        },
        metrics_addr: Some("127.0.0.1:0".parse().expect("addr")),
        // Most tests are about one team; tests/tenancy.rs runs multi-tenant.
        multi_tenant: false,
        install_crds: false,
        ..Options::default()
    }
}

pub fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok())).unwrap_or(0.0)
}

pub async fn scrape(running: &Running) -> String {
    let addr = running.metrics_addr.expect("metrics addr");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out
}
