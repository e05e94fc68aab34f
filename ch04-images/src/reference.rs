//! Image references: the names a user types for an image.
//!
//! A user names an image by `name[:tag]` (`busybox`, `alpine:3.19`,
//! `docker.io/library/alpine`), by its full id (`sha256:…`), or by the first
//! hex digits of its id, as `docker images` prints them. The tag index keys
//! on one spelling per name, so every reference is normalized before it is
//! looked up or stored: `busybox` and `docker.io/library/busybox:latest` are
//! the same tag.

use anyhow::{Result, bail};

use crate::digest::Digest;
use crate::images::{Image, ImageStore};

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

impl ImageStore {
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
}
