//! `stop`: ask politely, then insist.
//!
//! The container's command is PID 1 of its PID namespace, and the kernel
//! shields such a process the way it shields `init`: a signal sent from
//! inside whose action is the default one is dropped, and even from the
//! host only SIGKILL and SIGSTOP get through when there is no handler.
//! So SIGTERM stops a shell that `trap`s it, or a server that handles it,
//! at once, with the exit code it chooses; a plain `sleep` never notices,
//! and after the grace period SIGKILL ends it (exit code 137 = 128 + 9).

use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::signal::Signal;

use ch04_images::containers::{ContainerStore, ProcessRef, Record};
use ch04_images::pidfd::{PidFd, wait_gone};

/// Docker's grace period when neither `stop -t` nor `--stop-timeout` says.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// What `stop` sends and how long it waits for `record`'s container: its
/// `--stop-signal` and `--stop-timeout`, unless `stop -t` says otherwise.
pub fn settings(record: &Record, time: Option<u64>) -> Result<(Signal, Duration)> {
    let runtime = record.part::<crate::state::Runtime>()?;
    let signal = match runtime.as_ref().and_then(|r| r.stop_signal.as_deref()) {
        Some(name) => crate::control::parse_signal(name)?,
        None => Signal::SIGTERM,
    };
    let grace = time
        .or(runtime.and_then(|r| r.stop_timeout))
        .map_or(DEFAULT_GRACE, Duration::from_secs);
    Ok((signal, grace))
}

/// How long `stop` waits, beyond the grace period, for the supervisor to
/// record the exit and release what the container held.
const SUPERVISOR_PATIENCE: Duration = Duration::from_secs(10);

// ANCHOR: stop
/// Stops `record`'s container: SIGTERM, then SIGKILL after `grace`. Returns
/// once the exit is recorded (or nobody is left to record it).
///
/// It is a stop by the user: the record says so first, so that the
/// supervisor does not restart the container whatever its restart policy.
/// A container waiting to restart has no process: its supervisor sees the
/// flag, ends its wait and exits. And should the supervisor have restarted
/// it just before seeing the flag, the new process is stopped too: we go
/// on until the supervisor is gone.
pub fn stop(store: &ContainerStore, record: &Record, time: Option<u64>) -> Result<()> {
    let (signal, grace) = settings(record, time)?;
    let supervised = record.supervisor.is_some_and(|s| s.is_alive());
    if !supervised && record.live_process().is_none() {
        return Ok(()); // not running: nothing to do, as in Docker
    }
    if supervised {
        store.update(&record.id, |r| r.manually_stopped = true)?;
    }
    let deadline = Instant::now() + grace + SUPERVISOR_PATIENCE;
    loop {
        // Gone: removed meanwhile (`rm -f`), nothing left to stop.
        let Ok(current) = store.get_by_id(&record.id) else {
            return Ok(());
        };
        if let Some(process) = current.live_process() {
            // A paused container could not answer SIGTERM, nor die of SIGKILL.
            crate::pause::thaw(&current)?;
            terminate(process, signal, grace)?;
        }
        let Some(supervisor) = current.supervisor.filter(|s| s.is_alive()) else {
            return Ok(());
        };
        if Some(supervisor) == ProcessRef::me() || Instant::now() >= deadline {
            return Ok(());
        }
        // The supervisor exits right after recording; with --rm, after
        // removing the container.
        if wait_gone(supervisor, Duration::from_millis(200)) {
            return Ok(());
        }
    }
}

/// `signal` (SIGTERM, or the container's `--stop-signal`) to `process`,
/// SIGKILL if it is still there after `grace`.
fn terminate(process: ProcessRef, signal: Signal, grace: Duration) -> Result<()> {
    let Some(pidfd) = PidFd::open(process)? else {
        return Ok(());
    };
    pidfd.signal(signal)?;
    if !pidfd.wait_exit(Some(grace))? {
        pidfd.signal(Signal::SIGKILL)?;
        pidfd.wait_exit(None)?;
    }
    Ok(())
}
// ANCHOR_END: stop
