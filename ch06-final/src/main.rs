//! `mydocker`: every chapter's commands in one binary.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use ch01_namespaces::exit::{report_command, run_main};
use ch03_overlayfs::cli::run_volume_command_with;
use ch04_images::cli::ImageCommand;
use ch04_images::commands::run_image_command;
use ch04_images::containers::{ContainerStore, NoSuchContainer};
use ch05_network::cli::run_network_command;
use ch06_final::cli::{Cli, Command, ImageForm, SystemCommand};
use ch06_final::{
    control, cp, diff, exec, inspect, launch, logs, pause, prune, ps, stats, stop, system, top,
};

// ANCHOR: main
fn main() -> ExitCode {
    run_main(|cli: Cli| {
        let root = cli.root.dir()?;
        // `run`'s own errors are 125 (126, 127): the container's exit codes
        // are all the others. Every other command fails with 1, as Docker's do.
        match cli.command {
            Command::Run(_) => dispatch(&root, cli.command),
            command => {
                Ok(dispatch(&root, command).unwrap_or_else(|err| i32::from(report_command(&err))))
            }
        }
    })
}

/// Runs one command.
fn dispatch(root: &Path, command: Command) -> Result<i32> {
    let store = ContainerStore::new(root);
    let mut out = std::io::stdout().lock();
    match command {
        Command::Run(args) => launch::run(root, *args),
        Command::Start(a) => each(&a.containers, |c| launch::start(root, c).map(|()| true)),
        Command::Stop(a) => each(&a.containers, |c| {
            let record = store.find(c)?;
            stop::stop(&store, &record, a.time).map(|()| true)
        }),
        Command::Restart(a) => each(&a.containers, |c| {
            let record = store.find(c)?;
            stop::stop(&store, &record, a.time)?;
            launch::start(root, c).map(|()| true)
        }),
        Command::Rm(a) => {
            let removal = ch05_network::removal(root, store.clone());
            each(&a.containers, |c| match removal.remove(c, a.force) {
                Ok(_) => Ok(true),
                // `rm -f` of what is not there: nothing to do, and silence.
                Err(e) if a.force && e.downcast_ref::<NoSuchContainer>().is_some() => Ok(false),
                Err(e) => Err(e),
            })
        }
        Command::Kill(a) => {
            let signal = control::parse_signal(&a.signal)?;
            each(&a.containers, |c| {
                control::kill(&store, c, signal).map(|()| true)
            })
        }
        Command::Wait(a) => {
            let mut code = 0;
            for c in &a.containers {
                match control::wait(&store, c) {
                    Ok(exit) => println!("{exit}"),
                    Err(err) => code = i32::from(report_command(&err)),
                }
            }
            Ok(code)
        }
        Command::Pause(a) => each(&a.containers, |c| pause::pause(&store, c).map(|()| true)),
        Command::Unpause(a) => each(&a.containers, |c| pause::unpause(&store, c).map(|()| true)),
        Command::Diff(a) => diff::diff(root, &store, &a.container, &mut out).map(|()| 0),
        Command::Cp(a) => cp::cp(root, &store, &a.source, &a.dest).map(|()| 0),
        Command::Top(a) => top::top(&store, &a.container, &a.ps_options, &mut out).map(|()| 0),
        Command::Stats(a) => stats::stats(&store, &a.containers, a.no_stream, &mut out).map(|()| 0),
        Command::Volume(cmd) => {
            // The kept containers that mount a volume: `volume rm` refuses it.
            let users = |name: &str| -> Result<Vec<String>> {
                Ok(store
                    .list()?
                    .into_iter()
                    .filter(|r| r.mounts.iter().any(|m| m.name.as_deref() == Some(name)))
                    .map(|r| r.name)
                    .collect())
            };
            run_volume_command_with(root, cmd, &users)
        }
        Command::Rename(a) => control::rename(root, &store, &a.container, &a.name).map(|()| 0),
        Command::Port(a) => {
            let record = store.find(&a.container)?;
            for line in control::port(&record, a.port.as_deref())? {
                println!("{line}");
            }
            Ok(0)
        }
        Command::Ps(a) => ps::ps(&store, &a).map(|()| 0),
        Command::Logs(a) => {
            let record = store.find(&a.container)?;
            logs::logs(&store, &record, &a).map(|()| 0)
        }
        Command::Exec(a) => {
            let record = store.find(&a.container)?;
            exec::exec_in(&record, &a)
        }
        Command::Inspect(a) => inspect::inspect(root, &a.names, a.format.as_deref()).map(|()| 0),
        Command::Version => system::version(&mut out).map(|()| 0),
        Command::Info | Command::System(SystemCommand::Info) => {
            system::info(root, &mut out).map(|()| 0)
        }
        Command::System(SystemCommand::Df) => system::disk_usage(root, &mut out).map(|()| 0),
        Command::Container(command) => match command.short_form() {
            Ok(command) => dispatch(root, command),
            Err(prune) => {
                if prune.force || prune::confirm("This will remove all stopped containers.")? {
                    prune::containers(root, &mut out)?;
                }
                Ok(0)
            }
        },
        Command::ImageManagement(command) => match command.short_form() {
            ImageForm::Image(command) => image_command(root, command),
            ImageForm::Inspect(a) => {
                inspect::inspect(root, &a.names, a.format.as_deref()).map(|()| 0)
            }
            ImageForm::Prune(a) => {
                let question = match a.all {
                    true => {
                        "This will remove all images without at least one container associated to them."
                    }
                    false => "This will remove all dangling images.",
                };
                if a.force || prune::confirm(question)? {
                    prune::images(root, a.all, &mut out)?;
                }
                Ok(0)
            }
        },
        Command::Network(cmd) => run_network_command(root, cmd),
        Command::Image(command) => image_command(root, command),
    }
}
// ANCHOR_END: main

/// Chapter 4's image commands, with this chapter's `images --format`.
fn image_command(root: &Path, command: ImageCommand) -> Result<i32> {
    match command {
        ImageCommand::Images(a) if !a.quiet && a.format.is_some() => {
            ps::images(root, a.format.as_deref().unwrap_or_default()).map(|()| 0)
        }
        command => run_image_command(root, command),
    }
}

/// Runs `action` for every container named, printing each name whose
/// action says so, as Docker does; goes on after a failure, reports each
/// one, and exits 1 if there was one.
fn each(names: &[String], mut action: impl FnMut(&str) -> Result<bool>) -> Result<i32> {
    let mut code = 0;
    for name in names {
        match action(name) {
            Ok(true) => println!("{name}"),
            Ok(false) => {}
            Err(err) => code = i32::from(report_command(&err)),
        }
    }
    Ok(code)
}
