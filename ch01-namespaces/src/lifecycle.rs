//! The life of a container as a fixed sequence of moments, and the [`Hook`]
//! trait through which every chapter adds its own steps to it.
//!
//! ```text
//! parent: prepare   (before clone)          every hook, in order
//! parent: clone     the child blocks on the release pipe
//! parent: attach    (child exists, waits)   every hook, in order
//! parent: release   one byte down the pipe
//! child:  enter     (before exec)           every hook, in order
//! child:  terminal  (with -t)               open it, send its master to the parent
//! child:  exec      the user's command replaces the child (with --init:
//!                   the child forks it and stays as PID 1, crate::init)
//! parent: wait      forward signals, reap, turn the status into a code
//! parent: cleanup   (always, in reverse)    every hook whose prepare ran
//! parent: finish    (always, in reverse)    every hook: how it ended (record it)
//! ```
//!
//! Every hook says at which [`Stage`] of that sequence it belongs, and the
//! container orders its hooks by stage, whatever order a chapter's binary
//! adds them in: a later chapter adds its step without knowing where the
//! earlier chapters' steps are, and a step cannot land in the wrong place.
//!
//! The child cannot report errors the usual way: it is a separate process
//! and, once `exec` succeeds, it is not even our program any more. So it gets
//! a second pipe, opened close-on-exec. If `enter` or `exec` fails the child
//! writes an exit code and a message into it; if `exec` succeeds the kernel
//! closes it and the parent reads end-of-file.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::pty::Winsize;
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};

use crate::exec::{self, Failure};
use crate::exit::StartError;
use crate::init;
use crate::namespaces;
use crate::signals;
use crate::spec::Spec;
use crate::tty;
use crate::userns;

// ANCHOR: stage
/// Where a hook belongs in a container's life. Hooks run in this order
/// (`prepare`, `attach`, `enter`), and are undone in the reverse one
/// (`cleanup`, `finish`). The stages are those of the whole book; a
/// chapter leaves empty the ones it does not know yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Chapter 4: the container's name and record, before anything exists,
    /// so that a name conflict stops the run first.
    Record,
    /// Chapter 6: the container dies with the process that reaps it (its
    /// `enter` must come first, while `/proc` is still the host's).
    Parent,
    /// Chapter 1: every mount private, before the child mounts anything.
    PrivateMounts,
    /// Chapter 1: the hostname of the new UTS namespace.
    Hostname,
    /// Chapter 2: the cgroup, joined before anything of the user's runs.
    Limits,
    /// Chapter 3: the overlay that becomes the root filesystem.
    RootFs,
    /// Chapter 6: where the container's output goes (the logs).
    Output,
    /// Chapter 3: bind mounts into the new root.
    Volumes,
    /// Chapter 5: the network, and its files bound into the new root.
    Network,
    /// Chapter 3: `pivot_root` into the new root, then `/sys` and `/dev`.
    PivotRoot,
    /// Chapter 3: the `--device` nodes, in the new `/dev`.
    Devices,
    /// Chapter 6: the working directory, inside the new root.
    Workdir,
    /// Chapter 1: `/proc` of the new PID namespace, last of all mounts.
    Proc,
    /// Chapter 3: the `--tmpfs` mounts, then `/` read-only (`--read-only`),
    /// once every mount point of the root is in place.
    ReadOnlyRoot,
    /// Chapter 1: masks, read-only paths and capabilities, last of all,
    /// once nothing needs root's full powers any more.
    Confine,
}
// ANCHOR_END: stage

/// How a container's run ended, as every hook's `finish` is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// True if the user's command ran (the `exec` succeeded).
    pub ran: bool,
    /// Docker's exit code: the command's, or 125, 126, 127 if it never ran.
    pub code: i32,
    /// True if every hook's `cleanup` succeeded (nothing is left to release).
    pub cleaned_up: bool,
}

// ANCHOR: hook
/// One chapter's contribution to a container's life.
///
/// Every method has an empty default, so a hook implements only the moments
/// it cares about. `cleanup` runs for every hook whose `prepare` was called,
/// even when that `prepare` failed half-way, so it must undo whatever exists
/// and quietly skip what does not.
pub trait Hook {
    /// A short name for messages, such as `"cgroups"`.
    fn name(&self) -> &'static str;

    /// Where in the container's life this hook belongs.
    fn stage(&self) -> Stage;

    /// In the parent, before the child exists: create what the child will
    /// need (a cgroup, an overlay mount, a network address).
    fn prepare(&mut self, _spec: &mut Spec) -> Result<()> {
        Ok(())
    }

    /// In the parent, after `clone`, while the child is still blocked: act on
    /// the child's pid (join it to a cgroup, move a veth into its namespace).
    fn attach(&mut self, _spec: &Spec, _pid: Pid) -> Result<()> {
        Ok(())
    }

    /// In the child, after release and before `exec`: change the child
    /// itself (hostname, mounts, root filesystem).
    fn enter(&self, _spec: &Spec) -> Result<()> {
        Ok(())
    }

    /// In the parent, after the container is gone (or failed to start):
    /// undo what `prepare` and `attach` created.
    fn cleanup(&mut self, _spec: &Spec) -> Result<()> {
        Ok(())
    }

    /// In the parent, last, after every `cleanup`: the run is over, and
    /// `end` says how it went (record the exit, remove a `--rm` container).
    /// Runs for every hook whose `prepare` was called, also when the start
    /// failed.
    fn finish(&mut self, _spec: &Spec, _end: &End) -> Result<()> {
        Ok(())
    }
}
// ANCHOR_END: hook

/// A container that has not started yet: a spec and the hooks that build it.
pub struct Container {
    spec: Spec,
    hooks: Vec<Box<dyn Hook>>,
    flags: CloneFlags,
}

/// A started container: its pid, and what is needed to wait for it and clean
/// up after it. Dropping it without [`Running::wait`] kills the container and
/// still cleans up and finishes, so an error in the caller cannot leak anything.
pub struct Running {
    spec: Spec,
    hooks: Vec<Box<dyn Hook>>,
    prepared: usize,
    pid: Option<Pid>,
    pty: Option<OwnedFd>,
    /// How many hooks `prepare` reached: the ones `finish` is owed.
    reached: usize,
    over: bool,
}

impl Container {
    /// A container for `spec` with no hooks yet and chapter 1's namespaces.
    pub fn new(spec: Spec) -> Container {
        Container {
            hooks: Vec::new(),
            flags: namespaces::clone_flags_for(&spec),
            spec,
        }
    }

    /// Adds a hook at its [`Stage`]: after every hook of the same or an
    /// earlier stage, before every hook of a later one.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Container {
        let at = self
            .hooks
            .iter()
            .position(|h| h.stage() > hook.stage())
            .unwrap_or(self.hooks.len());
        self.hooks.insert(at, Box::new(hook));
        self
    }

    /// The names of the hooks, in the order they run.
    pub fn hook_names(&self) -> Vec<&'static str> {
        self.hooks.iter().map(|h| h.name()).collect()
    }

    /// The whole life: [`Container::start`], then [`Running::wait`].
    /// Returns the container's exit code.
    pub fn run(self) -> Result<i32> {
        self.start()?.wait()
    }

    /// The spec as the hooks have left it so far.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    // ANCHOR: start
    /// Runs `prepare`, clones the child, runs `attach`, releases the child and
    /// waits until it has either exec'd the command or reported a failure.
    /// A failed start is undone at once: the child killed, every `cleanup`
    /// and `finish` run (told the code: 125, or the child's 126 or 127).
    pub fn start(self) -> Result<Running> {
        let Container { spec, hooks, flags } = self;
        let mut running = Running {
            spec,
            hooks,
            prepared: 0,
            pid: None,
            pty: None,
            reached: 0,
            over: false,
        };
        if let Err(err) = running.launch(flags) {
            let code = err
                .downcast_ref::<StartError>()
                .map_or(125, |e| i32::from(e.code));
            running.abandon(false, code);
            return Err(err);
        }
        Ok(running)
    }
    // ANCHOR_END: start
}

impl Running {
    // ANCHOR: launch
    /// The steps of [`Container::start`] that can fail half-way.
    fn launch(&mut self, flags: CloneFlags) -> Result<()> {
        let running = self;
        while running.prepared < running.hooks.len() {
            let hook = &mut running.hooks[running.prepared];
            running.prepared += 1;
            running.reached = running.prepared;
            hook.prepare(&mut running.spec)?;
        }

        // With -t, the child opens its terminal itself and sends the master
        // back through this socket (see the tty module for why).
        let terminal = match running.spec.tty {
            true => Some(tty::socket_pair()?),
            false => None,
        };
        let (release_r, release_w) =
            pipe2(OFlag::O_CLOEXEC).context("pipe2 for the release pipe")?;
        let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC).context("pipe2 for the error pipe")?;

        let child_fds = ChildFds {
            release: release_r.as_raw_fd(),
            release_w: release_w.as_raw_fd(),
            report: report_w.as_raw_fd(),
            report_r: report_r.as_raw_fd(),
            pty_socket: terminal.as_ref().map(|(_, child)| child.as_raw_fd()),
            pty_socket_parent: terminal.as_ref().map(|(parent, _)| parent.as_raw_fd()),
            pty_size: terminal.as_ref().and_then(|_| tty::user_window_size()),
        };
        let pid = clone_child(&running.spec, &running.hooks, flags, child_fds)?;
        running.pid = Some(pid);
        // The child's first act is to become root of its user namespace,
        // which needs its maps: they are written before anything else.
        if let Some(map) = &running.spec.userns {
            userns::write_maps(pid, map)?;
        }
        // From here on, Ctrl-C or a `kill` of mydocker is meant for the container.
        signals::forward_to(pid)?;
        drop(release_r);
        drop(report_w);
        // Only the child may hold its end now: if it dies, we read end-of-file.
        let terminal = terminal.map(|(parent, _child)| parent);

        for hook in running.hooks.iter_mut() {
            hook.attach(&running.spec, pid)?;
        }

        nix::unistd::write(&release_w, &[1]).context("release the child through its pipe")?;
        drop(release_w);

        // The child sends the master just before exec; if it fails first, it
        // exits, its end of the socket closes, and the error pipe says why.
        let master = match &terminal {
            Some(socket) => tty::receive_master(socket)?,
            None => None,
        };
        if let Some(failure) = read_failure(report_r)? {
            return Err(StartError {
                code: failure.code,
                message: failure.message,
            }
            .into());
        }
        if terminal.is_some() && master.is_none() {
            bail!("the container exited before sending its terminal");
        }
        running.pty = master;
        Ok(())
    }
    // ANCHOR_END: launch

    /// The container's first process, as the host sees it.
    pub fn pid(&self) -> Pid {
        self.pid.expect("a running container has a pid")
    }

    /// The spec the container was started with.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    // ANCHOR: wait
    /// Relays the terminal (with `-t`) while signals are forwarded to the
    /// container, reaps it, cleans up, finishes, and returns Docker's exit
    /// code for how it ended. If a `cleanup` failed, the hooks are told 125:
    /// something of the container may be left, and mydocker failed.
    pub fn wait(mut self) -> Result<i32> {
        let pid = self.pid();
        if let Some(master) = self.pty.take() {
            tty::relay(master, self.spec.interactive)?;
        }
        let status = signals::reap(pid)?;
        signals::stop_forwarding();
        self.pid = None;
        let code = signals::exit_code(status);
        let cleaned = self.cleanup();
        let end = End {
            ran: true,
            code: if cleaned.is_ok() { code } else { 125 },
            cleaned_up: cleaned.is_ok(),
        };
        let finished = self.finish(&end);
        cleaned.and(finished)?;
        Ok(code)
    }
    // ANCHOR_END: wait

    /// Ends a run that will not be waited for: kills the child if there is
    /// one, then cleans up and finishes, warning about what fails (the
    /// caller is already returning an error of its own).
    fn abandon(&mut self, ran: bool, code: i32) {
        self.over = true;
        signals::stop_forwarding();
        let mut code = code;
        if let Some(pid) = self.pid.take() {
            // SIGKILL cannot be ignored, not even by a namespace's PID 1.
            let _ = kill(pid, Signal::SIGKILL);
            if let Ok(status) = signals::reap(pid) {
                if ran {
                    code = signals::exit_code(status);
                }
            }
        }
        let cleaned = self.cleanup();
        if let Err(err) = &cleaned {
            eprintln!("warning: {err:#}");
        }
        let end = End {
            ran,
            code,
            cleaned_up: cleaned.is_ok(),
        };
        if let Err(err) = self.finish(&end) {
            eprintln!("warning: {err:#}");
        }
    }

    /// Runs `finish` of every prepared hook in reverse order, each one even
    /// if an earlier one fails; the first error is returned.
    fn finish(&mut self, end: &End) -> Result<()> {
        self.over = true;
        let mut first_error = None;
        for hook in self.hooks[..self.reached].iter_mut().rev() {
            if let Err(err) = hook.finish(&self.spec, end) {
                first_error.get_or_insert(err.context(format!("finish {}", hook.name())));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs `cleanup` of every prepared hook in reverse order. Every hook gets
    /// its turn even if an earlier one fails; the first error is returned.
    fn cleanup(&mut self) -> Result<()> {
        let mut first_error = None;
        while self.prepared > 0 {
            self.prepared -= 1;
            if let Err(err) = self.hooks[self.prepared].cleanup(&self.spec) {
                let err = err.context(format!("clean up {}", self.hooks[self.prepared].name()));
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.over {
            self.abandon(true, 137);
        }
    }
}

/// The raw descriptors the child needs (it closes the parent's ends), and
/// the size for its terminal.
#[derive(Clone, Copy)]
struct ChildFds {
    release: RawFd,
    release_w: RawFd,
    report: RawFd,
    report_r: RawFd,
    pty_socket: Option<RawFd>,
    pty_socket_parent: Option<RawFd>,
    pty_size: Option<Winsize>,
}

// ANCHOR: clone
/// Clones the child into new namespaces. The child closes the parent's pipe
/// ends, waits for the release byte, runs every hook's `enter`, and execs.
fn clone_child(
    spec: &Spec,
    hooks: &[Box<dyn Hook>],
    flags: CloneFlags,
    fds: ChildFds,
) -> Result<Pid> {
    // The child runs on this stack until exec. Its pages are only touched
    // (and so only allocated) as the child uses them.
    let mut stack = vec![0u8; 8 << 20];
    let child = Box::new(move || {
        let _ = nix::unistd::close(fds.release_w);
        let _ = nix::unistd::close(fds.report_r);
        if let Some(parent) = fds.pty_socket_parent {
            let _ = nix::unistd::close(parent);
        }
        let failure = match wait_for_release(fds.release) {
            // The parent went away before releasing us: vanish quietly.
            Err(_) => unsafe { libc::_exit(125) },
            Ok(()) => become_container(spec, hooks, fds),
        };
        report_failure(fds.report, &failure);
        unsafe { libc::_exit(failure.code as i32) }
    });
    // SIGCHLD as the exit signal makes the child an ordinary child for waitpid.
    // SAFETY: the parent is single-threaded here, and the child only execs or exits.
    let pid = unsafe { nix::sched::clone(child, &mut stack, flags, Some(libc::SIGCHLD)) };
    pid.context("clone with new namespaces (are you root?)")
}
// ANCHOR_END: clone

/// Blocks until the parent writes the release byte.
fn wait_for_release(fd: RawFd) -> Result<(), Errno> {
    let mut byte = [0u8; 1];
    loop {
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        match nix::unistd::read(fd, &mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(Errno::EPIPE),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// In the child: every hook's `enter`, the terminal (last, so that it comes
/// from the container's own `/dev/ptmx`), then `exec`. Returns only on failure.
fn become_container(spec: &Spec, hooks: &[Box<dyn Hook>], fds: ChildFds) -> Failure {
    // Before every hook: a new set of ids would reset what they set (the
    // parent-death signal of chapter 6, for one).
    if spec.userns.is_some() {
        if let Err(err) = userns::become_root() {
            return Failure::new(125, err);
        }
    }
    for hook in hooks {
        if let Err(err) = hook.enter(spec) {
            return Failure::new(125, err);
        }
    }
    if let Some(socket) = fds.pty_socket {
        if let Err(err) = tty::open_in_container(socket, fds.pty_size) {
            return Failure::new(125, err);
        }
    }
    // ANCHOR: init_or_exec
    if spec.init {
        // The init keeps running as PID 1, so it must not hold the error
        // pipe (mydocker reads it to its end) or the terminal's socket.
        let mut close_in_init = vec![fds.report];
        close_in_init.extend(fds.pty_socket);
        return init::run(spec, &close_in_init);
    }
    exec::exec(spec)
    // ANCHOR_END: init_or_exec
}

/// Writes a failure into the error pipe: one byte of exit code, then text.
fn report_failure(fd: RawFd, failure: &Failure) {
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let mut msg = vec![failure.code];
    msg.extend_from_slice(failure.message.as_bytes());
    let _ = nix::unistd::write(fd, &msg);
}

/// Reads the error pipe to its end: nothing means the exec succeeded.
fn read_failure(fd: OwnedFd) -> Result<Option<Failure>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match nix::unistd::read(fd.as_fd(), &mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("read the child's error pipe"),
        }
    }
    Ok(buf.split_first().map(|(code, text)| Failure {
        code: *code,
        message: String::from_utf8_lossy(text).into_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct At(&'static str, Stage);

    impl Hook for At {
        fn name(&self) -> &'static str {
            self.0
        }

        fn stage(&self) -> Stage {
            self.1
        }
    }

    #[test]
    fn hooks_run_in_the_order_of_their_stages_whatever_order_they_are_added_in() {
        let spec = Spec::new(vec!["true".into()]).unwrap();
        let container = Container::new(spec)
            .hook(At("proc", Stage::Proc))
            .hook(At("record", Stage::Record))
            .hook(At("pivot", Stage::PivotRoot))
            .hook(At("overlay", Stage::RootFs))
            .hook(At("network", Stage::Network))
            .hook(At("volumes", Stage::Volumes))
            .hook(At("limits", Stage::Limits))
            // Two hooks of one stage keep the order they were added in.
            .hook(At("second record", Stage::Record));
        assert_eq!(
            container.hook_names(),
            [
                "record",
                "second record",
                "limits",
                "overlay",
                "volumes",
                "network",
                "pivot",
                "proc"
            ]
        );
    }
}
