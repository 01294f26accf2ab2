//! `webhook-bridge crd`: a CustomResourceDefinition's YAML on stdout.

use std::process::ExitCode;

use super::output::report;
use crate::api::{crd_yaml, gateway_crd_yaml, policy_crd_yaml};
use crate::error::Error;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrdKind {
    /// webhookbridges.webhookbridge.io
    Bridge,
    /// webhookbridgepolicies.webhookbridge.io
    Policy,
    /// webhookbridgegateways.webhookbridge.io
    Gateway,
}

pub(super) fn run(kind: CrdKind) -> ExitCode {
    let yaml = match kind {
        CrdKind::Bridge => crd_yaml(),
        CrdKind::Policy => policy_crd_yaml(),
        CrdKind::Gateway => gateway_crd_yaml(),
    };
    match yaml {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(e) => report(&Error::Config(e.to_string())),
    }
}
