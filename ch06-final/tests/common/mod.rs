//! What every privileged test of chapter 6 needs: a data root with the
//! busybox image, the binary run against it (optionally inside a network
//! lab), and a guard that removes every container the test made, also when
//! it fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use testkit::DataRoot;
use testkit::lab::Lab;

/// The `mydocker` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(assert_cmd::cargo::cargo_bin!("mydocker"))
}

/// A data root with busybox imported, and optionally a lab to run in.
pub struct Env {
    root: DataRoot,
    lab: Option<Lab>,
    /// A file bound over `/etc/subuid` and `/etc/subgid` for every command,
    /// in a mount namespace of its own: the machine's files stay untouched.
    subids: Option<PathBuf>,
}

impl Env {
    /// A data root on the host's network namespace (no network use).
    pub fn new() -> Env {
        Env::make(None)
    }

    /// A data root whose commands run inside a new lab.
    pub fn in_lab() -> Env {
        Env::make(Some(Lab::new()))
    }

    /// A data root whose commands see `text` as `/etc/subuid` and
    /// `/etc/subgid` (the file is kept in the data root's directory).
    pub fn with_subids(text: &str) -> Env {
        let mut env = Env::make(None);
        let file = env.root().join("subids");
        std::fs::write(&file, text).expect("write the subid file");
        env.subids = Some(file);
        env
    }

    fn make(lab: Option<Lab>) -> Env {
        let env = Env {
            root: DataRoot::new(),
            lab,
            subids: None,
        };
        let tar = testkit::busybox_tar();
        env.ok(&["import", tar.to_str().expect("utf-8 path"), "busybox"]);
        env
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The lab, if any.
    pub fn lab(&self) -> &Lab {
        self.lab.as_ref().expect("this test has a lab")
    }

    /// `mydocker --root ROOT ARGS...`, inside the lab if there is one. The
    /// lab is joined with `nsenter --net` rather than `ip netns exec`,
    /// which would mount a new /sys and so hide the cgroup hierarchies.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.lab {
            Some(lab) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{}", lab.name())).arg(bin());
                c
            }
            None => match &self.subids {
                // mount --bind needs the files to exist: they do on Debian
                // and Ubuntu (shadow's package ships them, perhaps empty).
                Some(file) => {
                    let mut c = Command::new("unshare");
                    c.args(["-m", "sh", "-c"])
                        .arg(
                            "mount --bind \"$0\" /etc/subuid && \
                             mount --bind \"$0\" /etc/subgid && exec \"$@\"",
                        )
                        .arg(file)
                        .arg(bin());
                    c
                }
                None => Command::new(bin()),
            },
        };
        cmd.arg("--root").arg(self.root()).args(args);
        cmd
    }

    /// Runs `mydocker ARGS...` and returns what happened.
    pub fn md(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .output()
            .unwrap_or_else(|e| panic!("run mydocker {args:?}: {e}"))
    }

    /// Runs `mydocker ARGS...`, panics unless it exits 0, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.md(args);
        assert!(
            out.status.success(),
            "mydocker {args:?} exited {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `inspect CONTAINER` as JSON.
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", name]);
        let all: serde_json::Value = serde_json::from_str(&text).expect("inspect prints JSON");
        all[0].clone()
    }

    /// The container's pid on the host, while it runs.
    pub fn pid(&self, name: &str) -> i32 {
        let pid = self.inspect(name)["State"]["Pid"].as_i64().unwrap_or(0) as i32;
        assert!(pid > 0, "container {name} has no pid");
        pid
    }

    /// The pid of the container's supervisor, while it runs.
    pub fn supervisor(&self, name: &str) -> i32 {
        self.inspect(name)["Supervisor"]
            .as_i64()
            .unwrap_or_else(|| panic!("container {name} has no live supervisor")) as i32
    }

    /// The container's state: `(status, exit code)`.
    pub fn state(&self, name: &str) -> (String, i64) {
        let state = &self.inspect(name)["State"];
        (
            state["Status"].as_str().unwrap_or_default().to_string(),
            state["ExitCode"].as_i64().unwrap_or(-1),
        )
    }

    /// Waits (up to 20 s) until the container has exited.
    pub fn wait_exited(&self, name: &str) -> i64 {
        for _ in 0..200 {
            let (status, code) = self.state(name);
            if status == "exited" {
                return code;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("container {name} did not exit");
    }

    /// Waits (up to 20 s) until the container's pid 1 has a handler for
    /// signal `signo` (its bit in `SigCgt` of `/proc/PID/status`). Until a
    /// shell has run its `trap`, pid 1 of a namespace drops the signal.
    pub fn wait_handles(&self, name: &str, signo: u32) {
        let pid = self.pid(name);
        for _ in 0..200 {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let caught = status
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .unwrap_or(0);
            if caught & (1 << (signo - 1)) != 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("container {name} never handled signal {signo}");
    }

    /// The full ids of every container of this root.
    pub fn ids(&self) -> Vec<String> {
        self.ok(&["ps", "-a", "-q", "--no-trunc"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The directory of container `id`.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root().join("containers").join(id)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Every container, running or not, with everything it holds; the
        // lab (dropped after this) takes whatever may remain in it.
        if let Ok(out) = self.cmd(&["ps", "-a", "-q", "--no-trunc"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = self.cmd(&["rm", "-f", id]).output();
            }
        }
    }
}

/// True while process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .is_some_and(|i| !stat[i + 1..].trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// The cgroup v1 directories of container `id` under the default parent.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    ["memory", "pids", "cpu", "cpuset"]
        .iter()
        .map(|c| {
            Path::new("/sys/fs/cgroup")
                .join(c)
                .join("mydocker")
                .join(id)
        })
        .filter(|p| p.exists())
        .collect()
}

/// Runs `mydocker ARGS...` in `env` and returns (exit code, stdout, stderr).
pub fn outcome(env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    let out = env.md(args);
    (out.status.code(), stdout(&out), stderr(&out))
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
