//! Containers get an id, a name and a record that outlives them.
//!
//! ```text
//! <root>/containers/<id>/config.json   the record (JSON, written atomically)
//! <root>/containers/<id>/upper/        the writable layer (kept for commit)
//! <root>/containers/<id>/work/         overlayfs' scratch directory
//! <root>/containers/<id>/merged/       where the overlay is mounted
//! <root>/containers/names.json         {"name": "id"}
//! <root>/containers/.lock              flock around every change of names
//! ```
//!
//! Names are unique. Two `run --name web` started at the same moment both
//! read `names.json`, both see no `web`, both write it: the classic race. The
//! file lock makes "check, then write" one step.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::fcntl::Flock;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use ch02_cgroups::limits::Resources;
use ch03_overlayfs::storage::{self, Durability, read_json, write_json};
use ch03_overlayfs::volumes::Volume;

use crate::digest::Digest;
pub use crate::names::{generate_name, validate_name};
pub use crate::process::{ProcessRef, is_zombie, process_start};

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Recorded, not started yet (or failed to start).
    Created,
    /// Its process runs.
    Running,
    /// Its process has ended.
    Exited,
    /// Its process has ended and it waits to be started again: chapter 6's
    /// supervisor sets this between the runs of a container with a restart
    /// policy, while it waits out the back-off (Docker's `Restarting`).
    Restarting,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
            Status::Restarting => "restarting",
        })
    }
}

// ANCHOR: record
/// Everything mydocker remembers about one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// 64 hex digits.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// The image's id.
    pub image_id: Digest,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// When the record was made (RFC 3339).
    pub created: String,
    /// Where it is in its life.
    pub status: Status,
    /// The host pid of its first process, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// That process's start time (in clock ticks since boot), so a recycled
    /// pid is not mistaken for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    /// The process that reaps it and writes down how it ended (`mydocker
    /// run` in the foreground, the supervisor of a detached one): `rm`
    /// lets it finish before it removes the record under its feet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<ProcessRef>,
    /// Its exit code, once it has exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// True once a user stopped it (chapter 6's `stop`, or `rm -f`), until
    /// a user starts it again: a restart policy does not bring it back
    /// (Docker's `HasBeenManuallyStopped`). Kept out of the parts, which a
    /// start writes whole, so a restart cannot undo a stop it raced with.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manually_stopped: bool,
    /// True if the kernel's OOM killer struck inside its cgroup during the
    /// last run (Docker's `State.OOMKilled`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oom_killed: bool,
    /// When it started and finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Its limits and cgroup parent (chapter 2), as parsed from the
    /// command line: a `start` builds the same cgroup again from them.
    #[serde(default)]
    pub resources: Resources,
    /// Its volumes (chapter 3).
    #[serde(default)]
    pub mounts: Vec<Volume>,
    /// What later chapters add (chapter 5's network, chapter 6's
    /// environment), each under its own key: one record, one file.
    #[serde(flatten)]
    pub parts: BTreeMap<String, serde_json::Value>,
}
// ANCHOR_END: record

// ANCHOR: part
/// A later chapter's part of the [`Record`], kept in the same
/// `config.json` under the key [`Part::KEY`]. Chapter 4 stores it without
/// knowing its type; the chapter that owns it reads it back typed.
pub trait Part: Serialize + DeserializeOwned {
    /// Its key in `config.json`.
    const KEY: &'static str;
}
// ANCHOR_END: part

impl Record {
    /// The status, corrected for a process that died without us noticing
    /// (mydocker itself was killed, say), and for a container waiting to
    /// restart whose supervisor is gone: nobody will restart it.
    pub fn effective_status(&self) -> Status {
        match self.status {
            Status::Running if !self.is_alive() => Status::Exited,
            Status::Restarting if !self.is_restarting() => Status::Exited,
            status => status,
        }
    }

    /// True if the record says the container waits to be restarted and the
    /// supervisor that will do it is still there.
    pub fn is_restarting(&self) -> bool {
        self.status == Status::Restarting && self.supervisor.is_some_and(|s| s.is_alive())
    }

    /// The container's first process, if the record names one that still
    /// runs: the same pid *and* start time, so a recycled pid is not taken
    /// for the container.
    pub fn live_process(&self) -> Option<ProcessRef> {
        let process = ProcessRef {
            pid: self.pid.filter(|pid| *pid > 0)?,
            start: self.pid_start?,
        };
        process.is_alive().then_some(process)
    }

    /// True if the recorded process is still the one we started, and has
    /// not exited.
    pub fn is_alive(&self) -> bool {
        self.live_process().is_some()
    }

    /// The part `P`, if a chapter that knows it wrote one (a container
    /// made by an earlier chapter's binary has none).
    pub fn part<P: Part>(&self) -> Result<Option<P>> {
        self.parts
            .get(P::KEY)
            .map(|value| {
                serde_json::from_value(value.clone()).with_context(|| {
                    format!("read the {:?} part of container {}", P::KEY, self.name)
                })
            })
            .transpose()
    }

    /// Sets the part `P` (written with the record).
    pub fn set_part<P: Part>(&mut self, part: &P) -> Result<()> {
        let value = serde_json::to_value(part)
            .with_context(|| format!("encode the {:?} part of container {}", P::KEY, self.name))?;
        self.parts.insert(P::KEY.to_string(), value);
        Ok(())
    }

    /// The id as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

/// What [`ContainerStore::find`] says when nothing has that name or id:
/// a type of its own, so that `rm -f` can take it for "nothing to do", as
/// Docker does.
#[derive(Debug)]
pub struct NoSuchContainer(pub String);

impl std::fmt::Display for NoSuchContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no such container: {}", self.0)
    }
}

impl std::error::Error for NoSuchContainer {}

/// The containers under one data root.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    dir: PathBuf,
    durability: Durability,
}

impl ContainerStore {
    /// The container store of the data root `root`.
    pub fn new(root: &Path) -> ContainerStore {
        ContainerStore {
            dir: root.join("containers"),
            durability: Durability::Durable,
        }
    }

    /// The same store, for a container that is removed when it exits
    /// (`--rm`): its record, and its changes to `names.json`, are written
    /// without `fsync`. They only describe a live container, which a power
    /// cut ends anyway; the rename still makes every write all or nothing.
    pub fn volatile(self) -> ContainerStore {
        ContainerStore {
            durability: Durability::Volatile,
            ..self
        }
    }

    /// Writes `names.json` (under the lock), as durably as this store writes.
    fn write_names(&self, names: &BTreeMap<String, String>) -> Result<()> {
        write_json(&self.dir.join("names.json"), names, self.durability)
    }

    /// The data root this store lies in (`<root>` of `<root>/containers`).
    pub fn data_root(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// The directory of container `id` (its record, upper, work, merged).
    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Takes the names lock; released when dropped.
    pub fn lock(&self) -> Result<Flock<File>> {
        storage::lock(&self.dir.join(".lock"))
    }

    fn names(&self) -> Result<BTreeMap<String, String>> {
        Ok(read_json(&self.dir.join("names.json"))?.unwrap_or_default())
    }

    // ANCHOR: create
    /// Reserves `name` for container `id`, under the lock. Fails with
    /// Docker's conflict message if another container has it.
    pub fn reserve(&self, name: &str, id: &str) -> Result<()> {
        validate_name(name)?;
        let _lock = self.lock()?;
        let mut names = self.names()?;
        if let Some(owner) = names.get(name) {
            bail!(
                "conflict: the container name {name:?} is already in use by container {owner}; remove (or rename) that container to reuse the name"
            );
        }
        names.insert(name.to_string(), id.to_string());
        self.write_names(&names)
    }
    // ANCHOR_END: create

    /// `rename`: gives container `id` the name `new` instead of its own,
    /// under the lock, in `names.json` and in its record. Fails as
    /// [`ContainerStore::reserve`] does if `new` is taken.
    pub fn rename(&self, id: &str, new: &str) -> Result<Record> {
        validate_name(new)?;
        let _lock = self.lock()?;
        let mut names = self.names()?;
        if let Some(owner) = names.get(new) {
            bail!(
                "conflict: the container name {new:?} is already in use by container {owner}; remove (or rename) that container to reuse the name"
            );
        }
        let mut record = self.get_by_id(id)?;
        names.retain(|_, owner| owner != id);
        names.insert(new.to_string(), id.to_string());
        record.name = new.to_string();
        // The record first: a crash in between leaves the old name free
        // in names.json, never two containers with one name.
        self.write(&record)?;
        self.write_names(&names)?;
        Ok(record)
    }

    /// Reserves a generated name: `base` if it is free, else `base2`,
    /// `base3`, ... (Docker does the same when two generated names meet).
    /// Returns the name reserved.
    pub fn reserve_generated(&self, base: &str, id: &str) -> Result<String> {
        let _lock = self.lock()?;
        let mut names = self.names()?;
        let name = std::iter::once(base.to_string())
            .chain((2..).map(|n| format!("{base}{n}")))
            .find(|candidate| !names.contains_key(candidate))
            .expect("an unbounded sequence has a free name");
        names.insert(name.clone(), id.to_string());
        self.write_names(&names)?;
        Ok(name)
    }

    /// Gives a reserved name back (a container that never started).
    pub fn release(&self, name: &str, id: &str) -> Result<()> {
        let _lock = self.lock()?;
        let mut names = self.names()?;
        if names.get(name).map(String::as_str) == Some(id) {
            names.remove(name);
            self.write_names(&names)?;
        }
        Ok(())
    }

    /// Writes a record (atomically) into its container's directory, which
    /// must exist.
    pub fn write(&self, record: &Record) -> Result<()> {
        let path = self.dir_of(&record.id).join("config.json");
        write_json(&path, record, self.durability)
    }

    /// Reserves the name, creates the directory and writes the record: a
    /// container recorded without being run (tests, and `create` later).
    pub fn create(&self, record: &Record) -> Result<()> {
        self.reserve(&record.name, &record.id)?;
        let dir = self.dir_of(&record.id);
        let made = fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()));
        if let Err(e) = made.and_then(|()| self.write(record)) {
            let _ = self.release(&record.name, &record.id);
            return Err(e);
        }
        Ok(())
    }

    /// Reads the record of container `id`.
    pub fn get_by_id(&self, id: &str) -> Result<Record> {
        let p = self.dir_of(id).join("config.json");
        read_json(&p)?.with_context(|| format!("read {}: no such file", p.display()))
    }

    /// Finds a container by full id, name, or unique id prefix (Docker's
    /// order). A full id is read directly: one file, however many
    /// containers there are.
    pub fn find(&self, name_or_id: &str) -> Result<Record> {
        let hex = !name_or_id.is_empty() && name_or_id.chars().all(|c| c.is_ascii_hexdigit());
        if hex && name_or_id.len() == 64 {
            if let Some(record) = read_json(&self.dir_of(name_or_id).join("config.json"))? {
                return Ok(record);
            }
        }
        if let Some(id) = self.names()?.get(name_or_id) {
            return self.get_by_id(id);
        }
        // A prefix is shorter than an id: a full id was looked up above.
        if hex && name_or_id.len() < 64 {
            let hits: Vec<Record> = self
                .list()?
                .into_iter()
                .filter(|r| r.id.starts_with(name_or_id))
                .collect();
            match hits.len() {
                1 => return Ok(hits.into_iter().next().expect("one hit")),
                0 => {}
                _ => bail!("container id prefix {name_or_id} is ambiguous"),
            }
        }
        Err(NoSuchContainer(name_or_id.to_string()).into())
    }

    /// Every container's record.
    pub fn list(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            // ".rm-<id>" is a container being removed (or whose removal
            // was interrupted): no longer a container.
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if e.path().join("config.json").is_file() {
                if let Ok(r) = self.get_by_id(&e.file_name().to_string_lossy()) {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// Changes a record (read, modify, write atomically, under the lock).
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Record)) -> Result<Record> {
        let _lock = self.lock()?;
        let mut r = self.get_by_id(id)?;
        change(&mut r);
        self.write(&r)?;
        Ok(r)
    }

    /// Image id → names of the containers that use it.
    pub fn images_in_use(&self) -> Result<BTreeMap<Digest, Vec<String>>> {
        let mut used: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
        for r in self.list()? {
            used.entry(r.image_id.clone())
                .or_default()
                .push(r.name.clone());
        }
        Ok(used)
    }

    // ANCHOR: rm
    /// Deletes the record, writable layer and logs of container `id`, and
    /// gives its name back. Only the store's part of `rm`: the container
    /// must be dead and released ([`crate::remove::Removal`] sees to it).
    pub fn delete(&self, id: &str) -> Result<Record> {
        let r = self.get_by_id(id)?;
        let _lock = self.lock()?;
        let dir = self.dir_of(&r.id);
        // Move aside first, so a crash never leaves half a record.
        let trash = self.dir.join(format!(".rm-{}", r.id));
        match fs::rename(&dir, &trash) {
            Ok(()) => {
                fs::remove_dir_all(&trash).with_context(|| format!("remove {}", trash.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("remove {}", dir.display())),
        }
        let mut names = self.names()?;
        if names.get(&r.name) == Some(&r.id) {
            names.remove(&r.name);
            self.write_names(&names)?;
        }
        Ok(r)
    }
    // ANCHOR_END: rm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, name: &str) -> Record {
        Record {
            id: id.to_string(),
            name: name.to_string(),
            image: "busybox".into(),
            image_id: Digest::of(b"x"),
            command: vec!["sh".into()],
            created: ch03_overlayfs::storage::clock::now_rfc3339(),
            status: Status::Created,
            pid: None,
            pid_start: None,
            supervisor: None,
            exit_code: None,
            manually_stopped: false,
            oom_killed: false,
            started: None,
            finished: None,
            resources: Resources::default(),
            mounts: vec![],
            parts: BTreeMap::new(),
        }
    }

    #[test]
    fn unique_names_and_records() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(tmp.path());
        let a = record(&"a".repeat(64), "web");
        store.create(&a).unwrap();
        let err = store.create(&record(&"b".repeat(64), "web")).unwrap_err();
        assert!(format!("{err:#}").contains("already in use"), "{err:#}");
        assert_eq!(store.find("web").unwrap(), a);
        assert_eq!(store.find("aaaa").unwrap(), a);
        store.update(&a.id, |r| r.status = Status::Exited).unwrap();
        assert_eq!(store.find("web").unwrap().status, Status::Exited);
        store.delete(&a.id).unwrap();
        assert!(store.find("web").is_err());
        store.create(&record(&"b".repeat(64), "web")).unwrap();
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Later {
        answer: u32,
    }

    impl Part for Later {
        const KEY: &'static str = "later";
    }

    #[test]
    fn a_later_chapters_part_is_kept_in_the_same_file_and_read_back_typed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(tmp.path());
        let mut r = record(&"a".repeat(64), "web");
        assert_eq!(r.part::<Later>().unwrap(), None);
        r.set_part(&Later { answer: 42 }).unwrap();
        store.create(&r).unwrap();
        // A chapter that does not know the part keeps it through an update.
        store.update(&r.id, |r| r.status = Status::Exited).unwrap();
        let back = store.find("web").unwrap();
        assert_eq!(back.part::<Later>().unwrap(), Some(Later { answer: 42 }));
        let file = fs::read_to_string(store.dir_of(&r.id).join("config.json")).unwrap();
        assert!(file.contains("\"later\": {"), "{file}");
        assert_eq!(fs::read_dir(store.dir_of(&r.id)).unwrap().count(), 1);
    }

    #[test]
    fn a_volatile_store_keeps_the_same_records_and_names() {
        let tmp = tempfile::tempdir().unwrap();
        let durable = ContainerStore::new(tmp.path());
        let volatile = ContainerStore::new(tmp.path()).volatile();
        let kept = record(&"a".repeat(64), "kept");
        durable.create(&kept).unwrap();
        let gone = record(&"b".repeat(64), "gone");
        volatile.create(&gone).unwrap();
        // One index and one kind of record, whoever wrote them.
        assert!(durable.create(&record(&"c".repeat(64), "gone")).is_err());
        assert_eq!(durable.find("gone").unwrap(), gone);
        volatile
            .update(&gone.id, |r| r.status = Status::Running)
            .unwrap();
        assert_eq!(durable.find("gone").unwrap().status, Status::Running);
        volatile.delete(&gone.id).unwrap();
        assert_eq!(durable.find("kept").unwrap(), kept);
        assert!(durable.find("gone").is_err());
        // No temporary file is left beside the records.
        let stray: Vec<_> = fs::read_dir(tmp.path().join("containers"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }

    #[test]
    fn find_reads_a_full_id_directly_and_scans_only_for_a_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(tmp.path());
        let a = record(&format!("ab{}", "0".repeat(62)), "first");
        let b = record(&format!("ac{}", "0".repeat(62)), "second");
        store.create(&a).unwrap();
        store.create(&b).unwrap();
        // A full id needs no index: found even with names.json gone.
        fs::remove_file(tmp.path().join("containers/names.json")).unwrap();
        assert_eq!(store.find(&a.id).unwrap(), a);
        assert_eq!(store.find("ab").unwrap(), a);
        let err = store.find("a").unwrap_err();
        assert!(format!("{err:#}").contains("ambiguous"), "{err:#}");
        let err = store.find(&"f".repeat(64)).unwrap_err();
        assert!(format!("{err:#}").contains("no such container"), "{err:#}");
    }

    #[test]
    fn a_taken_generated_name_gets_a_number() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(tmp.path());
        let names: Vec<String> = (0..3)
            .map(|i| {
                store
                    .reserve_generated("calm_curie", &format!("{i:064}"))
                    .unwrap()
            })
            .collect();
        assert_eq!(names, ["calm_curie", "calm_curie2", "calm_curie3"]);
        // A name the user chose still conflicts.
        assert!(store.reserve("calm_curie", &format!("{:064}", 9)).is_err());
    }

    #[test]
    fn concurrent_creates_pick_one_winner() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let root = root.clone();
                std::thread::spawn(move || {
                    ContainerStore::new(&root)
                        .create(&record(&format!("{i:064}"), "same"))
                        .is_ok()
                })
            })
            .collect();
        let wins = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(wins, 1);
    }
}
