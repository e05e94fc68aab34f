//! NAT, forwarding and published ports, through the `iptables` command.
//!
//! Every rule mydocker needs lives in three chains of its own, so
//! `iptables-save` shows at a glance what mydocker did and removing mydocker
//! is removing three chains and four jumps:
//!
//! ```text
//! nat     PREROUTING  -m addrtype --dst-type LOCAL -j MYDOCKER        traffic from outside
//! nat     OUTPUT      ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL
//!                                                   -j MYDOCKER        the host's own traffic
//! nat     POSTROUTING -j MYDOCKER-POSTROUTING                          masquerading
//! filter  FORWARD     -j MYDOCKER-FORWARD                              the FAQ's fix
//! ```
//!
//! The chains' contents are a pure function of the records on disk (the
//! networks and the endpoints): [`desired_rules`]. After every change the
//! [`Iptables`] applier reads the chains (`iptables-save`) and brings them to
//! the desired rules in one `iptables-restore --noflush` call, which changes
//! them atomically and leaves every other rule of the host alone. A rule that
//! is wrong or missing (after a crash, or after someone flushed a chain by
//! hand) is therefore repaired by the next change, and removing the last
//! network removes the chains and the jumps.
//!
//! A container's start or exit changes at most its own DNAT rules. When the
//! chains still look the way the records said before the change (every
//! chain and jump there, as many rules in each chain), only the difference is
//! sent: nothing for a container without `-p`, one `-A` per port at start
//! ([`Iptables::apply_change`]); at exit, without even reading the chains,
//! one `-D` per port ([`Iptables::start_remove`]). Otherwise the chains are
//! rewritten whole. The difference matters: on the nf_tables
//! backend a change that *removes* rules makes the `iptables` process wait
//! for an RCU grace period as it exits (10 to 15 ms), so rewriting the chains
//! (which removes every rule, then adds them back) at every start and exit
//! cost a container with a network about 30 ms, with or without ports.
//!
//! Only the `iptables` command's classic syntax is used, so this works with
//! both of its backends, `iptables-nft` and `iptables-legacy`; set
//! `MYDOCKER_IPTABLES=iptables-legacy` to pick one explicitly.
//!
//! The module, in the order the book tells it:
//!
//! 1. [`rules`]: the rules a network and a published port need, a pure
//!    function of the records;
//! 2. [`plan`]: what `iptables-save` shows, and the script that brings the
//!    chains from there to the desired rules (whole, or only the
//!    difference);
//! 3. [`runner`]: running `iptables-save` and `iptables-restore`.

pub mod plan;
pub mod rules;
pub mod runner;

pub use plan::{Plan, TableState, change_plan, change_script, parse_save, restore_script};
pub use rules::{desired_rules, jumps, network_rules, port_rules};
pub use runner::{Iptables, Restore, Save};

/// The nat chain of published ports (DNAT), jumped to for local addresses.
pub const DNAT_CHAIN: &str = "MYDOCKER";
/// The nat chain of masquerading rules, jumped to from POSTROUTING.
pub const POSTROUTING_CHAIN: &str = "MYDOCKER-POSTROUTING";
/// The filter chain that lets bridge traffic through FORWARD.
pub const FORWARD_CHAIN: &str = "MYDOCKER-FORWARD";

/// The environment variable that picks the `iptables` command (and with it
/// `…-save` and `…-restore`): `iptables`, `iptables-nft` or `iptables-legacy`.
pub const IPTABLES_VAR: &str = "MYDOCKER_IPTABLES";

/// An iptables table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Address translation.
    Nat,
    /// Packet filtering.
    Filter,
}

impl Table {
    /// Its name for `-t`.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Nat => "nat",
            Table::Filter => "filter",
        }
    }

    /// The table called `name` in `iptables-save` (`*nat`), if it is one
    /// of mydocker's.
    pub fn named(name: &str) -> Option<Table> {
        [Table::Nat, Table::Filter]
            .into_iter()
            .find(|t| t.as_str() == name)
    }

    /// mydocker's own chains in this table.
    pub fn own_chains(self) -> &'static [&'static str] {
        match self {
            Table::Nat => &[DNAT_CHAIN, POSTROUTING_CHAIN],
            Table::Filter => &[FORWARD_CHAIN],
        }
    }
}

/// One rule: a table, a chain, and the match and target arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The table.
    pub table: Table,
    /// The chain it goes into.
    pub chain: String,
    /// Everything after `-A CHAIN`.
    pub args: Vec<String>,
}

impl Rule {
    fn new(table: Table, chain: &str, args: &[&str]) -> Rule {
        Rule {
            table,
            chain: chain.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// The rule as `iptables` arguments, appended: `-t nat -A CHAIN ...`.
    pub fn to_args(&self) -> Vec<String> {
        let mut out = vec![
            "-t".to_string(),
            self.table.as_str().to_string(),
            "-A".to_string(),
            self.chain.clone(),
        ];
        out.extend(self.args.iter().cloned());
        out
    }

    /// The rule as one line of `iptables-restore` input, with `op` (`-A`,
    /// `-I`) in front. Every argument we generate is a plain word, so no
    /// quoting is needed.
    fn restore_line(&self, op: &str) -> String {
        format!("{op} {} {}", self.chain, self.args.join(" "))
    }

    /// The chain this rule jumps to (`-j X`), if any.
    fn target(&self) -> Option<&str> {
        self.args
            .windows(2)
            .find(|w| w[0] == "-j")
            .map(|w| w[1].as_str())
    }
}

/// Records and rules the tests of [`rules`] and [`plan`] share.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::Rule;
    use crate::state::{Endpoint, NetworkRecord};

    pub(crate) fn testbridge() -> NetworkRecord {
        let subnet: crate::ipam::Subnet = "192.168.10.1/24".parse().unwrap();
        NetworkRecord {
            name: "testbridge".into(),
            driver: "bridge".into(),
            subnet: subnet.net,
            gateway: subnet.gateway,
            bridge: "testbridge".into(),
            created: "2024-01-01T00:00:00Z".into(),
        }
    }

    pub(crate) fn endpoint(id: &str, address: &str, ports: &[&str]) -> Endpoint {
        Endpoint {
            container_id: id.into(),
            network: "testbridge".into(),
            bridge: "testbridge".into(),
            address: address.parse().unwrap(),
            host_veth: format!("veth{}", &id[..7]),
            ports: ports.iter().map(|p| p.parse().unwrap()).collect(),
            names: vec![],
            hosts_file: None,
        }
    }

    pub(crate) fn lines(rules: &[Rule]) -> String {
        rules
            .iter()
            .map(|r| format!("iptables {}", r.to_args().join(" ")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
