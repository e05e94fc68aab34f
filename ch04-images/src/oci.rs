//! The image configuration, in the OCI image spec's (and Docker's) words.
//!
//! An image is, at bottom, one JSON document: the image id is the sha256 of
//! its bytes. `rootfs.diff_ids` lists the layers bottom first, `config` holds
//! the defaults a container starts with (`Cmd`, `Env`, `WorkingDir`), and
//! `history` says how each layer was made. We give types only to the parts we
//! use; the store keeps the document byte for byte, so a field we do not know
//! survives `load` and `save` unchanged and the id stays the same.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::Digest;

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
