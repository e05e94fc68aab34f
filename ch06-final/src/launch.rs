//! `run` and `start`: every chapter's hooks, in the foreground or under a
//! supervisor, and again after each exit if the restart policy says so.
//!
//! `run --restart` without `-d`: Docker's client returns at the first exit
//! while its daemon restarts the container in the background. We have no
//! daemon, so the foreground `mydocker run` is the supervisor: it stays,
//! and restarts the container in place, its output on the terminal each
//! time; it returns with the last run's exit code once the policy says no
//! more, or once a user stopped the container (`stop` in another terminal,
//! Ctrl-C or a `kill` of `mydocker` itself).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::fcntl::Flock;

use ch01_namespaces::confine::{Confine, Confinement};
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch01_namespaces::signals;
use ch01_namespaces::spec::Spec;
use ch02_cgroups::Cgroups;
use ch02_cgroups::driver::single_threaded;
use ch02_cgroups::limits::Resources;
use ch03_overlayfs::dev::DeviceNodes;
use ch03_overlayfs::named::VolumeStore;
use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::pivot::PivotRoot;
use ch03_overlayfs::volumes::Volumes;
use ch04_images::containers::{ContainerStore, Record, Status};
use ch04_images::images::ImageStore;
use ch04_images::run::{Plan, Registration};
use ch05_network::{Attachment, Network};

use crate::cli::RunArgs;
use crate::env;
use crate::hooks::{ExistingLayer, ParentDeath, Supervision, Workdir};
use crate::restart::{Backoff, Policy};
use crate::state::Runtime;
use crate::supervisor::{Reporter, detach};

/// How often a supervisor waiting to restart a container looks whether a
/// user stopped it meanwhile.
const RESTART_POLL: Duration = Duration::from_millis(50);

/// How long a joined thread may take to leave `/proc/self/task`.
const THREADS_PATIENCE: Duration = Duration::from_secs(2);

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
        .hook(Volumes::new(record.mounts.clone()).with_store(VolumeStore::new(root)))
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
/// `finish` record how it ended or, with `--rm`, remove it. Then, as long
/// as its restart policy says so, waits the back-off and starts the same
/// container again. Returns the exit code of its last run.
fn run_to_end(root: &Path, mut launch: Launch, reporter: &mut Reporter) -> Result<i32> {
    // A --rm container's records need not survive a reboot: no fsync.
    let store = match launch.runtime.auto_remove {
        true => ContainerStore::new(root).volatile(),
        false => ContainerStore::new(root),
    };
    let id = launch.spec.id.clone();
    let policy = launch.runtime.restart;
    let mut restarts = launch.runtime.restart_count;
    let mut backoff = Backoff::default();
    loop {
        let began = Instant::now();
        let code = run_once(root, &store, launch, reporter)?;
        if !policy.should_restart(code, restarts, stopped_by_user(&store, &id)) {
            return Ok(code);
        }
        // Counted when decided, as Docker does: a stop during the
        // back-off leaves the count of the restart it prevented.
        restarts += 1;
        let delay = backoff.next(began.elapsed());
        if !wait_to_restart(&store, &id, delay, restarts)? {
            return Ok(code);
        }
        launch = again(root, store.get_by_id(&id)?, |runtime| {
            runtime.restart_count = restarts;
        })?;
    }
}

/// One run: build the container with every chapter's hooks, start it,
/// wait for it to end and be cleaned up.
fn run_once(
    root: &Path,
    store: &ContainerStore,
    launch: Launch,
    reporter: &mut Reporter,
) -> Result<i32> {
    let id = launch.spec.id.clone();
    let running = assemble(root, store, launch)?.start()?;
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

// ANCHOR: wait_to_restart
/// True once a user stopped the container (`stop`, `rm -f`) or sent its
/// supervisor a signal to end (Ctrl-C in the foreground, a `kill`); a
/// record that is gone was removed, which is a stop too.
fn stopped_by_user(store: &ContainerStore, id: &str) -> bool {
    signals::stop_asked() || store.get_by_id(id).map_or(true, |r| r.manually_stopped)
}

/// Between two runs: marks the container `restarting`, restarted
/// `restarts` times, and waits `delay`, in short steps, so that a `stop`
/// or `rm -f` meanwhile ends the wait at once (and the container stays
/// exited). True if it is to be started again.
fn wait_to_restart(
    store: &ContainerStore,
    id: &str,
    delay: Duration,
    restarts: u32,
) -> Result<bool> {
    // The stop flag is checked under the lock that `stop` sets it under:
    // a stop that came first is never hidden by `restarting`.
    let mut counted = Ok(());
    let record = store.update(id, |r| {
        if r.manually_stopped {
            return;
        }
        r.status = Status::Restarting;
        counted = r.part::<Runtime>().and_then(|runtime| match runtime {
            Some(runtime) => r.set_part(&Runtime {
                restart_count: restarts,
                ..runtime
            }),
            None => Ok(()),
        });
    })?;
    counted?;
    let deadline = Instant::now() + delay;
    let mut stopped = record.manually_stopped;
    while !stopped && Instant::now() < deadline {
        std::thread::sleep(RESTART_POLL.min(deadline - Instant::now()));
        stopped = stopped_by_user(store, id);
    }
    if stopped {
        // What `ps` shows now is how the last run ended.
        if store.dir_of(id).join("config.json").is_file() {
            store.update(id, |r| {
                if r.status == Status::Restarting {
                    r.status = Status::Exited;
                }
            })?;
        }
        return Ok(false);
    }
    // The first run's threads (chapter 5's check of the iptables chains,
    // the netlink thread in the container's network namespace with its
    // tokio runtime) were joined by the hooks' cleanup and finish; the
    // next clone and setns must again happen in a process with a single
    // thread (design.md). A thread that was joined may still be listed in
    // /proc/self/task for a moment while the kernel finishes it.
    let patience = Instant::now() + THREADS_PATIENCE;
    while !single_threaded() {
        if Instant::now() >= patience {
            let threads = std::fs::read_dir("/proc/self/task").map_or(0, |t| t.count());
            bail!("cannot restart container {id}: the supervisor still has {threads} threads");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(true)
}
// ANCHOR_END: wait_to_restart

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
    let labels = labels(&args.labels)?;
    if let Some(signal) = &args.stop_signal {
        crate::control::parse_signal(signal)?;
    }
    if let Some(file) = &args.cidfile {
        if file.exists() {
            bail!(
                "container ID file found, make sure the other container isn't running or delete {}",
                file.display()
            );
        }
    }
    let restart: Policy = args.restart.parse()?;
    if !restart.is_no() && args.auto_remove {
        bail!("conflicting options: --restart and --rm");
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
            init: spec.init,
            stop_signal: args.stop_signal.clone(),
            stop_timeout: args.stop_timeout,
            labels,
            restart,
            restart_count: 0,
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
    let cidfile = args.cidfile.clone();
    let work = move |reporter: &mut Reporter| -> Result<i32> {
        let launch = prepare(&root)?;
        // `--cidfile`: the id is known now; the file goes again if the
        // container does not start, so nothing names a container that
        // never was.
        if let Some(file) = &cidfile {
            write_cidfile(file, &launch.spec.id)?;
        }
        let ended = run_to_end(&root, launch, reporter);
        if let (Err(_), Some(file)) = (&ended, &cidfile) {
            let _ = std::fs::remove_file(file);
        }
        ended
    };
    if detached {
        let id = detach(work)?;
        println!("{id}");
        Ok(0)
    } else {
        work(&mut Reporter::none())
    }
}

/// `--label KEY=VALUE` (or `KEY`, an empty value) as a map.
fn labels(texts: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    texts
        .iter()
        .map(|text| match text.split_once('=') {
            Some(("", _)) => bail!("invalid label {text:?}: the key is empty"),
            Some((key, value)) => Ok((key.to_string(), value.to_string())),
            None if text.is_empty() => bail!("invalid label \"\": the key is empty"),
            None => Ok((text.clone(), String::new())),
        })
        .collect()
}

/// Writes the container's id into `file`, which must not exist yet.
fn write_cidfile(file: &Path, id: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .with_context(|| format!("create the container ID file {}", file.display()))?;
    f.write_all(id.as_bytes())
        .with_context(|| format!("write {}", file.display()))
}

// ANCHOR: start
/// `start CONTAINER`: the same container again (same id, name, layer,
/// settings), detached like `docker start` without `-a`, and supervised
/// with its restart policy again (the count starts over, as in Docker).
pub fn start(root: &Path, name_or_id: &str) -> Result<()> {
    let store = ContainerStore::new(root);
    let record = store.find(name_or_id)?;
    if record.live_process().is_some() || record.is_restarting() {
        return Ok(()); // already running or about to: nothing to do, as in Docker
    }
    if record.part::<Runtime>()?.is_none() {
        bail!(
            "container {} was made by an earlier chapter's mydocker and cannot be started again",
            record.name
        );
    }
    if record.supervisor.is_some_and(|s| s.is_alive()) {
        bail!(
            "container {} is still being cleaned up after its last run; try again",
            record.name
        );
    }
    // A start by the user undoes a stop by the user.
    let record = match record.manually_stopped {
        true => store.update(&record.id, |r| r.manually_stopped = false)?,
        false => record,
    };
    let root = root.to_path_buf();
    detach(move |reporter| {
        let launch = again(&root, record, |runtime| {
            runtime.detached = true;
            runtime.restart_count = 0;
        })?;
        run_to_end(&root, launch, reporter)
    })?;
    Ok(())
}
// ANCHOR_END: start

// ANCHOR: again
/// The container of `record` once more, as it was made: its spec from the
/// record's runtime part (changed by `adjust` first), its image's layers
/// under the layer it has, its network attachment. `start` and a restart
/// both begin here.
fn again(root: &Path, record: Record, adjust: impl FnOnce(&mut Runtime)) -> Result<Launch> {
    let Some(mut runtime) = record.part::<Runtime>()? else {
        bail!(
            "container {} was made by an earlier chapter's mydocker and cannot be started again",
            record.name
        );
    };
    adjust(&mut runtime);
    let attachment = record.part::<Attachment>()?.unwrap_or_default();
    let images = ImageStore::new(root);
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
        init: runtime.init,
    };
    Ok(Launch {
        spec,
        kind: Kind::Again,
        lowerdirs: image.lowerdirs(&images.layers),
        record,
        runtime,
        attachment,
        image_lock: lock,
    })
}
// ANCHOR_END: again
