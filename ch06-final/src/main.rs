//! `mydocker`: every chapter's commands in one binary.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use ch01_namespaces::exit::{report, run_main};
use ch04_images::commands::run_image_command;
use ch04_images::containers::ContainerStore;
use ch05_network::cli::run_network_command;
use ch06_final::cli::{Cli, Command};
use ch06_final::{exec, inspect, launch, logs, ps, stop};

// ANCHOR: main
fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli.root.dir()?;
        let store = ContainerStore::new(&root);
        match cli.command {
            Command::Run(args) => launch::run(&root, *args),
            Command::Start(a) => each(&a.containers, |c| launch::start(&root, c)),
            Command::Stop(a) => each(&a.containers, |c| {
                let record = store.find(c)?;
                stop::stop(&store, &record, Duration::from_secs(a.time))
            }),
            Command::Rm(a) => {
                let removal = ch05_network::removal(&root, store.clone());
                each(&a.containers, |c| removal.remove(c, a.force).map(drop))
            }
            Command::Ps(a) => ps::ps(&store, a.all, a.quiet, a.no_trunc).map(|()| 0),
            Command::Logs(a) => {
                let record = store.find(&a.container)?;
                logs::logs(&store, &record, a.tail.parse()?, a.follow).map(|()| 0)
            }
            Command::Exec(a) => {
                let record = store.find(&a.container)?;
                exec::exec_in(&record, &a)
            }
            Command::Inspect(a) => inspect::inspect(&root, &a.names).map(|()| 0),
            Command::Network(cmd) => run_network_command(&root, cmd),
            Command::Image(command) => run_image_command(&root, command),
        }
    })
}
// ANCHOR_END: main

/// Runs `action` for every container named, printing each name that
/// worked, as Docker does; goes on after a failure, reports each one, and
/// exits 125 if there was one.
fn each(names: &[String], mut action: impl FnMut(&str) -> Result<()>) -> Result<i32> {
    let mut code = 0;
    for name in names {
        match action(name) {
            Ok(()) => println!("{name}"),
            Err(err) => code = i32::from(report(&err)),
        }
    }
    Ok(code)
}
