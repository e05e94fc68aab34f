//! `run` with images from the store, names and records.
//!
//! Chapter 3 stacked one image directory under the container. Now the image
//! is a list of layer directories from the store, the container is
//! registered under a unique name before anything else happens, and its
//! record and writable layer stay after it exits, for `commit`, `export`
//! and `rm`.

use std::path::Path;

use anyhow::{Result, bail};
use nix::unistd::Pid;

use ch01_namespaces::lifecycle::Hook;
use ch01_namespaces::spec::Spec;

use crate::clock;
use crate::containers::{ContainerStore, Record, Status, process_start};
use crate::images::{Image, ImageStore};

// ANCHOR: resolve_for_run
/// Finds the image to run. Keeps chapter 3's convenience: a name that is
/// not in the store but exists as `NAME.tar` in the current directory or in
/// `/root` is imported (through the store) on first use. The caller holds
/// [`ImageStore::lock`], so two runs do not import the same tar twice.
pub fn resolve_for_run(images: &ImageStore, reference: &str) -> Result<Image> {
    if let Some(image) = images.resolve(reference)? {
        return Ok(image);
    }
    if !reference.contains([':', '/']) {
        for dir in ch03_overlayfs::images::tar_search_dirs() {
            let tar = dir.join(format!("{reference}.tar"));
            if tar.is_file() {
                images.import(&tar, reference)?;
                if let Some(image) = images.resolve(reference)? {
                    return Ok(image);
                }
            }
        }
    }
    bail!(
        "unable to find image {reference:?}: not in the store, and no {reference}.tar in the current directory or /root (use import or load)"
    )
}
// ANCHOR_END: resolve_for_run

/// Applies an image's defaults (`Env`, `WorkingDir`) to a spec.
pub fn apply_image_defaults(image: &Image, spec: &mut Spec) {
    let defaults = &image.config.config;
    let mut env = defaults.env.clone().unwrap_or_default();
    env.append(&mut spec.env);
    spec.env = env;
    if let Some(dir) = defaults.working_dir.as_deref().filter(|d| !d.is_empty()) {
        spec.workdir = Path::new(dir).to_path_buf();
    }
}

// ANCHOR: registration
/// The hook that gives a container its name and record. It goes first:
/// a name conflict must stop the run before anything is created.
///
/// - `prepare`: reserve the name (under the names lock);
/// - `attach`: the child exists, the overlay directories too: write the
///   record, status `running`, with the pid;
/// - `cleanup`: if the container never got that far, give the name back and
///   remove its directory; otherwise leave both for `commit` and `rm`.
pub struct Registration {
    store: ContainerStore,
    record: Record,
    reserved: bool,
    recorded: bool,
}

impl Registration {
    /// Registers `record` (its id must be the spec's id).
    pub fn new(store: ContainerStore, record: Record) -> Registration {
        Registration {
            store,
            record,
            reserved: false,
            recorded: false,
        }
    }
}

impl Hook for Registration {
    fn name(&self) -> &'static str {
        "registration"
    }

    fn prepare(&mut self, _spec: &mut Spec) -> Result<()> {
        self.store.reserve(&self.record.name, &self.record.id)?;
        self.reserved = true;
        Ok(())
    }

    fn attach(&mut self, _spec: &Spec, pid: Pid) -> Result<()> {
        self.record.status = Status::Running;
        self.record.pid = Some(pid.as_raw());
        self.record.pid_start = process_start(pid.as_raw());
        self.record.started = Some(clock::now_rfc3339());
        self.store.write(&self.record)?;
        self.recorded = true;
        Ok(())
    }

    fn cleanup(&mut self, _spec: &Spec) -> Result<()> {
        if self.reserved && !self.recorded {
            let dir = self.store.dir_of(&self.record.id);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| anyhow::anyhow!("remove {}: {e}", dir.display()))?;
            }
            self.store.release(&self.record.name, &self.record.id)?;
        }
        Ok(())
    }
}
// ANCHOR_END: registration

/// Records how a container ended: its exit code, or, if it never ran its
/// command (126, 127, or 125 from a hook), status `created` as Docker says.
pub fn record_exit(store: &ContainerStore, id: &str, started: bool, code: i32) -> Result<()> {
    if !store.dir_of(id).join("config.json").is_file() {
        return Ok(()); // never registered: nothing to record
    }
    store.update(id, |r| {
        r.status = if started {
            Status::Exited
        } else {
            Status::Created
        };
        r.exit_code = Some(code);
        r.pid = None;
        r.pid_start = None;
        r.finished = Some(clock::now_rfc3339());
    })?;
    Ok(())
}
