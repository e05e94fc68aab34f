//! The namespaces a container lives in, and chapter 1's hooks.
//!
//! A namespace gives a process its own copy of one global resource. We ask
//! `clone(2)` for five new ones at once:
//!
//! | flag            | the child gets its own...                        |
//! |-----------------|--------------------------------------------------|
//! | `CLONE_NEWUTS`  | hostname and domain name                         |
//! | `CLONE_NEWPID`  | process numbers, starting again at 1             |
//! | `CLONE_NEWNS`   | mount table (a copy of the parent's, at first)   |
//! | `CLONE_NEWIPC`  | System V IPC objects and POSIX message queues    |
//! | `CLONE_NEWNET`  | network devices, addresses, routes, firewall     |
//!
//! and, with `--userns=private`, a sixth (see [`crate::userns`]):
//!
//! | `CLONE_NEWUSER` | user and group ids, and the capabilities of root |
//!
//! Asked for in the same `clone`, the user namespace is made first and owns
//! the other five: root inside may then mount, set the hostname and
//! configure network devices there, because those namespaces are its own.

use anyhow::{Context, Result};
use nix::mount::{MsFlags, mount};
use nix::sched::CloneFlags;

use crate::lifecycle::{Hook, Stage};
use crate::spec::Spec;

// ANCHOR: clone_flags
/// The namespaces every container gets.
pub fn clone_flags() -> CloneFlags {
    CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET
}

/// The namespaces of this container: every container's, plus a user
/// namespace with `--userns=private`.
pub fn clone_flags_for(spec: &Spec) -> CloneFlags {
    match spec.userns {
        Some(_) => clone_flags() | CloneFlags::CLONE_NEWUSER,
        None => clone_flags(),
    }
}
// ANCHOR_END: clone_flags

// ANCHOR: private_mounts
/// Makes every mount in the new namespace private, before anything else is
/// mounted.
///
/// A new mount namespace starts as a copy of the host's, and on systemd hosts
/// the host's mounts are *shared*: a mount made under a shared mount is
/// propagated to its peers. Without this step our `/proc` would appear on the
/// host too, and `pivot_root` (chapter 3) would refuse to work.
pub struct PrivateMounts;

impl Hook for PrivateMounts {
    fn name(&self) -> &'static str {
        "private mounts"
    }

    fn stage(&self) -> Stage {
        Stage::PrivateMounts
    }

    fn enter(&self, _spec: &Spec) -> Result<()> {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .context("make / private (mount --make-rprivate /)")
    }
}
// ANCHOR_END: private_mounts

// ANCHOR: hostname
/// Sets the container's hostname inside its own UTS namespace; the host's
/// hostname is a different copy and does not change.
pub struct Hostname;

impl Hook for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }

    fn stage(&self) -> Stage {
        Stage::Hostname
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        nix::unistd::sethostname(&spec.hostname)
            .with_context(|| format!("sethostname {}", spec.hostname))
    }
}
// ANCHOR_END: hostname

// ANCHOR: proc
/// Mounts a fresh `proc` filesystem on `/proc`.
///
/// `/proc` shows the processes of the PID namespace of whoever mounted it.
/// The copy inherited from the host would still list every host process, so
/// `ps` inside would see them all; a new mount made from inside shows only
/// the container.
pub struct ProcFs;

impl Hook for ProcFs {
    fn name(&self) -> &'static str {
        "/proc"
    }

    fn stage(&self) -> Stage {
        Stage::Proc
    }

    fn enter(&self, _spec: &Spec) -> Result<()> {
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>)
            .context("mount proc on /proc")
    }
}
// ANCHOR_END: proc
