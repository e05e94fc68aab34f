//! `run` and `start`: every chapter's hooks, in the foreground or under a
//! supervisor.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::fcntl::Flock;

use ch01_namespaces::confine::{Confine, Confinement};
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch01_namespaces::spec::Spec;
use ch02_cgroups::Cgroups;
use ch02_cgroups::limits::Resources;
use ch03_overlayfs::dev::DeviceNodes;
use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::pivot::PivotRoot;
use ch03_overlayfs::volumes::Volumes;
use ch04_images::containers::{ContainerStore, Record};
use ch04_images::images::ImageStore;
use ch04_images::run::{Plan, Registration};
use ch05_network::{Attachment, Network};

use crate::cli::RunArgs;
use crate::env;
use crate::hooks::{ExistingLayer, ParentDeath, Supervision, Workdir};
use crate::state::Runtime;
use crate::supervisor::{Reporter, detach};

/// A new container or one that ran before.
enum Kind {
    /// `run`: registered under a new name, a fresh layer.
    New,
    /// `start`: the same record, name and layer.
    Again,
}

/// Everything a start needs, gathered before the hooks are built.
struct Launch {
    spec: Spec,
    kind: Kind,
    record: Record,
    lowerdirs: Vec<PathBuf>,
    runtime: Runtime,
    attachment: Attachment,
    /// The image lock, held until the container is recorded.
    image_lock: Flock<File>,
}

// ANCHOR: assemble
/// Every chapter's hooks, in order. `prepare` and `enter` run in this
/// order, `cleanup` in the reverse one. The record carries every
/// chapter's part of the description; it is written when the container
/// starts.
fn assemble(root: &Path, store: &ContainerStore, launch: Launch) -> Result<Container> {
    let Launch {
        spec,
        kind,
        mut record,
        lowerdirs,
        runtime,
        attachment,
        image_lock,
    } = launch;
    record.set_part(&attachment)?;
    record.set_part(&runtime)?;
    let dir = store.dir_of(&spec.id);
    let cgroups = Cgroups::from_resources(&record.resources)?;
    let devices = DeviceNodes(record.resources.limits.devices.clone());
    // The hook moves into the container; the registration keeps a flag.
    let oom = cgroups.oom_killed();
    let network = Network::new(root, &attachment)?
        .files_in(dir.join("etc"))
        .alias(&record.name);
    let overlay = Overlay::new(lowerdirs, dir.clone());
    let rootfs = runtime.rootfs()?;
    let supervision = Supervision::new(root, store.clone(), dir, runtime);
    let container = Container::new(spec)
        .hook(ParentDeath::new())
        .hook(PrivateMounts)
        .hook(Hostname)
        .hook(cgroups)
        .hook(supervision)
        .hook(Volumes::new(record.mounts.clone()))
        .hook(network)
        .hook(PivotRoot)
        .hook(devices)
        .hook(Workdir)
        .hook(ProcFs)
        .hook(rootfs)
        .hook(Confine);
    // A new container's layer is kept after it exits, for commit and start.
    Ok(match kind {
        Kind::New => container
            .hook(Registration::new(store.clone(), record, image_lock).watch_oom(oom))
            .hook(overlay.keep_layer(true)),
        Kind::Again => container
            .hook(Registration::again(store.clone(), record, image_lock).watch_oom(oom))
            .hook(ExistingLayer(overlay)),
    })
}
// ANCHOR_END: assemble

// ANCHOR: run_to_end
/// Starts the container, tells `reporter`, and waits for it; the hooks'
/// `finish` record how it ended or, with `--rm`, remove it. Returns its
/// exit code.
fn run_to_end(root: &Path, launch: Launch, reporter: &mut Reporter) -> Result<i32> {
    // A --rm container's records need not survive a reboot: no fsync.
    let store = match launch.runtime.auto_remove {
        true => ContainerStore::new(root).volatile(),
        false => ContainerStore::new(root),
    };
    let id = launch.spec.id.clone();
    let running = assemble(root, &store, launch)?.start()?;
    let detached = reporter.is_detached();
    reporter.started(&id);
    if detached {
        // From here on the supervisor only waits: keep it small.
        crate::supervisor::shed_file_pages();
    }
    // Nothing of the caller's may stay busy because of us (its current
    // directory could be a mount point someone unmounts).
    let _ = std::env::set_current_dir("/");
    running.wait()
}
// ANCHOR_END: run_to_end

/// `run`: a new container, in the foreground or (`-d`) under a supervisor.
pub fn run(root: &Path, args: RunArgs) -> Result<i32> {
    // Checks that need nothing but the command line, before any fork.
    for volume in &args.run.volumes.volumes {
        volume.check_source()?;
    }
    Resources::from_args(&args.run.limits)?;
    Network::new(root, &args.network.attachment())?;
    let user_env = env::resolve(&args.env)?;
    let workdir = env::workdir(&args.env)?;
    if let Some(name) = &args.run.name {
        ch04_images::containers::validate_name(name)?;
    }
    let prepare = move |root: &Path| -> Result<Launch> {
        // Chapter 4 picks the image, fills in the spec and the record, and
        // holds the image lock until the container is recorded.
        let Plan {
            mut spec,
            record,
            lowerdirs,
            image_lock,
            rootfs: _,
        } = Plan::new(root, &args.run)?;
        // The image's environment first, then the user's: the last one wins.
        spec.env.extend(user_env);
        if let Some(dir) = workdir {
            spec.workdir = dir;
        }
        let runtime = Runtime {
            hostname: spec.hostname.clone(),
            env: spec.env.clone(),
            workdir: spec.workdir.clone(),
            tty: spec.tty,
            interactive: spec.interactive,
            auto_remove: args.auto_remove,
            detached: args.detach,
            cap_add: args.run.container.cap_add.clone(),
            cap_drop: args.run.container.cap_drop.clone(),
            privileged: args.run.container.privileged,
            security_opt: args.run.container.security_opt.clone(),
            read_only: args.run.rootfs.read_only,
            tmpfs: args
                .run
                .rootfs
                .tmpfs
                .iter()
                .map(ToString::to_string)
                .collect(),
            seccomp_profile: match Confinement::seccomp_file(&args.run.container.security_opt) {
                Some(file) => Some(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("read seccomp profile {file}"))?,
                ),
                None => None,
            },
            userns: spec.userns,
        };
        Ok(Launch {
            spec,
            kind: Kind::New,
            record,
            lowerdirs,
            runtime,
            attachment: args.network.attachment(),
            image_lock,
        })
    };
    let detached = args.detach;
    let root = root.to_path_buf();
    let work = move |reporter: &mut Reporter| -> Result<i32> {
        let launch = prepare(&root)?;
        run_to_end(&root, launch, reporter)
    };
    if detached {
        let id = detach(work)?;
        println!("{id}");
        Ok(0)
    } else {
        work(&mut Reporter::none())
    }
}

// ANCHOR: start
/// `start CONTAINER`: the same container again (same id, name, layer,
/// settings), detached like `docker start` without `-a`.
pub fn start(root: &Path, name_or_id: &str) -> Result<()> {
    let store = ContainerStore::new(root);
    let record = store.find(name_or_id)?;
    if record.live_process().is_some() {
        return Ok(()); // already running: nothing to do, as in Docker
    }
    let Some(mut runtime) = record.part::<Runtime>()? else {
        bail!(
            "container {} was made by an earlier chapter's mydocker and cannot be started again",
            record.name
        );
    };
    let attachment = record.part::<Attachment>()?.unwrap_or_default();
    if record.supervisor.is_some_and(|s| s.is_alive()) {
        bail!(
            "container {} is still being cleaned up after its last run; try again",
            record.name
        );
    }
    runtime.detached = true;
    let root = root.to_path_buf();
    detach(move |reporter| {
        let images = ImageStore::new(&root);
        let lock = images.lock()?;
        let image = images.get(&record.image_id)?;
        let spec = Spec {
            id: record.id.clone(),
            hostname: runtime.hostname.clone(),
            command: record.command.clone(),
            env: runtime.env.clone(),
            workdir: runtime.workdir.clone(),
            rootfs: None,
            tty: runtime.tty,
            interactive: runtime.interactive,
            confinement: runtime.confinement()?,
            userns: runtime.userns,
        };
        let launch = Launch {
            spec,
            kind: Kind::Again,
            lowerdirs: image.lowerdirs(&images.layers),
            record,
            runtime,
            attachment,
            image_lock: lock,
        };
        run_to_end(&root, launch, reporter)
    })?;
    Ok(())
}
// ANCHOR_END: start
