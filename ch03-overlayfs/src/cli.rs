//! The command line of chapter 3.
//!
//! From this chapter on, `run` names an IMAGE before the command, as the seed
//! does: `run [flags] IMAGE [COMMAND...]`. Three new option groups join the
//! ones of chapters 1 and 2:
//!
//! - [`RootArgs`]: the global `--root DIR`, where images and containers live;
//! - [`VolumeArgs`]: `-v HOST:CONTAINER[:ro]`, repeatable;
//! - [`ImageArgs`]: the image and the optional command.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};

use ch01_namespaces::cli::ContainerArgs;

use crate::named::VolumeStore;
use crate::readonly::{ReadOnlyRoot, Tmpfs};
use crate::volumes::Volume;

/// The default data root, as Docker's `/var/lib/docker`.
pub const DEFAULT_ROOT: &str = "/var/lib/mydocker";

/// The command a container runs when the user names none. Chapter 4 will take
/// it from the image's configuration; until then every image gets a shell,
/// which is what the busybox image would say anyway.
pub const DEFAULT_COMMAND: &str = "sh";

// ANCHOR: root_args
/// Where mydocker keeps its state: `<root>/images`, `<root>/containers`.
#[derive(Args, Debug, Clone)]
pub struct RootArgs {
    /// Directory for images and containers
    #[arg(
        long = "root",
        global = true,
        env = "MYDOCKER_ROOT",
        hide_env_values = true,
        value_name = "DIR",
        default_value = DEFAULT_ROOT
    )]
    pub root: PathBuf,
}
// ANCHOR_END: root_args

impl RootArgs {
    /// The data root as an absolute path. The overlay's mount options and the
    /// child (which changes directory) both need paths that do not depend on
    /// the current directory.
    pub fn dir(&self) -> Result<PathBuf> {
        Ok(std::path::absolute(&self.root)?)
    }

    /// The directory of one container: `<root>/containers/<id>`.
    pub fn container_dir(&self, id: &str) -> Result<PathBuf> {
        Ok(self.dir()?.join("containers").join(id))
    }
}

// ANCHOR: volume_args
/// Bind mounts from the host into the container.
#[derive(Args, Debug, Clone, Default)]
pub struct VolumeArgs {
    /// The `-v HOST:CONTAINER[:ro]` options, in the order given.
    #[arg(
        short = 'v',
        long = "volume",
        value_name = "SOURCE:CONTAINER[:ro]",
        value_parser = parse_volume,
        help = "Bind mount a host path or a named volume: /HOST/PATH or NAME, :CONTAINER[:ro] (repeatable)"
    )]
    pub volumes: Vec<Volume>,
}
// ANCHOR_END: volume_args

// ANCHOR: rootfs_args
/// How writable the root filesystem is.
#[derive(Args, Debug, Clone, Default)]
pub struct RootFsArgs {
    /// Mount the container's root filesystem read-only
    #[arg(long = "read-only")]
    pub read_only: bool,

    /// The `--tmpfs PATH[:OPTIONS]` mounts, in the order given.
    #[arg(
        long = "tmpfs",
        value_name = "PATH[:OPTIONS]",
        value_parser = parse_tmpfs,
        help = "Mount a tmpfs at PATH: PATH[:OPTIONS] (repeatable)"
    )]
    pub tmpfs: Vec<Tmpfs>,
}
// ANCHOR_END: rootfs_args

impl RootFsArgs {
    /// The hook these options ask for.
    pub fn hook(&self) -> ReadOnlyRoot {
        ReadOnlyRoot {
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
        }
    }
}

/// clap's value parser for `--tmpfs`.
fn parse_tmpfs(text: &str) -> Result<Tmpfs, String> {
    Tmpfs::parse(text).map_err(|e| format!("{e:#}"))
}

/// clap's value parser for `-v`.
fn parse_volume(text: &str) -> Result<Volume, String> {
    Volume::parse(text).map_err(|e| format!("{e:#}"))
}

// ANCHOR: image_args
/// The image to run and, optionally, the command to run in it.
#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// The image: a directory under `<root>/images`, or `NAME.tar` in the
    /// current directory or in `/root`, unpacked on first use.
    #[arg(
        value_name = "IMAGE",
        help = "Image to run (an image NAME.tar in the current directory or in /root is \
                unpacked on first use)"
    )]
    pub image: String,

    /// Command to run, with its arguments (default: the image's command; sh for a plain directory image)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}
// ANCHOR_END: image_args

impl ImageArgs {
    /// The command to run: the user's, or [`DEFAULT_COMMAND`].
    pub fn command(&self) -> Vec<String> {
        if self.command.is_empty() {
            vec![DEFAULT_COMMAND.to_string()]
        } else {
            self.command.clone()
        }
    }
}

/// `ch03-overlayfs`: run a command in an image's root filesystem.
#[derive(Parser, Debug)]
#[command(
    name = "ch03-overlayfs",
    version,
    about = "Run a command in its own root filesystem (mydocker, chapter 3)"
)]
pub struct Cli {
    /// The data root
    #[command(flatten)]
    pub root: RootArgs,

    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Chapter 3's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in a new container made from IMAGE
    Run(Box<RunArgs>),
    /// Manage named volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
}

// ANCHOR: volume_command
/// `volume create|ls|rm|inspect`, as Docker spells them.
#[derive(Subcommand, Debug, Clone)]
pub enum VolumeCommand {
    /// Create a volume (a random name without NAME)
    Create {
        /// Name of the volume
        name: Option<String>,
    },
    /// List volumes
    #[command(visible_alias = "list")]
    Ls {
        /// Only print the names
        #[arg(short, long)]
        quiet: bool,
    },
    /// Remove one or more volumes (not while a container uses them)
    #[command(visible_alias = "remove")]
    Rm {
        /// Volumes to remove
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Show volumes as JSON
    Inspect {
        /// Volumes to show
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
}
// ANCHOR_END: volume_command

// ANCHOR: run_volume_command
/// Runs a `volume` command against data root `root`, with no container
/// records to ask (chapter 3 keeps none): a running container still holds
/// its volumes. Returns the exit code.
pub fn run_volume_command(root: &Path, cmd: VolumeCommand) -> Result<i32> {
    run_volume_command_with(root, cmd, &|_| Ok(Vec::new()))
}

/// [`run_volume_command`], with `in_use` naming the kept containers that
/// mount a volume (chapter 4's records). As Docker, an error exits 1, and
/// `rm` and `inspect` go on past one, reporting each.
pub fn run_volume_command_with(
    root: &Path,
    cmd: VolumeCommand,
    in_use: &dyn Fn(&str) -> Result<Vec<String>>,
) -> Result<i32> {
    let store = VolumeStore::new(root);
    let mut out = std::io::stdout().lock();
    let failed = |err: anyhow::Error| {
        ch01_namespaces::exit::report(&err);
        1
    };
    let mut code = 0;
    match cmd {
        VolumeCommand::Create { name } => match store.create(name.as_deref()) {
            Ok((record, _)) => writeln!(out, "{}", record.name)?,
            Err(err) => code = failed(err),
        },
        VolumeCommand::Ls { quiet } => {
            let volumes = store.list()?;
            if !quiet {
                writeln!(out, "DRIVER    VOLUME NAME")?;
            }
            for v in volumes {
                match quiet {
                    true => writeln!(out, "{}", v.name)?,
                    false => writeln!(out, "{:<10}{}", v.driver, v.name)?,
                }
            }
        }
        VolumeCommand::Rm { names } => {
            for name in names {
                match store.remove(&name, in_use) {
                    Ok(()) => writeln!(out, "{name}")?,
                    Err(err) => {
                        out.flush()?;
                        code = failed(err);
                    }
                }
            }
        }
        VolumeCommand::Inspect { names } => {
            let mut found = Vec::new();
            let mut errors = Vec::new();
            for name in names {
                match store.get(&name) {
                    Ok(Some(record)) => found.push(record.inspect()),
                    Ok(None) => errors.push(anyhow::anyhow!("no such volume: {name}")),
                    Err(err) => errors.push(err),
                }
            }
            // Docker prints what it found (`[]` if nothing), then the errors.
            writeln!(out, "{}", docker_json(&found)?)?;
            out.flush()?;
            for err in errors {
                code = failed(err);
            }
        }
    }
    Ok(code)
}
// ANCHOR_END: run_volume_command

/// JSON indented by four spaces, as Docker's `inspect` prints it.
pub fn docker_json(value: &impl serde::Serialize) -> Result<String> {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    value.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

// ANCHOR: run_args
/// `ch03-overlayfs run [-ti] [--hostname NAME] [limits] [-v H:C[:ro]]... IMAGE [COMMAND...]`
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Terminal and hostname (chapter 1)
    #[command(flatten)]
    pub container: ContainerArgs,

    /// Resource limits (chapter 2)
    #[command(flatten)]
    pub limits: ch02_cgroups::cli::LimitArgs,

    /// Volumes
    #[command(flatten)]
    pub volumes: VolumeArgs,

    /// Read-only root and tmpfs mounts
    #[command(flatten)]
    pub rootfs: RootFsArgs,

    /// The image and the command
    #[command(flatten)]
    pub image: ImageArgs,
}
// ANCHOR_END: run_args

/// Checks an image name: it becomes a directory name under `<root>/images`
/// and a file name `NAME.tar`, so it must not contain `/` or start with `.`.
pub fn validate_image_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!(
            "invalid image name {name:?}: use letters, digits, '.', '_' and '-', starting with a letter or digit"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch01_namespaces::dialect::normalize;
    use clap::CommandFactory;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        let args = normalize(&Cli::command(), line.split(' ').map(Into::into).collect());
        Cli::try_parse_from(args)
    }

    fn run_args(line: &str) -> RunArgs {
        match parse(line).unwrap().command {
            Command::Run(run) => *run,
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn image_comes_before_the_command() {
        let run = run_args("x run -ti busybox sh -c -v");
        assert!(run.container.tty && run.container.interactive);
        assert_eq!(run.image.image, "busybox");
        // Everything after the image is the command's, flags included.
        assert_eq!(run.image.command(), ["sh", "-c", "-v"]);
        assert!(run.volumes.volumes.is_empty());
    }

    #[test]
    fn without_a_command_the_default_is_sh() {
        let run = run_args("x run -it busybox");
        assert_eq!(run.image.command(), [DEFAULT_COMMAND]);
    }

    #[test]
    fn volumes_repeat_and_mix_with_the_other_chapters_flags() {
        let run = run_args("x run -v /a:/b -m 64m --volume /c:/d:ro -h box busybox true");
        assert_eq!(
            run.volumes.volumes,
            [
                Volume::parse("/a:/b").unwrap(),
                Volume::parse("/c:/d:ro").unwrap()
            ]
        );
        assert_eq!(run.limits.memory.as_deref(), Some("64m"));
        assert_eq!(run.container.hostname.as_deref(), Some("box"));
        assert_eq!(run.image.command(), ["true"]);
    }

    #[test]
    fn seed_spellings() {
        let run = run_args("x run -ti -cpushare 512 busybox sh");
        assert_eq!(run.limits.cpu_shares.as_deref(), Some("512"));
        assert_eq!(run.image.image, "busybox");
    }

    #[test]
    fn root_is_global() {
        let cli = parse("x --root /tmp/r run busybox").unwrap();
        assert_eq!(cli.root.root, PathBuf::from("/tmp/r"));
        let cli = parse("x run --root /tmp/s busybox").unwrap();
        assert_eq!(cli.root.root, PathBuf::from("/tmp/s"));
    }

    #[test]
    fn a_malformed_volume_is_a_clap_error() {
        let err = parse("x run -v nocolon busybox").unwrap_err();
        assert!(
            err.to_string().contains("invalid volume \"nocolon\""),
            "{err}"
        );
        assert!(parse("x run").is_err(), "IMAGE is required");
    }

    #[test]
    fn volume_commands() {
        let cli = parse("x volume rm a b").unwrap();
        assert!(
            matches!(cli.command, Command::Volume(VolumeCommand::Rm { names }) if names == ["a", "b"])
        );
        let cli = parse("x volume ls -q").unwrap();
        assert!(matches!(
            cli.command,
            Command::Volume(VolumeCommand::Ls { quiet: true })
        ));
        let cli = parse("x volume create").unwrap();
        assert!(matches!(
            cli.command,
            Command::Volume(VolumeCommand::Create { name: None })
        ));
        assert!(parse("x volume rm").is_err(), "rm needs a name");
        let run = run_args("x run -v db:/var/lib/db busybox true");
        assert_eq!(run.volumes.volumes[0].name.as_deref(), Some("db"));
    }

    #[test]
    fn image_names() {
        for good in ["busybox", "nginx-alpine", "my_app.v2", "0ad"] {
            validate_image_name(good).unwrap();
        }
        for bad in ["", ".x", "-x", "a/b", "..", "a b", &"x".repeat(129)] {
            assert!(validate_image_name(bad).is_err(), "{bad:?}");
        }
    }
}
