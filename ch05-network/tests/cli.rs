//! The command line as a user meets it; none of these needs root.

use assert_cmd::Command;

fn md(args: &[&str]) -> std::process::Output {
    let root = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("ch05-network")
        .expect("the binary")
        .arg("--root")
        .arg(root.path())
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .expect("run ch05-network")
}

/// `network --help` and `run --help`: the synopses the book shows.
#[test]
fn help_is_stable() {
    let network = md(&["network", "--help"]);
    assert!(network.status.success());
    insta::assert_snapshot!("network_help", String::from_utf8_lossy(&network.stdout));
    let create = md(&["network", "create", "--help"]);
    insta::assert_snapshot!(
        "network_create_help",
        String::from_utf8_lossy(&create.stdout)
    );
    let run = md(&["run", "--help"]);
    insta::assert_snapshot!("run_help", String::from_utf8_lossy(&run.stdout));
}

/// Bad input found before anything is touched: one line, exit 125.
#[test]
fn bad_input_is_one_line_and_125() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["network", "create", "--subnet", "10.0.0.0/33", "n"],
            "invalid subnet",
        ),
        (
            &["network", "create", "--subnet", "10.0.0.0/24", "a/b"],
            "invalid network name",
        ),
        (
            &[
                "network",
                "create",
                "--driver",
                "overlay",
                "--subnet",
                "10.0.0.0/24",
                "n",
            ],
            "not supported",
        ),
        (&["network", "create", "n"], "--subnet"),
        (&["network", "rm", "n"], "network n not found"),
        (
            &["run", "-p", "81", "busybox", "true"],
            "a host port is required",
        ),
        (
            &["run", "-p", "81:81", "busybox", "true"],
            "needs a network",
        ),
        (
            &["run", "--net", "host", "busybox", "true"],
            "not supported",
        ),
    ];
    for (args, why) in cases {
        let out = md(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

/// `network ls` on an empty data root prints only the header.
#[test]
fn an_empty_list() {
    let out = md(&["network", "list"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NAME   DRIVER   SUBNET   GATEWAY   BRIDGE\n"
    );
}
