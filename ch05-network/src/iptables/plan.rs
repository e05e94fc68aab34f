//! From what `iptables-save` shows to the desired rules: the whole chains
//! rewritten in one `iptables-restore --noflush` script, or, when the chains
//! still look as the records said, only the difference.

use std::collections::{BTreeMap, BTreeSet};

use super::rules::jumps;
use super::{Rule, Table};

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
            table = Table::named(name);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::desired_rules;
    use crate::iptables::fixtures::{endpoint, testbridge};

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
