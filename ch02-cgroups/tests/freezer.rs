//! `pause` and `unpause` on this machine's real cgroups: a counting loop in
//! the container's cgroup stops advancing while it is frozen, and goes on
//! once it is thawed; a frozen cgroup can still be killed and removed.
//!
//! No timing is asserted: "frozen" is "the counter did not change over many
//! polls", "thawed" is "it changed again, eventually".

mod common;

use std::path::Path;
use std::process::{Child, Command};

use ch02_cgroups::Cgroups;
use ch02_cgroups::detect::Host;
use ch02_cgroups::driver::Driver;
use ch02_cgroups::limits::Limits;
use ch02_cgroups::v1::V1;
use ch02_cgroups::v2::V2;
use common::Parent;
use nix::unistd::Pid;

/// A shell counting as fast as it can into `file`.
fn counter(file: &Path) -> Child {
    let script = format!(
        "i=0; while :; do i=$((i+1)); echo $i > {}; done",
        file.display()
    );
    Command::new("sh").args(["-c", &script]).spawn().unwrap()
}

fn count(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap_or_default()
}

/// True if the counter changes within a few seconds.
fn advances(file: &Path) -> bool {
    let before = count(file);
    testkit::eventually(250, || (count(file) != before).then_some(())).is_some()
}

/// True if the counter stays the same over 25 polls (half a second).
fn stands_still(file: &Path) -> bool {
    let before = count(file);
    (0..25).all(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        count(file) == before
    })
}

/// Freezes and thaws a counting loop through `pause` / `unpause`, then
/// kills it while frozen: cleanup must not hang on a frozen cgroup.
fn pause_cycle(driver: &dyn Driver, pause: &dyn Fn(bool) -> anyhow::Result<()>) {
    let tmp = testkit::DataRoot::new();
    let file = tmp.path().join("count");
    driver.create().unwrap();
    driver.apply(&Limits::default()).unwrap();
    let mut shell = counter(&file);
    driver.join(Pid::from_raw(shell.id() as i32)).unwrap();
    assert!(advances(&file), "the loop counts before the pause");

    pause(true).unwrap();
    assert!(driver.frozen().unwrap(), "the kernel says frozen");
    assert!(stands_still(&file), "the loop is stopped while frozen");

    pause(false).unwrap();
    assert!(!driver.frozen().unwrap());
    assert!(advances(&file), "the loop counts again after the thaw");

    // Frozen again, then cleaned up as a container's cleanup does.
    pause(true).unwrap();
    driver.kill().unwrap();
    let status = shell.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    driver.remove().unwrap();
    for dir in driver.paths() {
        assert!(!dir.exists(), "{} removed", dir.display());
    }
}

#[test]
fn v1_freezer_stops_and_resumes_a_counting_loop() {
    if !testkit::require_root("v1_freezer_stops_and_resumes_a_counting_loop") {
        return;
    }
    let host = Host::detect().unwrap();
    if !host.v1.contains_key("freezer") {
        eprintln!("skipping: this host has no cgroup v1 freezer hierarchy");
        return;
    }
    let parent = Parent::new("v1freezer");
    let id = format!("{:064x}", std::process::id());
    let v1 = V1::new(&host.v1, &parent.name, &id);
    // Through chapter 6's way in: the record's cgroup parent and id.
    let pause = |on: bool| {
        let cgroups = Cgroups::for_container(&parent.name, &id)?;
        match on {
            true => cgroups.pause(),
            false => cgroups.unpause(),
        }?;
        assert_eq!(cgroups.is_paused()?, on);
        Ok(())
    };
    pause_cycle(&v1, &pause);
}

#[test]
fn v2_cgroup_freeze_stops_and_resumes_a_counting_loop() {
    if !testkit::require_root("v2_cgroup_freeze_stops_and_resumes_a_counting_loop") {
        return;
    }
    let Some(root) = Host::detect().unwrap().unified else {
        eprintln!("skipping: this host has no cgroup2 mount");
        return;
    };
    // cgroup.freeze is a core file: it works in the unified hierarchy of a
    // hybrid host too, where no controller is enabled.
    let parent = Parent::new("v2freezer");
    let id = format!("{:064x}", std::process::id());
    let v2 = V2::new(&root, &parent.name, &id);
    let pause = |on: bool| match on {
        true => v2.freeze(),
        false => v2.thaw(),
    };
    pause_cycle(&v2, &pause);
}
