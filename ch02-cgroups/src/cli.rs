//! The command line of chapter 2: chapter 1's, plus the limits.
//!
//! The options are kept as the user typed them;
//! [`crate::limits::Resources::from_args`] parses and checks them once, so
//! every mistake gets the same kind of message.

use clap::{Args, Parser, Subcommand};

use ch01_namespaces::cli::{CommandArgs, ContainerArgs};

/// The default parent of every container's cgroup.
pub const DEFAULT_PARENT: &str = "mydocker";

// ANCHOR: limit_args
/// Resource limits, in Docker's spellings (and the seed's `-cpushare`,
/// `-cpuset`, which the dialect rewriting turns into `--cpushare`, `--cpuset`).
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Memory limit, such as 64m (units b, k, m, g; at least 6m)
    #[arg(short = 'm', long, value_name = "BYTES")]
    pub memory: Option<String>,

    /// Memory plus swap, such as 128m (needs -m; equal to -m: no swap; -1: unlimited swap)
    #[arg(
        long = "memory-swap",
        value_name = "BYTES",
        allow_negative_numbers = true
    )]
    pub memory_swap: Option<String>,

    /// Number of CPUs, such as 0.5 (CPU time per 100 ms period)
    #[arg(long, value_name = "CPUS", allow_negative_numbers = true)]
    pub cpus: Option<String>,

    /// CPU shares: relative weight against other containers (default 1024)
    #[arg(
        short = 'c',
        long = "cpu-shares",
        alias = "cpushare",
        value_name = "SHARES"
    )]
    pub cpu_shares: Option<String>,

    /// CPUs the container may run on, such as 0, 0-1 or 0,2
    #[arg(long = "cpuset-cpus", alias = "cpuset", value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,

    /// Most processes and threads alive at once (-1: no limit)
    #[arg(long = "pids-limit", value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<String>,

    /// Parent cgroup of the container's own cgroup
    #[arg(long = "cgroup-parent", value_name = "NAME", default_value = DEFAULT_PARENT)]
    pub cgroup_parent: String,

    /// The `--device HOST[:CONTAINER[:PERMS]]` options, as typed.
    #[arg(
        long = "device",
        value_name = "HOST[:CONTAINER[:PERMS]]",
        help = "Give the container a host device: HOST[:CONTAINER[:PERMS]], PERMS from rwm (repeatable)"
    )]
    pub devices: Vec<String>,
}
// ANCHOR_END: limit_args

impl Default for LimitArgs {
    /// No limits, in the default parent.
    fn default() -> LimitArgs {
        LimitArgs {
            memory: None,
            memory_swap: None,
            cpus: None,
            cpu_shares: None,
            cpuset_cpus: None,
            pids_limit: None,
            cgroup_parent: DEFAULT_PARENT.to_string(),
            devices: Vec::new(),
        }
    }
}

/// `ch02-cgroups`: run a command in new namespaces, with resource limits.
#[derive(Parser, Debug)]
#[command(
    name = "ch02-cgroups",
    version,
    about = "Run a command in its own namespaces and cgroup (mydocker, chapter 2)"
)]
pub struct Cli {
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Chapter 2's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in new namespaces, limited by a cgroup of its own
    Run(RunArgs),
}

// ANCHOR: run_args
/// `ch02-cgroups run [-ti] [--hostname NAME] [LIMITS] COMMAND [ARG...]`
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Terminal and hostname (chapter 1)
    #[command(flatten)]
    pub container: ContainerArgs,

    /// Resource limits (this chapter)
    #[command(flatten)]
    pub limits: LimitArgs,

    /// The command
    #[command(flatten)]
    pub command: CommandArgs,
}
// ANCHOR_END: run_args

#[cfg(test)]
mod tests {
    use super::*;
    use ch01_namespaces::dialect::normalize;
    use clap::CommandFactory;

    fn parse(line: &str) -> RunArgs {
        let args = normalize(&Cli::command(), line.split(' ').map(Into::into).collect());
        match Cli::try_parse_from(args).unwrap().command {
            Command::Run(run) => run,
        }
    }

    #[test]
    fn docker_spellings() {
        let run = parse("x run -ti -m 64m --cpus 0.5 -c 512 --cpuset-cpus 0-1 --pids-limit 20 sh");
        assert_eq!(run.limits.memory.as_deref(), Some("64m"));
        assert_eq!(run.limits.cpus.as_deref(), Some("0.5"));
        assert_eq!(run.limits.cpu_shares.as_deref(), Some("512"));
        assert_eq!(run.limits.cpuset_cpus.as_deref(), Some("0-1"));
        assert_eq!(run.limits.pids_limit.as_deref(), Some("20"));
        assert_eq!(run.limits.cgroup_parent, "mydocker");
        assert!(run.container.tty && run.container.interactive);
        assert_eq!(run.command.command, ["sh"]);
    }

    #[test]
    fn seed_spellings() {
        let run = parse("x run -ti -m 100m -cpushare 512 -cpuset 1 sh -c -m");
        assert_eq!(run.limits.memory.as_deref(), Some("100m"));
        assert_eq!(run.limits.cpu_shares.as_deref(), Some("512"));
        assert_eq!(run.limits.cpuset_cpus.as_deref(), Some("1"));
        assert_eq!(run.command.command, ["sh", "-c", "-m"]);
    }

    #[test]
    fn negative_numbers_reach_the_parser() {
        let run = parse("x run --cpus -1 --pids-limit -1 --memory-swap -1 sh");
        assert_eq!(run.limits.memory_swap.as_deref(), Some("-1"));
        assert_eq!(run.limits.cpus.as_deref(), Some("-1"));
        assert_eq!(run.limits.pids_limit.as_deref(), Some("-1"));
    }
}
