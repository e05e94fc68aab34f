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
use nix::mount::{MntFlags, MsFlags};

use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;

use crate::dev;
use crate::syscall::{Kernel, Syscall};

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
        match spec.userns {
            Some(_) => enter_rootfs_in_userns(&Kernel, rootfs),
            None => enter_rootfs(&Kernel, rootfs),
        }
    }
}

/// The whole of [`PivotRoot`]'s work, in the child: `rootfs` becomes `/`,
/// then `/sys` and `/dev` are mounted in it.
pub fn enter_rootfs(sys: &dyn Syscall, rootfs: &Path) -> Result<()> {
    pivot_into(sys, rootfs)?;
    mount_sys(sys)?;
    dev::populate(sys, Path::new("/dev"))
}

// ANCHOR: userns
/// [`enter_rootfs`] for a child in its own user namespace.
///
/// The kernel lets root of a user namespace mount `proc` and `sysfs` only
/// where such a filesystem is already fully visible in its mount namespace
/// (so a new mount cannot uncover what a mask hides), and after the pivot
/// the host's are gone. It refuses `mknod` of devices there too. So `/sys`,
/// a first `/proc` (chapter 1's is mounted over it) and `/dev` go into the
/// new root *before* the pivot, and `/dev`'s nodes are the host's own,
/// bound onto empty files.
pub fn enter_rootfs_in_userns(sys: &dyn Syscall, rootfs: &Path) -> Result<()> {
    mount_sys_on(sys, &rootfs.join("sys"))?;
    let proc = rootfs.join("proc");
    ensure_dir(sys, &proc, 0o555)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys.mount(Some(Path::new("proc")), &proc, Some("proc"), flags, None)
        .with_context(|| format!("mount proc on {}", proc.display()))?;
    dev::populate_bound(sys, &rootfs.join("dev"), Path::new("/dev"))?;
    pivot_into(sys, rootfs)
}
// ANCHOR_END: userns

// ANCHOR: pivot_into
/// Makes `rootfs` the root of this mount namespace and detaches the old root.
///
/// The mounts must not be shared: `pivot_root` refuses (`EINVAL`) to move
/// mounts that propagate to a peer, since the move would have to happen in
/// the peer too. chapter 1's `PrivateMounts` made every mount private first.
pub fn pivot_into(sys: &dyn Syscall, rootfs: &Path) -> Result<()> {
    // pivot_root wants the new root to be a mount point. The overlay already
    // is one, but a plain directory is not: binding it onto itself makes it
    // one either way (MS_REC keeps the volumes mounted inside it).
    sys.mount(
        Some(rootfs),
        rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .with_context(|| format!("bind mount {} onto itself", rootfs.display()))?;
    sys.chdir(rootfs)
        .with_context(|| format!("chdir to {}", rootfs.display()))?;
    // pivot_root(".", "."): the new root becomes "/" and the old root is
    // mounted on top of it, at the same place. No directory for the old
    // root is needed in the image, and nothing is written into it.
    sys.pivot_root(Path::new("."), Path::new("."))
        .with_context(|| format!("pivot_root to {}", rootfs.display()))?;
    // The old root is the top mount at "."; detach it (and everything under
    // it: the host's /proc, /sys, /home...). MNT_DETACH, because the host's
    // mounts are busy and a plain unmount would fail.
    sys.umount2(Path::new("."), MntFlags::MNT_DETACH)
        .context("detach the old root")?;
    sys.chdir(Path::new("/")).context("chdir to the new /")?;
    Ok(())
}
// ANCHOR_END: pivot_into

// ANCHOR: sys
/// Mounts a read-only `sysfs` on `/sys`: programs read it (network devices,
/// CPU topology), but a container has no business writing kernel settings.
pub fn mount_sys(sys: &dyn Syscall) -> Result<()> {
    mount_sys_on(sys, Path::new("/sys"))
}
// ANCHOR_END: sys

/// [`mount_sys`] on `dir`.
fn mount_sys_on(sys: &dyn Syscall, dir: &Path) -> Result<()> {
    ensure_dir(sys, dir, 0o555)?;
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys.mount(Some(Path::new("sysfs")), dir, Some("sysfs"), flags, None)
        .with_context(|| format!("mount sysfs on {}", dir.display()))
}

/// Creates `path` with `mode` if the image lacks it.
pub(crate) fn ensure_dir(sys: &dyn Syscall, path: &Path, mode: u32) -> Result<()> {
    match sys.mkdir(path, mode) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err).with_context(|| format!("create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::*;
    use crate::syscall::Recorder;

    const ROOTFS: &str = "/var/lib/mydocker/containers/abc/merged";

    #[test]
    fn pivot_binds_the_root_pivots_and_detaches_the_old_one() {
        let sys = Recorder::new();
        pivot_into(&sys, Path::new(ROOTFS)).unwrap();
        insta::assert_snapshot!(sys);
    }

    #[test]
    fn sys_is_read_only() {
        let sys = Recorder::new();
        mount_sys(&sys).unwrap();
        insta::assert_snapshot!(sys, @r#"
        mkdir("/sys", 0o555)
        mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
        "#);
    }

    #[test]
    fn a_failed_pivot_stops_the_sequence() {
        let sys = Recorder::new().fail("pivot_root", Errno::EINVAL);
        let err = enter_rootfs(&sys, Path::new(ROOTFS)).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!("pivot_root to {ROOTFS}: EINVAL: Invalid argument")
        );
        // Nothing after it: the old root stays, and /sys and /dev are not
        // mounted over the host's.
        insta::assert_snapshot!(sys, @r#"
        mount("/var/lib/mydocker/containers/abc/merged", "/var/lib/mydocker/containers/abc/merged", NULL, MS_BIND | MS_REC, NULL)
        chdir("/var/lib/mydocker/containers/abc/merged")
        pivot_root(".", ".") = -1 EINVAL (Invalid argument)
        "#);
    }

    #[test]
    fn an_existing_directory_is_kept() {
        let sys = Recorder::new().fail("mkdir", Errno::EEXIST);
        mount_sys(&sys).unwrap();
        let sys = Recorder::new().fail("mkdir", Errno::EROFS);
        let err = mount_sys(&sys).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "create /sys: Read-only file system (os error 30)"
        );
    }
}
