//! `run` with images from the store, names and records.
//!
//! Chapter 3 stacked one image directory under the container. Now the image
//! is a list of layer directories from the store, the container is
//! registered under a unique name before anything else happens, and its
//! record and writable layer stay after it exits, for `commit`, `export`
//! and `rm`.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use nix::fcntl::Flock;
use nix::unistd::Pid;

use ch01_namespaces::confine::Confine;
use ch01_namespaces::lifecycle::{Container, End, Hook, Stage};
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch01_namespaces::spec::Spec;
use ch02_cgroups::Cgroups;
use ch02_cgroups::hook::OomKilled;
use ch02_cgroups::limits::Resources;
use ch03_overlayfs::dev::DeviceNodes;
use ch03_overlayfs::named::VolumeStore;
use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::pivot::PivotRoot;
use ch03_overlayfs::readonly::ReadOnlyRoot;
use ch03_overlayfs::volumes::Volumes;

use crate::cli::RunArgs;
use crate::containers::{ContainerStore, ProcessRef, Record, Status, generate_name, process_start};
use crate::images::{Image, ImageStore};
use ch03_overlayfs::storage::clock;

// ANCHOR: plan
/// What `run` decides before anything is created: the image and its layers,
/// the spec, the record (with the limits and volumes, parsed once).
pub struct Plan {
    /// The container to start.
    pub spec: Spec,
    /// Its record, written once it runs.
    pub record: Record,
    /// The image's layers, top-most first: the overlay's lowerdirs.
    pub lowerdirs: Vec<PathBuf>,
    /// Held until the container is recorded, so `rmi` cannot remove the
    /// image between our choosing it and using it.
    pub image_lock: Flock<File>,
    /// `--read-only` and `--tmpfs` (chapter 3).
    pub rootfs: ReadOnlyRoot,
}

impl Plan {
    /// Checks the arguments, finds the image and fills in spec and record.
    pub fn new(root: &Path, args: &RunArgs) -> Result<Plan> {
        for volume in &args.volumes.volumes {
            volume.check_source()?;
        }
        let resources = Resources::from_args(&args.limits)?;
        if let Some(name) = &args.name {
            crate::containers::validate_name(name)?;
        }
        let images = ImageStore::new(root);
        let image_lock = images.lock()?;
        let image = resolve_for_run(&images, &args.image.image)?;
        let command = image.command_with(&args.image.command, args.entrypoint.as_deref());
        if command.is_empty() {
            bail!(
                "no command specified: image {} has no default command (Cmd)",
                args.image.image
            );
        }
        let mut spec = args.container.to_spec(command.clone())?;
        apply_image_defaults(&image, &mut spec);
        let record = Record {
            id: spec.id.clone(),
            name: args.name.clone().unwrap_or_else(|| generate_name(&spec.id)),
            image: args.image.image.clone(),
            image_id: image.id.clone(),
            command,
            created: clock::now_rfc3339(),
            status: Status::Created,
            pid: None,
            pid_start: None,
            supervisor: None,
            exit_code: None,
            manually_stopped: false,
            oom_killed: false,
            started: None,
            finished: None,
            resources,
            mounts: args.volumes.volumes.clone(),
            parts: Default::default(),
        };
        Ok(Plan {
            spec,
            record,
            lowerdirs: image.lowerdirs(&images.layers),
            image_lock,
            rootfs: args.rootfs.hook(),
        })
    }

    /// Chapters 1 to 4's hooks: the registration (a name conflict stops the
    /// run before anything exists; the exit is recorded at the end), then
    /// chapters 1 to 3. Later chapters add theirs with [`Container::hook`]:
    /// each lands at its own [`Stage`].
    pub fn container(self, containers: &ContainerStore) -> Result<Container> {
        let dir = containers.dir_of(&self.spec.id);
        let cgroups = Cgroups::from_resources(&self.record.resources)?;
        let devices = DeviceNodes(self.record.resources.limits.devices.clone());
        let volumes = Volumes::new(self.record.mounts.clone())
            .with_store(VolumeStore::new(containers.data_root()));
        let registration = Registration::new(containers.clone(), self.record, self.image_lock)
            .watch_oom(cgroups.oom_killed());
        Ok(Container::new(self.spec)
            .hook(registration)
            .hook(PrivateMounts)
            .hook(Hostname)
            .hook(cgroups)
            .hook(Overlay::new(self.lowerdirs, dir).keep_layer(true))
            .hook(volumes)
            .hook(PivotRoot)
            .hook(devices)
            .hook(ProcFs)
            .hook(self.rootfs)
            .hook(Confine))
    }
}
// ANCHOR_END: plan

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
/// The hook that gives a container its name and record, and writes down how
/// it ended. It goes first: a name conflict must stop the run before
/// anything is created.
///
/// - `prepare`: reserve the name (under the names lock);
/// - `attach`: the child exists, the overlay directories too: write the
///   record, status `running`, with the pid and this process as the one
///   that reaps it; let go of the image lock, now that the record says the
///   image is in use;
/// - `cleanup`: if the container never got that far, give the name back and
///   remove its directory; otherwise leave both for `commit` and `rm`;
/// - `finish`: record the exit code and time (if the record still exists:
///   a `--rm` container is gone by then).
pub struct Registration {
    store: ContainerStore,
    record: Record,
    again: bool,
    image_lock: Option<Flock<File>>,
    reserved: bool,
    recorded: bool,
    oom_killed: Option<OomKilled>,
}

impl Registration {
    /// Registers a new container, `record` (its id must be the spec's id).
    /// `image_lock` is held until the record exists, so `rmi` cannot remove
    /// the image between our choosing it and using it.
    pub fn new(store: ContainerStore, record: Record, image_lock: Flock<File>) -> Registration {
        Registration {
            store,
            record,
            again: false,
            image_lock: Some(image_lock),
            reserved: false,
            recorded: false,
            oom_killed: None,
        }
    }

    /// Records, when the container ends, whether chapter 2's cgroup saw an
    /// OOM kill: `oom` is [`Cgroups::oom_killed`] of the container's hook.
    pub fn watch_oom(mut self, oom: OomKilled) -> Registration {
        self.oom_killed = Some(oom);
        self
    }

    /// `start`: the container of `record` runs again, under its own name,
    /// which it already holds.
    pub fn again(store: ContainerStore, record: Record, image_lock: Flock<File>) -> Registration {
        Registration {
            again: true,
            ..Registration::new(store, record, image_lock)
        }
    }
}

impl Hook for Registration {
    fn name(&self) -> &'static str {
        "registration"
    }

    fn stage(&self) -> Stage {
        Stage::Record
    }

    fn prepare(&mut self, _spec: &mut Spec) -> Result<()> {
        if self.again {
            return Ok(());
        }
        // Only 256 generated names exist, so two containers may draw the
        // same one: a generated name gets a number instead of a conflict.
        if self.record.name == generate_name(&self.record.id) {
            self.record.name = self
                .store
                .reserve_generated(&self.record.name, &self.record.id)?;
        } else {
            self.store.reserve(&self.record.name, &self.record.id)?;
        }
        self.reserved = true;
        Ok(())
    }

    fn attach(&mut self, _spec: &Spec, pid: Pid) -> Result<()> {
        // `start` may have changed a later chapter's part (chapter 6 runs
        // every start detached): the parts come from the plan.
        let parts = self.record.parts.clone();
        let started = |r: &mut Record| {
            r.status = Status::Running;
            r.pid = Some(pid.as_raw());
            r.pid_start = process_start(pid.as_raw());
            r.supervisor = ProcessRef::me();
            r.started = Some(clock::now_rfc3339());
            r.exit_code = None;
            r.oom_killed = false;
            r.finished = None;
            r.parts = parts;
        };
        if self.again {
            self.store.update(&self.record.id, started)?;
        } else {
            started(&mut self.record);
            self.store.write(&self.record)?;
        }
        self.recorded = true;
        self.image_lock = None;
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

    fn finish(&mut self, _spec: &Spec, end: &End) -> Result<()> {
        // Chapter 2's cleanup ran before any finish: the flag is final.
        let oom_killed = self.oom_killed.as_ref().is_some_and(|f| f.get());
        record_exit(&self.store, &self.record.id, end.ran, end.code, oom_killed)
    }
}
// ANCHOR_END: registration

/// Records how a container ended: its exit code and whether it was OOM
/// killed, or, if it never ran its command (126, 127, or 125 from a hook),
/// status `created` as Docker says.
pub fn record_exit(
    store: &ContainerStore,
    id: &str,
    started: bool,
    code: i32,
    oom_killed: bool,
) -> Result<()> {
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
        r.oom_killed = oom_killed;
        r.pid = None;
        r.pid_start = None;
        r.finished = Some(clock::now_rfc3339());
    })?;
    Ok(())
}
