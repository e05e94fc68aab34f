//! The freezer: `pause` and `unpause`, by the cgroup.
//!
//! Stopping a container with SIGSTOP would not do: the container's PID 1
//! ignores signals it has no handler for, a process may catch SIGCONT and
//! notice, and a process forked in between would keep running. The kernel's
//! freezer stops every task of a cgroup where it is, without a signal the
//! processes could see, and a task forked while it works is frozen too.
//!
//! | version | freeze                     | done when                       | thaw                       |
//! |---------|----------------------------|---------------------------------|----------------------------|
//! | v1      | `FROZEN` > `freezer.state` | `freezer.state` reads `FROZEN`  | `THAWED` > `freezer.state` |
//! | v2      | `1` > `cgroup.freeze`      | `cgroup.events` has `frozen 1`  | `0` > `cgroup.freeze`      |
//!
//! Freezing is not instant: each task is frozen when it next leaves the
//! kernel, so until all of them have, v1 reads `FREEZING` and v2's
//! `cgroup.events` still says `frozen 0`. We wait for the kernel to say it
//! is done, because `pause` returning means "nothing runs any more".

use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::driver::{read, write};

/// How often, and how many times, we look whether the kernel has finished:
/// ten seconds in all, far more than a freeze takes on a busy machine.
const POLL: Duration = Duration::from_millis(10);
const POLLS: u32 = 1000;

// ANCHOR: v1
/// v1: freezes the cgroup `dir` of the freezer hierarchy. The state file
/// is written again on every poll, as the kernel's documentation advises:
/// a task that was busy in the kernel the first time is caught the next.
/// If the freeze never completes, the cgroup is thawed again, so a failed
/// `pause` leaves the container running, not half-frozen.
pub fn freeze_v1(dir: &Path) -> Result<()> {
    for _ in 0..POLLS {
        write(dir, "freezer.state", "FROZEN")?;
        if read(dir, "freezer.state")? == "FROZEN" {
            return Ok(());
        }
        sleep(POLL);
    }
    thaw_v1(dir)?;
    bail!(
        "freeze {}: still FREEZING after 10s (a task stuck in the kernel?)",
        dir.display()
    )
}

/// v1: thaws the cgroup `dir`; the kernel thaws every task at once.
pub fn thaw_v1(dir: &Path) -> Result<()> {
    write(dir, "freezer.state", "THAWED")
}

/// v1: true when `freezer.state` says `FROZEN` (or `FREEZING`: on the way).
pub fn frozen_v1(dir: &Path) -> Result<bool> {
    Ok(read(dir, "freezer.state")? != "THAWED")
}
// ANCHOR_END: v1

// ANCHOR: v2
/// v2: freezes the cgroup `dir` and waits for `frozen 1` in its
/// `cgroup.events` (Linux 5.2 and later). Thawed again if that never comes.
pub fn freeze_v2(dir: &Path) -> Result<()> {
    write(dir, "cgroup.freeze", 1)?;
    if wait_for_event(dir, "frozen", "1")? {
        return Ok(());
    }
    thaw_v2(dir)?;
    bail!(
        "freeze {}: cgroup.events still says frozen 0 after 10s",
        dir.display()
    )
}

/// v2: thaws the cgroup `dir` and waits until the kernel says it is.
pub fn thaw_v2(dir: &Path) -> Result<()> {
    write(dir, "cgroup.freeze", 0)?;
    if !wait_for_event(dir, "frozen", "0")? {
        bail!(
            "thaw {}: cgroup.events still says frozen 1 after 10s",
            dir.display()
        );
    }
    Ok(())
}

/// v2: what `cgroup.events` says now.
pub fn frozen_v2(dir: &Path) -> Result<bool> {
    Ok(event(dir, "frozen")?.as_deref() == Some("1"))
}
// ANCHOR_END: v2

/// The value of `key` in the keyed file `dir/cgroup.events`
/// (`populated 1`, `frozen 0`).
fn event(dir: &Path, key: &str) -> Result<Option<String>> {
    let text = read(dir, "cgroup.events")?;
    Ok(text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().to_string())
    }))
}

/// Polls `cgroup.events` until `key` has `value`; false if it never does.
fn wait_for_event(dir: &Path, key: &str, value: &str) -> Result<bool> {
    for _ in 0..POLLS {
        if event(dir, key)?.as_deref() == Some(value) {
            return Ok(true);
        }
        sleep(POLL);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_writes_the_state_and_reads_it_back() {
        let tmp = tempfile::tempdir().unwrap();
        freeze_v1(tmp.path()).unwrap();
        assert_eq!(read(tmp.path(), "freezer.state").unwrap(), "FROZEN");
        assert!(frozen_v1(tmp.path()).unwrap());
        thaw_v1(tmp.path()).unwrap();
        assert_eq!(read(tmp.path(), "freezer.state").unwrap(), "THAWED");
        assert!(!frozen_v1(tmp.path()).unwrap());
    }

    #[test]
    fn v2_writes_cgroup_freeze_and_waits_for_the_event() {
        let tmp = tempfile::tempdir().unwrap();
        // What the kernel would show once every task is frozen.
        std::fs::write(tmp.path().join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        freeze_v2(tmp.path()).unwrap();
        assert_eq!(read(tmp.path(), "cgroup.freeze").unwrap(), "1");
        assert!(frozen_v2(tmp.path()).unwrap());
        std::fs::write(tmp.path().join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        thaw_v2(tmp.path()).unwrap();
        assert_eq!(read(tmp.path(), "cgroup.freeze").unwrap(), "0");
        assert!(!frozen_v2(tmp.path()).unwrap());
    }

    #[test]
    fn a_missing_events_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let err = frozen_v2(tmp.path()).unwrap_err().to_string();
        assert!(
            err.starts_with("read ") && err.contains("cgroup.events"),
            "{err}"
        );
    }
}
