//! Volumes: host directories (or files) bind-mounted into the container.
//!
//! A bind mount makes a directory visible at a second place; both names lead
//! to the same files, so what the container writes there is on the host and
//! outlives the container. The mounts are made in the child, after the
//! overlay and before `pivot_root`, while both the host's paths and the new
//! root are still reachable.
//!
//! The delicate part is the *target*. It is a path inside the image, and an
//! image is data someone else wrote: `/data` may be a symlink to `/etc`, and
//! the kernel, resolving it from the host's point of view, would follow it to
//! the host's `/etc`. So the target is resolved with `openat2(2)` and
//! `RESOLVE_IN_ROOT`: every symlink, absolute or full of `..`, is interpreted
//! as if the rootfs were `/`. The mount is then made onto the file
//! descriptor we resolved (through `/proc/self/fd/N`), not onto a path that
//! could be resolved again, differently.
//!
//! The source is a host path or the name of a volume mydocker keeps
//! ([`crate::named`]). As in Docker, a host directory that does not exist
//! is created (mode 0755, owned by root), and a new, empty named volume is
//! first filled with what the image has at the target ([`seed`]).

use std::ffi::OsString;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat, openat2};
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, fstat, mkdirat};

use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;

use crate::named::{self, InUse, VolumeStore};
use crate::syscall::{Kernel, Syscall};

// ANCHOR: volume
/// One `-v HOST:CONTAINER[:ro]` or `-v NAME:CONTAINER[:ro]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Volume {
    /// The path on the host; for a named volume, its `_data` directory
    /// once the [`Volumes`] hook has found it (empty before).
    pub source: PathBuf,
    /// The named volume's name (`-v NAME:/data`); `None` for a host path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The path inside the container (a record calls it `destination`, as
    /// the OCI runtime spec does).
    #[serde(rename = "destination")]
    pub target: PathBuf,
    /// Mount it read-only (`:ro`).
    #[serde(default)]
    pub readonly: bool,
}
// ANCHOR_END: volume

impl Volume {
    // ANCHOR: parse
    /// Parses `SOURCE:CONTAINER`, `SOURCE:CONTAINER:ro` or `SOURCE:CONTAINER:rw`.
    /// A SOURCE starting with `/` is a host path; any other is the name of a
    /// volume (Docker's rule, [`crate::named::validate_name`]). The container
    /// path must be absolute, and not `/`.
    pub fn parse(text: &str) -> Result<Volume> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, readonly) = match parts.as_slice() {
            [source, target] => (*source, *target, false),
            [source, target, "ro"] => (*source, *target, true),
            [source, target, "rw"] => (*source, *target, false),
            [_, _, mode] => bail!("invalid volume {text:?}: unknown mode {mode:?} (use ro or rw)"),
            _ => bail!("invalid volume {text:?}: use HOST:CONTAINER[:ro]"),
        };
        if source.is_empty() || target.is_empty() {
            bail!("invalid volume {text:?}: use HOST:CONTAINER[:ro]");
        }
        if !target.starts_with('/') {
            bail!("invalid volume {text:?}: the container path must be absolute");
        }
        if clean_components(Path::new(target)).is_empty() {
            bail!("invalid volume {text:?}: cannot mount over the container's /");
        }
        let (source, name) = match source.starts_with('/') {
            true => (PathBuf::from(source), None),
            false => {
                named::validate_name(source).with_context(|| format!("invalid volume {text:?}"))?;
                (PathBuf::new(), Some(source.to_string()))
            }
        };
        Ok(Volume {
            source,
            name,
            target: PathBuf::from(target),
            readonly,
        })
    }
    // ANCHOR_END: parse

    // ANCHOR: check_source
    /// Checks, before anything is created, that the host path exists or
    /// can be created as Docker's `-v` would: its nearest existing ancestor
    /// must be a directory. A named volume needs no check: it is created
    /// on first use. Nothing is created here ([`Volume::ensure_source`] does).
    pub fn check_source(&self) -> Result<()> {
        if self.name.is_some() {
            return Ok(());
        }
        let mut path = self.source.as_path();
        loop {
            match std::fs::metadata(path) {
                Ok(meta) if path == self.source || meta.is_dir() => return Ok(()),
                Ok(_) => bail!(
                    "volume {self}: cannot create host path {}: {} is not a directory",
                    self.source.display(),
                    path.display()
                ),
                // ENOTDIR: a file on the way, which the next round names.
                Err(err)
                    if err.kind() == std::io::ErrorKind::NotFound
                        || err.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    path = path.parent().unwrap_or(Path::new("/"));
                }
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("volume {self}: host path {}", path.display()));
                }
            }
        }
    }

    /// Creates a missing host directory, as Docker does: mode 0755 (not
    /// the umask's), owned by root (mydocker runs as root), parents too.
    pub fn ensure_source(&self) -> Result<()> {
        if self.name.is_some() || self.source.exists() {
            return Ok(());
        }
        self.check_source()?;
        let mut missing = Vec::new();
        let mut path = self.source.as_path();
        while !path.exists() {
            missing.push(path.to_path_buf());
            path = path.parent().unwrap_or(Path::new("/"));
        }
        for dir in missing.iter().rev() {
            match std::fs::create_dir(dir) {
                Ok(()) => named::set_mode(dir, 0o755)?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("volume {self}: create {}", dir.display()));
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: check_source
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}:{}", self.target.display())?,
            None => write!(f, "{}:{}", self.source.display(), self.target.display())?,
        }
        if self.readonly {
            f.write_str(":ro")?;
        }
        Ok(())
    }
}

/// The hook that bind-mounts the volumes into the new root.
pub struct Volumes {
    volumes: Vec<Volume>,
    store: Option<VolumeStore>,
    /// Per volume: fill it from the image first (a new, empty named volume).
    seed: Vec<bool>,
    /// The named volumes this container holds while it runs.
    held: Vec<InUse>,
}

impl Volumes {
    /// The hook for `volumes`. They are mounted shortest target first, so
    /// `-v a:/data -v b:/data/logs` puts `b` on top of `a`, not under it.
    /// Named volumes need [`Volumes::with_store`].
    pub fn new(mut volumes: Vec<Volume>) -> Volumes {
        volumes.sort_by_key(|v| clean_components(&v.target).len());
        Volumes {
            volumes,
            store: None,
            seed: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Finds (and creates on first use) the named volumes in `store`:
    /// `Volumes::new(mounts).with_store(VolumeStore::new(root))`.
    pub fn with_store(mut self, store: VolumeStore) -> Volumes {
        self.store = Some(store);
        self
    }
}

impl Hook for Volumes {
    fn name(&self) -> &'static str {
        "volumes"
    }

    fn stage(&self) -> Stage {
        Stage::Volumes
    }

    // ANCHOR: volumes_prepare
    /// In the parent: host directories that are missing are created, named
    /// volumes found or created, and held while the container runs. A new
    /// or still empty named volume is marked to be filled from the image
    /// (not with `--userns=private`: root inside may not write to it).
    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        self.seed = vec![false; self.volumes.len()];
        for (i, volume) in self.volumes.iter_mut().enumerate() {
            let Some(name) = volume.name.clone() else {
                volume.ensure_source()?;
                continue;
            };
            let Some(store) = &self.store else {
                bail!("volume {volume}: named volumes need a volume store (Volumes::with_store)");
            };
            let (record, held, _created) = store.use_volume(&name)?;
            volume.source = record.mountpoint;
            self.held.push(held);
            self.seed[i] = spec.userns.is_none() && is_empty_dir(&volume.source)?;
        }
        Ok(())
    }
    // ANCHOR_END: volumes_prepare

    // ANCHOR: volumes_enter
    fn enter(&self, spec: &Spec) -> Result<()> {
        let Some(rootfs) = &spec.rootfs else {
            bail!("volumes need a root filesystem");
        };
        for (i, volume) in self.volumes.iter().enumerate() {
            if self.seed.get(i) == Some(&true) {
                seed(rootfs, &volume.target, &volume.source)
                    .with_context(|| format!("volume {volume}: copy the image's files"))?;
            }
            bind_into_rootfs(rootfs, &volume.source, &volume.target, volume.readonly)
                .with_context(|| format!("volume {volume}"))?;
        }
        Ok(())
    }
    // ANCHOR_END: volumes_enter

    /// Lets go of the named volumes: `volume rm` may remove them now.
    fn cleanup(&mut self, _spec: &Spec) -> Result<()> {
        self.held.clear();
        Ok(())
    }
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    let mut entries = std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))?;
    Ok(entries.next().is_none())
}

// ANCHOR: seed
/// Fills the empty directory `dest` (a new named volume) with what the
/// container's root `rootfs` has at `target`, as Docker does the first time
/// a volume is mounted: files, directories and symlinks, with their owners
/// and modes, and the target directory's own owner and mode on `dest`.
/// Device nodes, fifos and sockets are skipped. Nothing to copy if the
/// image has no directory there.
///
/// Runs in the child, on the mounted overlay, before anything of the
/// container runs. The target is resolved inside the root (`openat2` with
/// `RESOLVE_IN_ROOT`), and below it no symlink is ever followed: each is
/// copied as a symlink, so an image cannot make us copy the host's files.
pub fn seed(rootfs: &Path, target: &Path, dest: &Path) -> Result<()> {
    let root = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {}", rootfs.display()))?;
    let rel: PathBuf = clean_components(target).iter().collect();
    let top = match openat2_retrying(
        root.as_fd(),
        &rel,
        in_root(OFlag::O_PATH | OFlag::O_DIRECTORY),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("resolve {}", target.display())),
    };
    // The descriptor's magic link is the directory itself; the names below
    // it are looked at with lstat and never followed.
    let from = fd_path(top.as_fd());
    copy_owner_and_mode(&from, dest)?;
    copy_tree(&from, dest)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry.with_context(|| format!("read {}", from.display()))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = std::fs::symlink_metadata(&src)
            .with_context(|| format!("lstat {}", src.display()))?
            .file_type();
        if kind.is_symlink() {
            let link =
                std::fs::read_link(&src).with_context(|| format!("readlink {}", src.display()))?;
            std::os::unix::fs::symlink(&link, &dst)
                .with_context(|| format!("symlink {}", dst.display()))?;
            copy_owner(&src, &dst)?;
        } else if kind.is_dir() {
            std::fs::create_dir(&dst).with_context(|| format!("mkdir {}", dst.display()))?;
            copy_tree(&src, &dst)?;
            copy_owner_and_mode(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).with_context(|| format!("copy {}", src.display()))?;
            copy_owner_and_mode(&src, &dst)?;
        }
        // Device nodes, fifos and sockets: not worth a node on the host's disk.
    }
    Ok(())
}

/// The owner of `src` on `dst`, without following a symlink.
fn copy_owner(src: &Path, dst: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::symlink_metadata(src).with_context(|| format!("lstat {}", src.display()))?;
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))
        .with_context(|| format!("chown {}", dst.display()))
}

/// Owner, then mode (a chown clears the setuid bits, so it comes first).
fn copy_owner_and_mode(src: &Path, dst: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    copy_owner(src, dst)?;
    let mode = std::fs::symlink_metadata(src)
        .with_context(|| format!("lstat {}", src.display()))?
        .permissions()
        .mode();
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode & 0o7777))
        .with_context(|| format!("chmod {}", dst.display()))
}
// ANCHOR_END: seed

/// The normal components of `path` after removing `.` and applying `..`
/// lexically (as Go's `filepath.Clean` does, and so Docker): `/a/../b` is
/// `["b"]`, and `/..` is `[]`.
pub fn clean_components(path: &Path) -> Vec<OsString> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_os_string()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts
}

/// The `/proc/self/fd/N` path of a descriptor: a "magic link" that leads to
/// exactly the file the descriptor holds, whatever its name is now.
fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn is_dir(fd: BorrowedFd<'_>) -> Result<bool> {
    let stat = fstat(fd).context("fstat")?;
    Ok(SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// `openat2(2)`, tried again while it fails with `EAGAIN`. To resolve a `..`
/// under `RESOLVE_IN_ROOT` or `RESOLVE_BENEATH`, the kernel must be sure no
/// mount or rename elsewhere on the machine moved the path meanwhile; when
/// one did, it cannot prove the `..` stayed inside and refuses, asking the
/// caller to retry. A busy machine (other containers starting) makes that
/// happen now and then; an attacker cannot make it succeed wrongly.
pub(crate) fn openat2_retrying<P: ?Sized + nix::NixPath>(
    dir: BorrowedFd<'_>,
    path: &P,
    how: OpenHow,
) -> nix::Result<OwnedFd> {
    const TRIES: usize = 100;
    let mut tries = 1;
    loop {
        match openat2(dir, path, how) {
            Err(Errno::EAGAIN) if tries < TRIES => tries += 1,
            result => return result,
        }
    }
}

/// How to resolve a path inside a root: symlinks are followed, but `/` and
/// `..` stop at the root, and `/proc` magic links are refused.
fn in_root(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

/// Opens `path` inside the directory `root` as if `root` were `/`: every
/// symlink on the way, absolute or full of `..`, is resolved inside it
/// (`openat2` with `RESOLVE_IN_ROOT`; `/proc` magic links are refused).
/// `flags` are the open flags (`O_CLOEXEC` is added). What `cp` uses to
/// reach a path in a container without ever leaving it.
pub fn open_in_rootfs(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let rel: PathBuf = clean_components(path).iter().collect();
    match rel.as_os_str().is_empty() {
        true => openat2_retrying(root, ".", in_root(flags)),
        false => openat2_retrying(root, &rel, in_root(flags)),
    }
}

// ANCHOR: bind_into_rootfs
/// Bind-mounts the host's `source` at `dest_in_container` inside `rootfs`,
/// read-only if asked.
///
/// `dest_in_container` is resolved inside `rootfs`: no symlink may lead out
/// of it. Missing directories on the way are created, and so is the target
/// itself (a directory, or an empty file when `source` is a file).
pub fn bind_into_rootfs(
    rootfs: &Path,
    source: &Path,
    dest_in_container: &Path,
    readonly: bool,
) -> Result<()> {
    bind_into_rootfs_with(&Kernel, rootfs, source, dest_in_container, readonly)
}

/// [`bind_into_rootfs`], with the mounts made through `sys`. The target is
/// resolved (and what is missing created) for real either way.
pub fn bind_into_rootfs_with(
    sys: &dyn Syscall,
    rootfs: &Path,
    source: &Path,
    dest_in_container: &Path,
    readonly: bool,
) -> Result<()> {
    let src = nix::fcntl::open(source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open {}", source.display()))?;
    let src_is_dir = is_dir(src.as_fd()).with_context(|| source.display().to_string())?;
    let root = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {}", rootfs.display()))?;
    let parts = clean_components(dest_in_container);
    let target = open_in_root(root.as_fd(), &parts, src_is_dir)?;

    // MS_REC: the host's submounts under `source` come along, as with rbind.
    sys.mount(
        Some(&fd_path(src.as_fd())),
        &fd_path(target.as_fd()),
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .with_context(|| {
        format!(
            "bind mount {} on {} in {}",
            source.display(),
            dest_in_container.display(),
            rootfs.display()
        )
    })?;
    if readonly {
        make_readonly(sys, root.as_fd(), &parts)
            .with_context(|| format!("make {} read-only", dest_in_container.display()))?;
    }
    Ok(())
}
// ANCHOR_END: bind_into_rootfs

// ANCHOR: open_in_root
/// Opens (with `O_PATH`) the path `parts` inside the root `root`, creating
/// what is missing: directories on the way, and at the end a directory (if
/// `dir`) or an empty file.
fn open_in_root(root: BorrowedFd<'_>, parts: &[OsString], dir: bool) -> Result<OwnedFd> {
    let shown = |n: usize| format!("/{}", parts[..n].iter().collect::<PathBuf>().display());
    if parts.is_empty() {
        bail!("cannot mount over the root itself");
    }
    let mut parent = openat2_retrying(root, ".", in_root(OFlag::O_PATH | OFlag::O_DIRECTORY))
        .context("open the root")?;
    for (i, name) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let want_dir = !last || dir;
        let prefix: PathBuf = parts[..=i].iter().collect();
        // Resolve the whole prefix again from the root: each symlink met on
        // the way is interpreted inside the root.
        let fd = match openat2_retrying(root, &prefix, in_root(OFlag::O_PATH)) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                // Create it in the parent we resolved, which is inside the
                // root. If `name` is a symlink to something missing, this
                // fails with EEXIST rather than follow it.
                let created = if want_dir {
                    mkdirat(
                        parent.as_fd(),
                        name.as_os_str(),
                        Mode::from_bits_truncate(0o755),
                    )
                } else {
                    openat(
                        parent.as_fd(),
                        name.as_os_str(),
                        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map(drop)
                };
                match created {
                    Ok(()) => {}
                    Err(Errno::EEXIST) => {
                        bail!("{}: a symlink to a path that does not exist", shown(i + 1))
                    }
                    Err(err) => {
                        return Err(err).with_context(|| format!("create {}", shown(i + 1)));
                    }
                }
                let how = OpenHow::new()
                    .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
                    .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
                openat2_retrying(parent.as_fd(), name.as_os_str(), how)
                    .with_context(|| format!("open {}", shown(i + 1)))?
            }
            Err(err) => return Err(err).with_context(|| format!("resolve {}", shown(i + 1))),
        };
        let is = is_dir(fd.as_fd()).with_context(|| shown(i + 1))?;
        if want_dir && !is {
            bail!("{}: not a directory", shown(i + 1));
        }
        if !want_dir && is {
            bail!(
                "{}: is a directory, but the host path is a file",
                shown(i + 1)
            );
        }
        parent = fd;
    }
    Ok(parent)
}
// ANCHOR_END: open_in_root

// ANCHOR: readonly
/// Makes the bind mount at `parts` (and every mount below it) read-only.
///
/// A bind mount starts with the flags of its source; `MS_RDONLY` has to be
/// applied afterwards, to the new mount itself. `mount_setattr(2)` with
/// `AT_RECURSIVE` also covers the submounts that `MS_REC` copied, which a
/// remount would leave writable.
fn make_readonly(sys: &dyn Syscall, root: BorrowedFd<'_>, parts: &[OsString]) -> Result<()> {
    let rel: PathBuf = parts.iter().collect();
    // Resolving the path again now crosses into the new mount: the
    // descriptor is the mount's root.
    let top = openat2_retrying(root, &rel, in_root(OFlag::O_PATH)).context("open the new mount")?;
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH | libc::AT_RECURSIVE;
    match sys.mount_setattr(top.as_fd(), c"", flags, &attr) {
        Ok(()) => return Ok(()),
        Err(Errno::ENOSYS) => {}
        Err(err) => return Err(err).context("mount_setattr MOUNT_ATTR_RDONLY"),
    }
    // Before Linux 5.12: remount the top mount read-only.
    sys.mount(
        None,
        &fd_path(top.as_fd()),
        None,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
        None,
    )
    .context("remount read-only")
}
// ANCHOR_END: readonly

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::Recorder;

    #[test]
    fn open_in_rootfs_reads_every_symlink_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "inside").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("rel")).unwrap();
        let dir =
            nix::fcntl::open(root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        for path in ["/abs/passwd", "rel/passwd", "/../../etc/passwd"] {
            let fd = open_in_rootfs(dir.as_fd(), Path::new(path), OFlag::O_RDONLY).unwrap();
            let text = std::io::read_to_string(std::fs::File::from(fd)).unwrap();
            assert_eq!(text, "inside", "{path}");
        }
    }

    fn v(source: &str, target: &str, readonly: bool) -> Volume {
        Volume {
            source: source.into(),
            name: None,
            target: target.into(),
            readonly,
        }
    }

    fn named(name: &str, target: &str) -> Volume {
        Volume {
            source: PathBuf::new(),
            name: Some(name.into()),
            target: target.into(),
            readonly: false,
        }
    }

    #[test]
    fn parses_docker_spellings() {
        assert_eq!(Volume::parse("/h:/c").unwrap(), v("/h", "/c", false));
        assert_eq!(Volume::parse("/h:/c:ro").unwrap(), v("/h", "/c", true));
        assert_eq!(Volume::parse("/h:/c:rw").unwrap(), v("/h", "/c", false));
        assert_eq!(Volume::parse("/h:/c:ro").unwrap().to_string(), "/h:/c:ro");
        assert_eq!(Volume::parse("db:/c").unwrap(), named("db", "/c"));
        assert_eq!(
            Volume::parse("my.vol_1-x:/c:ro").unwrap().to_string(),
            "my.vol_1-x:/c:ro"
        );
    }

    #[test]
    fn a_source_that_is_no_path_must_be_a_volume_name() {
        for bad in ["h/x:/c", "a:/c", "-x:/c", "./h:/c"] {
            let err = format!("{:#}", Volume::parse(bad).unwrap_err());
            assert!(
                err.contains("includes invalid characters for a local volume name"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn missing_host_directories_pass_the_check_and_are_created_0755() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("a/b");
        let volume = Volume::parse(&format!("{}:/data", missing.display())).unwrap();
        volume.check_source().unwrap();
        assert!(!missing.exists(), "the check creates nothing");
        volume.ensure_source().unwrap();
        use std::os::unix::fs::PermissionsExt;
        for dir in [tmp.path().join("a"), missing.clone()] {
            assert_eq!(
                std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
                0o755
            );
        }
        // Under a file, nothing can be created: refused before anything is.
        std::fs::write(tmp.path().join("file"), "").unwrap();
        let under_file =
            Volume::parse(&format!("{}/x/y:/data", tmp.path().join("file").display())).unwrap();
        let err = under_file.check_source().unwrap_err().to_string();
        assert!(err.ends_with("is not a directory"), "{err}");
    }

    #[test]
    fn seeding_copies_the_images_files_but_follows_no_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("srv/app/sub")).unwrap();
        std::fs::write(rootfs.join("srv/app/sub/file"), "from the image").unwrap();
        std::os::unix::fs::symlink("/etc", rootfs.join("srv/app/hostetc")).unwrap();
        // The target itself through a symlink: resolved inside the root.
        std::os::unix::fs::symlink("/srv/app", rootfs.join("link")).unwrap();
        let dest = tmp.path().join("volume");
        std::fs::create_dir(&dest).unwrap();
        seed(&rootfs, Path::new("/link"), &dest).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("sub/file")).unwrap(),
            "from the image"
        );
        assert_eq!(
            std::fs::read_link(dest.join("hostetc")).unwrap(),
            PathBuf::from("/etc")
        );
        assert!(!dest.join("hostetc").symlink_metadata().unwrap().is_dir());
        // No such directory in the image: nothing to copy.
        seed(&rootfs, Path::new("/nothing/here"), &dest).unwrap();
    }

    #[test]
    fn refuses_malformed_volumes() {
        for bad in [
            "",
            "/h",
            "/h:",
            ":/c",
            "h:/c",
            "/h:c",
            "/h:/c:rx",
            "/h:/c:ro:x",
            "/h:/",
            "/h:/a/..",
        ] {
            let err = Volume::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid volume"), "{bad:?}: {err}");
            assert!(!err.contains('\n'), "{bad:?}: {err}");
        }
    }

    #[test]
    fn cleans_paths_lexically() {
        let c = |p: &str| clean_components(Path::new(p));
        assert_eq!(c("/a/./b/../c"), vec![OsString::from("a"), "c".into()]);
        assert!(c("/../..").is_empty());
    }

    #[test]
    fn shallow_targets_mount_first() {
        let hook = Volumes::new(vec![v("/b", "/data/logs", false), v("/a", "/data", false)]);
        let order: Vec<_> = hook.volumes.iter().map(|v| v.source.clone()).collect();
        assert_eq!(order, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
    }

    #[test]
    fn resolution_stays_inside_the_root() {
        // Unprivileged: only the resolution, no mount.
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        // Both lead to the host's /etc if the host resolved them.
        std::os::unix::fs::symlink("/etc", rootfs.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc", rootfs.join("rel")).unwrap();
        std::os::unix::fs::symlink("/missing/dir", rootfs.join("dangling")).unwrap();
        let root =
            nix::fcntl::open(&rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let parts = |p: &str| clean_components(Path::new(p));

        for link in ["abs", "rel"] {
            let name = format!("mydocker-unit-{link}-{}", std::process::id());
            open_in_root(root.as_fd(), &parts(&format!("/{link}/{name}")), true).unwrap();
            assert!(
                !Path::new("/etc").join(&name).exists(),
                "escaped through /{link}"
            );
            assert!(rootfs.join("etc").join(&name).is_dir(), "/{link}");
        }

        open_in_root(root.as_fd(), &parts("/etc/app.conf"), false).unwrap();
        assert!(rootfs.join("etc/app.conf").is_file());

        let err = open_in_root(root.as_fd(), &parts("/dangling/z"), true).unwrap_err();
        assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
        assert!(open_in_root(root.as_fd(), &parts("/etc/app.conf/z"), true).is_err());
        assert!(open_in_root(root.as_fd(), &parts("/etc"), false).is_err());
    }

    /// Binds a host directory read-only at `/data` of a fresh rootfs in a
    /// temporary directory, through `sys`.
    fn bind_read_only_volume(sys: &Recorder) -> Result<()> {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        let host = tmp.path().join("host");
        std::fs::create_dir_all(&rootfs).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        bind_into_rootfs_with(sys, &rootfs, &host, Path::new("/data"), true)?;
        assert!(rootfs.join("data").is_dir(), "the target was created");
        Ok(())
    }

    /// The temporary directory and the descriptor numbers change from run to
    /// run.
    fn snapshot_filters() -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r#"[^"<\s]*/\.tmp\w+"#, "[TMP]");
        settings.add_filter(r"/proc/self/fd/\d+", "/proc/self/fd/N");
        settings.add_filter(r"\b\d+<", "N<");
        settings
    }

    #[test]
    fn a_read_only_volume_is_bound_then_made_read_only() {
        let sys = Recorder::new();
        bind_read_only_volume(&sys).unwrap();
        snapshot_filters().bind(|| insta::assert_snapshot!(sys));
    }

    #[test]
    fn before_linux_5_12_a_read_only_volume_is_remounted() {
        let sys = Recorder::new().fail("mount_setattr", Errno::ENOSYS);
        bind_read_only_volume(&sys).unwrap();
        snapshot_filters().bind(|| insta::assert_snapshot!(sys));
    }
}
