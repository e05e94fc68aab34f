//! The v2 driver's core on this machine's real cgroup2 mount: create, join
//! through `cgroup.procs`, kill with `cgroup.kill`, remove. (On a hybrid host
//! the unified hierarchy has no controllers, so no limits are written here;
//! the limit files are checked against a temporary tree in `src/v2.rs`.)

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use ch02_cgroups::detect::Host;
use ch02_cgroups::driver::{Driver, procs};
use ch02_cgroups::limits::Limits;
use ch02_cgroups::v2::V2;
use common::Parent;
use nix::unistd::Pid;

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
    let dir = root.join(&parent.name).join(&id);

    v2.create().unwrap();
    v2.apply(&Limits::default()).unwrap();
    assert!(
        dir.join("cgroup.procs").is_file(),
        "the kernel filled {}",
        dir.display()
    );
    assert!(
        dir.join("cgroup.kill").is_file(),
        "this kernel has cgroup.kill"
    );

    // A shell that waits for a line, then forks: the fork happens after the
    // join, so its child must land in the cgroup too.
    let mut shell = Command::new("sh")
        .args(["-c", "read go; sleep 1000 & exec sleep 1001"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(shell.id() as i32);
    v2.join(pid).unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        own.lines()
            .any(|l| l == format!("0::/{}/{id}", parent.name)),
        "{own}"
    );
    shell.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let both = testkit::eventually(250, || {
        let pids = procs(&dir).unwrap();
        (pids.len() == 2).then_some(pids)
    });
    assert!(both.is_some(), "the forked sleep joined: {:?}", procs(&dir));

    v2.kill().unwrap();
    assert!(procs(&dir).unwrap().is_empty());
    let status = shell.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by cgroup.kill"
    );

    v2.remove().unwrap();
    assert!(!dir.exists());
    assert!(
        !root.join(&parent.name).exists(),
        "the empty parent is gone"
    );
    assert_eq!(v2.path_for("memory"), Some(dir));
}
