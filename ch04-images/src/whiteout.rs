//! Deletions, in the two dialects that matter.
//!
//! A layer must be able to say "this file from a lower layer is gone" and
//! "this directory replaces the lower one instead of merging with it". A tar
//! cannot hold a deletion, so the OCI image spec encodes both as names:
//!
//! | meaning                     | in a layer tar (OCI)     | in an overlayfs layer directory          |
//! |-----------------------------|--------------------------|------------------------------------------|
//! | `etc/passwd` was deleted    | empty file `etc/.wh.passwd` | character device 0/0 `etc/passwd`      |
//! | `data/` replaces the lower  | empty file `data/.wh..wh..opq` | xattr `trusted.overlay.opaque=y` on `data/` |
//!
//! We store unpacked layers in the overlayfs dialect, so they stack directly
//! as `lowerdir`s and the kernel applies the deletions; a container's upper
//! directory is already in that dialect. Converting to tar (`commit`, `save`)
//! and from tar (`import`, `load`) translates between the two.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context, Result};
use nix::sys::stat::{Mode, SFlag, mknodat};

/// The prefix OCI gives a whiteout file.
pub const PREFIX: &str = ".wh.";
/// The name of the OCI opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The xattr overlayfs reads to treat a directory as opaque. The `trusted.`
/// namespace is only writable with CAP_SYS_ADMIN, so unprivileged users
/// cannot forge it; that is also why unpacking an image needs root.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// The xattr overlayfs (with `redirect_dir=on`) puts on a renamed directory.
pub const REDIRECT_XATTR: &str = "trusted.overlay.redirect";

// ANCHOR: classify
/// What a tar entry's last path component means.
#[derive(Debug, PartialEq, Eq)]
pub enum Name<'a> {
    /// An ordinary name.
    Plain,
    /// `.wh..wh..opq`: the directory holding it is opaque.
    Opaque,
    /// `.wh.NAME`: NAME, from a lower layer, is deleted.
    Whiteout(&'a OsStr),
    /// Another `.wh..wh.` name (AUFS bookkeeping): ignored.
    Internal,
}

/// Classifies the last component of an entry's path.
pub fn classify(last: &OsStr) -> Name<'_> {
    let bytes = last.as_bytes();
    if bytes == OPAQUE_MARKER.as_bytes() {
        Name::Opaque
    } else if bytes.starts_with(b".wh..wh.") {
        Name::Internal
    } else if let Some(target) = bytes.strip_prefix(PREFIX.as_bytes()) {
        Name::Whiteout(OsStr::from_bytes(target))
    } else {
        Name::Plain
    }
}
// ANCHOR_END: classify

// ANCHOR: overlay_dialect
/// Creates the overlayfs whiteout for `name` in `dir`: a character device
/// with device number 0/0, which overlayfs shows as "no such file".
pub fn make_whiteout(dir: impl AsFd, name: &OsStr) -> Result<()> {
    mknodat(dir, name, SFlag::S_IFCHR, Mode::empty(), 0).with_context(|| {
        format!(
            "mknod whiteout {} (0/0 character device)",
            name.to_string_lossy()
        )
    })
}

/// Marks the open directory `dir` opaque for overlayfs.
pub fn set_opaque(dir: impl AsFd) -> Result<()> {
    let name = c"trusted.overlay.opaque";
    // SAFETY: valid descriptor, NUL-terminated name, and a one-byte value.
    let rc = unsafe {
        libc::fsetxattr(
            dir.as_fd().as_raw_fd(),
            name.as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .context("setxattr trusted.overlay.opaque=y (needs CAP_SYS_ADMIN)");
    }
    Ok(())
}

/// True if the open directory `dir` is opaque for overlayfs.
pub fn is_opaque(dir: impl AsFd) -> bool {
    get_xattr(dir, c"trusted.overlay.opaque").is_some_and(|v| v == b"y")
}

/// True if a `stat` result is an overlayfs whiteout.
pub fn is_whiteout(mode: u32, rdev: u64) -> bool {
    SFlag::from_bits_truncate(mode) & SFlag::S_IFMT == SFlag::S_IFCHR && rdev == 0
}
// ANCHOR_END: overlay_dialect

/// Sets the xattr `name` of an open file.
pub fn set_xattr(fd: impl AsFd, name: &str, value: &[u8]) -> Result<()> {
    let cname = std::ffi::CString::new(name).context("xattr name with a NUL byte")?;
    // SAFETY: valid descriptor, NUL-terminated name, value and its length.
    let rc = unsafe {
        libc::fsetxattr(
            fd.as_fd().as_raw_fd(),
            cname.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("setxattr {name}"));
    }
    Ok(())
}

/// Reads an xattr of an open file, if it is set.
pub fn get_xattr(fd: impl AsFd, name: &std::ffi::CStr) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    // SAFETY: valid descriptor and name; the buffer length is passed along.
    let n = unsafe {
        libc::fgetxattr(
            fd.as_fd().as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(classify(OsStr::new("passwd")), Name::Plain);
        assert_eq!(
            classify(OsStr::new(".wh.passwd")),
            Name::Whiteout(OsStr::new("passwd"))
        );
        assert_eq!(classify(OsStr::new(".wh..wh..opq")), Name::Opaque);
        assert_eq!(classify(OsStr::new(".wh..wh.plnk")), Name::Internal);
        assert_eq!(classify(OsStr::new(".whx")), Name::Plain);
        assert_eq!(
            classify(OsStr::new(".wh..hidden")),
            Name::Whiteout(OsStr::new(".hidden"))
        );
    }

    #[test]
    fn whiteout_stat() {
        assert!(is_whiteout(libc::S_IFCHR | 0o644, 0));
        assert!(!is_whiteout(
            libc::S_IFCHR | 0o644,
            nix::sys::stat::makedev(1, 3)
        ));
        assert!(!is_whiteout(libc::S_IFREG, 0));
    }
}
