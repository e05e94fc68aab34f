//! Entering the new root: `pivot_root(2)`, then `/sys` and `/dev`.
//!
//! `chroot(2)` only changes how one process resolves `/`. The old root is
//! still mounted, still in the process's mount namespace, and a process that
//! keeps a directory outside the new root (its working directory, say) can
//! walk back up to it: the classic chroot escape. `pivot_root(2)` instead
//! swaps the root *mount* of the whole mount namespace: the new root becomes
//! `/`, and the old one is moved to a place inside it, from where we detach
//! it. Afterwards the host's filesystem is not hidden but gone from the
//! namespace: there is no path to it left to walk.

use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags, mount, umount2};

use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;

use crate::dev;

/// The hook that makes `spec.rootfs` the container's `/` and gives it a
/// read-only `/sys` and a fresh `/dev`. `/proc` is chapter 1's
/// [`ch01_namespaces::namespaces::ProcFs`], which must come after this hook.
pub struct PivotRoot;

impl Hook for PivotRoot {
    fn name(&self) -> &'static str {
        "pivot_root"
    }

    fn stage(&self) -> Stage {
        Stage::PivotRoot
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        let Some(rootfs) = &spec.rootfs else {
            bail!("pivot_root needs a root filesystem");
        };
        pivot_into(rootfs)?;
        mount_sys()?;
        dev::populate(Path::new("/dev"))
    }
}

// ANCHOR: pivot_into
/// Makes `rootfs` the root of this mount namespace and detaches the old root.
///
/// The mounts must not be shared: `pivot_root` refuses (`EINVAL`) to move
/// mounts that propagate to a peer, since the move would have to happen in
/// the peer too. chapter 1's `PrivateMounts` made every mount private first.
pub fn pivot_into(rootfs: &Path) -> Result<()> {
    // pivot_root wants the new root to be a mount point. The overlay already
    // is one, but a plain directory is not: binding it onto itself makes it
    // one either way (MS_REC keeps the volumes mounted inside it).
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind mount {} onto itself", rootfs.display()))?;
    nix::unistd::chdir(rootfs).with_context(|| format!("chdir to {}", rootfs.display()))?;
    // pivot_root(".", "."): the new root becomes "/" and the old root is
    // mounted on top of it, at the same place. No directory for the old
    // root is needed in the image, and nothing is written into it.
    nix::unistd::pivot_root(".", ".")
        .with_context(|| format!("pivot_root to {}", rootfs.display()))?;
    // The old root is the top mount at "."; detach it (and everything under
    // it: the host's /proc, /sys, /home...). MNT_DETACH, because the host's
    // mounts are busy and a plain unmount would fail.
    umount2(".", MntFlags::MNT_DETACH).context("detach the old root")?;
    nix::unistd::chdir("/").context("chdir to the new /")?;
    Ok(())
}
// ANCHOR_END: pivot_into

// ANCHOR: sys
/// Mounts a read-only `sysfs` on `/sys`: programs read it (network devices,
/// CPU topology), but a container has no business writing kernel settings.
pub fn mount_sys() -> Result<()> {
    ensure_dir(Path::new("/sys"), 0o555)?;
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("sysfs"), "/sys", Some("sysfs"), flags, None::<&str>).context("mount sysfs on /sys")
}
// ANCHOR_END: sys

/// Creates `path` with `mode` if the image lacks it.
pub(crate) fn ensure_dir(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err).with_context(|| format!("create {}", path.display())),
    }
}
