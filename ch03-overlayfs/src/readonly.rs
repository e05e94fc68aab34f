//! `--read-only` and `--tmpfs`: a root filesystem the container cannot
//! change, and the scratch directories it may still write.
//!
//! A read-only root is a small thing for the kernel: one more remount of the
//! container's `/` with `MS_RDONLY`, a flag of that one mount. The mounts on
//! top of it keep their own flags, so volumes, `/dev`, `/proc` and the
//! `--tmpfs` directories stay writable, as in Docker. It comes after every
//! other mount of the root (a read-only `/` could not get new mount points)
//! and before chapter 1's confinement drops the capability to undo it.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::mount::MsFlags;

use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;

use crate::syscall::{Kernel, Syscall};

// ANCHOR: tmpfs
/// One `--tmpfs PATH[:OPTIONS]`: an empty in-memory filesystem at `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    /// Where, inside the container.
    pub target: PathBuf,
    /// The mount options as typed (`size=64m,mode=1777`); Docker's
    /// `noexec,nosuid,nodev` unless they say `exec`, `suid` or `dev`.
    pub options: String,
}

impl Tmpfs {
    /// Parses Docker's spelling: an absolute path, then optionally `:` and
    /// comma-separated options.
    pub fn parse(text: &str) -> Result<Tmpfs> {
        let (target, options) = text.split_once(':').unwrap_or((text, ""));
        let target = PathBuf::from(target);
        if !target.is_absolute() || target.components().any(|c| c == Component::ParentDir) {
            bail!("invalid --tmpfs {text:?}: the path must be absolute, without ..");
        }
        if target == Path::new("/") {
            bail!("invalid --tmpfs {text:?}: a tmpfs cannot replace /");
        }
        Ok(Tmpfs {
            target,
            options: options.to_string(),
        })
    }

    /// The mount flags and the data string the kernel's tmpfs reads
    /// (`size=`, `mode=`, `uid=`...): the flag words are taken out of it.
    pub fn flags_and_data(&self) -> (MsFlags, String) {
        let mut flags = MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
        let mut data = Vec::new();
        for option in self.options.split(',').filter(|o| !o.is_empty()) {
            match option {
                "exec" => flags.remove(MsFlags::MS_NOEXEC),
                "suid" => flags.remove(MsFlags::MS_NOSUID),
                "dev" => flags.remove(MsFlags::MS_NODEV),
                "noexec" => flags.insert(MsFlags::MS_NOEXEC),
                "nosuid" => flags.insert(MsFlags::MS_NOSUID),
                "nodev" => flags.insert(MsFlags::MS_NODEV),
                "ro" => flags.insert(MsFlags::MS_RDONLY),
                "rw" => flags.remove(MsFlags::MS_RDONLY),
                other => data.push(other),
            }
        }
        (flags, data.join(","))
    }
}
// ANCHOR_END: tmpfs

impl std::fmt::Display for Tmpfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.target.display())?;
        if !self.options.is_empty() {
            write!(f, ":{}", self.options)?;
        }
        Ok(())
    }
}

/// The hook: the `--tmpfs` mounts, then `/` made read-only if asked.
#[derive(Debug, Clone, Default)]
pub struct ReadOnlyRoot {
    /// `--read-only`.
    pub read_only: bool,
    /// The `--tmpfs` options, in order.
    pub tmpfs: Vec<Tmpfs>,
}

impl Hook for ReadOnlyRoot {
    fn name(&self) -> &'static str {
        "read-only root"
    }

    fn stage(&self) -> Stage {
        Stage::ReadOnlyRoot
    }

    fn enter(&self, _spec: &Spec) -> Result<()> {
        seal(&Kernel, self)
    }
}

// ANCHOR: seal
/// In the child, inside the new root (after `pivot_root`, so `/run` is the
/// container's `/run` and a symlink in the image cannot lead outside):
/// each tmpfs, then the read-only remount of `/`.
pub fn seal(sys: &dyn Syscall, options: &ReadOnlyRoot) -> Result<()> {
    for tmpfs in &options.tmpfs {
        make_dirs(sys, &tmpfs.target)?;
        let (flags, data) = tmpfs.flags_and_data();
        let data = (!data.is_empty()).then_some(data.as_str());
        sys.mount(
            Some(Path::new("tmpfs")),
            &tmpfs.target,
            Some("tmpfs"),
            flags,
            data,
        )
        .with_context(|| format!("mount tmpfs on {}", tmpfs.target.display()))?;
    }
    if options.read_only {
        // A remount of the bind mount chapter 3 made of the root: MS_BIND
        // says "this mount's flags", not the filesystem's (the overlay's
        // superblock, and the upper directory under it, stay writable for
        // the host).
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        sys.mount(None, Path::new("/"), None, flags, None)
            .context("remount / read-only")?;
    }
    Ok(())
}
// ANCHOR_END: seal

/// `mkdir -p` of a path inside the new root.
fn make_dirs(sys: &dyn Syscall, path: &Path) -> Result<()> {
    let mut dir = PathBuf::from("/");
    for part in path.components().skip(1) {
        dir.push(part);
        crate::pivot::ensure_dir(sys, &dir, 0o755)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::Recorder;

    #[test]
    fn docker_spellings() {
        let t = Tmpfs::parse("/run:size=64m,exec").unwrap();
        assert_eq!(t.target, Path::new("/run"));
        let (flags, data) = t.flags_and_data();
        assert_eq!(flags, MsFlags::MS_NOSUID | MsFlags::MS_NODEV);
        assert_eq!(data, "size=64m");
        assert_eq!(t.to_string(), "/run:size=64m,exec");
        let (flags, data) = Tmpfs::parse("/tmp").unwrap().flags_and_data();
        assert_eq!(
            flags,
            MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID | MsFlags::MS_NODEV
        );
        assert_eq!(data, "");
        for bad in ["tmp", "/", "/a/../b", ""] {
            assert!(Tmpfs::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tmpfs_first_then_the_root_read_only() {
        let sys = Recorder::new();
        let options = ReadOnlyRoot {
            read_only: true,
            tmpfs: vec![Tmpfs::parse("/run/app:size=1m").unwrap()],
        };
        seal(&sys, &options).unwrap();
        insta::assert_snapshot!(sys, @r#"
        mkdir("/run", 0o755)
        mkdir("/run/app", 0o755)
        mount("tmpfs", "/run/app", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m")
        mount(NULL, "/", NULL, MS_RDONLY | MS_REMOUNT | MS_BIND, NULL)
        "#);
    }
}
