//! Images: a configuration that lists layers, and names that point at it.
//!
//! ```text
//! <root>/images/sha256/<hex>.json    an image configuration, stored byte for byte;
//!                                    the image id is sha256 of these bytes
//! <root>/images/repositories.json    {"busybox:latest": "sha256:<image id>", ...}
//! <root>/images/.lock                flock: held by anything that adds or removes
//!                                    images or layers, and by `run` while it picks one
//! ```
//!
//! The configuration is the OCI/Docker image config: `rootfs.diff_ids` lists
//! the layers bottom first, `config` holds the defaults a container starts
//! with (`Cmd`, `Env`, `WorkingDir`), `history` says how each layer was made.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use ch03_overlayfs::storage::{self, Durability, clock, write_atomic, write_json};

use crate::digest::Digest;
use crate::layers::{LayerStore, open_maybe_gzip};
use crate::progress::{self, ProgressReader};

/// The parts of an image configuration we use; the rest is kept as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    /// When the image was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// CPU architecture, Go-style (`amd64`).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`linux`).
    #[serde(default)]
    pub os: String,
    /// Defaults for containers.
    #[serde(default)]
    pub config: RunDefaults,
    /// The layers.
    pub rootfs: RootFs,
    /// How each layer was made.
    #[serde(default)]
    pub history: Vec<Value>,
}

/// A container's defaults, in the config's `config` object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunDefaults {
    /// Default command.
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Prepended to the command.
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` environment.
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// Working directory.
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
}

/// The `rootfs` object: the diff-ids of the layers, bottom first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// sha256 of each uncompressed layer tar, bottom first.
    pub diff_ids: Vec<Digest>,
}

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
}

// ANCHOR: reference
/// Normalizes an image reference to `name:tag`, the way Docker shows it:
/// `busybox` → `busybox:latest`, `docker.io/library/alpine:3` → `alpine:3`.
/// Names are lower case, components of `[a-z0-9]` joined by `.`, `_`, `__`
/// or `-`, separated by `/`; a tag is up to 128 of `[A-Za-z0-9_.-]`, not
/// starting with `.` or `-`. Digests (`name@sha256:…`) are not supported.
pub fn normalize_reference(reference: &str) -> Result<String> {
    if reference.contains('@') {
        bail!("invalid reference {reference:?}: digest references are not supported");
    }
    let (name, tag) = match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], &reference[i + 1..]),
        _ => (reference, "latest"),
    };
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first part with '.' or ':' or "localhost" is a registry host.
    let host = (parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost"))
        .then(|| parts.remove(0));
    let comp_ok = |c: &str| {
        !c.is_empty()
            && c.split(['.', '_', '-']).all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            })
            && !c.contains("..")
    };
    let host_ok = host.is_none_or(|h| {
        h.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
    });
    if !tag_ok
        || !host_ok
        || parts
            .iter()
            .any(|c| !comp_ok(c.replace("__", "_").as_str()))
    {
        bail!("invalid reference format {reference:?}: repository names must be lowercase");
    }
    let mut name = match host {
        Some(h) => format!("{h}/{}", parts.join("/")),
        None => parts.join("/"),
    };
    for prefix in [
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
        "index.docker.io/",
    ] {
        if let Some(short) = name.strip_prefix(prefix) {
            name = short.to_string();
            break;
        }
    }
    Ok(format!("{name}:{tag}"))
}
// ANCHOR_END: reference

/// The image store under one data root.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
    dir: PathBuf,
    /// The layers the images are made of.
    pub layers: LayerStore,
}

/// What `rmi` did, in Docker's words (`Untagged: …`, `Deleted: …`).
pub type Removed = Vec<String>;

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

    fn save_repositories(&self, repos: &BTreeMap<String, Digest>) -> Result<()> {
        write_json(
            &self.dir.join("repositories.json"),
            repos,
            Durability::Durable,
        )
    }

    fn config_path(&self, id: &Digest) -> PathBuf {
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

    // ANCHOR: resolve
    /// Finds an image by `name[:tag]`, by full id (`sha256:…`), or by a unique
    /// prefix of at least 4 hex digits of its id.
    pub fn resolve(&self, reference: &str) -> Result<Option<Image>> {
        let repos = self.repositories()?;
        if let Ok(key) = normalize_reference(reference) {
            if let Some(id) = repos.get(&key) {
                return self.get(id).map(Some);
            }
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        if hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let found: Vec<Digest> = self
                .ids()?
                .into_iter()
                .filter(|d| d.hex().starts_with(hex))
                .collect();
            match found.as_slice() {
                [one] => return self.get(one).map(Some),
                [] => {}
                _ => bail!("image id prefix {hex} is ambiguous"),
            }
        }
        Ok(None)
    }
    // ANCHOR_END: resolve

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

    /// The size `docker images` shows: the layers' uncompressed tar sizes.
    pub fn size(&self, image: &Image) -> u64 {
        image
            .config
            .rootfs
            .diff_ids
            .iter()
            .filter_map(|d| self.layers.info(d).ok())
            .map(|i| i.size)
            .sum()
    }
}

/// The architecture in Go's (and so OCI's) words.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// A size as Docker prints it: `4.26MB` (powers of 1000).
pub fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + units[u]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let n = |s| normalize_reference(s).unwrap();
        assert_eq!(n("busybox"), "busybox:latest");
        assert_eq!(n("nginx-alpine"), "nginx-alpine:latest");
        assert_eq!(n("alpine:3.19"), "alpine:3.19");
        assert_eq!(n("docker.io/library/alpine:latest"), "alpine:latest");
        assert_eq!(n("docker.io/me/app"), "me/app:latest");
        assert_eq!(n("localhost:5000/x/y:v1"), "localhost:5000/x/y:v1");
        assert_eq!(n("my_app__x"), "my_app__x:latest");
        for bad in [
            "Busybox",
            "a:",
            "a:-x",
            "a@sha256:00",
            "a//b",
            "-a",
            "a..b",
            "",
        ] {
            assert!(normalize_reference(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(1_000_000), "1MB");
    }

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
