//! What chapter 6 remembers about a container beyond chapter 4's record.
//!
//! ```text
//! <root>/containers/<id>/config.json     chapter 4's record: name, image, status, pid, exit code
//! <root>/containers/<id>/runtime.json    this chapter's: environment, network, supervisor
//! <root>/containers/<id>/stdout.log      what a detached container printed on stdout
//! <root>/containers/<id>/stderr.log      ... and on stderr
//! <root>/containers/<id>/supervisor.log  the supervisor's own warnings
//! <root>/containers/<id>/etc/            hostname, hosts, resolv.conf (chapter 5)
//! ```
//!
//! `start` needs the runtime record to build the same container again,
//! `exec` to give a command the container's environment, and `rm` to find
//! the cgroup and network to release after a crash, when no process is left
//! that remembers them.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use ch03_overlayfs::storage::{Durability, read_json, write_json};
use ch04_images::containers::{ContainerStore, ProcessRef};
use ch05_network::Attachment;

/// The runtime record's file name.
pub const RUNTIME_FILE: &str = "runtime.json";
/// The log of a detached container's standard output.
pub const STDOUT_LOG: &str = "stdout.log";
/// The log of a detached container's standard error.
pub const STDERR_LOG: &str = "stderr.log";
/// The supervisor's own messages.
pub const SUPERVISOR_LOG: &str = "supervisor.log";

// ANCHOR: runtime
/// Everything needed to start the same container again, enter it, or
/// release what it holds: written before it starts, read by `start`,
/// `exec`, `rm` and `inspect`.
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
    /// The network, its published ports and name servers (chapter 5).
    pub network: Attachment,
    /// `--rm`.
    pub auto_remove: bool,
    /// Started with `-d` (or by `start`): output goes to the logs.
    pub detached: bool,
    /// The process that reaps the container and cleans up after it: the
    /// supervisor of a detached container, `mydocker run` otherwise.
    pub supervisor: Option<ProcessRef>,
}
// ANCHOR_END: runtime

impl Runtime {
    /// The runtime record of container `id`, if it has one (containers made
    /// by chapter 4's binary do not).
    pub fn read(store: &ContainerStore, id: &str) -> Result<Option<Runtime>> {
        read_json(&store.dir_of(id).join(RUNTIME_FILE))
    }

    /// Writes it (atomically) into the container's directory. A `--rm`
    /// container's is written without `fsync`: nobody needs it after a
    /// reboot (see [`ContainerStore::volatile`]).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let durability = if self.auto_remove {
            Durability::Volatile
        } else {
            Durability::Durable
        };
        write_json(&dir.join(RUNTIME_FILE), self, durability)
    }
}
