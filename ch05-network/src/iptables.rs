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

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

use crate::state::{Endpoint, NetworkRecord};

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

// ANCHOR: jumps
/// The jumps from the built-in chains into mydocker's chains.
///
/// DNAT applies to packets for any *local* address of the host (the seed
/// FAQ's "local type address": every address of every interface, including
/// the bridge's), both when they arrive from outside (PREROUTING) and when
/// the host itself sends them (OUTPUT, which PREROUTING never sees).
/// Loopback is left out: the kernel refuses to route 127.0.0.0/8 to another
/// interface, so a DNAT of it would only produce dropped packets.
pub fn jumps() -> Vec<Rule> {
    vec![
        Rule::new(
            Table::Nat,
            "PREROUTING",
            &["-m", "addrtype", "--dst-type", "LOCAL", "-j", DNAT_CHAIN],
        ),
        Rule::new(
            Table::Nat,
            "OUTPUT",
            &[
                "!",
                "-d",
                "127.0.0.0/8",
                "-m",
                "addrtype",
                "--dst-type",
                "LOCAL",
                "-j",
                DNAT_CHAIN,
            ],
        ),
        Rule::new(Table::Nat, "POSTROUTING", &["-j", POSTROUTING_CHAIN]),
        Rule::new(Table::Filter, "FORWARD", &["-j", FORWARD_CHAIN]),
    ]
}
// ANCHOR_END: jumps

// ANCHOR: network_rules
/// The rules of one network.
///
/// 1. Containers reach the outside world through the host's address:
///    MASQUERADE what comes from the subnet and leaves through anything but
///    the bridge.
/// 2. Hairpin: a container that reaches a published port through a host
///    address is DNATed to a container on the same bridge. The answer would
///    go straight back over the bridge with the wrong source address, so the
///    request is masqueraded to the gateway and the answer returns through
///    the host, where conntrack undoes both translations.
/// 3. and 4. The seed FAQ's fix: accept whatever enters or leaves the bridge,
///    so a FORWARD policy of DROP does not cut containers off from each
///    other (with `bridge-nf-call-iptables=1` even bridged frames pass
///    FORWARD) or from the outside.
pub fn network_rules(net: &NetworkRecord) -> Vec<Rule> {
    let subnet = net.subnet.to_string();
    let bridge = net.bridge.as_str();
    let comment = format!("mydocker:{}", net.name);
    let tag = ["-m", "comment", "--comment", comment.as_str()];
    let with_tag = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter()
            .chain(tag.iter())
            .chain(tail.iter())
            .map(|a| a.to_string())
            .collect()
    };
    vec![
        Rule {
            table: Table::Nat,
            chain: POSTROUTING_CHAIN.into(),
            args: with_tag(&["-s", &subnet, "!", "-o", bridge], &["-j", "MASQUERADE"]),
        },
        Rule {
            table: Table::Nat,
            chain: POSTROUTING_CHAIN.into(),
            args: with_tag(
                &[
                    "-s",
                    &subnet,
                    "-d",
                    &subnet,
                    "-o",
                    bridge,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "DNAT",
                ],
                &["-j", "MASQUERADE"],
            ),
        },
        Rule {
            table: Table::Filter,
            chain: FORWARD_CHAIN.into(),
            args: with_tag(&["-i", bridge], &["-j", "ACCEPT"]),
        },
        Rule {
            table: Table::Filter,
            chain: FORWARD_CHAIN.into(),
            args: with_tag(&["-o", bridge], &["-j", "ACCEPT"]),
        },
    ]
}
// ANCHOR_END: network_rules

// ANCHOR: port_rules
/// The DNAT rules of one container: one per `-p`, rewriting the destination
/// of packets for the host port to the container's address and port.
pub fn port_rules(endpoint: &Endpoint) -> Vec<Rule> {
    let short = &endpoint.container_id[..endpoint.container_id.len().min(12)];
    let comment = format!("mydocker:{short}");
    endpoint
        .ports
        .iter()
        .map(|p| {
            let proto = p.proto.as_str().to_string();
            let mut args = vec!["-p".to_string(), proto.clone()];
            if let Some(ip) = p.host_ip {
                args.extend(["-d".to_string(), format!("{ip}/32")]);
            }
            args.extend(
                [
                    "-m",
                    &proto,
                    "--dport",
                    &p.host_port.to_string(),
                    "-m",
                    "comment",
                    "--comment",
                    &comment,
                    "-j",
                    "DNAT",
                    "--to-destination",
                    &format!("{}:{}", endpoint.address, p.container_port),
                ]
                .map(str::to_string),
            );
            Rule {
                table: Table::Nat,
                chain: DNAT_CHAIN.to_string(),
                args,
            }
        })
        .collect()
}
// ANCHOR_END: port_rules

/// Everything mydocker's chains should contain for these networks and
/// endpoints, networks first. Empty when there are no networks: then the
/// chains should not exist at all.
pub fn desired_rules(networks: &[NetworkRecord], endpoints: &[Endpoint]) -> Vec<Rule> {
    if networks.is_empty() {
        return Vec::new();
    }
    let mut rules: Vec<Rule> = networks.iter().flat_map(network_rules).collect();
    rules.extend(endpoints.iter().flat_map(port_rules));
    rules
}

/// What `iptables-save` says about mydocker's chains in one table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableState {
    /// mydocker's chains that exist.
    pub chains: BTreeSet<String>,
    /// `-A BUILTIN ... -j MYDOCKER...` lines, exactly as saved.
    pub jumps: Vec<String>,
    /// How many rules each of mydocker's chains holds.
    pub rules: BTreeMap<String, usize>,
}

impl TableState {
    /// The saved lines that jump from `jump`'s built-in chain to its
    /// target: one when all is well, none when it was deleted by hand, more
    /// when it was added twice.
    fn lines_of(&self, jump: &Rule) -> Vec<&String> {
        let target = jump.target().unwrap_or_default();
        self.jumps
            .iter()
            .filter(|l| {
                l.split_whitespace().nth(1) == Some(jump.chain.as_str())
                    && l.split_whitespace().last() == Some(target)
            })
            .collect()
    }
}

/// Reads the parts of `iptables-save` output that concern mydocker.
pub fn parse_save(text: &str) -> BTreeMap<Table, TableState> {
    let mut out: BTreeMap<Table, TableState> = BTreeMap::new();
    let mut table = None;
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(name) = line.strip_prefix('*') {
            table = match name {
                "nat" => Some(Table::Nat),
                "filter" => Some(Table::Filter),
                _ => None,
            };
            continue;
        }
        let Some(t) = table else { continue };
        let own = t.own_chains();
        if let Some(decl) = line.strip_prefix(':') {
            let name = decl.split_whitespace().next().unwrap_or("");
            if own.contains(&name) {
                out.entry(t).or_default().chains.insert(name.to_string());
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let words: Vec<&str> = rule.split_whitespace().collect();
            let from_own = words.first().is_some_and(|c| own.contains(c));
            let to_own = words
                .windows(2)
                .any(|w| w[0] == "-j" && own.contains(&w[1]));
            if !from_own && to_own {
                out.entry(t).or_default().jumps.push(line.to_string());
            }
            if from_own {
                *out.entry(t)
                    .or_default()
                    .rules
                    .entry(words[0].to_string())
                    .or_default() += 1;
            }
        }
    }
    out
}

// ANCHOR: restore_script
/// The `iptables-restore --noflush` input that turns the `current` state into
/// `desired`, or `None` when there is nothing to do.
///
/// With rules to install, each of our chains is declared (`:CHAIN - [0:0]`),
/// which creates it or, if it exists, empties it; the rules are appended;
/// and a missing jump is inserted at the top of its built-in chain. Without
/// rules (no network left), the jumps are deleted and the chains flushed and
/// removed. Each table is one `COMMIT`, applied atomically by the kernel.
pub fn restore_script(desired: &[Rule], current: &BTreeMap<Table, TableState>) -> Option<String> {
    let mut script = String::new();
    for table in [Table::Nat, Table::Filter] {
        let state = current.get(&table).cloned().unwrap_or_default();
        let mut lines = Vec::new();
        if desired.is_empty() {
            for jump in &state.jumps {
                lines.push(format!("-D {}", &jump[3..]));
            }
            for chain in table.own_chains() {
                if state.chains.contains(*chain) {
                    lines.push(format!("-F {chain}"));
                    lines.push(format!("-X {chain}"));
                }
            }
        } else {
            for chain in table.own_chains() {
                lines.push(format!(":{chain} - [0:0]"));
            }
            for jump in jumps().iter().filter(|j| j.table == table) {
                let present = state.lines_of(jump);
                if present.is_empty() {
                    lines.push(jump.restore_line("-I"));
                }
                // A jump present twice would send packets through twice.
                for extra in present.iter().skip(1) {
                    lines.push(format!("-D {}", &extra[3..]));
                }
            }
            for rule in desired.iter().filter(|r| r.table == table) {
                lines.push(rule.restore_line("-A"));
            }
        }
        if !lines.is_empty() {
            script.push_str(&format!("*{}\n", table.as_str()));
            for line in lines {
                script.push_str(&line);
                script.push('\n');
            }
            script.push_str("COMMIT\n");
        }
    }
    (!script.is_empty()).then_some(script)
}
// ANCHOR_END: restore_script

// ANCHOR: change_plan
/// How to go from the rules the chains held (`previous`, by the records
/// before a change) to `desired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The chains hold `previous`, which is `desired` already.
    Nothing,
    /// The chains hold `previous`: this `iptables-restore --noflush` input
    /// deletes and appends only the difference.
    Change(String),
    /// The chains are not what the records said (or a network comes or
    /// goes): rewrite them whole with [`restore_script`].
    Rewrite,
}

/// Compares what `iptables-save` shows (`current`) with `previous`: every
/// chain and jump there once, and as many rules in each chain. A rule
/// changed by hand in place goes unnoticed until a network is created or
/// removed; one deleted, added, or a chain flushed, is seen and repaired.
pub fn change_plan(
    previous: &[Rule],
    desired: &[Rule],
    current: &BTreeMap<Table, TableState>,
) -> Plan {
    if previous.is_empty() || desired.is_empty() {
        return Plan::Rewrite;
    }
    for table in [Table::Nat, Table::Filter] {
        let state = current.get(&table).cloned().unwrap_or_default();
        for chain in table.own_chains() {
            let expected = previous
                .iter()
                .filter(|r| r.table == table && r.chain == *chain)
                .count();
            let present = state.rules.get(*chain).copied().unwrap_or(0);
            if !state.chains.contains(*chain) || present != expected {
                return Plan::Rewrite;
            }
        }
        for jump in jumps().iter().filter(|j| j.table == table) {
            if state.lines_of(jump).len() != 1 {
                return Plan::Rewrite;
            }
        }
    }
    let removed = difference(previous, desired);
    let added = difference(desired, previous);
    if removed.is_empty() && added.is_empty() {
        return Plan::Nothing;
    }
    Plan::Change(change_script(&removed, &added))
}
// ANCHOR_END: change_plan

/// `iptables-restore --noflush` input that deletes `removed` (`-D`) and
/// appends `added` (`-A`), one `COMMIT` per table.
pub fn change_script(removed: &[&Rule], added: &[&Rule]) -> String {
    let mut script = String::new();
    for table in [Table::Nat, Table::Filter] {
        let lines: Vec<String> = removed
            .iter()
            .filter(|r| r.table == table)
            .map(|r| r.restore_line("-D"))
            .chain(
                added
                    .iter()
                    .filter(|r| r.table == table)
                    .map(|r| r.restore_line("-A")),
            )
            .collect();
        if !lines.is_empty() {
            script.push_str(&format!(
                "*{}\n{}\nCOMMIT\n",
                table.as_str(),
                lines.join("\n")
            ));
        }
    }
    script
}

/// The rules of `a` that `b` lacks, counting duplicates.
fn difference<'a>(a: &'a [Rule], b: &[Rule]) -> Vec<&'a Rule> {
    let mut left: Vec<&Rule> = b.iter().collect();
    a.iter()
        .filter(|rule| match left.iter().position(|r| r == rule) {
            Some(i) => {
                left.swap_remove(i);
                false
            }
            None => true,
        })
        .collect()
}

/// Runs `iptables-save` and `iptables-restore`: at most two commands per
/// change, however many rules there are.
#[derive(Debug, Clone)]
pub struct Iptables {
    program: String,
}

impl Iptables {
    /// `iptables`, or what [`IPTABLES_VAR`] says.
    pub fn from_env() -> Iptables {
        let program = std::env::var(IPTABLES_VAR)
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "iptables".to_string());
        Iptables { program }
    }

    /// The command, as in `iptables-legacy`.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The current state of mydocker's chains: runs `iptables-save` and
    /// reads them out of its answer.
    pub fn current(&self) -> Result<BTreeMap<Table, TableState>> {
        let command = format!("{}-save", self.program);
        let out = Command::new(&command)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run {command}"))?;
        if !out.status.success() {
            bail!("{command} failed: {}", first_line(&out.stderr));
        }
        Ok(parse_save(&String::from_utf8_lossy(&out.stdout)))
    }

    /// Runs [`Iptables::current`] on a thread of its own and returns at
    /// once: [`Save::finish`] takes its answer later. Starting the command
    /// costs several milliseconds (the thread that spawns a process waits
    /// until it has exec'd, then it loads its extensions), which the
    /// caller spends on other things meanwhile.
    pub fn start_save(&self) -> Result<Save> {
        let iptables = self.clone();
        let thread = std::thread::Builder::new()
            .name("iptables-save".into())
            .spawn(move || iptables.current())
            .context("start a thread for iptables-save")?;
        Ok(Save { thread })
    }

    // ANCHOR: apply
    /// Makes mydocker's chains hold exactly `desired` (no chains at all when
    /// it is empty).
    pub fn apply(&self, desired: &[Rule]) -> Result<()> {
        let current = self.current()?;
        match restore_script(desired, &current) {
            Some(script) => self.restore(&script),
            None => Ok(()),
        }
    }
    // ANCHOR_END: apply

    // ANCHOR: apply_change
    /// Makes the chains hold `desired`, where they held `previous` by the
    /// records: only the difference when they still look like it (in
    /// `saved`, an `iptables-save` started earlier, or one run now), the
    /// whole chains otherwise (also when sending the difference fails).
    pub fn apply_change(
        &self,
        previous: &[Rule],
        desired: &[Rule],
        saved: Option<Save>,
    ) -> Result<()> {
        let current = match saved {
            Some(save) => save.finish()?,
            None => self.current()?,
        };
        match change_plan(previous, desired, &current) {
            Plan::Nothing => return Ok(()),
            Plan::Change(script) if self.restore(&script).is_ok() => return Ok(()),
            Plan::Change(_) | Plan::Rewrite => {}
        }
        // Read again: a failed change was not applied, but this is cheap
        // next to a wrong rewrite.
        let current = self.current()?;
        match restore_script(desired, &current) {
            Some(script) => self.restore(&script),
            None => Ok(()),
        }
    }

    /// Starts deleting `rules` (a container's DNAT rules, at its exit) with
    /// one `iptables-restore --noflush`, without reading the chains first,
    /// and returns at once; `None` when there is nothing to delete. On the
    /// nf_tables backend a command that deleted rules waits for an RCU grace
    /// period as it exits: the caller spends it on other work, then
    /// [`Restore::finish`]es. A rule that is not there fails the whole
    /// commit; the caller then rewrites the chains with [`Iptables::apply`].
    pub fn start_remove(&self, rules: &[Rule]) -> Result<Option<Restore>> {
        if rules.is_empty() {
            return Ok(None);
        }
        let rules: Vec<&Rule> = rules.iter().collect();
        self.start_restore(&change_script(&rules, &[])).map(Some)
    }
    // ANCHOR_END: apply_change

    /// Feeds `script` to `iptables-restore --noflush` and waits for it.
    fn restore(&self, script: &str) -> Result<()> {
        self.start_restore(script)?.finish()
    }

    /// Starts `iptables-restore --noflush`, gives it all of `script`, and
    /// returns without waiting for it to exit.
    fn start_restore(&self, script: &str) -> Result<Restore> {
        let command = format!("{}-restore", self.program);
        // -w waits for the xtables lock that other iptables users (a
        // firewall daemon, another container engine) hold while they work.
        let mut child = Command::new(&command)
            .args(["-w", "--noflush"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("run {command}"))?;
        // Written whole and closed: the command reads to the end, then
        // commits. (A script is a few hundred bytes: the pipe holds it.)
        let written = match child.stdin.take() {
            Some(mut stdin) => stdin.write_all(script.as_bytes()),
            None => Ok(()),
        };
        let restore = Restore {
            command,
            child: Some(child),
        };
        written.with_context(|| format!("write rules to {}", restore.command))?;
        Ok(restore)
    }
}

/// An `iptables-restore` that has its script and may still be running.
/// Dropped unfinished, it is waited for: a change is never cut short.
#[derive(Debug)]
pub struct Restore {
    command: String,
    child: Option<Child>,
}

impl Restore {
    /// Waits for the command; an error if it refused the script.
    pub fn finish(mut self) -> Result<()> {
        let child = self.child.take().expect("a restore is finished once");
        let out = child
            .wait_with_output()
            .with_context(|| format!("wait for {}", self.command))?;
        if !out.status.success() {
            bail!("{} failed: {}", self.command, first_line(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Nobody reads its complaints now: closing the pipe keeps a
            // long one from blocking it forever.
            drop(child.stderr.take());
            let _ = child.wait();
        }
    }
}

/// An `iptables-save` that runs while its caller does something else.
/// Dropped unfinished, its thread is left to end on its own (it only reads).
#[derive(Debug)]
pub struct Save {
    thread: std::thread::JoinHandle<Result<BTreeMap<Table, TableState>>>,
}

impl Save {
    /// Waits for the answer: mydocker's chains as `iptables-save` showed them.
    pub fn finish(self) -> Result<BTreeMap<Table, TableState>> {
        self.thread
            .join()
            .map_err(|_| anyhow!("the iptables-save thread panicked"))?
    }
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if line.is_empty() {
        "no error message".to_string()
    } else {
        line.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Endpoint;

    fn testbridge() -> NetworkRecord {
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

    fn endpoint(id: &str, address: &str, ports: &[&str]) -> Endpoint {
        Endpoint {
            container_id: id.into(),
            network: "testbridge".into(),
            bridge: "testbridge".into(),
            address: address.parse().unwrap(),
            host_veth: format!("veth{}", &id[..7]),
            ports: ports.iter().map(|p| p.parse().unwrap()).collect(),
        }
    }

    fn lines(rules: &[Rule]) -> String {
        rules
            .iter()
            .map(|r| format!("iptables {}", r.to_args().join(" ")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_jumps() {
        insta::assert_snapshot!(lines(&jumps()));
    }

    #[test]
    fn the_rules_of_a_network() {
        insta::assert_snapshot!(lines(&network_rules(&testbridge())));
    }

    #[test]
    fn the_rules_of_port_mappings() {
        let d1 = endpoint(
            "1a2b3c4d5e6f7a8b9c0d",
            "192.168.10.2",
            &["81:81", "8053:53/udp", "198.51.100.2:8080:80/tcp"],
        );
        insta::assert_snapshot!(lines(&port_rules(&d1)));
        assert!(port_rules(&endpoint("abcdef0", "192.168.10.3", &[])).is_empty());
    }

    #[test]
    fn no_network_no_rules() {
        assert!(desired_rules(&[], &[endpoint("abcdef0", "192.168.10.3", &["1:1"])]).is_empty());
    }

    const SAVED: &str = "\
# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:MYDOCKER-FORWARD - [0:0]
:OTHER - [0:0]
-A FORWARD -j MYDOCKER-FORWARD
-A FORWARD -j OTHER
-A MYDOCKER-FORWARD -i old -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:MYDOCKER - [0:0]
:MYDOCKER-POSTROUTING - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j MYDOCKER
-A POSTROUTING -j MYDOCKER-POSTROUTING
-A POSTROUTING -j MYDOCKER-POSTROUTING
-A MYDOCKER -p tcp -m tcp --dport 1 -j DNAT --to-destination 10.0.0.2:1
COMMIT
";

    #[test]
    fn save_output_is_understood() {
        let state = parse_save(SAVED);
        let nat = &state[&Table::Nat];
        assert_eq!(nat.chains.len(), 2);
        assert_eq!(nat.jumps.len(), 3);
        let filter = &state[&Table::Filter];
        assert_eq!(
            filter.chains.iter().collect::<Vec<_>>(),
            ["MYDOCKER-FORWARD"]
        );
        assert_eq!(filter.jumps, ["-A FORWARD -j MYDOCKER-FORWARD"]);
    }

    #[test]
    fn a_fresh_host_gets_chains_jumps_and_rules() {
        let networks = [testbridge()];
        let endpoints = [
            endpoint("1a2b3c4d5e6f7a8b", "192.168.10.2", &["81:81"]),
            endpoint("2b3c4d5e6f7a8b9c", "192.168.10.3", &["82:82"]),
        ];
        let script = restore_script(&desired_rules(&networks, &endpoints), &BTreeMap::new());
        insta::assert_snapshot!(script.unwrap());
    }

    #[test]
    fn existing_jumps_are_kept_once_and_chains_rewritten() {
        let script = restore_script(&desired_rules(&[testbridge()], &[]), &parse_save(SAVED));
        insta::assert_snapshot!(script.unwrap());
    }

    /// The chains as `iptables-save` shows them when they hold the rules
    /// of testbridge and of one container publishing port 81.
    const INTACT: &str = "\
*filter
:FORWARD ACCEPT [0:0]
:MYDOCKER-FORWARD - [0:0]
-A FORWARD -j MYDOCKER-FORWARD
-A MYDOCKER-FORWARD -i testbridge -m comment --comment \"mydocker:testbridge\" -j ACCEPT
-A MYDOCKER-FORWARD -o testbridge -m comment --comment \"mydocker:testbridge\" -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:MYDOCKER - [0:0]
:MYDOCKER-POSTROUTING - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j MYDOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j MYDOCKER
-A POSTROUTING -j MYDOCKER-POSTROUTING
-A MYDOCKER -p tcp -m tcp --dport 81 -j DNAT --to-destination 192.168.10.2:81
-A MYDOCKER-POSTROUTING -s 192.168.10.0/24 ! -o testbridge -j MASQUERADE
-A MYDOCKER-POSTROUTING -s 192.168.10.0/24 -d 192.168.10.0/24 -o testbridge -j MASQUERADE
COMMIT
";

    #[test]
    fn a_container_changes_only_its_own_rules() {
        let nets = [testbridge()];
        let d1 = endpoint("1a2b3c4d5e6f7a8b", "192.168.10.2", &["81:81"]);
        let d2 = endpoint("2b3c4d5e6f7a8b9c", "192.168.10.3", &["82:82"]);
        let quiet = endpoint("3c4d5e6f7a8b9c0d", "192.168.10.4", &[]);
        let with_d1 = desired_rules(&nets, std::slice::from_ref(&d1));
        let current = parse_save(INTACT);
        assert_eq!(current[&Table::Nat].rules["MYDOCKER"], 1);

        // A container without ports: nothing to run.
        let with_quiet = desired_rules(&nets, &[d1.clone(), quiet]);
        assert_eq!(change_plan(&with_d1, &with_quiet, &current), Plan::Nothing);

        // A container with a port: its rule appended, nothing else touched.
        let with_d2 = desired_rules(&nets, &[d1.clone(), d2]);
        let Plan::Change(script) = change_plan(&with_d1, &with_d2, &current) else {
            panic!("expected a change");
        };
        assert_eq!(
            script,
            "*nat\n-A MYDOCKER -p tcp -m tcp --dport 82 -m comment --comment mydocker:2b3c4d5e6f7a \
             -j DNAT --to-destination 192.168.10.3:82\nCOMMIT\n"
        );

        // It goes away: its rule deleted.
        let without_d1 = desired_rules(&nets, &[]);
        let Plan::Change(script) = change_plan(&with_d1, &without_d1, &current) else {
            panic!("expected a change");
        };
        assert!(script.starts_with("*nat\n-D MYDOCKER -p tcp"), "{script}");
        assert!(!script.contains("-A "), "{script}");
    }

    #[test]
    fn chains_that_differ_from_the_records_are_rewritten() {
        let nets = [testbridge()];
        let d1 = endpoint("1a2b3c4d5e6f7a8b", "192.168.10.2", &["81:81"]);
        let with_d1 = desired_rules(&nets, std::slice::from_ref(&d1));
        // Someone flushed the FORWARD chain (the FAQ's lab): a container
        // without ports still puts the rules back.
        let flushed = INTACT.replace("-A MYDOCKER-FORWARD -i", "# -i");
        assert_eq!(
            change_plan(&with_d1, &with_d1, &parse_save(&flushed)),
            Plan::Rewrite
        );
        // A jump is missing.
        let unjumped = INTACT.replace("-A POSTROUTING -j", "# -j");
        assert_eq!(
            change_plan(&with_d1, &with_d1, &parse_save(&unjumped)),
            Plan::Rewrite
        );
        // The first network, or the last one going: always whole.
        assert_eq!(
            change_plan(&[], &with_d1, &parse_save(INTACT)),
            Plan::Rewrite
        );
        assert_eq!(
            change_plan(&with_d1, &[], &parse_save(INTACT)),
            Plan::Rewrite
        );
    }

    #[test]
    fn the_last_network_takes_everything_with_it() {
        let script = restore_script(&[], &parse_save(SAVED));
        insta::assert_snapshot!(script.unwrap());
        // Nothing of ours left: nothing to do.
        assert_eq!(restore_script(&[], &BTreeMap::new()), None);
    }
}
