//! Detaching: a small process per container that outlives `mydocker run -d`.
//!
//! A container's first process must have a parent that waits for it: only
//! the parent learns its exit code, and only after that wait may the
//! cgroup be removed and the address given back. `mydocker run -d` returns
//! at once, so that parent must be another process. Docker has
//! containerd-shim in this role, podman has conmon; ours is a `fork` of
//! `mydocker` itself:
//!
//! ```text
//! mydocker run -d ...                    (the foreground)
//!   ├─ pipe, fork ───────────────────────> supervisor: setsid, stdio → /dev/null
//!   │                                      builds the container (chapters 1 to 5)
//!   │                                      ├─ clone ──> container (PID 1 inside)
//!   │  <── "started <id>" or the error ────┤
//!   prints the id, exits 0                 waits for the container
//!                                          records exit code and time
//!                                          cleans up (cgroup, network), --rm
//!                                          exits
//! ```
//!
//! The fork happens before any thread exists (clone and setns need that,
//! design.md), and the foreground learns the outcome through a pipe, as
//! chapter 1's child reports a failed exec: a byte for the exit code, then
//! the text.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, fork, pipe2, setsid};

use ch01_namespaces::exit::{MYDOCKER_ERROR, StartError};

use crate::hooks::dev_null;

/// The supervisor's end of the pipe to the waiting foreground.
pub struct Reporter {
    pipe: Option<OwnedFd>,
}

impl Reporter {
    /// A reporter that reports to nobody (a container in the foreground).
    pub fn none() -> Reporter {
        Reporter { pipe: None }
    }

    /// True when a foreground process waits for this report.
    pub fn is_detached(&self) -> bool {
        self.pipe.is_some()
    }

    /// Tells the foreground the container runs; it prints `id` and exits 0.
    pub fn started(&mut self, id: &str) {
        let mut msg = vec![0u8];
        msg.extend_from_slice(id.as_bytes());
        self.send(&msg);
    }

    /// Tells the foreground that the start failed, with Docker's exit code.
    pub fn failed(&mut self, err: &anyhow::Error) {
        let code = err
            .downcast_ref::<StartError>()
            .map_or(MYDOCKER_ERROR, |e| e.code);
        let mut msg = vec![code.max(1)];
        msg.extend_from_slice(format!("{err:#}").replace('\n', " ").as_bytes());
        self.send(&msg);
    }

    fn send(&mut self, msg: &[u8]) {
        if let Some(pipe) = self.pipe.take() {
            // The foreground may be gone (killed): nobody to tell, carry on.
            let _ = nix::unistd::write(pipe.as_fd(), msg);
        }
    }
}

// ANCHOR: detach
/// Forks a supervisor that runs `work` and returns (in the foreground) the
/// id it reports, or the start error with its exit code. The supervisor
/// never returns from here: it exits when `work` is done.
pub fn detach(work: impl FnOnce(&mut Reporter) -> Result<i32>) -> Result<String> {
    let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC).context("pipe2 for the supervisor")?;
    // SAFETY: mydocker has no other thread yet, so the child inherits no
    // lock held by a thread that does not exist in it.
    match unsafe { fork() }.context("fork the supervisor")? {
        ForkResult::Parent { .. } => {
            drop(report_w);
            let mut msg = Vec::new();
            std::fs::File::from(report_r)
                .read_to_end(&mut msg)
                .context("read the supervisor's report")?;
            match msg.split_first() {
                Some((0, id)) => Ok(String::from_utf8_lossy(id).into_owned()),
                Some((code, text)) => Err(StartError {
                    code: *code,
                    message: String::from_utf8_lossy(text).into_owned(),
                }
                .into()),
                None => bail!("the supervisor exited before the container started"),
            }
        }
        ForkResult::Child => {
            drop(report_r);
            let mut reporter = Reporter {
                pipe: Some(report_w),
            };
            let code = match become_supervisor().and_then(|()| work(&mut reporter)) {
                Ok(code) => code,
                Err(err) => {
                    reporter.failed(&err);
                    eprintln!("mydocker supervisor: {err:#}");
                    MYDOCKER_ERROR as i32
                }
            };
            std::process::exit(code)
        }
    }
}
// ANCHOR_END: detach

/// A session of its own (no terminal can send it SIGHUP, no Ctrl-C meant
/// for the shell reaches it), and no descriptor of the terminal or of a
/// pipe the caller waits on: `$(mydocker run -d ...)` must return.
fn become_supervisor() -> Result<()> {
    setsid().context("setsid for the supervisor")?;
    let null = dev_null()?;
    nix::unistd::dup2_stdin(&null).context("dup2 /dev/null onto stdin")?;
    nix::unistd::dup2_stdout(&null).context("dup2 /dev/null onto stdout")?;
    nix::unistd::dup2_stderr(&null).context("dup2 /dev/null onto stderr")?;
    Ok(())
}

// ANCHOR: shed
/// Lets go of the pages of mapped files (our code, libc's) that setting up
/// the container touched. They count in the supervisor's resident size
/// while it waits, possibly for weeks, though it will run little of that
/// code again; the page cache keeps them, so a page needed later is mapped
/// back from memory, not read from disk.
///
/// Only mappings that were never written are dropped (no write permission
/// and no anonymous, copied-on-write page in them): for those, the file
/// *is* the content, and `MADV_DONTNEED` only removes our page-table
/// entries. Returns how many KiB were dropped.
pub fn shed_file_pages() -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut dropped = 0;
    let mut current: Option<(usize, usize, u64)> = None;
    let mut flush = |m: Option<(usize, usize, u64)>| {
        if let Some((start, end, rss)) = m {
            let rc = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
            };
            if rc == 0 {
                dropped += rss;
            }
        }
    };
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            flush(current.take());
            let perms = words.next().unwrap_or_default();
            let path = line.split_whitespace().nth(5).unwrap_or_default();
            let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) else {
                continue;
            };
            // A private, never-writable mapping of a real file.
            if perms.ends_with('p') && !perms.contains('w') && path.starts_with('/') {
                current = Some((start, end, 0));
            }
        } else if let Some(m) = current.as_mut() {
            let value = words
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            match first {
                "Rss:" => m.2 = value,
                // A copy-on-write page (relocations): the file is not the content.
                "Anonymous:" if value > 0 => current = None,
                _ => {}
            }
        }
    }
    flush(current.take());
    dropped
}
// ANCHOR_END: shed
