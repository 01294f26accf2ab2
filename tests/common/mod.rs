//! Test harness: a real `moto_server` (the local AWS emulator, pinned in scripts/requirements.txt)
//! on a free 127.0.0.1 port, an engine pointed at it, and helpers to inspect what AWS holds.
#![allow(dead_code)]

pub mod k8s;
pub mod kube_wait;
pub mod mocks;
pub mod operator;
pub mod tap;

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

/// A moto server process, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
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

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_on(None)
    }

    /// Start on `port` (to bring a stopped emulator back at the same address), or a free one.
    pub fn start_on(port: Option<u16>) -> Moto {
        let binary = moto_binary();
        for _ in 0..5 {
            let port = port.unwrap_or_else(free_port);
            let mut child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken between bind and spawn: try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start");
    }

    pub fn port(&self) -> u16 {
        self.endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// Stop the server (to simulate AWS being unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
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
    pub integrations: usize,
    pub routes: Vec<String>,
    pub buses: Vec<String>,
    pub rules: Vec<String>,
    pub targets: usize,
    pub roles: Vec<String>,
    pub permissions: usize,
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
    inv.routes.sort();
    inv.buses.sort();
    inv.rules.sort();
    inv.roles.sort();
    inv
}

/// What one canonical orders bridge looks like in AWS, counted.
pub fn canonical_inventory(role: &str, rule_prefix: &str) -> Inventory {
    Inventory {
        apis: 1,
        stages: 1,
        integrations: 1,
        routes: vec!["POST /api/webhook".into()],
        buses: vec!["custom-events-dev".into()],
        rules: vec![format!("{rule_prefix}cancel-order"), format!("{rule_prefix}create-order")],
        targets: 2,
        roles: vec![role.to_string()],
        permissions: 2,
    }
}
