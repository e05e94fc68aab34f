//! Volumes as Docker has them: `-v NAME:/data` creates and reuses a named
//! volume (seeded from the image the first time), a missing host directory
//! is created, and `volume ls|inspect|rm` show and remove them.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Fixture;

/// `ch03-overlayfs volume ARGS...`: (code, stdout, stderr).
fn volume(fx: &Fixture, args: &[&str]) -> (i32, String, String) {
    let out = fx
        .cmd()
        .arg("volume")
        .args(args)
        .output()
        .expect("run volume");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The data root's path and the dates change from run to run.
fn filters(fx: &Fixture) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&fx.root_text()), "[ROOT]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[DATE]");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_ascii_alphanumeric() || c == '/' {
            true => vec![c],
            false => vec!['\\', c],
        })
        .collect()
}

#[test]
fn a_named_volume_survives_across_runs_and_starts_with_the_images_files() {
    if !testkit::require_root(
        "a_named_volume_survives_across_runs_and_starts_with_the_images_files",
    ) {
        return;
    }
    let fx = Fixture::new();
    // First run: the new volume at /etc is seeded with the image's /etc.
    let out = fx.run_ok(&[
        "-v",
        "conf:/etc",
        "busybox",
        "sh",
        "-c",
        "cat /etc/group | head -1; echo kept > /etc/mine",
    ]);
    assert_eq!(out, "root:x:0:\n");
    let data = fx.root.path().join("volumes/conf/_data");
    assert!(data.join("passwd").is_file(), "seeded from the image");
    assert_eq!(
        std::fs::read_to_string(data.join("mine")).unwrap(),
        "kept\n"
    );
    // The image itself was not written.
    assert!(!fx.image_dir().join("etc/mine").exists());

    // Second run, another container: same volume, same files; not seeded
    // again (the file the image lacks is still there, one the first run
    // removed stays removed).
    std::fs::remove_file(data.join("group")).unwrap();
    let out = fx.run_ok(&[
        "-v",
        "conf:/etc",
        "busybox",
        "sh",
        "-c",
        "cat /etc/mine; test -e /etc/group || echo no-group",
    ]);
    assert_eq!(out, "kept\nno-group\n");
    assert!(fx.containers().is_empty());

    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fx.root.path().join("volumes/conf/volume.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["name"], "conf");
    assert_eq!(record["driver"], "local");
    assert_eq!(record["mountpoint"], data.display().to_string());
}

#[test]
fn a_missing_host_directory_is_created_0755() {
    if !testkit::require_root("a_missing_host_directory_is_created_0755") {
        return;
    }
    let fx = Fixture::new();
    let host = testkit::DataRoot::new();
    let missing = host.path().join("new/dir");
    let spec = format!("{}:/data", missing.display());
    let out = fx.run_ok(&[
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/f; echo ok",
    ]);
    assert_eq!(out, "ok\n");
    assert_eq!(std::fs::read_to_string(missing.join("f")).unwrap(), "hi\n");
    for dir in [host.path().join("new"), missing.clone()] {
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o7777,
            0o755,
            "{}",
            dir.display()
        );
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    }
}

#[test]
fn volume_ls_inspect_and_rm() {
    if !testkit::require_root("volume_ls_inspect_and_rm") {
        return;
    }
    let fx = Fixture::new();
    assert_eq!(volume(&fx, &["create", "db"]).1, "db\n");
    fx.run_ok(&["-v", "web-data:/srv", "busybox", "true"]);
    let (code, random, _) = volume(&fx, &["create"]);
    assert_eq!(code, 0);
    let random = random.trim().to_string();
    assert_eq!(random.len(), 64);
    assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(volume(&fx, &["rm", &random]).0, 0);

    let (code, ls, _) = volume(&fx, &["ls"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("volume_ls", ls);
    assert_eq!(volume(&fx, &["ls", "-q"]).1, "db\nweb-data\n");
    let (code, inspect, _) = volume(&fx, &["inspect", "db"]);
    assert_eq!(code, 0);
    filters(&fx).bind(|| insta::assert_snapshot!("volume_inspect", inspect));

    // Missing ones: Docker prints what it found, then each error, exit 1.
    let (code, out, err) = volume(&fx, &["inspect", "nope"]);
    assert_eq!((code, out.as_str()), (1, "[]\n"));
    assert!(err.trim_end().ends_with("no such volume: nope"), "{err}");

    // A running container holds its volume: rm refuses, exit 1.
    let mut running = fx.spawn(&[
        "-v",
        "db:/data",
        "busybox",
        "sh",
        "-c",
        "echo up; read x; exit 0",
    ]);
    assert_eq!(running.line(), "up");
    let (code, _, err) = volume(&fx, &["rm", "db"]);
    assert_eq!(code, 1);
    assert!(
        err.trim_end()
            .ends_with("remove db: volume is in use by a running container"),
        "{err}"
    );
    assert!(fx.root.path().join("volumes/db/_data").is_dir());
    assert_eq!(running.finish(), 0);

    // Once it has stopped: removed, with its data. rm goes on past errors.
    let (code, out, err) = volume(&fx, &["rm", "nope", "db", "web-data"]);
    assert_eq!(code, 1);
    assert_eq!(out, "db\nweb-data\n");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no such volume: nope"), "{err}");
    assert!(!fx.root.path().join("volumes/db").exists());
    assert_eq!(volume(&fx, &["ls", "-q"]).1, "");
    assert_eq!(volume(&fx, &["ls"]).1, "DRIVER    VOLUME NAME\n");
}
