//! `webhook-bridge apply`: reconcile each bridge once and print its resulting status as YAML.

use std::path::Path;
use std::process::ExitCode;

use super::Cli;
use super::batch::{Warnings, each_bridge};
use crate::api::{WebhookBridge, WebhookBridgeStatus};
use crate::engine::Engine;
use crate::error::Error;
use crate::status;

pub(super) async fn run(cli: &Cli, file: &Path) -> ExitCode {
    each_bridge(cli, file, Warnings::Print, async |engine, bridge, name| apply_bridge(engine, bridge, name).await).await
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
