//! `ch04-images [--root DIR] run|import|load|save|images|rmi|tag|commit|export|rm ...`

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use ch01_namespaces::exit::{StartError, run_main};
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch02_cgroups::Cgroups;
use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::pivot::PivotRoot;
use ch03_overlayfs::volumes::Volumes;
use ch04_images::archive;
use ch04_images::cli::{Cli, Command, RunArgs};
use ch04_images::clock;
use ch04_images::commit;
use ch04_images::containers::{ContainerStore, MountRecord, Record, Status, generate_name};
use ch04_images::images::{ImageStore, human_size};
use ch04_images::run::{Registration, apply_image_defaults, record_exit, resolve_for_run};

fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli.root.dir()?;
        let images = ImageStore::new(&root);
        let containers = ContainerStore::new(&root);
        match cli.command {
            Command::Run(args) => run(&root, &images, &containers, *args),
            Command::Import(a) => {
                let _lock = images.lock()?;
                let id = images.import(&a.file, &a.name)?;
                println!("{id}");
                Ok(0)
            }
            Command::Load(a) => {
                let _lock = images.lock()?;
                for l in archive::load(&images, &a.input)? {
                    if a.quiet {
                        continue;
                    }
                    if l.tags.is_empty() {
                        println!("Loaded image ID: {}", l.id);
                    }
                    for t in l.tags {
                        println!("Loaded image: {t}");
                    }
                }
                Ok(0)
            }
            Command::Save(a) => {
                write_output(a.output.as_deref(), |w| {
                    archive::save(&images, &a.images, w)
                })?;
                Ok(0)
            }
            Command::Images => {
                list_images(&images)?;
                Ok(0)
            }
            Command::Rmi(a) => {
                let _lock = images.lock()?;
                let used = containers.images_in_use()?;
                let mut failed = None;
                for r in &a.images {
                    match images.remove(r, a.force, &used) {
                        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                        Err(e) => failed = Some(e),
                    }
                }
                failed.map_or(Ok(0), Err)
            }
            Command::Tag(a) => {
                let _lock = images.lock()?;
                let image = images
                    .resolve(&a.source)?
                    .with_context(|| format!("no such image: {}", a.source))?;
                images.tag(&image.id, &a.target)?;
                Ok(0)
            }
            Command::Commit(a) => {
                let _lock = images.lock()?;
                let id = commit::commit(&images, &containers, &a.container, a.image.as_deref())?;
                println!("{id}");
                Ok(0)
            }
            Command::Export(a) => {
                write_output(a.output.as_deref(), |w| {
                    commit::export(&images, &containers, &a.container, w)
                })?;
                Ok(0)
            }
            Command::Rm(a) => {
                let mut failed = None;
                for c in &a.containers {
                    match containers.remove(c, a.force) {
                        Ok(_) => println!("{c}"),
                        Err(e) => failed = Some(e),
                    }
                }
                failed.map_or(Ok(0), Err)
            }
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

/// `docker images`: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE.
fn list_images(images: &ImageStore) -> Result<()> {
    let repos = images.repositories()?;
    let mut rows = Vec::new();
    let mut tagged = std::collections::HashSet::new();
    for (key, id) in &repos {
        let Ok(image) = images.get(id) else { continue };
        let (repo, tag) = key.rsplit_once(':').unwrap_or((key, "latest"));
        tagged.insert(id.clone());
        rows.push((repo.to_string(), tag.to_string(), image));
    }
    for id in images.ids()? {
        if !tagged.contains(&id) {
            if let Ok(image) = images.get(&id) {
                rows.push(("<none>".into(), "<none>".into(), image));
            }
        }
    }
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|(repo, tag, image)| {
            [
                repo.clone(),
                tag.clone(),
                image.id.short().to_string(),
                image
                    .config
                    .created
                    .as_deref()
                    .map_or("N/A".to_string(), clock::ago),
                human_size(images.size(image)),
            ]
        })
        .collect();
    let header = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&table) {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for row in std::iter::once(&header).chain(&table) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("   ").trim_end()).context("write to stdout")?;
    }
    Ok(())
}

/// Runs `body` with FILE (written to a temporary file and renamed, so a
/// failure leaves no half file) or with standard output, which must not be
/// a terminal: a tar is not for reading on a screen.
fn write_output(
    path: Option<&Path>,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    match path {
        Some(p) => {
            let tmp = p.with_file_name(format!(
                ".{}.tmp{}",
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                std::process::id()
            ));
            let f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            let res = body(&mut w).and_then(|()| {
                let f = w
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("write {}", tmp.display()))?;
                f.sync_all()
                    .with_context(|| format!("fsync {}", tmp.display()))
            });
            if let Err(e) = res {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::rename(&tmp, p)
                .with_context(|| format!("rename {} to {}", tmp.display(), p.display()))
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!("refusing to write a tar to a terminal: use -o FILE or redirect the output");
            }
            let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            body(&mut w)?;
            w.flush().context("write to stdout")
        }
    }
}
