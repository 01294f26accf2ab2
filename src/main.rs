use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use webhook_bridge::cli::{Cli, LogFormat, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    // At trace level the AWS SDK's orchestrator and HTTP client log whole requests, bodies
    // included: a webhook source's CreateEventSource / RotateWebhookCredentials body carries its
    // secret. When RUST_LOG reaches trace anywhere, those targets are capped at debug (added
    // last, so these directives win); below trace nothing changes (a directive also raises).
    if filter.max_level_hint() == Some(tracing_subscriber::filter::LevelFilter::TRACE) {
        for directive in
            ["aws_smithy_runtime=debug", "aws_smithy_runtime_api=debug", "aws_smithy_http_client=debug", "hyper=debug"]
        {
            if let Ok(d) = directive.parse() {
                filter = filter.add_directive(d);
            }
        }
    }
    // Colour only on a terminal: `webhook-bridge run 2>file` and log collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    run(cli).await
}
