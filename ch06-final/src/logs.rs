//! `logs`: what a detached container printed, stdout to stdout and stderr
//! to stderr, and with `-f` what it prints next, until it exits.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use ch04_images::containers::{ContainerStore, Record, Status};

use crate::state::{STDERR_LOG, STDOUT_LOG};

/// How often `logs -f` looks for new output.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

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

/// One log file and how far it has been printed.
struct Stream {
    file: Option<File>,
    out: Box<dyn Write>,
}

impl Stream {
    fn open(path: &Path, out: Box<dyn Write>) -> Result<Stream> {
        let file = match File::open(path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
        };
        Ok(Stream { file, out })
    }

    /// Prints the tail, and leaves the file positioned at its end.
    fn print_tail(&mut self, tail: Tail) -> Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if let Tail::Last(n) = tail {
            // Read backwards in blocks until there are enough lines.
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
                let off = tail_offset(&data, n);
                if off > 0 || start == 0 {
                    self.out.write_all(&data[off..]).context("write the log")?;
                    file.seek(SeekFrom::Start(len)).context("seek in the log")?;
                    break;
                }
            }
            return self.out.flush().context("write the log");
        }
        self.copy_new()
    }

    /// Prints whatever was written since the last call.
    fn copy_new(&mut self) -> Result<()> {
        if let Some(file) = &mut self.file {
            std::io::copy(file, &mut self.out).context("copy the log")?;
            self.out.flush().context("write the log")?;
        }
        Ok(())
    }

    /// `logs -f` may start before the container wrote anything.
    fn reopen_if_missing(&mut self, path: &Path) -> Result<()> {
        if self.file.is_none() {
            let out = std::mem::replace(&mut self.out, Box::new(std::io::sink()));
            *self = Stream::open(path, out)?;
        }
        Ok(())
    }
}

/// How long `logs -f` waits, after the container's process is gone, for its
/// supervisor to record the exit (a killed supervisor never will).
const RECORD_GRACE: Duration = Duration::from_secs(2);

// ANCHOR: logs
/// Prints the logs of `record`; with `follow`, keeps printing until the
/// container exits.
pub fn logs(store: &ContainerStore, record: &Record, tail: Tail, follow: bool) -> Result<()> {
    let dir = store.dir_of(&record.id);
    let (out_path, err_path) = (dir.join(STDOUT_LOG), dir.join(STDERR_LOG));
    let mut out = Stream::open(&out_path, Box::new(std::io::stdout()))?;
    let mut err = Stream::open(&err_path, Box::new(std::io::stderr()))?;
    out.print_tail(tail)?;
    err.print_tail(tail)?;
    if !follow {
        return Ok(());
    }
    let mut gone_since = None;
    loop {
        // Look at the process first, then copy: whatever it wrote before
        // it exited is in the files by then, so the last copy gets it all.
        // Once it is gone, wait (briefly) for its supervisor to record the
        // exit, so that whoever runs `ps` after us sees it exited.
        let (alive, recorded_running) = store.get_by_id(&record.id).map_or((false, false), |r| {
            (r.live_process().is_some(), r.status == Status::Running)
        });
        if !alive {
            gone_since.get_or_insert_with(std::time::Instant::now);
        }
        let running =
            alive || (recorded_running && gone_since.is_some_and(|t| t.elapsed() < RECORD_GRACE));
        out.reopen_if_missing(&out_path)?;
        err.reopen_if_missing(&err_path)?;
        out.copy_new()?;
        err.copy_new()?;
        if !running {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_INTERVAL);
    }
}
// ANCHOR_END: logs

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
}
