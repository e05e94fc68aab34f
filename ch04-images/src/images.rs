//! The image store: configurations by id, and the names that point at them.
//!
//! ```text
//! <root>/images/sha256/<hex>.json    an image configuration, stored byte for byte;
//!                                    the image id is sha256 of these bytes
//! <root>/images/repositories.json    {"busybox:latest": "sha256:<image id>", ...}
//! <root>/images/.lock                flock: held by anything that adds or removes
//!                                    images or layers, and by `run` while it picks one
//! ```
//!
//! This module keeps the two files and the lock. The rest of the store lives
//! in modules of its own, each adding to [`ImageStore`]: the configuration's
//! types in [`crate::oci`], names and ids in [`crate::reference`], `import` in
//! [`crate::import`], `rmi` and garbage collection in [`crate::gc`], sizes in
//! [`crate::size`]. Their public items are re-exported here, so
//! `images::ImageConfig`, `images::human_size` and the like name them all.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::fcntl::Flock;
use serde_json::{Value, json};

use ch03_overlayfs::storage::{self, Durability, clock, write_atomic, write_json};

use crate::digest::Digest;
use crate::layers::LayerStore;

pub use crate::gc::Removed;
pub use crate::oci::{ImageConfig, RootFs, RunDefaults, go_arch};
pub use crate::reference::normalize_reference;
pub use crate::size::human_size;

/// A resolved image.
#[derive(Debug, Clone)]
pub struct Image {
    /// sha256 of the configuration bytes.
    pub id: Digest,
    /// The parsed configuration.
    pub config: ImageConfig,
    /// The configuration exactly as stored.
    pub raw: Vec<u8>,
}

impl Image {
    /// The layer directories as overlay lowerdirs: top-most first.
    ///
    /// A layer listed twice (two build steps that made the same change) is
    /// stacked once, at its top-most place: overlayfs refuses a directory
    /// that appears twice, and the lower copy could only show what the
    /// upper copy already shows.
    pub fn lowerdirs(&self, layers: &LayerStore) -> Vec<PathBuf> {
        let mut seen = HashSet::new();
        self.config
            .rootfs
            .diff_ids
            .iter()
            .rev()
            .filter(|d| seen.insert(*d))
            .map(|d| layers.diff_dir(d))
            .collect()
    }

    /// The command a container runs: the image's `Entrypoint` followed by the
    /// user's command, or by the image's `Cmd` if the user gave none.
    pub fn command(&self, user: &[String]) -> Vec<String> {
        let mut cmd = self.config.config.entrypoint.clone().unwrap_or_default();
        if user.is_empty() {
            cmd.extend(self.config.config.cmd.clone().unwrap_or_default());
        } else {
            cmd.extend(user.iter().cloned());
        }
        cmd
    }

    /// [`Image::command`] with `--entrypoint`: the program replaces the
    /// image's Entrypoint, and the image's Cmd (its arguments for the old
    /// entrypoint) goes too, as in Docker; `""` means no entrypoint.
    pub fn command_with(&self, user: &[String], entrypoint: Option<&str>) -> Vec<String> {
        match entrypoint {
            None => self.command(user),
            Some("") => user.to_vec(),
            Some(program) => std::iter::once(program.to_string())
                .chain(user.iter().cloned())
                .collect(),
        }
    }
}

/// The image store under one data root.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
    dir: PathBuf,
    /// The layers the images are made of.
    pub layers: LayerStore,
}

impl ImageStore {
    /// The store of the data root `root` (created on first write).
    pub fn new(root: &Path) -> ImageStore {
        ImageStore {
            root: root.to_path_buf(),
            dir: root.join("images"),
            layers: LayerStore::new(root),
        }
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the store's lock; it is released when the value is dropped.
    pub fn lock(&self) -> Result<Flock<File>> {
        let lock = storage::lock(&self.dir.join(".lock"))?;
        // Every unpack happens under this lock, so whatever is left in the
        // temporary directories now was left by a process that died (killed
        // in the middle of an import, say): remove it.
        for dir in [self.root.join("layers/tmp"), self.root.join("tmp")] {
            if let Ok(entries) = fs::read_dir(&dir) {
                for e in entries.flatten() {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(lock)
    }

    /// The tag index: `name:tag` → image id.
    pub fn repositories(&self) -> Result<BTreeMap<String, Digest>> {
        let p = self.dir.join("repositories.json");
        match fs::read(&p) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).with_context(|| format!("parse {}", p.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e).with_context(|| format!("read {}", p.display())),
        }
    }

    /// Writes the tag index (whole, atomically).
    pub(crate) fn save_repositories(&self, repos: &BTreeMap<String, Digest>) -> Result<()> {
        write_json(
            &self.dir.join("repositories.json"),
            repos,
            Durability::Durable,
        )
    }

    /// Where the configuration of image `id` is stored.
    pub(crate) fn config_path(&self, id: &Digest) -> PathBuf {
        self.dir.join("sha256").join(format!("{}.json", id.hex()))
    }

    /// Every stored image id.
    pub fn ids(&self) -> Result<Vec<Digest>> {
        let dir = self.dir.join("sha256");
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(&dir) else {
            return Ok(out);
        };
        for e in rd {
            let e = e.with_context(|| format!("read {}", dir.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(hex) = name.strip_suffix(".json") {
                if let Ok(d) = Digest::parse(&format!("sha256:{hex}")) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Stores a configuration (if new) and returns the image id. Every layer
    /// it lists must already be stored.
    pub fn add_config(&self, raw: &[u8]) -> Result<(Digest, ImageConfig)> {
        let config: ImageConfig =
            serde_json::from_slice(raw).context("parse the image configuration")?;
        for d in &config.rootfs.diff_ids {
            if !self.layers.exists(d) {
                bail!("image configuration names layer {d}, which is not stored");
            }
        }
        let id = Digest::of(raw);
        let path = self.config_path(&id);
        if !path.exists() {
            write_atomic(&path, raw, Durability::Durable)?;
        }
        Ok((id, config))
    }

    /// Loads the image `id`.
    pub fn get(&self, id: &Digest) -> Result<Image> {
        let path = self.config_path(id);
        let raw = fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        let config =
            serde_json::from_slice(&raw).with_context(|| format!("parse {}", path.display()))?;
        Ok(Image {
            id: id.clone(),
            config,
            raw,
        })
    }

    /// Points `reference` at image `id` (moving the tag if it existed).
    pub fn tag(&self, id: &Digest, reference: &str) -> Result<String> {
        let key = normalize_reference(reference)?;
        let mut repos = self.repositories()?;
        repos.insert(key.clone(), id.clone());
        self.save_repositories(&repos)?;
        Ok(key)
    }

    /// The tags of image `id`.
    pub fn tags_of(&self, id: &Digest) -> Result<Vec<String>> {
        Ok(self
            .repositories()?
            .into_iter()
            .filter(|(_, v)| v == id)
            .map(|(k, _)| k)
            .collect())
    }

    /// Makes a new image from `parent` plus the stored layer `diff_id`, with
    /// `cmd` as its default command, and tags it `name` (`commit`).
    pub fn add_layer_image(
        &self,
        parent: &Image,
        diff_id: &Digest,
        created_by: &str,
        cmd: &[String],
        name: Option<&str>,
    ) -> Result<Digest> {
        let mut config: Value =
            serde_json::from_slice(&parent.raw).context("parse the parent image configuration")?;
        let now = clock::now_rfc3339();
        let obj = config
            .as_object_mut()
            .context("the parent image configuration is not a JSON object")?;
        obj.insert("created".into(), json!(now));
        let rootfs = obj
            .entry("rootfs")
            .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
        match rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
            Some(ids) => ids.push(json!(diff_id.as_str())),
            None => bail!("the parent image configuration has no rootfs.diff_ids"),
        }
        let history = obj.entry("history").or_insert_with(|| json!([]));
        if let Some(h) = history.as_array_mut() {
            h.push(json!({ "created": now, "created_by": created_by }));
        }
        let run = obj.entry("config").or_insert_with(|| json!({}));
        if let Some(run) = run.as_object_mut() {
            if !cmd.is_empty() {
                run.insert("Cmd".into(), json!(cmd));
            }
        }
        let raw = serde_json::to_vec(&config).context("serialize the image configuration")?;
        let (id, _) = self.add_config(&raw)?;
        if let Some(name) = name {
            self.tag(&id, name)?;
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_from_image() {
        let mut img = Image {
            id: Digest::of(b""),
            config: ImageConfig::default(),
            raw: vec![],
        };
        assert!(img.command(&[]).is_empty());
        img.config.config.cmd = Some(vec!["sh".into()]);
        assert_eq!(img.command(&[]), ["sh"]);
        assert_eq!(img.command(&["ls".into()]), ["ls"]);
        img.config.config.entrypoint = Some(vec!["/init".into()]);
        assert_eq!(img.command(&["ls".into()]), ["/init", "ls"]);
    }
}
