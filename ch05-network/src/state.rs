//! What chapter 5 keeps on disk, under `<root>/networks/`:
//!
//! ```text
//! <root>/networks/
//!     .lock                     flock(2)ed while anything below changes
//!     <name>.json               one network: subnet, gateway, bridge (NetworkRecord)
//!     ipam/<name>.json          its addresses and their containers (Ipam)
//!     endpoints/<id>.json       one container's attachment: address, veth, ports (Endpoint)
//!     host/before.json          the namespace before the first network (host::Before)
//! ```
//!
//! Every file follows chapter 3's storage rules
//! ([`ch03_overlayfs::storage`]): JSON, written to a temporary name and
//! renamed over the old one, so a reader never sees half a record. Only a network's own record
//! is flushed to the disk first (`fsync`): the addresses and endpoints
//! describe live containers, which a power cut ends anyway. Several `mydocker` processes may
//! run at once (twenty `run`s started together), so every change happens
//! while holding an exclusive `flock` on `.lock`: read, decide, write, unlock.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
pub use ch03_overlayfs::storage::Durability;
use ch03_overlayfs::storage::{self, read_json, write_json};
use ipnet::Ipv4Net;
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};

use crate::host::Before;
use crate::ipam::{Ipam, Subnet};
use crate::ports::PortMapping;

// ANCHOR: records
/// A network, as `network create` made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// The name users give it: `testbridge`.
    pub name: String,
    /// Always `bridge` in this chapter.
    pub driver: String,
    /// The range: `192.168.10.0/24`.
    pub subnet: Ipv4Net,
    /// The bridge's address and the containers' default route: `192.168.10.1`.
    pub gateway: Ipv4Addr,
    /// The Linux bridge device: the network's name when it fits in an
    /// interface name (15 bytes), otherwise `br-` and a hash of it.
    pub bridge: String,
    /// When it was created, RFC 3339 in UTC.
    pub created: String,
}

/// One container attached to a network: everything needed to undo the
/// attachment later, even by a process that knows only the container's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The container's full id.
    pub container_id: String,
    /// The network's name.
    pub network: String,
    /// The network's bridge.
    pub bridge: String,
    /// The container's address on it.
    pub address: Ipv4Addr,
    /// The host end of the container's veth pair.
    pub host_veth: String,
    /// Its published ports.
    pub ports: Vec<PortMapping>,
    /// The names the other containers on the network know it by
    /// ([`crate::names`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Its `/etc/hosts` on the host, whose part about the other containers
    /// is rewritten as they come and go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_file: Option<PathBuf>,
}
// ANCHOR_END: records

impl NetworkRecord {
    /// The network's range and gateway.
    pub fn subnet(&self) -> Subnet {
        Subnet {
            net: self.subnet,
            gateway: self.gateway,
        }
    }
}

/// The networks directory of a data root.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The store, locked: the only way to read or change records.
pub struct Locked {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl Store {
    /// The store of data root `root` (`<root>/networks`); nothing is created yet.
    pub fn new(root: &Path) -> Store {
        Store {
            dir: root.join("networks"),
        }
    }

    /// `<root>/networks`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True once anything was ever stored.
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    // ANCHOR: lock
    /// Takes the exclusive lock, creating the directory on first use. The
    /// kernel drops the lock when the file is closed, also when the process
    /// dies, so a crash never leaves the store locked.
    pub fn lock(&self) -> Result<Locked> {
        for sub in ["ipam", "endpoints"] {
            let dir = self.dir.join(sub);
            fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let lock = storage::lock(&self.dir.join(".lock"))?;
        Ok(Locked {
            dir: self.dir.clone(),
            _lock: lock,
        })
    }
    // ANCHOR_END: lock
}

impl Locked {
    fn network_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn ipam_path(&self, name: &str) -> PathBuf {
        self.dir.join("ipam").join(format!("{name}.json"))
    }

    fn endpoint_path(&self, id: &str) -> PathBuf {
        self.dir.join("endpoints").join(format!("{id}.json"))
    }

    /// The network called `name`, if there is one.
    pub fn network(&self, name: &str) -> Result<Option<NetworkRecord>> {
        check_file_name(name)?;
        read_json(&self.network_path(name))
    }

    /// Every network, sorted by name.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>> {
        let mut out = Vec::new();
        for path in json_files(&self.dir)? {
            if let Some(record) = read_json::<NetworkRecord>(&path)? {
                out.push(record);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Writes a network's record, durably: it must outlive a reboot.
    pub fn save_network(&self, record: &NetworkRecord) -> Result<()> {
        check_file_name(&record.name)?;
        write_json(
            &self.network_path(&record.name),
            record,
            Durability::Durable,
        )
    }

    /// Removes a network's record and its IPAM record (absent is fine).
    pub fn remove_network(&self, name: &str) -> Result<()> {
        check_file_name(name)?;
        remove_file(&self.ipam_path(name))?;
        remove_file(&self.network_path(name))
    }

    /// The IPAM record of `network`, or an empty one.
    pub fn ipam(&self, network: &NetworkRecord) -> Result<Ipam> {
        Ok(read_json(&self.ipam_path(&network.name))?
            .unwrap_or_else(|| Ipam::new(&network.subnet())))
    }

    /// Writes the IPAM record of network `name`. Its allocations belong to
    /// running containers, so a container's start and exit write it
    /// [`Durability::Volatile`].
    pub fn save_ipam(&self, name: &str, ipam: &Ipam, durability: Durability) -> Result<()> {
        check_file_name(name)?;
        write_json(&self.ipam_path(name), ipam, durability)
    }

    /// The endpoint of container `id`, if it has one.
    pub fn endpoint(&self, id: &str) -> Result<Option<Endpoint>> {
        check_file_name(id)?;
        read_json(&self.endpoint_path(id))
    }

    /// Every endpoint, sorted by container id.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>> {
        let mut out = Vec::new();
        for path in json_files(&self.dir.join("endpoints"))? {
            if let Some(endpoint) = read_json::<Endpoint>(&path)? {
                out.push(endpoint);
            }
        }
        out.sort_by(|a, b| a.container_id.cmp(&b.container_id));
        Ok(out)
    }

    /// Writes a container's endpoint, without `fsync`: it lives as long as
    /// the container runs.
    pub fn save_endpoint(&self, endpoint: &Endpoint) -> Result<()> {
        check_file_name(&endpoint.container_id)?;
        write_json(
            &self.endpoint_path(&endpoint.container_id),
            endpoint,
            Durability::Volatile,
        )
    }

    /// Removes a container's endpoint (absent is fine).
    pub fn remove_endpoint(&self, id: &str) -> Result<()> {
        check_file_name(id)?;
        remove_file(&self.endpoint_path(id))
    }

    fn before_path(&self) -> PathBuf {
        self.dir.join("host").join("before.json")
    }

    /// What the namespace was like before the first network, if that was
    /// written down ([`crate::host::note_before`]).
    pub fn before(&self) -> Result<Option<Before>> {
        read_json(&self.before_path())
    }

    /// Writes it, durably: the networks it belongs to outlive a reboot.
    pub fn save_before(&self, before: &Before) -> Result<()> {
        write_json(&self.before_path(), before, Durability::Durable)
    }

    /// Forgets it (absent is fine).
    pub fn remove_before(&self) -> Result<()> {
        remove_file(&self.before_path())?;
        // Empty now; a failure only leaves an empty directory.
        let _ = fs::remove_dir(self.dir.join("host"));
        Ok(())
    }
}

/// Names become file names: refuse anything that could escape the directory.
fn check_file_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        bail!("invalid name {name:?}");
    }
    Ok(())
}

/// The `*.json` files directly in `dir` (not hidden ones), sorted.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("read directory {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("read directory {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".json") && !name.starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(!store.exists());
        let locked = store.lock().unwrap();
        assert!(locked.networks().unwrap().is_empty());
        let subnet: Subnet = "192.168.10.1/24".parse().unwrap();
        let record = NetworkRecord {
            name: "testbridge".into(),
            driver: "bridge".into(),
            subnet: subnet.net,
            gateway: subnet.gateway,
            bridge: "testbridge".into(),
            created: "1970-01-01T00:00:00Z".into(),
        };
        locked.save_network(&record).unwrap();
        let mut ipam = locked.ipam(&record).unwrap();
        ipam.allocate("c1").unwrap();
        locked
            .save_ipam("testbridge", &ipam, Durability::Volatile)
            .unwrap();
        let endpoint = Endpoint {
            container_id: "c1".into(),
            network: "testbridge".into(),
            bridge: "testbridge".into(),
            address: "192.168.10.2".parse().unwrap(),
            host_veth: "vethc1".into(),
            ports: vec!["81:81".parse().unwrap()],
            names: vec![],
            hosts_file: None,
        };
        locked.save_endpoint(&endpoint).unwrap();
        assert_eq!(locked.networks().unwrap(), vec![record.clone()]);
        assert_eq!(locked.network("testbridge").unwrap(), Some(record.clone()));
        assert_eq!(locked.ipam(&record).unwrap(), ipam);
        assert_eq!(locked.endpoints().unwrap(), vec![endpoint]);
        assert!(locked.network("../etc").is_err());
        locked.remove_endpoint("c1").unwrap();
        locked.remove_endpoint("c1").unwrap();
        locked.remove_network("testbridge").unwrap();
        assert!(locked.networks().unwrap().is_empty());
        assert_eq!(locked.network("testbridge").unwrap(), None);
        // No temporary files are left behind.
        let left: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 3, "{left:?}");
    }
}
