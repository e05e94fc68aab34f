//! `load` and `save`: images as files other tools read and write.
//!
//! Two layouts are in use, and Docker 25+ writes both into one tar:
//!
//! ```text
//! manifest.json          Docker's: [{"Config": PATH, "RepoTags": [...], "Layers": [PATH...]}]
//! <id>/layer.tar         (older Docker: one directory per layer)
//! oci-layout             OCI image layout: {"imageLayoutVersion": "1.0.0"}
//! index.json             OCI: manifest descriptors, with the name in annotations
//! blobs/sha256/<hex>     OCI: every config, manifest and layer, named by digest
//! ```
//!
//! `load` reads either (and an OCI layout directory, as `skopeo copy` writes
//! it). The archive is first unpacked, confined, into a temporary directory
//! inside the store, because `manifest.json` may come after the layers in
//! the tar. Each layer is unpacked into the layer store and checked against
//! the `diff_ids` of its configuration. Nothing is tagged until every layer of
//! every image is in; on any error, the layers and configurations this load
//! added are removed again.
//!
//! `save` writes both layouts at once, as Docker 25 does, with the layers
//! uncompressed: their digests are then their diff-ids.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::confine::{Confined, components};
use crate::digest::Digest;
use crate::images::{ImageConfig, ImageStore, go_arch, normalize_reference};
use crate::layers::{TempDir, open_maybe_gzip};
use crate::progress::{self, ProgressReader};
use crate::unpack::{self, Whiteouts};

/// One image a `load` brought in.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The image id.
    pub id: Digest,
    /// Its tags (`name:tag`), possibly none.
    pub tags: Vec<String>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize, Clone)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize, Clone)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// An image found in the archive, before it is committed to the store.
struct Pending {
    raw: Vec<u8>,
    tags: Vec<String>,
}

/// Undo information: what this load added to the store.
#[derive(Default)]
struct Added {
    layers: Vec<Digest>,
}

// ANCHOR: load
/// `load -i PATH`: a `docker save` tar (plain or gzip), or an OCI image
/// layout directory. The caller holds [`ImageStore::lock`].
pub fn load(store: &ImageStore, path: &Path) -> Result<Vec<Loaded>> {
    let meta = std::fs::metadata(path).with_context(|| format!("open {}", path.display()))?;
    if meta.is_dir() {
        return load_with_undo(store, |added| {
            read_layout(store, &Confined::open(path)?, added)
        });
    }
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let bar = progress::bar(&format!("loading {}", path.display()), Some(meta.len()));
    let result = load_stream(
        store,
        ProgressReader::new(f, bar.clone()),
        &path.display().to_string(),
    );
    bar.finish_and_clear();
    result
}

/// `load` from a stream (standard input, say): the archive is unpacked,
/// confined, into a temporary directory of the store, then read from there.
pub fn load_stream(
    store: &ImageStore,
    reader: impl Read + 'static,
    what: &str,
) -> Result<Vec<Loaded>> {
    let tmp = TempDir::new_in(&store.root().join("tmp"), "load-")?;
    let mut archive = tar::Archive::new(open_maybe_gzip(reader)?);
    unpack::unpack(&mut archive, tmp.path(), Whiteouts::Keep, None)
        .with_context(|| format!("unpack {what}"))?;
    load_with_undo(store, |added| {
        read_layout(store, &Confined::open(tmp.path())?, added)
    })
}

/// Runs `read` (which stores layers), then tags the images it found. On any
/// error, the layers this load added are removed again: nothing was tagged.
fn load_with_undo(
    store: &ImageStore,
    read: impl FnOnce(&mut Added) -> Result<Vec<Pending>>,
) -> Result<Vec<Loaded>> {
    let mut added = Added::default();
    let result = read(&mut added).and_then(|pending| {
        if pending.is_empty() {
            bail!("the archive holds no image");
        }
        let mut out = Vec::new();
        for p in pending {
            let (id, _) = store.add_config(&p.raw)?;
            let mut tags = Vec::new();
            for t in &p.tags {
                tags.push(store.tag(&id, t)?);
            }
            out.push(Loaded { id, tags });
        }
        Ok(out)
    });
    if result.is_err() {
        for d in &added.layers {
            let _ = store.layers.remove(d);
        }
    }
    result
}
// ANCHOR_END: load

fn read_layout(store: &ImageStore, dir: &Confined, added: &mut Added) -> Result<Vec<Pending>> {
    if let Ok(f) = dir.open_file(&components(b"manifest.json")?) {
        let manifest: Vec<ManifestEntry> =
            serde_json::from_reader(f).context("parse manifest.json")?;
        let mut out = Vec::new();
        for m in manifest {
            let raw = read_all(dir, m.config.as_bytes())?;
            let config = parse_config(&raw)?;
            if config.rootfs.diff_ids.len() != m.layers.len() {
                bail!(
                    "manifest.json lists {} layers, the configuration {}",
                    m.layers.len(),
                    config.rootfs.diff_ids.len()
                );
            }
            for (layer, diff_id) in m.layers.iter().zip(&config.rootfs.diff_ids) {
                ingest(store, dir, layer.as_bytes(), diff_id, added)?;
            }
            let mut tags = Vec::new();
            for t in m.repo_tags.unwrap_or_default() {
                tags.push(normalize_reference(&t)?);
            }
            out.push(Pending { raw, tags });
        }
        return Ok(out);
    }
    let index: Index = match dir.open_file(&components(b"index.json")?) {
        Ok(f) => serde_json::from_reader(f).context("parse index.json")?,
        Err(_) => bail!("not an image archive: it has neither manifest.json nor index.json"),
    };
    let mut out = Vec::new();
    for desc in index.manifests {
        let tag = oci_name(&desc.annotations);
        let manifest = pick_manifest(dir, desc)?;
        let raw = read_blob(dir, &manifest.config.digest)?;
        let config = parse_config(&raw)?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            bail!(
                "the manifest lists {} layers, the configuration {}",
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            );
        }
        for (layer, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            if layer.media_type.contains("zstd") {
                bail!(
                    "layer {} is zstd-compressed, which is not supported",
                    layer.digest
                );
            }
            let d = Digest::parse(&layer.digest)?;
            ingest(
                store,
                dir,
                format!("blobs/sha256/{}", d.hex()).as_bytes(),
                diff_id,
                added,
            )?;
        }
        out.push(Pending {
            raw,
            tags: tag.into_iter().collect(),
        });
    }
    Ok(out)
}

/// The image name an OCI descriptor carries, if any: containerd's full name,
/// or an OCI `ref.name` that is a whole `name:tag` (a bare tag names nothing).
fn oci_name(annotations: &BTreeMap<String, String>) -> Option<String> {
    if let Some(n) = annotations.get("io.containerd.image.name") {
        return normalize_reference(n).ok();
    }
    let r = annotations.get("org.opencontainers.image.ref.name")?;
    if r.contains(':') || r.contains('/') {
        normalize_reference(r).ok()
    } else {
        None
    }
}

/// Follows nested indexes (multi-platform images) down to one manifest for
/// this machine's platform.
fn pick_manifest(dir: &Confined, desc: Descriptor) -> Result<OciManifest> {
    let mut desc = desc;
    for _ in 0..4 {
        let raw = read_blob(dir, &desc.digest)?;
        let v: Value = serde_json::from_slice(&raw).context("parse a manifest")?;
        let is_index = desc.media_type.contains("index")
            || desc.media_type.contains("manifest.list")
            || v.get("manifests").is_some();
        if !is_index {
            return serde_json::from_value(v).context("parse an image manifest");
        }
        let idx: Index = serde_json::from_value(v).context("parse an image index")?;
        let wanted = |d: &&Descriptor| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == go_arch())
        };
        desc = idx
            .manifests
            .iter()
            .find(wanted)
            .or(idx.manifests.first())
            .cloned()
            .context("an image index with no manifests")?;
    }
    bail!("image indexes nested too deeply")
}

fn parse_config(raw: &[u8]) -> Result<ImageConfig> {
    serde_json::from_slice(raw).context("parse the image configuration")
}

fn read_all(dir: &Confined, path: &[u8]) -> Result<Vec<u8>> {
    let mut f = dir.open_file_following(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)
        .with_context(|| format!("read {}", String::from_utf8_lossy(path)))?;
    Ok(v)
}

/// Reads a small blob (a manifest or a configuration) and checks its digest.
fn read_blob(dir: &Confined, digest: &str) -> Result<Vec<u8>> {
    let d = Digest::parse(digest)?;
    let raw = read_all(dir, format!("blobs/sha256/{}", d.hex()).as_bytes())?;
    if Digest::of(&raw) != d {
        bail!("blob {d} does not match its digest");
    }
    Ok(raw)
}

fn ingest(
    store: &ImageStore,
    dir: &Confined,
    path: &[u8],
    diff_id: &Digest,
    added: &mut Added,
) -> Result<()> {
    if store.layers.exists(diff_id) {
        return Ok(());
    }
    let f = dir.open_file_following(path)?;
    let total = f.metadata().ok().map(|m| m.len());
    let bar = progress::bar(&format!("layer {}", diff_id.short()), total);
    let reader = open_maybe_gzip(ProgressReader::new(f, bar.clone()))?;
    let (d, created) = store
        .layers
        .ingest(reader, Some(diff_id))
        .with_context(|| format!("load layer {}", String::from_utf8_lossy(path)))?;
    bar.finish_and_clear();
    if created {
        added.layers.push(d);
    }
    Ok(())
}

// ANCHOR: save
/// `save IMAGE... -o FILE`: writes the images as Docker 25 does: an OCI
/// image layout plus Docker's `manifest.json`, layers uncompressed.
pub fn save(store: &ImageStore, references: &[String], out: impl Write) -> Result<()> {
    let mut tar = TarOut { w: out };
    let mut written: HashSet<Digest> = HashSet::new();
    let mut docker_manifest = Vec::new();
    let mut index = Vec::new();
    tar.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    for r in references {
        let image = store
            .resolve(r)?
            .with_context(|| format!("no such image: {r}"))?;
        // A name saves that tag; an id saves the image untagged.
        let tags: Vec<String> = match normalize_reference(r) {
            Ok(k) if store.repositories()?.contains_key(&k) => vec![k],
            _ => Vec::new(),
        };
        let mut layer_descs = Vec::new();
        let mut layer_paths = Vec::new();
        for d in &image.config.rootfs.diff_ids {
            let info = store.layers.info(d)?;
            if written.insert(d.clone()) {
                tar.header(&format!("blobs/sha256/{}", d.hex()), info.size)?;
                store.layers.write_tar(d, &mut tar.w)?;
                tar.pad(info.size)?;
            }
            layer_descs.push(json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": d.as_str(),
                "size": info.size,
            }));
            layer_paths.push(format!("blobs/sha256/{}", d.hex()));
        }
        if written.insert(image.id.clone()) {
            tar.file(&format!("blobs/sha256/{}", image.id.hex()), &image.raw)?;
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": image.id.as_str(),
                "size": image.raw.len(),
            },
            "layers": layer_descs,
        }))?;
        let mdigest = Digest::of(&manifest);
        if written.insert(mdigest.clone()) {
            tar.file(&format!("blobs/sha256/{}", mdigest.hex()), &manifest)?;
        }
        let descriptor = |annotations: Value| {
            json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": mdigest.as_str(),
                "size": manifest.len(),
                "annotations": annotations,
            })
        };
        if tags.is_empty() {
            index.push(descriptor(json!({})));
        }
        for t in &tags {
            let (name, tag) = t.rsplit_once(':').unwrap_or((t, "latest"));
            index.push(descriptor(json!({
                "io.containerd.image.name": full_name(name, tag),
                "org.opencontainers.image.ref.name": tag,
            })));
        }
        docker_manifest.push(json!({
            "Config": format!("blobs/sha256/{}", image.id.hex()),
            "RepoTags": tags,
            "Layers": layer_paths,
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": index,
    }))?;
    tar.file("index.json", &index)?;
    tar.file("manifest.json", &serde_json::to_vec(&docker_manifest)?)?;
    tar.w
        .write_all(&[0u8; 1024])
        .context("write the end of the archive")?;
    tar.w.flush().context("write the archive")?;
    Ok(())
}
// ANCHOR_END: save

/// `alpine` → `docker.io/library/alpine:TAG`, as containerd names images.
fn full_name(name: &str, tag: &str) -> String {
    let first = name.split('/').next().unwrap_or(name);
    if !name.contains('/') {
        format!("docker.io/library/{name}:{tag}")
    } else if first.contains(['.', ':']) || first == "localhost" {
        format!("{name}:{tag}")
    } else {
        format!("docker.io/{name}:{tag}")
    }
}

/// A minimal tar writer: `save` streams layers of known size straight from
/// the store, so it writes headers itself instead of going through a builder.
struct TarOut<W> {
    w: W,
}

impl<W: Write> TarOut<W> {
    fn header(&mut self, path: &str, size: u64) -> Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_path(path)
            .with_context(|| format!("tar path {path}"))?;
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        self.w.write_all(h.as_bytes()).context("write the archive")
    }

    fn pad(&mut self, size: u64) -> Result<()> {
        let rem = (size % 512) as usize;
        if rem != 0 {
            self.w
                .write_all(&[0u8; 512][..512 - rem])
                .context("write the archive")?;
        }
        Ok(())
    }

    fn file(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.header(path, data.len() as u64)?;
        self.w.write_all(data).context("write the archive")?;
        self.pad(data.len() as u64)
    }
}
