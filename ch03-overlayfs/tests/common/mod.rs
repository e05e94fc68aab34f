//! Shared fixture of chapter 3's tests: a data root, and a directory holding
//! `busybox.tar` that each test runs from, so the image is imported the way
//! a user would (the seed's convention: `NAME.tar` in the current directory).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Output, Stdio};

use testkit::DataRoot;

/// A data root and a working directory with `busybox.tar` in it.
pub struct Fixture {
    pub root: DataRoot,
    pub cwd: DataRoot,
}

impl Fixture {
    pub fn new() -> Fixture {
        let cwd = DataRoot::new();
        std::fs::copy(testkit::busybox_tar(), cwd.path().join("busybox.tar"))
            .expect("copy busybox.tar");
        Fixture {
            root: DataRoot::new(),
            cwd,
        }
    }

    pub fn binary() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_ch03-overlayfs"))
    }

    /// `ch03-overlayfs --root ROOT` run from the fixture's directory.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(Self::binary());
        cmd.current_dir(self.cwd.path())
            .env_remove("MYDOCKER_ROOT")
            .arg("--root")
            .arg(self.root.path());
        cmd
    }

    /// `run ARGS...`, to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd()
            .arg("run")
            .args(args)
            .output()
            .expect("run ch03-overlayfs")
    }

    /// `run ARGS...` whose output must be a success; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "run {args:?} failed: {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `run ARGS...` in the background with piped stdin and stdout.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let mut child = std::process::Command::new(Self::binary())
            .current_dir(self.cwd.path())
            .env_remove("MYDOCKER_ROOT")
            .arg("--root")
            .arg(self.root.path())
            .arg("run")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn ch03-overlayfs");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Background {
            child: Some(child),
            stdout,
        }
    }

    pub fn image_dir(&self) -> PathBuf {
        self.root.path().join("images/busybox")
    }

    pub fn containers_dir(&self) -> PathBuf {
        self.root.path().join("containers")
    }

    /// The container directories that exist now.
    pub fn containers(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.containers_dir()) {
            Ok(entries) => entries
                .map(|e| e.expect("read containers").path())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Path of the data root as text, to look for it in mount tables.
    pub fn root_text(&self) -> String {
        self.root.path().display().to_string()
    }
}

/// A container running in the background. Dropping it closes its stdin,
/// kills what runs inside if it does not stop, and waits for mydocker, which
/// then cleans up.
pub struct Background {
    child: Option<Child>,
    stdout: BufReader<ChildStdout>,
}

impl Background {
    /// The next line the container prints.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read the container's stdout");
        line.trim_end().to_string()
    }

    /// Closes stdin (the container's `read` returns) and waits for the exit code.
    pub fn finish(mut self) -> i32 {
        let mut child = self.child.take().expect("child");
        drop(child.stdin.take());
        child
            .wait()
            .expect("wait for ch03-overlayfs")
            .code()
            .unwrap_or(-1)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            // The container's PID 1 is mydocker's child: kill it by pid, and
            // mydocker reaps it and removes the layers.
            for pid in testkit::children_of(child.id()) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = child.wait();
        }
    }
}

/// Everything about a directory tree that a write could change: per path,
/// its type, mode, owner, inode, size, times (modification and change, to
/// the nanosecond), link target and full contents.
pub fn tree_snapshot(dir: &Path) -> BTreeMap<PathBuf, (String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("lstat");
        let info = format!(
            "{:o} {}:{} ino={} size={} mtime={}.{} ctime={}.{}",
            meta.mode(),
            meta.uid(),
            meta.gid(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        );
        let body = if meta.file_type().is_symlink() {
            std::fs::read_link(&path)
                .expect("readlink")
                .into_os_string()
                .into_encoded_bytes()
        } else if meta.is_file() {
            std::fs::read(&path).expect("read")
        } else {
            Vec::new()
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).expect("readdir") {
                stack.push(entry.expect("entry").path());
            }
        }
        out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), (info, body));
    }
    out
}

/// The paths whose snapshot differs.
pub fn tree_diff(
    a: &BTreeMap<PathBuf, (String, Vec<u8>)>,
    b: &BTreeMap<PathBuf, (String, Vec<u8>)>,
) -> Vec<String> {
    let mut diff = Vec::new();
    for (path, before) in a {
        match b.get(path) {
            None => diff.push(format!("removed: {}", path.display())),
            Some(after) if after != before => diff.push(format!(
                "changed: {} ({} -> {})",
                path.display(),
                before.0,
                after.0
            )),
            _ => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        diff.push(format!("added: {}", path.display()));
    }
    diff
}

/// stderr as text, and a check that it is exactly one line.
pub fn one_line_stderr(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        text.lines().count(),
        1,
        "expected one line on stderr, got: {text:?}"
    );
    text.trim_end().to_string()
}
