//! The small API both drivers implement, and the file operations they share.
//!
//! Whatever the version, a cgroup is a directory and everything is done with
//! plain file operations: `mkdir` creates a cgroup, writing a file sets a
//! limit (the kernel checks the value and may refuse it with an error),
//! writing a pid into `cgroup.procs` moves that process in, and `rmdir`
//! removes the cgroup once no process is left in it.
//!
//! Moving a process *by its pid* is slow, though: the kernel blocks every
//! fork and exit on the machine while it moves a whole thread group, and
//! taking that lock waits for an RCU grace period (milliseconds: the
//! performance page measures it). A
//! thread that moves *itself* by writing `0` into a v1 `tasks` file needs no
//! such lock ([`SelfJoin`]), so chapter 2's hook lets the container's single
//! thread move itself in, before `exec`.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::detect::{Host, Setup};
use crate::devices::Rule;
use crate::limits::Limits;
use crate::v1::V1;
use crate::v2::V2;

// ANCHOR: driver
/// One container's cgroup, in either version. Every path it touches lies
/// under the mount points it was built with, so tests can give it a
/// temporary directory instead of `/sys/fs/cgroup`.
pub trait Driver: Send + Sync {
    /// Creates `<parent>/<id>` (and the parent, when it is missing).
    fn create(&self) -> Result<()>;
    /// Writes every limit into the new cgroup's files.
    fn apply(&self, limits: &Limits) -> Result<()>;
    /// Lets the cgroup's processes open only the devices `rules` allow.
    fn allow_devices(&self, rules: &[Rule]) -> Result<()>;
    /// Moves a process (and its future children) into the cgroup.
    fn join(&self, pid: Pid) -> Result<()>;
    /// Opens the files through which a single-threaded process can later
    /// move itself in quickly ([`SelfJoin`]), or `None` when this version
    /// has no such way (v2: a thread may only move alone inside a threaded
    /// subtree) and the process must be joined by pid.
    fn self_join(&self) -> Result<Option<SelfJoin>> {
        Ok(None)
    }
    /// Kills every process still in the cgroup and waits until none is left
    /// (a frozen cgroup is thawed first: its tasks could not die otherwise).
    fn kill(&self) -> Result<()>;
    /// Freezes every process in the cgroup (`pause`) and returns once the
    /// kernel says all of them are frozen ([`crate::freezer`]).
    fn freeze(&self) -> Result<()>;
    /// Thaws the cgroup (`unpause`): its processes run on where they stopped.
    fn thaw(&self) -> Result<()>;
    /// True while the cgroup is frozen (or freezing).
    fn frozen(&self) -> Result<bool>;
    /// Removes the cgroup, and its parent if no other container uses it.
    fn remove(&self) -> Result<()>;
    /// The cgroup's directory for `controller` (`"memory"`, `"cpu"`, ...).
    fn path_for(&self, controller: &str) -> Option<PathBuf>;
    /// Every directory of the cgroup: one per v1 hierarchy, or just one.
    fn paths(&self) -> Vec<PathBuf>;
    /// How many times the kernel's OOM killer has killed a process in the
    /// cgroup; `None` without a memory controller (or on a kernel too old
    /// to count).
    fn oom_kills(&self) -> Result<Option<u64>>;
}
// ANCHOR_END: driver

// ANCHOR: self_join
/// Open `tasks` files of a v1 cgroup, one per hierarchy, through which the
/// calling thread moves itself in.
///
/// Writing a pid into `cgroup.procs` makes the kernel take a machine-wide
/// lock (`cgroup_threadgroup_rwsem`) that first waits for an RCU grace
/// period, which can take longer than everything else a container start
/// does (the performance page has the numbers). Writing `0` into `tasks`
/// means "the calling thread", and the kernel skips that lock for it: the
/// thread cannot exit or exec while it is busy writing. For a process with
/// one thread (the container's child before `exec`, `mydocker exec` before
/// it forks) moving that thread is moving the process, and its children
/// inherit the cgroup.
///
/// The files are opened by the parent, before `clone`, so the child
/// inherits the descriptors and needs no path: it may already be inside
/// its new root filesystem, where `/sys/fs/cgroup` is not the host's.
#[derive(Debug)]
pub struct SelfJoin {
    files: Vec<(PathBuf, File)>,
}

impl SelfJoin {
    /// Opens `<dir>/tasks` in each of `dirs` for writing (created, as
    /// [`write()`] does, only in a test's temporary tree: the kernel puts it in
    /// every v1 cgroup).
    pub fn open(dirs: &[PathBuf]) -> Result<SelfJoin> {
        SelfJoin::open_file(dirs, "tasks")
    }

    /// Opens `<dir>/<name>` in each of `dirs`: `tasks` moves the writing
    /// thread, `cgroup.procs` (v1 or v2) the writing process with all its
    /// threads, through the slower lock.
    pub fn open_file(dirs: &[PathBuf], name: &str) -> Result<SelfJoin> {
        let files = dirs
            .iter()
            .map(|dir| {
                let path = dir.join(name);
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .map(|f| (path.clone(), f))
                    .map_err(|e| io_error(format!("open {}", path.display()), e))
            })
            .collect::<Result<_>>()?;
        Ok(SelfJoin { files })
    }

    /// Moves the calling thread into every cgroup: the whole process, when
    /// it has only this thread.
    pub fn join(&self) -> Result<()> {
        for (path, file) in &self.files {
            (&*file)
                .write_all(b"0")
                .map_err(|e| io_error(format!("write \"0\" to {}", path.display()), e))?;
        }
        Ok(())
    }
}

/// True when the calling process has exactly one thread.
pub fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}
// ANCHOR_END: self_join

// ANCHOR: for_container
/// The driver for this host's setup, for the cgroup `<parent>/<id>`.
pub fn for_container(host: &Host, parent: &str, id: &str) -> Result<Box<dyn Driver>> {
    Ok(match (host.setup()?, &host.unified) {
        (Setup::V1 | Setup::Hybrid, _) => Box::new(V1::new(&host.v1, parent, id)),
        (Setup::V2, Some(root)) => Box::new(V2::new(root, parent, id)),
        (Setup::V2, None) => unreachable!("a v2 setup has a unified mount"),
    })
}
// ANCHOR_END: for_container

/// An I/O error as one lower-case line: `mkdir /x: permission denied`.
pub(crate) fn io_error(action: String, err: std::io::Error) -> anyhow::Error {
    // std says "Permission denied (os error 13)": keep strerror's words only.
    let text = err.to_string();
    let reason = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    anyhow!("{action}: {reason}")
}

// ANCHOR: write
/// Writes `value` into the cgroup file `dir/file`. This is where the kernel
/// checks a limit: a value it does not accept fails the `write(2)`, and the
/// error names the file.
pub fn write(dir: &Path, file: &str, value: impl Display) -> Result<()> {
    let path = dir.join(file);
    let value = value.to_string();
    std::fs::write(&path, &value)
        .map_err(|e| io_error(format!("write {value:?} to {}", path.display()), e))
}
// ANCHOR_END: write

/// Reads the cgroup file `dir/file`, without its final newline.
pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim_end().to_string()),
        Err(e) => Err(io_error(format!("read {}", path.display()), e)),
    }
}

// ANCHOR: oom_kills
/// The `oom_kill` count in the keyed file `dir/file` (v2 `memory.events`,
/// v1 `memory.oom_control`): one `key value` pair per line. The count is
/// the only trace an OOM kill leaves: the process just dies of SIGKILL,
/// as it would from `kill -9`. `None` if the file or the key is missing.
pub fn oom_kills(dir: &Path, file: &str) -> Result<Option<u64>> {
    let path = dir.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(format!("read {}", path.display()), e)),
    };
    let count = text.lines().find_map(|line| line.strip_prefix("oom_kill "));
    match count {
        Some(n) => n
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow!("{}: oom_kill {n:?} is not a count", path.display())),
        None => Ok(None),
    }
}
// ANCHOR_END: oom_kills

/// The pids listed in `dir/cgroup.procs`; none if the cgroup is gone.
pub fn procs(dir: &Path) -> Result<Vec<Pid>> {
    match std::fs::read_to_string(dir.join("cgroup.procs")) {
        Ok(text) => Ok(text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .map(Pid::from_raw)
            .collect()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error(format!("read {}/cgroup.procs", dir.display()), e)),
    }
}

// ANCHOR: make_cgroup
/// Creates `<hierarchy>/<parent>/<id>`, calling `ready` on the parent before
/// the container's directory is made in it.
///
/// The parent is shared: other containers live in it, and the last one to
/// stop removes it. If that happens between our two `mkdir`s, the second
/// fails with "no such file or directory", and we simply start over.
pub fn make_cgroup(
    hierarchy: &Path,
    parent: &str,
    id: &str,
    ready: impl Fn(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let parent_dir = hierarchy.join(parent);
    let dir = parent_dir.join(id);
    for _ in 0..10 {
        match std::fs::create_dir(&parent_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(format!("mkdir {}", parent_dir.display()), e)),
        }
        if let Err(err) = ready(&parent_dir) {
            if parent_dir.exists() {
                return Err(err);
            }
            continue;
        }
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(format!("mkdir {}", dir.display()), e)),
        }
    }
    bail!("mkdir {}: its parent keeps disappearing", dir.display())
}
// ANCHOR_END: make_cgroup

// ANCHOR: kill_procs
/// Sends SIGKILL to every process in the cgroups `dirs` until they are
/// empty. Reading `cgroup.procs` and killing are two steps, so a process may
/// fork in between: we read again until nothing is left.
pub fn kill_procs(dirs: &[PathBuf]) -> Result<()> {
    for _ in 0..500 {
        let mut pids = BTreeSet::new();
        for dir in dirs {
            pids.extend(procs(dir)?);
        }
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            // ESRCH only means it is already gone.
            let _ = kill(pid, Signal::SIGKILL);
        }
        sleep(Duration::from_millis(10));
    }
    bail!("processes in {} survive SIGKILL", dirs[0].display())
}
// ANCHOR_END: kill_procs

// ANCHOR: remove_cgroup
/// Removes the cgroup `dir`, then its parent if that became empty.
///
/// `rmdir` fails with EBUSY while a process is in the cgroup, and a killed
/// process needs a moment to exit (its memory is freed first), so we retry
/// for a while. The parent stays when another container is still in it.
pub fn remove_cgroup(dir: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::NotFound => break,
            Err(e) if e.raw_os_error() == Some(Errno::EBUSY as i32) && tries < 500 => {
                tries += 1;
                sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(io_error(format!("rmdir {}", dir.display()), e)),
        }
    }
    if let Some(parent) = dir.parent() {
        match std::fs::remove_dir(parent) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                    Errno::EBUSY | Errno::ENOTEMPTY | Errno::ENOENT
                ) => {}
            Err(e) => return Err(io_error(format!("rmdir {}", parent.display()), e)),
        }
    }
    Ok(())
}
// ANCHOR_END: remove_cgroup

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oom_count_is_read_from_either_versions_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("memory.events"),
            "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        )
        .unwrap();
        assert_eq!(oom_kills(dir.path(), "memory.events").unwrap(), Some(1));
        assert_eq!(
            oom_kills(dir.path(), "memory.oom_control").unwrap(),
            Some(3)
        );
        // No memory controller, or a kernel older than 4.13: no count.
        assert_eq!(oom_kills(dir.path(), "memory.stat").unwrap(), None);
        std::fs::write(dir.path().join("old"), "oom_kill_disable 0\nunder_oom 0\n").unwrap();
        assert_eq!(oom_kills(dir.path(), "old").unwrap(), None);
    }
}
