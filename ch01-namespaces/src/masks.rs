//! Paths of `/proc` and `/sys` a container must not read or write.
//!
//! A fresh procfs shows the whole machine, not just the PID namespace:
//! `/proc/kcore` is the kernel's memory, `/proc/keys` the kernel's keyrings,
//! `/proc/sys` holds host-wide settings such as `kernel.core_pattern` (the
//! program the kernel runs, as root on the host, when any process dumps
//! core: writing it from a container is a classic escape), and
//! `/proc/sysrq-trigger` reboots the machine. These files have no namespace
//! of their own. Docker's answer, and ours: mask some (mount something
//! empty over them) and make the others read-only (bind them onto
//! themselves, then remount the bind read-only). A container without
//! `CAP_SYS_ADMIN` cannot unmount either.

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{MsFlags, mount};

// ANCHOR: lists
/// Hidden: a file gets `/dev/null` bound over it, a directory an empty
/// read-only tmpfs (Docker's default list).
pub const MASKED: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Visible, but read-only (Docker's default list).
pub const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
// ANCHOR_END: lists

// ANCHOR: mask
/// Masks `path` if it exists (each kernel has its own subset of the list).
pub fn mask(path: &str) -> Result<()> {
    let p = Path::new(path);
    if !p.exists() {
        return Ok(());
    }
    if p.is_dir() {
        let flags =
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(Some("tmpfs"), p, Some("tmpfs"), flags, Some("size=0"))
            .with_context(|| format!("mask {path}: mount an empty tmpfs"))
    } else {
        mount(
            Some("/dev/null"),
            p,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("mask {path}: bind /dev/null over it"))
    }
}

/// Makes `path` read-only if it exists. A bind mount shares the flags of the
/// mount it came from until it is remounted: the second call sets
/// `MS_RDONLY` on the bind alone, keeping procfs's nosuid, nodev, noexec.
pub fn read_only(path: &str) -> Result<()> {
    let p = Path::new(path);
    if !p.exists() {
        return Ok(());
    }
    let none = None::<&str>;
    mount(Some(p), p, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
        .with_context(|| format!("bind {path} onto itself"))?;
    let flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    mount(none, p, none, flags, none).with_context(|| format!("remount {path} read-only"))
}
// ANCHOR_END: mask
