//! `ch05-network [--root DIR] run [-ti] [--network NAME] [-p ...] IMAGE [COMMAND...]`,
//! `ch05-network network create|ls|rm`, and chapter 4's image commands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use ch01_namespaces::exit::run_main;
use ch03_overlayfs::cli::RootArgs;
use ch04_images::cli::{ImageCommand, RmArgs};
use ch04_images::commands::{rm, run_image_command};
use ch04_images::containers::ContainerStore;
use ch04_images::run::Plan;
use ch05_network::cli::{NetworkArgs, NetworkCommand, run_network_command};
use ch05_network::{Network, release_container, removal};

/// `ch05-network`: containers on bridge networks.
#[derive(Parser, Debug)]
#[command(
    name = "ch05-network",
    version,
    about = "Run containers on bridge networks, with NAT and published ports (mydocker, chapter 5)"
)]
struct Cli {
    /// The data root
    #[command(flatten)]
    root: RootArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a command in a new container made from IMAGE
    Run(Box<NetRunArgs>),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Remove containers (their record and writable layer)
    Rm(RmArgs),
    /// Chapter 4's image commands
    #[command(flatten)]
    Image(ImageCommand),
    /// Release a dead container's network (what chapter 6 does after a crash)
    #[command(hide = true)]
    ReleaseNetwork {
        /// The container's full id
        id: String,
    },
}

// ANCHOR: run_args
/// Chapter 4's `run`, plus the network options.
#[derive(Args, Debug)]
struct NetRunArgs {
    /// Network, published ports, DNS (chapter 5)
    #[command(flatten)]
    network: NetworkArgs,

    /// Everything chapter 4's `run` takes
    #[command(flatten)]
    run: ch04_images::cli::RunArgs,
}
// ANCHOR_END: run_args

fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli.root.dir()?;
        match cli.command {
            Command::Run(args) => run(&root, &args),
            Command::Network(cmd) => run_network_command(&root, cmd),
            Command::Rm(args) => rm(&removal(&root, ContainerStore::new(&root)), &args),
            Command::Image(cmd) => run_image_command(&root, cmd),
            Command::ReleaseNetwork { id } => release_container(&root, &id).map(|()| 0),
        }
    })
}

// ANCHOR: run
/// Chapter 4's run with the network added: the record keeps what was asked
/// (its `network` part), and the hook's stage puts it after the volumes
/// and before `pivot_root`. Its `attach` wires the veth while the
/// child waits, and its `enter` binds hostname, hosts and resolv.conf into
/// the new root.
fn run(root: &Path, args: &NetRunArgs) -> Result<i32> {
    let containers = ContainerStore::new(root);
    let attachment = args.network.attachment();
    let network = Network::new(root, &attachment)?;
    let mut plan = Plan::new(root, &args.run)?;
    plan.record.set_part(&attachment)?;
    let files = containers.dir_of(&plan.spec.id).join("etc");
    let network = network.files_in(files).alias(&plan.record.name);
    plan.container(&containers)?.hook(network).run()
}
// ANCHOR_END: run
