//! Process file descriptors: a handle on one process that a recycled pid
//! cannot fool.
//!
//! A pid is only a number, and the kernel hands it out again once the
//! process is gone and reaped. `stop`, `rm -f` and `exec` run long after
//! `run` recorded the pid, so "signal pid 4242" might hit a stranger. A
//! pidfd (`pidfd_open(2)`, Linux 5.3) refers to the process itself: opened
//! once and checked against the recorded start time, every later signal
//! (`pidfd_send_signal(2)`) and `setns(2)` through it reaches that process
//! or fails with ESRCH. Polling it says when the process has exited.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;

use crate::containers::ProcessRef;

/// An open pidfd.
pub struct PidFd {
    fd: OwnedFd,
    pid: i32,
}

impl PidFd {
    // ANCHOR: open
    /// Opens `process`, or returns `None` if it is gone (or its pid now
    /// belongs to another process).
    pub fn open(process: ProcessRef) -> Result<Option<PidFd>> {
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, process.pid, 0) };
        if fd < 0 {
            return match Errno::last() {
                Errno::ESRCH => Ok(None),
                err => Err(err).map_err(|e| {
                    anyhow::anyhow!("pidfd_open {}: {}", process.pid, e.desc().to_lowercase())
                }),
            };
        }
        let pidfd = PidFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
            pid: process.pid,
        };
        // The pid was checked after the fd was opened: if it still has the
        // recorded start time now, the fd refers to the recorded process.
        if !process.is_alive() {
            return Ok(None);
        }
        Ok(Some(pidfd))
    }
    // ANCHOR_END: open

    /// The pid, as the host sees it.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The descriptor, for `setns(2)`.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Sends `signal`; false if the process has already exited.
    pub fn signal(&self, signal: Signal) -> Result<bool> {
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc < 0 {
            let err = Errno::last();
            if err == Errno::ESRCH {
                return Ok(false);
            }
            bail!(
                "pidfd_send_signal {signal} to {}: {}",
                self.pid,
                err.desc().to_lowercase()
            );
        }
        Ok(true)
    }

    /// Waits until the process has exited, at most `timeout` (`None`:
    /// forever). True if it has.
    pub fn wait_exit(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let ms = d.saturating_duration_since(Instant::now()).as_millis();
                    PollTimeout::try_from(ms.min(i32::MAX as u128) as i32)
                        .unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, left) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(e) => bail!(
                    "poll the pidfd of {}: {}",
                    self.pid,
                    e.desc().to_lowercase()
                ),
            }
        }
    }
}

/// Waits (at most `timeout`) until `process` no longer exists, polling: for
/// processes we may not open a pidfd on in time, such as one that is
/// exiting. True if it is gone.
pub fn wait_gone(process: ProcessRef, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while process.is_alive() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// SIGKILL through a pidfd (never a recycled pid), then wait for the exit.
pub fn kill_and_wait(process: ProcessRef) -> Result<()> {
    if let Some(pidfd) = PidFd::open(process)? {
        pidfd.signal(Signal::SIGKILL)?;
        if !pidfd.wait_exit(Some(Duration::from_secs(30)))? {
            bail!("container process {} survives SIGKILL", process.pid);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_and_exit_of_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let process = ProcessRef::of(child.id() as i32).unwrap();
        let pidfd = PidFd::open(process).unwrap().unwrap();
        assert!(!pidfd.wait_exit(Some(Duration::from_millis(50))).unwrap());
        assert!(pidfd.signal(Signal::SIGKILL).unwrap());
        assert!(pidfd.wait_exit(Some(Duration::from_secs(10))).unwrap());
        child.wait().unwrap();
        // Reaped: the pidfd fails cleanly, and a new open finds nothing.
        assert!(!pidfd.signal(Signal::SIGKILL).unwrap());
        assert!(PidFd::open(process).unwrap().is_none());
    }
}
