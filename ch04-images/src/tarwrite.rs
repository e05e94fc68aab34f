//! Packing a directory tree into a tar: a container's upper directory for
//! `commit` (overlayfs whiteouts become OCI whiteouts), or its merged root
//! filesystem for `export` (a flat tar, like `docker export`).
//!
//! The tree may belong to a running container, whose processes can rename
//! and replace files while we read. So the walk uses descriptors, like the
//! unpacker: each directory is opened with `O_NOFOLLOW` relative to its
//! parent, and each file is opened before it is examined, so a directory
//! swapped for a symlink to `/etc` mid-walk is not followed out of the tree.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, major, minor};
use tar::{Builder, EntryType, Header};

use crate::confine::Confined;
use crate::whiteout;

/// How to write the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// An image layer: overlayfs whiteouts become `.wh.` entries.
    Layer,
    /// A flat root filesystem (no whiteouts can occur in a merged view).
    Flat,
}

// ANCHOR: write_tree
/// Writes the tree under `src` into `out` as a tar stream (entries sorted by
/// name, so the same tree always gives the same bytes), then the end marker.
/// `progress` is called with the bytes of each file written.
pub fn write_tree<W: Write>(
    src: &Path,
    out: W,
    dialect: Dialect,
    progress: &mut dyn FnMut(u64),
) -> Result<W> {
    let root = Confined::open(src)?;
    let mut builder = Builder::new(out);
    let mut walker = Walker {
        builder: &mut builder,
        dialect,
        links: HashMap::new(),
        progress,
    };
    let fd = root
        .fd()
        .try_clone()
        .context("dup a directory descriptor")?;
    walker.dir(&fd, b"")?;
    builder.into_inner().context("finish the tar stream")
}
// ANCHOR_END: write_tree

fn bytes_path(b: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(b))
}

struct Walker<'a, W: Write> {
    builder: &'a mut Builder<W>,
    dialect: Dialect,
    /// (device, inode) of files with several links → the first path written.
    links: HashMap<(u64, u64), Vec<u8>>,
    progress: &'a mut dyn FnMut(u64),
}

fn header(st: &FileStat, kind: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

fn kind_of(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}

/// One name in a directory being walked: where it is, its bytes, and how
/// messages show it.
struct Entry<'d> {
    /// The directory it is in.
    dir: &'d OwnedFd,
    /// Its name there.
    name: &'d OsStr,
    /// Its path in the tar (bytes: a name that is not UTF-8 keeps them).
    raw: Vec<u8>,
    /// Its path, for messages.
    path: String,
}

/// The names in `dir` (shown as `/prefix`), sorted, so that the same tree
/// always gives the same tar.
fn sorted_names(dir: &OwnedFd, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
    let shown_prefix = String::from_utf8_lossy(prefix).into_owned();
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut d = nix::dir::Dir::from_fd(dir.try_clone().context("dup")?)
        .with_context(|| format!("read directory /{shown_prefix}"))?;
    for e in d.iter() {
        let e = e.with_context(|| format!("read directory /{shown_prefix}"))?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    names.sort();
    Ok(names)
}

impl<W: Write> Walker<'_, W> {
    /// Writes everything below `dir`, whose path in the tar is `prefix`,
    /// one entry at a time, by kind.
    fn dir(&mut self, dir: &OwnedFd, prefix: &[u8]) -> Result<()> {
        for raw in sorted_names(dir, prefix)? {
            let name = OsStr::from_bytes(&raw);
            let raw = [prefix, name.as_bytes()].concat();
            let path = String::from_utf8_lossy(&raw).into_owned();
            let Ok(st) = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) else {
                continue; // removed while we walk: a running container
            };
            let at = Entry {
                dir,
                name,
                raw,
                path,
            };
            match kind_of(&st) {
                SFlag::S_IFDIR => self.directory(&at)?,
                SFlag::S_IFREG => self.file(&at)?,
                SFlag::S_IFLNK => self.symlink(&at, &st)?,
                SFlag::S_IFCHR
                    if whiteout::is_whiteout(st.st_mode, st.st_rdev)
                        && self.dialect == Dialect::Layer =>
                {
                    self.whiteout(&at, prefix, &st)?
                }
                SFlag::S_IFCHR => self.node(&at, &st, EntryType::Char)?,
                SFlag::S_IFBLK => self.node(&at, &st, EntryType::Block)?,
                SFlag::S_IFIFO => self.node(&at, &st, EntryType::Fifo)?,
                // Sockets cannot be archived; tar skips them too.
                _ => {}
            }
        }
        Ok(())
    }

    /// A directory, its opaque marker in a layer, then what is inside.
    fn directory(&mut self, at: &Entry) -> Result<()> {
        let Entry { raw, path, .. } = at;
        let sub = openat(
            at.dir,
            at.name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open /{path}"))?;
        let st = fstat(&sub).with_context(|| format!("stat /{path}"))?;
        if self.dialect == Dialect::Layer
            && whiteout::get_xattr(&sub, c"trusted.overlay.redirect").is_some()
        {
            bail!(
                "/{path} was renamed with overlayfs redirect_dir=on, which a layer tar cannot express; mount overlays with redirect_dir=off"
            );
        }
        let mut h = header(&st, EntryType::Directory);
        self.builder
            .append_data(&mut h, bytes_path(&[&raw[..], b"/"].concat()), io::empty())
            .with_context(|| format!("write /{path}"))?;
        if self.dialect == Dialect::Layer && whiteout::is_opaque(&sub) {
            // ANCHOR: opaque_out
            let mut h = header(&st, EntryType::Regular);
            h.set_mode(0o644);
            self.builder
                .append_data(
                    &mut h,
                    bytes_path(&[&raw[..], b"/", whiteout::OPAQUE_MARKER.as_bytes()].concat()),
                    io::empty(),
                )
                .with_context(|| format!("write the opaque marker of /{path}"))?;
            // ANCHOR_END: opaque_out
        }
        self.dir(&sub, &[&raw[..], b"/"].concat())
    }

    /// A regular file: a hard link to the first path of the same inode, or
    /// its bytes (and its file capabilities).
    fn file(&mut self, at: &Entry) -> Result<()> {
        let Entry { raw, path, .. } = at;
        let fd = openat(
            at.dir,
            at.name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open /{path}"))?;
        let st = fstat(&fd).with_context(|| format!("stat /{path}"))?;
        if kind_of(&st) != SFlag::S_IFREG {
            return Ok(()); // swapped while we walk
        }
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                let mut h = header(&st, EntryType::Link);
                self.builder
                    .append_link(&mut h, bytes_path(raw), bytes_path(first))
                    .with_context(|| format!("write /{path}"))?;
                return Ok(());
            }
            self.links.insert(key, raw.clone());
        }
        let mut h = header(&st, EntryType::Regular);
        let size = st.st_size as u64;
        h.set_size(size);
        let file = std::fs::File::from(fd);
        // Exactly `size` bytes, even if the file grows meanwhile; a file
        // that shrank is an error rather than a bad tar.
        let mut reader = Exact {
            inner: file.take(size),
            left: size,
            path,
        };
        // File capabilities (ping's cap_net_raw, say) travel as a pax
        // record before the entry, as GNU tar writes them.
        if let Some(cap) = whiteout::get_xattr(reader.inner.get_ref(), c"security.capability") {
            self.builder
                .append_pax_extensions([("SCHILY.xattr.security.capability", &cap[..])])
                .with_context(|| format!("write the capabilities of /{path}"))?;
        }
        self.builder
            .append_data(&mut h, bytes_path(raw), &mut reader)
            .with_context(|| format!("write /{path}"))?;
        (self.progress)(size);
        Ok(())
    }

    /// A symbolic link, its target as it is (never followed).
    fn symlink(&mut self, at: &Entry, st: &FileStat) -> Result<()> {
        let target =
            readlinkat(at.dir, at.name).with_context(|| format!("readlink /{}", at.path))?;
        let mut h = header(st, EntryType::Symlink);
        self.builder
            .append_link(&mut h, bytes_path(&at.raw), Path::new(&target))
            .with_context(|| format!("write /{}", at.path))
    }

    /// overlayfs' deletion (a 0/0 character device) as OCI's `.wh.` file.
    fn whiteout(&mut self, at: &Entry, prefix: &[u8], st: &FileStat) -> Result<()> {
        let name = at.name;
        // ANCHOR: whiteout_out
        let wh = [prefix, whiteout::PREFIX.as_bytes(), name.as_bytes()].concat();
        let mut h = header(st, EntryType::Regular);
        h.set_mode(0o644);
        self.builder
            .append_data(&mut h, bytes_path(&wh), io::empty())
            .with_context(|| format!("write the whiteout {}", String::from_utf8_lossy(&wh)))?;
        // ANCHOR_END: whiteout_out
        Ok(())
    }

    /// A device node or a FIFO: only its header (and numbers).
    fn node(&mut self, at: &Entry, st: &FileStat, kind: EntryType) -> Result<()> {
        let mut h = header(st, kind);
        if kind != EntryType::Fifo {
            h.set_device_major(major(st.st_rdev) as u32)
                .context("device major")?;
            h.set_device_minor(minor(st.st_rdev) as u32)
                .context("device minor")?;
        }
        self.builder
            .append_data(&mut h, bytes_path(&at.raw), io::empty())
            .with_context(|| format!("write /{}", at.path))
    }
}

struct Exact<'a, R> {
    inner: R,
    left: u64,
    path: &'a str,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::other(format!(
                "/{} shrank while it was being read",
                self.path
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerStore;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    // ANCHOR: upper_to_layer_test
    #[test]
    fn an_upper_dir_becomes_an_oci_layer_and_back() {
        if !testkit::require_root("an_upper_dir_becomes_an_oci_layer_and_back") {
            return;
        }
        // An upper directory as overlayfs leaves it: a new file, a deleted
        // file (0/0 character device), an opaque directory.
        let upper = tempfile::tempdir().unwrap();
        let u = upper.path();
        std::fs::create_dir_all(u.join("data")).unwrap();
        std::fs::write(u.join("data/f"), "hello").unwrap();
        std::fs::create_dir_all(u.join("etc")).unwrap();
        let etc = Confined::open(&u.join("etc")).unwrap();
        whiteout::make_whiteout(etc.fd(), OsStr::new("passwd")).unwrap();
        std::fs::create_dir_all(u.join("opt")).unwrap();
        whiteout::set_opaque(std::fs::File::open(u.join("opt")).unwrap()).unwrap();

        let tar = write_tree(u, Vec::new(), Dialect::Layer, &mut |_| {}).unwrap();
        let mut names = Vec::new();
        for e in tar::Archive::new(&tar[..]).entries().unwrap() {
            names.push(e.unwrap().path().unwrap().display().to_string());
        }
        assert_eq!(
            names,
            [
                "data/",
                "data/f",
                "etc/",
                "etc/.wh.passwd",
                "opt/",
                "opt/.wh..wh..opq"
            ]
        );

        // Unpacked into the store, the layer is the upper dir again.
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::new(root.path());
        let (d, _) = store.ingest(&tar[..], None).unwrap();
        let diff = store.diff_dir(&d);
        let wh = std::fs::symlink_metadata(diff.join("etc/passwd")).unwrap();
        assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
        assert!(whiteout::is_opaque(
            std::fs::File::open(diff.join("opt")).unwrap()
        ));
        assert_eq!(std::fs::read(diff.join("data/f")).unwrap(), b"hello");
    }
    // ANCHOR_END: upper_to_layer_test

    #[test]
    fn file_capabilities_survive_a_round_trip() {
        if !testkit::require_root("file_capabilities_survive_a_round_trip") {
            return;
        }
        let src = tempfile::tempdir().unwrap();
        let f = src.path().join("ping");
        std::fs::write(&f, "ELF").unwrap();
        // struct vfs_cap_data, revision 2, effective: cap_net_raw (13).
        let mut cap = Vec::new();
        for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
            cap.extend_from_slice(&word.to_le_bytes());
        }
        whiteout::set_xattr(
            std::fs::File::open(&f).unwrap(),
            "security.capability",
            &cap,
        )
        .unwrap();
        let tar = write_tree(src.path(), Vec::new(), Dialect::Layer, &mut |_| {}).unwrap();
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::new(root.path());
        let (d, _) = store.ingest(&tar[..], None).unwrap();
        let got = whiteout::get_xattr(
            std::fs::File::open(store.diff_dir(&d).join("ping")).unwrap(),
            c"security.capability",
        );
        assert_eq!(got, Some(cap));
        // And the layer still replays to the same bytes.
        let mut again = Vec::new();
        store.write_tar(&d, &mut again).unwrap();
        assert!(again == tar);
    }

    #[test]
    fn flat_trees_keep_links_and_long_names() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        let long = "d".repeat(80);
        std::fs::create_dir_all(s.join(&long)).unwrap();
        std::fs::write(s.join(&long).join("f".repeat(90)), "x").unwrap();
        std::fs::write(s.join("a"), "same").unwrap();
        std::fs::hard_link(s.join("a"), s.join("b")).unwrap();
        std::os::unix::fs::symlink("/bin/busybox", s.join("sh")).unwrap();
        std::fs::write(s.join(OsStr::from_bytes(b"caf\xe9")), "latin-1").unwrap();
        let tar = write_tree(s, Vec::new(), Dialect::Flat, &mut |_| {}).unwrap();
        let raw: Vec<Vec<u8>> = tar::Archive::new(&tar[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path_bytes().into_owned())
            .collect();
        assert!(
            raw.contains(&b"caf\xe9".to_vec()),
            "a name that is not UTF-8 lost its bytes"
        );
        let mut seen = Vec::new();
        for e in tar::Archive::new(&tar[..]).entries().unwrap() {
            let e = e.unwrap();
            seen.push((
                e.path().unwrap().display().to_string(),
                e.header().entry_type(),
            ));
        }
        assert!(seen.contains(&("b".into(), EntryType::Link)));
        assert!(seen.contains(&("sh".into(), EntryType::Symlink)));
        assert!(seen.iter().any(|(p, _)| p.len() > 170));
    }
}
