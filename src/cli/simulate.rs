//! `webhook-bridge simulate`: what a request (or an event) would do, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Output;
use super::manifests::one_bridge;
use super::output::verdict;
use crate::error::Error;

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// The route to call (its method and path; path parameters stay as written unless --path).
    #[arg(long)]
    pub route: Option<String>,
    #[arg(long)]
    pub method: Option<String>,
    #[arg(long)]
    pub path: Option<String>,
    /// The body: text, `@file`, or `-` for stdin.
    #[arg(long)]
    pub body: Option<String>,
    /// A header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// A query parameter, `name=value` (repeatable).
    #[arg(long = "query")]
    pub query: Vec<String>,
    /// Instead of a request: a full event (`@file`, `-` for stdin, or the JSON), run through the
    /// rules and targets as is, as AWS's TestEventPattern takes one (id, account, source, time,
    /// region and detail-type required; any other top-level field allowed). For a webhook-source
    /// bridge: the event's Data (the body) its rules filter, any JSON.
    #[arg(long, value_name = "EVENT", conflicts_with_all = ["route", "method", "path", "body", "headers", "query"])]
    pub event: Option<String>,
    /// A webhook-source bridge: the source called (default: the only one).
    #[arg(long, conflicts_with_all = ["route", "path"])]
    pub source: Option<String>,
    /// A webhook-source bridge: when the request arrives (Unix seconds or RFC 3339; default now).
    #[arg(long)]
    pub now: Option<String>,
    #[command(flatten)]
    pub secrets: SecretArgs,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Where a webhook-source bridge's secrets come from offline (test values; never printed).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SecretArgs {
    /// A webhook-source bridge: a Kubernetes Secret manifest (YAML, one or more Secrets) holding
    /// what each source's secretRef names.
    #[arg(long = "secrets", value_name = "MANIFEST")]
    pub secrets_manifest: Option<PathBuf>,
    /// A webhook-source bridge: a file holding the secret of the source called (one trailing
    /// newline dropped).
    #[arg(long = "secret-file", value_name = "FILE", conflicts_with = "secrets_manifest")]
    pub secret_file: Option<PathBuf>,
}

impl SecretArgs {
    pub fn source(&self) -> crate::simulate::webhook::SecretSource {
        crate::simulate::webhook::SecretSource {
            value: None,
            file: self.secret_file.clone(),
            manifest: self.secrets_manifest.clone(),
        }
    }
}

pub(super) fn run(args: &SimulateArgs) -> ExitCode {
    use crate::simulate::commands;
    let run = || -> Result<bool, Error> {
        let bridge = one_bridge(&args.file)?;
        if let Some(event) = &args.event {
            let event = if bridge.spec.webhook_sources.is_empty() {
                commands::read_event(event)?
            } else {
                commands::read_data(event)?
            };
            let report = crate::simulate::report::simulate_event(&bridge, &event);
            return Ok(commands::print(&report, args.output == Output::Json));
        }
        if !bridge.spec.webhook_sources.is_empty() {
            return webhook(&bridge, args);
        }
        let (method, path) =
            commands::request_for(&bridge, args.route.as_deref(), args.method.as_deref(), args.path.as_deref())?;
        let request = crate::simulate::request::Request {
            method,
            path,
            headers: commands::pairs(&args.headers, ':', "--header")?,
            query: commands::pairs(&args.query, '=', "--query")?,
            body: commands::read_body(args.body.as_deref())?,
        };
        let report = crate::simulate::report::simulate(&bridge, &request);
        Ok(commands::print(&report, args.output == Output::Json))
    };
    verdict(run())
}

/// `simulate` on a webhook-source bridge: one request to one source, verified and routed.
fn webhook(bridge: &crate::api::WebhookBridge, args: &SimulateArgs) -> Result<bool, Error> {
    use crate::simulate::{commands, webhook};
    let name = match (&args.source, bridge.spec.webhook_sources.as_slice()) {
        (Some(s), _) => s.clone(),
        (None, [only]) => only.name.clone(),
        (None, _) => return Err(Error::Config("the bridge has several webhook sources: give --source NAME".into())),
    };
    let src = webhook::source(bridge, &name).map_err(|m| Error::Config(format!("--source {name}: {m}")))?;
    let secret = webhook::secret_for(bridge, src, &args.secrets.source())?;
    let now = match &args.now {
        Some(t) => webhook::parse_now(t).map_err(|e| Error::Config(format!("--now {e}")))?,
        None => webhook::wall_clock(),
    };
    let request = webhook::WebhookRequest {
        source: name,
        method: args.method.clone().unwrap_or_else(|| "POST".into()),
        headers: commands::pairs(&args.headers, ':', "--header")?,
        body: commands::read_body(args.body.as_deref())?.into_bytes(),
    };
    let report = webhook::simulate(bridge, &request, &secret, now);
    Ok(commands::print(&report, args.output == Output::Json))
}
