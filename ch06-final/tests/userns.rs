//! `--userns=private` (acceptance 4): root inside is an unprivileged uid
//! outside, what it writes is that uid's on the host, and `exec`, `start`
//! and `rm` keep working. Each command sees its own `/etc/subuid` through
//! a private mount namespace; the machine's files are never changed.

mod common;

use std::os::unix::fs::MetadataExt;

use common::{Env, stderr, stdout};

const RANGE: &str = "root:100000:65536\n";

/// The host's view of a process's real uid.
fn host_uid(pid: i32) -> u32 {
    std::fs::metadata(format!("/proc/{pid}"))
        .expect("stat /proc/PID")
        .uid()
}

#[test]
fn container_root_is_an_unprivileged_host_uid() {
    if !testkit::require_root("container_root_is_an_unprivileged_host_uid") {
        return;
    }
    let env = Env::with_subids(RANGE);
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "u",
        "--userns=private",
        "busybox",
        "sh",
        "-c",
        "id > /id.txt; ls / > /ls.txt; echo made > /made; exec sleep 60",
    ]);
    let id = id.trim();
    let pid = env.pid("u");
    // `ps -o uid=` of the host.
    let ps = std::process::Command::new("ps")
        .args(["-o", "uid=", "-p", &pid.to_string()])
        .output()
        .expect("ps");
    assert_eq!(stdout(&ps).trim(), "100000");
    assert_eq!(host_uid(pid), 100000);

    // Inside it is root; its file in the upper layer is 100000's on the host.
    let upper = env.container_dir(id).join("upper");
    let made = testkit::eventually(50, || std::fs::metadata(upper.join("made")).ok())
        .expect("the container writes /made");
    assert_eq!((made.uid(), made.gid()), (100000, 100000));
    let inside = env.ok(&["exec", "u", "cat", "/id.txt", "/ls.txt"]);
    assert!(inside.starts_with("uid=0(root) gid=0(root)"), "{inside}");
    assert!(inside.contains("\nbin\n"), "{inside}");

    // exec joins the user namespace: root inside, 100000 outside.
    let out = env.ok(&[
        "exec",
        "u",
        "sh",
        "-c",
        "id -u; echo e > /e; cat /proc/self/uid_map",
    ]);
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fields, ["0", "0", "100000", "65536"]);
    assert_eq!(std::fs::metadata(upper.join("e")).unwrap().uid(), 100000);

    // The record keeps the map: start makes the same container again.
    env.ok(&["stop", "-t", "1", "u"]);
    env.ok(&["start", "u"]);
    let pid = testkit::eventually(50, || {
        let pid = env.pid("u");
        (pid > 0).then_some(pid)
    })
    .expect("a new pid after start");
    assert_eq!(host_uid(pid), 100000);
    assert_eq!(env.ok(&["exec", "u", "cat", "/made"]), "made\n");

    // rm leaves no container directory; the shifted image stays, as the
    // image itself does, for the next container of this map.
    env.ok(&["rm", "-f", "u"]);
    assert!(!env.container_dir(id).exists());
    assert!(testkit::host_mounts_containing(id).is_empty());
}

#[test]
fn without_the_flag_nothing_changes() {
    if !testkit::require_root("without_the_flag_nothing_changes") {
        return;
    }
    let env = Env::with_subids(RANGE);
    let out = env.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /proc/self/uid_map",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "4294967295"]
    );
}

#[test]
fn no_range_is_one_line_and_exit_125_with_nothing_made() {
    if !testkit::require_root("no_range_is_one_line_and_exit_125_with_nothing_made") {
        return;
    }
    let env = Env::with_subids("someone-else:100000:65536\n");
    let out = env.md(&["run", "--name", "x", "--userns=private", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/etc/subuid"), "{err}");
    assert!(
        err.contains("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 root"),
        "{err}"
    );
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
    let containers = env.root().join("containers");
    let left: Vec<_> = std::fs::read_dir(&containers)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|n| n == "names.json"), "{left:?}");
}
