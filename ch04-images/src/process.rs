//! Processes named so that a recycled pid is not mistaken for them.
//!
//! A pid is only a number, and the kernel hands it out again once its
//! process is reaped. A record that says "pid 4242" may, after a crash,
//! name a stranger. The pid *and* its start time (clock ticks since boot)
//! name one process for as long as the machine runs.

use std::fs;

use serde::{Deserialize, Serialize};

// ANCHOR: process_ref
/// A process, named so that a recycled pid is not mistaken for it: its pid
/// and its start time (clock ticks since boot, from `/proc/PID/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    /// The pid, as the host sees it.
    pub pid: i32,
    /// When it started.
    pub start: u64,
}

impl ProcessRef {
    /// The process `pid`, if it exists.
    pub fn of(pid: i32) -> Option<ProcessRef> {
        process_start(pid).map(|start| ProcessRef { pid, start })
    }

    /// This process.
    pub fn me() -> Option<ProcessRef> {
        ProcessRef::of(std::process::id() as i32)
    }

    /// True while this very process exists and has not exited (a zombie
    /// has exited: it only waits for its parent to read its status, which
    /// takes long when its parent died and init is slow to do it).
    pub fn is_alive(&self) -> bool {
        process_start(self.pid) == Some(self.start) && !is_zombie(self.pid)
    }
}
// ANCHOR_END: process_ref

/// True if process `pid` has exited but was not reaped yet (state `Z`, or
/// `X` while it is being reaped; field 3 of `/proc/PID/stat`).
pub fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            Some(rest.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`).
pub fn process_start(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields resume after ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = ProcessRef::me().unwrap();
        assert!(me.is_alive());
        let other = ProcessRef {
            start: me.start + 1,
            ..me
        };
        assert!(!other.is_alive());
    }
}
