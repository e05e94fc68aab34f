//! `ch03-overlayfs [--root DIR] run [-ti] [--hostname NAME] [limits] [-v H:C[:ro]]... IMAGE [COMMAND...]`
//! and `ch03-overlayfs [--root DIR] volume create|ls|rm|inspect`

use std::process::ExitCode;

use anyhow::Result;

use ch01_namespaces::confine::Confine;
use ch01_namespaces::exit::run_main;
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch02_cgroups::Cgroups;
use ch02_cgroups::limits::Resources;
use ch03_overlayfs::cli::{Cli, Command, RootArgs, RunArgs, run_volume_command};
use ch03_overlayfs::dev::DeviceNodes;
use ch03_overlayfs::images;
use ch03_overlayfs::named::VolumeStore;
use ch03_overlayfs::overlay::Overlay;
use ch03_overlayfs::pivot::PivotRoot;
use ch03_overlayfs::volumes::Volumes;

fn main() -> ExitCode {
    run_main(|cli: Cli| match cli.command {
        Command::Run(args) => run(&cli.root, *args),
        Command::Volume(cmd) => run_volume_command(&cli.root.dir()?, cmd),
    })
}

// ANCHOR: run
fn run(root: &RootArgs, args: RunArgs) -> Result<i32> {
    // Cheap checks first: a bad volume must not leave an unpacked image or
    // an empty container directory behind.
    for volume in &args.volumes.volumes {
        volume.check_source()?;
    }
    let cgroups = Cgroups::from_resources(&Resources::from_args(&args.limits)?)?;
    let image = images::resolve(&root.dir()?, &args.image.image)?;
    let spec = args.container.to_spec(args.image.command())?;
    let container_dir = root.container_dir(&spec.id)?;
    let devices = DeviceNodes(cgroups.limits().devices.clone());
    let container = Container::new(spec)
        .hook(PrivateMounts)
        .hook(Hostname)
        .hook(cgroups)
        .hook(Overlay::new(vec![image], container_dir))
        .hook(Volumes::new(args.volumes.volumes).with_store(VolumeStore::new(&root.dir()?)))
        .hook(PivotRoot)
        .hook(devices)
        .hook(ProcFs)
        .hook(args.rootfs.hook())
        .hook(Confine);
    container.run()
}
// ANCHOR_END: run
