//! The kernel calls of the mount sequences, behind one trait.
//!
//! Mounting the overlay, binding a volume, pivoting into the new root and
//! filling `/dev` are each a handful of calls whose *order* is the point: the
//! bind before the pivot, the pivot before the detach, the tmpfs before the
//! nodes in it. Made directly, every one of them needs root, and most act on
//! the paths of the machine the test runs on (`/sys`, `/dev`). So the
//! sequences make their calls through [`Syscall`]: the program hands them
//! [`Kernel`], which calls the kernel; a unit test hands them a
//! [`Recorder`], which writes each call down as a line (and answers one with
//! an error when told to). The order is then tested without root, and
//! without touching the machine.
//!
//! Each method answers with the error type the code had before the seam:
//! nix's [`Errno`] where it called nix, [`std::io::Error`] where it called
//! the standard library. Error messages are the same as a direct call's.

mod recorder;

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

pub use recorder::Recorder;

// ANCHOR: syscall
/// The kernel calls that chapter 3's root filesystem and chapter 4's
/// `export` make, one method per call, with the call's own arguments.
pub trait Syscall {
    /// `mount(2)`: attach `source` (a device, a directory, or a name such as
    /// `overlay`) at `target`.
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()>;

    /// `umount2(2)`.
    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()>;

    /// `mount_setattr(2)`: change the attributes of the mount at `path`
    /// relative to `dir` (with `AT_EMPTY_PATH` and `c""`: of `dir` itself).
    fn mount_setattr(
        &self,
        dir: BorrowedFd<'_>,
        path: &CStr,
        flags: libc::c_int,
        attr: &libc::mount_attr,
    ) -> nix::Result<()>;

    /// `pivot_root(2)`.
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()>;

    /// `chdir(2)`.
    fn chdir(&self, dir: &Path) -> nix::Result<()>;

    /// `fchdir(2)`.
    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()>;

    /// `unshare(2)`.
    fn unshare(&self, flags: CloneFlags) -> nix::Result<()>;

    /// `mkdir(2)` with `mode` (before the umask).
    fn mkdir(&self, path: &Path, mode: u32) -> io::Result<()>;

    /// `mknod(2)`: a node of type `kind` (`S_IFCHR`...) for device `dev`.
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: libc::dev_t) -> nix::Result<()>;

    /// `chmod(2)`.
    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()>;

    /// `symlink(2)`: `link` becomes a symbolic link to `target`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
}
// ANCHOR_END: syscall

/// The real thing: each method is the kernel call it names.
pub struct Kernel;

impl Syscall for Kernel {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        nix::mount::mount(source, target, fstype, flags, data)
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
        nix::mount::umount2(target, flags)
    }

    fn mount_setattr(
        &self,
        dir: BorrowedFd<'_>,
        path: &CStr,
        flags: libc::c_int,
        attr: &libc::mount_attr,
    ) -> nix::Result<()> {
        // nix has no wrapper for mount_setattr (Linux 5.12).
        // SAFETY: the descriptor and the path outlive the call, and the size
        // passed is the size of the structure `attr` points to.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                dir.as_raw_fd(),
                path.as_ptr(),
                flags,
                attr as *const libc::mount_attr,
                std::mem::size_of::<libc::mount_attr>(),
            )
        };
        if rc == 0 { Ok(()) } else { Err(Errno::last()) }
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
        nix::unistd::pivot_root(new_root, put_old)
    }

    fn chdir(&self, dir: &Path) -> nix::Result<()> {
        nix::unistd::chdir(dir)
    }

    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()> {
        nix::unistd::fchdir(dir)
    }

    fn unshare(&self, flags: CloneFlags) -> nix::Result<()> {
        nix::sched::unshare(flags)
    }

    fn mkdir(&self, path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(mode).create(path)
    }

    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: libc::dev_t) -> nix::Result<()> {
        nix::sys::stat::mknod(path, kind, perm, dev)
    }

    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }
}
