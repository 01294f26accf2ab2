//! `webhook-bridge plan`: the AWS writes a reconcile (or with --delete, a delete) would make
//! now, a gateway and then a bridge at a time. No writes: bridges on a gateway attach with the
//! status read from AWS (a gateway not created yet: its bridges cannot be planned until it is).

use std::path::PathBuf;
use std::process::ExitCode;

use super::Cli;
use super::batch::{Batch, Warnings, worst};
use crate::plan::Action;

fn print(name: &str, actions: Vec<Action>) {
    if actions.is_empty() {
        println!("{name}: no changes; AWS is in sync");
    } else {
        println!("{name}: {} change(s)", actions.len());
        for a in actions {
            println!("  {a}");
        }
    }
}

pub(super) async fn run(cli: &Cli, files: &[PathBuf], delete: bool) -> ExitCode {
    let mut batch = match Batch::open(cli, files, Warnings::Print).await {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (gw_code, _) = batch
        .each_gateway(async |engine, gw, name| {
            let actions = if delete { engine.plan_delete_gateway(gw).await? } else { engine.plan_gateway(gw).await? };
            print(&format!("gateway {name}"), actions);
            Ok(())
        })
        .await;
    let observed = batch.observe_gateways().await;
    let code = batch
        .each(async |engine, bridge, name| {
            let actions = if delete { engine.plan_delete(bridge).await? } else { engine.plan(bridge).await? };
            print(name, actions);
            Ok(())
        })
        .await;
    batch.finish(worst(worst(gw_code, observed), code))
}
