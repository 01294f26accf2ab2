//! `webhook-bridge test`: run request fixtures against the bridge, for CI.

use std::path::Path;
use std::process::ExitCode;

use super::manifests::one_bridge;
use super::output::verdict;
use crate::error::Error;

pub(super) fn run(file: &Path, dir: &Path, junit: Option<&Path>) -> ExitCode {
    use crate::simulate::commands;
    let run = || -> Result<bool, Error> {
        let bridge = one_bridge(file)?;
        let verdicts: Vec<commands::Verdict> =
            commands::fixtures(dir)?.iter().map(|(path, f)| commands::check(&bridge, path, f)).collect();
        for v in &verdicts {
            if v.failures.is_empty() {
                println!("ok    {}", v.name);
            } else {
                println!("FAIL  {} ({})", v.name, v.file.display());
                for f in &v.failures {
                    println!("  {f}");
                }
            }
        }
        let failed = verdicts.iter().filter(|v| !v.failures.is_empty()).count();
        println!("{} fixture(s), {failed} failed", verdicts.len());
        if let Some(path) = junit {
            let suite = bridge.metadata.name.clone().unwrap_or_default();
            std::fs::write(path, commands::junit(&suite, &verdicts))
                .map_err(|e| Error::Config(format!("--junit {}: {e}", path.display())))?;
        }
        Ok(failed == 0)
    };
    verdict(run())
}
