//! Both drivers' core on this machine's real cgroup filesystems: create,
//! join through `cgroup.procs`, kill everything left, remove.
//!
//! On a hybrid host the v1 hierarchies carry the controllers and the
//! unified (v2) hierarchy has none, so the v2 driver is run without limits
//! there; its limit files are checked against a temporary tree in `src/v2.rs`.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ch02_cgroups::detect::Host;
use ch02_cgroups::driver::{Driver, procs};
use ch02_cgroups::limits::Limits;
use ch02_cgroups::v1::V1;
use ch02_cgroups::v2::V2;
use common::Parent;
use nix::unistd::Pid;

/// Creates the cgroup, joins a shell that forks once it is in, checks both
/// processes are members of every directory in `dirs`, kills, removes.
fn core_cycle(driver: &dyn Driver, parent: &Parent, id: &str) {
    let dirs: Vec<PathBuf> = driver.paths();
    driver.create().unwrap();
    driver.apply(&Limits::default()).unwrap();
    for dir in &dirs {
        assert!(
            dir.join("cgroup.procs").is_file(),
            "the kernel filled {}",
            dir.display()
        );
    }

    // The shell waits for a line, then forks: the fork happens after the
    // join, so the child must land in the cgroup too.
    let mut shell = Command::new("sh")
        .args(["-c", "read go; sleep 1000 & exec sleep 1001"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(shell.id() as i32);
    driver.join(pid).unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let expected = format!("/{}/{id}", parent.name);
    assert_eq!(
        own.lines()
            .filter(|l| l.ends_with(&format!(":{expected}")))
            .count(),
        dirs.len(),
        "one line per hierarchy in {own}"
    );
    shell.stdin.take().unwrap().write_all(b"go\n").unwrap();
    for dir in &dirs {
        let both = testkit::eventually(250, || (procs(dir).unwrap().len() == 2).then_some(()));
        assert!(both.is_some(), "the forked sleep is in {}", dir.display());
    }

    driver.kill().unwrap();
    for dir in &dirs {
        assert!(procs(dir).unwrap().is_empty(), "{} is empty", dir.display());
    }
    let status = shell.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    driver.remove().unwrap();
    for dir in &dirs {
        assert!(!dir.exists(), "{} removed", dir.display());
        assert!(!dir.parent().unwrap().exists(), "the empty parent is gone");
    }
}

#[test]
fn v2_create_join_kill_remove_on_the_real_mount() {
    if !testkit::require_root("v2_create_join_kill_remove_on_the_real_mount") {
        return;
    }
    let Some(root) = Host::detect().unwrap().unified else {
        eprintln!("skipping: this host has no cgroup2 mount");
        return;
    };
    let parent = Parent::new("v2core");
    let id = format!("{:064x}", std::process::id());
    let v2 = V2::new(&root, &parent.name, &id);
    // cgroup.kill is what v2 cleanup relies on (Linux 5.14 and later).
    let dir = root.join(&parent.name).join(&id);
    v2.create().unwrap();
    assert!(
        dir.join("cgroup.kill").is_file(),
        "this kernel has cgroup.kill"
    );
    v2.remove().unwrap();
    core_cycle(&v2, &parent, &id);
}

#[test]
fn v1_create_join_kill_remove_on_the_real_hierarchies() {
    if !testkit::require_root("v1_create_join_kill_remove_on_the_real_hierarchies") {
        return;
    }
    let host = Host::detect().unwrap();
    if host.v1.is_empty() {
        eprintln!("skipping: this host has no cgroup v1 controllers");
        return;
    }
    let parent = Parent::new("v1core");
    let id = format!("{:064x}", std::process::id());
    // Version 1 has no cgroup.kill: this is the pid-by-pid path.
    core_cycle(&V1::new(&host.v1, &parent.name, &id), &parent, &id);
}
