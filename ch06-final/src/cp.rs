//! `cp CONTAINER:SRC DEST` and `cp SRC CONTAINER:DEST`: files between a
//! container and the host.
//!
//! The container's files are data someone else wrote, and its processes
//! may change them while we copy. A path in the container is therefore
//! never handed to the kernel as a host path: `/evil -> /etc` would lead to
//! the host's `/etc`. We open the container's root directory once and
//! resolve each path from it with `openat2(2)` and `RESOLVE_IN_ROOT`
//! (chapter 3's [`open_in_rootfs`]), so that every symlink is read as the
//! container reads it. Below that, the tree is walked through descriptors
//! with `O_NOFOLLOW`: a symlink met inside is copied as a symlink, never
//! followed, whichever way we copy.
//!
//! The root is the running container's own (`/proc/PID/root`, which lands
//! in its mount namespace, volumes included) or, for a stopped container,
//! its overlay mounted again in a private mount namespace of this process.
//!
//! Docker's rules for the destination are kept: an existing directory
//! receives the source under its own name, anything else is the new name;
//! `SRC/.` copies a directory's content. Files copied out belong to the
//! user who runs `cp`; files copied in belong to root, as in Docker.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Permissions};
use std::io::ErrorKind;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{FileStat, Mode, SFlag, fchmod, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, symlinkat, unlinkat};

use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::syscall::{Kernel, Syscall};
use ch03_overlayfs::volumes::{clean_components, open_in_rootfs};
use ch04_images::containers::{ContainerStore, Record};
use ch04_images::images::ImageStore;

/// One side of `cp`: a host path, or a path in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A path on the host.
    Host(PathBuf),
    /// `CONTAINER:PATH`.
    Container {
        /// The container's name or id.
        name: String,
        /// The path inside it.
        path: String,
    },
}

impl Endpoint {
    /// Reads an argument as Docker does: an absolute path, or one whose
    /// part before the first `:` is empty or starts with `.`, is the
    /// host's; otherwise `CONTAINER:PATH`.
    pub fn parse(arg: &str) -> Endpoint {
        if arg.starts_with('/') {
            return Endpoint::Host(arg.into());
        }
        match arg.split_once(':') {
            Some((name, path)) if !name.is_empty() && !name.starts_with('.') => {
                Endpoint::Container {
                    name: name.to_string(),
                    path: path.to_string(),
                }
            }
            _ => Endpoint::Host(arg.into()),
        }
    }
}

// ANCHOR: cp
/// `cp SRC DEST`: one side in a container, the other on the host.
pub fn cp(root: &Path, store: &ContainerStore, source: &str, dest: &str) -> Result<()> {
    match (Endpoint::parse(source), Endpoint::parse(dest)) {
        (Endpoint::Container { name, path }, Endpoint::Host(to)) => {
            let record = store.find(&name)?;
            with_container_root(root, store, &record, |fs| copy_out(fs, &path, &to))
        }
        (Endpoint::Host(from), Endpoint::Container { name, path }) => {
            let record = store.find(&name)?;
            with_container_root(root, store, &record, |fs| copy_in(&from, fs, &path))
        }
        (Endpoint::Container { .. }, Endpoint::Container { .. }) => {
            bail!("copying between containers is not supported")
        }
        (Endpoint::Host(_), Endpoint::Host(_)) => {
            bail!("must specify at least one container source")
        }
    }
}
// ANCHOR_END: cp

// ANCHOR: container_root
/// Opens the container's root directory and hands it to `work`.
///
/// A running container's root is `/proc/PID/root`: opening it follows the
/// magic link once, to the root of the container's own mount namespace,
/// and every lookup from that descriptor stays in its mounts. A stopped
/// container has no mounts left, so we mount its overlay again (upper and
/// work directories included, so what we copy in is kept) in a mount
/// namespace of our own: the mount is invisible to the host and goes away
/// with this process, even if it is killed. `unshare` needs a
/// single-threaded process: `cp` runs in `main`'s thread.
fn with_container_root(
    root: &Path,
    store: &ContainerStore,
    record: &Record,
    work: impl FnOnce(BorrowedFd<'_>) -> Result<()>,
) -> Result<()> {
    if let Some(process) = record.live_process() {
        let dir = format!("/proc/{}/root", process.pid);
        let fd = open_dir(Path::new(&dir))?;
        return work(fd.as_fd());
    }
    let images = ImageStore::new(root);
    let image = images
        .get(&record.image_id)
        .with_context(|| format!("the image of container {}", record.name))?;
    let overlay = Overlay::new(image.lowerdirs(&images.layers), store.dir_of(&record.id));
    let sys = Kernel;
    sys.unshare(CloneFlags::CLONE_NEWNS)
        .context("unshare the mount namespace for cp")?;
    sys.mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .context("make / private (mount --make-rprivate /)")?;
    let merged = overlay.merged();
    for dir in [overlay.upper(), overlay.work(), merged.clone()] {
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    }
    overlay.mount(&sys)?;
    let done = open_dir(&merged).and_then(|fd| work(fd.as_fd()));
    let _ = sys.umount2(&merged, MntFlags::MNT_DETACH);
    done
}
// ANCHOR_END: container_root

fn open_dir(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {}", path.display()))
}

/// A path in the container split as the copy needs it: the directory that
/// holds it (resolved inside the root) and its last name (`.` for the root
/// itself), and whether it asked for a directory's content (`DIR/.`).
struct Located {
    parent: OwnedFd,
    name: OsString,
    content: bool,
}

/// Resolves the directory holding `path` inside `fs`.
fn locate(fs: BorrowedFd<'_>, path: &str) -> Result<Located> {
    let shown = || format!("{path} in the container");
    let mut parts = clean_components(Path::new(path));
    let content = path.ends_with("/.") || path == ".";
    let name = parts.pop().unwrap_or_else(|| ".".into());
    let dir: PathBuf = parts.iter().collect();
    let parent = open_in_rootfs(fs, &dir, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .with_context(|| format!("resolve the directory of {}", shown()))?;
    Ok(Located {
        parent,
        name,
        content,
    })
}

/// `lstat` of `name` in `dir`.
fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<FileStat> {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
}

fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
}

// ANCHOR: copy_out
/// `cp CONTAINER:path to`.
fn copy_out(fs: BorrowedFd<'_>, path: &str, to: &Path) -> Result<()> {
    let src = locate(fs, path)?;
    let stat = lstat_at(src.parent.as_fd(), &src.name)
        .with_context(|| format!("could not find the file {path} in container"))?;
    let is_dir = kind(&stat) == SFlag::S_IFDIR;
    let dest = match std::fs::metadata(to) {
        Ok(meta) if meta.is_dir() && is_dir && src.content => {
            // `DIR/.` into an existing directory: the content merges in.
            return copy_dir_out(src.parent.as_fd(), &src.name, to);
        }
        Ok(meta) if meta.is_dir() => to.join(base_name(&src.name, path)),
        Ok(_) if is_dir => bail!("cannot copy a directory to a file: {}", to.display()),
        Ok(_) => to.to_path_buf(),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if !is_dir && to.as_os_str().as_bytes().ends_with(b"/") {
                bail!("destination directory {} does not exist", to.display());
            }
            to.to_path_buf()
        }
        Err(e) => return Err(e).with_context(|| format!("stat {}", to.display())),
    };
    copy_entry_out(src.parent.as_fd(), &src.name, &dest)
}

/// Copies the entry `name` of the container's directory `dir` to the host
/// path `dest`, never following a symlink of the container.
fn copy_entry_out(dir: BorrowedFd<'_>, name: &OsStr, dest: &Path) -> Result<()> {
    let stat = lstat_at(dir, name).with_context(|| format!("lstat {}", name.to_string_lossy()))?;
    let mode = Permissions::from_mode(stat.st_mode & 0o7777);
    match kind(&stat) {
        SFlag::S_IFLNK => {
            let target = nix::fcntl::readlinkat(dir, name)
                .with_context(|| format!("readlink {}", name.to_string_lossy()))?;
            remove_non_dir(dest)?;
            std::os::unix::fs::symlink(&target, dest)
                .with_context(|| format!("symlink {}", dest.display()))
        }
        SFlag::S_IFREG => {
            let fd = openat(dir, name, nofollow(OFlag::O_RDONLY), Mode::empty())
                .with_context(|| format!("open {}", name.to_string_lossy()))?;
            remove_non_dir(dest)?;
            let mut out =
                File::create(dest).with_context(|| format!("create {}", dest.display()))?;
            std::io::copy(&mut File::from(fd), &mut out).with_context(|| {
                format!("copy {} to {}", name.to_string_lossy(), dest.display())
            })?;
            out.set_permissions(mode)
                .with_context(|| format!("chmod {}", dest.display()))
        }
        SFlag::S_IFDIR => {
            match std::fs::create_dir(dest) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists && dest.is_dir() => {}
                Err(e) => return Err(e).with_context(|| format!("mkdir {}", dest.display())),
            }
            copy_dir_out(dir, name, dest)?;
            std::fs::set_permissions(dest, mode)
                .with_context(|| format!("chmod {}", dest.display()))
        }
        // Devices, fifos and sockets: not worth a node on the host's disk.
        _ => Ok(()),
    }
}

/// Copies the content of the container's directory `name` (in `dir`) into
/// the host directory `dest`.
fn copy_dir_out(dir: BorrowedFd<'_>, name: &OsStr, dest: &Path) -> Result<()> {
    let fd = openat(
        dir,
        name,
        nofollow(OFlag::O_RDONLY | OFlag::O_DIRECTORY),
        Mode::empty(),
    )
    .with_context(|| format!("open {}", name.to_string_lossy()))?;
    for entry in entries(&fd)? {
        copy_entry_out(fd.as_fd(), &entry, &dest.join(&entry))?;
    }
    Ok(())
}
// ANCHOR_END: copy_out

// ANCHOR: copy_in
/// `cp from CONTAINER:path`.
fn copy_in(from: &Path, fs: BorrowedFd<'_>, path: &str) -> Result<()> {
    let meta =
        std::fs::symlink_metadata(from).with_context(|| format!("lstat {}", from.display()))?;
    let content = from.as_os_str().as_bytes().ends_with(b"/.");
    let target = locate(fs, path)?;
    // The destination itself, resolved inside the root like its directory:
    // a symlink there is followed as the container would follow it.
    let existing = open_in_rootfs(fs, Path::new(path), OFlag::O_PATH);
    match existing {
        Ok(fd) if is_dir(fd.as_fd())? => {
            if meta.is_dir() && content {
                return copy_dir_in(from, fd.as_fd());
            }
            let name = from
                .file_name()
                .map(OsStr::to_os_string)
                .unwrap_or_else(|| ".".into());
            copy_entry_in(from, fd.as_fd(), &name)
        }
        Ok(_) if meta.is_dir() => bail!("cannot copy a directory to a file: {path}"),
        Ok(_) => copy_entry_in(from, target.parent.as_fd(), &target.name),
        Err(Errno::ENOENT) => {
            if !meta.is_dir() && path.ends_with('/') {
                bail!("destination directory {path} does not exist in the container");
            }
            copy_entry_in(from, target.parent.as_fd(), &target.name)
        }
        Err(err) => Err(err).with_context(|| format!("resolve {path} in the container")),
    }
}

/// Copies the host path `from` as the entry `name` of the container's
/// directory `dir`. Nothing is opened in the container without
/// `O_NOFOLLOW`: a symlink planted there is replaced, not followed.
fn copy_entry_in(from: &Path, dir: BorrowedFd<'_>, name: &OsStr) -> Result<()> {
    let meta =
        std::fs::symlink_metadata(from).with_context(|| format!("lstat {}", from.display()))?;
    let mode = Mode::from_bits_truncate(meta.mode() & 0o7777);
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target =
            std::fs::read_link(from).with_context(|| format!("readlink {}", from.display()))?;
        unlink_non_dir(dir, name)?;
        symlinkat(target.as_path(), dir, name)
            .with_context(|| format!("symlink {}", name.to_string_lossy()))
    } else if kind.is_file() {
        let mut input = File::open(from).with_context(|| format!("open {}", from.display()))?;
        unlink_non_dir(dir, name)?;
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL;
        let fd = openat(dir, name, nofollow(flags), Mode::from_bits_truncate(0o600))
            .with_context(|| format!("create {} in the container", name.to_string_lossy()))?;
        let mut out = File::from(fd);
        std::io::copy(&mut input, &mut out)
            .with_context(|| format!("copy {} into the container", from.display()))?;
        fchmod(out.as_fd(), mode).with_context(|| format!("chmod {}", name.to_string_lossy()))
    } else if kind.is_dir() {
        match mkdirat(dir, name, Mode::from_bits_truncate(0o700)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("mkdir {} in the container", name.to_string_lossy()));
            }
        }
        // O_NOFOLLOW: if `name` is a symlink, this fails (ELOOP) instead
        // of leading out of the container.
        let flags = nofollow(OFlag::O_RDONLY | OFlag::O_DIRECTORY);
        let sub = openat(dir, name, flags, Mode::empty())
            .with_context(|| format!("open {} in the container", name.to_string_lossy()))?;
        copy_dir_in(from, sub.as_fd())?;
        fchmod(sub.as_fd(), mode).with_context(|| format!("chmod {}", name.to_string_lossy()))
    } else {
        // Devices, fifos and sockets are not copied.
        Ok(())
    }
}

/// Copies the content of the host directory `from` into the container's
/// directory `dir`.
fn copy_dir_in(from: &Path, dir: BorrowedFd<'_>) -> Result<()> {
    let mut names: Vec<OsString> = std::fs::read_dir(from)
        .with_context(|| format!("read {}", from.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("read {}", from.display()))?;
    names.sort();
    for name in names {
        copy_entry_in(&from.join(&name), dir, &name)?;
    }
    Ok(())
}
// ANCHOR_END: copy_in

/// `flags` with `O_NOFOLLOW` and `O_CLOEXEC`.
fn nofollow(flags: OFlag) -> OFlag {
    flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

fn is_dir(fd: BorrowedFd<'_>) -> Result<bool> {
    let stat = nix::sys::stat::fstat(fd).context("fstat")?;
    Ok(kind(&stat) == SFlag::S_IFDIR)
}

/// The names in the open directory `dir`, without `.` and `..`, sorted.
fn entries(dir: &OwnedFd) -> Result<Vec<OsString>> {
    let copy = dir.try_clone().context("dup a directory descriptor")?;
    let mut listing = nix::dir::Dir::from_fd(copy).context("opendir")?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let entry = entry.context("readdir")?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_os_string());
        }
    }
    names.sort();
    Ok(names)
}

/// The name a copy takes in a destination directory: the source's own
/// (`/` has none: its content goes in under the directory's name).
fn base_name(name: &OsStr, path: &str) -> PathBuf {
    match name == "." {
        true => PathBuf::from(Path::new(path).file_name().unwrap_or(OsStr::new("."))),
        false => PathBuf::from(name),
    }
}

/// Removes a host file or symlink at `path` so a copy can take its place.
fn remove_non_dir(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_dir() => {
            std::fs::remove_file(path).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Removes a file or symlink `name` of the container's directory `dir`.
fn unlink_non_dir(dir: BorrowedFd<'_>, name: &OsStr) -> Result<()> {
    match lstat_at(dir, name) {
        Ok(stat) if kind(&stat) != SFlag::S_IFDIR => {
            unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)
                .with_context(|| format!("remove {} in the container", name.to_string_lossy()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_read_as_docker_reads_them() {
        let c = |name: &str, path: &str| Endpoint::Container {
            name: name.into(),
            path: path.into(),
        };
        assert_eq!(Endpoint::parse("web:/etc/hosts"), c("web", "/etc/hosts"));
        assert_eq!(Endpoint::parse("web:rel"), c("web", "rel"));
        assert_eq!(
            Endpoint::parse("/tmp/a:b"),
            Endpoint::Host("/tmp/a:b".into())
        );
        assert_eq!(Endpoint::parse("./a:b"), Endpoint::Host("./a:b".into()));
        assert_eq!(Endpoint::parse(":x"), Endpoint::Host(":x".into()));
        assert_eq!(Endpoint::parse("file"), Endpoint::Host("file".into()));
    }
}
