//! The command line as a user meets it.

mod common;

use common::Fixture;

/// `run --help`: the synopsis the book shows.
#[test]
fn run_help_is_stable() {
    let out = assert_cmd::Command::new(Fixture::binary())
        .args(["run", "--help"])
        .env_remove("MYDOCKER_ROOT")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

/// `MYDOCKER_ROOT` moves the data root like `--root` does.
#[test]
fn the_root_can_come_from_the_environment() {
    if !testkit::require_root("the_root_can_come_from_the_environment") {
        return;
    }
    let fx = Fixture::new();
    let out = assert_cmd::Command::new(Fixture::binary())
        .current_dir(fx.cwd.path())
        .env("MYDOCKER_ROOT", fx.root.path())
        .args(["run", "busybox", "true"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fx.image_dir().join("bin/busybox").exists());
}

/// A relative `--root` works: the overlay's options get absolute paths.
#[test]
fn a_relative_root_works() {
    if !testkit::require_root("a_relative_root_works") {
        return;
    }
    let fx = Fixture::new();
    let out = assert_cmd::Command::new(Fixture::binary())
        .current_dir(fx.cwd.path())
        .env_remove("MYDOCKER_ROOT")
        .args([
            "--root",
            "rel-root",
            "run",
            "busybox",
            "sh",
            "-c",
            "echo hi > /f && cat /f",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hi\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        fx.cwd
            .path()
            .join("rel-root/images/busybox/bin/busybox")
            .exists()
    );
}
