//! Test harness: a real `moto_server` (the local AWS emulator, pinned in scripts/requirements.txt)
//! on a free 127.0.0.1 port, an engine pointed at it, and helpers to inspect what AWS holds.
#![allow(dead_code)]

pub mod eventsv2;
pub mod k8s;
pub mod kill;
pub mod kube_wait;
pub mod mocks;
pub mod operator;
pub mod tap;

use std::ffi::OsString;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sts::config::Credentials;
use webhook_bridge::api::WebhookBridge;
use webhook_bridge::aws::{Aws, Clients};
use webhook_bridge::engine::Engine;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// A moto server process behind the model-check proxy (scripts/aws_emulator), both killed on
/// drop. `endpoint` is the proxy: every request is checked against AWS's own service model
/// (botocore's service-2.json) before moto sees it; a request the model forbids is answered with
/// AWS's 400 and recorded, and dropping a `Moto` with recorded violations fails the test. AWS's
/// default quotas are enforced (scripts/aws_emulator/quotas.py): `set_quotas` changes them, and the
/// environment variable `AWS_EMULATOR_QUOTAS` (JSON, inherited by the emulator) sets other start-up values.
/// `MODEL_CHECK=off` runs moto alone on the public port (to measure the proxy's cost).
pub struct Moto {
    moto: Child,
    proxy: Option<Child>,
    pub endpoint: String,
    violations: PathBuf,
    proxy_log: PathBuf,
}

fn moto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    assert!(
        venv.exists(),
        "moto_server not found at {}: run ./scripts/test.sh (it installs the pinned moto into .venv) or set MOTO_SERVER",
        venv.display()
    );
    venv
}

/// The interpreter moto runs in (it has the pinned botocore whose models the proxy reads).
fn python_binary() -> PathBuf {
    let python = moto_binary().with_file_name("python");
    if python.exists() { python } else { PathBuf::from("python3") }
}

/// The emulator's Python (the pinned packages of scripts/requirements.txt: standardwebhooks, ...).
pub fn python() -> PathBuf {
    python_binary()
}

/// The directory holding the emulator's package (`scripts/aws_emulator`), for PYTHONPATH.
fn emulator_path() -> OsString {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts");
    match std::env::var_os("PYTHONPATH") {
        Some(more) if !more.is_empty() => {
            let mut paths = vec![scripts];
            paths.extend(std::env::split_paths(&more));
            std::env::join_paths(paths).unwrap_or_else(|_| OsString::from(env!("CARGO_MANIFEST_DIR")))
        }
        _ => scripts.into_os_string(),
    }
}

/// Whether requests are checked against the AWS models (`MODEL_CHECK=off` turns it off).
pub fn model_check_enabled() -> bool {
    !matches!(std::env::var("MODEL_CHECK").as_deref(), Ok("off" | "0" | "false"))
}

/// `MODEL_CHECK_TRACE=<dir>`: every proxy also writes one JSON line per request it saw (service,
/// operation, verdict) to a file in `<dir>`, to see which operations the suite exercises.
fn trace_file() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("MODEL_CHECK_TRACE")?);
    let _ = std::fs::create_dir_all(&dir);
    let (log, _) = log_paths();
    Some(dir.join(log.file_name()?))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn log_paths() -> (PathBuf, PathBuf) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = std::env::temp_dir().join(format!("webhook-bridge-model-check-{}-{n}", std::process::id()));
    (base.with_extension("jsonl"), base.with_extension("log"))
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_on(None)
    }

    /// Start on `port` (to bring a stopped emulator back at the same address), or a free one.
    /// `port` is the public one (the proxy's); moto itself listens on an internal free port.
    pub fn start_on(port: Option<u16>) -> Moto {
        let binary = moto_binary();
        let check = model_check_enabled();
        let (violations, proxy_log) = log_paths();
        std::fs::write(&violations, b"").expect("create the violation log");
        for attempt in 0..8 {
            let public = port.unwrap_or_else(free_port);
            let internal =
                if check { std::iter::repeat_with(free_port).find(|p| *p != public).expect("a port") } else { public };
            let mut moto = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &internal.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let mut proxy = check.then(|| {
                let log = std::fs::File::create(&proxy_log).expect("proxy log");
                Command::new(python_binary())
                    .args(["-m", "aws_emulator"])
                    .env("PYTHONPATH", emulator_path())
                    .args(["--port", &public.to_string(), "--upstream", &format!("127.0.0.1:{internal}")])
                    .arg("--violations")
                    .arg(&violations)
                    .args(trace_file().map(|t| [OsString::from("--trace"), t.into_os_string()]).into_iter().flatten())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .expect("start the emulator (python -m aws_emulator)")
            });
            let deadline = Instant::now() + Duration::from_secs(30);
            let (mut moto_up, mut proxy_up) = (false, proxy.is_none());
            let mut exited = false;
            while Instant::now() < deadline {
                moto_up = moto_up || TcpStream::connect(("127.0.0.1", internal)).is_ok();
                proxy_up = proxy_up || TcpStream::connect(("127.0.0.1", public)).is_ok();
                if moto_up && proxy_up {
                    return Moto { moto, proxy, endpoint: format!("http://127.0.0.1:{public}"), violations, proxy_log };
                }
                exited = matches!(moto.try_wait(), Ok(Some(_)))
                    || proxy.as_mut().is_some_and(|p| matches!(p.try_wait(), Ok(Some(_))));
                if exited {
                    break; // a port taken between bind and spawn: try again
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            kill(&mut moto);
            if let Some(p) = proxy.as_mut() {
                kill(p);
            }
            if !exited {
                break; // not a port race: a hung start, retrying will not help
            }
            std::thread::sleep(Duration::from_millis(50 * (attempt + 1)));
        }
        let log = std::fs::read_to_string(&proxy_log).unwrap_or_default();
        panic!("moto_server / aws_emulator did not start (proxy log: {log})");
    }

    pub fn port(&self) -> u16 {
        self.endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// Stop the server and its proxy (to simulate AWS being unreachable at `endpoint`).
    pub fn stop(&mut self) {
        if let Some(p) = self.proxy.as_mut() {
            kill(p);
        }
        kill(&mut self.moto);
    }

    /// `webhook-bridge` as a user runs it against this emulator (repo root, test credentials).
    pub fn cli_command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env_remove("AWS_PROFILE");
        cmd
    }

    /// Forget every object (moto's reset endpoint).
    pub fn reset(&self) {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://").to_string();
        let mut s = TcpStream::connect(&addr).expect("connect moto");
        write!(s, "POST /moto-api/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        assert!(buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200"), "reset failed: {buf}");
    }

    /// One HTTP request to the proxy's own endpoints (`/__faults`, `/__model_check/...`): status
    /// and body.
    fn proxy_call(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
        use std::io::{Read, Write};
        assert!(self.proxy.is_some(), "{method} {path}: the proxy is off (MODEL_CHECK=off)");
        let addr = self.endpoint.trim_start_matches("http://").to_string();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = TcpStream::connect(&addr).expect("connect the proxy");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        let status = buf.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// Inject faults in front of moto from now on (see scripts/aws_emulator): requests still
    /// pass the model check first. Replaces any earlier configuration and reseeds the RNG.
    pub fn set_faults(&self, faults: &FaultConfig) {
        let (status, body) = self.proxy_call("POST", "/__faults", Some(&faults.to_json()));
        assert_eq!(status, 200, "POST /__faults refused: {body}");
    }

    /// No more faults (the counts stay).
    pub fn clear_faults(&self) {
        let (status, body) = self.proxy_call("DELETE", "/__faults", None);
        assert_eq!(status, 204, "DELETE /__faults: {body}");
    }

    /// `{"calls": {"events.PutRule": n, ...}, "total_calls": n, "faults": {"throttle": n, ...},
    /// "total_faults": n, "faults_by_call": {"events.PutRule": {"throttle": n}}}`: every request
    /// that passed the model check (each SDK attempt counts), since start or the last reset.
    pub fn fault_stats(&self) -> serde_json::Value {
        let (status, body) = self.proxy_call("GET", "/__faults/stats", None);
        assert_eq!(status, 200, "GET /__faults/stats: {body}");
        serde_json::from_str(&body).expect("stats JSON")
    }

    /// Arm a kill point: once the `k`-th write from now is committed in moto, the proxy keeps its
    /// answer and lets no further request through, until `release_hold`.
    pub fn hold_after_write(&self, k: usize) {
        let (status, body) = self.proxy_call("POST", "/__faults/hold", Some(&serde_json::json!({"after_write": k})));
        assert_eq!(status, 200, "POST /__faults/hold: {body}");
    }

    /// `{"armed", "after_write", "writes", "held", "held_call", "blocked"}`.
    pub fn hold_state(&self) -> serde_json::Value {
        let (status, body) = self.proxy_call("GET", "/__faults/hold", None);
        assert_eq!(status, 200, "GET /__faults/hold: {body}");
        serde_json::from_str(&body).expect("hold JSON")
    }

    /// Drop every held request unanswered (connection reset) and disarm.
    pub fn release_hold(&self) {
        let (status, body) = self.proxy_call("DELETE", "/__faults/hold", None);
        assert_eq!(status, 204, "DELETE /__faults/hold: {body}");
    }

    /// Quotas other than AWS's defaults from now on, e.g. `{"apigatewayv2.routes_per_api": 600}`
    /// (the keys given change, the others stay; see scripts/aws_emulator/quotas.py). Every key's
    /// value after the change.
    pub fn set_quotas(&self, quotas: &serde_json::Value) -> serde_json::Value {
        let (status, body) = self.proxy_call("POST", "/__quotas", Some(quotas));
        assert_eq!(status, 200, "POST /__quotas refused: {body}");
        serde_json::from_str(&body).expect("quotas JSON")
    }

    /// Every quota the emulator enforces, `{key: n}`.
    pub fn quotas(&self) -> serde_json::Value {
        let (status, body) = self.proxy_call("GET", "/__quotas", None);
        assert_eq!(status, 200, "GET /__quotas: {body}");
        serde_json::from_str(&body).expect("quotas JSON")
    }

    /// Back to the quotas the emulator started with (AWS's defaults unless AWS_EMULATOR_QUOTAS).
    pub fn reset_quotas(&self) {
        let (status, body) = self.proxy_call("DELETE", "/__quotas", None);
        assert_eq!(status, 204, "DELETE /__quotas: {body}");
    }

    /// One request to the emulator's own endpoints: status and body (for tests of them).
    pub fn emulator_call(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
        self.proxy_call(method, path, body)
    }

    /// Zero the counts of `fault_stats`.
    pub fn reset_fault_stats(&self) {
        let (status, body) = self.proxy_call("DELETE", "/__faults/stats", None);
        assert_eq!(status, 204, "DELETE /__faults/stats: {body}");
    }

    /// Every request the model check refused so far, one JSON object each (`message`,
    /// `operation`, `path`, `constraint`, `request`).
    pub fn violations(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.violations).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| serde_json::Value::String(l.to_string())))
            .collect()
    }

    /// The violations so far, forgotten: they no longer fail the test on drop.
    pub fn take_violations(&self) -> Vec<serde_json::Value> {
        let taken = self.violations();
        std::fs::write(&self.violations, b"").expect("clear the violation log");
        taken
    }

    /// For a test that sends invalid requests on purpose: exactly `n` violations were recorded
    /// since the last take; they are returned and forgotten.
    pub fn expect_violations(&self, n: usize) -> Vec<serde_json::Value> {
        let taken = self.take_violations();
        assert_eq!(taken.len(), n, "expected {n} model violations, got:\n{}", describe(&taken));
        taken
    }

    pub async fn config(&self) -> aws_types::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_types::region::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    pub async fn engine(&self, cluster: &str) -> Engine {
        let mut engine = Engine::new(Aws::new(self.config().await), cluster);
        engine.retry_delay = Duration::from_millis(20);
        engine
    }

    /// Plain clients (not counted by the engine) for arranging and inspecting AWS.
    pub async fn clients(&self) -> Clients {
        Clients::new(&self.config().await, &Default::default())
    }

    /// Create Lambda functions (and the role they run as), as a user's stack would.
    pub async fn seed_lambdas(&self, names: &[&str]) {
        let c = self.clients().await;
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let role = match c.iam.create_role().role_name("lambda-exec").assume_role_policy_document(trust).send().await {
            Ok(out) => out.role.map(|r| r.arn).unwrap_or_default(),
            Err(_) => format!("arn:aws:iam::{ACCOUNT}:role/lambda-exec"),
        };
        for name in names {
            c.lambda
                .create_function()
                .function_name(*name)
                .runtime(aws_sdk_lambda::types::Runtime::Python312)
                .role(&role)
                .handler("index.handler")
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_smithy_types::Blob::new(b"def handler(e, c): return e".to_vec()))
                        .build(),
                )
                .send()
                .await
                .expect("create lambda");
        }
    }
}

/// An SQS queue whose policy lets EventBridge (this account's rules) send to it.
pub async fn eventbridge_queue(moto: &Moto, name: &str) {
    let c = moto.clients().await;
    let url = c.sqs.create_queue().queue_name(name).send().await.expect("queue").queue_url.unwrap_or_default();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"),
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]});
    c.sqs
        .set_queue_attributes()
        .queue_url(url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .expect("queue policy");
}

/// Create what an example (a file name in examples/) references but does not own.
pub async fn prerequisites(moto: &Moto, file: &str) {
    let c = moto.clients().await;
    let queue = |name: &'static str| eventbridge_queue(moto, name);
    match file {
        "orders.yaml" => moto.seed_lambdas(&["createOrder", "cancelOrder"]).await,
        "existing-bus.yaml" => {
            c.events.create_event_bus().name("shared").send().await.expect("bus");
            queue("deployments").await;
        }
        "multi-route.yaml" => {
            queue("payments-audit").await;
            queue("payments-dlq").await;
        }
        "jwt.yaml" => queue("partner-events").await,
        "production.yaml" => {
            moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
            queue("orders-dlq").await;
        }
        other => panic!("{other}: no prerequisites known; add them here"),
    }
}

/// Faults the proxy injects in front of moto, each mode with a rate in 0..1 (drawn once per
/// request; the rates add up to at most 1). See scripts/aws_emulator.
#[derive(Clone, Debug, Default)]
pub struct FaultConfig {
    /// Forward (the write is made), then reset the connection without an answer.
    pub drop_after_commit: f64,
    /// Forward, then answer 500 with the service's internal-error shape.
    pub error_after_commit: f64,
    /// Do not forward: 400 ThrottlingException / Throttling, or 429 TooManyRequestsException.
    pub throttle: f64,
    /// Do not forward: 500 or 503.
    pub server_error: f64,
    /// Delay every request.
    pub latency_ms: u64,
    /// Spare Get*/List*/Describe*.
    pub writes_only: bool,
    pub seed: u64,
}

impl FaultConfig {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "rates": {
                "drop_after_commit": self.drop_after_commit,
                "error_after_commit": self.error_after_commit,
                "throttle": self.throttle,
                "server_error": self.server_error,
            },
            "latency_ms": self.latency_ms,
            "writes_only": self.writes_only,
            "seed": self.seed,
        })
    }
}

fn describe(violations: &[serde_json::Value]) -> String {
    violations
        .iter()
        .map(|v| match (v["message"].as_str(), v["request"].as_str()) {
            (Some(m), Some(r)) => format!("  {m}   [{r}]"),
            _ => format!("  {v}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A directory of the test's own under the system temp dir, removed with what is in it when
/// dropped (a failed test's files go too; its assertion message says what mattered).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
        let violations = self.violations();
        let _ = std::fs::remove_file(&self.violations);
        let _ = std::fs::remove_file(&self.proxy_log);
        if violations.is_empty() {
            return;
        }
        let test = std::thread::current().name().unwrap_or("?").to_string();
        let report = format!(
            "{} request(s) in test `{test}` broke AWS's service model (scripts/aws_emulator):\n{}",
            violations.len(),
            describe(&violations)
        );
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}

pub fn lambda_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// Parse a WebhookBridge from YAML, through the same admission rules the CLI uses.
pub fn bridge(yaml: &str) -> WebhookBridge {
    let value: serde_json::Value = serde_saphyr::from_str(yaml).expect("yaml");
    webhook_bridge::admission::admit(&value).unwrap_or_else(|e| panic!("example is invalid: {e:?}"))
}

/// Every examples/*.yaml, sorted.
pub fn example_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("examples")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    files.sort();
    files
}

pub fn example(name: &str) -> WebhookBridge {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
    bridge(&std::fs::read_to_string(&path).expect("read example"))
}

/// Give a bridge a uid, as the apiserver would.
pub fn with_uid(mut b: WebhookBridge, uid: &str) -> WebhookBridge {
    b.metadata.uid = Some(uid.to_string());
    b
}

/// Everything in AWS that carries the webhook-bridge managed-by tag (or our statement ids).
#[derive(Debug, Default, PartialEq)]
pub struct Inventory {
    pub apis: usize,
    pub stages: usize,
    /// JWT authorizers on our APIs (they carry no tags of their own).
    pub authorizers: usize,
    pub integrations: usize,
    pub routes: Vec<String>,
    pub buses: Vec<String>,
    pub rules: Vec<String>,
    pub targets: usize,
    pub roles: Vec<String>,
    /// Inline policies on our roles.
    pub policies: usize,
    pub permissions: usize,
    /// Custom domain names with our tags, and the API mappings on them.
    pub domains: Vec<String>,
    pub mappings: usize,
    /// Access-log groups (by the operator's name prefix; moto does not filter by tag).
    pub log_groups: Vec<String>,
    /// EventBridge archives with our name prefix (archives take no tags).
    pub archives: Vec<String>,
}

/// Objects per kind: (apis, stages, authorizers, integrations, routes, buses, rules, targets,
/// roles, inline policies, Lambda statements).
pub type Counts = (usize, usize, usize, usize, usize, usize, usize, usize, usize, usize, usize);

impl Inventory {
    pub fn counts(&self) -> Counts {
        (
            self.apis,
            self.stages,
            self.authorizers,
            self.integrations,
            self.routes.len(),
            self.buses.len(),
            self.rules.len(),
            self.targets,
            self.roles.len(),
            self.policies,
            self.permissions,
        )
    }
}

/// What `n` bridges of the examples/orders.yaml shape hold in AWS, by kind (see `Inventory::counts`).
pub fn orders_counts(n: usize) -> Counts {
    (n, n, 0, n, n, n, 2 * n, 2 * n, n, n, 2 * n)
}

fn ours<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    tags.into_iter().any(|(k, v)| k == "webhookbridge.io/managed-by" && v == "webhook-bridge")
}

pub async fn inventory(c: &Clients) -> Inventory {
    let mut inv = Inventory::default();
    let apis = c.apigateway.get_apis().send().await.expect("GetApis");
    for api in apis.items() {
        if !ours(api.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))) {
            continue;
        }
        let id = api.api_id().unwrap_or_default();
        inv.apis += 1;
        inv.stages += c.apigateway.get_stages().api_id(id).send().await.expect("GetStages").items().len();
        inv.integrations +=
            c.apigateway.get_integrations().api_id(id).send().await.expect("GetIntegrations").items().len();
        // moto 5.2.5 lacks GetAuthorizers; scripts/aws_emulator answers it from moto's state.
        match c.apigateway.get_authorizers().api_id(id).send().await {
            Ok(out) => inv.authorizers += out.items().len(),
            Err(e) => assert!(!model_check_enabled(), "GetAuthorizers: {e:?}"),
        }
        let routes = c.apigateway.get_routes().api_id(id).send().await.expect("GetRoutes");
        inv.routes.extend(routes.items().iter().map(|r| r.route_key().unwrap_or_default().to_string()));
    }
    let buses = c.events.list_event_buses().send().await.expect("ListEventBuses");
    for bus in buses.event_buses() {
        let (name, arn) = (bus.name().unwrap_or_default(), bus.arn().unwrap_or_default());
        let tags = c.events.list_tags_for_resource().resource_arn(arn).send().await.expect("tags");
        if ours(tags.tags().iter().map(|t| (t.key(), t.value()))) {
            inv.buses.push(name.to_string());
        }
        let rules = c.events.list_rules().event_bus_name(name).send().await.expect("ListRules");
        for rule in rules.rules() {
            let tags = c.events.list_tags_for_resource().resource_arn(rule.arn().unwrap_or_default()).send().await;
            if tags.is_ok_and(|t| ours(t.tags().iter().map(|t| (t.key(), t.value())))) {
                inv.rules.push(rule.name().unwrap_or_default().to_string());
                let targets = c
                    .events
                    .list_targets_by_rule()
                    .rule(rule.name().unwrap_or_default())
                    .event_bus_name(name)
                    .send()
                    .await
                    .expect("ListTargetsByRule");
                inv.targets += targets.targets().len();
            }
        }
    }
    let roles = c.iam.list_roles().send().await.expect("ListRoles");
    for role in roles.roles() {
        let full = c.iam.get_role().role_name(role.role_name()).send().await.expect("GetRole");
        if full.role.is_some_and(|r| ours(r.tags().iter().map(|t| (t.key(), t.value())))) {
            inv.roles.push(role.role_name().to_string());
            let policies =
                c.iam.list_role_policies().role_name(role.role_name()).send().await.expect("ListRolePolicies");
            inv.policies += policies.policy_names().len();
        }
    }
    let functions = c.lambda.list_functions().send().await.expect("ListFunctions");
    for f in functions.functions() {
        if let Ok(policy) = c.lambda.get_policy().function_name(f.function_name().unwrap_or_default()).send().await {
            let doc: serde_json::Value = serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap_or_default();
            inv.permissions += doc["Statement"]
                .as_array()
                .map(|s| s.iter().filter(|st| st["Sid"].as_str().is_some_and(|sid| sid.starts_with("whb-"))).count())
                .unwrap_or(0);
        }
    }
    let domains = c.apigateway.get_domain_names().send().await.expect("GetDomainNames");
    for domain in domains.items() {
        if ours(domain.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))) {
            let name = domain.domain_name().unwrap_or_default();
            inv.domains.push(name.to_string());
            let mappings = c.apigateway.get_api_mappings().domain_name(name).send().await.expect("GetApiMappings");
            inv.mappings += mappings.items().len();
        }
    }
    let groups = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/vendedlogs/webhook-bridge/")
        .send()
        .await
        .expect("DescribeLogGroups");
    inv.log_groups.extend(groups.log_groups().iter().filter_map(|g| g.log_group_name().map(str::to_string)));
    let archives = c.events.list_archives().name_prefix("whb-").send().await.expect("ListArchives");
    inv.archives.extend(archives.archives().iter().filter_map(|a| a.archive_name().map(str::to_string)));
    inv.routes.sort();
    inv.buses.sort();
    inv.rules.sort();
    inv.roles.sort();
    inv.domains.sort();
    inv.log_groups.sort();
    inv.archives.sort();
    inv
}

/// What one canonical orders bridge looks like in AWS, counted.
pub fn canonical_inventory(role: &str, rule_prefix: &str) -> Inventory {
    Inventory {
        apis: 1,
        stages: 1,
        authorizers: 0,
        integrations: 1,
        routes: vec!["POST /api/webhook".into()],
        buses: vec!["custom-events-dev".into()],
        rules: vec![format!("{rule_prefix}cancel-order"), format!("{rule_prefix}create-order")],
        targets: 2,
        roles: vec![role.to_string()],
        policies: 1,
        permissions: 2,
        ..Inventory::default()
    }
}
