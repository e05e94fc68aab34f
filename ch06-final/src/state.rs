//! What chapter 6 adds to a container's record, and its files.
//!
//! ```text
//! <root>/containers/<id>/config.json     the record: chapter 4's fields, chapter 5's "network"
//!                                        part and this chapter's "runtime" part
//! <root>/containers/<id>/<id>-json.log   what the container printed, every line with its
//!                                        stream and time (crate::logfile)
//! <root>/containers/<id>/stdout.log      the same, of a container of an earlier mydocker:
//! <root>/containers/<id>/stderr.log      two plain files (read by `logs`, no longer written)
//! <root>/containers/<id>/supervisor.log  the supervisor's own warnings
//! <root>/containers/<id>/etc/            hostname, hosts, resolv.conf (chapter 5)
//! ```
//!
//! `start` needs the runtime part to build the same container again, and
//! `exec` to give a command the container's environment. One record in one
//! file, written once (when the container starts), so no reader ever sees
//! half of a container's description.

use std::path::PathBuf;

use anyhow::Result;
use ch01_namespaces::confine::Confinement;
use ch01_namespaces::userns::IdMap;
use ch03_overlayfs::readonly::{ReadOnlyRoot, Tmpfs};
use serde::{Deserialize, Serialize};

use ch04_images::containers::Part;

use crate::restart::Policy;

/// The log of standard output of a container of an earlier mydocker.
pub const STDOUT_LOG: &str = "stdout.log";
/// The log of standard error of a container of an earlier mydocker.
pub const STDERR_LOG: &str = "stderr.log";
/// The supervisor's own messages.
pub const SUPERVISOR_LOG: &str = "supervisor.log";

// ANCHOR: runtime
/// Everything else needed to start the same container again or enter it:
/// the `runtime` part of its record, read by `start`, `exec` and `inspect`.
/// (Its limits and volumes are chapter 4's fields, its network chapter 5's
/// part, the process that supervises it chapter 4's `supervisor`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// The hostname inside.
    pub hostname: String,
    /// The user's and the image's environment (`KEY=VALUE`), without the
    /// defaults every container gets.
    pub env: Vec<String>,
    /// The working directory inside.
    pub workdir: PathBuf,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub interactive: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// Started with `-d` (or by `start`): its output goes to the log only, not to a terminal.
    pub detached: bool,
    /// `--cap-add`, as typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// `--cap-drop`, as typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// `--security-opt`, as typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// The profile of `--security-opt seccomp=FILE` as it was at `run`:
    /// `start` and `exec` use this copy, not the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<String>,
    /// `--read-only`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// `--tmpfs`, as typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// `--userns=private`: the map the container was made with, kept so
    /// that `start` reuses its shifted image and `exec` joins its user
    /// namespace (records older than the flag have none: `--userns=host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns: Option<IdMap>,
    /// `--stop-signal`, as typed (`None`: SIGTERM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds (`None`: 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u64>,
    /// `--label KEY=VALUE`s.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--init`: chapter 1's tiny init is the container's PID 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// `--restart` (records older than the flag: `no`).
    #[serde(default, skip_serializing_if = "Policy::is_no")]
    pub restart: Policy,
    /// How many times the supervisor restarted it since a user last
    /// started it (Docker's `RestartCount`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restart_count: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Runtime {
    /// The confinement the container was started with, as chapter 1 builds
    /// it from the same flags (a record older than the flags gets Docker's
    /// default).
    pub fn confinement(&self) -> Result<Confinement> {
        let opts: Vec<String> = match &self.seccomp_profile {
            // The profile is read from the record below, not the file.
            Some(_) => self
                .security_opt
                .iter()
                .filter(|opt| !opt.starts_with("seccomp"))
                .cloned()
                .collect(),
            None => self.security_opt.clone(),
        };
        let confinement =
            Confinement::from_flags(&self.cap_add, &self.cap_drop, self.privileged, &opts)?;
        match &self.seccomp_profile {
            Some(profile) => confinement.with_profile(profile),
            None => Ok(confinement),
        }
    }
}

impl Runtime {
    /// Chapter 3's hook for `--read-only` and `--tmpfs`.
    pub fn rootfs(&self) -> Result<ReadOnlyRoot> {
        Ok(ReadOnlyRoot {
            read_only: self.read_only,
            tmpfs: self
                .tmpfs
                .iter()
                .map(|t| Tmpfs::parse(t))
                .collect::<Result<_>>()?,
        })
    }
}

impl Part for Runtime {
    const KEY: &'static str = "runtime";
}
// ANCHOR_END: runtime

#[cfg(test)]
mod tests {
    use super::*;

    /// A record written before `--restart` existed reads as `no`, and a
    /// container without a policy writes none: old and new records agree.
    #[test]
    fn records_without_a_restart_policy_read_as_no() {
        let old = serde_json::json!({
            "hostname": "h", "env": [], "workdir": "/", "tty": false,
            "interactive": false, "auto_remove": false, "detached": true,
        });
        let runtime: Runtime = serde_json::from_value(old.clone()).unwrap();
        assert_eq!((runtime.restart, runtime.restart_count), (Policy::No, 0));
        assert_eq!(serde_json::to_value(&runtime).unwrap(), old);
        let restarted = Runtime {
            restart: Policy::OnFailure { max: Some(3) },
            restart_count: 2,
            ..runtime
        };
        let json = serde_json::to_value(&restarted).unwrap();
        assert_eq!(json["restart"], "on-failure:3");
        assert_eq!(json["restart_count"], 2);
        assert_eq!(serde_json::from_value::<Runtime>(json).unwrap(), restarted);
    }
}
