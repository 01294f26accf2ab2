//! `webhook-bridge delete`: remove what each bridge owns in AWS (honouring deletionPolicy).

use std::path::Path;
use std::process::ExitCode;

use super::Cli;
use super::batch::{Warnings, each_bridge};
use crate::api::DeletionPolicy;

pub(super) async fn run(cli: &Cli, file: &Path) -> ExitCode {
    each_bridge(cli, file, Warnings::Quiet, async |engine, bridge, name| {
        let actions = engine.delete(bridge).await?;
        if bridge.spec.deletion_policy == DeletionPolicy::Retain {
            println!("{name}: deletionPolicy Retain; AWS left untouched");
        } else {
            println!("{name}: deleted ({} AWS write(s))", actions.len());
        }
        Ok(())
    })
    .await
}
