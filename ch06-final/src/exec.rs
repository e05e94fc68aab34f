//! `exec`: a new process inside a running container.
//!
//! A container is nothing but a process whose namespaces and cgroup differ
//! from the host's, so entering it means taking the same ones:
//!
//! 1. find the container's process and hold it with a pidfd, checked
//!    against the recorded start time (a recycled pid is refused);
//! 2. open its cgroup's `cgroup.procs` (v1: `tasks`), while the host's
//!    `/sys/fs/cgroup` is still in sight;
//! 3. `setns(2)` into its IPC, UTS, network, PID and mount namespaces, all
//!    at once through the pidfd, then take its root directory; with `-t`,
//!    open the terminal from the container's `/dev/ptmx`, which is now ours;
//! 4. `fork`: the PID namespace only applies to children (a process never
//!    changes its own pid), so the command must be a new process;
//! 5. in the child: write "0" into the open cgroup files, so the command
//!    (and only it: not `mydocker exec`, which an OOM kill in there must
//!    not pick) counts against the container's limits; then the container's
//!    environment and working directory, and chapter 1's `exec` (PATH
//!    lookup inside, 126 and 127).
//!
//! Joining a mount namespace is refused (EINVAL) to a process with more than
//! one thread: the threads share one filesystem context (root, current
//! directory), and one thread cannot move it into another namespace under
//! the feet of the others. So `exec` creates no thread before `setns`; no
//! tokio runtime exists in this path.

use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, chroot, fchdir, fork};

use ch01_namespaces::exec::exec;
use ch01_namespaces::signals;
use ch01_namespaces::spec::Spec;
use ch01_namespaces::tty::{self, Pty};
use ch02_cgroups::Cgroups;
use ch02_cgroups::driver::SelfJoin;
use ch04_images::containers::Record;

use crate::cli::ExecArgs;
use crate::env;
use crate::state::Runtime;
use ch04_images::containers::ProcessRef;
use ch04_images::pidfd::PidFd;

/// The namespaces every container has of its own (chapter 1's clone
/// flags), and its user namespace if it has one.
fn namespaces(userns: bool) -> CloneFlags {
    match userns {
        true => ch01_namespaces::namespaces::clone_flags() | CloneFlags::CLONE_NEWUSER,
        false => ch01_namespaces::namespaces::clone_flags(),
    }
}

// ANCHOR: exec
/// Runs `args.command` inside `record`'s container and returns its exit code.
pub fn exec_in(record: &Record, args: &ExecArgs) -> Result<i32> {
    let not_running = || anyhow::anyhow!("container {} is not running", record.name);
    let process = match (record.pid, record.pid_start) {
        (Some(pid), Some(start)) => ProcessRef { pid, start },
        _ => return Err(not_running()),
    };
    // Checked against the start time after opening: this pidfd is the
    // container's process, or there is none.
    let pidfd = PidFd::open(process)?.ok_or_else(not_running)?;
    if crate::pause::is_paused(record) {
        anyhow::bail!(
            "container {} is paused, unpause the container before exec",
            record.name
        );
    }
    let spec = spec_for(record, args)?;
    let joiner = enter(record, &pidfd, spec.userns.is_some())?;
    // Opened now that our root is the container's: the terminal comes from
    // its own /dev/ptmx, so the command sees it as /dev/pts/N in there, as
    // the container's first process sees its own (chapter 1's tty module).
    let pty = match args.tty {
        true => Some(Pty::open(tty::user_window_size())?),
        false => None,
    };
    fork_and_wait(&spec, &joiner, pty, args.interactive)
}

/// The command's spec: the container's hostname, environment and working
/// directory (its record's `runtime` part), with `exec`'s own `-e` and `-w`.
fn spec_for(record: &Record, args: &ExecArgs) -> Result<Spec> {
    let runtime = record.part::<Runtime>()?.with_context(|| {
        format!(
            "container {} has no runtime part in its record (made by an earlier chapter)",
            record.name
        )
    })?;
    let mut env = runtime.env.clone();
    env.extend(env::resolve(&args.env)?);
    Ok(Spec {
        id: record.id.clone(),
        hostname: runtime.hostname.clone(),
        command: args.command.clone(),
        env,
        workdir: env::workdir(&args.env)?.unwrap_or_else(|| runtime.workdir.clone()),
        rootfs: None,
        tty: args.tty,
        interactive: args.interactive,
        confinement: runtime.confinement()?,
        userns: runtime.userns,
        // A command that `exec` starts has `exec` as its parent, which
        // reaps it; the container's own init (if any) stays PID 1.
        init: false,
    })
}

/// Takes the container's namespaces and root for this process, and returns
/// the open files through which the command will join its cgroup.
fn enter(record: &Record, pidfd: &PidFd, userns: bool) -> Result<SelfJoin> {
    // The container's root, opened from the host's side before setns. The
    // root a setns into a mount namespace gives is the namespace's root
    // mount, which is the container's root only if the container's own
    // pivot_root made it so; when mydocker itself runs in a chroot it is
    // the host's. Taking the container process's root, as `nsenter --root`
    // does, is right in both cases.
    let root = nix::fcntl::open(
        format!("/proc/{}/root", pidfd.pid()).as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open /proc/{}/root", pidfd.pid()))?;
    let joiner = Cgroups::for_container(&record.resources.cgroup_parent, &record.id)?
        .joiner()
        .with_context(|| format!("open the cgroup of container {}", record.name))?;
    // One setns through a pidfd takes all of them at once; the kernel joins
    // the user namespace first, so the others are joined as its root. The
    // cgroup files were opened above, as host root, and a write to them is
    // checked against who opened them.
    nix::sched::setns(pidfd.as_fd(), namespaces(userns)).map_err(|e| match e {
        nix::errno::Errno::ESRCH => anyhow::anyhow!("container {} is not running", record.name),
        e => anyhow::anyhow!(
            "setns into the namespaces of pid {}: {}",
            pidfd.pid(),
            e.desc().to_lowercase()
        ),
    })?;
    fchdir(&root).context("fchdir to the container's root")?;
    chroot(".").context("chroot to the container's root")?;
    if userns {
        // Like the container's first process: host root is nobody in
        // there until it takes uid 0 of the namespace.
        ch01_namespaces::userns::become_root()?;
    }
    Ok(joiner)
}

/// Forks the command (the PID namespace applies to children only), relays
/// signals and the terminal, and returns its exit code.
fn fork_and_wait(
    spec: &Spec,
    joiner: &SelfJoin,
    pty: Option<Pty>,
    interactive: bool,
) -> Result<i32> {
    // SAFETY: single-threaded (setns of a mount namespace just proved it).
    match unsafe { fork() }.context("fork the command")? {
        ForkResult::Child => {
            // The container's capabilities, also for `exec`: after the
            // cgroup join, the last thing before the command.
            let joined = joiner
                .join()
                .context("join the container's cgroup (write 0)")
                .and_then(|()| spec.confinement.restrict_process());
            let code = match (joined, &pty) {
                (Err(err), _) => Some((125, format!("{err:#}"))),
                (Ok(()), Some(pty)) => match tty::make_controlling(pty.slave.as_raw_fd()) {
                    Ok(()) => None,
                    Err(err) => Some((125, format!("{err:#}"))),
                },
                (Ok(()), None) => None,
            };
            let (code, message) = code.unwrap_or_else(|| {
                let failure = exec(spec);
                (failure.code, failure.message)
            });
            eprintln!("{}: {message}", ch01_namespaces::exit::program_name());
            unsafe { libc::_exit(i32::from(code)) }
        }
        ForkResult::Parent { child } => {
            signals::forward_to(child)?;
            if let Some(pty) = pty {
                drop(pty.slave);
                tty::relay(pty.master, interactive)?;
            }
            let status = signals::reap(child)?;
            signals::stop_forwarding();
            Ok(signals::exit_code(status))
        }
    }
}
// ANCHOR_END: exec
