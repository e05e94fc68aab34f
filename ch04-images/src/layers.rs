//! The layer store: every layer once, unpacked, addressed by its diff-id.
//!
//! ```text
//! <root>/layers/sha256/<hex>/diff/        the layer's files (an overlay lowerdir)
//! <root>/layers/sha256/<hex>/tar-split    its tar's skeleton (see crate::split)
//! <root>/layers/sha256/<hex>/layer.json   diff-id and tar size
//! <root>/layers/tmp/<random>/             a layer being unpacked
//! ```
//!
//! A layer is unpacked into `tmp/`, and only a complete one is renamed into
//! place, so a reader never sees half a layer and a failed unpack leaves
//! nothing behind. If the same layer arrives twice (two images sharing a
//! base), the second rename finds the directory there and the copy is
//! dropped. Layer directories are never modified after the rename; we do not
//! `chmod` them read-only, because overlayfs only reads lowerdirs anyway and
//! a read-only tree would be harder to remove.

use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use ch03_overlayfs::storage::{Durability, write_json};

use crate::confine::Confined;
use crate::digest::{Digest, HashingReader, HashingWriter};
use crate::split::{self, Recorder};
use crate::unpack::{self, Whiteouts};

/// What we know about a stored layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerInfo {
    /// sha256 of the uncompressed layer tar.
    pub diff_id: Digest,
    /// Length of the uncompressed layer tar, in bytes.
    pub size: u64,
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The layers under one data root.
#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
}

/// A temporary directory removed on drop, unless kept.
pub struct TempDir {
    path: Option<PathBuf>,
}

impl TempDir {
    /// Creates a fresh directory with a random name inside `parent`.
    pub fn new_in(parent: &Path, prefix: &str) -> Result<TempDir> {
        fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        let id = ch01_namespaces::spec::new_id()?;
        let path = parent.join(format!("{prefix}{}", &id[..16]));
        fs::create_dir(&path).with_context(|| format!("create {}", path.display()))?;
        Ok(TempDir { path: Some(path) })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Keeps the directory (it has been renamed away, say).
    pub fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            // remove_dir_all does not follow symlinks inside the tree.
            let _ = fs::remove_dir_all(&p);
        }
    }
}

impl LayerStore {
    /// The layer store of the data root `root`.
    pub fn new(root: &Path) -> LayerStore {
        LayerStore {
            dir: root.join("layers"),
        }
    }

    fn layer_dir(&self, d: &Digest) -> PathBuf {
        self.dir.join("sha256").join(d.hex())
    }

    /// The layer's files: what goes into the overlay's `lowerdir`.
    pub fn diff_dir(&self, d: &Digest) -> PathBuf {
        self.layer_dir(d).join("diff")
    }

    /// True if the layer is stored (complete).
    pub fn exists(&self, d: &Digest) -> bool {
        self.layer_dir(d).join("layer.json").is_file()
    }

    /// The layer's record.
    pub fn info(&self, d: &Digest) -> Result<LayerInfo> {
        let p = self.layer_dir(d).join("layer.json");
        let bytes = fs::read(&p).with_context(|| format!("read {}", p.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parse {}", p.display()))
    }

    /// Every stored layer.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let dir = self.dir.join("sha256");
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(&dir) else {
            return Ok(out);
        };
        for e in rd {
            let e = e.with_context(|| format!("read {}", dir.display()))?;
            if let Ok(d) = Digest::parse(&format!("sha256:{}", e.file_name().to_string_lossy())) {
                out.push(d);
            }
        }
        Ok(out)
    }

    // ANCHOR: ingest
    /// Unpacks the uncompressed layer tar `reader` into the store and returns
    /// its diff-id, and whether it was new. With `expected`, a tar whose
    /// digest differs is refused (and nothing is kept).
    pub fn ingest(&self, reader: impl Read, expected: Option<&Digest>) -> Result<(Digest, bool)> {
        let tmp = TempDir::new_in(&self.dir.join("tmp"), "layer-")?;
        let diff = tmp.path().join("diff");
        fs::create_dir(&diff).with_context(|| format!("create {}", diff.display()))?;
        let split_file = File::create(tmp.path().join("tar-split"))
            .with_context(|| format!("create {}/tar-split", tmp.path().display()))?;

        // file → hash (on its own thread) → tar-split recorder → tar. No
        // buffer in between: file content is read straight into the
        // unpacker's buffer, headers are small reads.
        let hashing = HashingReader::new(reader);
        let (recorder, marker) = Recorder::new(hashing, split_file);
        let mut archive = tar::Archive::new(recorder);
        unpack::unpack(&mut archive, &diff, Whiteouts::Overlay, Some(&marker))?;
        let (diff_id, size) = archive.into_inner().finish()?.finish()?;

        if let Some(want) = expected {
            if *want != diff_id {
                bail!("layer content does not match its digest: expected {want}, got {diff_id}");
            }
        }
        let info = LayerInfo {
            diff_id: diff_id.clone(),
            size,
        };
        write_json(&tmp.path().join("layer.json"), &info, Durability::Durable)?;
        let dest = self.layer_dir(&diff_id);
        fs::create_dir_all(self.dir.join("sha256")).context("create the layer directory")?;
        if self.exists(&diff_id) {
            return Ok((diff_id, false)); // a shared layer: keep the stored copy
        }
        let _ = fs::remove_dir_all(&dest); // an incomplete leftover, if any
        match fs::rename(tmp.path(), &dest) {
            Ok(()) => {
                tmp.keep();
                Ok((diff_id, true))
            }
            // Someone stored the same layer meanwhile.
            Err(_) if self.exists(&diff_id) => Ok((diff_id, false)),
            Err(e) => Err(e).with_context(|| format!("rename the layer into {}", dest.display())),
        }
    }
    // ANCHOR_END: ingest

    /// Writes the layer's original tar to `out`, checking its digest.
    pub fn write_tar(&self, d: &Digest, out: &mut impl Write) -> Result<()> {
        let split_path = self.layer_dir(d).join("tar-split");
        let split =
            File::open(&split_path).with_context(|| format!("open {}", split_path.display()))?;
        let diff = Confined::open(&self.diff_dir(d))?;
        let mut w = HashingWriter::new(out);
        split::replay(split, &diff, &mut w)?;
        let (got, _, _) = w.finish();
        if got != *d {
            bail!("layer {d} changed on disk since it was stored (its tar now hashes to {got})");
        }
        Ok(())
    }

    /// Removes a layer.
    pub fn remove(&self, d: &Digest) -> Result<()> {
        let dir = self.layer_dir(d);
        // Move it aside first, so a half-removed layer never looks complete.
        let trash = self.dir.join("tmp").join(format!("rm-{}", d.hex()));
        fs::create_dir_all(self.dir.join("tmp")).ok();
        match fs::rename(&dir, &trash) {
            Ok(()) => {
                fs::remove_dir_all(&trash).with_context(|| format!("remove {}", trash.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("remove {}", dir.display())),
        }
    }
}

/// Opens a possibly gzip-compressed tar: gzip is recognised by its magic
/// bytes, whatever the file is called.
pub fn open_maybe_gzip(file: impl Read + 'static) -> Result<Box<dyn Read>> {
    let mut r = BufReader::with_capacity(1 << 16, file);
    let head = std::io::BufRead::fill_buf(&mut r).context("read the archive")?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(r)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        bail!("zstd-compressed archives are not supported: decompress with zstd -d first")
    } else {
        Ok(Box::new(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::tests::entry;
    use tar::EntryType;

    fn sample() -> Vec<u8> {
        let mut t = Vec::new();
        entry(&mut t, EntryType::Directory, "./", None, b"");
        entry(&mut t, EntryType::Directory, "./etc/", None, b"");
        entry(&mut t, EntryType::Regular, "./etc/hostname", None, b"box\n");
        entry(
            &mut t,
            EntryType::Regular,
            "./etc/big",
            None,
            &vec![42u8; 70_000],
        );
        entry(
            &mut t,
            EntryType::Symlink,
            "./etc/link",
            Some("hostname"),
            b"",
        );
        entry(
            &mut t,
            EntryType::Link,
            "./etc/hard",
            Some("./etc/hostname"),
            b"",
        );
        // GNU tar pads archives to 10 KiB records: keep odd trailing zeros.
        t.extend_from_slice(&[0u8; 1024 + 512 * 7]);
        t
    }

    #[test]
    fn the_original_tar_comes_back_byte_for_byte() {
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::new(root.path());
        let tar = sample();
        let (d, new) = store.ingest(&tar[..], None).unwrap();
        assert!(new);
        assert_eq!(d, Digest::of(&tar));
        assert_eq!(store.info(&d).unwrap().size, tar.len() as u64);
        assert_eq!(
            std::fs::read(store.diff_dir(&d).join("etc/hostname")).unwrap(),
            b"box\n"
        );
        let mut out = Vec::new();
        store.write_tar(&d, &mut out).unwrap();
        assert!(out == tar, "replayed tar differs");
        // The same layer again is shared, not copied.
        let (d2, new2) = store.ingest(&tar[..], None).unwrap();
        assert_eq!((d2, new2), (d.clone(), false));
        assert_eq!(store.list().unwrap(), vec![d]);
        assert_eq!(
            std::fs::read_dir(root.path().join("layers/tmp"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_tampered_layer_is_noticed_on_save() {
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::new(root.path());
        let (d, _) = store.ingest(&sample()[..], None).unwrap();
        std::fs::write(store.diff_dir(&d).join("etc/hostname"), b"BOX\n").unwrap();
        let err = store.write_tar(&d, &mut Vec::new()).unwrap_err();
        assert!(format!("{err:#}").contains("changed on disk"), "{err:#}");
    }

    #[test]
    fn failed_or_mismatched_ingests_leave_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::new(root.path());
        let wrong = Digest::of(b"something else");
        assert!(store.ingest(&sample()[..], Some(&wrong)).is_err());
        let mut bad = Vec::new();
        entry(&mut bad, EntryType::Regular, "ok", None, b"x");
        entry(&mut bad, EntryType::Regular, "../escape", None, b"x");
        assert!(store.ingest(&bad[..], None).is_err());
        assert!(store.list().unwrap().is_empty());
        assert_eq!(
            std::fs::read_dir(root.path().join("layers/tmp"))
                .unwrap()
                .count(),
            0
        );
    }
}
