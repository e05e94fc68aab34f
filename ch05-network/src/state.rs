//! What chapter 5 keeps on disk, under `<root>/networks/`:
//!
//! ```text
//! <root>/networks/
//!     .lock                     flock(2)ed while anything below changes
//!     <name>.json               one network: subnet, gateway, bridge (NetworkRecord)
//!     ipam/<name>.json          its addresses and their containers (Ipam)
//!     endpoints/<id>.json       one container's attachment: address, veth, ports (Endpoint)
//! ```
//!
//! Every file is JSON, written to a temporary name and renamed over the old
//! one, so a reader never sees half a record. Only a network's own record
//! is flushed to the disk first (`fsync`): the addresses and endpoints
//! describe live containers, which a power cut ends anyway. Several `mydocker` processes may
//! run at once (twenty `run`s started together), so every change happens
//! while holding an exclusive `flock` on `.lock`: read, decide, write, unlock.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
pub use ch04_images::layers::Durability;
use ipnet::Ipv4Net;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
        let path = self.dir.join(".lock");
        let mut file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        let lock = loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(lock) => break lock,
                Err((f, Errno::EINTR)) => file = f,
                Err((_, errno)) => {
                    return Err(errno).with_context(|| format!("flock {}", path.display()));
                }
            }
        };
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
    /// [`Durability::Volatile`]: see [`write_json`].
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
    /// the container runs (see [`write_json`]).
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

/// Reads and parses a JSON file; `None` if it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let value = serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    Ok(Some(value))
}

// ANCHOR: write_json
/// Writes `value` as JSON to a temporary file beside `path` and renames it
/// over `path`: rename(2) replaces the old file in one step, so readers see
/// the old record or the new one, never a mix.
///
/// [`Durability::Durable`] flushes the file to the disk (`fsync`) before the
/// rename, so the new record also survives a power cut: a network must
/// outlive a reboot. The addresses and endpoints of running containers are
/// written [`Durability::Volatile`], without that wait (milliseconds on a
/// busy disk, three times per container): a power cut ends every container
/// anyway, and a journaling file system brings back its records, if at all,
/// together with the container's own, whose removal then releases them.
pub fn write_json<T: Serialize>(path: &Path, value: &T, durability: Durability) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    let mut text = serde_json::to_string_pretty(value).context("serialize a record")?;
    text.push('\n');
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        if durability == Durability::Durable {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("write {}", path.display()))
}
// ANCHOR_END: write_json

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The current time as RFC 3339 in UTC, to the second: `2024-05-01T12:00:00Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 in UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from a day count (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

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
            created: rfc3339(0),
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
