//! `webhook-bridge delete`: remove what each bridge owns in AWS (honouring deletionPolicy),
//! then each gateway's objects (refused, GatewayInUse, while routes of bridges remain on its
//! API: delete those bridges first, in this run or an earlier one).

use std::path::PathBuf;
use std::process::ExitCode;

use super::Cli;
use super::batch::{Batch, Warnings, worst};
use crate::api::DeletionPolicy;

pub(super) async fn run(cli: &Cli, files: &[PathBuf], keep_gateways: bool) -> ExitCode {
    let mut batch = match Batch::open(cli, files, Warnings::Quiet).await {
        Ok(b) => b,
        Err(code) => return code,
    };
    // The bridges' deletes need their gateway's API and bus ids: read, never written.
    let observed = batch.observe_gateways().await;
    let code = batch
        .each(async |engine, bridge, name| {
            let actions = engine.delete(bridge).await?;
            if bridge.spec.deletion_policy == DeletionPolicy::Retain {
                println!("{name}: deletionPolicy Retain; AWS left untouched");
            } else {
                println!("{name}: deleted ({} AWS write(s))", actions.len());
            }
            Ok(())
        })
        .await;
    if keep_gateways {
        return batch.finish(worst(observed, code));
    }
    let (gw_code, _) = batch
        .each_gateway(async |engine, gw, name| {
            let actions = engine.delete_gateway(gw).await?;
            if gw.spec.deletion_policy == DeletionPolicy::Retain {
                println!("gateway {name}: deletionPolicy Retain; AWS left untouched");
            } else {
                println!("gateway {name}: deleted ({} AWS write(s))", actions.len());
            }
            Ok(())
        })
        .await;
    batch.finish(worst(worst(observed, code), gw_code))
}
