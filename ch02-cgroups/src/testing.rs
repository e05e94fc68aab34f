//! Temporary trees shaped like `/sys/fs/cgroup`, for the drivers' tests.
//!
//! A real cgroup filesystem fills every new directory with its files; a
//! temporary directory does not. A test therefore creates the few files the
//! kernel would have shown before the driver reads them, lets the driver
//! write, then compares everything in the tree with a snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A v1 layout: one directory per hierarchy, the root cpuset filled in.
pub fn v1_fixture() -> (TempDir, BTreeMap<String, PathBuf>) {
    let tmp = tempfile::tempdir().expect("create a temporary directory");
    let mut mounts = BTreeMap::new();
    for controller in crate::detect::CONTROLLERS {
        let dir = tmp.path().join(controller);
        std::fs::create_dir(&dir).expect("mkdir a fake hierarchy");
        mounts.insert(controller.to_string(), dir);
    }
    std::fs::write(tmp.path().join("cpuset/cpuset.cpus"), "0-1\n").expect("write fixture");
    std::fs::write(tmp.path().join("cpuset/cpuset.mems"), "0\n").expect("write fixture");
    (tmp, mounts)
}

/// A v2 root offering the usual controllers, none enabled yet.
pub fn v2_fixture() -> TempDir {
    let tmp = tempfile::tempdir().expect("create a temporary directory");
    std::fs::write(
        tmp.path().join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    )
    .expect("write fixture");
    std::fs::write(tmp.path().join("cgroup.subtree_control"), "").expect("write fixture");
    tmp
}

/// Every directory (`dir/`) and file (`file: content`) under `root`, sorted.
pub fn dump(root: &Path) -> String {
    let mut out = String::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut String) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read a fixture directory")
        .map(|e| e.expect("read a fixture entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.strip_prefix(root).expect("under root").display();
        if path.is_dir() {
            out.push_str(&format!("{name}/\n"));
            walk(root, &path, out);
        } else {
            let text = std::fs::read_to_string(&path).expect("read a fixture file");
            out.push_str(&format!("{name}: {}\n", text.trim_end()));
        }
    }
}

/// `-m 64m` with `memory_swap`.
pub fn swap_limits(memory_swap: crate::limits::MemorySwap) -> crate::limits::Limits {
    crate::limits::Limits {
        memory: Some(64 << 20),
        memory_swap: Some(memory_swap),
        ..Default::default()
    }
}

/// A swap limit on a kernel that does not account swap (the file is
/// missing from the fake tree) is refused, not ignored.
pub fn assert_swap_refused(driver: &dyn crate::driver::Driver) {
    let limits = swap_limits(crate::limits::MemorySwap::Total(96 << 20));
    let err = driver.apply(&limits).unwrap_err().to_string();
    assert!(
        err.starts_with("--memory-swap needs swap accounting"),
        "{err}"
    );
}
