//! Kill -9 after every write of a webhook-source bridge (issue #22), as tests/crash.rs does for
//! routes: `webhook-bridge apply` / `delete` run as subprocesses against the emulator, the proxy
//! holds the answer to the k-th committed write (eventsv2 writes included: CreateEventBus,
//! CreateEventSource, CreateSubscriber, RotateWebhookCredentials, TagResource, Delete*), the test
//! SIGKILLs the process and re-runs the command: AWS then holds exactly what an uninterrupted run
//! leaves (one bus, one source with the credential's fingerprint, one subscriber, no orphan), or
//! nothing after a delete. Creates are idempotent by ClientToken and found again by name + tags.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Inventory, Moto, inventory, model_check_enabled};

fn command(moto: &Moto, args: &[&str]) -> Command {
    let mut cmd = moto.cli_command();
    cmd.args(args).env("WEBHOOK_BRIDGE_CLUSTER_NAME", "crash");
    cmd
}

fn run(moto: &Moto, args: &[&str]) -> Output {
    let out = command(moto, args).output().expect("run webhook-bridge");
    assert!(out.status.success(), "webhook-bridge {args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

const GATEWAY: &str = r#"{"apiVersion": "webhookbridge.io/v1alpha1", "kind": "WebhookBridgeGateway",
  "metadata": {"name": "hooks", "namespace": "platform"},
  "spec": {"region": "us-east-1", "api": {"stage": "live"}, "customEventBus": {"name": "hooks-v2"}}}"#;

const BRIDGE: &str = r#"{"apiVersion": "webhookbridge.io/v1alpha1", "kind": "WebhookBridge",
  "metadata": {"name": "gh", "namespace": "platform"},
  "spec": {"gatewayRef": {"name": "hooks"},
    "webhookSources": [{"name": "github", "provider": "GitHub", "secretRef": {"name": "gh-webhook"}}],
    "rules": [{"name": "pushes", "pattern": {"ref": [{"prefix": "refs/heads/"}]},
      "targets": [{"arn": "arn:aws:sqs:us-east-1:123456789012:pushes"}]}]}}"#;

fn secret(value: &str) -> String {
    format!(
        r#"{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "gh-webhook", "namespace": "platform"}},
  "stringData": {{"secret": "{value}"}}}}"#
    )
}

/// AWS as the test compares it: the classic inventory and every eventsv2 object (name, state,
/// and a source's credential tag), sorted.
#[derive(Debug, PartialEq)]
struct Held {
    classic: Inventory,
    v2: Vec<String>,
}

async fn held(moto: &Moto) -> Held {
    let c = moto.clients().await;
    let e = &c.eventsv2;
    let mut v2 = Vec::new();
    for b in e.list_event_buses().send().await.expect("ListEventBuses").event_buses() {
        v2.push(format!("bus {} {:?}", b.name().unwrap_or_default(), b.state().map(|s| s.as_str().to_string())));
    }
    for s in e.list_event_sources().send().await.expect("ListEventSources").event_sources() {
        let arn = s.event_source_arn().unwrap_or_default();
        let tags = e.list_tags_for_resource().resource_arn(arn).send().await.expect("tags");
        let credential = tags.tags().and_then(|t| t.get("webhookbridge.io/credential")).cloned();
        v2.push(format!("source {} {credential:?}", s.name().unwrap_or_default()));
    }
    for s in e.list_subscribers().send().await.expect("ListSubscribers").subscribers() {
        v2.push(format!("subscriber {}", s.name().unwrap_or_default()));
    }
    v2.sort();
    Held { classic: inventory(&c).await, v2 }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    /// Gateway (with its Custom Event Bus) and bridge from an empty account.
    Create,
    /// The Kubernetes Secret's value changed: RotateWebhookCredentials, then the tag.
    Rotate,
    /// The bridge's delete (the gateway kept): its source, subscriber and role go.
    Detach,
    /// The gateway's delete once its bridges are gone: its Custom Event Bus goes too.
    GatewayDelete,
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8 path").to_string()
}

async fn every_kill_point(moto: &Moto, plan: Plan) -> (usize, usize, Vec<String>) {
    let dir = common::TempDir::new(&format!("whb-webhook-crash-{plan:?}"));
    let gw = write(dir.path(), "gateway.json", GATEWAY);
    let bridge = write(dir.path(), "bridge.json", BRIDGE);
    let old = write(dir.path(), "secret.json", &secret("It's a Secret to Everybody"));
    let new = write(dir.path(), "secret-new.json", &secret("a-new-secret-of-32-bytes-length!"));
    let (gw, bridge, old, new) = (gw.as_str(), bridge.as_str(), old.as_str(), new.as_str());
    let setup: Vec<Vec<&str>> = match plan {
        Plan::Create => Vec::new(),
        Plan::Rotate | Plan::Detach => vec![vec!["apply", "-f", gw, bridge, old]],
        Plan::GatewayDelete => {
            vec![vec!["apply", "-f", gw, bridge, old], vec!["delete", "--keep-gateways", "-f", gw, bridge, old]]
        }
    };
    let args: Vec<&str> = match plan {
        Plan::Create => vec!["apply", "-f", gw, bridge, old],
        Plan::Rotate => vec!["apply", "-f", gw, bridge, new],
        Plan::Detach => vec!["delete", "--keep-gateways", "-f", gw, bridge, old],
        Plan::GatewayDelete => vec!["delete", "-f", gw],
    };
    let prepare = async || {
        moto.reset();
        let c = moto.clients().await;
        c.sqs.create_queue().queue_name("pushes").send().await.expect("queue");
        for s in &setup {
            run(moto, s);
        }
    };

    prepare().await;
    let before = held(moto).await;
    moto.reset_fault_stats();
    run(moto, &args);
    let writes = common::kill::committed_writes(moto);
    let reference = held(moto).await;
    assert!(writes > 0, "{plan:?}: no writes");
    assert_ne!(reference, before, "{plan:?}: the plan changed nothing");
    match plan {
        Plan::GatewayDelete => {
            assert_eq!(reference, Held { classic: Inventory::default(), v2: Vec::new() }, "delete leaves nothing")
        }
        Plan::Detach => {
            assert_eq!(reference.v2.len(), 1, "only the gateway's bus: {:?}", reference.v2);
            assert_eq!(reference.classic.roles.len(), 1, "only the gateway's role: {:?}", reference.classic.roles);
        }
        _ => assert_eq!(reference.v2.len(), 3, "{plan:?}: one bus, one source, one subscriber: {:?}", reference.v2),
    }

    let (mut survived, mut failures) = (0, Vec::new());
    for k in 1..=writes {
        prepare().await;
        let call = match common::kill::kill_at_write(moto, command(moto, &args), k) {
            Ok(call) => call,
            Err(e) => {
                failures.push(format!("{plan:?}: kill at write {k}: {e}"));
                continue;
            }
        };
        let rerun = command(moto, &args).output().expect("re-run");
        if !rerun.status.success() {
            failures.push(format!(
                "{plan:?}: killed after write {k} ({call}): re-run failed: {}",
                String::from_utf8_lossy(&rerun.stderr)
            ));
            continue;
        }
        let after = held(moto).await;
        if after == reference {
            survived += 1;
        } else {
            failures
                .push(format!("{plan:?}: killed after write {k} ({call}): AWS holds {after:#?}\nnot {reference:#?}"));
        }
    }
    eprintln!(
        "kill -9 | webhook source | {:<6} | {writes:>2} writes | {survived:>2}/{writes} kill points survived",
        format!("{plan:?}")
    );
    (writes, survived, failures)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_source_bridge_survives_a_kill_at_every_write() {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped (the eventbridgev2 emulation is the proxy's)");
        return;
    }
    let moto = Moto::start();
    let mut failures = Vec::new();
    for plan in [Plan::Create, Plan::Rotate, Plan::Detach, Plan::GatewayDelete] {
        let (_, _, f) = every_kill_point(&moto, plan).await;
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{} kill point(s) not survived:\n{}", failures.len(), failures.join("\n\n"));
}
