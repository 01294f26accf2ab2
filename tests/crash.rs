//! Kill -9 at every write. `webhook-bridge apply` and `delete` run as subprocesses against moto
//! behind the model-check proxy; the proxy holds the answer to the k-th write once moto has
//! committed it (and lets nothing else through), the test SIGKILLs the process, then re-runs the
//! same command. For every k of the create, update (adds and removes routes, rules, targets,
//! authorizers) and delete plan of each example: the re-run succeeds and AWS holds exactly what
//! an uninterrupted run leaves (one of each object, no orphan), or nothing after a delete.
//! The kill points survived per plan are printed as a table. examples/production.yaml adds the
//! custom domain and its mapping, the access-log group and the bus archive. On a shared gateway
//! (examples/gateway): a bridge's attach, update and detach, and the gateway's delete.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Inventory, Moto, inventory, prerequisites};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    Create,
    Update,
    Delete,
}

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

/// An example as JSON (YAML's subset), changed by `edit`, written where the CLI can read it.
fn variant(dir: &Path, example: &str, tag: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
    let text = std::fs::read_to_string(&path).expect("example");
    let mut doc: Value = serde_saphyr::from_str(&text).expect("example YAML");
    edit(&mut doc);
    let out = dir.join(format!("{tag}-{example}"));
    std::fs::write(&out, doc.to_string()).expect("write variant");
    out
}

/// The example as applied first, and the update: routes, rules and targets added and removed.
fn base_and_update(dir: &Path, example: &str) -> (PathBuf, PathBuf) {
    // moto 5.2.5 neither reads back nor updates stage throttling; the JWT example's is dropped.
    let base = variant(dir, example, "base", |d| {
        if let Some(api) = d["spec"]["api"].as_object_mut() {
            api.remove("throttling");
        }
    });
    let update = variant(dir, example, "update", |d| {
        if let Some(api) = d["spec"]["api"].as_object_mut() {
            api.remove("throttling");
        }
        let spec = &mut d["spec"];
        match example {
            "orders.yaml" => {
                spec["routes"] = json!([
                    {"name": "webhook-v2", "method": "POST", "path": "/api/v2/webhook",
                     "event": {"source": "source.events", "detailType": "$request.body.event_type", "detail": "$request.body"}},
                    {"name": "refund", "method": "POST", "path": "/api/refund",
                     "event": {"source": "source.refunds", "detailType": "refund"}}
                ]);
                // create-order: its target swapped; cancel-order gone. Neither function is
                // named any more: only the old rules' targets lead to our statements on them.
                spec["rules"] = json!([
                    {"name": "create-order", "pattern": {"source": ["source.events"], "detail-type": ["create"]},
                     "targets": [{"arn": "arn:aws:lambda:us-east-1:123456789012:function:refundOrder"}]},
                    {"name": "refund", "pattern": {"source": ["source.refunds"]},
                     "targets": [{"arn": "arn:aws:lambda:us-east-1:123456789012:function:refundOrder"}]}
                ]);
            }
            "multi-route.yaml" => {
                spec["routes"][1] = json!({"name": "paypal", "method": "POST", "path": "/paypal",
                    "event": {"source": "paypal", "detailType": "$request.body.event_type"}});
                spec["rules"] = json!([
                    {"name": "audit", "pattern": {"source": ["stripe", "paypal"]},
                     "targets": [{"id": "audit-queue", "arn": "arn:aws:sqs:us-east-1:123456789012:payments-audit"},
                                 {"id": "dlq-copy", "arn": "arn:aws:sqs:us-east-1:123456789012:payments-dlq"}]},
                    {"name": "big", "pattern": {"source": ["paypal"]},
                     "targets": [{"arn": "arn:aws:sqs:us-east-1:123456789012:payments-audit"}]}
                ]);
            }
            "jwt.yaml" => {
                // A new issuer is a new authorizer (the old one goes); one more route and rule.
                spec["routes"][0]["authorization"]["issuer"] = json!("https://login.example.com/");
                spec["routes"].as_array_mut().expect("routes").push(json!({"name": "status", "method": "POST",
                    "path": "/partners/status", "event": {"source": "status", "detailType": "ping"}}));
                spec["rules"].as_array_mut().expect("rules").push(json!({"name": "status",
                    "pattern": {"source": ["status"]},
                    "targets": [{"arn": "arn:aws:sqs:us-east-1:123456789012:partner-events"}]}));
            }
            "production.yaml" => {
                // Another domain (create the new one and its mapping, collect the old), new
                // retention and format (UpdateStage), the archive widened to every event.
                spec["domain"]["name"] = json!("webhooks.example.com");
                spec["domain"]["basePath"] = json!("v2");
                spec["api"]["accessLogs"] = json!({"enabled": true, "retentionDays": 90,
                    "format": "{\"requestId\":\"$context.requestId\",\"status\":\"$context.status\"}"});
                spec["eventBus"]["archive"] = json!({"retentionDays": 30});
            }
            other => panic!("{other}: no update defined"),
        }
    });
    (base, update)
}

/// A clean account with the example's prerequisites (and the function the orders update adds).
async fn fresh(moto: &Moto, example: &str) {
    moto.reset();
    prerequisites(moto, example).await;
    if example == "orders.yaml" {
        moto.seed_lambdas(&["refundOrder"]).await;
    }
}

struct Row {
    example: &'static str,
    plan: Plan,
    writes: usize,
    survived: usize,
    failures: Vec<String>,
}

async fn every_kill_point(example: &'static str, plan: Plan) -> Row {
    let moto = Moto::start();
    let dir = tempdir(example, plan);
    let (base, update) = base_and_update(dir.path(), example);
    let (base, update) = (base.to_str().expect("utf-8 path"), update.to_str().expect("utf-8 path"));
    let (setup, args): (Option<&str>, [&str; 3]) = match plan {
        Plan::Create => (None, ["apply", "-f", base]),
        Plan::Update => (Some(base), ["apply", "-f", update]),
        Plan::Delete => (Some(base), ["delete", "-f", base]),
    };

    // The uninterrupted run: how many writes the plan has, and what AWS holds after it.
    fresh(&moto, example).await;
    if let Some(file) = setup {
        run(&moto, &["apply", "-f", file]);
    }
    let before = inventory(&moto.clients().await).await;
    moto.reset_fault_stats();
    run(&moto, &args);
    let writes = common::kill::committed_writes(&moto);
    let reference = inventory(&moto.clients().await).await;
    assert!(writes > 0, "{example} {plan:?}: no writes");
    match plan {
        Plan::Delete => assert_eq!(reference, Inventory::default(), "{example}: delete leaves nothing"),
        _ => assert_ne!(reference, before, "{example} {plan:?}: the plan changed nothing"),
    }

    let mut row = Row { example, plan, writes, survived: 0, failures: Vec::new() };
    for k in 1..=writes {
        fresh(&moto, example).await;
        if let Some(file) = setup {
            run(&moto, &["apply", "-f", file]);
        }
        let held = match common::kill::kill_at_write(&moto, command(&moto, &args), k) {
            Ok(held) => held,
            Err(e) => {
                row.failures.push(format!("kill at write {k}: {e}"));
                continue;
            }
        };
        let rerun = command(&moto, &args).output().expect("re-run");
        if !rerun.status.success() {
            row.failures.push(format!(
                "killed after write {k} ({held}): re-run failed: {}",
                String::from_utf8_lossy(&rerun.stderr)
            ));
            continue;
        }
        let after = inventory(&moto.clients().await).await;
        if after == reference {
            row.survived += 1;
        } else {
            row.failures.push(format!("killed after write {k} ({held}): AWS holds {after:#?}\nnot {reference:#?}"));
        }
    }
    eprintln!(
        "kill -9 | {:<16} | {:<6} | {:>2} writes | {:>2}/{} kill points survived",
        row.example,
        format!("{:?}", row.plan),
        row.writes,
        row.survived,
        row.writes
    );
    row
}

fn tempdir(example: &str, plan: Plan) -> common::TempDir {
    common::TempDir::new(&format!("whb-crash-{example}-{plan:?}"))
}

async fn survives_every_kill(example: &'static str) {
    let mut rows = Vec::new();
    for plan in [Plan::Create, Plan::Update, Plan::Delete] {
        rows.push(every_kill_point(example, plan).await);
    }
    let failures: Vec<String> =
        rows.iter().flat_map(|r| r.failures.iter().map(move |f| format!("{} {:?}: {f}", r.example, r.plan))).collect();
    assert!(failures.is_empty(), "{} kill point(s) not survived:\n{}", failures.len(), failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_survives_a_kill_at_every_write_of_every_plan() {
    survives_every_kill("orders.yaml").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_route_survives_a_kill_at_every_write_of_every_plan() {
    survives_every_kill("multi-route.yaml").await;
}

/// JWT authorizers: moto 5.2.5 has no GetAuthorizers; the proxy answers it from moto's state.
#[tokio::test(flavor = "multi_thread")]
async fn jwt_survives_a_kill_at_every_write_of_every_plan() {
    survives_every_kill("jwt.yaml").await;
}

/// Custom domain and mapping, access-log group and stage settings, archive.
#[tokio::test(flavor = "multi_thread")]
async fn production_survives_a_kill_at_every_write_of_every_plan() {
    survives_every_kill("production.yaml").await;
}

/// What a gateway kill-point run starts from and runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum GatewayPlan {
    /// orders attaches to a gateway billing already uses.
    Attach,
    /// orders' route path changes, a rule goes, another comes.
    Update,
    /// orders is deleted; the gateway and billing stay.
    Detach,
    /// The gateway is deleted after its bridges.
    GatewayDelete,
}

/// A clean account with what the gateway example's bridges send to.
async fn fresh_gateway(moto: &Moto) {
    moto.reset();
    moto.seed_lambdas(&["createOrder", "cancelOrder", "refundOrder"]).await;
    common::eventbridge_queue(moto, "invoices-paid").await;
}

/// A gateway example file as JSON, changed by `edit`.
fn gateway_variant(dir: &Path, file: &str, tag: &str, edit: impl FnOnce(&mut Value)) -> String {
    variant(dir, &format!("gateway/{file}"), tag, edit).to_str().expect("utf-8 path").to_string()
}

/// Every kill point of one gateway plan (see [`every_kill_point`]): the re-run converges to
/// exactly what the uninterrupted run leaves; the sibling (billing) is never touched.
async fn every_gateway_kill_point(plan: GatewayPlan) -> (usize, usize, Vec<String>) {
    let moto = Moto::start();
    let dir = common::TempDir::new(&format!("whb-crash-gateway-{plan:?}"));
    for tag in ["all", "base", "update"] {
        std::fs::create_dir_all(dir.path().join(format!("{tag}-gateway"))).expect("dir");
    }
    // The CLI labels a namespace only by its name: the gateway accepts every namespace here.
    let gw = gateway_variant(dir.path(), "gateway.yaml", "all", |d| {
        d["spec"]["allowedRoutes"]["namespaces"] = json!({"from": "All"});
        // moto 5.2.5 neither reads back nor updates stage throttling.
        if let Some(api) = d["spec"]["api"].as_object_mut() {
            api.remove("throttling");
        }
    });
    let orders = gateway_variant(dir.path(), "orders.yaml", "base", |_| {});
    let billing = gateway_variant(dir.path(), "billing.yaml", "base", |_| {});
    let updated = gateway_variant(dir.path(), "orders.yaml", "update", |d| {
        d["spec"]["routes"][0]["path"] = json!("/payments/orders-v2");
        let rules = d["spec"]["rules"].as_array_mut().expect("rules");
        rules.retain(|r| r["name"] != "cancel-order");
        rules.push(json!({"name": "refund", "pattern": {"source": ["source.refunds"]},
            "targets": [{"arn": "arn:aws:lambda:us-east-1:123456789012:function:refundOrder"}]}));
    });
    let (gw, orders, billing, updated) = (gw.as_str(), orders.as_str(), billing.as_str(), updated.as_str());
    let setup: Vec<Vec<&str>> = match plan {
        GatewayPlan::Attach => vec![vec!["apply", "-f", gw, billing]],
        GatewayPlan::Update | GatewayPlan::Detach => vec![vec!["apply", "-f", gw, billing, orders]],
        GatewayPlan::GatewayDelete => {
            vec![vec!["apply", "-f", gw, billing, orders], vec!["delete", "--keep-gateways", "-f", gw, billing, orders]]
        }
    };
    let args: Vec<&str> = match plan {
        GatewayPlan::Attach => vec!["apply", "-f", gw, orders],
        GatewayPlan::Update => vec!["apply", "-f", gw, updated],
        GatewayPlan::Detach => vec!["delete", "--keep-gateways", "-f", gw, orders],
        GatewayPlan::GatewayDelete => vec!["delete", "-f", gw],
    };
    let prepare = async || {
        fresh_gateway(&moto).await;
        for s in &setup {
            run(&moto, s);
        }
    };

    prepare().await;
    let before = inventory(&moto.clients().await).await;
    moto.reset_fault_stats();
    run(&moto, &args);
    let writes = common::kill::committed_writes(&moto);
    let reference = inventory(&moto.clients().await).await;
    assert!(writes > 0, "{plan:?}: no writes");
    assert_ne!(reference, before, "{plan:?}: the plan changed nothing");
    if plan == GatewayPlan::GatewayDelete {
        assert_eq!(reference, Inventory::default(), "the gateway's delete leaves nothing");
    } else {
        // The sibling keeps its route (and the gateway its API, bus and role).
        assert!(reference.routes.iter().any(|r| r.contains("/billing/stripe")), "{plan:?}: {reference:#?}");
        assert_eq!((reference.apis, reference.buses.len(), reference.roles.len()), (1, 1, 1), "{plan:?}");
    }

    let (mut survived, mut failures) = (0, Vec::new());
    for k in 1..=writes {
        prepare().await;
        let held = match common::kill::kill_at_write(&moto, command(&moto, &args), k) {
            Ok(held) => held,
            Err(e) => {
                failures.push(format!("{plan:?}: kill at write {k}: {e}"));
                continue;
            }
        };
        let rerun = command(&moto, &args).output().expect("re-run");
        if !rerun.status.success() {
            failures.push(format!(
                "{plan:?}: killed after write {k} ({held}): re-run failed: {}",
                String::from_utf8_lossy(&rerun.stderr)
            ));
            continue;
        }
        let after = inventory(&moto.clients().await).await;
        if after == reference {
            survived += 1;
        } else {
            failures
                .push(format!("{plan:?}: killed after write {k} ({held}): AWS holds {after:#?}\nnot {reference:#?}"));
        }
    }
    eprintln!(
        "kill -9 | gateway | {:<13} | {writes:>2} writes | {survived:>2}/{writes} kill points survived",
        format!("{plan:?}")
    );
    (writes, survived, failures)
}

/// Issue #21: kill -9 after every write of a bridge's attach to a shared gateway, its update,
/// its detach (the sibling untouched) and the gateway's delete after its bridges.
#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_and_its_bridges_survive_a_kill_at_every_write() {
    let mut failures = Vec::new();
    for plan in [GatewayPlan::Attach, GatewayPlan::Update, GatewayPlan::Detach, GatewayPlan::GatewayDelete] {
        let (writes, _, f) = every_gateway_kill_point(plan).await;
        if plan == GatewayPlan::Attach {
            assert_eq!(writes, 8, "issue #21: orders attaches to an existing gateway in 8 writes");
        }
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{} kill point(s) not survived:\n{}", failures.len(), failures.join("\n\n"));
}
