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
    /// region and detail-type required; any other top-level field allowed).
    #[arg(long, value_name = "EVENT", conflicts_with_all = ["route", "method", "path", "body", "headers", "query"])]
    pub event: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

pub(super) fn run(args: &SimulateArgs) -> ExitCode {
    use crate::simulate::commands;
    let run = || -> Result<bool, Error> {
        let bridge = one_bridge(&args.file)?;
        if let Some(event) = &args.event {
            let report = crate::simulate::report::simulate_event(&bridge, &commands::read_event(event)?);
            return Ok(commands::print(&report, args.output == Output::Json));
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
