//! `ps`: Docker's table of containers.
//!
//! ```text
//! CONTAINER ID   IMAGE     COMMAND       CREATED         STATUS                     PORTS                NAMES
//! 3f2a9c1d0b7e   busybox   "sleep 60"    5 seconds ago   Up 5 seconds               0.0.0.0:81->81/tcp   d1
//! 9b1e0c4f2a6d   busybox   "sh -c 'e…"   2 minutes ago   Exited (0) 2 minutes ago                        brave_turing
//! 5c0d8e2b1a3f   busybox   "false"       8 seconds ago   Restarting (1) 1 second ago                     flaky
//! ```
//!
//! The status comes from the record, checked against the kernel: a record
//! that says "running" whose process is gone (its supervisor was killed,
//! the machine rebooted) is shown as exited, never as up with a stale pid.

use std::io::Write;

use anyhow::{Context, Result};

use ch03_overlayfs::storage::clock;
use ch04_images::containers::{ContainerStore, Record, Status};

use ch05_network::Attachment;

/// Docker's exit code for a container that died with its supervisor: it
/// was killed (SIGKILL, through its parent-death signal).
pub const LOST_EXIT_CODE: i32 = 137;

/// One container's state, as `ps` and `inspect` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// created, running, restarting or exited.
    pub status: Status,
    /// The exit code, once exited.
    pub exit_code: Option<i32>,
}

// ANCHOR: effective_state
/// What the container's state really is: the record, corrected by whether
/// its process still exists (pid and start time).
pub fn state(record: &Record) -> State {
    match record.status {
        Status::Running if record.live_process().is_none() => State {
            status: Status::Exited,
            exit_code: Some(record.exit_code.unwrap_or(LOST_EXIT_CODE)),
        },
        // Waiting to restart, but the supervisor that would is gone.
        Status::Restarting if !record.is_restarting() => State {
            status: Status::Exited,
            exit_code: Some(record.exit_code.unwrap_or(LOST_EXIT_CODE)),
        },
        status => State {
            status,
            exit_code: record.exit_code,
        },
    }
}
// ANCHOR_END: effective_state

/// Docker's human duration: "Less than a second", "3 seconds",
/// "About a minute", "2 hours"... (chapter 4's `ago` without the " ago").
pub fn since(timestamp: &str) -> String {
    let ago = clock::ago(timestamp);
    ago.strip_suffix(" ago").unwrap_or(&ago).to_string()
}

/// The STATUS column.
pub fn status_text(record: &Record) -> String {
    let state = state(record);
    match state.status {
        Status::Created => "Created".to_string(),
        Status::Running => {
            let paused = match crate::pause::is_paused(record) {
                true => " (Paused)",
                false => "",
            };
            format!(
                "Up {}{paused}",
                since(record.started.as_deref().unwrap_or(""))
            )
        }
        // Docker's words: the last exit code, and how long ago it was.
        Status::Restarting => format!(
            "Restarting ({}) {}",
            state.exit_code.unwrap_or(LOST_EXIT_CODE),
            record
                .finished
                .as_deref()
                .map(clock::ago)
                .unwrap_or_default()
        )
        .trim_end()
        .to_string(),
        Status::Exited => {
            let when = record
                .finished
                .as_deref()
                .map(clock::ago)
                .unwrap_or_default();
            // Docker's words, then ours: exit code 137 alone does not tell
            // an OOM kill from a `kill -9`, so the cause is added.
            let oom = if record.oom_killed {
                " (OOM killed)"
            } else {
                ""
            };
            format!(
                "Exited ({}) {when}",
                state.exit_code.unwrap_or(LOST_EXIT_CODE)
            )
            .trim_end()
            .to_string()
                + oom
        }
    }
}

/// The COMMAND column as Docker writes it: arguments with a space in single
/// quotes, the whole in double quotes, shortened to 20 characters.
pub fn command_text(command: &[String], truncate: bool) -> String {
    let words: Vec<String> = command
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && w.contains(' ') {
                format!("'{w}'")
            } else {
                w.clone()
            }
        })
        .collect();
    let joined = words.join(" ");
    let shown = if truncate && joined.chars().count() > 20 {
        let mut s: String = joined.chars().take(19).collect();
        s.push('…');
        s
    } else {
        joined
    };
    format!("\"{shown}\"")
}

// ANCHOR: ps
/// Prints the table (or, with `quiet`, only the ids).
pub fn ps(store: &ContainerStore, all: bool, quiet: bool, no_trunc: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    for record in store.list()? {
        let state = state(&record);
        // Docker counts a container between restarts as running.
        let up = matches!(state.status, Status::Running | Status::Restarting);
        if !all && !up {
            continue;
        }
        let id = if no_trunc {
            record.id.clone()
        } else {
            record.short_id().to_string()
        };
        if quiet {
            writeln!(out, "{id}").context("write to stdout")?;
            continue;
        }
        let ports = match (state.status, record.part::<Attachment>()) {
            (Status::Running, Ok(Some(attachment))) => attachment
                .ports
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        rows.push([
            id,
            record.image.clone(),
            command_text(&record.command, !no_trunc),
            clock::ago(&record.created),
            status_text(&record),
            ports,
            record.name.clone(),
        ]);
    }
    if quiet {
        return Ok(());
    }
    let header = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from);
    write!(out, "{}", table(&header, &rows)).context("write to stdout")
}
// ANCHOR_END: ps

/// Left-aligned columns, three spaces apart, like Docker's.
pub fn table<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in std::iter::once(header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(header).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(line.join("   ").trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_and_shortened() {
        let cmd = |s: &[&str]| s.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(command_text(&cmd(&["sleep", "60"]), true), "\"sleep 60\"");
        let long = cmd(&["sh", "-c", "echo hello; sleep 1000"]);
        assert_eq!(command_text(&long, true), "\"sh -c 'echo hello; …\"");
        assert_eq!(
            command_text(&long, false),
            "\"sh -c 'echo hello; sleep 1000'\""
        );
    }

    #[test]
    fn durations_read_like_dockers() {
        assert_eq!(since(&clock::now_rfc3339()), "Less than a second");
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(since(&clock::format_rfc3339(secs - 3, 0)), "3 seconds");
        assert_eq!(
            since(&clock::format_rfc3339(secs - 90, 0)),
            "About a minute"
        );
    }

    #[test]
    fn a_container_between_two_runs_reads_restarting_while_its_supervisor_lives() {
        let mut record: Record = serde_json::from_value(serde_json::json!({
            "id": "a".repeat(64), "name": "flaky", "image": "busybox",
            "image_id": format!("sha256:{}", "0".repeat(64)), "command": ["false"],
            "created": clock::now_rfc3339(), "status": "restarting", "exit_code": 1,
            "finished": clock::now_rfc3339(),
        }))
        .unwrap();
        record.supervisor = ch04_images::containers::ProcessRef::me();
        assert_eq!(
            status_text(&record),
            "Restarting (1) Less than a second ago"
        );
        assert_eq!(state(&record).status, Status::Restarting);
        // Nobody left to restart it: it is simply exited.
        record.supervisor = None;
        assert_eq!(status_text(&record), "Exited (1) Less than a second ago");
    }

    #[test]
    fn the_table() {
        let header = ["A".to_string(), "LONGER".to_string(), "C".to_string()];
        let rows = [["xyz".to_string(), "1".to_string(), String::new()]];
        insta::assert_snapshot!(table(&header, &rows), @r"
        A     LONGER   C
        xyz   1
        ");
    }
}
