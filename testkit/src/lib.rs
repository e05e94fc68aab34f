//! Test support for the mydocker chapters. A dev-dependency only: no
//! chapter's own code depends on it.
//!
//! - [`require_root`]: privileged tests run as root and skip (saying why)
//!   otherwise; with `MYDOCKER_NO_SKIP=1` (set by CI) a skip is a failure.
//! - [`busybox_rootfs`] and [`busybox_tar`]: a busybox root filesystem built
//!   once from the host's busybox-static and cached under `target/`.
//! - [`DataRoot`]: a temporary `--root` directory for one test.
//! - [`require_image_tar`]: the real Debian images `make images` builds;
//!   tests that need one skip (saying why) when it was not built.

pub mod lab;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The environment variable that turns a skipped privileged test into a failure.
pub const NO_SKIP_VAR: &str = "MYDOCKER_NO_SKIP";

/// True when the test may do privileged work. As a normal user it prints why
/// the test is skipped and returns false; with `MYDOCKER_NO_SKIP=1` it panics
/// instead, so CI cannot pass by skipping.
pub fn require_root(test: &str) -> bool {
    let uid = unsafe { libc_geteuid() };
    if uid == 0 {
        return true;
    }
    let reason = format!("skipping {test}: needs root (running as uid {uid})");
    if std::env::var(NO_SKIP_VAR).is_ok_and(|v| v == "1") {
        panic!("{reason}, and {NO_SKIP_VAR}=1 forbids skipping");
    }
    // Straight to the stderr file: the test harness captures eprintln! of
    // passing tests, and a skip must be seen, with its reason.
    let _ = writeln!(std::io::stderr(), "{reason}");
    false
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// The workspace's root directory.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits in the workspace")
        .to_path_buf()
}

/// Where fixtures are cached: `target/testkit`.
pub fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_dir().join("target"), PathBuf::from);
    let dir = target.join("testkit");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn build_once(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dest = cache_dir().join(name);
    if !dest.exists() {
        // Build under a unique name, then rename: parallel test binaries may
        // race here, and a rename is atomic.
        let tmp = cache_dir().join(format!("{name}.tmp.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_file(&tmp);
        build(&tmp);
        if std::fs::rename(&tmp, &dest).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            let _ = std::fs::remove_file(&tmp);
        }
    }
    dest
}

fn run_script(args: &[&std::ffi::OsStr]) {
    let script = workspace_dir().join("scripts/busybox-rootfs.sh");
    let status = Command::new(&script)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(
        status.success(),
        "{} failed: is busybox-static installed?",
        script.display()
    );
}

/// A busybox root filesystem (every applet linked, `PATH`-ready), built once
/// per `target/` by `scripts/busybox-rootfs.sh`.
pub fn busybox_rootfs() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_once("busybox-rootfs", |tmp| run_script(&[tmp.as_os_str()])))
        .clone()
}

/// The same root filesystem as a flat tar, like `docker export` writes.
pub fn busybox_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        build_once("busybox.tar", |tmp| {
            run_script(&["-t".as_ref(), tmp.as_os_str()])
        })
    })
    .clone()
}

/// Where `make images` (scripts/images.sh) caches the real images' tars:
/// `$IMAGES_DIR`, by default `/var/cache/mydocker-images`.
pub fn images_dir() -> PathBuf {
    std::env::var_os("IMAGES_DIR").map_or_else(
        || PathBuf::from("/var/cache/mydocker-images"),
        PathBuf::from,
    )
}

/// The tar of the real image `name` (`nginx-image`, `redis-image`,
/// `flask-image`), if `make images` built it. The tests do not build it
/// themselves: a build downloads from a Debian mirror. When it is missing
/// this prints why the test skips and returns None; with `MYDOCKER_NO_SKIP=1`
/// it panics instead, as [`require_root`] does.
pub fn require_image_tar(test: &str, name: &str) -> Option<PathBuf> {
    let tar = images_dir().join(format!("{name}.tar"));
    if tar.is_file() {
        return Some(tar);
    }
    let reason = format!(
        "skipping {test}: {} is missing (make images builds it; needs a Debian mirror)",
        tar.display()
    );
    if std::env::var(NO_SKIP_VAR).is_ok_and(|v| v == "1") {
        panic!("{reason}, and {NO_SKIP_VAR}=1 forbids skipping");
    }
    let _ = writeln!(std::io::stderr(), "{reason}");
    None
}

/// A temporary data root for one test (`--root DIR`), removed when dropped.
/// Kept on a disk-backed directory under `target/` so overlayfs works on it.
pub struct DataRoot {
    dir: tempfile::TempDir,
}

impl DataRoot {
    /// A new, empty data root.
    pub fn new() -> DataRoot {
        let dir = tempfile::Builder::new()
            .prefix("root-")
            .tempdir_in(cache_dir())
            .unwrap_or_else(|e| panic!("create a temporary data root: {e}"));
        DataRoot { dir }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for DataRoot {
    fn default() -> Self {
        Self::new()
    }
}

/// The pids of `pid`'s direct children, from `/proc/PID/task/*/children`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    out
}

/// Waits (up to `tries` × 20 ms) for `f` to return `Some`.
pub fn eventually<T>(tries: u32, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..tries {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// Lines of `/proc/self/mounts` whose mount point contains `needle`.
pub fn host_mounts_containing(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').nth(1).is_some_and(|m| m.contains(needle)))
        .map(str::to_string)
        .collect()
}
