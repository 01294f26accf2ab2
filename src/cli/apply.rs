//! `webhook-bridge apply`: reconcile each gateway, then each bridge, once, and print their
//! resulting statuses as YAML. Bridges on a gateway attach with the status its reconcile in
//! this run gave; the gateway must be among the files given (else GatewayNotFound says so).

use std::path::PathBuf;
use std::process::ExitCode;

use super::Cli;
use super::batch::{Batch, Warnings, worst};
use crate::api::{WebhookBridge, WebhookBridgeGateway, WebhookBridgeStatus};
use crate::engine::Engine;
use crate::error::Error;
use crate::status;

pub(super) async fn run(cli: &Cli, files: &[PathBuf]) -> ExitCode {
    let mut batch = match Batch::open(cli, files, Warnings::Print).await {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (gw_code, statuses) = batch.each_gateway(async |engine, gw, name| apply_gateway(engine, gw, name).await).await;
    batch.attach(statuses);
    let code = batch.each(async |engine, bridge, name| apply_bridge(engine, bridge, name).await).await;
    batch.finish(worst(gw_code, code))
}

/// Reconcile one gateway; its status (Ready) on stdout, as a bridge's is; the status goes to
/// the bridges on it.
async fn apply_gateway(
    engine: &Engine,
    gw: &WebhookBridgeGateway,
    name: &str,
) -> Result<crate::api::WebhookBridgeGatewayStatus, Error> {
    let outcome = engine.reconcile_gateway(gw, None).await?;
    if outcome.actions.iter().any(|a| a.changes_role()) {
        eprintln!(
            "gateway {name}: note: the IAM role changed; API Gateway can assume it once IAM has propagated the change (about 10 to 30 s)"
        );
    }
    let mut st = crate::gateway::status::ready(&outcome, gw.metadata.generation);
    let message = format!("{} AWS write(s) applied; AWS matches the spec", outcome.actions.len());
    let now = status::now();
    st.conditions = status::stamp(&[], status::ready(gw.metadata.generation, &message), &now);
    let yaml =
        serde_saphyr::to_string(&serde_json::json!({ "name": name, "kind": "WebhookBridgeGateway", "status": st }))
            .map_err(|e| Error::Config(e.to_string()))?;
    println!("---\n{yaml}");
    Ok(st)
}

/// Reconcile one bridge; its status (Ready, or Progressing while a target lacks the policy
/// that lets EventBridge deliver) on stdout, notes and warnings on stderr.
async fn apply_bridge(engine: &Engine, bridge: &WebhookBridge, name: &str) -> Result<(), Error> {
    let outcome = engine.reconcile(bridge).await?;
    if outcome.actions.iter().any(|a| a.changes_role()) {
        eprintln!(
            "{name}: note: the IAM role changed; API Gateway can assume it once IAM has propagated the change (about 10 to 30 s); webhooks may be answered 500 until then"
        );
    }
    let now = status::now();
    let generation = bridge.metadata.generation;
    let message = format!("{} AWS write(s) applied; AWS matches the spec", outcome.actions.len());
    let conditions = if outcome.delivery_gaps.is_empty() {
        status::ready(generation, &message)
    } else {
        let gaps = status::delivery_gaps_message(&outcome.delivery_gaps);
        eprintln!("{name}: warning: {gaps}");
        status::progressing(generation, "TargetPolicyMissing", &gaps)
    };
    let st = WebhookBridgeStatus {
        observed_generation: generation,
        conditions: status::stamp(&[], conditions, &now),
        last_synced_time: Some(now),
        ..outcome.status
    };
    let yaml = serde_saphyr::to_string(&serde_json::json!({ "name": name, "status": st }))
        .map_err(|e| Error::Config(e.to_string()))?;
    println!("---\n{yaml}");
    Ok(())
}
