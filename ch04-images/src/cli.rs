//! The command line of chapter 4: chapter 3's `run` plus `--name`, and the
//! image and container commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use ch01_namespaces::cli::ContainerArgs;
use ch02_cgroups::cli::LimitArgs;
use ch03_overlayfs::cli::{ImageArgs, RootArgs, RootFsArgs, VolumeArgs};

/// `ch04-images`: images, named containers, commit, export, save and load.
#[derive(Parser, Debug)]
#[command(
    name = "ch04-images",
    version,
    about = "Run containers from an image store; commit, export, save and load images (mydocker, chapter 4)"
)]
pub struct Cli {
    /// The data root
    #[command(flatten)]
    pub root: RootArgs,

    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Chapter 4's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in a new container made from IMAGE
    Run(Box<RunArgs>),
    /// Remove containers (their record and writable layer)
    Rm(RmArgs),
    /// The image commands, shared with chapters 5 and 6
    #[command(flatten)]
    Image(ImageCommand),
}

/// The commands on images (and on a container's files) that later chapters
/// take over as they are.
#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Import a flat root filesystem tar (as `docker export` writes) as an image
    Import(ImportArgs),
    /// Load images from a `docker save` tar or an OCI image layout
    Load(LoadArgs),
    /// Save images to a tar that `docker load` and skopeo read
    Save(SaveArgs),
    /// List images
    Images(ImagesArgs),
    /// Remove images
    Rmi(RmiArgs),
    /// Give an image another name
    Tag(TagArgs),
    /// Show how an image's layers were made
    History(HistoryArgs),
    /// Make an image from a container's changes
    Commit(CommitArgs),
    /// Write a container's file tree as a tar
    Export(ExportArgs),
}

// ANCHOR: run_args
/// `ch04-images run [-ti] [--name NAME] [limits] [-v H:C[:ro]]... IMAGE [COMMAND...]`
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Terminal and hostname (chapter 1)
    #[command(flatten)]
    pub container: ContainerArgs,

    /// Resource limits (chapter 2)
    #[command(flatten)]
    pub limits: LimitArgs,

    /// Volumes (chapter 3)
    #[command(flatten)]
    pub volumes: VolumeArgs,

    /// Read-only root and tmpfs mounts (chapter 3)
    #[command(flatten)]
    pub rootfs: RootFsArgs,

    /// Name of the container (default: a generated one)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Run this program instead of the image's Entrypoint (and without its Cmd); "" for none
    #[arg(long, value_name = "PROGRAM", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,

    /// The image and the command (default: the image's Cmd)
    #[command(flatten)]
    pub image: ImageArgs,
}
// ANCHOR_END: run_args

/// `import FILE NAME`
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The tar (plain or gzip); - reads standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The image's name: NAME or NAME:TAG
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `load [-i FILE]`
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// A `docker save` tar (plain or gzip) or an OCI layout directory
    /// (default: the tar on standard input)
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print nothing
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `save IMAGE... -o FILE`
#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Images to save
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// `images [-q] [--format TEMPLATE]`
#[derive(Args, Debug, Default)]
pub struct ImagesArgs {
    /// Only print the image ids
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print this Go template for each image ({{.Repository}} {{.Tag}} {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}), `table TEMPLATE` for columns (chapter 6's mydocker)
    #[arg(long, value_name = "TEMPLATE")]
    pub format: Option<String>,
}

/// `rmi [-f] IMAGE...`
#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Remove the tag even if a container uses the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Images to remove
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// `tag SOURCE TARGET`
#[derive(Args, Debug)]
pub struct TagArgs {
    /// An existing image
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The new name: NAME or NAME:TAG
    #[arg(value_name = "TARGET")]
    pub target: String,
}

/// `history [--no-trunc] IMAGE`
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Do not shorten ids and commands
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// The image
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// `commit CONTAINER [IMAGE]`
#[derive(Args, Debug)]
pub struct CommitArgs {
    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The new image's name: NAME or NAME:TAG
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
}

/// `export CONTAINER -o FILE`
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The container (name or id)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
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
