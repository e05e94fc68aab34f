//! Keeping an untrusted archive inside its destination.
//!
//! A tar entry's name is just bytes chosen by whoever made the archive. A
//! naive extractor that joins it to the destination and opens the result can
//! be made to write anywhere:
//!
//! | entry                                   | what a naive extractor does         |
//! |-----------------------------------------|-------------------------------------|
//! | `/etc/cron.d/x`                         | writes the host's `/etc`            |
//! | `../../etc/cron.d/x`                    | climbs out of the destination       |
//! | symlink `evil -> /etc`, then `evil/x`   | follows the link it just created    |
//! | hard link `pw` to `/etc/shadow`         | gives the image the host's file     |
//!
//! The rule we enforce is simple: a name is a list of plain components (no
//! `/` at the start, no `..`), and we never ask the kernel to resolve a path
//! that contains a link. Every directory is opened one component at a time
//! with `O_NOFOLLOW`, relative to the directory before it, starting from a
//! descriptor of the destination; everything is then created with the `*at`
//! system calls relative to the parent's descriptor. A symlink in the middle
//! of a name makes `openat` fail instead of being followed.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};

// ANCHOR: components
/// Splits an archive path into plain components. Leading `./` and empty or
/// `.` components are dropped (tar writes `./etc/passwd`); an absolute path
/// or a `..` component is refused. An empty result names the root itself.
pub fn components(raw: &[u8]) -> Result<Vec<&OsStr>> {
    let shown = String::from_utf8_lossy(raw);
    if raw.first() == Some(&b'/') {
        bail!("refusing absolute path {shown:?} in archive");
    }
    let mut out = Vec::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => bail!("refusing path {shown:?} in archive: it climbs out with '..'"),
            _ => out.push(OsStr::from_bytes(part)),
        }
    }
    Ok(out)
}
// ANCHOR_END: components

/// Joins components back into a relative path, for messages and records.
pub fn display(comps: &[&OsStr]) -> String {
    let parts: Vec<_> = comps.iter().map(|c| c.to_string_lossy()).collect();
    parts.join("/")
}

/// A directory that paths are confined to, held open by descriptor.
pub struct Confined {
    fd: OwnedFd,
}

impl Confined {
    /// Opens `path` (trusted: it is ours) as the confining directory.
    pub fn open(path: &Path) -> Result<Confined> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open directory {}", path.display()))?;
        Ok(Confined { fd })
    }

    /// The descriptor of the confining directory itself.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    // ANCHOR: walk
    /// Opens the directory named by `comps`, one component at a time and never
    /// following a symlink. With `create`, missing directories are made
    /// (mode 0755, fixed later if the archive says otherwise).
    pub fn dir(&self, comps: &[&OsStr], create: bool) -> Result<OwnedFd> {
        let mut cur = self.fd.try_clone().context("dup a directory descriptor")?;
        for (i, comp) in comps.iter().enumerate() {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let next = match openat(&cur, *comp, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) if create => {
                    match mkdirat(&cur, *comp, Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => {
                            return Err(e)
                                .with_context(|| format!("mkdir {}", display(&comps[..=i])));
                        }
                    }
                    openat(&cur, *comp, flags, Mode::empty())
                        .with_context(|| format!("open {}", display(&comps[..=i])))?
                }
                Err(Errno::ELOOP | Errno::ENOTDIR) => {
                    // Say which: a link we refuse to follow, or a file.
                    let what = match fstatat(&cur, *comp, AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Ok(st)
                            if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
                                == SFlag::S_IFLNK =>
                        {
                            "it is a symlink, and writing through a symlink could leave the destination"
                        }
                        _ => "it is not a directory",
                    };
                    bail!("refusing to write under {}: {what}", display(&comps[..=i]));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("open {}", display(&comps[..=i])));
                }
            };
            cur = next;
        }
        Ok(cur)
    }
    // ANCHOR_END: walk

    /// Opens the parent directory of `comps` and returns it with the last
    /// component. `comps` must not be empty.
    pub fn parent<'a>(&self, comps: &[&'a OsStr], create: bool) -> Result<(OwnedFd, &'a OsStr)> {
        let Some((last, dirs)) = comps.split_last() else {
            bail!("empty path in archive");
        };
        Ok((self.dir(dirs, create)?, last))
    }

    /// Opens the regular file `comps` for reading, without following links.
    pub fn open_file(&self, comps: &[&OsStr]) -> Result<std::fs::File> {
        let (dir, name) = self.parent(comps, false)?;
        let fd = openat(
            dir.as_fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open {}", display(comps)))?;
        let file = std::fs::File::from(fd);
        let meta = file
            .metadata()
            .with_context(|| format!("stat {}", display(comps)))?;
        if !meta.is_file() {
            bail!("{} is not a regular file", display(comps));
        }
        Ok(file)
    }
}

impl Confined {
    /// Opens the regular file at archive path `raw`. If the file itself is a
    /// symlink (old `docker save` archives link a repeated layer to its
    /// first copy), the link is followed only as a *relative* path resolved
    /// lexically inside the confining directory, at most 8 times.
    pub fn open_file_following(&self, raw: &[u8]) -> Result<std::fs::File> {
        let mut comps: Vec<Vec<u8>> = components(raw)?
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect();
        for _ in 0..8 {
            let refs: Vec<&OsStr> = comps.iter().map(|c| OsStr::from_bytes(c)).collect();
            let (dir, name) = self.parent(&refs, false)?;
            let is_link = fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|st| {
                SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
            });
            if !is_link {
                return self.open_file(&refs);
            }
            let target = nix::fcntl::readlinkat(&dir, name)
                .with_context(|| format!("readlink {}", display(&refs)))?;
            let target = target.as_bytes();
            let shown = display(&refs);
            drop(refs);
            if target.first() == Some(&b'/') {
                bail!(
                    "refusing symlink {} to absolute path {:?}",
                    shown,
                    String::from_utf8_lossy(target)
                );
            }
            comps.pop();
            for part in target.split(|b| *b == b'/') {
                match part {
                    b"" | b"." => {}
                    b".." => {
                        if comps.pop().is_none() {
                            bail!("refusing symlink {} that climbs out of the archive", shown);
                        }
                    }
                    _ => comps.push(part.to_vec()),
                }
            }
        }
        bail!(
            "too many levels of symlinks at {:?}",
            String::from_utf8_lossy(raw)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(s: &str) -> Result<Vec<String>> {
        components(s.as_bytes())
            .map(|v| v.iter().map(|c| c.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn plain_paths() {
        assert_eq!(comps("./etc/passwd").unwrap(), ["etc", "passwd"]);
        assert_eq!(comps("a//b/./c/").unwrap(), ["a", "b", "c"]);
        assert!(comps("./").unwrap().is_empty());
        assert_eq!(comps("a/..b/c..").unwrap(), ["a", "..b", "c.."]);
    }

    #[test]
    fn escapes_are_refused() {
        assert!(comps("/etc/passwd").is_err());
        assert!(comps("../x").is_err());
        assert!(comps("a/../../x").is_err());
        assert!(comps("a/..").is_err());
    }

    #[test]
    fn internal_links_are_followed_lexically() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a")).unwrap();
        std::fs::create_dir_all(tmp.path().join("b")).unwrap();
        std::fs::write(tmp.path().join("a/layer.tar"), "A").unwrap();
        std::fs::write(outside.path().join("secret"), "S").unwrap();
        std::os::unix::fs::symlink("../a/layer.tar", tmp.path().join("b/layer.tar")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), tmp.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../../../../../tmp", tmp.path().join("up"))
            .unwrap();
        let root = Confined::open(tmp.path()).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(
            &mut root.open_file_following(b"b/layer.tar").unwrap(),
            &mut s,
        )
        .unwrap();
        assert_eq!(s, "A");
        assert!(root.open_file_following(b"abs").is_err());
        assert!(root.open_file_following(b"up").is_err());
    }

    #[test]
    fn symlinks_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("evil")).unwrap();
        std::fs::write(tmp.path().join("file"), "x").unwrap();
        let root = Confined::open(tmp.path()).unwrap();
        let err = root.dir(&[OsStr::new("evil")], true).unwrap_err();
        assert!(format!("{err:#}").contains("symlink"), "{err:#}");
        let err = root
            .dir(&[OsStr::new("file"), OsStr::new("x")], true)
            .unwrap_err();
        assert!(format!("{err:#}").contains("not a directory"), "{err:#}");
        root.dir(&[OsStr::new("a"), OsStr::new("b")], true).unwrap();
        assert!(tmp.path().join("a/b").is_dir());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
