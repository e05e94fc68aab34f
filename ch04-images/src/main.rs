//! `ch04-images [--root DIR] run|import|load|save|images|rmi|tag|commit|export|rm ...`

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use ch01_namespaces::exit::run_main;
use ch04_images::cli::{Cli, Command, RunArgs};
use ch04_images::commands;
use ch04_images::containers::ContainerStore;
use ch04_images::run::Plan;

fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli.root.dir()?;
        match cli.command {
            Command::Run(args) => run(&root, &args),
            other => commands::run_command(&root, other),
        }
    })
}

// ANCHOR: run
/// `run`: plan (image, spec, record), assemble chapter 1 to 4's hooks, start,
/// wait; the registration records the exit.
fn run(root: &Path, args: &RunArgs) -> Result<i32> {
    let containers = ContainerStore::new(root);
    Plan::new(root, args)?.container(&containers)?.run()
}
// ANCHOR_END: run
