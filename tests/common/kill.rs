//! Kill -9 at a chosen write: the crash-safety harness of tests/crash.rs and
//! tests/webhook_crash.rs. The proxy holds the answer to the k-th committed write, the test
//! SIGKILLs the process that made it.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Moto;

/// Writes the emulator committed since its last reset.
pub fn committed_writes(moto: &Moto) -> usize {
    moto.fault_stats()["committed_writes"].as_u64().expect("committed_writes") as usize
}

/// Start `cmd`, wait for the proxy to hold its k-th committed write, SIGKILL it; the held call.
pub fn kill_at_write(moto: &Moto, mut cmd: Command, k: usize) -> Result<String, String> {
    moto.hold_after_write(k);
    let mut child: Child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn webhook-bridge");
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        let state = moto.hold_state();
        if state["held"] == true {
            break state["held_call"].as_str().unwrap_or("?").to_string();
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            moto.release_hold();
            return Err(format!("exited ({status}) before its write {k} was held: {err}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            moto.release_hold();
            return Err(format!("write {k} never came within 60 s: {state}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    moto.release_hold();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    Ok(held)
}
