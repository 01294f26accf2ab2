//! The `webhook-bridge` binary against the local AWS emulator, as a script would use it: output,
//! exit codes, and no local state between runs.

mod common;

use std::process::{Command, Output};

use common::Moto;

fn cli(moto: &Moto, args: &[&str]) -> Output {
    moto.cli_command().args(args).output().expect("run webhook-bridge")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test]
async fn plan_apply_replan_delete_with_reliable_exit_codes() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;

    let plan = cli(&moto, &["plan", "-f", "examples/orders.yaml"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    assert!(text(&plan.stdout).contains("default/orders: 13 change(s)"), "{}", text(&plan.stdout));
    assert!(text(&plan.stderr).contains("0 writes"), "plan never writes: {}", text(&plan.stderr));

    let apply = cli(&moto, &["apply", "-f", "examples/orders.yaml"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let status: serde_json::Value = serde_saphyr::from_str(&text(&apply.stdout)).expect("status YAML");
    let url = status["status"]["routes"][0]["url"].as_str().expect("url");
    assert!(
        url.starts_with("https://") && url.ends_with(".execute-api.us-east-1.amazonaws.com/dev/api/webhook"),
        "{url}"
    );
    let ready = &status["status"]["conditions"][0];
    assert_eq!((ready["type"].as_str(), ready["status"].as_str()), (Some("Ready"), Some("True")));
    assert!(text(&apply.stderr).contains("13 writes"), "{}", text(&apply.stderr));

    let replan = cli(&moto, &["plan", "-f", "examples/orders.yaml"]);
    assert!(text(&replan.stdout).contains("no changes; AWS is in sync"), "{}", text(&replan.stdout));

    let delete = cli(&moto, &["delete", "-f", "examples/orders.yaml"]);
    assert_eq!(delete.status.code(), Some(0), "{}", text(&delete.stderr));
    assert!(text(&delete.stdout).contains("deleted (10 AWS write(s))"), "{}", text(&delete.stdout));
    let after = cli(&moto, &["plan", "-f", "examples/orders.yaml"]);
    assert!(text(&after.stdout).contains("13 change(s)"), "everything is gone again: {}", text(&after.stdout));
}

#[tokio::test]
async fn a_conflict_exits_4_and_a_missing_dependency_exits_5() {
    let moto = Moto::start();
    let missing = cli(&moto, &["apply", "-f", "examples/orders.yaml"]);
    assert_eq!(missing.status.code(), Some(5), "no Lambda functions yet: {}", text(&missing.stderr));
    assert!(text(&missing.stderr).contains("does not exist"), "{}", text(&missing.stderr));

    let c = moto.clients().await;
    c.events.create_event_bus().name("payments").send().await.expect("someone else's bus");
    let conflict = cli(&moto, &["apply", "-f", "examples/multi-route.yaml"]);
    assert_eq!(conflict.status.code(), Some(4), "{}", text(&conflict.stderr));
    assert!(
        text(&conflict.stderr).contains("spec.eventBus.name: event bus payments already exists"),
        "{}",
        text(&conflict.stderr)
    );
}

#[test]
fn crd_command_prints_the_committed_crd() {
    let out = Command::new(env!("CARGO_BIN_EXE_webhook-bridge")).arg("crd").output().expect("run");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/crds/webhookbridges.webhookbridge.io.yaml"))
            .expect("read");
    assert_eq!(text(&out.stdout), committed);
}

#[tokio::test]
async fn every_example_plans_against_the_local_emulator() {
    let moto = Moto::start();
    // The bus examples/existing-bus.yaml references belongs to another team.
    moto.clients().await.events.create_event_bus().name("shared").send().await.expect("shared bus");
    let mut planned = 0;
    for path in common::example_files() {
        let out = cli(&moto, &["plan", "-f", path.to_str().expect("path")]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", path.display(), text(&out.stderr));
        assert!(text(&out.stdout).contains("change(s)"), "{}: {}", path.display(), text(&out.stdout));
        assert!(text(&out.stderr).contains(", 0 writes"), "plan never writes: {}", text(&out.stderr));
        planned += 1;
    }
    assert!(planned >= 4);
}

#[tokio::test]
async fn logs_to_a_file_or_pipe_carry_no_colour_codes() {
    let moto = Moto::start();
    let out = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .args(["plan", "-f", "examples/orders.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "debug") // plenty of log lines
        .output()
        .expect("run webhook-bridge");
    let stderr = text(&out.stderr);
    assert!(stderr.lines().count() > 5, "expected log lines: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI escape codes in piped logs: {stderr:?}");
}

/// The gateway example through the CLI: the gateway and two teams' bridges in one run
/// (gateway first; the bridges attach with the status it just got), again with 0 writes, a
/// delete that refuses the gateway while a bridge's routes remain, then bridges first, the
/// gateway last, to the account as it was.
#[tokio::test]
async fn a_gateway_and_its_bridges_apply_replan_and_delete_through_the_cli() {
    let moto = Moto::start();
    moto.seed_lambdas(&["createOrder", "cancelOrder"]).await;
    common::eventbridge_queue(&moto, "invoices-paid").await;
    let c = moto.clients().await;
    let before = common::inventory(&c).await;
    // The gateway accepts namespaces labelled webhooks.example.com/gateway=hooks.
    let labels = [
        "--namespace-label",
        "payments:webhooks.example.com/gateway=hooks",
        "--namespace-label",
        "billing:webhooks.example.com/gateway=hooks",
    ];
    let files =
        ["-f", "examples/gateway/gateway.yaml", "examples/gateway/orders.yaml", "examples/gateway/billing.yaml"];
    let run = |verb: &str, extra: &[&str]| {
        let mut args = vec![verb];
        args.extend(labels);
        args.extend(extra);
        cli(&moto, &args)
    };

    let plan = run("plan", &files);
    assert_eq!(plan.status.code(), Some(5), "the bridges wait for the gateway: {}", text(&plan.stderr));
    assert!(text(&plan.stdout).contains("gateway platform/hooks: "), "{}", text(&plan.stdout));
    assert!(
        text(&plan.stderr).contains("GatewayNotReady") || text(&plan.stderr).contains("not ready"),
        "{}",
        text(&plan.stderr)
    );
    assert!(text(&plan.stderr).contains(", 0 writes"), "{}", text(&plan.stderr));

    let apply = run("apply", &files);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text(&apply.stdout)).expect("status YAML");
    assert_eq!(docs.len(), 3, "{}", text(&apply.stdout));
    assert_eq!(docs[0]["kind"], "WebhookBridgeGateway");
    assert_eq!(docs[0]["name"], "platform/hooks");
    assert!(docs[0]["status"]["apiId"].is_string(), "{}", docs[0]);
    let url = docs[1]["status"]["routes"][0]["url"].as_str().expect("orders url");
    assert!(url.ends_with("/live/payments/orders"), "{url}");
    assert_eq!(docs[1]["status"]["gateway"], "platform/hooks");
    let on_gw = common::inventory(&c).await;
    assert_eq!(on_gw.apis, before.apis + 1, "one shared API");
    assert_eq!(on_gw.buses.len(), before.buses.len() + 1, "one shared bus");
    assert_eq!(on_gw.roles.len(), before.roles.len() + 1, "one shared role");

    // Without the labels the gateway accepts neither bridge: said, and nothing written.
    let unlabelled = cli(&moto, &[&["apply"][..], &files[..]].concat());
    assert_eq!(unlabelled.status.code(), Some(4), "{}", text(&unlabelled.stderr));
    assert!(text(&unlabelled.stderr).contains("payments/orders: error:"), "{}", text(&unlabelled.stderr));
    assert!(text(&unlabelled.stderr).contains(", 0 writes"), "{}", text(&unlabelled.stderr));

    let again = run("apply", &files);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains(", 0 writes"), "{}", text(&again.stderr));
    let replan = run("plan", &files);
    assert_eq!(replan.status.code(), Some(0), "{}", text(&replan.stderr));
    assert_eq!(text(&replan.stdout).matches("no changes; AWS is in sync").count(), 3, "{}", text(&replan.stdout));
    let status = run("status", &files);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    assert!(text(&status.stdout).contains("gateway platform/hooks"), "{}", text(&status.stdout));

    // The gateway alone: refused while the bridges' routes are on its API, nothing removed.
    let early = run("delete", &["-f", "examples/gateway/gateway.yaml"]);
    assert_eq!(early.status.code(), Some(5), "{}", text(&early.stderr));
    assert!(text(&early.stderr).contains("still serves 2 route(s) of attached bridges"), "{}", text(&early.stderr));
    assert_eq!(common::inventory(&c).await, on_gw);

    // A directory is its files: bridges first, then the gateway.
    let delete = run("delete", &["-f", "examples/gateway"]);
    assert_eq!(delete.status.code(), Some(0), "{}", text(&delete.stderr));
    assert!(text(&delete.stdout).contains("gateway platform/hooks: deleted"), "{}", text(&delete.stdout));
    assert_eq!(common::inventory(&c).await, before, "back to the account as it was");
}

/// A gateway document is admitted against the gateway CRD (schema and CEL), before any AWS
/// call: exit 3, the field named.
#[test]
fn an_invalid_gateway_is_refused_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("wb-cli-gw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("gateway.yaml");
    let text_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway/gateway.yaml"))
        .expect("example")
        .replace("from: Selector", "from: Everyone");
    std::fs::write(&file, text_in).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .args(["plan", "-f", file.to_str().expect("path")])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("WebhookBridgeGateway hooks: spec.allowedRoutes.namespaces.from"), "{stderr}");
    assert!(stderr.contains("Everyone"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
