//! Helpers shared by chapter 4's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// `ch04-images --root ROOT ARGS...`
pub fn cmd(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("ch04-images").expect("the ch04-images binary");
    c.arg("--root").arg(root).args(args);
    c
}

/// Runs the command, expects success, returns stdout.
pub fn ok(root: &Path, args: &[&str]) -> String {
    let out = cmd(root, args).output().expect("run ch04-images");
    assert!(
        out.status.success(),
        "ch04-images {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the command, expects exit code `code`, returns stderr.
pub fn fails(root: &Path, args: &[&str], code: i32) -> String {
    let out = cmd(root, args).output().expect("run ch04-images");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "ch04-images {args:?}: stderr {stderr}"
    );
    stderr
}

/// A data root with the busybox image imported as `busybox`.
pub fn root_with_busybox() -> testkit::DataRoot {
    let root = testkit::DataRoot::new();
    let tar = testkit::busybox_tar();
    ok(root.path(), &["import", tar.to_str().unwrap(), "busybox"]);
    root
}

/// The diff-ids of an image, from its saved `manifest.json`.
pub fn layers_of(root: &Path, image: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("img.tar");
    ok(root, &["save", image, "-o", file.to_str().unwrap()]);
    let mut archive = tar::Archive::new(std::fs::File::open(&file).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap() == Path::new("manifest.json") {
            let v: serde_json::Value = serde_json::from_reader(&mut e).unwrap();
            return v[0]["Layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    l.as_str()
                        .unwrap()
                        .trim_start_matches("blobs/sha256/")
                        .to_string()
                })
                .collect();
        }
    }
    panic!("no manifest.json in the saved image");
}

/// The entries (path, type) of the layer tar `hex`, read back with `save`.
pub fn layer_entries(root: &Path, image: &str, hex: &str) -> Vec<(String, tar::EntryType)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("img.tar");
    ok(root, &["save", image, "-o", file.to_str().unwrap()]);
    let mut archive = tar::Archive::new(std::fs::File::open(&file).unwrap());
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        if e.path().unwrap() == Path::new("blobs/sha256").join(hex) {
            let mut inner = tar::Archive::new(e);
            return inner
                .entries()
                .unwrap()
                .map(|x| {
                    let x = x.unwrap();
                    (
                        x.path().unwrap().display().to_string(),
                        x.header().entry_type(),
                    )
                })
                .collect();
        }
    }
    panic!("no layer {hex} in the saved image");
}

/// Every path under `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().to_path_buf());
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
