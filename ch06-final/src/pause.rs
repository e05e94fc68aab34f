//! `pause` and `unpause`: chapter 2's freezer, on a running container.
//!
//! A frozen process is not stopped by a signal (SIGSTOP could be caught
//! sight of by its parent, and undone by anyone's SIGCONT); the kernel
//! simply no longer schedules any task of the cgroup until it is thawed.
//! The state lives in the cgroup, not in our records, so `ps` and
//! `inspect` ask the kernel whether a container is paused.

use anyhow::{Result, bail};

use ch02_cgroups::Cgroups;
use ch04_images::containers::{ContainerStore, Record};

/// True if `record`'s container runs and its cgroup is frozen.
pub fn is_paused(record: &Record) -> bool {
    record.live_process().is_some()
        && Cgroups::for_container(&record.resources.cgroup_parent, &record.id)
            .and_then(|c| c.is_paused())
            .unwrap_or(false)
}

// ANCHOR: pause
/// `pause CONTAINER`: freezes every process of a running container.
pub fn pause(store: &ContainerStore, name: &str) -> Result<()> {
    let record = store.find(name)?;
    if record.live_process().is_none() {
        bail!("container {} is not running", record.name);
    }
    if is_paused(&record) {
        bail!("container {} is already paused", record.name);
    }
    Cgroups::for_container(&record.resources.cgroup_parent, &record.id)?.pause()
}

/// `unpause CONTAINER`: lets them run again.
pub fn unpause(store: &ContainerStore, name: &str) -> Result<()> {
    let record = store.find(name)?;
    if !is_paused(&record) {
        bail!("container {} is not paused", record.name);
    }
    thaw(&record)
}
// ANCHOR_END: pause

/// Thaws `record`'s container if it is paused: what `stop` and `kill` do
/// first, since on cgroup v1 even SIGKILL waits for the thaw.
pub fn thaw(record: &Record) -> Result<()> {
    match is_paused(record) {
        true => Cgroups::for_container(&record.resources.cgroup_parent, &record.id)?.unpause(),
        false => Ok(()),
    }
}
