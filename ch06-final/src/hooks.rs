//! Chapter 6's steps in a container's life.
//!
//! | hook            | moment  | what it does                                             |
//! |-----------------|---------|----------------------------------------------------------|
//! | [`ParentDeath`] | enter   | the container dies with the process that reaps it        |
//! | [`Supervision`] | prepare | opens the log and the pipes to it                        |
//! |                 | enter   | points the container's stdout and stderr at the pipes    |
//! |                 | attach  | starts the log copier                                    |
//! |                 | cleanup | ends the copier once the last bytes are logged           |
//! |                 | finish  | `--rm`: removes the container once it has ended          |
//! | [`Workdir`]     | enter   | creates a missing working directory, as Docker does      |
//! | [`ExistingLayer`] | prepare, enter | `start`: the overlay over the layer that is already there |

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::unistd::Pid;

use ch01_namespaces::lifecycle::{End, Hook, Stage};
use ch01_namespaces::spec::Spec;
use ch03_overlayfs::overlay::Overlay;
use ch04_images::containers::ContainerStore;

use crate::copier::{self, Copier, Source};
use crate::logfile::{self, LogWriter, Stream};
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
/// Sends the container's output to its log (and, in the foreground, to
/// mydocker's own stdout and stderr too); removes a `--rm` container once
/// it has ended.
///
/// Without `-t`, the container's stdout and stderr are two pipes, and the
/// [copier] reads them. With `-t`, the container's output is
/// its terminal, which chapter 1's relay copies to mydocker's stdout: that
/// stdout becomes a pipe to the copier for as long as the container runs.
/// Either way the copier sees each line as it is written, so the log keeps
/// the order of the lines of both streams and the time of each.
pub struct Supervision {
    root: PathBuf,
    store: ContainerStore,
    dir: PathBuf,
    runtime: Runtime,
    wiring: Option<Wiring>,
    copier: Option<Copier>,
    running: Option<copier::Running>,
}

/// How the container's output reaches the copier.
enum Wiring {
    /// Without a terminal: the write ends of the two pipes, which the child
    /// puts on its fd 1 and 2 (the parent closes its copies after `clone`).
    Pipes { stdout: OwnedFd, stderr: OwnedFd },
    /// With `-t`: mydocker's own stdout, put back on fd 1 once the
    /// container is gone (which closes the pipe the relay wrote to).
    Terminal { saved_stdout: OwnedFd },
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
            wiring: None,
            copier: None,
            running: None,
        }
    }
}

/// Opens `path` for appending, close-on-exec.
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

/// A close-on-exec copy of our own descriptor `fd` (0, 1 or 2).
fn dup_own(fd: i32) -> std::io::Result<OwnedFd> {
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fcntl just returned this new descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

fn pipe(what: &str) -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .with_context(|| format!("pipe2 for the container's {what}"))
}

impl Hook for Supervision {
    fn name(&self) -> &'static str {
        "supervision"
    }

    fn stage(&self) -> Stage {
        Stage::Output
    }

    /// Opens the log and the pipes; in the foreground, the copier shows
    /// the output on copies of our own stdout and stderr as well.
    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        let detached = self.runtime.detached;
        if detached {
            let own = open_log(&self.dir.join(SUPERVISOR_LOG))?;
            dup_onto(&own, 2, "supervisor.log onto the supervisor's stderr")?;
        }
        // A container of an earlier mydocker: its old logs first.
        let plain = [(STDOUT_LOG, Stream::Stdout), (STDERR_LOG, Stream::Stderr)];
        logfile::adopt_plain_files(&self.dir, &spec.id, plain)?;
        let log = LogWriter::open(&logfile::path(&self.dir, &spec.id))?;
        let tee = |fd, what: &str| -> Result<Option<OwnedFd>> {
            if detached {
                return Ok(None);
            }
            match dup_own(fd) {
                Ok(copy) => Ok(Some(copy)),
                // A closed stdout (`>&-`) shows nothing, as it would have directly.
                Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("dup {what}")),
            }
        };
        let (sources, wiring) = if spec.tty {
            let (read, write) = pipe("terminal")?;
            let source = Source::new(read, Stream::Stdout, tee(1, "stdout")?);
            let saved_stdout = dup_own(1).context("dup stdout")?;
            // Nothing can fail after this: cleanup finds the wiring and
            // puts our stdout back.
            dup_onto(&write, 1, "the log pipe onto stdout")?;
            (vec![source], Wiring::Terminal { saved_stdout })
        } else {
            let (out_r, out_w) = pipe("stdout")?;
            let (err_r, err_w) = pipe("stderr")?;
            let sources = vec![
                Source::new(out_r, Stream::Stdout, tee(1, "stdout")?),
                Source::new(err_r, Stream::Stderr, tee(2, "stderr")?),
            ];
            let wiring = Wiring::Pipes {
                stdout: out_w,
                stderr: err_w,
            };
            (sources, wiring)
        };
        self.wiring = Some(wiring);
        self.copier = Some(Copier::new(sources, log));
        Ok(())
    }

    /// In the child: the pipes become its stdout and stderr. (With `-t`,
    /// chapter 1 puts the terminal there after every hook.)
    fn enter(&self, _spec: &Spec) -> Result<()> {
        if let Some(Wiring::Pipes { stdout, stderr }) = &self.wiring {
            dup_onto(stdout, 1, "the stdout pipe onto stdout")?;
            dup_onto(stderr, 2, "the stderr pipe onto stderr")?;
        }
        Ok(())
    }

    /// After `clone`: only the child may hold the pipes' write ends, so
    /// that they end when it does; then the copier starts.
    fn attach(&mut self, _spec: &Spec, _pid: Pid) -> Result<()> {
        if let Some(Wiring::Pipes { .. }) = self.wiring {
            self.wiring = None;
        }
        if let Some(copier) = self.copier.take() {
            self.running = Some(copier.spawn()?);
        }
        Ok(())
    }

    /// The container is gone: our stdout back (with `-t`), and the copier
    /// ends once it has logged the last bytes.
    fn cleanup(&mut self, _spec: &Spec) -> Result<()> {
        let restored = match self.wiring.take() {
            Some(Wiring::Terminal { saved_stdout }) => {
                dup_onto(&saved_stdout, 1, "the saved stdout back onto stdout")
            }
            _ => Ok(()),
        };
        self.copier = None;
        let finished = match self.running.take() {
            Some(running) => running.finish(),
            None => Ok(()),
        };
        restored.and(finished)
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
