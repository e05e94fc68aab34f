//! Sizes, as `docker images` shows them.
//!
//! An image's size is the sum of its layers' uncompressed tar lengths, which
//! the layer store recorded when each layer came in, so no tree is walked to
//! print it. It is printed in powers of 1000, as Docker prints it.

use crate::images::{Image, ImageStore};

impl ImageStore {
    /// The size `docker images` shows: the layers' uncompressed tar sizes.
    pub fn size(&self, image: &Image) -> u64 {
        image
            .config
            .rootfs
            .diff_ids
            .iter()
            .filter_map(|d| self.layers.info(d).ok())
            .map(|i| i.size)
            .sum()
    }
}

/// The bytes of the files under `dir` (not following symlinks, each hard
/// link once, directories themselves not counted): what `ps -s` and
/// `system df` call a container's or a volume's size. A directory that is
/// missing or unreadable counts what could be read.
pub fn tree_size(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.nlink() < 2 || seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

/// A size as Docker prints it: `4.26MB` (powers of 1000).
pub fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + units[u]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(1_000_000), "1MB");
    }

    #[test]
    fn tree_sizes_count_files_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), b"12345").unwrap();
        std::fs::write(dir.path().join("sub/b"), b"123").unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("sub/a2")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("l")).unwrap();
        // The link itself is a few bytes; /etc/passwd is not followed.
        let size = tree_size(dir.path());
        assert!((8..20).contains(&size), "{size}");
        assert_eq!(tree_size(&dir.path().join("missing")), 0);
    }
}
