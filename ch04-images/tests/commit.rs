//! Acceptance 1 and 6 (commit side): a container becomes an image again.

mod common;

use common::{cmd, fails, layer_entries, layers_of, ok, root_with_busybox};
use tar::EntryType;

// ANCHOR: round_trip
#[test]
fn commit_round_trip_keeps_the_change_and_only_the_change() {
    if !testkit::require_root("commit_round_trip_keeps_the_change_and_only_the_change") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    ok(
        r,
        &[
            "run",
            "--name",
            "a",
            "busybox",
            "sh",
            "-c",
            "mkdir /data && echo hello > /data/f && rm /etc/passwd",
        ],
    );
    let id = ok(r, &["commit", "a", "withdata"]);
    assert!(id.trim().starts_with("sha256:"), "{id}");

    // The new image runs with the change applied.
    let out = ok(
        r,
        &[
            "run",
            "--name",
            "b",
            "withdata",
            "sh",
            "-c",
            "cat /data/f; test -e /etc/passwd || echo gone",
        ],
    );
    assert_eq!(out, "hello\ngone\n");

    // Exactly one more layer, holding exactly the change.
    let parent = layers_of(r, "busybox");
    let child = layers_of(r, "withdata");
    assert_eq!(child.len(), parent.len() + 1);
    assert_eq!(child[..parent.len()], parent[..]);
    let entries = layer_entries(r, "withdata", child.last().unwrap());
    let files: Vec<&str> = entries
        .iter()
        .filter(|(_, t)| *t != EntryType::Directory)
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(files, ["data/f", "etc/.wh.passwd"]);
}
// ANCHOR_END: round_trip

#[test]
fn commit_cost_follows_the_change_not_the_image() {
    if !testkit::require_root("commit_cost_follows_the_change_not_the_image") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    ok(r, &["run", "--name", "small", "busybox", "true"]);
    ok(
        r,
        &[
            "run",
            "--name",
            "big",
            "busybox",
            "sh",
            "-c",
            "head -c 3000000 /dev/zero > /big",
        ],
    );
    ok(r, &["commit", "small", "small"]);
    ok(r, &["commit", "big", "big"]);
    let size = |image: &str| {
        let top = layers_of(r, image).pop().unwrap();
        let json =
            std::fs::read_to_string(r.join("layers/sha256").join(&top).join("layer.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["size"].as_u64().unwrap()
    };
    let busybox = std::fs::metadata(testkit::busybox_tar()).unwrap().len();
    assert!(
        size("small") < 10_240,
        "an empty change made a {} byte layer",
        size("small")
    );
    assert!(size("big") > 3_000_000 && size("big") < 3_000_000 + 10_240);
    assert!(
        busybox > 1_000_000,
        "the image is big enough for the comparison to mean something"
    );
}

// ANCHOR: seed_flow
/// The seed's walkthrough, minus the network: change a container, `commit a
/// nginx-alpine`, then `run ... nginx-alpine nginx`.
#[test]
fn seed_commit_flow() {
    if !testkit::require_root("seed_commit_flow") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    // Go-style flags, as the seed types them.
    ok(
        r,
        &[
            "run",
            "-name",
            "a",
            "busybox",
            "sh",
            "-c",
            "printf '#!/bin/sh\\necho nginx is serving\\n' > /bin/nginx && chmod +x /bin/nginx",
        ],
    );
    ok(r, &["commit", "a", "nginx-alpine"]);
    let out = ok(r, &["run", "-name", "bird", "nginx-alpine", "nginx"]);
    assert_eq!(out, "nginx is serving\n");
    // The committed image's default command is the container's.
    let images = ok(r, &["images"]);
    assert!(
        images.lines().any(|l| l.starts_with("nginx-alpine ")),
        "{images}"
    );
}
// ANCHOR_END: seed_flow

#[test]
fn export_writes_the_merged_tree() {
    if !testkit::require_root("export_writes_the_merged_tree") {
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
            "echo new > /new && rm /etc/passwd",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.tar");
    ok(r, &["export", "x", "-o", file.to_str().unwrap()]);
    let mut names = Vec::new();
    for e in tar::Archive::new(std::fs::File::open(&file).unwrap())
        .entries()
        .unwrap()
    {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    assert!(names.contains(&"new".to_string()));
    assert!(names.contains(&"bin/busybox".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n == "etc/passwd" || n.contains(".wh."))
    );
    // The export mount lived in a private namespace: nothing is left mounted.
    assert!(testkit::host_mounts_containing(&r.display().to_string()).is_empty());

    // What export writes, import reads: the seed's "export an image" FAQ.
    ok(r, &["import", file.to_str().unwrap(), "exported"]);
    assert_eq!(ok(r, &["run", "exported", "cat", "/new"]), "new\n");
    // Also through a pipe, gzip-compressed, as `docker export | gzip` makes it.
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &std::fs::read(&file).unwrap()).unwrap();
        e.finish().unwrap()
    };
    let out = cmd(r, &["import", "-", "piped:gz"])
        .write_stdin(gz)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ok(r, &["run", "piped:gz", "cat", "/new"]), "new\n");
}

#[test]
fn a_tar_in_the_current_directory_is_imported_on_first_use() {
    if !testkit::require_root("a_tar_in_the_current_directory_is_imported_on_first_use") {
        return;
    }
    let root = testkit::DataRoot::new();
    let cwd = tempfile::tempdir().unwrap();
    std::fs::copy(testkit::busybox_tar(), cwd.path().join("bb.tar")).unwrap();
    let out = cmd(root.path(), &["run", "bb", "echo", "hi"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
    assert!(
        ok(root.path(), &["images"])
            .lines()
            .any(|l| l.starts_with("bb "))
    );
    // Without a command, an imported image has none to offer: Docker's refusal.
    let err = fails(root.path(), &["run", "bb"], 125);
    assert!(err.contains("no command specified"), "{err}");
}

#[test]
fn records_stay_until_rm() {
    if !testkit::require_root("records_stay_until_rm") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    let vol = tempfile::tempdir().unwrap();
    let volume = format!("{}:/data:ro", vol.path().display());
    let code = cmd(
        r,
        &[
            "run", "--name", "gone", "-m", "64m", "-v", &volume, "busybox", "sh", "-c", "exit 3",
        ],
    )
    .output()
    .unwrap()
    .status
    .code();
    assert_eq!(code, Some(3));
    let dir = std::fs::read_dir(r.join("containers"))
        .unwrap()
        .flatten()
        .find(|e| e.path().join("config.json").is_file())
        .unwrap()
        .path();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(record["name"], "gone");
    assert_eq!(record["status"], "exited");
    assert_eq!(record["exit_code"], 3);
    assert_eq!(record["id"].as_str().unwrap().len(), 64);
    assert_eq!(record["image"], "busybox");
    assert_eq!(record["command"], serde_json::json!(["sh", "-c", "exit 3"]));
    assert_eq!(
        record["resources"]["limits"],
        serde_json::json!({"memory": 64 << 20})
    );
    assert_eq!(record["mounts"][0]["destination"], "/data");
    assert_eq!(record["mounts"][0]["readonly"], true);
    assert!(dir.join("upper").is_dir());
    assert_eq!(ok(r, &["rm", "gone"]), "gone\n");
    assert!(!dir.exists());
    // The name is free again.
    ok(r, &["run", "--name", "gone", "busybox", "true"]);
}

#[test]
fn a_command_that_cannot_start_leaves_a_created_record() {
    if !testkit::require_root("a_command_that_cannot_start_leaves_a_created_record") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    fails(
        r,
        &["run", "--name", "nocmd", "busybox", "no-such-command"],
        127,
    );
    let dir = std::fs::read_dir(r.join("containers"))
        .unwrap()
        .flatten()
        .find(|e| e.path().join("config.json").is_file())
        .unwrap()
        .path();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "created");
    assert_eq!(record["exit_code"], 127);
    ok(r, &["rm", "nocmd"]);
}

#[test]
fn running_containers_export_and_refuse_rm_without_force() {
    if !testkit::require_root("running_containers_export_and_refuse_rm_without_force") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ch04-images"))
        .arg("--root")
        .arg(r)
        .args([
            "run",
            "--name",
            "live",
            "busybox",
            "sh",
            "-c",
            "echo up > /up; sleep 30",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // A guard, so a failing assertion does not leave the container running.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut guard = Kill(child);
    let status = |r: &std::path::Path| -> Option<String> {
        let dir = std::fs::read_dir(r.join("containers"))
            .ok()?
            .flatten()
            .find(|e| e.path().join("config.json").is_file())?
            .path();
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
        Some(v["status"].as_str()?.to_string())
    };
    let up = testkit::eventually(500, || {
        (status(r).as_deref() == Some("running")
            && std::fs::read_dir(r.join("containers"))
                .ok()?
                .flatten()
                .any(|e| e.path().join("upper/up").exists()))
        .then_some(())
    });
    assert!(up.is_some(), "the container never came up");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.tar");
    ok(r, &["export", "live", "-o", file.to_str().unwrap()]);
    let mut found = false;
    for e in tar::Archive::new(std::fs::File::open(&file).unwrap())
        .entries()
        .unwrap()
    {
        found |= e.unwrap().path().unwrap() == std::path::Path::new("up");
    }
    assert!(found, "export of a running container misses its change");
    let err = fails(r, &["rm", "live"], 125);
    assert!(err.contains("running"), "{err}");
    ok(r, &["rm", "-f", "live"]);
    let code = guard.0.wait().unwrap().code();
    assert_eq!(code, Some(137), "rm -f kills the container");
    assert!(status(r).is_none(), "the record outlived rm -f");
}

#[test]
fn off_a_terminal_nothing_extra_is_printed() {
    if !testkit::require_root("off_a_terminal_nothing_extra_is_printed") {
        return;
    }
    let root = testkit::DataRoot::new();
    let r = root.path();
    let tar = testkit::busybox_tar();
    let out = cmd(r, &["import", tar.to_str().unwrap(), "busybox"])
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("sha256:") && stdout.lines().count() == 1,
        "{stdout}"
    );
    ok(r, &["run", "--name", "c", "busybox", "touch", "/x"]);
    let out = cmd(r, &["commit", "c", "x"]).output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
