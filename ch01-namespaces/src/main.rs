//! `ch01-namespaces run [-ti] [--hostname NAME] COMMAND [ARG...]`

use std::process::ExitCode;

use ch01_namespaces::cli::{Cli, Command};
use ch01_namespaces::confine::Confine;
use ch01_namespaces::exit::run_main;
use ch01_namespaces::lifecycle::Container;
use ch01_namespaces::namespaces::{Hostname, PrivateMounts, ProcFs};

// ANCHOR: main
fn main() -> ExitCode {
    run_main(|cli: Cli| match cli.command {
        Command::Run(args) => {
            let spec = args.container.to_spec(args.command.command)?;
            let container = Container::new(spec)
                .hook(PrivateMounts)
                .hook(Hostname)
                .hook(ProcFs)
                .hook(Confine);
            container.run()
        }
    })
}
// ANCHOR_END: main
