//! Named volumes: `-v NAME:/data`, and `volume create|ls|rm|inspect`.
//!
//! A named volume is a directory mydocker owns, in Docker's layout:
//!
//! ```text
//! <root>/volumes/NAME/_data         what the container sees at its target
//! <root>/volumes/NAME/volume.json   name, driver "local", mountpoint, created, labels
//! ```
//!
//! It is created the first time a container (or `volume create`) names
//! it, outlives every container, and is reused by the next one: the way to
//! keep a database's files without choosing a host path. When a new, empty
//! volume is first mounted, it is filled with what the image has at the
//! target path (see [`crate::volumes`]), as Docker does.
//!
//! A running container holds a *shared* `flock(2)` on its volume's
//! directory for as long as it runs; `volume rm` needs an *exclusive* one,
//! so it cannot remove a volume under a running container. The kernel drops
//! the lock when the process dies, so a crash never leaves a volume "in
//! use". Containers that are stopped but kept (chapter 4's records) are
//! told by the caller, through the `in_use` closure of [`VolumeStore::remove`].

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::storage::{self, Durability};

/// The only volume driver: a directory on this machine.
pub const LOCAL_DRIVER: &str = "local";

// ANCHOR: validate_name
/// Checks a volume name by Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
/// Like Docker, a single character is refused (the Docker client would
/// take `c:` for a Windows drive).
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || name.len() < 2 {
        bail!(
            "{name:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        );
    }
    Ok(())
}
// ANCHOR_END: validate_name

// ANCHOR: record
/// `volume.json`: what `volume inspect` shows, kept beside the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// The volume's name.
    pub name: String,
    /// Always [`LOCAL_DRIVER`].
    pub driver: String,
    /// The directory bind-mounted into containers: `<root>/volumes/NAME/_data`.
    pub mountpoint: PathBuf,
    /// When it was created (RFC 3339, UTC, to the second as Docker shows it).
    pub created: String,
    /// Labels (`volume create --label` is not there yet: always empty).
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}
// ANCHOR_END: record

impl VolumeRecord {
    /// Docker's `volume inspect` object for this volume.
    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({
            "CreatedAt": self.created,
            "Driver": self.driver,
            "Labels": self.labels,
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": {},
            "Scope": "local",
        })
    }
}

/// A running container's hold on a volume: while it exists, `volume rm`
/// refuses. Dropped by the container's cleanup, or by the kernel.
#[derive(Debug)]
pub struct InUse(#[allow(dead_code)] Flock<File>);

/// The named volumes under one data root.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
}

impl VolumeStore {
    /// The store of data root `root`: `<root>/volumes`.
    pub fn new(root: &Path) -> VolumeStore {
        VolumeStore {
            dir: root.join("volumes"),
        }
    }

    fn dir_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Takes the store's lock: creating and removing happen under it.
    fn lock(&self) -> Result<Flock<File>> {
        storage::lock(&self.dir.join(".lock"))
    }

    /// The volume `name`, if it exists.
    pub fn get(&self, name: &str) -> Result<Option<VolumeRecord>> {
        validate_name(name)?;
        storage::read_json(&self.dir_of(name).join("volume.json"))
    }

    // ANCHOR: create
    /// Creates the volume `name` (a random 64-hex name with `None`), or
    /// returns it if it exists already, as `docker volume create` does.
    /// The second value is true when this call created it.
    pub fn create(&self, name: Option<&str>) -> Result<(VolumeRecord, bool)> {
        let name = match name {
            Some(name) => name.to_string(),
            None => ch01_namespaces::spec::new_id()?,
        };
        validate_name(&name)?;
        let _lock = self.lock()?;
        if let Some(record) = self.get(&name)? {
            return Ok((record, false));
        }
        let dir = self.dir_of(&name);
        let data = dir.join("_data");
        fs::create_dir_all(&data).with_context(|| format!("create {}", data.display()))?;
        set_mode(&data, 0o755)?;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let record = VolumeRecord {
            name,
            driver: LOCAL_DRIVER.to_string(),
            mountpoint: data,
            created: storage::clock::format_rfc3339(secs, 0),
            labels: Default::default(),
        };
        // Written last: a directory without it is a creation that died
        // half-way, finished by the next one.
        storage::write_json(&dir.join("volume.json"), &record, Durability::Durable)?;
        Ok((record, true))
    }
    // ANCHOR_END: create

    /// Every volume, sorted by name.
    pub fn list(&self) -> Result<Vec<VolumeRecord>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("read {}", self.dir.display())),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("read {}", self.dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if validate_name(&name).is_err() {
                continue; // the lock file
            }
            if let Some(record) = self.get(&name)? {
                out.push(record);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    // ANCHOR: use_volume
    /// The volume `name` for a container that is about to start: created
    /// if missing, and held ([`InUse`]) until the container is gone. The
    /// second value is true when this call created it.
    pub fn use_volume(&self, name: &str) -> Result<(VolumeRecord, InUse, bool)> {
        let mut created_now = false;
        for _ in 0..10 {
            let (record, created) = self.create(Some(name))?;
            created_now |= created;
            let dir = self.dir_of(name);
            let file = File::open(&dir).with_context(|| format!("open {}", dir.display()))?;
            let held = lock_shared(file, &dir)?;
            // A `volume rm` may have removed it between the two steps.
            if dir.join("volume.json").exists() {
                return Ok((record, InUse(held), created_now));
            }
        }
        bail!("volume {name}: it keeps being removed while we start")
    }
    // ANCHOR_END: use_volume

    // ANCHOR: remove
    /// Removes the volume `name` and its data, as `docker volume rm`: not
    /// while a container uses it. `in_use` names the kept containers (a
    /// later chapter's records) that mount it; a running one holds the
    /// volume's lock, which is tried as well.
    pub fn remove(&self, name: &str, in_use: &dyn Fn(&str) -> Result<Vec<String>>) -> Result<()> {
        if self.get(name)?.is_none() {
            bail!("no such volume: {name}");
        }
        let users = in_use(name)?;
        if !users.is_empty() {
            bail!("remove {name}: volume is in use - [{}]", users.join(", "));
        }
        let _lock = self.lock()?;
        let dir = self.dir_of(name);
        let file = File::open(&dir).with_context(|| format!("open {}", dir.display()))?;
        let _held = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => held,
            Err((_, Errno::EWOULDBLOCK)) => {
                bail!("remove {name}: volume is in use by a running container")
            }
            Err((_, errno)) => {
                return Err(errno).with_context(|| format!("flock {}", dir.display()));
            }
        };
        // volume.json first: from then on it does not exist for anyone.
        fs::remove_file(dir.join("volume.json"))
            .with_context(|| format!("remove {}", dir.join("volume.json").display()))?;
        fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))
    }
    // ANCHOR_END: remove
}

/// A shared `flock` on the open directory `file`, waiting for a `volume rm`
/// that holds it exclusively.
fn lock_shared(mut file: File, dir: &Path) -> Result<Flock<File>> {
    loop {
        match Flock::lock(file, FlockArg::LockShared) {
            Ok(held) => return Ok(held),
            Err((f, Errno::EINTR)) => file = f,
            Err((_, errno)) => {
                return Err(errno).with_context(|| format!("flock {}", dir.display()));
            }
        }
    }
}

/// Sets the permission bits of `path` exactly (the umask does not apply).
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody(_: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["db", "my-vol", "a.b_c-1", "0x", &"a".repeat(200)] {
            validate_name(good).unwrap();
        }
        for bad in ["", "a", "-x", ".x", "_x", "a/b", "a b", "..", "é1"] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(
                err.contains("includes invalid characters"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn create_is_idempotent_and_lists_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VolumeStore::new(tmp.path());
        let (db, created) = store.create(Some("db")).unwrap();
        assert!(created);
        assert_eq!(db.mountpoint, tmp.path().join("volumes/db/_data"));
        assert!(db.mountpoint.is_dir());
        let (again, created) = store.create(Some("db")).unwrap();
        assert!(!created);
        assert_eq!(again, db);
        let (random, _) = store.create(None).unwrap();
        assert_eq!(random.name.len(), 64);
        let names: Vec<String> = store.list().unwrap().into_iter().map(|v| v.name).collect();
        let mut expected = vec!["db".to_string(), random.name.clone()];
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn remove_refuses_a_volume_in_use_and_a_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VolumeStore::new(tmp.path());
        store.create(Some("db")).unwrap();
        let kept = |_: &str| Ok(vec!["c0ffee".to_string()]);
        let err = store.remove("db", &kept).unwrap_err().to_string();
        assert_eq!(err, "remove db: volume is in use - [c0ffee]");
        let (_, held, created) = store.use_volume("db").unwrap();
        assert!(!created);
        let err = store.remove("db", &nobody).unwrap_err().to_string();
        assert_eq!(err, "remove db: volume is in use by a running container");
        drop(held);
        store.remove("db", &nobody).unwrap();
        assert!(!tmp.path().join("volumes/db").exists());
        let err = store.remove("db", &nobody).unwrap_err().to_string();
        assert_eq!(err, "no such volume: db");
    }

    #[test]
    fn inspect_has_dockers_fields() {
        let record = VolumeRecord {
            name: "db".into(),
            driver: LOCAL_DRIVER.into(),
            mountpoint: "/var/lib/mydocker/volumes/db/_data".into(),
            created: "2026-01-02T03:04:05Z".into(),
            labels: Default::default(),
        };
        insta::assert_snapshot!(crate::cli::docker_json(&[record.inspect()]).unwrap());
    }
}
