//! `import`: a flat root filesystem tar becomes a one-layer image.
//!
//! A tar that `docker export` wrote (or any tar of a root filesystem) has no
//! configuration and no layers: it is one directory tree. Importing it stores
//! the tree as a layer and writes the smallest configuration that names it,
//! with a history line saying where it came from.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use crate::digest::Digest;
use crate::images::{ImageStore, go_arch, normalize_reference};
use crate::layers::open_maybe_gzip;
use crate::progress::{self, ProgressReader};
use ch03_overlayfs::storage::clock;

impl ImageStore {
    // ANCHOR: import
    /// `import FILE NAME`: a flat root filesystem tar (as `docker export`
    /// writes it, plain or gzip) becomes a one-layer image. The caller holds
    /// [`ImageStore::lock`].
    pub fn import(&self, file: &Path, name: &str) -> Result<Digest> {
        let key = normalize_reference(name)?;
        // "-" is standard input, as for `docker import -`.
        let (input, total): (Box<dyn std::io::Read>, _) = if file == Path::new("-") {
            (Box::new(std::io::stdin()), None)
        } else {
            let f = File::open(file).with_context(|| format!("open {}", file.display()))?;
            let total = f.metadata().ok().map(|m| m.len());
            (Box::new(f), total)
        };
        let bar = progress::bar(&format!("importing {}", file.display()), total);
        let reader = open_maybe_gzip(ProgressReader::new(input, bar.clone()))?;
        let (diff_id, created) = self
            .layers
            .ingest(reader, None)
            .with_context(|| format!("import {}", file.display()))?;
        bar.finish_and_clear();
        let now = clock::now_rfc3339();
        let config = json!({
            "architecture": go_arch(),
            "os": "linux",
            "created": now,
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": [diff_id.as_str()] },
            "history": [{
                "created": now,
                "created_by": format!("mydocker import {}", file.display()),
                "comment": "imported from a root filesystem tar",
            }],
        });
        let raw = serde_json::to_vec(&config).context("serialize the image configuration")?;
        let result = self.add_config(&raw).and_then(|(id, _)| {
            self.tag(&id, &key)?;
            Ok(id)
        });
        if result.is_err() && created {
            let _ = self.layers.remove(&diff_id);
        }
        result
    }
    // ANCHOR_END: import
}
