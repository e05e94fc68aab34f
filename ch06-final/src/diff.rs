//! `diff CONTAINER`: what the container changed in its file system.
//!
//! Nothing needs computing: overlayfs already keeps the container's changes
//! apart, in its upper directory, in the overlay dialect of chapter 4's
//! [`whiteout`] module. A 0/0 character device is a deleted file (`D`); any
//! other name there is new (`A`) unless the image's layers have it too, in
//! which case it was changed (`C`). Each directory holding a change was
//! copied up, and so shows as changed; an opaque directory replaced the
//! image's one, and everything in it is new. The upper directory is on disk
//! whether or not the container runs.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use ch04_images::commit::upper_dir;
use ch04_images::containers::ContainerStore;
use ch04_images::images::ImageStore;
use ch04_images::whiteout;

/// What happened to one path, as Docker writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `A`: added.
    Added,
    /// `C`: changed.
    Changed,
    /// `D`: deleted.
    Deleted,
}

/// One line of `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What happened.
    pub kind: Kind,
    /// The path inside the container (`/etc/passwd`).
    pub path: PathBuf,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = match self.kind {
            Kind::Added => 'A',
            Kind::Changed => 'C',
            Kind::Deleted => 'D',
        };
        write!(f, "{letter} {}", self.path.display())
    }
}

// ANCHOR: diff
/// `diff CONTAINER`: prints the container's changes, sorted by path as
/// Docker sorts them.
pub fn diff(root: &Path, store: &ContainerStore, name: &str, out: &mut impl Write) -> Result<()> {
    let record = store.find(name)?;
    let images = ImageStore::new(root);
    let image = images
        .get(&record.image_id)
        .with_context(|| format!("the image of container {}", record.name))?;
    let lowers = image.lowerdirs(&images.layers);
    for change in changes(&upper_dir(store, &record), &lowers)? {
        writeln!(out, "{change}").context("write to stdout")?;
    }
    Ok(())
}

/// The changes recorded in the overlay upper directory `upper` over the
/// layers `lowers` (top-most first), sorted by path.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    let mut found = Vec::new();
    if upper.is_dir() {
        walk(upper, Path::new("/"), lowers, false, &mut found)?;
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Records the changes under `dir` (the upper directory's view of the
/// container's `at`); `fresh` says an opaque directory above made every
/// name new.
fn walk(
    dir: &Path,
    at: &Path,
    lowers: &[PathBuf],
    fresh: bool,
    found: &mut Vec<Change>,
) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        let (host, path) = (entry.path(), at.join(entry.file_name()));
        let meta = std::fs::symlink_metadata(&host)
            .with_context(|| format!("lstat {}", host.display()))?;
        if whiteout::is_whiteout(meta.mode(), meta.rdev()) {
            found.push(Change {
                kind: Kind::Deleted,
                path,
            });
            continue;
        }
        let below = !fresh && in_lowers(lowers, &path);
        let kind = if below { Kind::Changed } else { Kind::Added };
        found.push(Change {
            kind,
            path: path.clone(),
        });
        if meta.is_dir() {
            let opaque = File::open(&host).map(whiteout::is_opaque).unwrap_or(false);
            walk(&host, &path, lowers, fresh || opaque, found)?;
        }
    }
    Ok(())
}

/// True if the image's layers show `path`: the top-most layer that has the
/// name decides (a whiteout there means an earlier `commit` deleted it).
fn in_lowers(lowers: &[PathBuf], path: &Path) -> bool {
    let rel = path.strip_prefix("/").unwrap_or(path);
    for lower in lowers {
        if let Ok(meta) = std::fs::symlink_metadata(lower.join(rel)) {
            return !whiteout::is_whiteout(meta.mode(), meta.rdev());
        }
    }
    false
}
// ANCHOR_END: diff

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(upper: &Path, lowers: &[PathBuf]) -> Vec<String> {
        changes(upper, lowers)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn new_names_are_added_and_names_of_the_image_changed_with_their_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let (upper, lower) = (tmp.path().join("upper"), tmp.path().join("lower"));
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::write(lower.join("etc/passwd"), "root").unwrap();
        std::fs::create_dir_all(upper.join("etc")).unwrap();
        std::fs::create_dir_all(upper.join("new/deep")).unwrap();
        std::fs::write(upper.join("etc/passwd"), "root2").unwrap();
        std::fs::write(upper.join("etc/hello"), "hi").unwrap();
        std::fs::write(upper.join("new/deep/f"), "").unwrap();
        assert_eq!(
            lines(&upper, &[lower]),
            [
                "C /etc",
                "A /etc/hello",
                "C /etc/passwd",
                "A /new",
                "A /new/deep",
                "A /new/deep/f"
            ]
        );
    }

    #[test]
    fn a_missing_upper_directory_has_no_changes() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(lines(&tmp.path().join("nothing"), &[]).is_empty());
    }
}
