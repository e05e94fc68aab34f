//! `rm`: the one removal of a container, for every chapter's binary.
//!
//! A container holds things outside its directory: chapter 2's cgroup,
//! chapter 5's addresses, veth and rules. Normally the process that reaps it
//! releases them when it exits. But that process can be killed, and then
//! nobody did. Everything a container holds is written down before it is
//! created (the cgroup is `<parent>/<id>`, the network's endpoint record
//! lists the veth, the address and the ports), so `rm` can release it all
//! knowing only the record. Every release tolerates what is already gone:
//! releasing twice is harmless, which is what makes crash cleanup safe.
//!
//! Chapter 4 knows the cgroup and the mounts; a later chapter adds what it
//! holds with [`Removal::releasing`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;

use ch02_cgroups::Cgroups;
use ch03_overlayfs::overlay::detach_mounts_under;

use crate::containers::{ContainerStore, ProcessRef, Record};
use crate::pidfd::{PidFd, kill_and_wait, wait_gone};

/// How long `rm` waits for a supervisor to finish its own cleanup.
const SUPERVISOR_GRACE: Duration = Duration::from_secs(10);

/// Releases one thing a dead container held, from its record alone (the
/// data root, then the record).
pub type Release = fn(&Path, &Record) -> Result<()>;

// ANCHOR: removal
/// How containers under one data root are removed: the store, and every
/// chapter's [`Release`].
pub struct Removal {
    root: PathBuf,
    store: ContainerStore,
    releases: Vec<Release>,
}

impl Removal {
    /// Removal from the data root `root`, releasing the container's cgroup.
    pub fn new(root: &Path) -> Removal {
        Removal::with_store(root, ContainerStore::new(root))
    }

    /// The same, through `store` (a `--rm` container's volatile one).
    pub fn with_store(root: &Path, store: ContainerStore) -> Removal {
        Removal {
            root: root.to_path_buf(),
            store,
            releases: vec![release_cgroup],
        }
    }

    /// Also runs `release` for every container removed.
    pub fn releasing(mut self, release: Release) -> Removal {
        self.releases.push(release);
        self
    }

    /// `rm [-f]`: refuses a running container unless `force`, which kills
    /// it first; then releases everything it holds and removes its record,
    /// layer, logs and name.
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Record> {
        let record = self.store.find(name_or_id)?;
        let live = record.live_process();
        if (live.is_some() || record.is_restarting()) && !force {
            let state = if live.is_some() {
                "running"
            } else {
                "restarting"
            };
            bail!(
                "cannot remove container {}: it is {state} (stop it first, or use rm -f)",
                record.name
            );
        }
        if force && record.supervisor.is_some_and(|s| s.is_alive()) {
            // A stop by the user: its supervisor must not restart it.
            self.store
                .update(&record.id, |r| r.manually_stopped = true)?;
        }
        if let Some(process) = live {
            // A paused (frozen) container dies only once thawed: on cgroup
            // v1 a SIGKILL waits for the thaw like everything else.
            let cgroups = Cgroups::for_container(&record.resources.cgroup_parent, &record.id)?;
            if cgroups.is_paused().unwrap_or(false) {
                cgroups.unpause()?;
            }
            kill_and_wait(process)?;
        }
        if let Some(supervisor) = record.supervisor {
            wait_for_supervisor(supervisor);
        }
        self.release(&record)?;
        self.remove_released(&record.id)
    }

    /// Runs every release, all of them even if one fails (the first error
    /// is returned): what can be released should be.
    pub fn release(&self, record: &Record) -> Result<()> {
        let mut first = None;
        for release in &self.releases {
            if let Err(e) = release(&self.root, record) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// `--rm`, in the process that just reaped the container and ran every
    /// hook's cleanup without an error: the cgroup and the network are
    /// released already, so only the mounts check, the record, the layer
    /// and the name are left.
    pub fn remove_released(&self, id: &str) -> Result<Record> {
        detach_mounts_under(&self.store.dir_of(id))?;
        self.store.delete(id)
    }
}
// ANCHOR_END: removal

/// Lets the container's supervisor (or foreground `mydocker run`) finish
/// recording the exit and cleaning up; kills it if it hangs. Not ourselves:
/// a supervisor removing its own container (`--rm`) is past that point.
fn wait_for_supervisor(supervisor: ProcessRef) {
    if Some(supervisor) == ProcessRef::me() {
        return;
    }
    if !wait_gone(supervisor, SUPERVISOR_GRACE) {
        if let Ok(Some(pidfd)) = PidFd::open(supervisor) {
            let _ = pidfd.signal(Signal::SIGKILL);
            let _ = pidfd.wait_exit(Some(Duration::from_secs(5)));
        }
    }
}

// ANCHOR: release_cgroup
/// Removes a dead container's cgroup, `<parent>/<id>`. Mounts need nothing:
/// they lived in the container's mount namespace, which the kernel tore
/// down with its last process.
pub fn release_cgroup(_root: &Path, record: &Record) -> Result<()> {
    let parent = &record.resources.cgroup_parent;
    Cgroups::for_container(parent, &record.id)
        .and_then(|mut c| c.destroy())
        .with_context(|| format!("release the cgroup of container {}", record.name))
}
// ANCHOR_END: release_cgroup
