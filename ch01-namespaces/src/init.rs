//! `run --init`: a tiny init as the container's PID 1.
//!
//! Without it the user's command is PID 1 of the new PID namespace, and two
//! jobs of an init fall to a program that never expected them:
//!
//! - **reaping.** A process whose parent dies is handed to PID 1, and when
//!   it exits it stays a zombie until PID 1 `wait`s for it. A web server
//!   that spawns helpers does not wait for strangers: the zombies pile up.
//! - **signals.** The kernel drops every signal sent to a namespace's PID 1
//!   for which it has no handler ([`crate::signals`]): `stop`'s SIGTERM
//!   does nothing to a plain `sleep`, and only SIGKILL ends it.
//!
//! With `--init` the child does not `exec` the command itself. It forks;
//! the new process (PID 2) execs the command, and PID 1 stays behind as
//! this loop:
//!
//! ```text
//! block the signals below and SIGCHLD (nothing is lost from now on)
//! fork ── child: own process group (the terminal's foreground, with -t),
//!   │            the old signal mask back, exec the command
//!   └── PID 1: sigwait
//!         SIGCHLD  reap every zombie (waitpid(-1, WNOHANG)); when the
//!                  command is one of them, exit with its code
//!                  (128+N if signal N killed it)
//!         other    kill(command, signal)
//! ```
//!
//! The init runs *confined*, as Docker's tini does: chapter 1's
//! [`crate::confine::Confine`] hook ran before we got here, so the seccomp
//! filter, the capability sets and no_new_privs are already the process's,
//! and the fork hands them to the command too. The init needs nothing they
//! forbid: `fork`, `wait4`, `kill` and `rt_sigtimedwait`.

use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, kill, signal, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, setpgid, tcsetpgrp};

use crate::exec::{self, Failure};
use crate::signals::exit_code;
use crate::spec::Spec;

// ANCHOR: forwarded
/// The signals the init passes on to the command: every one a process can
/// catch, except those the kernel raises for a fault of the init itself
/// (SIGSEGV, SIGBUS, ...), SIGCHLD (the init's own business) and the
/// terminal's SIGTTIN/SIGTTOU, which are about the init's own reads and
/// writes. tini, the init Docker ships, makes the same choice.
pub const FORWARDED: [Signal; 19] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGSTKFLT,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGURG,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGWINCH,
    Signal::SIGIO,
    Signal::SIGPWR,
];
// ANCHOR_END: forwarded

// ANCHOR: run
/// Becomes the init: forks the command and supervises it, never returning
/// in PID 1 (it exits with the command's code). Returns a [`Failure`] only
/// if the fork failed, or in the forked child if its `exec` failed: the
/// caller reports that through the error pipe as it would for a plain
/// `exec`. `close_in_init` are descriptors the command needs but the init
/// must not keep (the error pipe: mydocker waits for it to close).
pub fn run(spec: &Spec, close_in_init: &[RawFd]) -> Failure {
    let mut watched = SigSet::empty();
    for sig in FORWARDED {
        watched.add(sig);
    }
    watched.add(Signal::SIGCHLD);
    // Blocked before the fork: a signal arriving in between waits, pending,
    // for the sigwait below instead of being lost (or killing the init).
    let mut old = SigSet::empty();
    if let Err(err) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&watched), Some(&mut old)) {
        return failure(format!("sigprocmask for the init: {}", err.desc()));
    }
    // SAFETY: this process has one thread (the clone'd child), so the
    // forked copy may go on running Rust until it execs.
    match unsafe { fork() } {
        Err(err) => failure(format!("fork the command under --init: {}", err.desc())),
        Ok(ForkResult::Child) => become_command(spec, &old),
        Ok(ForkResult::Parent { child }) => {
            for fd in close_in_init {
                let _ = nix::unistd::close(*fd);
            }
            let code = supervise(child, &watched);
            unsafe { libc::_exit(code) }
        }
    }
}
// ANCHOR_END: run

/// In the forked child: a process group of its own (at the terminal's
/// foreground with `-t`, so that Ctrl-C reaches it and not the init), the
/// signal mask the container started with, then the command.
fn become_command(spec: &Spec, mask: &SigSet) -> Failure {
    if let Err(err) = setpgid(Pid::from_raw(0), Pid::from_raw(0)) {
        return failure(format!("setpgid for the command: {}", err.desc()));
    }
    if spec.tty {
        // A background group asking for the terminal gets SIGTTOU, which
        // stops it: ignored for the one call, then back to the default.
        unsafe {
            let _ = signal(Signal::SIGTTOU, SigHandler::SigIgn);
        }
        let stdin = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
        let given = tcsetpgrp(stdin, getpid());
        unsafe {
            let _ = signal(Signal::SIGTTOU, SigHandler::SigDfl);
        }
        if let Err(err) = given {
            return failure(format!("tcsetpgrp for the command: {}", err.desc()));
        }
    }
    if let Err(err) = sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None) {
        return failure(format!("sigprocmask for the command: {}", err.desc()));
    }
    exec::exec(spec)
}

// ANCHOR: supervise
/// PID 1's loop: forwards every watched signal to `command`, reaps every
/// child that exits, and returns Docker's exit code for the command once
/// it has exited. Other processes still running then die with the
/// namespace: the kernel kills them when its PID 1 exits.
fn supervise(command: Pid, watched: &SigSet) -> i32 {
    loop {
        let sig = match watched.wait() {
            Ok(sig) => sig,
            Err(_) => continue,
        };
        if sig != Signal::SIGCHLD {
            // ESRCH: the command is already gone; its SIGCHLD is pending.
            let _ = kill(command, sig);
            continue;
        }
        if let Some(code) = reap_all(command) {
            return code;
        }
    }
}

/// Reaps every child that has exited (one SIGCHLD may stand for several);
/// the command's exit code if it was one of them.
fn reap_all(command: Pid) -> Option<i32> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return code,
            Ok(status) if status.pid() == Some(command) => {
                if matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..)) {
                    code = Some(exit_code(status));
                }
            }
            Ok(_) | Err(Errno::EINTR) => {}
            // Nothing else can fail here; give up on this round.
            Err(_) => return code,
        }
    }
}
// ANCHOR_END: supervise

fn failure(message: String) -> Failure {
    Failure::new(125, anyhow::anyhow!(message))
}
