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

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};

use ch03_overlayfs::storage::clock;
use ch04_images::commands::{go_time, image_rows};
use ch04_images::containers::{ContainerStore, Record, Status};

use ch05_network::Attachment;

use crate::cli::PsArgs;
use crate::template::Rows;

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
/// Prints the table of the containers `args` selects (with `-q`, only the
/// ids; with `--format`, its template for each).
pub fn ps(store: &ContainerStore, args: &PsArgs) -> Result<()> {
    let filters = Filters::parse(&args.filter)?;
    let template = match &args.format {
        Some(format) if !args.quiet => Some(Rows::parse(format)?),
        _ => None,
    };
    // `-n`, `-l` and a status filter look at stopped containers too.
    let last = if args.latest {
        Some(1)
    } else {
        args.last.filter(|&n| n >= 0)
    };
    let all = args.all || last.is_some() || filters.has("status");
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    let mut objects = Vec::new();
    // Newest first, as the store lists them.
    let records = store.list()?.into_iter().filter(|r| filters.matches(r));
    for record in records.take(last.map_or(usize::MAX, |n| n as usize)) {
        let state = state(&record);
        // Docker counts a container between restarts as running.
        let up = matches!(state.status, Status::Running | Status::Restarting);
        if !all && !up {
            continue;
        }
        let fields = fields(&record, args.no_trunc);
        if args.quiet {
            writeln!(out, "{}", fields.id).context("write to stdout")?;
            continue;
        }
        if template.is_some() {
            objects.push(serde_json::to_value(&fields)?);
            continue;
        }
        rows.push([
            fields.id,
            fields.image,
            fields.command,
            fields.running_for,
            fields.status,
            fields.ports,
            fields.names,
        ]);
    }
    if args.quiet {
        return Ok(());
    }
    if let Some(template) = template {
        return write!(out, "{}", template.render(&header(), &objects)?).context("write to stdout");
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

/// Chapter 4's `images` with a `--format`: the same [`Rows`] over its
/// [`ImageRow`](ch04_images::commands::ImageRow)s.
pub fn images(root: &std::path::Path, format: &str) -> Result<()> {
    let rows = Rows::parse(format)?;
    let images = ch04_images::images::ImageStore::new(root);
    let objects = image_rows(&images)?
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    let header = json!({
        "Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
    });
    let text = rows.render(&header, &objects)?;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("write to stdout")
}

/// What `ps --format` can show of a container, under Docker's names
/// (`{{.ID}}`, `{{.Names}}`...).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fields {
    /// The id, short unless `--no-trunc`.
    #[serde(rename = "ID")]
    pub id: String,
    /// The image as the user named it.
    pub image: String,
    /// The command, quoted as the COMMAND column shows it.
    pub command: String,
    /// When it was created: `2024-05-01 12:34:56 +0000 UTC`.
    pub created_at: String,
    /// How long ago it was created: `5 seconds ago`.
    pub running_for: String,
    /// Its published ports, while it runs.
    pub ports: String,
    /// The STATUS column: `Up 5 seconds`, `Exited (0) 2 minutes ago`.
    pub status: String,
    /// One word: created, running, paused, restarting or exited.
    pub state: String,
    /// Its name.
    pub names: String,
    /// Its volumes' names or host paths, comma-separated.
    pub mounts: String,
    /// Its network's name.
    pub networks: String,
    /// Labels are not recorded yet: empty.
    pub labels: String,
}

/// The header row of `ps --format 'table ...'`.
fn header() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
        "Status": "STATUS", "State": "STATE", "Names": "NAMES", "Mounts": "MOUNTS",
        "Networks": "NETWORKS", "Labels": "LABELS",
    })
}

/// A container's [`Fields`].
pub fn fields(record: &Record, no_trunc: bool) -> Fields {
    let state = state(record);
    let attachment = record.part::<Attachment>().ok().flatten();
    let ports = match (state.status, &attachment) {
        (Status::Running, Some(attachment)) => attachment
            .ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let paused = state.status == Status::Running && crate::pause::is_paused(record);
    Fields {
        id: match no_trunc {
            true => record.id.clone(),
            false => record.short_id().to_string(),
        },
        image: record.image.clone(),
        command: command_text(&record.command, !no_trunc),
        created_at: go_time(&record.created),
        running_for: clock::ago(&record.created),
        ports,
        status: status_text(record),
        state: match paused {
            true => "paused".to_string(),
            false => state.status.to_string(),
        },
        names: record.name.clone(),
        mounts: record
            .mounts
            .iter()
            .map(|m| {
                m.name
                    .clone()
                    .unwrap_or_else(|| m.source.display().to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        networks: attachment
            .and_then(|a| a.network)
            .unwrap_or_else(|| "none".to_string()),
        labels: String::new(),
    }
}

// ANCHOR: filters
/// `--filter KEY=VALUE`s: the values of one key are alternatives, different
/// keys must all match (Docker's rule).
#[derive(Debug, Default)]
pub struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

/// The keys `ps --filter` knows.
const FILTER_KEYS: &[&str] = &["status", "name", "id", "ancestor", "exited"];

/// The values of `status=`.
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

impl Filters {
    /// Parses and checks every `--filter`, with Docker's words for a bad one.
    pub fn parse(list: &[String]) -> Result<Filters> {
        let mut filters = Filters::default();
        for filter in list {
            let Some((key, value)) = filter.split_once('=') else {
                bail!("bad format of filter (expected name=value)");
            };
            let key = key.trim().to_lowercase();
            if !FILTER_KEYS.contains(&key.as_str()) {
                bail!("invalid filter '{key}'");
            }
            if key == "status" && !STATUSES.contains(&value) {
                bail!("invalid filter 'status={value}'");
            }
            if key == "exited" && value.parse::<i32>().is_err() {
                bail!("invalid filter 'exited={value}'");
            }
            filters
                .by_key
                .entry(key)
                .or_default()
                .push(value.to_string());
        }
        Ok(filters)
    }

    /// Whether there is a filter on `key`.
    pub fn has(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Whether `record` passes every key.
    pub fn matches(&self, record: &Record) -> bool {
        self.by_key
            .iter()
            .all(|(key, values)| values.iter().any(|v| matches(key, v, record)))
    }
}

/// One filter against one container.
fn matches(key: &str, value: &str, record: &Record) -> bool {
    let state = state(record);
    match key {
        // Docker matches names and ids as substrings and prefixes.
        "name" => record.name.contains(value.trim_start_matches('/')),
        "id" => record.id.starts_with(value),
        "status" => {
            let paused = state.status == Status::Running && crate::pause::is_paused(record);
            match paused {
                true => value == "paused",
                false => state.status.to_string() == value,
            }
        }
        "exited" => {
            state.status == Status::Exited
                && state.exit_code.map(|c| c.to_string()).as_deref() == Some(value)
        }
        "ancestor" => {
            let id = record.image_id.to_string();
            let hex = id.trim_start_matches("sha256:");
            record.image == value
                || record.image == format!("{value}:latest")
                || value.trim_end_matches(":latest") == record.image
                || (value.len() >= 4 && hex.starts_with(value.trim_start_matches("sha256:")))
        }
        _ => false,
    }
}
// ANCHOR_END: filters

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
