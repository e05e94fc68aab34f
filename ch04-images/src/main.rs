//! `ch04-images [--root DIR] run|import|load|save|images|rmi|tag|commit|export|rm ...`

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use ch01_namespaces::exit::{StartError, run_main};
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch02_cgroups::Cgroups;
use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::pivot::PivotRoot;
use ch03_overlayfs::volumes::Volumes;
use ch04_images::cli::{Cli, Command, RunArgs};
use ch04_images::clock;
use ch04_images::commands;
use ch04_images::containers::{ContainerStore, MountRecord, Record, Status, generate_name};
use ch04_images::images::ImageStore;
use ch04_images::run::{Registration, apply_image_defaults, record_exit, resolve_for_run};

fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli.root.dir()?;
        let images = ImageStore::new(&root);
        let containers = ContainerStore::new(&root);
        match cli.command {
            Command::Run(args) => run(&root, &images, &containers, *args),
            other => commands::run_command(&root, other),
        }
    })
}

// ANCHOR: run
fn run(
    root: &Path,
    images: &ImageStore,
    containers: &ContainerStore,
    args: RunArgs,
) -> Result<i32> {
    for volume in &args.volumes.volumes {
        volume.check_source()?;
    }
    let cgroups = Cgroups::from_args(&args.limits)?;
    // The image lock is held until the container is recorded, so `rmi`
    // cannot remove the image between our choosing it and using it.
    let lock = images.lock()?;
    let image = resolve_for_run(images, &args.image.image)?;
    let command = image.command(&args.image.command);
    if command.is_empty() {
        bail!(
            "no command specified: image {} has no default command (Cmd)",
            args.image.image
        );
    }
    let mut spec = args.container.to_spec(command.clone())?;
    apply_image_defaults(&image, &mut spec);
    let name = args.name.clone().unwrap_or_else(|| generate_name(&spec.id));
    let record = Record {
        id: spec.id.clone(),
        name,
        image: args.image.image.clone(),
        image_id: image.id.clone(),
        command,
        created: clock::now_rfc3339(),
        status: Status::Created,
        pid: None,
        pid_start: None,
        exit_code: None,
        started: None,
        finished: None,
        limits: limits_of(&args.limits),
        mounts: args
            .volumes
            .volumes
            .iter()
            .map(|v| MountRecord {
                source: v.source.display().to_string(),
                destination: v.target.display().to_string(),
                readonly: v.readonly,
            })
            .collect(),
    };
    let id = spec.id.clone();
    let container_dir = root.join("containers").join(&id);
    let container = Container::new(spec)
        .hook(Registration::new(containers.clone(), record))
        .hook(PrivateMounts)
        .hook(Hostname)
        .hook(cgroups)
        .hook(Overlay::new(image.lowerdirs(&images.layers), container_dir).keep_layer(true))
        .hook(Volumes::new(args.volumes.volumes))
        .hook(PivotRoot)
        .hook(ProcFs);
    let started = container.start();
    drop(lock);
    match started {
        Ok(running) => {
            let code = running.wait()?;
            record_exit(containers, &id, true, code)?;
            Ok(code)
        }
        Err(err) => {
            let code = err
                .downcast_ref::<StartError>()
                .map_or(125, |e| i32::from(e.code));
            record_exit(containers, &id, false, code)?;
            Err(err)
        }
    }
}
// ANCHOR_END: run

/// The limits as given, for the record.
fn limits_of(l: &ch02_cgroups::cli::LimitArgs) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("memory", &l.memory),
        ("cpus", &l.cpus),
        ("cpu-shares", &l.cpu_shares),
        ("cpuset-cpus", &l.cpuset_cpus),
        ("pids-limit", &l.pids_limit),
    ] {
        if let Some(v) = v {
            m.insert(k.to_string(), v.clone());
        }
    }
    m
}
