//! `webhook-bridge status`: each bridge at a glance, as AWS holds it now, and whether AWS is in
//! sync with the file. No writes.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

use super::batch::{Batch, Warnings};
use super::output::report;
use super::{Cli, Output};
use crate::api::{WebhookBridge, WebhookBridgeStatus};
use crate::engine::Engine;
use crate::error::Error;
use crate::status;

pub(super) async fn run(cli: &Cli, files: &[PathBuf], output: Output) -> ExitCode {
    let mut batch = match Batch::open(cli, files, Warnings::Quiet).await {
        Ok(b) => b,
        Err(code) => return code,
    };
    let file = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" -f ");
    let file = file.as_str();
    let mut statuses: Vec<Value> = Vec::new();
    // Gateways: what AWS holds (reads only) and whether it matches the file.
    let (gw_code, _) = batch
        .each_gateway(async |engine, gw, name| {
            let outcome = engine.observe_gateway(gw).await?;
            let st = crate::gateway::status::describe(&outcome, 0, Vec::new());
            let plan = engine.plan_gateway(gw).await;
            if output == Output::Json {
                let mut v = serde_json::json!({ "name": name, "kind": "WebhookBridgeGateway", "status": st });
                match &plan {
                    Ok(actions) => {
                        v["inSync"] = Value::Bool(actions.is_empty());
                        v["changes"] = Value::from(actions.len());
                        v["actions"] = Value::from(actions.iter().map(ToString::to_string).collect::<Vec<_>>());
                    }
                    Err(e) => {
                        v["inSync"] = Value::Null;
                        v["error"] = Value::String(e.to_string());
                    }
                }
                statuses.push(v);
            } else {
                println!("gateway {name}");
                println!("  {:<15}{}", "URL", st.url.as_deref().unwrap_or("not created yet (no API)"));
                println!("  {:<15}{}", "API", st.api_id.as_deref().unwrap_or("not created yet"));
                println!("  {:<15}{}", "bus", st.event_bus.as_ref().map_or("not created yet", |b| b.arn.as_str()));
                println!("  {:<15}{}", "role", st.role.as_ref().map_or("not created yet", |r| r.arn.as_str()));
                let sync = match &plan {
                    Ok(a) if a.is_empty() => "in sync".to_string(),
                    Ok(a) => format!("{} change(s) pending: `webhook-bridge plan -f {file}` lists them", a.len()),
                    Err(e) => format!("unknown: the plan was refused: {e}"),
                };
                println!("  {:<15}{sync}", "AWS");
            }
            plan.map(|_| ())
        })
        .await;
    let observed = batch.observe_gateways().await;
    let code = batch
        .each(async |engine, bridge, name| {
            let g = glance(engine, bridge).await?;
            if output == Output::Json {
                statuses.push(g.to_json(name));
            } else {
                print!("{}", g.text(name, bridge, file));
            }
            g.plan.map(|_| ())
        })
        .await;
    let mut code = super::batch::worst(super::batch::worst(gw_code, observed), code);
    if output == Output::Json {
        match serde_json::to_string_pretty(&statuses) {
            Ok(json) => println!("{json}"),
            Err(e) => code = report(&Error::Config(e.to_string())),
        }
    }
    batch.finish(code)
}

/// What `status` shows of one bridge: the status built from a read-only look at AWS, and the
/// plan from that same look (or why there is none).
struct Glance {
    status: WebhookBridgeStatus,
    plan: Result<Vec<crate::plan::Action>, Error>,
}

/// Read AWS (no writes: prepare, observe, plan; never reconcile) and describe the bridge.
async fn glance(engine: &Engine, bridge: &WebhookBridge) -> Result<Glance, Error> {
    let (c, d) = engine.prepare(bridge, true).await?;
    let o = engine.observe(&c, &d).await?;
    let plan = crate::plan::plan(&d, &o);
    let mut status = status::describe(&d, &o);
    if d.v2.webhook {
        (status.webhook_sources, status.subscribers) = crate::engine::webhook_status(&d, &o);
    }
    Ok(Glance { status, plan })
}

impl Glance {
    fn to_json(&self, name: &str) -> Value {
        let mut v = serde_json::json!({ "name": name, "status": self.status });
        match &self.plan {
            Ok(actions) => {
                v["inSync"] = Value::Bool(actions.is_empty());
                v["changes"] = Value::from(actions.len());
                v["actions"] = Value::from(actions.iter().map(ToString::to_string).collect::<Vec<_>>());
            }
            Err(e) => {
                v["inSync"] = Value::Null;
                v["error"] = Value::String(e.to_string());
            }
        }
        v
    }

    fn text(&self, name: &str, bridge: &WebhookBridge, file: &str) -> String {
        use std::fmt::Write as _;
        let st = &self.status;
        let spec = &bridge.spec;
        let absent = |wanted: bool| if wanted { "not created yet" } else { "none" };
        let mut out = String::new();
        let mut line = |label: &str, value: &str| {
            let _ = writeln!(out, "  {label:<15}{value}");
        };
        line("URL", st.endpoint.as_deref().unwrap_or("not created yet (no API)"));
        match &st.domain {
            Some(domain) => {
                line("custom domain", &domain.url);
                let target = match (&domain.target_domain_name, &domain.hosted_zone_id) {
                    (Some(t), Some(zone)) => {
                        format!("CNAME {} -> {t} (Route 53 alias: hosted zone {zone})", domain.name)
                    }
                    (Some(t), None) => format!("CNAME {} -> {t}", domain.name),
                    _ => "pending: API Gateway has not reported the regional domain name yet".to_string(),
                };
                line("DNS", &target);
            }
            None => line("custom domain", absent(spec.domain.is_some())),
        }
        match &st.archive {
            Some(a) => line("archive", &format!("{} ({})", a.name, a.arn)),
            None => line("archive", absent(spec.event_bus.archive.is_some())),
        }
        match &st.access_log_group {
            Some(g) => line("access logs", &g.name),
            None => line("access logs", absent(spec.api.access_logs.as_ref().is_some_and(|l| l.enabled))),
        }
        match &st.dead_letter_queues {
            Some(dlq) => line("DLQ", &format!("{dlq} target(s) have a dead-letter queue")),
            None => line("DLQ", "unknown"),
        }
        let _ = writeln!(out, "  routes");
        for r in &st.routes {
            let _ = writeln!(
                out,
                "    {:<20} {:<28} {}",
                r.name,
                r.route_key,
                r.url.as_deref().unwrap_or("not created yet")
            );
        }
        if let Some(domain) = &st.domain {
            for url in &domain.route_urls {
                let _ = writeln!(out, "    {:<20} {:<28} {url}", "", "(custom domain)");
            }
        }
        if !spec.webhook_sources.is_empty() {
            let _ = writeln!(out, "  webhook sources");
            for w in &st.webhook_sources {
                let state = w.state.as_deref().unwrap_or("not created yet");
                let _ = writeln!(out, "    {:<20} {:<28} {}", w.name, state, w.url.as_deref().unwrap_or(""));
                if let Some(secret) = &w.secret_arn {
                    let _ = writeln!(out, "    {:<20} {:<28} {secret}", "", "(credential in)");
                }
            }
            let _ = writeln!(out, "  subscribers");
            for s in &st.subscribers {
                let state = s.state.as_deref().unwrap_or("not created yet");
                let _ = writeln!(out, "    {:<20} {state}", s.name);
            }
        }
        let _ = writeln!(out, "  rules");
        for r in &st.rules {
            let state =
                if r.arn.is_some() { format!("{} target(s)", r.targets) } else { "not created yet".to_string() };
            let _ = writeln!(out, "    {:<20} {:<28} {}", r.name, state, r.aws_name);
        }
        let sync = match &self.plan {
            Ok(actions) if actions.is_empty() => "in sync".to_string(),
            Ok(actions) => format!(
                "{} change(s) pending: `webhook-bridge plan -f {}` lists them, `apply` makes them",
                actions.len(),
                file
            ),
            Err(e) => format!("unknown: the plan was refused: {e}"),
        };
        let _ = writeln!(out, "  {:<15}{sync}", "AWS");
        format!("{name}\n{out}")
    }
}
