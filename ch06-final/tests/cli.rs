//! The command line as a user meets it; none of these needs root.

use assert_cmd::Command;

fn md(args: &[&str]) -> std::process::Output {
    let root = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("mydocker")
        .expect("the binary")
        .arg("--root")
        .arg(root.path())
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .expect("run mydocker")
}

/// `run --help`: the synopsis the book shows, every chapter's options and
/// this chapter's (`-d`, `--rm`, `--restart`, `-e`, `-w`).
#[test]
fn run_help_is_stable() {
    let run = md(&["run", "--help"]);
    assert!(run.status.success());
    insta::assert_snapshot!("run_help", String::from_utf8_lossy(&run.stdout));
}
