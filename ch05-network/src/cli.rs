//! Chapter 5's command line: the options `run` gains, and the `network`
//! commands.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::hook::Attachment;
use crate::names::ExtraHost;
use crate::network;
use crate::ports::PortMapping;

// ANCHOR: network_args
/// The options chapter 5 adds to `run`.
#[derive(Args, Debug, Clone, Default)]
pub struct NetworkArgs {
    /// Connect the container to network NAME (see `network create`)
    #[arg(long = "network", visible_alias = "net", value_name = "NAME")]
    pub network: Option<String>,

    /// Container ports published on the host (`-p`)
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "PORTS",
        help = "Publish a container port on the host, [IP:]HOST:CONTAINER[/tcp|/udp]; repeatable"
    )]
    pub publish: Vec<PortMapping>,

    /// Name server for the container's /etc/resolv.conf; repeatable
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<IpAddr>,

    /// Another name the containers on the network know this one by; repeatable
    #[arg(
        long = "network-alias",
        visible_alias = "net-alias",
        value_name = "NAME"
    )]
    pub network_alias: Vec<String>,

    /// A line NAME:IP (or NAME:host-gateway) in the container's /etc/hosts; repeatable
    #[arg(long = "add-host", value_name = "NAME:IP")]
    pub add_host: Vec<ExtraHost>,
}
// ANCHOR_END: network_args

impl NetworkArgs {
    /// The attachment these options ask for, as the hook and the record
    /// take it.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            network: self.network.clone(),
            ports: self.publish.clone(),
            dns: self.dns.clone(),
            aliases: self.network_alias.clone(),
            extra_hosts: self.add_host.clone(),
        }
    }
}

// ANCHOR: network_command
/// `network create | ls | rm`.
#[derive(Subcommand, Debug, Clone)]
pub enum NetworkCommand {
    /// Create a bridge network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RemoveArgs),
}
// ANCHOR_END: network_command

/// `network create [--driver bridge] --subnet CIDR NAME`
#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Network driver (only bridge)
    #[arg(short = 'd', long, default_value = network::BRIDGE_DRIVER)]
    pub driver: String,

    /// Subnet in CIDR form; an address other than the network's own names the gateway
    #[arg(long, value_name = "CIDR", required = true)]
    pub subnet: String,

    /// Name of the network
    pub name: String,
}

/// `network ls [-q]`
#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Only print the names
    #[arg(short, long)]
    pub quiet: bool,
}

/// `network rm NAME...`
#[derive(Args, Debug, Clone)]
pub struct RemoveArgs {
    /// Networks to remove
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

// ANCHOR: run_network_command
/// Runs a `network` command against data root `root` and returns the exit
/// code. Removing several networks goes on past a failure, reports each one
/// and exits 125, as Docker does.
pub fn run_network_command(root: &Path, cmd: NetworkCommand) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match cmd {
        NetworkCommand::Create(args) => {
            let record = network::create(root, &args.name, &args.driver, &args.subnet)?;
            writeln!(out, "{}", record.name)?;
        }
        NetworkCommand::Ls(args) => {
            let networks = network::list(root)?;
            if args.quiet {
                for n in &networks {
                    writeln!(out, "{}", n.name)?;
                }
            } else {
                let rows: Vec<[String; 5]> = networks
                    .iter()
                    .map(|n| {
                        [
                            n.name.clone(),
                            n.driver.clone(),
                            n.subnet.to_string(),
                            n.gateway.to_string(),
                            n.bridge.clone(),
                        ]
                    })
                    .collect();
                write!(
                    out,
                    "{}",
                    table(["NAME", "DRIVER", "SUBNET", "GATEWAY", "BRIDGE"], &rows)
                )?;
            }
        }
        NetworkCommand::Rm(args) => {
            if let [name] = args.names.as_slice() {
                network::remove(root, name)?;
                writeln!(out, "{name}")?;
                return Ok(0);
            }
            let mut code = 0;
            for name in &args.names {
                match network::remove(root, name) {
                    Ok(()) => writeln!(out, "{name}")?,
                    Err(err) => {
                        out.flush()?;
                        code = i32::from(ch01_namespaces::exit::report(&err));
                    }
                }
            }
            return Ok(code);
        }
    }
    Ok(0)
}
// ANCHOR_END: run_network_command

/// Left-aligned columns, three spaces apart, like Docker's tables.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        text.push('\n');
        text
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser, Debug)]
    struct Run {
        #[command(flatten)]
        net: NetworkArgs,
        #[arg(trailing_var_arg = true)]
        command: Vec<String>,
    }

    #[derive(Parser, Debug)]
    struct Net {
        #[command(subcommand)]
        cmd: NetworkCommand,
    }

    fn run(line: &str) -> Run {
        let args = std::iter::once("run")
            .chain(line.split(' '))
            .map(std::ffi::OsString::from);
        let args = ch01_namespaces::dialect::normalize(&Run::command(), args.collect());
        Run::try_parse_from(args).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn every_p_and_the_seed_spelling() {
        let r = run("-net testbridge -p 81:81 -p 82:82/udp --dns 198.51.100.1 sh");
        assert_eq!(r.net.network.as_deref(), Some("testbridge"));
        assert_eq!(r.net.publish.len(), 2);
        assert_eq!(r.net.publish[1].to_string(), "0.0.0.0:82->82/udp");
        assert_eq!(r.net.dns.len(), 1);
        assert_eq!(r.command, ["sh"]);
        let r = run("--network=n --publish 1.2.3.4:8080:80 top");
        assert_eq!(r.net.publish[0].to_string(), "1.2.3.4:8080->80/tcp");
        let r = run("--net n sh -p 1:1");
        assert!(
            r.net.publish.is_empty(),
            "a -p after the command is the command's"
        );
    }

    #[test]
    fn a_bad_p_is_a_clap_error() {
        let err = Run::try_parse_from(["run", "-p", "81", "sh"]).unwrap_err();
        assert!(err.to_string().contains("a host port is required"), "{err}");
    }

    #[test]
    fn network_subcommands_and_aliases() {
        let n = Net::try_parse_from([
            "x",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            "192.168.10.1/24",
            "tb",
        ])
        .unwrap();
        assert!(
            matches!(n.cmd, NetworkCommand::Create(ref c) if c.name == "tb" && c.driver == "bridge")
        );
        let n = Net::try_parse_from(["x", "create", "--subnet", "10.0.0.0/8", "tb"]).unwrap();
        assert!(matches!(n.cmd, NetworkCommand::Create(ref c) if c.driver == "bridge"));
        assert!(matches!(
            Net::try_parse_from(["x", "list"]).unwrap().cmd,
            NetworkCommand::Ls(_)
        ));
        assert!(matches!(
            Net::try_parse_from(["x", "ls", "-q"]).unwrap().cmd,
            NetworkCommand::Ls(ListArgs { quiet: true })
        ));
        let n = Net::try_parse_from(["x", "remove", "a", "b"]).unwrap();
        assert!(matches!(n.cmd, NetworkCommand::Rm(ref r) if r.names == ["a", "b"]));
        assert!(Net::try_parse_from(["x", "rm"]).is_err());
        assert!(Net::try_parse_from(["x", "create", "tb"]).is_err());
    }

    #[test]
    fn the_table() {
        let rows = [
            ["testbridge".to_string(), "bridge".to_string()],
            ["n".to_string(), "b".to_string()],
        ];
        insta::assert_snapshot!(table(["NAME", "DRIVER"], &rows));
    }
}
