//! `webhook-bridge serve`: the bridge's routes on localhost, each request simulated and logged.

use std::path::Path;
use std::process::ExitCode;

use super::Cli;
use super::manifests::one_bridge;
use super::output::report;
use crate::aws::Aws;
use crate::error::Error;

pub(super) async fn run(
    cli: &Cli,
    file: &Path,
    addr: std::net::SocketAddr,
    forward: bool,
    secrets: &super::simulate::SecretArgs,
) -> ExitCode {
    let bridge = match one_bridge(file) {
        Ok(b) => b,
        Err(e) => return report(&e),
    };
    if !bridge.spec.webhook_sources.is_empty() {
        return webhooks(bridge, addr, forward, secrets).await;
    }
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

/// `serve` on a webhook-source bridge: each source at `/<name>`, verified with its secret.
async fn webhooks(
    bridge: crate::api::WebhookBridge,
    addr: std::net::SocketAddr,
    forward: bool,
    secrets: &super::simulate::SecretArgs,
) -> ExitCode {
    use crate::simulate::webhook;
    if forward {
        return report(&Error::Config(
            "--forward: not available for a webhook-source bridge (its events go to a Custom Event Bus, not PutEvents)"
                .into(),
        ));
    }
    if secrets.secret_file.is_some() && bridge.spec.webhook_sources.len() > 1 {
        return report(&Error::Config(
            "--secret-file: the bridge has several webhook sources; give --secrets MANIFEST".into(),
        ));
    }
    let mut loaded = Vec::new();
    for src in &bridge.spec.webhook_sources {
        match webhook::secret_for(&bridge, src, &secrets.source()) {
            Ok(v) => loaded.push((src.name.clone(), v)),
            Err(e) => return report(&e),
        }
    }
    let server = crate::simulate::commands::serve_webhooks(bridge, addr, loaded);
    tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&e),
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
