//! Shared by the privileged tests: a cgroup parent of the test's own, and a
//! guard that removes whatever is left under it, even when the test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The root of the host's cgroup mounts.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// A parent cgroup name used by one test only, so that one test removing its
/// (empty) parent never races another test creating a container in it.
pub struct Parent {
    /// `mydocker-test-<test>`.
    pub name: String,
}

impl Parent {
    /// The parent for `test`.
    pub fn new(test: &str) -> Parent {
        let parent = Parent {
            name: format!("mydocker-test-{test}"),
        };
        // A previous run that was killed may have left it: start clean.
        parent.remove_all();
        parent
    }

    /// Every directory of this parent, and of its children, in any hierarchy.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for hierarchy in hierarchies() {
            let dir = hierarchy.join(&self.name);
            if dir.is_dir() {
                found.extend(subdirs(&dir));
                found.push(dir);
            }
        }
        found
    }

    /// Kills what is in the parent's cgroups (only this test's containers can
    /// be there) and removes them.
    fn remove_all(&self) {
        for dir in self.leftovers() {
            for _ in 0..500 {
                let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                for pid in procs
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Parent {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Every cgroup hierarchy mounted under /sys/fs/cgroup (and the root itself,
/// when it is the v2 hierarchy).
pub fn hierarchies() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from(CGROUP_ROOT)];
    out.extend(subdirs(Path::new(CGROUP_ROOT)));
    out
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Directories named `name` anywhere in the first three levels of
/// /sys/fs/cgroup (where a container's cgroup would be).
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for hierarchy in hierarchies() {
        for parent in subdirs(&hierarchy) {
            found.extend(subdirs(&parent).into_iter().filter(|d| d.ends_with(name)));
        }
    }
    found
}
