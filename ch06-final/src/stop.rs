//! `stop`: ask politely, then insist.
//!
//! The container's command is PID 1 of its PID namespace, and the kernel
//! shields such a process the way it shields `init`: a signal sent from
//! inside whose action is the default one is dropped, and even from the
//! host only SIGKILL and SIGSTOP get through when there is no handler.
//! So SIGTERM stops a shell that `trap`s it, or a server that handles it,
//! at once, with the exit code it chooses; a plain `sleep` never notices,
//! and after the grace period SIGKILL ends it (exit code 137 = 128 + 9).

use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::Signal;

use ch04_images::containers::Record;

use ch04_images::pidfd::{PidFd, wait_gone};

// ANCHOR: stop
/// Stops `record`'s container: SIGTERM, then SIGKILL after `grace`. Returns
/// once the exit is recorded (or nobody is left to record it).
pub fn stop(record: &Record, grace: Duration) -> Result<()> {
    let Some(process) = record.live_process() else {
        return Ok(()); // not running: nothing to do, as in Docker
    };
    let Some(pidfd) = PidFd::open(process)? else {
        return Ok(());
    };
    pidfd.signal(Signal::SIGTERM)?;
    if !pidfd.wait_exit(Some(grace))? {
        pidfd.signal(Signal::SIGKILL)?;
        pidfd.wait_exit(None)?;
    }
    wait_for_record(record);
    Ok(())
}
// ANCHOR_END: stop

/// Waits until the supervisor has recorded the exit and released what the
/// container held, so that `ps` right after `stop` says "Exited" and `rm`
/// finds nothing left to wait for.
fn wait_for_record(record: &Record) {
    if let Some(supervisor) = record.supervisor {
        if Some(supervisor) != ch04_images::containers::ProcessRef::me() {
            // The supervisor exits right after recording; with --rm, after
            // removing the container.
            wait_gone(supervisor, Duration::from_secs(10));
        }
    }
}
