//! The command line of chapter 1, built from pieces later chapters reuse.
//!
//! Each chapter's `run` is a clap struct that *flattens* the option groups of
//! the chapters before it and adds its own, so `ch02-cgroups run` accepts
//! everything `ch01-namespaces run` does, plus `-m`.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::confine::Confinement;
use crate::spec::{Spec, validate_hostname};
use crate::userns::IdMap;

// ANCHOR: container_args
/// The options chapter 1 knows: terminal, hostname and confinement.
///
/// As in Docker, `-h` is the hostname, so help is only `--help`.
#[derive(Args, Debug, Clone, Default)]
#[command(disable_help_flag = true)]
pub struct ContainerArgs {
    /// Allocate a pseudo-terminal
    #[arg(short = 't', long = "tty")]
    pub tty: bool,

    /// Keep standard input open (mydocker always passes it through)
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,

    /// Hostname inside the container (default: its short id)
    #[arg(short = 'h', long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// Add a Linux capability to Docker's default 14 (or ALL)
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,

    /// Drop a Linux capability (or ALL)
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,

    /// Give the container every capability and no masked paths
    #[arg(long)]
    pub privileged: bool,

    /// Security option: no-new-privileges, seccomp=PROFILE.json, seccomp=unconfined
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,

    /// User namespace: host (default) or private (root inside is a /etc/subuid id outside)
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,

    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,

    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}
// ANCHOR_END: container_args

impl ContainerArgs {
    /// A [`Spec`] for `command` with these options applied.
    pub fn to_spec(&self, command: Vec<String>) -> Result<Spec> {
        let mut spec = Spec::new(command)?;
        self.apply(&mut spec)?;
        Ok(spec)
    }

    /// Applies these options to an existing spec.
    pub fn apply(&self, spec: &mut Spec) -> Result<()> {
        if let Some(name) = &self.hostname {
            validate_hostname(name)?;
            spec.hostname = name.clone();
        }
        spec.tty = self.tty;
        spec.interactive = self.interactive;
        spec.confinement = Confinement::from_flags(
            &self.cap_add,
            &self.cap_drop,
            self.privileged,
            &self.security_opt,
        )?;
        spec.userns = IdMap::from_flag(self.userns.as_deref())?;
        spec.init = self.init;
        Ok(())
    }
}

/// The command to run and its arguments: everything after the options.
#[derive(Args, Debug, Clone)]
pub struct CommandArgs {
    /// Command to run, with its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `ch01-namespaces`: run a command in new namespaces.
#[derive(Parser, Debug)]
#[command(
    name = "ch01-namespaces",
    version,
    about = "Run a command in its own namespaces (mydocker, chapter 1)"
)]
pub struct Cli {
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Chapter 1's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in new UTS, PID, mount, IPC and network namespaces
    Run(RunArgs),
}

/// `ch01-namespaces run [-ti] [--hostname NAME] COMMAND [ARG...]`
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Terminal and hostname
    #[command(flatten)]
    pub container: ContainerArgs,

    /// The command
    #[command(flatten)]
    pub command: CommandArgs,
}
