//! `ch05-network [--root DIR] run [-ti] [--network NAME] [-p ...] COMMAND`
//! and `ch05-network [--root DIR] network create|ls|rm`.
//!
//! Chapter 5's containers still use the host's root filesystem (chapters 3
//! and 4 add their own): the network hook's `/etc` files are bind-mounted
//! over the host's, inside the container's private mount namespace only.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use ch01_namespaces::cli::{CommandArgs, ContainerArgs};
use ch01_namespaces::exit::run_main;
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch05_network::cli::{NetworkArgs, NetworkCommand, run_network_command};
use ch05_network::{Network, release_container};
use clap::{Args, Parser, Subcommand};
use nix::mount::{MsFlags, mount};

/// The default data root.
const DEFAULT_ROOT: &str = "/var/lib/mydocker";

/// `ch05-network`: containers on bridge networks.
#[derive(Parser, Debug)]
#[command(
    name = "ch05-network",
    version,
    about = "Run commands in containers on bridge networks (mydocker, chapter 5)"
)]
struct Cli {
    /// Where mydocker keeps its state [env: MYDOCKER_ROOT] [default: /var/lib/mydocker]
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a command in a new container
    Run(RunArgs),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Release a dead container's network (what chapter 6 does after a crash)
    #[command(hide = true)]
    ReleaseNetwork {
        /// The container's full id
        id: String,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    container: ContainerArgs,
    #[command(flatten)]
    network: NetworkArgs,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli
            .root
            .or_else(|| std::env::var_os("MYDOCKER_ROOT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        match cli.command {
            Command::Run(args) => run(&root, args),
            Command::Network(cmd) => run_network_command(&root, cmd),
            Command::ReleaseNetwork { id } => release_container(&root, &id).map(|()| 0),
        }
    })
}

// ANCHOR: run
fn run(root: &Path, args: RunArgs) -> Result<i32> {
    let spec = args.container.to_spec(args.command.command)?;
    let state = StateDir(root.join("containers").join(&spec.id));
    let network =
        Network::new(root, &args.network, state.0.join("network"))?.bind_with(bind_over_host_file);
    Container::new(spec)
        .hook(PrivateMounts)
        .hook(Hostname)
        .hook(network)
        .hook(ProcFs)
        .start()?
        .wait()
}
// ANCHOR_END: run

/// The container's state directory, removed when the run is over.
struct StateDir(PathBuf);

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        if let Some(parent) = self.0.parent() {
            let _ = fs::remove_dir(parent);
        }
    }
}

/// Chapter 5's binder: the container uses the host's root filesystem, so
/// each file is bind-mounted over the host's, in the container's private
/// mount namespace (`PrivateMounts` runs first) where the host never sees it.
fn bind_over_host_file(rootfs: &Path, source: &Path, inside: &Path) -> Result<()> {
    let target = rootfs.join(inside.strip_prefix("/").unwrap_or(inside));
    // A bind mount needs something to mount over.
    if !target.exists() {
        return Ok(());
    }
    mount(
        Some(source),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("mount --bind {} {}", source.display(), target.display()))
}
