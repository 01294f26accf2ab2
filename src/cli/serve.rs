//! `webhook-bridge serve`: the bridge's routes on localhost, each request simulated and logged.

use std::path::Path;
use std::process::ExitCode;

use super::Cli;
use super::manifests::one_bridge;
use super::output::report;
use crate::aws::Aws;
use crate::error::Error;

pub(super) async fn run(cli: &Cli, file: &Path, addr: std::net::SocketAddr, forward: bool) -> ExitCode {
    let bridge = match one_bridge(file) {
        Ok(b) => b,
        Err(e) => return report(&e),
    };
    let client = if forward {
        let aws = Aws::from_env().await;
        let region = bridge.spec.region.clone().or_else(|| cli.region.clone()).or_else(|| aws.default_region());
        let Some(region) = region else {
            return report(&Error::Config("--forward: no region (spec.region, --region or AWS_REGION)".into()));
        };
        Some(aws.clients(&region).events)
    } else {
        None
    };
    let server = crate::simulate::commands::serve(bridge, addr, client);
    tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&e),
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
