//! `ch02-cgroups run [-ti] [--hostname NAME] [LIMITS] COMMAND [ARG...]`

use std::process::ExitCode;

use ch01_namespaces::confine::Confine;
use ch01_namespaces::exit::run_main;
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};
use ch02_cgroups::Cgroups;
use ch02_cgroups::cli::{Cli, Command};
use ch02_cgroups::limits::Resources;

// ANCHOR: main
fn main() -> ExitCode {
    run_main(|cli: Cli| match cli.command {
        Command::Run(args) => {
            let spec = args.container.to_spec(args.command.command)?;
            let cgroups = Cgroups::from_resources(&Resources::from_args(&args.limits)?)?;
            let container = Container::new(spec)
                .hook(PrivateMounts)
                .hook(Hostname)
                .hook(cgroups)
                .hook(ProcFs)
                .hook(Confine);
            container.run()
        }
    })
}
// ANCHOR_END: main
