//! What networks change in the host's namespace besides their bridges and
//! rules, and how the last one gives it back.
//!
//! The first network turns on IPv4 forwarding, and its rules make the
//! `iptables` command create the `nat` and `filter` tables if the namespace
//! had none (a fresh one has none). Removing a network removes its bridge
//! and rules, and the last one mydocker's chains; but forwarding would stay
//! on and the tables would stay, empty. So the `network create` that finds
//! no network writes down what the namespace was like before
//! (`<root>/networks/host/before.json`), and the `network rm` that removes
//! the last one puts it back: forwarding off again if it was off, and each
//! table that did not exist removed if it is still empty. After the first
//! network's create and the last one's rm, `ip link`, `ip addr`,
//! `iptables-save` and `net.ipv4.ip_forward` are what they were.
//!
//! The record sits with the networks, under their lock, because it belongs
//! to them: whoever creates and removes networks (`make net` and `make
//! net-down`, or a user typing `network create` and `network rm`) gets the
//! namespace back, and two processes cannot both believe they came first.
//!
//! Only what mydocker itself turned on is turned off. A host whose
//! forwarding was already on (Docker's hosts, routers) keeps it on, and a
//! table that existed before, or that holds anything but empty built-in
//! chains by then, is left alone.

use std::collections::BTreeSet;
use std::fs;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::iptables::{Iptables, Table};
use crate::state::Locked;

/// Where the kernel's IPv4 forwarding switch lives (per network namespace).
pub const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

// ANCHOR: before
/// The namespace as the first network found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    /// `net.ipv4.ip_forward` was on.
    pub ip_forward: bool,
    /// The iptables tables (`nat`, `filter`) that did not exist.
    pub missing_tables: Vec<String>,
}
// ANCHOR_END: before

/// Reads whether IPv4 forwarding is on.
pub fn ip_forward() -> Result<bool> {
    let now = fs::read_to_string(IP_FORWARD).with_context(|| format!("read {IP_FORWARD}"))?;
    Ok(now.trim() == "1")
}

/// Turns IPv4 forwarding on or off.
pub fn set_ip_forward(on: bool) -> Result<()> {
    let value = if on { "1\n" } else { "0\n" };
    fs::write(IP_FORWARD, value).with_context(|| format!("write {IP_FORWARD}"))
}

// ANCHOR: tables
/// The tables mydocker uses that `iptables-save` output `save` shows.
pub fn tables_in(save: &str) -> BTreeSet<Table> {
    save.lines()
        .filter_map(|line| line.trim_end().strip_prefix('*'))
        .filter_map(Table::named)
        .collect()
}

/// The tables in `save` that hold nothing: only built-in chains, each with
/// the policy ACCEPT, and no rule. Removing one of them changes nothing
/// any packet meets.
pub fn empty_tables(save: &str) -> BTreeSet<Table> {
    let mut out = BTreeSet::new();
    let mut current: Option<(Table, bool)> = None;
    for line in save.lines().map(str::trim_end) {
        if let Some(name) = line.strip_prefix('*') {
            current = Table::named(name).map(|t| (t, true));
        } else if line == "COMMIT" {
            if let Some((table, true)) = current.take() {
                out.insert(table);
            }
        } else if let Some((_, empty)) = current.as_mut() {
            // A built-in chain is declared `:NAME POLICY [counters]`, a
            // chain of someone's own `:NAME - [counters]`.
            let plain = match line.strip_prefix(':') {
                Some(decl) => decl.split_whitespace().nth(1) == Some("ACCEPT"),
                None => line.is_empty() || line.starts_with('#'),
            };
            *empty &= plain;
        }
    }
    out
}
// ANCHOR_END: tables

/// The tables mydocker uses (`nat`, `filter`) that `save` does not show,
/// by name: what [`Before::missing_tables`] records.
pub fn missing_tables(save: &str) -> Vec<String> {
    let present = tables_in(save);
    [Table::Nat, Table::Filter]
        .into_iter()
        .filter(|t| !present.contains(t))
        .map(|t| t.as_str().to_string())
        .collect()
}

// ANCHOR: record
/// Under the lock, before the first network changes anything: writes down
/// what the namespace is like now, unless it is written down already (a
/// give-back that failed left it, and it still says what came first).
/// Returns whether this call wrote it.
pub fn note_before(locked: &Locked) -> Result<bool> {
    if locked.before()?.is_some() {
        return Ok(false);
    }
    let save = Iptables::from_env().save_text()?;
    let before = Before {
        ip_forward: ip_forward()?,
        missing_tables: missing_tables(&save),
    };
    locked.save_before(&before)?;
    Ok(true)
}

/// Under the lock, once the last network (its bridge, its rules and
/// mydocker's chains) is gone: gives back what [`note_before`] wrote down,
/// then forgets it. When something cannot be given back the record stays,
/// so that the next network's removal tries again.
pub fn give_back(locked: &Locked) -> Result<()> {
    let Some(before) = locked.before()? else {
        return Ok(());
    };
    if !before.ip_forward && ip_forward()? {
        set_ip_forward(false)?;
    }
    let missing: Vec<Table> = before
        .missing_tables
        .iter()
        .filter_map(|name| Table::named(name))
        .collect();
    if !missing.is_empty() {
        let iptables = Iptables::from_env();
        let empty = empty_tables(&iptables.save_text()?);
        let removable: Vec<Table> = missing.into_iter().filter(|t| empty.contains(t)).collect();
        iptables.remove_tables(&removable)?;
    }
    locked.remove_before()
}
// ANCHOR_END: record

#[cfg(test)]
mod tests {
    use super::*;

    const SAVE: &str = "\
# Generated by iptables-save v1.8.9 (nf_tables) on Sun Dec  6 20:38:27 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
# Completed on Sun Dec  6 20:38:27 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
COMMIT
";

    #[test]
    fn tables_are_read_from_the_save() {
        assert_eq!(tables_in(SAVE), BTreeSet::from([Table::Nat, Table::Filter]));
        assert!(tables_in("").is_empty());
        assert_eq!(
            empty_tables(SAVE),
            BTreeSet::from([Table::Nat, Table::Filter])
        );
    }

    #[test]
    fn missing_tables_are_the_ones_the_save_lacks() {
        // A fresh namespace: iptables-save prints nothing at all.
        assert_eq!(missing_tables(""), ["nat", "filter"]);
        assert!(missing_tables(SAVE).is_empty());
        let filter_only = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*mangle\nCOMMIT\n";
        assert_eq!(missing_tables(filter_only), ["nat"]);
        // A name that only begins like a table's is not that table.
        assert_eq!(missing_tables("*natural\nCOMMIT\n"), ["nat", "filter"]);
    }

    #[test]
    fn a_table_with_anything_in_it_is_not_empty() {
        let rule = SAVE.replace(
            ":OUTPUT ACCEPT [0:0]\nCOMMIT\n# Completed",
            ":OUTPUT ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n# Completed",
        );
        assert_eq!(empty_tables(&rule), BTreeSet::from([Table::Nat]));
        let policy = SAVE.replace(":FORWARD ACCEPT", ":FORWARD DROP");
        assert_eq!(empty_tables(&policy), BTreeSet::from([Table::Nat]));
        let chain = SAVE.replace(
            ":POSTROUTING ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]\n:MINE - [0:0]",
        );
        assert_eq!(empty_tables(&chain), BTreeSet::from([Table::Filter]));
        // A table cut short (no COMMIT) is not known to be empty.
        assert!(empty_tables("*nat\n:PREROUTING ACCEPT [0:0]\n").is_empty());
    }

    #[test]
    fn the_record_reads_as_it_says() {
        let before = Before {
            ip_forward: false,
            missing_tables: vec!["nat".into(), "filter".into()],
        };
        insta::assert_snapshot!(serde_json::to_string_pretty(&before).unwrap(), @r#"
        {
          "ip_forward": false,
          "missing_tables": [
            "nat",
            "filter"
          ]
        }
        "#);
    }
}
