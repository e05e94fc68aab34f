//! Acceptance 2 and 3: other tools read what we write, we read what they
//! write, and layers with deletions load with the deletions applied.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::{ok, root_with_busybox};
use sha2::Digest as _;
use tar::EntryType;

/// True if `tool` is installed. A missing tool skips the test, unless CI
/// forbids skipping (the Makefile installs skopeo and umoci with apt-get).
fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let reason = format!("{tool} is not installed (apt-get install {tool})");
        if std::env::var(testkit::NO_SKIP_VAR).is_ok_and(|v| v == "1") {
            panic!("{reason}, and {}=1 forbids skipping", testkit::NO_SKIP_VAR);
        }
        eprintln!("skipping: {reason}");
    }
    found
}

fn run_tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// What we compare of a file: type, permissions, owner, content (or target).
type Tree = BTreeMap<String, String>;

fn tree_of_tar(file: &Path) -> Tree {
    let mut t = Tree::new();
    for e in tar::Archive::new(std::fs::File::open(file).unwrap())
        .entries()
        .unwrap()
    {
        let mut e = e.unwrap();
        let path = e
            .path()
            .unwrap()
            .display()
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let h = e.header().clone();
        let what = match h.entry_type() {
            EntryType::Directory => "dir".to_string(),
            EntryType::Symlink => format!("link {}", e.link_name().unwrap().unwrap().display()),
            // A hard link is the same file as its target.
            EntryType::Link => "file (hard link)".to_string(),
            EntryType::Regular => {
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                format!("file {}", sha(&v))
            }
            other => format!("{other:?}"),
        };
        t.insert(
            path,
            format!(
                "{what} {:o} {}:{}",
                h.mode().unwrap() & 0o7777,
                h.uid().unwrap(),
                h.gid().unwrap()
            ),
        );
    }
    t
}

fn tree_of_dir(dir: &Path) -> Tree {
    let mut t = Tree::new();
    let mut seen = std::collections::HashSet::new();
    for p in common::tree(dir) {
        let full = dir.join(&p);
        let m = std::fs::symlink_metadata(&full).unwrap();
        let ft = m.file_type();
        let what = if ft.is_dir() {
            "dir".to_string()
        } else if ft.is_symlink() {
            format!("link {}", std::fs::read_link(&full).unwrap().display())
        } else if m.nlink() > 1 && !seen.insert(m.ino()) {
            "file (hard link)".to_string()
        } else {
            format!("file {}", sha(&std::fs::read(&full).unwrap()))
        };
        t.insert(
            p.display().to_string(),
            format!("{what} {:o} {}:{}", m.mode() & 0o7777, m.uid(), m.gid()),
        );
    }
    t
}

// ANCHOR: interop
#[test]
fn skopeo_reads_our_save_and_umoci_unpacks_the_same_tree() {
    if !testkit::require_root("skopeo_reads_our_save_and_umoci_unpacks_the_same_tree")
        || !have("skopeo")
        || !have("umoci")
    {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    ok(
        r,
        &[
            "run",
            "--name",
            "x",
            "busybox",
            "sh",
            "-c",
            "mkdir /data && echo hi > /data/f && ln -s /data/f /data/link && rm /etc/passwd && rm -r /home && mkdir /home && touch /home/new",
        ],
    );
    ok(r, &["commit", "x", "img"]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let saved = w.join("img.tar");
    ok(r, &["save", "img", "-o", saved.to_str().unwrap()]);

    let archive = format!("docker-archive:{}", saved.display());
    let inspect: serde_json::Value =
        serde_json::from_str(&run_tool("skopeo", &["inspect", &archive])).unwrap();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2, "{inspect}");
    assert_eq!(inspect["Os"], "linux");

    let layout = format!("oci:{}:img", w.join("oci").display());
    run_tool("skopeo", &["copy", "--quiet", &archive, &layout]);
    run_tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:img", w.join("oci").display()),
            w.join("bundle").to_str().unwrap(),
        ],
    );

    // Our own unpack: the container's tree, as export writes it.
    ok(r, &["run", "--name", "y", "img", "true"]);
    let ours = w.join("ours.tar");
    ok(r, &["export", "y", "-o", ours.to_str().unwrap()]);
    let ours = tree_of_tar(&ours);
    let theirs = tree_of_dir(&w.join("bundle/rootfs"));
    assert!(ours.contains_key("data/f") && !ours.contains_key("etc/passwd"));
    assert!(ours.contains_key("home/new"));
    let diff: Vec<_> = ours
        .iter()
        .filter(|(k, v)| theirs.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: ours {v}, umoci {:?}", theirs.get(k)))
        .chain(
            theirs
                .keys()
                .filter(|k| !ours.contains_key(*k))
                .map(|k| format!("{k}: only in umoci's")),
        )
        .collect();
    assert!(diff.is_empty(), "trees differ:\n{}", diff.join("\n"));
}
// ANCHOR_END: interop

/// A legacy `docker save` archive (`manifest.json`, `<id>/layer.tar`) of two
/// layers: busybox plus `/del` and `/d/old`, then a layer that deletes
/// `/del` and replaces `/d` with an opaque directory holding `new`.
fn two_layer_archive(dest: &Path) {
    let mut lower = tar::Builder::new(Vec::new());
    let mut bb = tar::Archive::new(std::fs::File::open(testkit::busybox_tar()).unwrap());
    for e in bb.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let path = e.path().unwrap().into_owned();
        if h.entry_type() == EntryType::Symlink || h.entry_type() == EntryType::Link {
            let target = e.link_name().unwrap().unwrap().into_owned();
            lower.append_link(&mut h, &path, &target).unwrap();
        } else {
            lower.append_data(&mut h, &path, &mut e).unwrap();
        }
    }
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, kind: EntryType, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, data).unwrap();
    };
    file(&mut lower, "del", EntryType::Regular, b"delete me");
    file(&mut lower, "d/", EntryType::Directory, b"");
    file(&mut lower, "d/old", EntryType::Regular, b"old");
    let lower = lower.into_inner().unwrap();
    let mut upper = tar::Builder::new(Vec::new());
    file(&mut upper, ".wh.del", EntryType::Regular, b"");
    file(&mut upper, "d/", EntryType::Directory, b"");
    file(&mut upper, "d/.wh..wh..opq", EntryType::Regular, b"");
    file(&mut upper, "d/new", EntryType::Regular, b"new");
    let upper = upper.into_inner().unwrap();

    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin:/sbin:/usr/bin", "FROM_IMAGE=yes"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha(&lower)), format!("sha256:{}", sha(&upper))]},
        "history": [{"created_by": "lower"}, {"created_by": "upper"}],
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": format!("{}.json", sha(&config)),
        "RepoTags": ["two:latest"],
        "Layers": [format!("{}/layer.tar", &sha(&lower)[..16]), format!("{}/layer.tar", &sha(&upper)[..16])],
    }]))
    .unwrap();
    let mut out = tar::Builder::new(std::fs::File::create(dest).unwrap());
    let add = |b: &mut tar::Builder<std::fs::File>, path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, data).unwrap();
    };
    add(
        &mut out,
        &format!("{}/layer.tar", &sha(&lower)[..16]),
        &lower,
    );
    add(
        &mut out,
        &format!("{}/layer.tar", &sha(&upper)[..16]),
        &upper,
    );
    add(&mut out, &format!("{}.json", sha(&config)), &config);
    add(&mut out, "manifest.json", &manifest);
    out.finish().unwrap();
}

// ANCHOR: load_whiteouts
#[test]
fn load_applies_deletions_and_opaque_directories() {
    if !testkit::require_root("load_applies_deletions_and_opaque_directories") {
        return;
    }
    let root = testkit::DataRoot::new();
    let r = root.path();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("two.tar");
    two_layer_archive(&file);
    assert_eq!(
        ok(r, &["load", "-i", file.to_str().unwrap()]),
        "Loaded image: two:latest\n"
    );
    let out = ok(
        r,
        &[
            "run",
            "two",
            "sh",
            "-c",
            "test -e /del && echo del is back; ls /d; echo $FROM_IMAGE",
        ],
    );
    assert_eq!(out, "new\nyes\n");
    // With no command, the image's Cmd (sh) runs.
    let out = common::cmd(r, &["run", "two"])
        .write_stdin("echo from-cmd\n")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-cmd\n");
}
// ANCHOR_END: load_whiteouts

#[test]
fn an_oci_layout_written_by_skopeo_loads() {
    if !testkit::require_root("an_oci_layout_written_by_skopeo_loads") || !have("skopeo") {
        return;
    }
    let root = testkit::DataRoot::new();
    let r = root.path();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("two.tar");
    two_layer_archive(&file);
    // skopeo compresses the layers (gzip) on the way into the layout.
    let layout = work.path().join("layout");
    run_tool(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("docker-archive:{}", file.display()),
            &format!("oci:{}:two:v1", layout.display()),
        ],
    );
    assert_eq!(
        ok(r, &["load", "-i", layout.to_str().unwrap()]),
        "Loaded image: two:v1\n"
    );
    assert_eq!(ok(r, &["run", "two:v1", "ls", "/d"]), "new\n");
}

#[test]
fn save_then_load_keeps_ids_and_tags() {
    if !testkit::require_root("save_then_load_keeps_ids_and_tags") {
        return;
    }
    let a = root_with_busybox();
    ok(a.path(), &["tag", "busybox", "mine/box:1.0"]);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("both.tar");
    ok(
        a.path(),
        &[
            "save",
            "busybox",
            "mine/box:1.0",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    let b = testkit::DataRoot::new();
    let out = ok(b.path(), &["load", "-i", file.to_str().unwrap()]);
    assert_eq!(
        out,
        "Loaded image: busybox:latest\nLoaded image: mine/box:1.0\n"
    );
    let ids = |r: &Path| {
        ok(r, &["images"])
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(2).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(a.path()), ids(b.path()));
    // The two tags share one image and its one layer.
    assert_eq!(
        std::fs::read_dir(b.path().join("layers/sha256"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn load_reads_standard_input() {
    if !testkit::require_root("load_reads_standard_input") {
        return;
    }
    let a = root_with_busybox();
    let saved = common::cmd(a.path(), &["save", "busybox"])
        .output()
        .unwrap();
    assert!(saved.status.success());
    let b = testkit::DataRoot::new();
    let out = common::cmd(b.path(), &["load"])
        .write_stdin(saved.stdout)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: busybox:latest\n"
    );
    assert_eq!(ok(b.path(), &["run", "busybox", "echo", "hi"]), "hi\n");
}

/// Docker before 25 wrote a layer that occurs twice in an image once, and a
/// symlink to it for the second place.
#[test]
fn legacy_archives_with_linked_repeated_layers_load() {
    if !testkit::require_root("legacy_archives_with_linked_repeated_layers_load") {
        return;
    }
    let base = std::fs::read(testkit::busybox_tar()).unwrap();
    let mut x = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    x.append_data(&mut h, "dup", &b"dup\n"[..]).unwrap();
    let x = x.into_inner().unwrap();
    let (db, dx) = (
        format!("sha256:{}", sha(&base)),
        format!("sha256:{}", sha(&x)),
    );
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [db, dx, dx]},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "config.json", "RepoTags": ["rep:latest"],
        "Layers": ["bb/layer.tar", "x1/layer.tar", "x2/layer.tar"],
    }]))
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("rep.tar");
    let mut out = tar::Builder::new(std::fs::File::create(&file).unwrap());
    for (path, data) in [
        ("bb/layer.tar", &base),
        ("x1/layer.tar", &x),
        ("config.json", &config),
        ("manifest.json", &manifest),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        out.append_data(&mut h, path, &data[..]).unwrap();
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    out.append_link(&mut h, "x2/layer.tar", "../x1/layer.tar")
        .unwrap();
    out.finish().unwrap();
    drop(out);
    let root = testkit::DataRoot::new();
    assert_eq!(
        ok(root.path(), &["load", "-i", file.to_str().unwrap()]),
        "Loaded image: rep:latest\n"
    );
    assert_eq!(ok(root.path(), &["run", "rep", "cat", "/dup"]), "dup\n");
}
