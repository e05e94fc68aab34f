//! Signals between the user, mydocker and the container.
//!
//! The container's first process is PID 1 of its namespace, and the kernel
//! protects a PID 1 the way it protects `init`: a signal whose action is the
//! default one is simply dropped. Only SIGKILL and SIGSTOP sent from an
//! ancestor namespace get through regardless. So when the user presses
//! Ctrl-C or `kill`s mydocker, we pass the signal on, and the container's
//! command decides: a shell with `trap ... TERM` runs its trap, while a plain
//! `sleep` never notices (this is why `docker stop` falls back to SIGKILL).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// The pid signals are forwarded to; 0 while there is none.
static TARGET: AtomicI32 = AtomicI32::new(0);

/// Set once a signal that asks a program to end (not SIGUSR1 or SIGUSR2)
/// has reached mydocker: chapter 6 then restarts no container.
static STOP_ASKED: AtomicBool = AtomicBool::new(false);

/// The signals a user sends to stop or poke a foreground program.
const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

extern "C" fn forward(sig: libc::c_int) {
    if ![libc::SIGUSR1, libc::SIGUSR2].contains(&sig) {
        STOP_ASKED.store(true, Ordering::SeqCst);
    }
    let pid = TARGET.load(Ordering::SeqCst);
    // Only kill(2) here: it is async-signal-safe. Never signal pid 0 (our group).
    if pid > 0 {
        unsafe { libc::kill(pid, sig) };
    }
}

// ANCHOR: forward
/// From now on, the signals in `FORWARDED` that reach mydocker go to `pid`.
pub fn forward_to(pid: Pid) -> Result<()> {
    TARGET.store(pid.as_raw(), Ordering::SeqCst);
    // No SA_RESTART: waitpid returns EINTR and we simply call it again.
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in FORWARDED {
        unsafe { sigaction(sig, &action) }.with_context(|| format!("sigaction for {sig}"))?;
    }
    Ok(())
}
// ANCHOR_END: forward

/// True once mydocker was sent SIGINT, SIGTERM, SIGHUP or SIGQUIT while it
/// forwarded signals (Ctrl-C, a `kill`): the user wants the container to
/// end, not to be restarted.
pub fn stop_asked() -> bool {
    STOP_ASKED.load(Ordering::SeqCst)
}

/// Stops forwarding: the target is gone and its pid may be reused.
pub fn stop_forwarding() {
    TARGET.store(0, Ordering::SeqCst);
}

/// Waits until `pid` has exited or was killed, retrying after signals.
pub fn reap(pid: Pid) -> Result<WaitStatus> {
    loop {
        match waitpid(pid, None) {
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(status),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(err) => return Err(err).with_context(|| format!("waitpid for {pid}")),
        }
    }
}

// ANCHOR: exit_code
/// Docker's exit code for how a process ended: its own code, or 128 plus the
/// number of the signal that killed it (137 for SIGKILL, 143 for SIGTERM).
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => 125,
    }
}
// ANCHOR_END: exit_code

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 32)), 32);
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            137
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            143
        );
    }
}
