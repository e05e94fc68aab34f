//! Images as directories.
//!
//! An image, in this chapter, is nothing but an unpacked root filesystem kept
//! at `<root>/images/NAME`. It is unpacked once, from `NAME.tar` (the flat tar
//! `docker export` writes), and from then on every container of that image
//! shares the same directory as the read-only bottom layer of its overlay. A
//! run never copies or re-extracts it: starting a container costs three empty
//! directories and one mount, whatever the size of the image.
//!
//! Two runs may ask for the same new image at once, and a run may be killed
//! half-way through unpacking. So the unpack happens under a lock, into a
//! temporary directory that is renamed into place only when complete: a
//! directory named `NAME` is always a whole image.

use std::fs::{self, File};
use std::io::BufReader;
use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use nix::fcntl::AtFlags;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{Mode, SFlag, UtimensatFlags, fchmodat, mknodat, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat};

use crate::cli::validate_image_name;
use crate::storage;

/// Where a `NAME.tar` may wait to be imported, in the seed's convention: the
/// current directory, then `/root`.
pub fn tar_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd);
    }
    dirs.push(PathBuf::from("/root"));
    dirs
}

// ANCHOR: resolve
/// The directory of image `name` under the data root `root`, unpacking
/// `NAME.tar` from [`tar_search_dirs`] the first time it is used.
pub fn resolve(root: &Path, name: &str) -> Result<PathBuf> {
    resolve_from(root, name, &tar_search_dirs())
}

/// [`resolve`], looking for `NAME.tar` in `search` only.
pub fn resolve_from(root: &Path, name: &str, search: &[PathBuf]) -> Result<PathBuf> {
    validate_image_name(name)?;
    let images = root.join("images");
    let dir = images.join(name);
    if dir.is_dir() {
        // The common case: no lock, no copy, nothing written.
        return Ok(dir);
    }
    let tar = search
        .iter()
        .map(|d| d.join(format!("{name}.tar")))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            let places: Vec<String> = search.iter().map(|d| d.display().to_string()).collect();
            anyhow!(
                "image {name:?} not found: no {} and no {name}.tar in {}",
                dir.display(),
                places.join(" or ")
            )
        })?;

    fs::create_dir_all(&images).with_context(|| format!("create {}", images.display()))?;
    let _lock = storage::lock(&images)?;
    if dir.is_dir() {
        // Another run unpacked it while we waited for the lock.
        return Ok(dir);
    }
    remove_stale_unpacks(&images, name)?;
    let tmp = images.join(format!(".{name}.unpack-{}", std::process::id()));
    if let Err(err) = unpack(&tar, &tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(err);
    }
    // rename(2) is atomic: other runs see either no image or all of it.
    fs::rename(&tmp, &dir)
        .with_context(|| format!("rename {} to {}", tmp.display(), dir.display()))?;
    Ok(dir)
}
// ANCHOR_END: resolve

/// Removes what an interrupted unpack left behind. Called under the lock, so
/// no other run is unpacking into these right now.
fn remove_stale_unpacks(images: &Path, name: &str) -> Result<()> {
    let prefix = format!(".{name}.unpack-");
    let entries = fs::read_dir(images).with_context(|| format!("read {}", images.display()))?;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let path = entry.path();
            fs::remove_dir_all(&path).with_context(|| format!("remove {}", path.display()))?;
        }
    }
    Ok(())
}

// ANCHOR: unpack
/// Unpacks the tar at `tar` into the new directory `dest`, keeping owners,
/// permissions, times, extended attributes, links and device nodes.
pub fn unpack(tar: &Path, dest: &Path) -> Result<()> {
    let context = || format!("unpack {} into {}", tar.display(), dest.display());
    fs::create_dir(dest).with_context(|| format!("create {}", dest.display()))?;
    let file = File::open(tar).with_context(|| format!("open {}", tar.display()))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);

    // Directories last, deepest first: a read-only directory must not stop
    // its own files from being written, and writing a file changes the
    // directory's mtime, which must be set after.
    let mut directories = Vec::new();
    for entry in archive.entries().with_context(context)? {
        let mut entry = entry.with_context(context)?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            directories.push(entry);
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            // The tar crate would write these as empty regular files: the
            // very bug this chapter is about (see /dev/null).
            make_node(dest, &entry).with_context(context)?;
        } else {
            entry.unpack_in(dest).with_context(context)?;
        }
    }
    directories.sort_by(|a, b| b.path_bytes().cmp(&a.path_bytes()));
    for mut dir in directories {
        dir.unpack_in(dest).with_context(context)?;
    }
    // The tar's "./" entry names `dest` itself, which unpack_in skips.
    fs::set_permissions(dest, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .with_context(|| format!("chmod {}", dest.display()))?;
    Ok(())
}
// ANCHOR_END: unpack

/// Creates a device node or FIFO from a tar entry with `mknodat(2)`, inside
/// `dest`: the parent is resolved with `RESOLVE_IN_ROOT`, so a symlink in the
/// image cannot point the new node outside of it.
fn make_node<R: std::io::Read>(dest: &Path, entry: &tar::Entry<'_, R>) -> Result<()> {
    let header = entry.header();
    let path = entry.path().context("read an entry's path")?;
    let mut parts = Vec::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => parts.push(p.to_os_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            // Same rule as the tar crate: skip an entry that climbs out.
            Component::ParentDir => return Ok(()),
        }
    }
    let Some(name) = parts.pop() else {
        return Ok(());
    };
    let parent: PathBuf = parts.iter().collect();
    let root = nix::fcntl::open(
        dest,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {}", dest.display()))?;
    let parent_path = if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT);
    let dir = crate::volumes::openat2_retrying(root.as_fd(), &parent_path, how)
        .with_context(|| format!("open {} inside the image", parent_path.display()))?;

    let kind = header.entry_type();
    let sflag = if kind.is_character_special() {
        SFlag::S_IFCHR
    } else if kind.is_block_special() {
        SFlag::S_IFBLK
    } else {
        SFlag::S_IFIFO
    };
    let mode = Mode::from_bits_truncate(header.mode().context("read an entry's mode")? & 0o7777);
    let major = header.device_major().ok().flatten().unwrap_or(0);
    let minor = header.device_minor().ok().flatten().unwrap_or(0);
    let device = nix::sys::stat::makedev(major.into(), minor.into());
    let name = Path::new(&name);
    let what = || format!("{} in {}", path.display(), dest.display());
    mknodat(dir.as_fd(), name, sflag, mode, device).with_context(|| format!("mknod {}", what()))?;
    // mknod applied our umask; the image's mode wins.
    fchmodat(
        dir.as_fd(),
        name,
        mode,
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .with_context(|| format!("chmod {}", what()))?;
    let uid = header.uid().context("read an entry's uid")? as u32;
    let gid = header.gid().context("read an entry's gid")? as u32;
    fchownat(
        dir.as_fd(),
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .with_context(|| format!("chown {}", what()))?;
    if let Ok(mtime) = header.mtime() {
        let t = TimeSpec::new(mtime as i64, 0);
        utimensat(dir.as_fd(), name, &t, &t, UtimensatFlags::NoFollowSymlink)
            .with_context(|| format!("set the times of {}", what()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img.tar");
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        let uid = nix::unistd::geteuid().as_raw() as u64;
        let gid = nix::unistd::getegid().as_raw() as u64;
        for (name, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_uid(uid);
            header.set_gid(gid);
            header.set_mtime(1_000_000);
            header.set_cksum();
            builder
                .append_data(&mut header, name, body.as_bytes())
                .unwrap();
        }
        builder.finish().unwrap();
        (dir, path)
    }

    #[test]
    fn unpacks_once_and_then_reuses_the_directory() {
        let (src, _) = tar_with(&[("etc/motd", "hello\n")]);
        let root = tempfile::tempdir().unwrap();
        let search = vec![src.path().to_path_buf()];
        let dir = resolve_from(root.path(), "img", &search).unwrap();
        assert_eq!(dir, root.path().join("images/img"));
        assert_eq!(fs::read_to_string(dir.join("etc/motd")).unwrap(), "hello\n");
        // Remove the tar: the second resolve must not need it.
        fs::remove_file(src.path().join("img.tar")).unwrap();
        fs::write(dir.join("marker"), "still here").unwrap();
        let again = resolve_from(root.path(), "img", &search).unwrap();
        assert_eq!(again, dir);
        assert!(again.join("marker").exists(), "the image was re-extracted");
    }

    #[test]
    fn unknown_image_creates_nothing() {
        let root = tempfile::tempdir().unwrap();
        let err = resolve_from(root.path(), "nope", &[root.path().to_path_buf()]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("image \"nope\" not found"), "{msg}");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn bad_names_are_refused_before_touching_the_disk() {
        let root = tempfile::tempdir().unwrap();
        for bad in ["", "../etc", "a/b", ".hidden", "-x"] {
            assert!(resolve_from(root.path(), bad, &[]).is_err(), "{bad:?}");
        }
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_broken_tar_leaves_no_half_image() {
        let src = tempfile::tempdir().unwrap();
        let (_keep, good) = tar_with(&[("a", "1"), ("b", "2")]);
        // Cut the tar in the middle of the second file's header.
        let bytes = fs::read(&good).unwrap();
        fs::write(src.path().join("cut.tar"), &bytes[..512 + 512 + 100]).unwrap();
        let root = tempfile::tempdir().unwrap();
        // A leftover from an earlier, killed unpack.
        fs::create_dir_all(root.path().join("images/.cut.unpack-1/etc")).unwrap();
        assert!(resolve_from(root.path(), "cut", &[src.path().to_path_buf()]).is_err());
        let left: Vec<_> = fs::read_dir(root.path().join("images"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn concurrent_resolves_unpack_once() {
        let (src, _) = tar_with(&[("big", &"x".repeat(1 << 20))]);
        let root = tempfile::tempdir().unwrap();
        let search = vec![src.path().to_path_buf()];
        let dirs: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| resolve_from(root.path(), "img", &search).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(dirs.iter().all(|d| d == &root.path().join("images/img")));
        let names: Vec<_> = fs::read_dir(root.path().join("images"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("img")]);
    }
}
