//! `rm`, and releasing what a container holds from the records on disk.
//!
//! Normally the supervisor releases the cgroup and the network when the
//! container exits. But a supervisor can be killed, and then nobody did.
//! Everything a container holds is written down before it is created
//! (chapter 2's cgroup is `<parent>/<id>`, chapter 5's endpoint record lists
//! the veth, the address and the ports), so `rm` can release it all knowing
//! only the id. Every step tolerates what is already gone: releasing twice
//! is harmless, which is what makes crash cleanup safe.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;

use ch02_cgroups::Cgroups;
use ch03_overlayfs::overlay::detach_mounts_under;
use ch04_images::containers::{ContainerStore, Record};
use ch05_network::release_container;

use crate::state::Runtime;
use ch04_images::containers::ProcessRef;
use ch04_images::pidfd::{PidFd, kill_and_wait, wait_gone};

/// How long `rm` waits for a supervisor to finish its own cleanup.
const SUPERVISOR_GRACE: Duration = Duration::from_secs(10);

// ANCHOR: remove
/// `rm [-f]`: refuses a running container unless `force`, which kills it
/// first; then releases everything it holds and removes its record, layer,
/// logs and name.
pub fn remove(
    root: &Path,
    store: &ContainerStore,
    name_or_id: &str,
    force: bool,
) -> Result<Record> {
    let record = store.find(name_or_id)?;
    let runtime = Runtime::read(store, &record.id)?;
    if let Some(process) = record.live_process() {
        if !force {
            bail!(
                "cannot remove container {}: it is running (stop it first, or use rm -f)",
                record.name
            );
        }
        kill_and_wait(process)?;
    }
    if let Some(supervisor) = runtime.as_ref().and_then(|r| r.supervisor) {
        wait_for_supervisor(supervisor);
    }
    release(root, &record)?;
    detach_mounts_under(&store.dir_of(&record.id))?;
    store.remove(&record.id, false)
}
// ANCHOR_END: remove

/// `--rm`, in the process that just reaped the container and ran every
/// hook's cleanup without an error: the cgroup and the network are released
/// already, so only the mounts check, the record, the layer and the name
/// are left.
pub fn remove_released(store: &ContainerStore, id: &str) -> Result<Record> {
    detach_mounts_under(&store.dir_of(id))?;
    store.remove(id, false)
}

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

// ANCHOR: release
/// Releases a dead container's cgroup and network from the records on
/// disk. Mounts need nothing: they lived in the container's mount
/// namespace, which the kernel tore down with its last process.
pub fn release(root: &Path, record: &Record) -> Result<()> {
    let parent = &record.resources.cgroup_parent;
    let cgroup = Cgroups::for_container(parent, &record.id).and_then(|mut c| c.destroy());
    let network = release_container(root, &record.id);
    cgroup
        .with_context(|| format!("release the cgroup of container {}", record.name))
        .and(network)
}
// ANCHOR_END: release
