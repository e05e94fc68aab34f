//! `rmi` and garbage collection: what goes when a tag goes.
//!
//! Images share layers, and a container's overlay stacks its image's layers,
//! so nothing is deleted because one name went away. A tag is removed; then
//! an image that has no tag left and no container is deleted, and then every
//! layer that no remaining image lists. The output is Docker's: one
//! `Untagged: …` line per tag, one `Deleted: …` line per image or layer.

use std::collections::{BTreeMap, HashSet};
use std::fs;

use anyhow::{Context, Result, bail};

use crate::digest::Digest;
use crate::images::{ImageStore, normalize_reference};

/// What `rmi` did, in Docker's words (`Untagged: …`, `Deleted: …`).
pub type Removed = Vec<String>;

impl ImageStore {
    // ANCHOR: rmi
    /// `rmi NAME`: removes a tag; when the image has no tag left and no
    /// container uses it, removes the image and every layer no other image
    /// needs. An image a container uses is refused unless `force` (then only
    /// the tag goes, as in Docker). The caller holds [`ImageStore::lock`].
    pub fn remove(
        &self,
        reference: &str,
        force: bool,
        used: &BTreeMap<Digest, Vec<String>>,
    ) -> Result<Removed> {
        let image = self
            .resolve(reference)?
            .with_context(|| format!("no such image: {reference}"))?;
        let mut repos = self.repositories()?;
        let by_name = normalize_reference(reference)
            .ok()
            .filter(|k| repos.contains_key(k));
        let tags: Vec<String> = repos
            .iter()
            .filter(|(_, v)| **v == image.id)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        // Another tag keeps the image alive: just untag.
        if let Some(key) = &by_name {
            if tags.len() > 1 {
                repos.remove(key);
                self.save_repositories(&repos)?;
                return Ok(vec![format!("Untagged: {key}")]);
            }
        }
        // By id, an image with several names is refused: which did you mean?
        if by_name.is_none() && tags.len() > 1 && !force {
            bail!(
                "conflict: unable to remove image {reference} (must force): it is referenced by {}",
                tags.join(", ")
            );
        }
        if let Some(users) = used.get(&image.id) {
            if !force {
                bail!(
                    "conflict: unable to remove image {reference} (must force): container {} is using it",
                    users.join(", ")
                );
            }
        }
        for t in &tags {
            repos.remove(t);
            out.push(format!("Untagged: {t}"));
        }
        self.save_repositories(&repos)?;
        out.extend(self.collect_garbage(used)?);
        Ok(out)
    }
    // ANCHOR_END: rmi

    /// Removes images that have no tag and no container, then layers no
    /// image lists. Returns Docker-style `Deleted: …` lines.
    pub fn collect_garbage(&self, used: &BTreeMap<Digest, Vec<String>>) -> Result<Removed> {
        let repos = self.repositories()?;
        let tagged: HashSet<&Digest> = repos.values().collect();
        let mut out = Vec::new();
        let mut keep_layers = HashSet::new();
        for id in self.ids()? {
            if tagged.contains(&id) || used.contains_key(&id) {
                if let Ok(img) = self.get(&id) {
                    keep_layers.extend(img.config.rootfs.diff_ids);
                }
                continue;
            }
            let p = self.config_path(&id);
            fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
            out.push(format!("Deleted: {id}"));
        }
        for layer in self.layers.list()? {
            if !keep_layers.contains(&layer) {
                self.layers.remove(&layer)?;
                out.push(format!("Deleted: {layer}"));
            }
        }
        Ok(out)
    }
}
