//! Acceptance 5: unique names under a race, and `rmi` of an image in use.

mod common;

use std::process::Stdio;

use common::{fails, ok, root_with_busybox};

// ANCHOR: race
#[test]
fn two_runs_with_the_same_name_one_wins() {
    if !testkit::require_root("two_runs_with_the_same_name_one_wins") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    for round in 0..3 {
        let name = format!("same{round}");
        let spawn = || {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("ch04-images"))
                .arg("--root")
                .arg(r)
                .args(["run", "--name", &name, "busybox", "sleep", "0.3"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
        assert!(
            codes.contains(&Some(0)) && codes.contains(&Some(125)),
            "round {round}: {codes:?}"
        );
        let loser = outs.iter().find(|o| o.status.code() == Some(125)).unwrap();
        let msg = String::from_utf8_lossy(&loser.stderr);
        assert!(
            msg.contains("conflict") && msg.contains("already in use"),
            "{msg}"
        );
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }
    // Exactly one record per name, and the loser left no directory behind.
    let records = std::fs::read_dir(r.join("containers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .count();
    assert_eq!(records, 3);
}
// ANCHOR_END: race

#[test]
fn invalid_names_are_refused() {
    if !testkit::require_root("invalid_names_are_refused") {
        return;
    }
    let root = root_with_busybox();
    let err = fails(
        root.path(),
        &["run", "--name", "no/slash", "busybox", "true"],
        125,
    );
    assert!(err.contains("invalid container name"), "{err}");
    assert!(
        !root.path().join("containers").exists()
            || std::fs::read_dir(root.path().join("containers"))
                .unwrap()
                .flatten()
                .all(|e| !e.file_type().unwrap().is_dir())
    );
}

#[test]
fn rmi_of_an_image_in_use_fails_until_rm() {
    if !testkit::require_root("rmi_of_an_image_in_use_fails_until_rm") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    ok(r, &["run", "--name", "user", "busybox", "true"]);
    let err = fails(r, &["rmi", "busybox"], 125);
    assert!(err.contains("conflict") && err.contains("user"), "{err}");
    assert!(ok(r, &["images"]).contains("busybox"));

    // A second tag is only a name: removing it is always fine.
    ok(r, &["tag", "busybox", "other:v1"]);
    assert_eq!(ok(r, &["rmi", "other:v1"]), "Untagged: other:v1\n");

    ok(r, &["rm", "user"]);
    let out = ok(r, &["rmi", "busybox"]);
    assert!(
        out.starts_with("Untagged: busybox:latest\nDeleted: sha256:"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(r.join("layers/sha256")).unwrap().count(),
        0,
        "a layer outlived its image"
    );
}

#[test]
fn rmi_force_untags_but_keeps_what_a_container_needs() {
    if !testkit::require_root("rmi_force_untags_but_keeps_what_a_container_needs") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    ok(
        r,
        &[
            "run",
            "--name",
            "keep",
            "busybox",
            "sh",
            "-c",
            "echo x > /x",
        ],
    );
    assert_eq!(
        ok(r, &["rmi", "-f", "busybox"]),
        "Untagged: busybox:latest\n"
    );
    // The container still commits: its image and layers are still there.
    ok(r, &["commit", "keep", "kept"]);
    assert_eq!(ok(r, &["run", "kept", "cat", "/x"]), "x\n");
}

#[test]
fn shared_layers_are_stored_once() {
    if !testkit::require_root("shared_layers_are_stored_once") {
        return;
    }
    let root = root_with_busybox();
    let r = root.path();
    let tar = testkit::busybox_tar();
    ok(r, &["import", tar.to_str().unwrap(), "again"]);
    ok(r, &["run", "--name", "c", "busybox", "touch", "/c"]);
    ok(r, &["commit", "c", "child"]);
    // busybox, again and child share the busybox layer: two layers in all.
    assert_eq!(
        std::fs::read_dir(r.join("layers/sha256")).unwrap().count(),
        2
    );
    let images = ok(r, &["images"]);
    insta::assert_snapshot!(normalize(&images));
    let size = |name: &str| {
        images
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(size("again "), size("busybox "));
    assert_ne!(size("child "), size("busybox "));
}

/// Hides what changes from run to run: ids and ages.
fn normalize(table: &str) -> String {
    table
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l
                .split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            if cols.first() == Some(&"REPOSITORY") {
                return cols.join(" | ");
            }
            format!("{} | {} | <id> | <created> | <size>", cols[0], cols[1])
        })
        .collect::<Vec<_>>()
        .join("\n")
}
