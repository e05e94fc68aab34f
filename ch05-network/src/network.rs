//! Networks: `network create`, `network ls` and `network rm`.
//!
//! A network is three things that must agree: a record on disk, a Linux
//! bridge holding the gateway address, and its rules in mydocker's iptables
//! chains. Creating one makes all three, in that order of checking and the
//! reverse order of undoing: if any step fails, what was made is removed.

use std::path::Path;

use anyhow::{Result, bail};
use ch03_overlayfs::storage::clock::now_rfc3339;

use crate::host;
use crate::ipam::{Ipam, Subnet};
use crate::iptables::{Iptables, Rule, Save, desired_rules};
use crate::netlink;
use crate::state::{Durability, Locked, NetworkRecord, Store};

/// The only driver this chapter knows.
pub const BRIDGE_DRIVER: &str = "bridge";

/// Checks a network name the way Docker does: a letter or digit, then
/// letters, digits, `_`, `.` and `-`. `none` and `host` mean other things to
/// `--network`.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || name.len() > 64 {
        bail!(
            "invalid network name {name:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        );
    }
    if matches!(name, "none" | "host") {
        bail!("network name {name} is reserved");
    }
    Ok(())
}

// ANCHOR: bridge_name
/// The bridge device of network `name`: the name itself when it fits in an
/// interface name (at most 15 bytes, as the seed's `testbridge` does), or
/// `br-` and twelve hex digits of a hash of it.
pub fn bridge_name(name: &str) -> String {
    if name.len() <= 15 {
        return name.to_string();
    }
    // FNV-1a: stable across runs and Rust versions, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("br-{:012x}", hash >> 16)
}
// ANCHOR_END: bridge_name

// ANCHOR: sync
/// Rewrites mydocker's iptables chains from the records on disk. Called,
/// under the lock, after every change of networks.
pub fn sync_rules(locked: &Locked) -> Result<()> {
    let networks = locked.networks()?;
    let endpoints = locked.endpoints()?;
    Iptables::from_env().apply(&desired_rules(&networks, &endpoints))
}

/// Brings mydocker's iptables chains from `previous` (the rules of the
/// records before a container came) to `desired` (the rules of the records
/// now), sending only the difference when the chains still hold `previous`
/// (as `saved` shows them, an `iptables-save` started earlier, if any).
/// Called, under the lock, when a container with published ports is
/// attached.
pub fn sync_rules_from(previous: &[Rule], desired: &[Rule], saved: Option<Save>) -> Result<()> {
    Iptables::from_env().apply_change(previous, desired, saved)
}
// ANCHOR_END: sync

/// Turns on IPv4 forwarding, without which the host drops every packet a
/// container sends to another network. The switch belongs to the current
/// network namespace.
pub fn enable_ip_forward() -> Result<()> {
    if !host::ip_forward()? {
        host::set_ip_forward(true)?;
    }
    Ok(())
}

// ANCHOR: create
/// `network create --driver bridge --subnet CIDR NAME`.
pub fn create(root: &Path, name: &str, driver: &str, subnet: &str) -> Result<NetworkRecord> {
    validate_name(name)?;
    if driver != BRIDGE_DRIVER {
        bail!("network driver {driver:?} is not supported: only {BRIDGE_DRIVER}");
    }
    let subnet: Subnet = subnet.parse()?;
    let store = Store::new(root);
    let locked = store.lock()?;
    if locked.network(name)?.is_some() {
        bail!("network with name {name} already exists");
    }
    let bridge = bridge_name(name);
    for other in locked.networks()? {
        if other.subnet().overlaps(&subnet) {
            bail!(
                "subnet {subnet} overlaps with network {} ({})",
                other.name,
                other.subnet
            );
        }
        if other.bridge == bridge {
            bail!(
                "bridge name {bridge} is already used by network {}",
                other.name
            );
        }
    }
    let record = NetworkRecord {
        name: name.to_string(),
        driver: driver.to_string(),
        subnet: subnet.net,
        gateway: subnet.gateway,
        bridge,
        created: now_rfc3339(),
    };
    // The first network writes down what it finds, for the last one's
    // removal to give back.
    let first = locked.networks()?.is_empty() && host::note_before(&locked)?;
    let result = netlink::create_bridge(&record.bridge, subnet.gateway, subnet.prefix_len())
        .and_then(|()| {
            let made = (|| {
                locked.save_ipam(name, &Ipam::new(&subnet), Durability::Durable)?;
                locked.save_network(&record)?;
                enable_ip_forward()?;
                sync_rules(&locked)
            })();
            if made.is_err() {
                // Undo in reverse: records, then the rules they produced,
                // then the bridge.
                let _ = locked.remove_network(name);
                let _ = sync_rules(&locked);
                let _ = netlink::delete_link(&record.bridge);
            }
            made
        });
    if let Err(err) = result {
        if first {
            let _ = host::give_back(&locked);
        }
        return Err(err);
    }
    Ok(record)
}
// ANCHOR_END: create

// ANCHOR: remove
/// `network rm NAME`: refused while a container is attached; otherwise
/// removes the record, the network's rules and the bridge.
pub fn remove(root: &Path, name: &str) -> Result<()> {
    let store = Store::new(root);
    if !store.exists() {
        bail!("network {name} not found");
    }
    let locked = store.lock()?;
    let Some(record) = locked.network(name)? else {
        bail!("network {name} not found");
    };
    let users: Vec<String> = locked
        .endpoints()?
        .into_iter()
        .filter(|e| e.network == name)
        .map(|e| e.container_id)
        .chain(locked.ipam(&record)?.allocations.into_values())
        .collect();
    if let Some(user) = users.first() {
        bail!(
            "network {name} is in use by container {}",
            &user[..user.len().min(12)]
        );
    }
    locked.remove_network(name)?;
    let rules = sync_rules(&locked);
    let bridge = netlink::delete_link(&record.bridge).map(drop);
    rules.and(bridge)?;
    // The last network gives the namespace back as the first found it.
    if locked.networks()?.is_empty() {
        host::give_back(&locked)?;
    }
    Ok(())
}
// ANCHOR_END: remove

/// Every network, sorted by name.
pub fn list(root: &Path) -> Result<Vec<NetworkRecord>> {
    let store = Store::new(root);
    if !store.exists() {
        return Ok(Vec::new());
    }
    store.lock()?.networks()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["testbridge", "br0", "a", "my_net.1-x"] {
            validate_name(good).unwrap();
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "a b",
            "none",
            "host",
            &"x".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bridge_names_fit_in_an_interface_name() {
        assert_eq!(bridge_name("testbridge"), "testbridge");
        assert_eq!(bridge_name("fifteen-chars-x"), "fifteen-chars-x");
        let long = bridge_name("a-rather-long-network-name");
        assert_eq!(long.len(), 15);
        assert!(long.starts_with("br-"));
        assert_eq!(long, bridge_name("a-rather-long-network-name"));
        assert_ne!(long, bridge_name("a-rather-long-network-namf"));
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_touched() {
        let root = tempfile::tempdir().unwrap();
        let err = |name: &str, driver: &str, subnet: &str| {
            format!(
                "{:#}",
                create(root.path(), name, driver, subnet).unwrap_err()
            )
        };
        assert!(err("n", "bridge", "10.0.0.0/33").contains("invalid subnet"));
        assert!(err("n", "overlay", "10.0.0.0/24").contains("not supported"));
        assert!(err("a b", "bridge", "10.0.0.0/24").contains("invalid network name"));
        assert!(!root.path().join("networks").exists());
        assert!(list(root.path()).unwrap().is_empty());
        assert!(format!("{:#}", remove(root.path(), "n").unwrap_err()).contains("not found"));
    }
}
