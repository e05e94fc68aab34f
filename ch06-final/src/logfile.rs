//! A container's log: one file of JSON lines, in the format of Docker's
//! `json-file` driver, so that anyone who knows Docker's logs can read ours:
//!
//! ```text
//! <root>/containers/<id>/<id>-json.log
//! {"log":"1\n","stream":"stdout","time":"2025-01-01T12:00:00.000000001Z"}
//! {"log":"3\n","stream":"stderr","time":"2025-01-01T12:00:00.100000001Z"}
//! ```
//!
//! One line per line the container wrote, in the order they were read,
//! with the stream it came on and the time it was read. Both streams share
//! the file, so the order between them is kept. A line longer than
//! [`MAX_LINE`] is cut into several entries; only the last one ends in a
//! newline (Docker's "partial" messages), so printing the entries one
//! after the other gives back the bytes the container wrote.
//!
//! Containers of an earlier mydocker have two plain files instead,
//! `stdout.log` and `stderr.log`; `logs` still reads those, and the
//! container's next `start` turns them into the start of its JSON log
//! ([`adopt_plain_files`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

/// The longest entry: a longer line is split, as Docker splits at 16 KiB.
pub const MAX_LINE: usize = 16 << 10;

/// The log of container `id` in its directory `dir`: Docker's name for it.
pub fn path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}

/// Which of the container's output streams a line came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// File descriptor 1 (with `-t`, the terminal: everything).
    Stdout,
    /// File descriptor 2.
    Stderr,
}

// ANCHOR: entry
/// One line of the log, as Docker's `json-file` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The line, with its newline (none on a partial line). Bytes that are
    /// not UTF-8 become U+FFFD, as in Docker.
    pub log: String,
    /// The stream it came on.
    pub stream: Stream,
    /// When it was read, RFC 3339 with nanoseconds.
    pub time: String,
}
// ANCHOR_END: entry

impl Entry {
    /// An entry for `bytes` read on `stream` at `time`.
    pub fn new(bytes: &[u8], stream: Stream, time: Timestamp) -> Entry {
        Entry {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream,
            time: time.rfc3339_nano(),
        }
    }

    /// One line of the file, or `None` for a damaged one (cut by a crash
    /// in the middle of a write).
    pub fn parse(line: &[u8]) -> Option<Entry> {
        serde_json::from_slice(line).ok()
    }

    /// The time it was read; a time that cannot be read sorts first.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::parse_rfc3339(&self.time).unwrap_or(Timestamp::from_unix(i64::MIN / 2, 0))
    }
}

// ANCHOR: adopt
/// A container of an earlier mydocker that runs again (`start`): its two
/// plain files, `stdout.log` and `stderr.log` in `dir`, become the start
/// of its JSON log, so that `logs` shows its old output before the new.
/// Their lines get the time the file was last written (the best there is),
/// the older file's first. The JSON log is written beside and renamed into
/// place before the old files go: a crash leaves one or the other.
pub fn adopt_plain_files(dir: &Path, id: &str, plain: [(&str, Stream); 2]) -> Result<()> {
    let json = path(dir, id);
    let mut files = Vec::new();
    for (name, stream) in plain {
        let file = dir.join(name);
        match std::fs::metadata(&file) {
            Ok(meta) => {
                let time = meta.modified().map_or(Timestamp::now(), Timestamp::from);
                files.push((file, stream, time));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("stat {}", file.display())),
        }
    }
    if files.is_empty() || json.exists() {
        return Ok(());
    }
    files.sort_by_key(|(_, _, time)| *time);
    let temp = dir.join(format!(".{id}-json.log.new"));
    let mut out = Vec::new();
    for (file, stream, time) in &files {
        let data = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
        for line in data.split_inclusive(|b| *b == b'\n') {
            let mut entry = serde_json::to_vec(&Entry::new(line, *stream, *time))
                .context("encode a log entry")?;
            entry.push(b'\n');
            out.extend_from_slice(&entry);
        }
    }
    std::fs::write(&temp, &out).with_context(|| format!("write {}", temp.display()))?;
    std::fs::rename(&temp, &json).with_context(|| format!("rename {}", temp.display()))?;
    for (file, _, _) in &files {
        std::fs::remove_file(file).with_context(|| format!("remove {}", file.display()))?;
    }
    Ok(())
}
// ANCHOR_END: adopt

/// The log, open for appending.
pub struct LogWriter {
    file: File,
    path: PathBuf,
}

impl LogWriter {
    /// Opens (or creates) the log at `path` for appending, close-on-exec:
    /// the container never holds it. `start` appends to what the earlier
    /// runs wrote, as Docker does.
    pub fn open(path: &Path) -> Result<LogWriter> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o640)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .with_context(|| format!("open {}", path.display()))?;
        // A supervisor killed in the middle of a write left half a line:
        // end it, so that the next entry starts a line of its own.
        let len = file
            .seek(SeekFrom::End(0))
            .with_context(|| format!("seek in {}", path.display()))?;
        if len > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .with_context(|| format!("read {}", path.display()))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")
                    .with_context(|| format!("write {}", path.display()))?;
            }
        }
        Ok(LogWriter {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends `entry` as one line, in one `write(2)`: a reader never sees
    /// half of it, unless the disk is full or the writer dies in between.
    pub fn append(&mut self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(entry).context("encode a log entry")?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .with_context(|| format!("write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_dockers_json_lines() {
        let time = Timestamp::from_unix(1_735_732_800, 1);
        let entry = Entry::new(b"hello \"world\"\n", Stream::Stderr, time);
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(
            json,
            r#"{"log":"hello \"world\"\n","stream":"stderr","time":"2025-01-01T12:00:00.000000001Z"}"#
        );
        assert_eq!(Entry::parse(json.as_bytes()), Some(entry.clone()));
        assert_eq!(entry.timestamp(), time);
        // Docker's own lines (trailing zeros of the time trimmed) read too.
        let docker = br#"{"log":"x\n","stream":"stdout","time":"2025-01-01T12:00:00.5Z"}"#;
        let entry = Entry::parse(docker).unwrap();
        assert_eq!(
            entry.timestamp(),
            Timestamp::from_unix(1_735_732_800, 500_000_000)
        );
        assert_eq!(Entry::parse(b"{\"log\":\"cut"), None);
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character() {
        let entry = Entry::new(b"a\xffb\n", Stream::Stdout, Timestamp::from_unix(0, 0));
        assert_eq!(entry.log, "a\u{fffd}b\n");
    }

    #[test]
    fn old_plain_files_become_the_start_of_the_json_log() {
        let dir = tempfile::tempdir().unwrap();
        let plain = [
            ("stdout.log", Stream::Stdout),
            ("stderr.log", Stream::Stderr),
        ];
        std::fs::write(dir.path().join("stderr.log"), b"e1\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("stdout.log"), b"o1\no2").unwrap();
        adopt_plain_files(dir.path(), "abc", plain).unwrap();
        assert!(!dir.path().join("stdout.log").exists());
        assert!(!dir.path().join("stderr.log").exists());
        let text = std::fs::read_to_string(path(dir.path(), "abc")).unwrap();
        let entries: Vec<(String, Stream)> = text
            .lines()
            .map(|l| Entry::parse(l.as_bytes()).unwrap())
            .map(|e| (e.log, e.stream))
            .collect();
        assert_eq!(
            entries,
            [
                ("e1\n".to_string(), Stream::Stderr),
                ("o1\n".to_string(), Stream::Stdout),
                ("o2".to_string(), Stream::Stdout),
            ]
        );
        // Once adopted, nothing more to do; no old files, nothing at all.
        adopt_plain_files(dir.path(), "abc", plain).unwrap();
        let empty = tempfile::tempdir().unwrap();
        adopt_plain_files(empty.path(), "abc", plain).unwrap();
        assert!(!path(empty.path(), "abc").exists());
    }

    #[test]
    fn a_torn_last_line_is_ended_before_the_next_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(dir.path(), "abc");
        assert!(path.ends_with("abc-json.log"));
        std::fs::write(&path, b"{\"log\":\"to").unwrap();
        let mut writer = LogWriter::open(&path).unwrap();
        let entry = Entry::new(b"next\n", Stream::Stdout, Timestamp::from_unix(0, 0));
        writer.append(&entry).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(Entry::parse(lines[0].as_bytes()), None);
        assert_eq!(Entry::parse(lines[1].as_bytes()), Some(entry));
    }
}
