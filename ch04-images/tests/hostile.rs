//! Acceptance 4: hostile archives are refused with one line and exit 125,
//! and nothing is written outside the store (nor left inside it).

mod common;

use std::path::{Path, PathBuf};

use common::{fails, ok};
use tar::EntryType;

/// One entry, written with the low-level header API: the `tar` crate's
/// builder would refuse these names itself.
fn entry(out: &mut Vec<u8>, kind: EntryType, path: &str, link: Option<&str>, data: &[u8]) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(data.len() as u64);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A file outside the store that a hostile archive aims at, removed on drop
/// (if the test fails, the hostile write is cleaned up too).
struct Target(PathBuf);

impl Target {
    fn new(dir: &Path) -> Target {
        let id = format!("mydocker-hostile-{}-{}", std::process::id(), rand_suffix());
        Target(dir.join(id))
    }
    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

/// Imports `tar` and checks the refusal: exit 125, one line naming the
/// problem, no image, no layer, no temporary directory left.
fn import_is_refused(tar: Vec<u8>, expect: &str) {
    let root = testkit::DataRoot::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.tar");
    let mut tar = tar;
    tar.extend_from_slice(&[0u8; 1024]);
    std::fs::write(&file, tar).unwrap();
    let stderr = fails(
        root.path(),
        &["import", file.to_str().unwrap(), "hostile"],
        125,
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains(expect), "{stderr}");
    assert_store_is_empty(root.path());
}

fn assert_store_is_empty(root: &Path) {
    let layers = root.join("layers/sha256");
    assert!(
        !layers.exists() || std::fs::read_dir(&layers).unwrap().count() == 0,
        "a layer was kept"
    );
    let tmp = root.join("layers/tmp");
    assert!(
        !tmp.exists() || std::fs::read_dir(&tmp).unwrap().count() == 0,
        "a temporary layer was kept"
    );
    assert!(
        ok(root, &["images"]).lines().count() == 1,
        "an image was recorded"
    );
}

#[test]
fn absolute_path_is_refused() {
    if !testkit::require_root("absolute_path_is_refused") {
        return;
    }
    let target = Target::new(&std::env::temp_dir());
    let mut t = Vec::new();
    entry(&mut t, EntryType::Regular, &target.path(), None, b"pwned");
    import_is_refused(t, "absolute path");
    assert!(!target.0.exists());
}

#[test]
fn dotdot_escape_is_refused() {
    if !testkit::require_root("dotdot_escape_is_refused") {
        return;
    }
    let target = Target::new(&std::env::temp_dir());
    let mut t = Vec::new();
    let path = format!(
        "{}{}",
        "../".repeat(12),
        target.path().trim_start_matches('/')
    );
    entry(&mut t, EntryType::Regular, &path, None, b"pwned");
    import_is_refused(t, "'..'");
    assert!(!target.0.exists());
}

#[test]
fn symlink_to_etc_then_a_file_under_it_is_refused() {
    if !testkit::require_root("symlink_to_etc_then_a_file_under_it_is_refused") {
        return;
    }
    let target = Target::new(Path::new("/etc"));
    let name = target.0.file_name().unwrap().to_str().unwrap().to_string();
    let mut t = Vec::new();
    entry(&mut t, EntryType::Symlink, "etc-link", Some("/etc"), b"");
    entry(
        &mut t,
        EntryType::Regular,
        &format!("etc-link/{name}"),
        None,
        b"pwned",
    );
    import_is_refused(t, "symlink");
    assert!(!target.0.exists(), "the archive wrote into the host's /etc");
}

#[test]
fn hardlink_to_etc_shadow_is_refused() {
    if !testkit::require_root("hardlink_to_etc_shadow_is_refused") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let links_before = std::fs::metadata("/etc/shadow").map(|m| m.nlink()).ok();
    let mut t = Vec::new();
    entry(&mut t, EntryType::Link, "shadow", Some("/etc/shadow"), b"");
    import_is_refused(t, "absolute path");
    let mut t = Vec::new();
    entry(
        &mut t,
        EntryType::Link,
        "shadow",
        Some(&format!("{}etc/shadow", "../".repeat(15))),
        b"",
    );
    import_is_refused(t, "'..'");
    let mut t = Vec::new();
    entry(&mut t, EntryType::Symlink, "etc", Some("/etc"), b"");
    entry(&mut t, EntryType::Link, "shadow", Some("etc/shadow"), b"");
    import_is_refused(t, "symlink");
    assert_eq!(
        std::fs::metadata("/etc/shadow").map(|m| m.nlink()).ok(),
        links_before
    );
}

/// The same protections hold inside a `docker save` archive: the layer is
/// refused, and the load leaves no image and no layer behind.
#[test]
fn hostile_layer_in_a_saved_image_is_refused() {
    if !testkit::require_root("hostile_layer_in_a_saved_image_is_refused") {
        return;
    }
    let target = Target::new(&std::env::temp_dir());
    // A good first layer, then a hostile one.
    let mut good = Vec::new();
    entry(&mut good, EntryType::Regular, "ok", None, b"fine");
    good.extend_from_slice(&[0u8; 1024]);
    let mut bad = Vec::new();
    entry(&mut bad, EntryType::Regular, &target.path(), None, b"pwned");
    bad.extend_from_slice(&[0u8; 1024]);
    let digest = |b: &[u8]| {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest(b);
        format!(
            "sha256:{}",
            h.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )
    };
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [digest(&good), digest(&bad)]},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "config.json", "RepoTags": ["hostile:latest"], "Layers": ["good/layer.tar", "bad/layer.tar"],
    }]))
    .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("good/layer.tar", &good),
        ("bad/layer.tar", &bad),
        ("config.json", &config),
        ("manifest.json", &manifest),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, &data[..]).unwrap();
    }
    let archive = b.into_inner().unwrap();
    let root = testkit::DataRoot::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saved.tar");
    std::fs::write(&file, archive).unwrap();
    let stderr = fails(root.path(), &["load", "-i", file.to_str().unwrap()], 125);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("absolute path"), "{stderr}");
    assert!(!target.0.exists());
    assert_store_is_empty(root.path());
    let tmp = root.path().join("tmp");
    assert!(
        !tmp.exists() || std::fs::read_dir(&tmp).unwrap().count() == 0,
        "the unpacked archive was kept"
    );
}

/// An import killed half-way leaves its temporary layer; the next operation
/// that takes the store's lock removes it.
#[test]
fn leftovers_of_a_killed_import_are_removed() {
    if !testkit::require_root("leftovers_of_a_killed_import_are_removed") {
        return;
    }
    let root = common::root_with_busybox();
    let stale = root
        .path()
        .join("layers/tmp/layer-0123456789abcdef/diff/etc");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("half-written"), "x").unwrap();
    ok(root.path(), &["tag", "busybox", "again"]);
    assert_eq!(
        std::fs::read_dir(root.path().join("layers/tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn an_id_with_several_names_is_not_removed_by_id() {
    if !testkit::require_root("an_id_with_several_names_is_not_removed_by_id") {
        return;
    }
    let root = common::root_with_busybox();
    let r = root.path();
    ok(r, &["tag", "busybox", "other"]);
    let id = ok(r, &["images"])
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    let err = fails(r, &["rmi", &id], 125);
    assert!(err.contains("busybox:latest, other:latest"), "{err}");
    let out = ok(r, &["rmi", "-f", &id]);
    assert!(
        out.contains("Untagged: busybox:latest")
            && out.contains("Untagged: other:latest")
            && out.contains("Deleted:"),
        "{out}"
    );
}
