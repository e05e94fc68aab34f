//! The test double of [`Syscall`]: it calls nothing and writes each call
//! down, as `strace` would print it.

use std::cell::RefCell;
use std::ffi::CStr;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag, major, minor};

use super::Syscall;

/// Records the calls a sequence makes, one line each, without making them:
///
/// ```text
/// mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
/// pivot_root(".", ".") = -1 EINVAL (Invalid argument)
/// ```
///
/// Every call succeeds, unless [`Recorder::fail`] said otherwise; the failed
/// call is recorded with its error, as the last line of a sequence that
/// stops there. A descriptor is shown with the path it leads to, as
/// `strace -y` does (`7</tmp/rootfs/data>`), and so is a `/proc/self/fd/N`
/// path that a mount is made on or from: the number alone would say nothing.
#[derive(Default)]
pub struct Recorder {
    lines: RefCell<Vec<String>>,
    failures: RefCell<Vec<(String, Errno)>>,
}

impl Recorder {
    /// A recorder that lets every call succeed.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Makes the first call whose line starts with `call` fail with
    /// `errno`: `fail("pivot_root", Errno::EINVAL)`, or
    /// `fail("mount(\"devpts\"", Errno::ENODEV)` for one mount among several.
    pub fn fail(self, call: &str, errno: Errno) -> Recorder {
        self.failures.borrow_mut().push((call.to_string(), errno));
        self
    }

    /// Adds a line that is not a call: what the caller did between two.
    pub fn note(&self, text: &str) {
        self.lines.borrow_mut().push(format!("# {text}"));
    }

    /// The lines so far, in the order of the calls.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }

    /// Writes `call` down, and answers it.
    fn record(&self, call: String) -> nix::Result<()> {
        let mut failures = self.failures.borrow_mut();
        let planned = failures
            .iter()
            .position(|(prefix, _)| call.starts_with(prefix.as_str()));
        let Some(index) = planned else {
            self.lines.borrow_mut().push(call);
            return Ok(());
        };
        let (_, errno) = failures.remove(index);
        self.lines
            .borrow_mut()
            .push(format!("{call} = -1 {errno:?} ({})", errno.desc()));
        Err(errno)
    }

    /// [`Recorder::record`] for the calls that answer as the standard
    /// library does.
    fn record_io(&self, call: String) -> io::Result<()> {
        self.record(call).map_err(io::Error::from)
    }
}

impl fmt::Display for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.borrow().join("\n"))
    }
}

impl Syscall for Recorder {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        self.record(format!(
            "mount({}, {}, {}, {}, {})",
            source.map_or("NULL".to_string(), mount_path),
            mount_path(target),
            quoted(fstype),
            names(flags.iter_names()),
            quoted(data),
        ))
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
        self.record(format!(
            "umount2({}, {})",
            mount_path(target),
            names(flags.iter_names())
        ))
    }

    fn mount_setattr(
        &self,
        dir: BorrowedFd<'_>,
        at: &CStr,
        flags: libc::c_int,
        attr: &libc::mount_attr,
    ) -> nix::Result<()> {
        const AT_FLAGS: [(&str, u64); 3] = [
            ("AT_EMPTY_PATH", libc::AT_EMPTY_PATH as u64),
            ("AT_RECURSIVE", libc::AT_RECURSIVE as u64),
            ("AT_SYMLINK_NOFOLLOW", libc::AT_SYMLINK_NOFOLLOW as u64),
        ];
        const ATTRS: [(&str, u64); 4] = [
            ("MOUNT_ATTR_RDONLY", libc::MOUNT_ATTR_RDONLY),
            ("MOUNT_ATTR_NOSUID", libc::MOUNT_ATTR_NOSUID),
            ("MOUNT_ATTR_NODEV", libc::MOUNT_ATTR_NODEV),
            ("MOUNT_ATTR_NOEXEC", libc::MOUNT_ATTR_NOEXEC),
        ];
        self.record(format!(
            "mount_setattr({}, {at:?}, {}, {{attr_set={}, attr_clr={}, propagation={}, userns_fd={}}})",
            descriptor(dir),
            bits(flags as u64, &AT_FLAGS),
            bits(attr.attr_set, &ATTRS),
            bits(attr.attr_clr, &ATTRS),
            attr.propagation,
            attr.userns_fd,
        ))
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
        self.record(format!("pivot_root({}, {})", path(new_root), path(put_old)))
    }

    fn chdir(&self, dir: &Path) -> nix::Result<()> {
        self.record(format!("chdir({})", path(dir)))
    }

    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()> {
        self.record(format!("fchdir({})", descriptor(dir)))
    }

    fn unshare(&self, flags: CloneFlags) -> nix::Result<()> {
        self.record(format!("unshare({})", names(flags.iter_names())))
    }

    fn mkdir(&self, dir: &Path, mode: u32) -> io::Result<()> {
        self.record_io(format!("mkdir({}, {mode:#o})", path(dir)))
    }

    fn mknod(&self, node: &Path, kind: SFlag, perm: Mode, dev: libc::dev_t) -> nix::Result<()> {
        let kind = match kind {
            SFlag::S_IFCHR => "S_IFCHR".to_string(),
            SFlag::S_IFBLK => "S_IFBLK".to_string(),
            SFlag::S_IFIFO => "S_IFIFO".to_string(),
            SFlag::S_IFREG => "S_IFREG".to_string(),
            SFlag::S_IFSOCK => "S_IFSOCK".to_string(),
            other => format!("{:#o}", other.bits()),
        };
        self.record(format!(
            "mknod({}, {kind} | {:#o}, makedev({}, {}))",
            path(node),
            perm.bits(),
            major(dev),
            minor(dev)
        ))
    }

    fn chmod(&self, file: &Path, mode: u32) -> io::Result<()> {
        self.record_io(format!("chmod({}, {mode:#o})", path(file)))
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.record_io(format!("symlink({}, {})", path(target), path(link)))
    }
}

/// A path, in quotes.
fn path(path: &Path) -> String {
    format!("{path:?}")
}

/// A path a mount is made on or from; a `/proc/self/fd/N` one is followed by
/// what the descriptor leads to. (Elsewhere, in a symlink's target say, such
/// a path is only text.)
fn mount_path(path: &Path) -> String {
    let quoted = format!("{path:?}");
    if !path.starts_with("/proc/self/fd") {
        return quoted;
    }
    match std::fs::read_link(path) {
        Ok(real) => format!("{quoted}<{}>", real.display()),
        Err(_) => quoted,
    }
}

/// A descriptor, with the path it leads to.
fn descriptor(fd: BorrowedFd<'_>) -> String {
    let n = fd.as_raw_fd();
    match std::fs::read_link(format!("/proc/self/fd/{n}")) {
        Ok(real) => format!("{n}<{}>", real.display()),
        Err(_) => n.to_string(),
    }
}

/// A string argument in quotes, or `NULL`.
fn quoted(text: Option<&str>) -> String {
    text.map_or("NULL".to_string(), |text| format!("{text:?}"))
}

/// The names of a set of flags, `A | B`, or `0`.
fn names<T>(flags: impl Iterator<Item = (&'static str, T)>) -> String {
    joined(flags.map(|(name, _)| name.to_string()).collect())
}

/// The names of the bits of `value` in `known`, and any other bits in hex.
fn bits(value: u64, known: &[(&str, u64)]) -> String {
    let mut rest = value;
    let mut parts: Vec<String> = Vec::new();
    for (name, bit) in known {
        if rest & bit != 0 {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    joined(parts)
}

/// `A | B`, or `0` for no flag at all.
fn joined(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join(" | ")
    }
}
