//! How a command ends: the exit codes a script can rely on, and an error reported on stderr.

use std::process::ExitCode;

use crate::engine::Engine;
use crate::error::Error;

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

/// Print the error on stderr (an invalid spec a field a line) and give its exit code.
pub(super) fn report(error: &Error) -> ExitCode {
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

/// The end of a command that checks something offline (simulate, test): exit 0 when it held, 1
/// when it did not, and on an error, the error's code.
pub(super) fn verdict(result: Result<bool, Error>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => report(&e),
    }
}

/// The closing line of every command that talked to AWS: how many calls it made.
pub(super) fn print_calls(engine: &Engine) {
    let c = &engine.aws.counter;
    eprintln!("AWS calls: {} reads, {} writes", c.reads(), c.writes());
}
