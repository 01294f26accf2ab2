//! The frame of the file commands (plan, apply, delete, status): the file's bridges and the
//! engine, one verb run over every bridge, each failure reported under the bridge's name.

use std::path::Path;
use std::process::ExitCode;

use super::Cli;
use super::manifests::{bridge_name, load, print_warnings};
use super::output::{print_calls, report};
use crate::api::WebhookBridge;
use crate::aws::Aws;
use crate::engine::Engine;
use crate::error::Error;

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

/// A file's bridges and the engine that acts on them.
pub(super) struct Batch {
    bridges: Vec<WebhookBridge>,
    engine: Engine,
}

/// Run `verb` on every bridge of `file` (see [`Batch::each`]): open, run, finish.
pub(super) async fn each_bridge(
    cli: &Cli,
    file: &Path,
    warnings: Warnings,
    verb: impl AsyncFnMut(&Engine, &WebhookBridge, &str) -> Result<(), Error>,
) -> ExitCode {
    match Batch::open(cli, file, warnings).await {
        Ok(batch) => {
            let code = batch.each(verb).await;
            batch.finish(code)
        }
        Err(code) => code,
    }
}

impl Batch {
    /// Load the file (a file that does not load: its error and exit code, before any AWS call)
    /// and make the engine.
    pub async fn open(cli: &Cli, file: &Path, warnings: Warnings) -> Result<Batch, ExitCode> {
        let bridges = load(file).map_err(|e| report(&e))?;
        if warnings == Warnings::Print {
            bridges.iter().for_each(print_warnings);
        }
        Ok(Batch { bridges, engine: cli_engine(cli).await })
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
