//! Chapter 6's steps in a container's life.
//!
//! | hook            | moment  | what it does                                             |
//! |-----------------|---------|----------------------------------------------------------|
//! | [`ParentDeath`] | enter   | the container dies with the process that reaps it        |
//! | [`Supervision`] | prepare | opens the logs of a detached one                         |
//! |                 | enter   | points the container's stdout and stderr at the logs     |
//! |                 | finish  | `--rm`: removes the container once it has ended          |
//! | [`Workdir`]     | enter   | creates a missing working directory, as Docker does      |
//! | [`ExistingLayer`] | prepare, enter | `start`: the overlay over the layer that is already there |

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use ch01_namespaces::lifecycle::{End, Hook, Stage};
use ch01_namespaces::spec::Spec;
use ch03_overlayfs::overlay::Overlay;
use ch04_images::containers::ContainerStore;

use crate::state::{Runtime, STDERR_LOG, STDOUT_LOG, SUPERVISOR_LOG};
use ch04_images::containers::ProcessRef;

// ANCHOR: parent_death
/// Ties the container's life to the process that reaps it (the supervisor,
/// or `mydocker run` in the foreground).
///
/// Without it, a `kill -9` of that process would leave the container
/// running with nobody to wait for it: its exit would never be recorded
/// and its cgroup, addresses and rules never released. With
/// `PR_SET_PDEATHSIG` the kernel sends the container SIGKILL the moment its
/// parent dies, and `ps` shows it as exited; `rm` then releases the rest
/// from the records on disk.
pub struct ParentDeath {
    parent: Option<ProcessRef>,
}

impl ParentDeath {
    /// For a container started by this process.
    pub fn new() -> ParentDeath {
        ParentDeath {
            parent: ProcessRef::me(),
        }
    }
}

impl Default for ParentDeath {
    fn default() -> Self {
        ParentDeath::new()
    }
}

impl Hook for ParentDeath {
    fn name(&self) -> &'static str {
        "parent death signal"
    }

    fn stage(&self) -> Stage {
        Stage::Parent
    }

    /// The first `enter`: /proc is still the host's, so the parent's pid
    /// means what it says.
    fn enter(&self, _spec: &Spec) -> Result<()> {
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error()).context("prctl PR_SET_PDEATHSIG");
        }
        // The parent may have died just before the prctl: then no signal
        // will ever come, and we must not run.
        if let Some(parent) = self.parent {
            if !parent.is_alive() {
                bail!("the process that started the container is gone");
            }
        }
        Ok(())
    }
}
// ANCHOR_END: parent_death

// ANCHOR: supervision
/// For a detached container, sends its output to two log files in its
/// directory; removes a `--rm` container once it has ended.
///
/// The container writes the logs itself: its stdout *is* `stdout.log`. No
/// process copies bytes in between, so the supervisor stays small, nothing
/// is lost if it dies, and `logs` can read while the container writes.
/// The price: stdout and stderr are two files, and how their lines
/// interleaved in time is not kept.
pub struct Supervision {
    root: PathBuf,
    store: ContainerStore,
    dir: PathBuf,
    runtime: Runtime,
    stderr: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
}

impl Supervision {
    /// For the container whose directory in `store` (under data root
    /// `root`) is `dir`, described by `runtime`.
    pub fn new(root: &Path, store: ContainerStore, dir: PathBuf, runtime: Runtime) -> Supervision {
        Supervision {
            root: root.to_path_buf(),
            store,
            dir,
            runtime,
            stderr: None,
            stdout: None,
        }
    }
}

/// Opens `path` for appending, close-on-exec (only the copies `dup2`
/// makes onto 1 and 2 survive `exec`).
fn open_log(path: &Path) -> Result<OwnedFd> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    Ok(OwnedFd::from(file))
}

fn dup_onto(fd: &OwnedFd, target: i32, what: &str) -> Result<()> {
    if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("dup2 {what}"));
    }
    Ok(())
}

impl Hook for Supervision {
    fn name(&self) -> &'static str {
        "supervision"
    }

    fn stage(&self) -> Stage {
        Stage::Output
    }

    fn prepare(&mut self, _spec: &mut Spec) -> Result<()> {
        if !self.runtime.detached {
            return Ok(());
        }
        let stdout = open_log(&self.dir.join(STDOUT_LOG))?;
        let stderr = open_log(&self.dir.join(STDERR_LOG))?;
        // The supervisor's own stdout is the log too: with -t, the terminal
        // relay writes what the container's terminal shows there.
        dup_onto(&stdout, 1, "stdout.log onto the supervisor's stdout")?;
        let own = open_log(&self.dir.join(SUPERVISOR_LOG))?;
        dup_onto(&own, 2, "supervisor.log onto the supervisor's stderr")?;
        self.stdout = Some(stdout);
        self.stderr = Some(stderr);
        Ok(())
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        // With a terminal, stdout and stderr are the terminal (chapter 1).
        if spec.tty {
            return Ok(());
        }
        if let (Some(out), Some(err)) = (&self.stdout, &self.stderr) {
            dup_onto(out, 1, "stdout.log onto stdout")?;
            dup_onto(err, 2, "stderr.log onto stderr")?;
        }
        Ok(())
    }

    /// `--rm`: the container goes now; the record of its exit, written
    /// after this (chapter 4's registration finishes last), would be
    /// deleted a moment later. If every hook cleaned up, its cgroup and
    /// network are gone already; otherwise `rm -f`'s full release runs. If
    /// the removal fails, the container stays, and its record says how it
    /// ended.
    fn finish(&mut self, spec: &Spec, end: &End) -> Result<()> {
        if !self.runtime.auto_remove || !self.dir.exists() {
            return Ok(());
        }
        let removal = ch05_network::removal(&self.root, self.store.clone());
        match end.ran && end.cleaned_up {
            true => removal.remove_released(&spec.id),
            false => removal.remove(&spec.id, true),
        }
        .map(drop)
    }
}
// ANCHOR_END: supervision

/// Creates the working directory inside the new root if it is missing
/// (`-w /srv/app` on an image without it), as Docker does. Goes after
/// `pivot_root`, so the path is the container's.
pub struct Workdir;

impl Hook for Workdir {
    fn name(&self) -> &'static str {
        "working directory"
    }

    fn stage(&self) -> Stage {
        Stage::Workdir
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        std::fs::create_dir_all(&spec.workdir)
            .with_context(|| format!("create the working directory {}", spec.workdir.display()))
    }
}

// ANCHOR: existing_layer
/// `start`: the overlay of a container that ran before, over the upper
/// layer it already has. Chapter 3's [`Overlay`] makes fresh directories in
/// `prepare` and refuses existing ones (two containers must never share a
/// layer); here the layer is the point, so this hook only checks it and
/// lets the overlay mount it.
pub struct ExistingLayer(pub Overlay);

impl Hook for ExistingLayer {
    fn name(&self) -> &'static str {
        "existing layer"
    }

    fn stage(&self) -> Stage {
        Stage::RootFs
    }

    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        self.0.options()?;
        let upper = self.0.upper();
        if !upper.is_dir() {
            bail!("the container's layer {} is missing", upper.display());
        }
        for dir in [self.0.work(), self.0.merged()] {
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        }
        if let Some(map) = &spec.userns {
            self.0.owned_by(map)?;
        }
        spec.rootfs = Some(self.0.merged());
        Ok(())
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        self.0.enter(spec)
    }
}
// ANCHOR_END: existing_layer

/// Opens `/dev/null` for reading and writing.
pub fn dev_null() -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .context("open /dev/null")
}
