//! `webhook-bridge plan`: the AWS writes a reconcile (or with --delete, a delete) would make
//! now, a bridge at a time. No writes.

use std::path::Path;
use std::process::ExitCode;

use super::Cli;
use super::batch::{Warnings, each_bridge};

pub(super) async fn run(cli: &Cli, file: &Path, delete: bool) -> ExitCode {
    each_bridge(cli, file, Warnings::Print, async |engine, bridge, name| {
        let actions = if delete { engine.plan_delete(bridge).await? } else { engine.plan(bridge).await? };
        if actions.is_empty() {
            println!("{name}: no changes; AWS is in sync");
        } else {
            println!("{name}: {} change(s)", actions.len());
            for a in actions {
                println!("  {a}");
            }
        }
        Ok(())
    })
    .await
}
