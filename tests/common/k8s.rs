//! A real Kubernetes control plane for tests: the upstream etcd and kube-apiserver binaries,
//! started once per test binary, with RBAC on, the committed CRD (crds/) installed, and a fresh
//! namespace per test. Nothing here imitates the apiserver: what it refuses, the tests see.
//!
//! Binaries are found the envtest way: `TEST_ASSET_KUBE_APISERVER` and `TEST_ASSET_ETCD`, or
//! `KUBEBUILDER_ASSETS` (a directory holding `kube-apiserver` and `etcd`, e.g. from
//! `setup-envtest use 1.28.x -p path`). `.ci/run` points them at `../shared/k8s`. Under `CI=true`
//! a missing binary fails the test; otherwise the test reports itself SKIPPED on stderr (past the
//! test harness's capture) with the way to get the binaries, and returns.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

pub const CRD_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridges.webhookbridge.io.yaml");
pub const GATEWAY_CRD_PATH: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridgegateways.webhookbridge.io.yaml");
pub const POLICY_CRD_PATH: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridgepolicies.webhookbridge.io.yaml");

/// A running control plane (shared by every test of one test binary).
#[derive(Debug)]
pub struct Cluster {
    /// `https://127.0.0.1:PORT`
    pub server: String,
    /// Bearer token of `admin` (group `system:masters`).
    pub admin_token: String,
    /// Working directory: etcd data, certificates, logs, the admin kubeconfig.
    pub dir: PathBuf,
}

/// Where the binaries are, or why they are not to be had.
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let from_assets = std::env::var_os("KUBEBUILDER_ASSETS").map(PathBuf::from);
    let pick = |var: &str, name: &str| -> Result<PathBuf, String> {
        let path = match (std::env::var_os(var), &from_assets) {
            (Some(p), _) => PathBuf::from(p),
            (None, Some(dir)) => dir.join(name),
            (None, None) => return Err(format!("neither {var} nor KUBEBUILDER_ASSETS is set")),
        };
        if path.is_file() { Ok(path) } else { Err(format!("{name} not found at {}", path.display())) }
    };
    Ok((pick("TEST_ASSET_KUBE_APISERVER", "kube-apiserver")?, pick("TEST_ASSET_ETCD", "etcd")?))
}

const HOW_TO: &str = "point TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD (or KUBEBUILDER_ASSETS) at \
kube-apiserver and etcd binaries: `.ci/run` unpacks ../shared/k8s; or `go install \
sigs.k8s.io/controller-runtime/tools/setup-envtest@latest && export KUBEBUILDER_ASSETS=$(setup-envtest use 1.28.x -p path)`";

/// The shared control plane, started on first use. `None` (after a loud SKIPPED line naming
/// `test`) when the binaries are not configured outside CI; a panic under `CI=true`.
pub fn cluster(test: &str) -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: no real kube-apiserver under CI=true: {why}; {HOW_TO}")
        }
        Err(why) => {
            // Straight to the stderr file descriptor: libtest captures eprintln! of passing tests.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no real kube-apiserver ({why}); to run it, {HOW_TO}");
            None
        }
    }
}

/// Use the shared control plane, or return from the test (SKIPPED) when it cannot be had.
#[macro_export]
macro_rules! require_cluster {
    () => {
        // libtest names each test's thread after the test.
        match common::k8s::cluster(
            &std::thread::current()
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}:{}", module_path!(), line!())),
        ) {
            Some(c) => c,
            None => return,
        }
    };
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Children are spawned from a thread that lives as long as the process, with PR_SET_PDEATHSIG:
/// when the test binary exits (statics are never dropped), the kernel kills etcd and the apiserver.
fn spawn_tied_to_process(mut cmd: Command) -> std::io::Result<u32> {
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc;
    static SPAWNER: OnceLock<mpsc::Sender<(Command, mpsc::Sender<std::io::Result<u32>>)>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(Command, mpsc::Sender<std::io::Result<u32>>)>();
        std::thread::spawn(move || {
            let mut children: Vec<Child> = Vec::new();
            for (mut cmd, reply) in rx {
                // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                let _ = reply.send(cmd.spawn().map(|c| {
                    let id = c.id();
                    children.push(c);
                    id
                }));
            }
            // The sender lives in a static: this loop, and so this thread, never ends.
        });
        tx
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    cmd.stdin(Stdio::null());
    spawner.send((cmd, reply_tx)).map_err(|e| std::io::Error::other(e.to_string()))?;
    reply_rx.recv().map_err(|e| std::io::Error::other(e.to_string()))?
}

fn log_file(dir: &Path, name: &str) -> Stdio {
    std::fs::File::create(dir.join(name)).map(Stdio::from).unwrap_or_else(|_| Stdio::null())
}

/// Remove working directories of earlier test processes that are gone.
fn sweep_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix("whb-k8s-").and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start() -> Result<Cluster, String> {
    let (apiserver, etcd) = binaries()?;
    let parent = std::env::temp_dir();
    sweep_stale(&parent);
    let dir = parent.join(format!("whb-k8s-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("certs")).map_err(|e| e.to_string())?;

    // The service-account signing key (the apiserver derives the public half from it).
    let key = dir.join("sa.key");
    let out = Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .map_err(|e| format!("openssl genrsa: {e}"))?;
    if !out.status.success() {
        return Err(format!("openssl genrsa: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let token = format!("{:032x}", fastrand::u128(..));
    std::fs::write(dir.join("tokens.csv"), format!("{token},admin,admin,\"system:masters\"\n"))
        .map_err(|e| e.to_string())?;

    let (etcd_port, peer_port, api_port) = (free_port(), free_port(), free_port());
    let etcd_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut cmd = Command::new(&etcd);
    cmd.arg("--data-dir")
        .arg(dir.join("etcd"))
        .args(["--listen-client-urls", &etcd_url, "--advertise-client-urls", &etcd_url])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("default={peer_url}"), "--unsafe-no-fsync"])
        .stdout(log_file(&dir, "etcd.log"))
        .stderr(log_file(&dir, "etcd.err.log"));
    spawn_tied_to_process(cmd).map_err(|e| format!("start etcd: {e}"))?;

    let mut cmd = Command::new(&apiserver);
    cmd.arg(format!("--etcd-servers={etcd_url}"))
        .args(["--bind-address=127.0.0.1", &format!("--secure-port={api_port}")])
        .arg(format!("--cert-dir={}", dir.join("certs").display()))
        .arg(format!("--token-auth-file={}", dir.join("tokens.csv").display()))
        .arg("--authorization-mode=RBAC")
        .arg("--service-account-issuer=https://kubernetes.default.svc")
        .arg(format!("--service-account-key-file={}", key.display()))
        .arg(format!("--service-account-signing-key-file={}", key.display()))
        .args(["--service-cluster-ip-range=10.0.0.0/24", "--disable-admission-plugins=ServiceAccount"])
        .stdout(log_file(&dir, "apiserver.log"))
        .stderr(log_file(&dir, "apiserver.err.log"));
    spawn_tied_to_process(cmd).map_err(|e| format!("start kube-apiserver: {e}"))?;

    let cluster = Cluster { server: format!("https://127.0.0.1:{api_port}"), admin_token: token, dir };
    std::fs::write(cluster.dir.join("kubeconfig"), cluster.kubeconfig_yaml(&cluster.admin_token))
        .map_err(|e| e.to_string())?;
    // Readiness and the CRD need a runtime of their own: the caller may be inside a test's runtime.
    let setup = {
        let (server, token) = (cluster.server.clone(), cluster.admin_token.clone());
        let kubeconfig = cluster.kubeconfig_yaml(&token);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let client = client_from(&kubeconfig).await?;
                wait_ready(&client, &server).await?;
                install_crd(&client).await
            })
        })
    };
    setup.join().map_err(|_| "setup thread panicked".to_string())?.map_err(|e| {
        let log = std::fs::read_to_string(cluster.dir.join("apiserver.err.log")).unwrap_or_default();
        let tail: String =
            log.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        format!("{e}\n--- apiserver log (tail) ---\n{tail}")
    })?;
    Ok(cluster)
}

async fn client_from(kubeconfig: &str) -> Result<kube::Client, String> {
    let kc = Kubeconfig::from_yaml(kubeconfig).map_err(|e| e.to_string())?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

async fn wait_ready(client: &kube::Client, server: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let req = http::Request::get("/readyz").body(Vec::new()).map_err(|e| e.to_string())?;
        match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return Ok(()),
            other if Instant::now() > deadline => {
                return Err(format!("kube-apiserver at {server} not ready within 90 s: {other:?}"));
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Install crds/ exactly as committed (what `kubectl apply -f crds/` does) and wait until the APIs
/// are Established. The apiserver refuses a CRD whose CEL rules exceed the cost budget.
async fn install_crd(client: &kube::Client) -> Result<(), String> {
    for path in [CRD_PATH, POLICY_CRD_PATH, GATEWAY_CRD_PATH] {
        install_one_crd(client, path).await?;
    }
    Ok(())
}

async fn install_one_crd(client: &kube::Client, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&text).map_err(|e| e.to_string())?;
    let name = crd.metadata.name.clone().unwrap_or_default();
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.create(&PostParams::default(), &crd).await.map_err(|e| format!("the apiserver refused {path}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let crd = api.get(&name).await.map_err(|e| e.to_string())?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{name} was not Established within 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Cluster {
    /// A kubeconfig for this apiserver acting with `token`.
    pub fn kubeconfig_yaml(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: test, cluster: {{server: \"{}\", insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: u, user: {{token: \"{token}\"}}}}]\n\
             contexts: [{{name: test, context: {{cluster: test, user: u, namespace: default}}}}]\ncurrent-context: test\n",
            self.server
        )
    }

    /// The admin kubeconfig file (for `webhook-bridge run` subprocesses).
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A client acting as `admin` (system:masters), bound to the calling test's runtime.
    pub async fn client(&self) -> kube::Client {
        self.client_with_token(&self.admin_token).await
    }

    /// A client acting with `token` (e.g. a ServiceAccount's, from the TokenRequest API).
    pub async fn client_with_token(&self, token: &str) -> kube::Client {
        client_from(&self.kubeconfig_yaml(token)).await.expect("kube client")
    }

    /// A fresh namespace named `<prefix>-<n>-<random>` (namespaces never finish terminating here).
    pub async fn namespace(&self, prefix: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("{prefix}-{}-{:04x}", N.fetch_add(1, Ordering::Relaxed), fastrand::u16(..));
        let api: Api<Namespace> = Api::all(self.client().await);
        let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("ns");
        api.create(&PostParams::default(), &ns).await.expect("create namespace");
        name
    }
}
