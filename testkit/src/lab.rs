//! Network labs: a network namespace standing for "the host" and another
//! standing for "the internet", joined by a veth (design.md, "The network
//! lab"). Tests create bridges, veths, NAT rules and `ip_forward` only in
//! there, never in the machine's own namespace.
//!
//! ```text
//!   <lab>-inet  eth0 198.51.100.1/24  <--veth-->  <lab>  eth0 198.51.100.2/24
//!                                                        default via 198.51.100.1
//! ```
//!
//! A [`Lab`] is built and torn down by `scripts/lab.sh` (the Makefile's lab
//! mode uses the same script), named `mdlab-<pid>-<n>`, and removed on drop
//! together with everything in it, also when the test fails. Commands run
//! inside it through `nsenter --net`, in a child process, so the test
//! process itself never changes namespace (other tests run threads beside
//! it).

use std::ffi::OsStr;
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::workspace_dir;

/// The internet's address.
pub const INET_ADDR: &str = "198.51.100.1";
/// The lab host's address on its uplink, `eth0`.
pub const LAB_ADDR: &str = "198.51.100.2";

const PREFIX: &str = "mdlab-";

/// A lab and its internet; both are deleted when this is dropped.
pub struct Lab {
    name: String,
}

fn script(args: &[&str]) -> Output {
    let path = workspace_dir().join("scripts/lab.sh");
    Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()))
}

/// Removes labs left by test processes that died without dropping them.
fn reap_stale_labs() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if rest.ends_with("-inet") {
            continue;
        }
        let mut parts = rest.split('-');
        let (Some(pid), Some(n), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), n.parse::<u32>()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = script(&["down", name]);
        }
    }
}

impl Lab {
    /// Creates a new lab (`mdlab-<pid>-<n>`) and its internet.
    pub fn new() -> Lab {
        static REAP: Once = Once::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        REAP.call_once(reap_stale_labs);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let lab = Lab {
            name: format!("{PREFIX}{}-{n}", std::process::id()),
        };
        let out = script(&["up", &lab.name]);
        assert!(
            out.status.success(),
            "scripts/lab.sh up {}: {}",
            lab.name,
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    /// The lab's namespace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The internet's namespace name.
    pub fn inet(&self) -> String {
        format!("{}-inet", self.name)
    }

    /// `program` to be run inside the lab.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        // nsenter joins only the network namespace; `ip netns exec` would
        // also mount a fresh /sys, hiding /sys/fs/cgroup from mydocker.
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.name))
            .arg(program);
        cmd
    }

    /// `program` to be run inside the internet.
    pub fn inet_command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.inet()))
            .arg(program);
        cmd
    }

    /// Runs a shell script inside the lab.
    pub fn sh(&self, script: &str) -> Output {
        run(self.command("/bin/sh").args(["-c", script]))
    }

    /// Runs a shell script inside the internet.
    pub fn inet_sh(&self, script: &str) -> Output {
        run(self.inet_command("/bin/sh").args(["-c", script]))
    }

    /// Runs a shell script inside the lab, panics if it fails, and returns
    /// its standard output.
    pub fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "in lab {}: {script}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The names of the lab's network interfaces, sorted.
    pub fn links(&self) -> Vec<String> {
        let text = self.sh_ok("ip -o link show");
        let mut names: Vec<String> = text
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .collect();
        names.sort();
        names
    }

    /// The lab's filter and nat rules, as `iptables -S` prints them.
    pub fn rules(&self) -> String {
        self.sh_ok("iptables -S && iptables -t nat -S")
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let out = script(&["down", &self.name]);
        if !out.status.success() {
            eprintln!(
                "warning: scripts/lab.sh down {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

/// Makes sure the kernel shows bridged frames to iptables can be switched
/// on: `/proc/sys/net/bridge` exists only once the `br_netfilter` module
/// is loaded. Kernels that build it in have it from boot; Debian's and
/// Ubuntu's stock kernels load it only when asked (Docker asks at start),
/// so the FORWARD FAQ's test asks too, and panics naming the module when
/// it cannot be loaded.
pub fn need_br_netfilter() {
    if std::path::Path::new("/proc/sys/net/bridge").is_dir() {
        return;
    }
    let loaded = std::process::Command::new("modprobe")
        .arg("br_netfilter")
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        loaded && std::path::Path::new("/proc/sys/net/bridge").is_dir(),
        "this test needs the br_netfilter module (/proc/sys/net/bridge is missing): \
         modprobe br_netfilter failed; load it, or build a kernel with CONFIG_BRIDGE_NETFILTER"
    );
}
