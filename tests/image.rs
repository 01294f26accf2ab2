//! The container image end to end: the image `scripts/image.sh` built (named by
//! `WEBHOOK_BRIDGE_IMAGE`; `.ci/run` builds it and sets it), unpacked by buildah, and its
//! entrypoint run by runc (Debian's OCI runtime, what containerd and CRI-O run in a cluster)
//! the way the chart's securityContext asks: the image's user (65532), read-only root filesystem,
//! no capabilities, no new privileges; host network, to reach the test's 127.0.0.1 apiserver and
//! emulator. Inside it the operator brings examples/orders.yaml to Ready against the real
//! kube-apiserver (tests/common/k8s.rs) and the AWS emulator, and deletes it; its probes answer.
//!
//! (Not `buildah run`: it has no read-only root. runc gets an OCI bundle over `buildah mount`.)
//! Without the image, buildah, runc or root, the test says SKIPPED; under `CI=true` it fails.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::kube_wait::{create, orders_json, ready, until};
use common::{Moto, inventory};
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};
use webhook_bridge::api::WebhookBridge;

const IMAGE_ENV: &str = "WEBHOOK_BRIDGE_IMAGE";
const HOW_TO: &str = "build it with `./scripts/image.sh` (it installs buildah with apt-get), install runc \
(`apt-get install runc`), run as root and set WEBHOOK_BRIDGE_IMAGE to the name image.sh prints; `.ci/run` does all that";

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// The image to test, or why it cannot be (SKIPPED outside CI, a failure under `CI=true`).
fn require_image(test: &str) -> Option<String> {
    let why = match std::env::var(IMAGE_ENV) {
        Err(_) => format!("{IMAGE_ENV} is not set"),
        Ok(_) if !on_path("buildah") => "buildah is not installed".to_string(),
        Ok(_) if !on_path("runc") => "runc is not installed".to_string(),
        // SAFETY: getuid(2) has no preconditions.
        Ok(_) if unsafe { libc::getuid() } != 0 => "runc needs root here".to_string(),
        Ok(image) => return Some(image),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: no image to run under CI=true: {why}; {HOW_TO}");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}; to run it, {HOW_TO}");
    None
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A buildah working container of the image, its root filesystem mounted; removed on drop.
struct Container {
    name: String,
    rootfs: PathBuf,
    /// The image's OCI config (User, Env, Entrypoint, Cmd, ExposedPorts).
    config: Value,
    dir: PathBuf,
    runs: usize,
}

impl Container {
    fn from(image: &str) -> Container {
        let inspect = run(Command::new("buildah").args(["inspect", "--type", "image", image]));
        let inspect: Value = serde_json::from_slice(&inspect.stdout).expect("buildah inspect JSON");
        let config = inspect["OCIv1"]["config"].clone();
        let name = format!("whb-image-test-{}", std::process::id());
        let _ = Command::new("buildah").args(["rm", &name]).output();
        run(Command::new("buildah").args(["from", "--pull-never", "--name", &name, image]));
        let rootfs = PathBuf::from(stdout(&run(Command::new("buildah").args(["mount", &name]))));
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bundle dir");
        Container { name, rootfs, config, dir, runs: 0 }
    }

    fn user(&self) -> (u32, u32) {
        let user = self.config["User"].as_str().expect("the image names its user");
        let (uid, gid) = user.split_once(':').expect("USER uid:gid");
        (uid.parse().expect("numeric uid"), gid.parse().expect("numeric gid"))
    }

    fn entrypoint(&self) -> Vec<String> {
        serde_json::from_value(self.config["Entrypoint"].clone()).expect("entrypoint")
    }

    /// An OCI bundle running `args` the way the chart's pod does; returns its runc container id.
    fn bundle(&mut self, args: &[String], env: &[(&str, &str)], binds: &[(&Path, &str)]) -> (String, PathBuf) {
        self.runs += 1;
        let id = format!("{}-{}", self.name, self.runs);
        let bundle = self.dir.join(&id);
        std::fs::create_dir_all(&bundle).expect("bundle");
        let (uid, gid) = self.user();
        let mut environment: Vec<String> =
            serde_json::from_value(self.config["Env"].clone()).expect("the image's environment");
        environment.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let no_caps: Vec<String> = Vec::new();
        let mut mounts = vec![
            json!({"destination": "/proc", "type": "proc", "source": "proc"}),
            json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
            json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
            json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        ];
        // What the kubelet mounts into every container (host network: the host's own files).
        let mut all_binds: Vec<(&Path, &str)> =
            vec![(Path::new("/etc/hosts"), "/etc/hosts"), (Path::new("/etc/resolv.conf"), "/etc/resolv.conf")];
        all_binds.extend_from_slice(binds);
        for (source, destination) in all_binds {
            mounts.push(
                json!({"destination": destination, "type": "bind", "source": source, "options": ["rbind", "ro"]}),
            );
        }
        let spec = json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": uid, "gid": gid},
                "args": args,
                "env": environment,
                "cwd": "/",
                "capabilities": {"bounding": no_caps, "effective": no_caps, "permitted": no_caps, "inheritable": no_caps, "ambient": no_caps},
                "noNewPrivileges": true
            },
            "root": {"path": self.rootfs, "readonly": true},
            "hostname": "webhook-bridge",
            "mounts": mounts,
            // No network namespace: host network. No cgroup namespace: runc's defaults.
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
                "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
                "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
            }
        });
        std::fs::write(bundle.join("config.json"), serde_json::to_vec_pretty(&spec).expect("spec"))
            .expect("config.json");
        (id, bundle)
    }

    /// Run `args` in the container to the end.
    fn run_to_end(&mut self, args: &[String]) -> Output {
        let (id, bundle) = self.bundle(args, &[], &[]);
        let out = Command::new("runc").args(["run", "--bundle"]).arg(&bundle).arg(&id).output().expect("runc run");
        let _ = Command::new("runc").args(["delete", "--force", &id]).output();
        out
    }

    /// Start `args` in the container; stdout and stderr go to `log`.
    fn start(&mut self, args: &[String], env: &[(&str, &str)], binds: &[(&Path, &str)], log: &Path) -> Running {
        let (id, bundle) = self.bundle(args, env, binds);
        let log_file = std::fs::File::create(log).expect("log");
        let child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .expect("runc run");
        Running { id, child, log: log.to_path_buf() }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("buildah").args(["umount", &self.name]).output();
        let _ = Command::new("buildah").args(["rm", &self.name]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A container started by runc; killed and deleted on drop.
struct Running {
    id: String,
    child: Child,
    log: PathBuf,
}

impl Running {
    /// The container's init process as the host sees it.
    fn pid(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(out) = Command::new("runc").args(["state", &self.id]).output()
                && out.status.success()
            {
                let state: Value = serde_json::from_slice(&out.stdout).expect("runc state JSON");
                if state["status"] == "running" {
                    return state["pid"].as_u64().expect("pid") as u32;
                }
            }
            assert!(Instant::now() < deadline, "container never ran: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status within `within`.
    fn stop(&mut self, within: Duration) -> std::process::ExitStatus {
        run(Command::new("runc").args(["kill", &self.id, "TERM"]));
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within {within:?} of SIGTERM: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("runc").args(["kill", &self.id, "KILL"]).output();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("runc").args(["delete", "--force", &self.id]).output();
    }
}

/// `GET path` on 127.0.0.1:port: (status code, body), or None while nothing listens.
async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await.ok()?.ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()))
}

async fn until_ok(port: u16, path: &str, running: &Running) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = http_get(port, path).await {
            assert_eq!(body.trim(), "ok", "{path}");
            return;
        }
        assert!(Instant::now() < deadline, "{path} never answered 200: {}", running.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The image's root filesystem holds the binary, three Debian packages' files and our /etc, and
/// nothing that would run a command: no shell, no package manager.
fn check_contents(rootfs: &Path) {
    for shell in ["bin/sh", "bin/bash", "bin/dash", "usr/bin/sh", "usr/bin/bash", "usr/bin/dash", "bin/busybox"] {
        assert!(!rootfs.join(shell).exists(), "{shell} in the image");
    }
    for tool in ["usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg"] {
        assert!(!rootfs.join(tool).exists(), "{tool} in the image");
    }
    let mut packages: Vec<String> = std::fs::read_dir(rootfs.join("var/lib/dpkg/status.d"))
        .expect("status.d")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    packages.sort();
    assert_eq!(packages, ["ca-certificates", "libc6", "libgcc-s1"]);
    let bundle = std::fs::read_to_string(rootfs.join("etc/ssl/certs/ca-certificates.crt")).expect("CA bundle");
    assert!(bundle.matches("BEGIN CERTIFICATE").count() > 100, "the CA bundle is nearly empty");
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).expect("passwd");
    assert!(passwd.lines().any(|l| l.starts_with("nonroot:x:65532:65532:")), "{passwd}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_the_operator_read_only_as_65532() {
    let test = "the_image_runs_the_operator_read_only_as_65532";
    let Some(image) = require_image(test) else { return };
    let cluster = require_cluster!();
    let started = Instant::now();
    let mut container = Container::from(&image);

    // The image's config: what the Dockerfile's last stage says, and what the chart relies on.
    let config = container.config.clone();
    assert_eq!(config["User"], "65532:65532", "{config:#}");
    assert_eq!(config["Entrypoint"], json!(["/usr/local/bin/webhook-bridge"]), "{config:#}");
    assert_eq!(config["Cmd"], json!(["run"]), "{config:#}");
    assert!(config["ExposedPorts"].get("8080/tcp").is_some(), "{config:#}");
    check_contents(&container.rootfs);

    let entrypoint = container.entrypoint();
    let with = |args: &[&str]| -> Vec<String> {
        entrypoint.iter().cloned().chain(args.iter().map(|s| s.to_string())).collect()
    };
    let out = container.run_to_end(&with(&["--version"]));
    assert!(out.status.success(), "--version: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("webhook-bridge {}\n", env!("CARGO_PKG_VERSION")));
    let out = container.run_to_end(&with(&["--help"]));
    assert!(out.status.success(), "--help: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: webhook-bridge"), "{out:?}");
    // And nothing else to run in there.
    let out = container.run_to_end(&["/bin/sh".to_string(), "-c".to_string(), "true".to_string()]);
    assert!(!out.status.success(), "a shell ran in the image: {out:?}");

    let ns = cluster.namespace("image").await;
    let client = cluster.client().await;
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    // The chart's arguments (templates/deployment.yaml), on a free port of the host network.
    let metrics = format!("--metrics-addr=127.0.0.1:{port}");
    let namespaces = format!("--namespaces={ns}");
    let args = with(&[
        "run",
        &metrics,
        "--cluster-name=image",
        "--region=us-east-1",
        &namespaces,
        "--tenancy=single",
        "--log-format=json",
        "--backoff-seconds=1",
        "--max-backoff-seconds=2",
        "--role-propagation-seconds=0",
    ]);
    let aws_endpoint = moto.endpoint.replace("127.0.0.1", "localhost");
    let env = [
        ("KUBECONFIG", "/etc/webhook-bridge/kubeconfig"),
        // By name: the SDK's getaddrinfo, with the image's glibc, resolves it from the mounted
        // /etc/hosts (glibc's built-in files service; DNS through resolv.conf is not tried here).
        ("AWS_ENDPOINT_URL", aws_endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("RUST_LOG", "info"),
    ];
    let kubeconfig = cluster.kubeconfig_path();
    let log = cluster.dir.join(format!("{ns}-image.log"));
    let mut running = container.start(&args, &env, &[(kubeconfig.as_path(), "/etc/webhook-bridge/kubeconfig")], &log);

    // As the host sees the process: user 65532, no capabilities, no new privileges, root read-only.
    let pid = running.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default();
    assert_eq!(field("Uid:").split_whitespace().collect::<Vec<_>>(), ["65532"; 4], "{status}");
    assert_eq!(field("Gid:").split_whitespace().collect::<Vec<_>>(), ["65532"; 4], "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    assert_eq!(field("NoNewPrivs:"), "1", "{status}");
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let root = mountinfo.lines().find(|l| l.split(' ').nth(4) == Some("/")).expect("a root mount");
    let options = root.split(' ').nth(5).unwrap_or_default();
    assert!(options.split(',').any(|o| o == "ro"), "root not read-only: {root}");

    // The chart's probes, answered by the operator inside the container.
    until_ok(port, "/healthz", &running).await;
    until_ok(port, "/readyz", &running).await;

    create(&client, orders_json("orders", &ns, "custom-events-dev")).await;
    let o = until(&client, &ns, "orders", "Ready", ready).await.expect("object");
    let url = o["status"]["routes"][0]["url"].as_str().expect("url");
    assert!(url.ends_with("/dev/api/webhook"), "{url}");
    let inv = inventory(&moto.clients().await).await;
    assert_ne!(inv, common::Inventory::default(), "Ready with nothing in AWS");
    let bridges: Api<WebhookBridge> = Api::namespaced(client.clone(), &ns);
    bridges.delete("orders", &DeleteParams::default()).await.expect("delete");
    until(&client, &ns, "orders", "gone", |o| o.is_none()).await;
    assert_eq!(inventory(&moto.clients().await).await, common::Inventory::default());
    let metrics = http_get(port, "/metrics").await.expect("/metrics").1;
    assert!(metrics.contains("webhook_bridge_reconciles_total{result=\"success\"}"), "{metrics}");

    // SIGTERM (what the kubelet sends): a clean exit.
    let exit = running.stop(Duration::from_secs(30));
    assert!(exit.success(), "exit {exit:?} after SIGTERM: {}", running.log());
    let _ = writeln!(std::io::stderr(), "{test}: {image} passed in {:.1?}", started.elapsed());
}
