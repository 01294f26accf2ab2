//! The `webhook-bridge` command line. Each command runs the same engine the operator runs; state
//! lives in AWS (found by ownership tags), never in a local file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::admission;
use crate::api::{WebhookBridge, WebhookBridgeStatus, crd_yaml};
use crate::aws::Aws;
use crate::engine::Engine;
use crate::error::{Error, FieldError};
use crate::status;

#[derive(Parser, Debug)]
#[command(name = "webhook-bridge", version, about = "One WebhookBridge object → API Gateway HTTP API → EventBridge")]
pub struct Cli {
    /// Default AWS region for bridges without spec.region (else AWS_REGION / the AWS profile).
    #[arg(long, global = true, env = "WEBHOOK_BRIDGE_REGION")]
    pub region: Option<String>,
    /// Cluster name written into ownership tags; two clusters sharing an account must differ.
    #[arg(long, global = true, env = "WEBHOOK_BRIDGE_CLUSTER_NAME", default_value = "default")]
    pub cluster_name: String,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CustomResourceDefinition YAML.
    Crd,
    /// Print the AWS writes a reconcile (or with --delete, a delete) would make now. No writes.
    Plan {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Plan the removal instead.
        #[arg(long)]
        delete: bool,
    },
    /// Reconcile once and print the resulting status as YAML.
    Apply {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
    },
    /// Remove what the bridge owns in AWS (honouring deletionPolicy).
    Delete {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
    },
}

/// Exit codes a script can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    /// A usage error (bad flags) — clap's own code.
    pub const USAGE: u8 = 2;
    /// The file or spec is invalid: fix it.
    pub const INVALID: u8 = 3;
    /// AWS refused for good (conflict, access denied, rejected): fix the account or spec.
    pub const TERMINAL: u8 = 4;
    /// AWS failed for now (throttling, 5xx, missing dependency): run again later.
    pub const RETRYABLE: u8 = 5;
}

fn exit_code(error: &Error) -> u8 {
    match error {
        Error::InvalidSpec(_) | Error::Config(_) => exit::INVALID,
        e if e.is_retryable() => exit::RETRYABLE,
        _ => exit::TERMINAL,
    }
}

fn report(error: &Error) -> ExitCode {
    match error {
        Error::InvalidSpec(fields) => {
            eprintln!("error: invalid spec");
            for f in fields {
                eprintln!("  {f}");
            }
        }
        other => eprintln!("error: {other}"),
    }
    ExitCode::from(exit_code(error))
}

/// Read every WebhookBridge document of a YAML (or JSON) file, admission rules applied.
pub fn load(path: &Path) -> Result<Vec<WebhookBridge>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .map_err(|e| Error::Config(format!("{}: not valid YAML: {e}", path.display())))?;
    let mut bridges = Vec::new();
    for (i, doc) in docs.into_iter().filter(|d| !d.is_null()).enumerate() {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if kind != "WebhookBridge" || api_version != "webhookbridge.io/v1alpha1" {
            return Err(Error::InvalidSpec(vec![FieldError::new(
                format!("document {}", i + 1),
                format!(
                    "expected apiVersion webhookbridge.io/v1alpha1 and kind WebhookBridge, got {api_version:?} {kind:?}"
                ),
            )]));
        }
        bridges.push(admission::admit(&doc).map_err(Error::InvalidSpec)?);
    }
    if bridges.is_empty() {
        return Err(Error::Config(format!("{}: no WebhookBridge in the file", path.display())));
    }
    Ok(bridges)
}

fn print_calls(engine: &Engine) {
    let c = &engine.aws.counter;
    eprintln!("AWS calls: {} reads, {} writes", c.reads(), c.writes());
}

pub async fn run(cli: Cli) -> ExitCode {
    let file = match &cli.command {
        Command::Crd => {
            return match crd_yaml() {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => report(&Error::Config(e.to_string())),
            };
        }
        Command::Plan { file, .. } | Command::Apply { file } | Command::Delete { file } => file,
    };
    let bridges = match load(file) {
        Ok(b) => b,
        Err(e) => return report(&e),
    };
    let mut engine = Engine::new(Aws::from_env().await, cli.cluster_name.clone());
    if cli.region.is_some() {
        engine.default_region = cli.region.clone();
    }
    let mut code = ExitCode::SUCCESS;
    for bridge in &bridges {
        let name = format!(
            "{}/{}",
            bridge.metadata.namespace.as_deref().unwrap_or("default"),
            bridge.metadata.name.as_deref().unwrap_or("")
        );
        let result = match &cli.command {
            Command::Plan { delete, .. } => {
                let planned = if *delete { engine.plan_delete(bridge).await } else { engine.plan(bridge).await };
                planned.map(|actions| {
                    if actions.is_empty() {
                        println!("{name}: no changes; AWS is in sync");
                    } else {
                        println!("{name}: {} change(s)", actions.len());
                        for a in actions {
                            println!("  {a}");
                        }
                    }
                })
            }
            Command::Apply { .. } => engine.reconcile(bridge).await.and_then(|outcome| {
                let now = status::now();
                let generation = bridge.metadata.generation;
                let message = format!("{} AWS write(s) applied; AWS matches the spec", outcome.actions.len());
                let st = WebhookBridgeStatus {
                    observed_generation: generation,
                    conditions: status::stamp(&[], status::ready(generation, &message), &now),
                    last_synced_time: Some(now),
                    ..outcome.status
                };
                let yaml = serde_saphyr::to_string(&serde_json::json!({ "name": name, "status": st }))
                    .map_err(|e| Error::Config(e.to_string()))?;
                println!("---\n{yaml}");
                Ok(())
            }),
            Command::Delete { .. } => engine.delete(bridge).await.map(|actions| {
                if bridge.spec.deletion_policy == crate::api::DeletionPolicy::Retain {
                    println!("{name}: deletionPolicy Retain; AWS left untouched");
                } else {
                    println!("{name}: deleted ({} AWS write(s))", actions.len());
                }
            }),
            Command::Crd => Ok(()),
        };
        if let Err(e) = result {
            eprint!("{name}: ");
            code = report(&e);
        }
    }
    print_calls(&engine);
    code
}
