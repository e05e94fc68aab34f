//! The command line of the complete `mydocker`.
//!
//! `run` flattens the option groups of every chapter and adds this
//! chapter's own: `-d`, `--rm`, `--restart`, `-e`, `--env-file`, `-w`. The image
//! commands are chapter 4's, the `network` commands chapter 5's; the
//! container commands (`ps`, `logs`, `exec`, `stop`, `start`, `rm`,
//! `inspect`) are new.
//!
//! This file is also compiled by `build.rs`, which turns the same
//! definitions into shell completions and a man page, so it refers to no
//! other module of this crate.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use ch03_overlayfs::cli::{RootArgs, VolumeCommand};
use ch04_images::cli::{ImageCommand, ImagesArgs};
use ch05_network::cli::{NetworkArgs, NetworkCommand};

/// `mydocker`: a small Docker, built chapter by chapter.
#[derive(Parser, Debug)]
#[command(
    name = "mydocker",
    version,
    about = "Run and manage containers: namespaces, cgroups, overlay images, networks (mydocker in Rust)"
)]
pub struct Cli {
    /// The data root
    #[command(flatten)]
    pub root: RootArgs,

    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Every command of `mydocker`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in a new container
    Run(Box<RunArgs>),
    /// Start one or more stopped containers (detached)
    Start(StartArgs),
    /// Stop one or more running containers (SIGTERM, then SIGKILL)
    Stop(StopArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    Ps(PsArgs),
    /// Print a container's output
    Logs(LogsArgs),
    /// Run a command in a running container
    Exec(ExecArgs),
    /// Show containers, images or networks as JSON
    Inspect(InspectArgs),
    /// Block until containers stop, then print their exit codes
    Wait(ContainersArgs),
    /// Send a signal (default KILL) to running containers
    Kill(KillArgs),
    /// Stop, then start containers again
    Restart(StopArgs),
    /// Give a container another name
    Rename(RenameArgs),
    /// List a container's published ports
    Port(PortArgs),
    /// Freeze every process of running containers
    Pause(ContainersArgs),
    /// Thaw paused containers
    Unpause(ContainersArgs),
    /// Show the files a container added, changed or deleted
    Diff(DiffArgs),
    /// Copy files between a container and the host
    Cp(CpArgs),
    /// Show the processes of a running container
    Top(TopArgs),
    /// Show running containers' resource usage
    Stats(StatsArgs),
    /// Manage named volumes (chapter 3)
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Show mydocker's version
    Version,
    /// Show what this machine gives mydocker
    Info,
    /// Disk usage and other system commands
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage containers (Docker's management form of the container commands)
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage images (Docker's management form of the image commands)
    #[command(subcommand, name = "image")]
    ImageManagement(ImageManagement),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Images, commit, export, save and load: chapter 4's commands as they are
    #[command(flatten)]
    Image(ImageCommand),
}

// ANCHOR: env_args
/// The environment and working directory of a container (`run`) or of a
/// command run in one (`exec`).
#[derive(Args, Debug, Clone, Default)]
pub struct EnvArgs {
    /// Set an environment variable, KEY=VALUE (KEY alone: the host's value); repeatable
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Read environment variables from a file, one KEY=VALUE a line; repeatable
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,

    /// Working directory inside the container (absolute)
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
}
// ANCHOR_END: env_args

// ANCHOR: run_args
/// `mydocker run [-d] [--rm] [--restart POLICY] [-ti] [--name NAME] [-e K=V] [-w DIR] [limits]
/// [-v H:C] [--net NAME] [-p H:C] IMAGE [COMMAND...]`
#[derive(Args, Debug)]
#[group(skip)]
pub struct RunArgs {
    /// Run in the background and print the container's id
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,

    /// Remove the container when it exits
    #[arg(long = "rm")]
    pub auto_remove: bool,

    /// The restart policy (no, on-failure with an optional count, always, unless-stopped)
    #[arg(
        long = "restart",
        value_name = "POLICY",
        default_value = "no",
        help = "Restart policy: no, on-failure[:N], always or unless-stopped"
    )]
    pub restart: String,

    /// The signal `stop` sends first (default TERM)
    #[arg(long = "stop-signal", value_name = "SIGNAL")]
    pub stop_signal: Option<String>,

    /// Seconds `stop` waits before SIGKILL (default 10)
    #[arg(long = "stop-timeout", value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,

    /// Write the container's id into FILE (which must not exist)
    #[arg(long = "cidfile", value_name = "FILE")]
    pub cidfile: Option<PathBuf>,

    /// A label KEY=VALUE in the container's record; repeatable
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Environment and working directory (this chapter)
    #[command(flatten)]
    pub env: EnvArgs,

    /// Network and published ports (chapter 5)
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Chapter 4's run: terminal, hostname, limits, volumes, name, image, command
    #[command(flatten)]
    pub run: ch04_images::cli::RunArgs,
}
// ANCHOR_END: run_args

/// `start CONTAINER...`
#[derive(Args, Debug)]
pub struct StartArgs {
    /// Containers (names or ids)
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `stop [-t N] CONTAINER...`
#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait after the stop signal before SIGKILL (default: the
    /// container's --stop-timeout, or 10)
    #[arg(short = 't', long = "time", alias = "timeout", value_name = "SECONDS")]
    pub time: Option<u64>,

    /// Containers (names or ids)
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `rm [-f] CONTAINER...`
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Kill a running container first
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Containers (names or ids)
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `ps [-a] [-q]`
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show every container (default: only running ones)
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Only print the ids
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Do not shorten ids and commands
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,

    /// Only containers that match: status=, name=, id=, ancestor=, exited= (repeatable)
    #[arg(short = 'f', long = "filter", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,

    /// Print this Go template for each container ({{.ID}} {{.Image}} {{.Command}} {{.CreatedAt}} {{.RunningFor}} {{.Status}} {{.State}} {{.Ports}} {{.Names}}), `table TEMPLATE` for columns under a header
    #[arg(long, value_name = "TEMPLATE")]
    pub format: Option<String>,

    /// Show the N containers created last, in every state
    #[arg(
        short = 'n',
        long = "last",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub last: Option<i64>,

    /// Show the container created last, in any state
    #[arg(short = 'l', long)]
    pub latest: bool,
}

/// `logs [-f] [-t] [--since T] [--until T] [-n N] CONTAINER`
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Keep printing new output until the container exits
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// Show the time of each line (RFC 3339, nanoseconds, UTC)
    #[arg(short = 't', long)]
    pub timestamps: bool,

    /// Only the lines written since TIME: RFC 3339 (2025-01-01T12:00:00Z), a Unix timestamp, or relative (10m, 1h30m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only the lines written before TIME (the same forms as --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only the last N lines of the log ("all" for everything)
    #[arg(short = 'n', long, value_name = "N", default_value = "all")]
    pub tail: String,

    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

// ANCHOR: exec_args
/// `exec [-ti] [-e K=V] [-w DIR] CONTAINER COMMAND...`
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Allocate a pseudo-terminal
    #[arg(short = 't', long = "tty")]
    pub tty: bool,

    /// Keep standard input open
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,

    /// Environment and working directory
    #[command(flatten)]
    pub env: EnvArgs,

    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,

    /// The command and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}
// ANCHOR_END: exec_args

/// Commands that take only containers: `wait`.
#[derive(Args, Debug)]
pub struct ContainersArgs {
    /// Containers (names or ids)
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `kill [-s SIGNAL] CONTAINER...`
#[derive(Args, Debug)]
pub struct KillArgs {
    /// The signal: a name (KILL, SIGTERM, HUP) or a number
    #[arg(
        short = 's',
        long = "signal",
        default_value = "KILL",
        value_name = "SIGNAL"
    )]
    pub signal: String,

    /// Containers (names or ids)
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `rename CONTAINER NEW_NAME`
#[derive(Args, Debug)]
pub struct RenameArgs {
    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Its new name
    #[arg(value_name = "NEW_NAME")]
    pub name: String,
}

/// `port CONTAINER [PRIVATE_PORT[/PROTO]]`
#[derive(Args, Debug)]
pub struct PortArgs {
    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Only this container port (80, 80/tcp, 53/udp)
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

/// `container prune [-f]`, `image prune [-a] [-f]`
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `system df`
#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show disk usage of images, containers and volumes
    Df,
    /// Show what this machine gives mydocker (as `info`)
    Info,
}

/// `container ls|rm|start|...`: the container commands under Docker's
/// management name, plus `prune`.
#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(PsArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Stop, then start containers again
    Restart(StopArgs),
    /// Send a signal to running containers
    Kill(KillArgs),
    /// Block until containers stop
    Wait(ContainersArgs),
    /// Print a container's output
    Logs(LogsArgs),
    /// Run a command in a running container
    Exec(ExecArgs),
    /// Show containers as JSON
    Inspect(InspectArgs),
    /// Give a container another name
    Rename(RenameArgs),
    /// List a container's published ports
    Port(PortArgs),
    /// Freeze every process of running containers
    Pause(ContainersArgs),
    /// Thaw paused containers
    Unpause(ContainersArgs),
    /// Show the files a container added, changed or deleted
    Diff(DiffArgs),
    /// Copy files between a container and the host
    Cp(CpArgs),
    /// Show the processes of a running container
    Top(TopArgs),
    /// Show running containers' resource usage
    Stats(StatsArgs),
    /// Remove every stopped container
    Prune(PruneArgs),
}

impl ContainerCommand {
    /// The same command in its short form (`container ls` is `ps`);
    /// `prune` has none and stays.
    pub fn short_form(self) -> Result<Command, PruneArgs> {
        Ok(match self {
            ContainerCommand::Ls(a) => Command::Ps(a),
            ContainerCommand::Rm(a) => Command::Rm(a),
            ContainerCommand::Start(a) => Command::Start(a),
            ContainerCommand::Stop(a) => Command::Stop(a),
            ContainerCommand::Restart(a) => Command::Restart(a),
            ContainerCommand::Kill(a) => Command::Kill(a),
            ContainerCommand::Wait(a) => Command::Wait(a),
            ContainerCommand::Logs(a) => Command::Logs(a),
            ContainerCommand::Exec(a) => Command::Exec(a),
            ContainerCommand::Inspect(a) => Command::Inspect(a),
            ContainerCommand::Rename(a) => Command::Rename(a),
            ContainerCommand::Port(a) => Command::Port(a),
            ContainerCommand::Pause(a) => Command::Pause(a),
            ContainerCommand::Unpause(a) => Command::Unpause(a),
            ContainerCommand::Diff(a) => Command::Diff(a),
            ContainerCommand::Cp(a) => Command::Cp(a),
            ContainerCommand::Top(a) => Command::Top(a),
            ContainerCommand::Stats(a) => Command::Stats(a),
            ContainerCommand::Prune(a) => return Err(a),
        })
    }
}

/// `image prune [-a] [-f]`
#[derive(Args, Debug)]
pub struct ImagePruneArgs {
    /// Every image no container uses, not only the untagged ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `image ls|rm|tag|...`: chapter 4's image commands under Docker's
/// management name, plus `prune` and `inspect`.
#[derive(Subcommand, Debug)]
pub enum ImageManagement {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Remove images
    #[command(visible_alias = "remove")]
    Rm(ch04_images::cli::RmiArgs),
    /// Give an image another name
    Tag(ch04_images::cli::TagArgs),
    /// Show how an image's layers were made
    History(ch04_images::cli::HistoryArgs),
    /// Import a flat root filesystem tar as an image
    Import(ch04_images::cli::ImportArgs),
    /// Load images from a tar
    Load(ch04_images::cli::LoadArgs),
    /// Save images to a tar
    Save(ch04_images::cli::SaveArgs),
    /// Show images as JSON
    Inspect(InspectArgs),
    /// Remove images nothing uses
    Prune(ImagePruneArgs),
}

/// What an `image ...` command is in the short forms.
pub enum ImageForm {
    /// One of chapter 4's commands.
    Image(ImageCommand),
    /// `inspect`.
    Inspect(InspectArgs),
    /// `image prune`.
    Prune(ImagePruneArgs),
}

impl ImageManagement {
    /// The same command in its short form (`image ls` is `images`).
    pub fn short_form(self) -> ImageForm {
        ImageForm::Image(match self {
            ImageManagement::Ls(a) => ImageCommand::Images(a),
            ImageManagement::Rm(a) => ImageCommand::Rmi(a),
            ImageManagement::Tag(a) => ImageCommand::Tag(a),
            ImageManagement::History(a) => ImageCommand::History(a),
            ImageManagement::Import(a) => ImageCommand::Import(a),
            ImageManagement::Load(a) => ImageCommand::Load(a),
            ImageManagement::Save(a) => ImageCommand::Save(a),
            ImageManagement::Inspect(a) => return ImageForm::Inspect(a),
            ImageManagement::Prune(a) => return ImageForm::Prune(a),
        })
    }
}

/// `inspect [-f TEMPLATE] NAME...`
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Print this Go template for each object instead of the JSON: {{.State.Status}}, {{json .Config}}, {{range .Mounts}}{{.Source}} {{end}}
    #[arg(short = 'f', long = "format", value_name = "TEMPLATE")]
    pub format: Option<String>,

    /// Containers, images or networks
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

/// `diff CONTAINER`
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `cp CONTAINER:SRC DEST` or `cp SRC CONTAINER:DEST`
#[derive(Args, Debug)]
pub struct CpArgs {
    /// What to copy: a host path, or CONTAINER:PATH
    #[arg(value_name = "SRC")]
    pub source: String,
    /// Where to: a host path, or CONTAINER:PATH
    #[arg(value_name = "DEST")]
    pub dest: String,
}

/// `top CONTAINER [ps OPTIONS]`
#[derive(Args, Debug)]
pub struct TopArgs {
    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Options for the host's ps (default -ef)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PS_OPTIONS"
    )]
    pub ps_options: Vec<String>,
}

/// `stats [--no-stream] [CONTAINER...]`
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Print one table and exit (default: refresh every second)
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Containers (names or ids; default: every running one)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch01_namespaces::dialect::normalize;
    use clap::CommandFactory;

    fn parse(line: &str) -> Cli {
        let args = normalize(&Cli::command(), line.split(' ').map(Into::into).collect());
        Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn run(line: &str) -> RunArgs {
        match parse(line).command {
            Command::Run(run) => *run,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn the_seed_readme_lines_parse() {
        let r = run("mydocker run -ti --name a --net br0 alpine sh");
        assert!(r.run.container.tty && r.run.container.interactive && !r.detach);
        assert_eq!(
            (r.run.name.as_deref(), r.network.network.as_deref()),
            (Some("a"), Some("br0"))
        );
        let r = run("mydocker run -d --name bird -net br0 -p 8888:80 nginx-alpine nginx");
        assert!(r.detach);
        assert_eq!(r.network.publish[0].to_string(), "0.0.0.0:8888->80/tcp");
        assert_eq!(
            (r.run.image.image.as_str(), r.run.image.command()),
            ("nginx-alpine", vec!["nginx".to_string()])
        );
        let r = run(
            "mydocker run -ti -net br0 --name myflask -p 5000:5000 myflask python /root/app.py",
        );
        assert_eq!(r.run.image.command(), ["python", "/root/app.py"]);
        assert!(
            matches!(parse("mydocker logs myredis").command, Command::Logs(l) if l.container == "myredis" && !l.follow)
        );
        assert!(
            matches!(parse("mydocker exec bird sh").command, Command::Exec(e) if e.container == "bird" && e.command == ["sh"])
        );
        assert!(matches!(
            parse("mydocker commit a nginx-alpine").command,
            Command::Image(ImageCommand::Commit(_))
        ));
        assert!(matches!(
            parse("mydocker network create --driver bridge --subnet 192.168.10.1/24 br0").command,
            Command::Network(NetworkCommand::Create(c)) if c.name == "br0"
        ));
    }

    #[test]
    fn dockers_spellings_parse() {
        let r = run(
            "mydocker run -dit --rm --network n -e A=1 --env B=2 --env-file f -w /srv --hostname h -m 64m busybox sh -c -e",
        );
        assert!(r.detach && r.auto_remove && r.run.container.tty && r.run.container.interactive);
        assert_eq!(r.restart, "no");
        assert_eq!(
            run("mydocker run -d --restart on-failure:3 busybox false").restart,
            "on-failure:3"
        );
        assert_eq!(
            run("mydocker run -d -restart always busybox sleep 9").restart,
            "always"
        );
        assert_eq!(r.env.env, ["A=1", "B=2"]);
        assert_eq!(r.env.workdir.as_deref(), Some("/srv"));
        assert_eq!(r.run.container.hostname.as_deref(), Some("h"));
        assert_eq!(r.run.image.command(), ["sh", "-c", "-e"]);
        match parse("mydocker exec -it -e X=1 -w /tmp c sh -c -t").command {
            Command::Exec(e) => {
                assert!(e.tty && e.interactive);
                assert_eq!(e.command, ["sh", "-c", "-t"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse("mydocker stop -t 1 a b").command, Command::Stop(s) if s.time == Some(1) && s.containers.len() == 2)
        );
        assert!(matches!(parse("mydocker stop a").command, Command::Stop(s) if s.time.is_none()));
        assert!(
            matches!(parse("mydocker logs -f --tail 5 a").command, Command::Logs(l) if l.follow && l.tail == "5")
        );
        assert!(matches!(parse("mydocker ps -aq").command, Command::Ps(p) if p.all && p.quiet));
        assert!(matches!(parse("mydocker rm -f a").command, Command::Rm(r) if r.force));
    }
}
