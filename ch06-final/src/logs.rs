//! `logs`: what a container printed, each line on the stream it was
//! written to (stdout lines on stdout, stderr lines on stderr) and in the
//! order it was written; with `-f` what it prints next, until it exits.
//!
//! The log is chapter 6's [JSON lines file](crate::logfile). `-n/--tail N`
//! counts lines of that one file, both streams together, as Docker's
//! `json-file` reader does; `--since` and `--until` select by the time of
//! each line; `-t` puts that time before it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use ch04_images::containers::{ContainerStore, Record, Status};

use crate::cli::LogsArgs;
use crate::logfile::{self, Entry, Stream};
use crate::state::{STDERR_LOG, STDOUT_LOG};
use crate::timestamp::Timestamp;

/// How often `logs -f` looks for new output.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

/// How long `logs -f` waits, after the container's process is gone, for its
/// supervisor to record the exit (a killed supervisor never will).
const RECORD_GRACE: Duration = Duration::from_secs(2);

/// `--tail`: everything, or the last N lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Every line.
    All,
    /// The last N lines.
    Last(usize),
}

impl std::str::FromStr for Tail {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Tail> {
        if text == "all" {
            return Ok(Tail::All);
        }
        match text.parse::<i64>() {
            Ok(n) if n < 0 => Ok(Tail::All),
            Ok(n) => Ok(Tail::Last(n as usize)),
            Err(_) => bail!("invalid --tail {text:?}: use a number or \"all\""),
        }
    }
}

// ANCHOR: query
/// What `logs` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// `-n/--tail`.
    pub tail: Tail,
    /// `-f/--follow`.
    pub follow: bool,
    /// `-t/--timestamps`.
    pub timestamps: bool,
    /// `--since`: lines written at or after this time.
    pub since: Option<Timestamp>,
    /// `--until`: lines written at or before this time.
    pub until: Option<Timestamp>,
}

impl Query {
    /// The query of `args`; relative times count back from `now`.
    pub fn new(args: &LogsArgs, now: Timestamp) -> Result<Query> {
        let time = |value: &Option<String>, what: &str| -> Result<Option<Timestamp>> {
            value
                .as_deref()
                .map(|text| {
                    Timestamp::parse_user(text, now)
                        .with_context(|| format!("invalid value for {what:?}"))
                })
                .transpose()
        };
        Ok(Query {
            tail: args.tail.parse()?,
            follow: args.follow,
            timestamps: args.timestamps,
            since: time(&args.since, "since")?,
            until: time(&args.until, "until")?,
        })
    }

    /// Whether `entry` is shown: `Some(false)` skips it (before
    /// `--since`), `None` ends the output (after `--until`: the lines are
    /// in time order, every later one is after it too).
    fn admits(&self, entry: &Entry) -> Option<bool> {
        let time = entry.timestamp();
        if self.until.is_some_and(|until| time > until) {
            return None;
        }
        Some(self.since.is_none_or(|since| time >= since))
    }
}
// ANCHOR_END: query

// ANCHOR: logs
/// Prints the logs of `record` as `args` asks; with `-f`, keeps printing
/// until the container exits.
pub fn logs(store: &ContainerStore, record: &Record, args: &LogsArgs) -> Result<()> {
    let query = Query::new(args, Timestamp::now())?;
    let dir = store.dir_of(&record.id);
    let json = logfile::path(&dir, &record.id);
    let (out, err) = (dir.join(STDOUT_LOG), dir.join(STDERR_LOG));
    if !json.exists() && (out.exists() || err.exists()) {
        return plain_files(store, record, &out, &err, &query);
    }
    let mut log = JsonLog::open(json, query)?;
    log.skip_to_tail()?;
    let more = log.print_new()?;
    if query.follow && more {
        follow(store, record, query.until, || log.print_new())?;
    }
    Ok(())
}

/// With `-f`: calls `print_new` until the container has exited (or,
/// across a restart, until it exits and stays down), or until it says
/// there is nothing more to print (`--until` has passed).
fn follow(
    store: &ContainerStore,
    record: &Record,
    until: Option<Timestamp>,
    mut print_new: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let mut gone_since = None;
    loop {
        // Look at the process first, then print: whatever it wrote before
        // it exited is in the log by then (its copier finishes before the
        // exit is recorded), so the last round gets it all. Once it is
        // gone, wait (briefly) for its supervisor to record the exit, so
        // that whoever runs `ps` after us sees it exited.
        let (alive, status) = store.get_by_id(&record.id).map_or((false, None), |r| {
            (r.live_process().is_some(), Some(r.status))
        });
        match alive {
            true => gone_since = None,
            false => {
                gone_since.get_or_insert_with(Instant::now);
            }
        }
        let running = alive
            || status == Some(Status::Restarting)
            || (status == Some(Status::Running)
                && gone_since.is_some_and(|t| t.elapsed() < RECORD_GRACE));
        if !print_new()? || !running || until.is_some_and(|u| Timestamp::now() > u) {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_INTERVAL);
    }
}
// ANCHOR_END: logs

/// The JSON lines log, and how far it has been printed.
struct JsonLog {
    path: PathBuf,
    file: Option<File>,
    /// The start of a line not yet complete in the file.
    partial: Vec<u8>,
    query: Query,
}

impl JsonLog {
    fn open(path: PathBuf, query: Query) -> Result<JsonLog> {
        Ok(JsonLog {
            file: open_if_there(&path)?,
            path,
            partial: Vec::new(),
            query,
        })
    }

    /// With `--tail N`: positions the file at the start of its last N lines.
    fn skip_to_tail(&mut self) -> Result<()> {
        if let (Some(file), Tail::Last(n)) = (&mut self.file, self.query.tail) {
            let start = tail_start(file, n)?;
            file.seek(SeekFrom::Start(start))
                .with_context(|| format!("seek in {}", self.path.display()))?;
        }
        Ok(())
    }

    // ANCHOR: print_new
    /// Prints the complete lines added since the last call, each on its
    /// stream. False once a line after `--until` was met: nothing more
    /// will be printed.
    fn print_new(&mut self) -> Result<bool> {
        if self.file.is_none() {
            // `logs -f` of a container of an earlier chapter, whose log
            // is made by its next start.
            self.file = open_if_there(&self.path)?;
        }
        let Some(file) = &mut self.file else {
            return Ok(true);
        };
        file.read_to_end(&mut self.partial)
            .with_context(|| format!("read {}", self.path.display()))?;
        let complete = self
            .partial
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let data: Vec<u8> = self.partial.drain(..complete).collect();
        let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            // A line cut by a crash of its writer is not an entry: skip it.
            let Some(entry) = Entry::parse(line) else {
                continue;
            };
            match self.query.admits(&entry) {
                None => return Ok(false),
                Some(false) => continue,
                Some(true) => {}
            }
            let out: &mut dyn Write = match entry.stream {
                Stream::Stdout => &mut stdout,
                Stream::Stderr => &mut stderr,
            };
            if self.query.timestamps {
                write!(out, "{} ", entry.timestamp()).context("write the log")?;
            }
            // Each line flushed at once: where both streams go to one
            // terminal or file, their lines stay in order there too.
            out.write_all(entry.log.as_bytes())
                .and_then(|()| out.flush())
                .context("write the log")?;
        }
        Ok(true)
    }
    // ANCHOR_END: print_new
}

fn open_if_there(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("open {}", path.display())),
    }
}

// ANCHOR: tail_offset
/// Where the last `lines` lines of `data` start. A last line without its
/// newline counts as a line.
pub fn tail_offset(data: &[u8], lines: usize) -> usize {
    if lines == 0 {
        return data.len();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, byte) in body.iter().enumerate().rev() {
        if *byte == b'\n' {
            seen += 1;
            if seen == lines {
                return i + 1;
            }
        }
    }
    0
}
// ANCHOR_END: tail_offset

/// Where the last `lines` lines of `file` start, read backwards in blocks
/// until there are enough of them (a long log is not read whole).
fn tail_start(file: &mut File, lines: usize) -> Result<u64> {
    let len = file.seek(SeekFrom::End(0)).context("seek in the log")?;
    let mut start = len;
    let mut data = Vec::new();
    loop {
        let step = start.min(64 << 10);
        start -= step;
        let mut block = vec![0u8; step as usize];
        file.seek(SeekFrom::Start(start))
            .context("seek in the log")?;
        file.read_exact(&mut block).context("read the log")?;
        block.extend_from_slice(&data);
        data = block;
        let off = tail_offset(&data, lines);
        if off > 0 || start == 0 {
            return Ok(start + off as u64);
        }
    }
}

/// A container of an earlier mydocker: its two plain files, `stdout.log`
/// and `stderr.log`. They have no times and no order between them, so
/// `--tail` counts in each file, and `-t`, `--since` and `--until` have
/// nothing to go by (they print every line, without a time).
fn plain_files(
    store: &ContainerStore,
    record: &Record,
    out_path: &Path,
    err_path: &Path,
    query: &Query,
) -> Result<()> {
    let mut files = [
        (
            open_if_there(out_path)?,
            Box::new(std::io::stdout()) as Box<dyn Write>,
        ),
        (open_if_there(err_path)?, Box::new(std::io::stderr())),
    ];
    for (file, _) in &mut files {
        if let (Some(file), Tail::Last(n)) = (file, query.tail) {
            let start = tail_start(file, n)?;
            file.seek(SeekFrom::Start(start))
                .context("seek in the log")?;
        }
    }
    let mut copy_new = || -> Result<bool> {
        for (file, out) in &mut files {
            if let Some(file) = file {
                std::io::copy(file, out).context("copy the log")?;
                out.flush().context("write the log")?;
            }
        }
        Ok(true)
    };
    copy_new()?;
    if query.follow {
        follow(store, record, None, copy_new)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        let data = b"a\nb\nc\n";
        assert_eq!(&data[tail_offset(data, 1)..], b"c\n");
        assert_eq!(&data[tail_offset(data, 2)..], b"b\nc\n");
        assert_eq!(&data[tail_offset(data, 5)..], b"a\nb\nc\n");
        assert_eq!(&data[tail_offset(data, 0)..], b"");
        let open = b"a\nb";
        assert_eq!(&open[tail_offset(open, 1)..], b"b");
        assert_eq!("all".parse::<Tail>().unwrap(), Tail::All);
        assert_eq!("-1".parse::<Tail>().unwrap(), Tail::All);
        assert_eq!("3".parse::<Tail>().unwrap(), Tail::Last(3));
        assert!("x".parse::<Tail>().is_err());
    }

    #[test]
    fn a_long_file_is_tailed_from_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let mut file = File::open(&path).unwrap();
        let start = tail_start(&mut file, 2).unwrap() as usize;
        assert_eq!(&text[start..], "line 49998\nline 49999\n");
        assert_eq!(tail_start(&mut file, 100_000).unwrap(), 0);
    }

    fn query(since: Option<i64>, until: Option<i64>) -> Query {
        Query {
            tail: Tail::All,
            follow: false,
            timestamps: false,
            since: since.map(|s| Timestamp::from_unix(s, 0)),
            until: until.map(|s| Timestamp::from_unix(s, 0)),
        }
    }

    #[test]
    fn since_and_until_select_by_time_inclusively() {
        let at = |s| Entry::new(b"x\n", Stream::Stdout, Timestamp::from_unix(s, 0));
        let q = query(Some(10), Some(20));
        assert_eq!(q.admits(&at(9)), Some(false));
        assert_eq!(q.admits(&at(10)), Some(true));
        assert_eq!(q.admits(&at(20)), Some(true));
        assert_eq!(q.admits(&at(21)), None);
        assert_eq!(query(None, None).admits(&at(0)), Some(true));
    }

    #[test]
    fn bad_times_are_named_as_docker_names_them() {
        let args = |since: &str| LogsArgs {
            follow: false,
            timestamps: false,
            since: Some(since.into()),
            until: None,
            tail: "all".into(),
            container: "c".into(),
        };
        let err = Query::new(&args("soon"), Timestamp::now()).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "invalid value for \"since\": failed to parse value as time or duration: \"soon\""
        );
        let q = Query::new(&args("10m"), Timestamp::from_unix(600, 0)).unwrap();
        assert_eq!(q.since, Some(Timestamp::from_unix(0, 0)));
    }
}
