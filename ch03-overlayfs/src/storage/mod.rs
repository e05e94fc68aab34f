//! The data root: where mydocker keeps what outlives one command, and the
//! few rules every record under it follows.
//!
//! ```text
//! <root>/images/        chapter 3: unpacked images; chapter 4: the image store
//! <root>/layers/        chapter 4: one directory per layer
//! <root>/containers/    chapter 3: a container's layer; chapter 4: its record
//! <root>/networks/      chapter 5: networks, addresses, endpoints
//! ```
//!
//! Several `mydocker` processes may work on the same root at once (twenty
//! `run`s started together, a `ps` while a supervisor records an exit), and
//! any of them may be killed half-way. So every store follows the same three
//! rules, written once here:
//!
//! - **change under a lock**: read, decide and write while holding an
//!   exclusive `flock(2)` ([`lock`]); the kernel drops it when the process
//!   dies, so a crash never leaves a store locked;
//! - **replace, never edit**: a record is written to a temporary file beside
//!   it and renamed over it ([`write_json`]), so a reader sees the old
//!   record or the new one, never half of one;
//! - **missing is not an error**: a record that does not exist yet reads as
//!   `None` ([`read_json`]), so each store decides what absence means.
//!
//! [`clock`] gives every record the same timestamps.

pub mod clock;

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;
use serde::de::DeserializeOwned;

// ANCHOR: lock
/// Takes an exclusive `flock` on `path`: a directory that exists (chapter
/// 3 locks its images directory itself), or a lock file, created with its
/// directory on first use. Released when the value is dropped, or by the
/// kernel when the process dies. A signal that interrupts the wait (EINTR)
/// only makes us wait again.
pub fn lock(path: &Path) -> Result<Flock<File>> {
    let mut file = if path.is_dir() {
        File::open(path).with_context(|| format!("open {} to lock it", path.display()))?
    } else {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("open {}", path.display()))?
    };
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EINTR)) => file = f,
            Err((_, errno)) => {
                return Err(errno).with_context(|| format!("flock {}", path.display()));
            }
        }
    }
}
// ANCHOR_END: lock

// ANCHOR: durability
/// How much a write promises about a power cut. Either way the file is
/// replaced whole by a `rename`, so a reader (or a process that crashed
/// half-way) only ever sees the old content or the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fsync` before the `rename`: the new content is on the disk before
    /// the name points to it, and survives a power cut. For what must
    /// outlive a reboot: images, layers, networks, the records of a kept
    /// container.
    #[default]
    Durable,
    /// No `fsync`: for records that only describe a live container (its
    /// addresses, or a container run with `--rm`), which a power cut ends
    /// anyway. The write costs no wait for the disk; the kernel writes it
    /// out in its own time.
    Volatile,
}
// ANCHOR_END: durability

// ANCHOR: write_atomic
/// Writes `bytes` to `path` whole or not at all: a temporary file in the
/// same directory (a rename only replaces atomically within one file
/// system), flushed to the disk if `durability` asks, then renamed over
/// `path`. On failure the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    write_atomic_with(path, durability, |w| {
        w.write_all(bytes)
            .with_context(|| format!("write {}", temporary(path).display()))
    })
}

/// [`write_atomic`] for content too big to hold in memory (a tar): `body`
/// writes it into the temporary file (buffering is its own choice). The
/// directory of `path` must exist.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let tmp = temporary(path);
    let written = (|| {
        let mut f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
        body(&mut f)?;
        if durability == Durability::Durable {
            f.sync_all()
                .with_context(|| format!("fsync {}", tmp.display()))?;
        }
        fs::rename(&tmp, path)
            .with_context(|| format!("rename {} to {}", tmp.display(), path.display()))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// The temporary name beside `path` that [`write_atomic_with`] renames.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}
// ANCHOR_END: write_atomic

/// Writes `value` as pretty JSON (a person reads these records) with
/// [`write_atomic`].
pub fn write_json<T: Serialize>(path: &Path, value: &T, durability: Durability) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value)
        .with_context(|| format!("serialize the record for {}", path.display()))?;
    write_atomic(path, &bytes, durability)
}

/// Reads and parses the JSON file `path`; `None` if it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let value =
        serde_json::from_slice(&bytes).with_context(|| format!("parse {}", path.display()))?;
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_durabilities_replace_the_file_whole_and_leave_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub/record.json");
        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), None);
        write_json(&path, &vec![1, 2], Durability::Durable).unwrap();
        write_json(&path, &vec![3], Durability::Volatile).unwrap();
        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), Some(vec![3]));
        let names: Vec<_> = fs::read_dir(tmp.path().join("sub"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["record.json"]);
    }

    #[test]
    fn a_failed_write_removes_its_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        // A directory where the record should be: the rename must fail.
        let path = tmp.path().join("record.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("x"), b"").unwrap();
        let err = write_json(&path, &1, Durability::Durable).unwrap_err();
        assert!(format!("{err:#}").starts_with("rename "), "{err:#}");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["record.json"]);
    }

    #[test]
    fn a_stream_that_fails_half_way_leaves_the_old_file_and_no_temporary_one() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("image.tar");
        fs::write(&path, b"old").unwrap();
        let err = write_atomic_with(&path, Durability::Durable, |w| {
            w.write_all(b"half a ta").unwrap();
            anyhow::bail!("the layer went away")
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the layer went away");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        write_atomic_with(&path, Durability::Volatile, |w| Ok(w.write_all(b"new")?)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_damaged_record_names_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bad.json");
        fs::write(&path, b"{").unwrap();
        let err = read_json::<Vec<i32>>(&path).unwrap_err();
        assert_eq!(format!("{err}"), format!("parse {}", path.display()));
    }

    #[test]
    fn a_lock_is_exclusive_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/.lock");
        let held = lock(&path).unwrap();
        let again = File::open(&path).unwrap();
        assert!(Flock::lock(again, FlockArg::LockExclusiveNonblock).is_err());
        drop(held);
        let again = File::open(&path).unwrap();
        assert!(Flock::lock(again, FlockArg::LockExclusiveNonblock).is_ok());
    }
}
