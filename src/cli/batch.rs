//! The frame of the file commands (plan, apply, delete, status): the files' gateways and
//! bridges and the engine, one verb run over every object, each failure reported under the
//! object's name. Bridges on a gateway (`spec.gatewayRef`) find it among the gateways of the
//! files given, with the status this run found for it ([`Batch::attach`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::Cli;
use super::manifests::{bridge_name, gateway_name, load_all, print_warnings};
use super::output::{print_calls, report};
use crate::api::{WebhookBridge, WebhookBridgeGateway, WebhookBridgeGatewayStatus};
use crate::aws::Aws;
use crate::engine::{Engine, Gateways};
use crate::error::Error;
use crate::gateway::{GatewaySource, StaticGateways, arbiter};

/// The engine a command runs: on `aws`, the global flags applied.
pub(super) fn engine_on(aws: Aws, cli: &Cli) -> Engine {
    let mut engine = Engine::new(aws, cli.cluster_name.clone());
    engine.role_boundary = cli.role_permissions_boundary.clone();
    if cli.region.is_some() {
        engine.default_region = cli.region.clone();
    }
    engine
}

/// The engine the file commands run: AWS from the environment, the global flags applied.
pub(super) async fn cli_engine(cli: &Cli) -> Engine {
    engine_on(Aws::from_env().await, cli)
}

/// Whether a command prints `validate::warnings` of each bridge before it starts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Warnings {
    Print,
    Quiet,
}

/// The files' gateways and bridges and the engine that acts on them.
pub(super) struct Batch {
    pub gateways: Vec<WebhookBridgeGateway>,
    bridges: Vec<WebhookBridge>,
    pub engine: Engine,
    /// `--namespace-label`: labels of namespaces, for gateways that select them.
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// The failure of two steps that both ran (the later one's when both failed).
pub(super) fn worst(first: ExitCode, second: ExitCode) -> ExitCode {
    if second == ExitCode::SUCCESS { first } else { second }
}

impl Batch {
    /// Load the files (files that do not load: the error and exit code, before any AWS call)
    /// and make the engine.
    pub async fn open(cli: &Cli, files: &[PathBuf], warnings: Warnings) -> Result<Batch, ExitCode> {
        let m = load_all(files).map_err(|e| report(&e))?;
        if warnings == Warnings::Print {
            m.bridges.iter().for_each(print_warnings);
        }
        let mut labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (ns, key, value) in &cli.namespace_labels {
            labels.entry(ns.clone()).or_default().insert(key.clone(), value.clone());
        }
        let mut engine = cli_engine(cli).await;
        // Webhook sources' `secretRef`: the Secret manifests among the files.
        engine.secrets = crate::engine::Secrets(Arc::new(m.secrets));
        let mut batch = Batch { gateways: m.gateways, bridges: m.bridges, engine, labels };
        batch.attach(vec![None; batch.gateways.len()]);
        Ok(batch)
    }

    /// Hand the bridges the files' gateways, the i-th with `statuses[i]` (None: nothing known
    /// of it; its bridges wait, GatewayNotReady, naming it).
    pub fn attach(&mut self, statuses: Vec<Option<WebhookBridgeGatewayStatus>>) {
        let gateways = self
            .gateways
            .iter()
            .zip(statuses.into_iter().chain(std::iter::repeat(None)))
            .map(|(gw, status)| WebhookBridgeGateway { status, ..gw.clone() })
            .collect();
        self.engine.gateways = Gateways(Arc::new(FileGateways {
            known: StaticGateways { gateways, bridges: self.bridges.clone() },
            labels: self.labels.clone(),
        }));
    }

    /// Read each gateway's objects from AWS (no writes) and hand the bridges the status that
    /// describes them: what `plan`, `status` and `delete` attach bridges with. A gateway that is
    /// not in AWS yet gives its bridges nothing to attach to (GatewayNotReady).
    pub async fn observe_gateways(&mut self) -> ExitCode {
        let mut code = ExitCode::SUCCESS;
        let mut statuses = Vec::new();
        for gw in &self.gateways {
            match self.engine.observe_gateway(gw).await {
                Ok(outcome) => statuses.push(Some(crate::gateway::status::ready(&outcome, gw.metadata.generation))),
                Err(e) => {
                    eprint!("gateway {}: ", gateway_name(gw));
                    code = report(&e);
                    statuses.push(None);
                }
            }
        }
        self.attach(statuses);
        code
    }

    /// Run `verb` on each gateway (with its `namespace/name`), in file order, as [`Batch::each`]
    /// does for bridges; failures are reported as `gateway namespace/name: error: …`.
    pub async fn each_gateway<T>(
        &self,
        mut verb: impl AsyncFnMut(&Engine, &WebhookBridgeGateway, &str) -> Result<T, Error>,
    ) -> (ExitCode, Vec<Option<T>>) {
        let mut code = ExitCode::SUCCESS;
        let mut out = Vec::new();
        for gw in &self.gateways {
            let name = gateway_name(gw);
            match verb(&self.engine, gw, &name).await {
                Ok(v) => out.push(Some(v)),
                Err(e) => {
                    eprint!("gateway {name}: ");
                    code = report(&e);
                    out.push(None);
                }
            }
        }
        (code, out)
    }

    /// Run `verb` on each bridge (with its `namespace/name`), in file order; a bridge that fails
    /// is reported as `namespace/name: error: …` and the rest still run. The exit code is the
    /// last failure's, or success.
    pub async fn each(
        &self,
        mut verb: impl AsyncFnMut(&Engine, &WebhookBridge, &str) -> Result<(), Error>,
    ) -> ExitCode {
        let mut code = ExitCode::SUCCESS;
        for bridge in &self.bridges {
            let name = bridge_name(bridge);
            if let Err(e) = verb(&self.engine, bridge, &name).await {
                eprint!("{name}: ");
                code = report(&e);
            }
        }
        code
    }

    /// End the command: the AWS call count on stderr, and `code`.
    pub fn finish(self, code: ExitCode) -> ExitCode {
        print_calls(&self.engine);
        code
    }
}

/// The gateways of the files, and namespaces labelled as a cluster labels them
/// (`kubernetes.io/metadata.name`) plus the `--namespace-label`s given.
struct FileGateways {
    known: StaticGateways,
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl GatewaySource for FileGateways {
    fn gateway(&self, namespace: &str, name: &str) -> Result<WebhookBridgeGateway, Error> {
        self.known.gateway(namespace, name)
    }
    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        let mut labels = self.known.namespace_labels(namespace).unwrap_or_default();
        labels.extend(self.labels.get(namespace).cloned().unwrap_or_default());
        Some(labels)
    }
    fn verdict(&self, gw: &WebhookBridgeGateway, bridge: &WebhookBridge) -> arbiter::Verdict {
        self.known.verdict(gw, bridge)
    }
}
