//! Who owns the root filesystem of a container in a user namespace.
//!
//! An image is unpacked as host root unpacked it: `/bin/busybox` belongs to
//! uid 0, `/home/nobody` perhaps to 65534. Inside a user namespace mapped to
//! 100000..165535, host uid 0 is not in the map: root inside would see its
//! own `/etc` owned by `nobody`, and could not change a byte of it (its
//! capabilities count only for files whose owner the map contains). Every
//! id on the disk has to be moved by the map's first id: 0 to 100000, 65534
//! to 165534.
//!
//! Two ways to do that:
//!
//! - an *idmapped mount* (`mount_setattr(2)` with `MOUNT_ATTR_IDMAP`, Linux
//!   5.12): a second view of the same files in which every owner is shifted,
//!   nothing copied. But the filesystem must support it (ext4, xfs, btrfs
//!   yes; tmpfs only since 6.3, so not the test VM's 6.1 whose data root is
//!   a tmpfs), and overlayfs accepts idmapped lower layers only since 5.19;
//!   the failure is then an `EINVAL` at mount time, on one machine and not
//!   the next.
//! - a *shifted copy* of each layer, made once per mapping and kept beside
//!   it (`images/busybox` -> `images/busybox.userns-100000`), reused by every
//!   later container of that mapping. It costs the disk space of the image
//!   once, and works on every kernel and filesystem.
//!
//! mydocker takes the copy: it always works, and it is made only once. The
//! container's own directories (upper, work) are then given to the mapped
//! root, so that what the container writes belongs to host uid 100000.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ch01_namespaces::userns::IdMap;
use nix::sys::stat::{Mode, SFlag};

// ANCHOR: shifted_layer
/// The copy of `layer` owned as `map` sees it, made on first use: the
/// sibling `LAYER.userns-UID`.
///
/// The copy is made under a temporary name and renamed into place, so a
/// crash leaves no half copy under the real name, and two runs racing for
/// it both end with one complete copy.
pub fn shifted_layer(layer: &Path, map: &IdMap) -> Result<PathBuf> {
    let name = layer
        .file_name()
        .with_context(|| format!("image layer {} has no name", layer.display()))?
        .to_string_lossy()
        .into_owned();
    let shifted = layer.with_file_name(format!("{name}.userns-{}", map.uid));
    if shifted.is_dir() {
        return Ok(shifted);
    }
    let temporary =
        layer.with_file_name(format!(".{name}.userns-{}.{}", map.uid, std::process::id()));
    let copied = copy_shifted(layer, &temporary, map, &mut HashMap::new());
    if let Err(err) = copied {
        let _ = fs::remove_dir_all(&temporary);
        return Err(err.context(format!(
            "shift {} to {}",
            layer.display(),
            shifted.display()
        )));
    }
    if let Err(err) = fs::rename(&temporary, &shifted) {
        let _ = fs::remove_dir_all(&temporary);
        // Another run was quicker: its copy is as good as ours.
        if !shifted.is_dir() {
            return Err(err).with_context(|| format!("rename to {}", shifted.display()));
        }
    }
    Ok(shifted)
}
// ANCHOR_END: shifted_layer

/// The shifted copies of `map` of every layer of an image, top-most first.
pub fn shifted_layers(layers: &[PathBuf], map: &IdMap) -> Result<Vec<PathBuf>> {
    layers
        .iter()
        .map(|layer| shifted_layer(layer, map))
        .collect()
}

// ANCHOR: copy_shifted
/// Copies the tree at `from` to the new `to`, every owner moved by the map,
/// keeping modes, times, symbolic links, device nodes (overlayfs's
/// whiteouts are 0:0 character devices) and hard links (`links`: the first
/// copy of each inode).
fn copy_shifted(
    from: &Path,
    to: &Path,
    map: &IdMap,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<()> {
    let meta = fs::symlink_metadata(from).with_context(|| format!("stat {}", from.display()))?;
    let kind = meta.file_type();
    if !kind.is_dir() && meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            return fs::hard_link(first, to).with_context(|| format!("link {}", to.display()));
        }
        links.insert((meta.dev(), meta.ino()), to.to_path_buf());
    }
    if kind.is_dir() {
        fs::create_dir(to).with_context(|| format!("create {}", to.display()))?;
        for entry in fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
            let entry = entry.with_context(|| format!("read {}", from.display()))?;
            copy_shifted(&entry.path(), &to.join(entry.file_name()), map, links)?;
        }
    } else if kind.is_symlink() {
        let target = fs::read_link(from).with_context(|| format!("readlink {}", from.display()))?;
        std::os::unix::fs::symlink(&target, to)
            .with_context(|| format!("symlink {}", to.display()))?;
    } else if kind.is_file() {
        fs::copy(from, to).with_context(|| format!("copy {}", from.display()))?;
    } else {
        // Devices, fifos, sockets: the same node again.
        let node = SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
        nix::sys::stat::mknod(to, node, Mode::from_bits_truncate(meta.mode()), meta.rdev())
            .with_context(|| format!("mknod {}", to.display()))?;
    }
    let (uid, gid) = (map.host_uid(meta.uid()), map.host_gid(meta.gid()));
    std::os::unix::fs::lchown(to, Some(uid), Some(gid))
        .with_context(|| format!("chown {uid}:{gid} {}", to.display()))?;
    if !kind.is_symlink() {
        // After the chown, which clears setuid and setgid bits.
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .with_context(|| format!("chmod {}", to.display()))?;
        let times = [
            nix::sys::time::TimeSpec::new(meta.atime(), meta.atime_nsec()),
            nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec()),
        ];
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            to,
            &times[0],
            &times[1],
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .with_context(|| format!("set the times of {}", to.display()))?;
    }
    Ok(())
}
// ANCHOR_END: copy_shifted

// ANCHOR: give_to_root
/// Gives `dir` to the mapped root (host uid `map.uid`), for the container's
/// upper and work directories and its volumes.
pub fn give_to_root(dir: &Path, map: &IdMap) -> Result<()> {
    std::os::unix::fs::lchown(dir, Some(map.uid), Some(map.gid))
        .with_context(|| format!("chown {}:{} {}", map.uid, map.gid, dir.display()))
}

/// Lets every user pass through `dir` (`chmod o+x`, as Docker does to its
/// data root in this mode): the container's processes are such users, and
/// the overlay's layers, the volumes and the files bound into the root are
/// all reached through the data root.
pub fn allow_traversal(dir: &Path) -> Result<()> {
    let meta = fs::metadata(dir).with_context(|| format!("stat {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o011 != 0o011 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o011))
            .with_context(|| format!("chmod o+x {}", dir.display()))?;
    }
    Ok(())
}
// ANCHOR_END: give_to_root

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: IdMap = IdMap {
        uid: 100000,
        gid: 200000,
        size: 65536,
    };

    #[test]
    fn a_shifted_copy_moves_every_owner_keeps_the_rest_and_is_made_once() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skip: chown needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("busybox");
        fs::create_dir_all(image.join("home/nobody")).unwrap();
        fs::write(image.join("file"), "data").unwrap();
        fs::set_permissions(image.join("file"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::hard_link(image.join("file"), image.join("link")).unwrap();
        std::os::unix::fs::symlink("file", image.join("sym")).unwrap();
        std::os::unix::fs::lchown(image.join("home/nobody"), Some(65534), Some(65534)).unwrap();

        let shifted = shifted_layer(&image, &MAP).unwrap();
        assert_eq!(shifted, dir.path().join("busybox.userns-100000"));
        let owner = |p: &str| {
            let m = fs::symlink_metadata(shifted.join(p)).unwrap();
            (m.uid(), m.gid())
        };
        assert_eq!(owner(""), (100000, 200000));
        assert_eq!(owner("file"), (100000, 200000));
        assert_eq!(owner("sym"), (100000, 200000));
        assert_eq!(owner("home/nobody"), (165534, 265534));
        let file = fs::metadata(shifted.join("file")).unwrap();
        assert_eq!(file.mode() & 0o7777, 0o4755);
        assert_eq!(
            file.ino(),
            fs::metadata(shifted.join("link")).unwrap().ino()
        );
        assert_eq!(
            fs::read_link(shifted.join("sym")).unwrap(),
            Path::new("file")
        );
        // The original is untouched, and a second call reuses the copy.
        assert_eq!(fs::metadata(image.join("file")).unwrap().uid(), 0);
        fs::write(shifted.join("marker"), "").unwrap();
        assert!(shifted_layer(&image, &MAP).unwrap().join("marker").exists());
        // No temporary copy is left.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
