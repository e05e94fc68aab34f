//! A union filesystem per container: the image below, the container's own
//! changes above.
//!
//! overlayfs merges directories. The *lower* directories are read-only and
//! may be shared: here, the image. The *upper* directory receives every
//! change: a new file is created there, a modified file is first copied up
//! whole, a deleted one is hidden by a *whiteout* (a character device 0,0 of
//! the same name). The *work* directory is overlayfs's scratch space for
//! making those changes atomic; it must be on the same filesystem as the
//! upper directory and belong to one overlay only. The *merged* directory is
//! the mount point where the union appears.
//!
//! ```text
//! <root>/images/busybox                 lowerdir   shared, never written
//! <root>/containers/<id>/upper          upperdir   this container's changes
//! <root>/containers/<id>/work           workdir    this overlay's scratch
//! <root>/containers/<id>/merged         the mount: the container's /
//! ```
//!
//! The overlay is mounted by the child, inside its own mount namespace, so
//! the host never sees it, and a crash of mydocker cannot leave a mount
//! behind: the mount dies with the namespace.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags, umount2};

use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;

use ch01_namespaces::userns::IdMap;

use crate::ownership;
use crate::syscall::{Kernel, Syscall};

/// The longest option string `mount(2)` accepts: one page.
const MAX_OPTIONS: usize = 4096;

// ANCHOR: overlay_struct
/// The hook that gives a container its overlay root filesystem.
pub struct Overlay {
    lowerdirs: Vec<PathBuf>,
    container_dir: PathBuf,
    keep_layer: bool,
    /// Whether `prepare` created `container_dir`: cleanup removes only what
    /// this hook made, never another container's directory.
    created: bool,
}
// ANCHOR_END: overlay_struct

impl Overlay {
    /// An overlay of `lowerdirs` (top-most first) with this container's
    /// layers under `container_dir` (`<root>/containers/<id>`).
    pub fn new(lowerdirs: Vec<PathBuf>, container_dir: PathBuf) -> Overlay {
        Overlay {
            lowerdirs,
            container_dir,
            keep_layer: false,
            created: false,
        }
    }

    /// Keep the container's directory (its upper layer) after it exits, for
    /// `commit`. Chapter 3 removes it; chapter 4 keeps it.
    pub fn keep_layer(mut self, keep: bool) -> Overlay {
        self.keep_layer = keep;
        self
    }

    /// The upper directory: where the container's changes land.
    pub fn upper(&self) -> PathBuf {
        self.container_dir.join("upper")
    }

    /// The work directory overlayfs needs beside the upper one.
    pub fn work(&self) -> PathBuf {
        self.container_dir.join("work")
    }

    /// The mount point of the merged view: the container's root.
    pub fn merged(&self) -> PathBuf {
        self.container_dir.join("merged")
    }

    // ANCHOR: options
    /// The mount options: `lowerdir=A:B,upperdir=U,workdir=W`.
    pub fn options(&self) -> Result<String> {
        let mut paths: Vec<&Path> = self.lowerdirs.iter().map(PathBuf::as_path).collect();
        let upper = self.upper();
        let work = self.work();
        paths.push(&upper);
        paths.push(&work);
        for path in &paths {
            // ',' separates options and ':' separates lower layers; the
            // kernel's own escaping of them is easy to get wrong, so refuse.
            let text = path.to_string_lossy();
            if text.contains([',', ':', '\\']) {
                bail!("overlay layer {text}: path must not contain ',', ':' or '\\'");
            }
        }
        if self.lowerdirs.is_empty() {
            bail!("overlay needs at least one lower directory");
        }
        let lower: Vec<String> = self
            .lowerdirs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            upper.display(),
            work.display()
        );
        if options.len() >= MAX_OPTIONS {
            bail!(
                "overlay options are {} bytes, more than mount(2) accepts",
                options.len()
            );
        }
        Ok(options)
    }
    // ANCHOR_END: options

    // ANCHOR: mount
    /// Mounts the union on [`Overlay::merged`]; in the child, in its private
    /// mount namespace.
    pub fn mount(&self, sys: &dyn Syscall) -> Result<()> {
        let options = self.options()?;
        let merged = self.merged();
        sys.mount(
            Some(Path::new("overlay")),
            &merged,
            Some("overlay"),
            MsFlags::empty(),
            Some(options.as_str()),
        )
        .with_context(|| format!("mount overlay on {} ({options})", merged.display()))
    }
    // ANCHOR_END: mount

    // ANCHOR: owned_by
    /// With a user namespace: the image's layers as shifted copies, and the
    /// container's own directories given to the mapped root (the overlay
    /// is mounted, and written, by root of the namespace: host uid
    /// `map.uid`, who must also be able to walk to them).
    pub fn owned_by(&mut self, map: &IdMap) -> Result<()> {
        self.lowerdirs = ownership::shifted_layers(&self.lowerdirs, map)?;
        for dir in [self.upper(), self.work(), self.merged()] {
            ownership::give_to_root(&dir, map)?;
        }
        let containers = self.container_dir.parent();
        for dir in [containers, containers.and_then(Path::parent)]
            .into_iter()
            .flatten()
        {
            ownership::allow_traversal(dir)?;
        }
        Ok(())
    }
    // ANCHOR_END: owned_by
}

impl Hook for Overlay {
    fn name(&self) -> &'static str {
        "overlay"
    }

    fn stage(&self) -> Stage {
        Stage::RootFs
    }

    // ANCHOR: prepare
    /// In the parent: three empty directories, and the spec's root points at
    /// the one the child will mount on.
    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        // Check the options now, so that a bad path fails before clone.
        self.options()?;
        for lower in &self.lowerdirs {
            if !lower.is_dir() {
                bail!("image layer {}: not a directory", lower.display());
            }
        }
        let parent = self
            .container_dir
            .parent()
            .context("container directory has no parent")?;
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        // create_dir, not create_dir_all: a second container with the same
        // id must fail here rather than share layers.
        std::fs::create_dir(&self.container_dir)
            .with_context(|| format!("create {}", self.container_dir.display()))?;
        self.created = true;
        for dir in [self.upper(), self.work(), self.merged()] {
            std::fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()))?;
        }
        if let Some(map) = &spec.userns {
            self.owned_by(map)?;
        }
        spec.rootfs = Some(self.merged());
        Ok(())
    }
    // ANCHOR_END: prepare

    // ANCHOR: enter
    /// In the child, in its private mount namespace: mount the union.
    fn enter(&self, _spec: &Spec) -> Result<()> {
        self.mount(&Kernel)
    }
    // ANCHOR_END: enter

    // ANCHOR: cleanup
    /// In the parent, after the container is gone: remove its layers (unless
    /// asked to keep them). The overlay itself needs no unmount: it lived in
    /// the child's mount namespace, which the kernel tore down with the last
    /// process in it.
    fn cleanup(&mut self, _spec: &Spec) -> Result<()> {
        if self.keep_layer || !self.created || !self.container_dir.exists() {
            return Ok(());
        }
        detach_mounts_under(&self.container_dir)?;
        std::fs::remove_dir_all(&self.container_dir)
            .with_context(|| format!("remove {}", self.container_dir.display()))
    }
    // ANCHOR_END: cleanup
}

/// Lazily unmounts anything the host sees mounted at or under `dir`, and
/// fails if something is still there.
///
/// Nothing should be: every mount of a container is made in its own
/// namespace. But `remove_dir_all` crosses mount points, and a volume bind
/// mount that leaked onto the host would make it delete the user's files,
/// so we check rather than trust.
pub fn detach_mounts_under(dir: &Path) -> Result<()> {
    let mounted = || -> Result<Vec<PathBuf>> {
        Ok(mount_points()?
            .into_iter()
            .filter(|m| m.starts_with(dir))
            .collect())
    };
    let mut found = mounted()?;
    // Deepest first, so that a parent is not busy because of its child.
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for point in &found {
        let _ = umount2(point, MntFlags::MNT_DETACH);
    }
    let left = mounted()?;
    if let Some(point) = left.first() {
        bail!(
            "{} is still mounted; not removing {}",
            point.display(),
            dir.display()
        );
    }
    Ok(())
}

/// The mount points of this process's mount namespace.
pub fn mount_points() -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    Ok(text
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mount_field(field)))
        .collect())
}

/// Undoes the kernel's octal escapes in `/proc/*/mountinfo` (`\040` is a space).
pub fn unescape_mount_field(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(digits, 8) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::Recorder;

    #[test]
    fn options_list_lower_layers_top_first() {
        let overlay = Overlay::new(
            vec!["/r/images/top".into(), "/r/images/base".into()],
            "/r/containers/abc".into(),
        );
        assert_eq!(
            overlay.options().unwrap(),
            "lowerdir=/r/images/top:/r/images/base,upperdir=/r/containers/abc/upper,workdir=/r/containers/abc/work"
        );
    }

    #[test]
    fn options_refuse_separators_in_paths() {
        for bad in ["/r/a,b", "/r/a:b", "/r/a\\b"] {
            let overlay = Overlay::new(vec![bad.into()], "/r/containers/x".into());
            assert!(overlay.options().is_err(), "{bad}");
        }
        assert!(
            Overlay::new(vec![], "/r/containers/x".into())
                .options()
                .is_err()
        );
    }

    #[test]
    fn mount_stacks_every_lower_layer_in_one_call() {
        let overlay = Overlay::new(
            vec![
                "/r/images/app".into(),
                "/r/images/libs".into(),
                "/r/images/base".into(),
            ],
            "/r/containers/abc".into(),
        );
        let sys = Recorder::new();
        overlay.mount(&sys).unwrap();
        insta::assert_snapshot!(sys);
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mount_field("/a\\040b"), "/a b");
        assert_eq!(unescape_mount_field("/plain"), "/plain");
        assert_eq!(unescape_mount_field("/tab\\011x\\"), "/tab\tx\\");
    }

    #[test]
    fn prepare_and_cleanup_create_and_remove_the_layers() {
        let root = tempfile::tempdir().unwrap();
        let image = root.path().join("images/img");
        std::fs::create_dir_all(&image).unwrap();
        let dir = root.path().join("containers/c1");
        let mut overlay = Overlay::new(vec![image.clone()], dir.clone());
        let mut spec = Spec::new(vec!["sh".into()]).unwrap();
        overlay.prepare(&mut spec).unwrap();
        assert_eq!(spec.rootfs.as_deref(), Some(dir.join("merged").as_path()));
        for sub in ["upper", "work", "merged"] {
            assert!(dir.join(sub).is_dir(), "{sub}");
        }
        // A second container with the same directory must not share it.
        let mut twin = Overlay::new(vec![image.clone()], dir.clone());
        assert!(twin.prepare(&mut spec.clone()).is_err());
        twin.cleanup(&spec).unwrap();
        assert!(
            dir.join("upper").is_dir(),
            "the twin removed the first one's layers"
        );
        overlay.cleanup(&spec).unwrap();
        assert!(!dir.exists());
        assert!(image.is_dir());
        // Cleanup tolerates what is already gone.
        overlay.cleanup(&spec).unwrap();
    }

    #[test]
    fn keep_layer_keeps_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let image = root.path().join("img");
        std::fs::create_dir(&image).unwrap();
        let dir = root.path().join("containers/c2");
        let mut overlay = Overlay::new(vec![image], dir.clone()).keep_layer(true);
        let mut spec = Spec::new(vec!["sh".into()]).unwrap();
        overlay.prepare(&mut spec).unwrap();
        overlay.cleanup(&spec).unwrap();
        assert!(dir.join("upper").is_dir());
    }
}
