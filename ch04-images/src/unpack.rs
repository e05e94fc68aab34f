//! Unpacking an untrusted tar into a directory, confined to it.
//!
//! Every entry goes through [`crate::confine`]: its name must be a list of
//! plain components, its parent directory is opened component by component
//! without following links, and the entry is created relative to that
//! descriptor. A hard link's target goes through the same checks, so it can
//! only name a file of this layer. Symlinks are created as they are (an
//! absolute target such as `/bin/busybox` is normal in a root filesystem and
//! is resolved inside the container later), but nothing is ever written
//! *through* one.
//!
//! In [`Whiteouts::Overlay`] mode, OCI whiteout entries become overlayfs
//! whiteouts (see [`crate::whiteout`]).

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, fstatat, futimens, mkdirat,
    mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, fchownat, linkat, symlinkat, unlinkat};
use tar::EntryType;

use crate::confine::{Confined, components, display};
use crate::split::Marker;
use crate::whiteout::{self, Name};

/// What to do with OCI whiteout entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whiteouts {
    /// Turn them into overlayfs whiteouts: for image layers.
    Overlay,
    /// Keep them as the plain files they are: for a `docker save` archive,
    /// which is unpacked only to read the layer tars inside it.
    Keep,
}

/// What an unpack did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Entries processed.
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

// ANCHOR: unpack
/// Unpacks the tar stream `reader` into the existing directory `dest`.
/// With a `marker`, tells the tar-split recorder where file content lies.
pub fn unpack<R: Read>(
    archive: &mut tar::Archive<R>,
    dest: &Path,
    mode: Whiteouts,
    marker: Option<&Marker>,
) -> Result<Stats> {
    let root = Confined::open(dest)?;
    let mut stats = Stats::default();
    let mut dirs = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut cache = ParentCache::default();
    for entry in archive.entries().context("read the tar archive")? {
        let mut entry = entry.context("read a tar entry")?;
        let path = entry.path_bytes().into_owned();
        let comps = components(&path)?;
        stats.entries += 1;
        let kind = entry.header().entry_type();
        let Some((&name, parents)) = comps.split_last() else {
            continue; // "./": the destination itself
        };
        let is_file = matches!(kind, EntryType::Regular | EntryType::Continuous);
        if !is_file {
            cache.forget();
        }
        if mode == Whiteouts::Overlay {
            let meaning = whiteout::classify(name);
            if meaning != Name::Plain {
                cache.forget(); // a whiteout may remove the cached directory
                apply_whiteout(&root, &comps, meaning)?;
                continue;
            }
        }
        let (key, dir) = cache.open(&root, parents)?;
        let meta = Meta::of(entry.header())?;
        let at = Place {
            dir: &dir,
            name,
            path: &path,
            comps: &comps,
        };
        match kind {
            EntryType::Directory => dirs.push(make_dir(&at, meta)?),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                stats.bytes += write_file(&at, &mut entry, meta, marker, &mut buf)?;
            }
            EntryType::Symlink => make_symlink(&at, &entry, meta)?,
            EntryType::Link => make_hard_link(&root, &at, &entry)?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => make_node(&at, &entry, meta)?,
            // pax and GNU long-name records are consumed by the tar crate;
            // anything else carries no file.
            _ => {}
        }
        if is_file {
            cache.keep(key, dir);
        }
    }
    restore_directories(&root, &dirs)?;
    Ok(stats)
}
// ANCHOR_END: unpack

// ANCHOR: place
/// Where an entry goes: its parent directory, opened inside the destination
/// without following links, and its name in that directory. Every step below
/// works relative to `dir` (`mkdirat`, `openat`, `symlinkat`, ...), so no
/// step ever resolves the entry's path again, and a link that another entry
/// planted along that path cannot redirect it.
struct Place<'a> {
    dir: &'a OwnedFd,
    name: &'a OsStr,
    /// The entry's path as the tar holds it (the tar-split records it).
    path: &'a [u8],
    /// The same path in components, for error messages.
    comps: &'a [&'a OsStr],
}

/// An entry's ownership, permission bits and modification time, from its
/// tar header.
#[derive(Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
}

impl Meta {
    /// Reads them from `hdr`. Only the permission bits of the mode are kept:
    /// the file type comes from the entry type, never from the mode.
    fn of(hdr: &tar::Header) -> Result<Meta> {
        Ok(Meta {
            mode: hdr.mode().context("tar header: mode")? & 0o7777,
            // Some writers leave these empty; tar treats that as 0 too.
            uid: hdr.uid().unwrap_or(0),
            gid: hdr.gid().unwrap_or(0),
            mtime: hdr.mtime().unwrap_or(0),
        })
    }

    /// The owner, as `chown` takes it.
    fn owner(&self) -> (Option<Uid>, Option<Gid>) {
        (
            Some(Uid::from_raw(self.uid as u32)),
            Some(Gid::from_raw(self.gid as u32)),
        )
    }
}
// ANCHOR_END: place

// ANCHOR: parent_cache
/// The parent directory of the last regular file, still open.
///
/// Most files follow a sibling, and walking from the root again would cost
/// one `openat` per path component. Any entry that is not a regular file may
/// change the tree's shape, so it empties the cache.
#[derive(Default)]
struct ParentCache(Option<(Vec<u8>, OwnedFd)>);

impl ParentCache {
    /// Opens the directory `parents` (creating what is missing), or takes it
    /// from the cache if it is the one cached. Returns it with the key to
    /// [`ParentCache::keep`] it under.
    fn open(&mut self, root: &Confined, parents: &[&OsStr]) -> Result<(Vec<u8>, OwnedFd)> {
        // The raw bytes, not a display form: two names that are not UTF-8
        // would display alike.
        let key = parents.join(OsStr::new("/")).into_vec();
        let dir = match self.0.take() {
            Some((k, fd)) if k == key => fd,
            _ => root.dir(parents, true)?,
        };
        Ok((key, dir))
    }

    /// Caches `dir`, the directory of `key`, for the next entry.
    fn keep(&mut self, key: Vec<u8>, dir: OwnedFd) {
        self.0 = Some((key, dir));
    }

    /// Empties the cache.
    fn forget(&mut self) {
        self.0 = None;
    }
}
// ANCHOR_END: parent_cache

// ANCHOR: apply_whiteout
/// Applies an OCI whiteout entry in overlayfs' dialect: `.wh..wh..opq` marks
/// its directory opaque, `.wh.NAME` removes what this layer put at NAME and
/// leaves a whiteout there for overlayfs to hide the lower layers' NAME.
/// Other `.wh..wh.` names are AUFS bookkeeping and are dropped. The marker
/// entry itself is never created: overlayfs would show it as a plain file.
fn apply_whiteout(root: &Confined, comps: &[&OsStr], meaning: Name<'_>) -> Result<()> {
    match meaning {
        Name::Plain | Name::Internal => {}
        Name::Opaque => {
            let dir = root.dir(&comps[..comps.len() - 1], true)?;
            whiteout::set_opaque(&dir)
                .with_context(|| format!("mark {} opaque", display(comps)))?;
        }
        Name::Whiteout(target) => {
            // ".wh.." would name the directory itself, ".wh..." its
            // parent: removing "that" would delete outside the entry.
            if matches!(target.as_bytes(), b"" | b"." | b"..") {
                bail!("refusing whiteout {}: it names no file", display(comps));
            }
            let (dir, _) = root.parent(comps, true)?;
            remove_existing(&dir, target)?;
            whiteout::make_whiteout(&dir, target)?;
        }
    }
    Ok(())
}
// ANCHOR_END: apply_whiteout

// ANCHOR: make_dir
/// Creates a directory, or keeps the one there: a layer often lists a
/// directory a lower entry (or the layer itself) already made, and its
/// contents must survive. Anything else in the way is replaced. The
/// directory is made `0700` and its metadata returned, to be set by
/// [`restore_directories`] once every entry is in.
fn make_dir(at: &Place<'_>, meta: Meta) -> Result<DirMeta> {
    match mkdirat(at.dir, at.name, Mode::from_bits_truncate(0o700)) {
        Ok(()) => {}
        Err(Errno::EEXIST) if is_dir(at.dir, at.name) => {}
        Err(Errno::EEXIST) => {
            remove_existing(at.dir, at.name)?;
            mkdirat(at.dir, at.name, Mode::from_bits_truncate(0o700))
                .with_context(|| format!("mkdir {}", display(at.comps)))?;
        }
        Err(e) => return Err(e).with_context(|| format!("mkdir {}", display(at.comps))),
    }
    Ok(DirMeta {
        path: at.path.to_vec(),
        meta,
    })
}
// ANCHOR_END: make_dir

// ANCHOR: write_file
/// Writes a regular file: creates it (see [`create_new`]), tells the
/// tar-split recorder where its content lies in the stream, copies the
/// content, then sets owner, mode and time, and last the extended attributes
/// the pax header carries. The xattrs come after `chown` because the kernel
/// clears `security.capability` when a file changes owner.
fn write_file<R: Read>(
    at: &Place<'_>,
    entry: &mut tar::Entry<'_, R>,
    meta: Meta,
    marker: Option<&Marker>,
    buf: &mut [u8],
) -> Result<u64> {
    let fd = create_new(at)?;
    if let Some(m) = marker {
        // A sparse file's content is not stored as one run of bytes.
        if entry.header().entry_type() != EntryType::GNUSparse {
            m.file_content(entry.raw_file_position(), entry.size(), at.path)
                .context("write the layer's tar-split")?;
        }
    }
    let xattrs = pax_xattrs(entry)?;
    let mut file = std::fs::File::from(fd);
    let bytes =
        copy(entry, &mut file, buf).with_context(|| format!("write {}", display(at.comps)))?;
    set_meta(file.as_fd(), meta, at.comps)?;
    for (key, value) in &xattrs {
        whiteout::set_xattr(file.as_fd(), key, value)
            .with_context(|| format!("set xattr {key} on {}", display(at.comps)))?;
    }
    Ok(bytes)
}

/// Creates the file `at`, `0600` until its metadata is set. `O_EXCL` with
/// `O_NOFOLLOW`: never open an existing file, nor a symlink's target (a
/// layer's `etc/passwd -> /etc/passwd` would have us write the host's);
/// whatever is there is removed and the file created anew.
fn create_new(at: &Place<'_>) -> Result<OwnedFd> {
    let create = || {
        openat(
            at.dir,
            at.name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
    };
    match create() {
        Err(Errno::EEXIST) => {
            remove_existing(at.dir, at.name)?;
            create()
        }
        other => other,
    }
    .with_context(|| format!("create {}", display(at.comps)))
}
// ANCHOR_END: write_file

// ANCHOR: make_symlink
/// Creates a symlink as it is: an absolute target such as `/bin/busybox` is
/// normal in a root filesystem and is resolved inside the container later.
/// Owner and time are set on the link itself (`AT_SYMLINK_NOFOLLOW`), never
/// on what it points to; Linux has no mode for a symlink.
fn make_symlink<R: Read>(at: &Place<'_>, entry: &tar::Entry<'_, R>, meta: Meta) -> Result<()> {
    let target = entry
        .link_name_bytes()
        .with_context(|| format!("symlink {} has no target", display(at.comps)))?
        .into_owned();
    remove_existing(at.dir, at.name)?;
    symlinkat(OsStr::from_bytes(&target), at.dir, at.name)
        .with_context(|| format!("symlink {}", display(at.comps)))?;
    let (uid, gid) = meta.owner();
    fchownat(at.dir, at.name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
        .with_context(|| format!("lchown {}", display(at.comps)))?;
    let t = TimeSpec::new(meta.mtime as i64, 0);
    utimensat(at.dir, at.name, &t, &t, UtimensatFlags::NoFollowSymlink)
        .with_context(|| format!("set times of {}", display(at.comps)))?;
    Ok(())
}
// ANCHOR_END: make_symlink

// ANCHOR: make_hard_link
/// Creates a hard link. Its target is confined like any entry name, so it
/// can only be a file this archive already put in the destination: a link
/// to a host file would let the container write the host's file. A hard
/// link to a directory is refused (the kernel refuses it too, less clearly).
fn make_hard_link<R: Read>(
    root: &Confined,
    at: &Place<'_>,
    entry: &tar::Entry<'_, R>,
) -> Result<()> {
    let comps = at.comps;
    let target = entry
        .link_name_bytes()
        .with_context(|| format!("hard link {} has no target", display(comps)))?
        .into_owned();
    let tcomps = components(&target).with_context(|| format!("hard link {}", display(comps)))?;
    let (tdir, tname) = root
        .parent(&tcomps, false)
        .with_context(|| format!("hard link {} to {}", display(comps), display(&tcomps)))?;
    if is_dir(&tdir, tname) {
        bail!(
            "refusing hard link {} to directory {}",
            display(comps),
            display(&tcomps)
        );
    }
    remove_existing(at.dir, at.name)?;
    linkat(&tdir, tname, at.dir, at.name, AtFlags::empty())
        .with_context(|| format!("hard link {} to {}", display(comps), display(&tcomps)))?;
    Ok(())
}
// ANCHOR_END: make_hard_link

// ANCHOR: make_node
/// Creates a FIFO, or the 0/0 character device that is overlayfs' whiteout.
///
/// Any other device node in an image would give the container the host's
/// device of that number (a node for the host's disk opens the host's
/// disk), so it is skipped: containers get their devices from chapter 3's
/// `/dev`.
fn make_node<R: Read>(at: &Place<'_>, entry: &tar::Entry<'_, R>, meta: Meta) -> Result<()> {
    let kind = entry.header().entry_type();
    let sflag = match kind {
        EntryType::Char => SFlag::S_IFCHR,
        EntryType::Block => SFlag::S_IFBLK,
        _ => SFlag::S_IFIFO,
    };
    let dev = nix::sys::stat::makedev(
        u64::from(entry.header().device_major().ok().flatten().unwrap_or(0)),
        u64::from(entry.header().device_minor().ok().flatten().unwrap_or(0)),
    );
    if kind != EntryType::Fifo && dev != 0 {
        return Ok(());
    }
    remove_existing(at.dir, at.name)?;
    mknodat(at.dir, at.name, sflag, Mode::from_bits_truncate(0o600), dev)
        .with_context(|| format!("mknod {}", display(at.comps)))?;
    let (uid, gid) = meta.owner();
    fchownat(at.dir, at.name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
        .with_context(|| format!("chown {}", display(at.comps)))?;
    // The node was just made by us in a directory nobody else
    // writes to, so following "links" here cannot leave it.
    fchmodat(
        at.dir,
        at.name,
        Mode::from_bits_truncate(meta.mode),
        FchmodatFlags::FollowSymlink,
    )
    .with_context(|| format!("chmod {}", display(at.comps)))?;
    Ok(())
}
// ANCHOR_END: make_node

// ANCHOR: restore_directories
/// A directory whose metadata waits for the end of the unpack.
struct DirMeta {
    path: Vec<u8>,
    meta: Meta,
}

/// Sets each directory's owner, mode and time, deepest last-listed first.
/// This waits until every entry is in: creating a directory's children
/// changes its mtime, and a read-only mode would get in the way of a
/// non-root unpack. A later entry may have replaced the directory; then its
/// metadata no longer applies and it is skipped.
fn restore_directories(root: &Confined, dirs: &[DirMeta]) -> Result<()> {
    for d in dirs.iter().rev() {
        let Ok(comps) = components(&d.path) else {
            continue;
        };
        let Ok(fd) = root.dir(&comps, false) else {
            continue;
        };
        set_meta(fd.as_fd(), d.meta, &comps)?;
    }
    Ok(())
}
// ANCHOR_END: restore_directories

/// The extended attributes a pax header carries for this entry
/// (`SCHILY.xattr.NAME`, as GNU tar and Docker write them). Only file
/// capabilities and `user.*` are kept: a `trusted.overlay.*` attribute from
/// an archive could redirect overlayfs lookups, and `security.selinux`
/// labels belong to the host's policy, not to an image.
fn pax_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions().context("read pax extensions")? {
        for ext in exts {
            let ext = ext.context("read a pax extension")?;
            let Ok(key) = ext.key() else { continue };
            if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                if name == "security.capability" || name.starts_with("user.") {
                    out.push((name.to_string(), ext.value_bytes().to_vec()));
                }
            }
        }
    }
    Ok(out)
}

/// Sets the owner, mode and time of the open file or directory `fd`.
fn set_meta(fd: std::os::fd::BorrowedFd<'_>, meta: Meta, comps: &[&OsStr]) -> Result<()> {
    // chown first: it clears set-uid and set-gid bits, which chmod restores.
    let (uid, gid) = meta.owner();
    fchown(fd, uid, gid).with_context(|| format!("chown {}", display(comps)))?;
    fchmod(fd, Mode::from_bits_truncate(meta.mode))
        .with_context(|| format!("chmod {}", display(comps)))?;
    let t = TimeSpec::new(meta.mtime as i64, 0);
    futimens(fd, &t, &t).with_context(|| format!("set times of {}", display(comps)))
}

fn is_dir(dir: &OwnedFd, name: &OsStr) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// Removes whatever is at `name` in `dir` (a whole tree if it is a
/// directory), never following links. A missing entry is fine.
pub fn remove_existing(dir: &OwnedFd, name: &OsStr) -> Result<()> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(Errno::EISDIR) => remove_tree(dir, name),
        Err(e) => Err(e).with_context(|| format!("remove {}", name.to_string_lossy())),
    }
}

fn remove_tree(dir: &OwnedFd, name: &OsStr) -> Result<()> {
    let sub = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {}", name.to_string_lossy()))?;
    let mut names = Vec::new();
    let mut d =
        nix::dir::Dir::from_fd(sub.try_clone().context("dup")?).context("read directory")?;
    for e in d.iter() {
        let e = e.context("read directory")?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    for n in names {
        remove_existing(&sub, OsStr::from_bytes(&n))?;
    }
    unlinkat(dir, name, UnlinkatFlags::RemoveDir)
        .with_context(|| format!("rmdir {}", name.to_string_lossy()))
}

/// Copies `r` into `w` through `buf`, returning the byte count.
pub fn copy(r: &mut impl Read, w: &mut impl Write, buf: &mut [u8]) -> io::Result<u64> {
    let mut n = 0u64;
    loop {
        let k = match r.read(buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// A tar entry made with the low-level header API, so that names the
    /// `tar` crate's builder would refuse (absolute, `..`) can be written.
    pub(crate) fn entry(
        out: &mut Vec<u8>,
        kind: EntryType,
        path: &str,
        link: Option<&str>,
        data: &[u8],
    ) {
        let mut h = tar::Header::new_old();
        let name = path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_uid(u64::from(nix::unistd::geteuid().as_raw()));
        h.set_gid(u64::from(nix::unistd::getegid().as_raw()));
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn finish(mut out: Vec<u8>) -> Vec<u8> {
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn unpack_bytes(tar: &[u8], dest: &Path, mode: Whiteouts) -> Result<Stats> {
        let mut a = tar::Archive::new(tar);
        unpack(&mut a, dest, mode, None)
    }

    /// Runs a hostile tar and checks it fails and leaves `outside` untouched.
    fn refused(tar: Vec<u8>, outside: &Path, expect: &str) {
        let dest = tempfile::tempdir().unwrap();
        let before: Vec<_> = std::fs::read_dir(outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let err = unpack_bytes(&finish(tar), dest.path(), Whiteouts::Overlay).unwrap_err();
        assert!(format!("{err:#}").contains(expect), "{err:#}");
        let after: Vec<_> = std::fs::read_dir(outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after, "something was written outside");
    }

    #[test]
    fn absolute_paths_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        entry(
            &mut t,
            EntryType::Regular,
            &format!("{}/pwned", outside.path().display()),
            None,
            b"x",
        );
        refused(t, outside.path(), "absolute");
    }

    #[test]
    fn dotdot_escapes_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        let up = "../".repeat(20);
        entry(
            &mut t,
            EntryType::Regular,
            &format!("{up}{}/pwned", outside.path().display()),
            None,
            b"x",
        );
        refused(t, outside.path(), "'..'");
    }

    #[test]
    fn writing_through_a_symlink_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        entry(
            &mut t,
            EntryType::Symlink,
            "evil",
            Some(&outside.path().display().to_string()),
            b"",
        );
        entry(&mut t, EntryType::Regular, "evil/pwned", None, b"x");
        refused(t, outside.path(), "symlink");
    }

    #[test]
    fn hardlinks_out_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let secret = outside.path().join("secret").display().to_string();
        let mut t = Vec::new();
        entry(&mut t, EntryType::Link, "pw", Some(&secret), b"");
        refused(t, outside.path(), "absolute");
        let mut t = Vec::new();
        entry(
            &mut t,
            EntryType::Link,
            "pw",
            Some(&format!("{}{secret}", "../".repeat(20))),
            b"",
        );
        refused(t, outside.path(), "'..'");
        // Through a symlink of the layer to the outside directory.
        let mut t = Vec::new();
        entry(
            &mut t,
            EntryType::Symlink,
            "out",
            Some(&outside.path().display().to_string()),
            b"",
        );
        entry(&mut t, EntryType::Link, "pw", Some("out/secret"), b"");
        refused(t, outside.path(), "symlink");
        assert_eq!(
            std::fs::metadata(outside.path().join("secret"))
                .unwrap()
                .nlink(),
            1
        );
    }

    #[test]
    fn whiteouts_of_dot_and_dotdot_are_refused() {
        let dest = tempfile::tempdir().unwrap();
        std::fs::create_dir(dest.path().join("layer")).unwrap();
        std::fs::write(dest.path().join("keep"), "k").unwrap();
        for name in [".wh...", "a/.wh...", ".wh..", ".wh."] {
            let mut t = Vec::new();
            entry(&mut t, EntryType::Regular, name, None, b"");
            let err = unpack_bytes(&finish(t), &dest.path().join("layer"), Whiteouts::Overlay)
                .unwrap_err();
            assert!(
                format!("{err:#}").contains("names no file"),
                "{name}: {err:#}"
            );
        }
        assert!(dest.path().join("keep").exists());
    }

    #[test]
    fn device_nodes_are_not_created() {
        if !testkit::require_root("device_nodes_are_not_created") {
            return;
        }
        let dest = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        for (name, kind) in [
            ("disk", EntryType::Block),
            ("mem", EntryType::Char),
            ("fifo", EntryType::Fifo),
        ] {
            let mut h = tar::Header::new_ustar();
            h.set_path(name).unwrap();
            h.set_entry_type(kind);
            h.set_mode(0o600);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h.set_size(0);
            h.set_device_major(if kind == EntryType::Fifo { 0 } else { 8 })
                .unwrap();
            h.set_device_minor(if kind == EntryType::Char { 1 } else { 0 })
                .unwrap();
            h.set_cksum();
            t.extend_from_slice(h.as_bytes());
        }
        unpack_bytes(&finish(t), dest.path(), Whiteouts::Overlay).unwrap();
        assert!(!dest.path().join("disk").exists());
        assert!(!dest.path().join("mem").exists());
        assert!(
            std::fs::symlink_metadata(dest.path().join("fifo"))
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }

    #[test]
    fn whiteouts_and_odd_names_do_not_confuse_the_directory_cache() {
        if !testkit::require_root("whiteouts_and_odd_names_do_not_confuse_the_directory_cache") {
            return;
        }
        let dest = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        entry(&mut t, EntryType::Regular, "a/b/f", None, b"1");
        entry(&mut t, EntryType::Regular, "a/.wh.b", None, b"");
        let t = {
            // Two directory names that are not UTF-8 and display alike.
            let mut t = t;
            let mut more = Vec::new();
            entry(&mut more, EntryType::Regular, "d/X/f", None, b"3");
            entry(&mut more, EntryType::Regular, "d/Y/f", None, b"4");
            let x = more.iter().position(|b| *b == b'X').unwrap();
            more[x] = 0xff;
            let y = more.iter().position(|b| *b == b'Y').unwrap();
            more[y] = 0xfe;
            // Fix the checksums of the edited headers.
            for off in [0, 1024] {
                let h = tar::Header::from_byte_slice(&more[off..off + 512]).clone();
                let mut h = h;
                h.set_cksum();
                more[off..off + 512].copy_from_slice(h.as_bytes());
            }
            t.extend(more);
            t
        };
        unpack_bytes(&finish(t), dest.path(), Whiteouts::Overlay).unwrap();
        let d = dest.path();
        assert!(
            std::fs::symlink_metadata(d.join("a/b"))
                .unwrap()
                .file_type()
                .is_char_device()
        );
        use std::os::unix::ffi::OsStrExt as _;
        let ff = d.join("d").join(OsStr::from_bytes(b"\xff")).join("f");
        let fe = d.join("d").join(OsStr::from_bytes(b"\xfe")).join("f");
        assert_eq!(std::fs::read(ff).unwrap(), b"3");
        assert_eq!(std::fs::read(fe).unwrap(), b"4");
    }

    #[test]
    fn plain_tree_with_links() {
        let dest = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        entry(&mut t, EntryType::Directory, "./bin/", None, b"");
        entry(&mut t, EntryType::Regular, "./bin/busybox", None, b"ELF");
        entry(
            &mut t,
            EntryType::Symlink,
            "./bin/sh",
            Some("/bin/busybox"),
            b"",
        );
        entry(
            &mut t,
            EntryType::Link,
            "./bin/ash",
            Some("./bin/busybox"),
            b"",
        );
        let stats = unpack_bytes(&finish(t), dest.path(), Whiteouts::Overlay).unwrap();
        assert_eq!(stats.entries, 4);
        let d = dest.path();
        assert_eq!(
            std::fs::read_link(d.join("bin/sh")).unwrap(),
            Path::new("/bin/busybox")
        );
        assert_eq!(
            std::fs::metadata(d.join("bin/ash")).unwrap().ino(),
            std::fs::metadata(d.join("bin/busybox")).unwrap().ino()
        );
        assert_eq!(
            std::fs::metadata(d.join("bin/busybox")).unwrap().mtime(),
            1_700_000_000
        );
    }

    #[test]
    fn oci_whiteouts_become_overlay_whiteouts() {
        if !testkit::require_root("oci_whiteouts_become_overlay_whiteouts") {
            return;
        }
        let dest = tempfile::tempdir().unwrap();
        let mut t = Vec::new();
        entry(&mut t, EntryType::Directory, "etc/", None, b"");
        entry(&mut t, EntryType::Regular, "etc/.wh.passwd", None, b"");
        entry(&mut t, EntryType::Directory, "data/", None, b"");
        entry(&mut t, EntryType::Regular, "data/.wh..wh..opq", None, b"");
        entry(&mut t, EntryType::Regular, "data/new", None, b"n");
        unpack_bytes(&finish(t.clone()), dest.path(), Whiteouts::Overlay).unwrap();
        let wh = std::fs::symlink_metadata(dest.path().join("etc/passwd")).unwrap();
        assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
        assert!(!dest.path().join("etc/.wh.passwd").exists());
        let data = std::fs::File::open(dest.path().join("data")).unwrap();
        assert!(whiteout::is_opaque(&data));
        assert!(!dest.path().join("data/.wh..wh..opq").exists());

        // And in Keep mode they stay plain files.
        let keep = tempfile::tempdir().unwrap();
        unpack_bytes(&finish(t), keep.path(), Whiteouts::Keep).unwrap();
        assert!(keep.path().join("etc/.wh.passwd").is_file());
    }
}
