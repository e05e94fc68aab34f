//! The log copier: reads the container's output from pipes as it comes,
//! writes every line into the log with its stream and time, and (in the
//! foreground) shows the same bytes on mydocker's own stdout and stderr.
//!
//! ```text
//! container: fd 1 ──pipe──┐                       ┌─> <id>-json.log (every line, stream, time)
//!            fd 2 ──pipe──┤ copier thread: poll ──┤
//!                         │                       └─> mydocker's fd 1 / fd 2 (foreground)
//! ```
//!
//! It is one thread of the process that waits for the container (the
//! supervisor, or `mydocker run`), started after `clone` and ended before
//! the next one: a thread before `clone` would break the rule of one
//! thread at `clone` and `setns` (design.md), and only the thread that
//! calls `clone` survives in the child anyway. It cannot be the main
//! thread: with `-t` the main thread is busy in chapter 1's terminal relay,
//! whose output is then what comes down the pipe.
//!
//! Three rules keep it honest:
//! - it reads all the time, whatever the log file or the terminal do, so a
//!   full pipe never stops the container for long (a write error only
//!   ends the writing, never the reading);
//! - it ends only when every pipe is at its end (every writer gone) or,
//!   once the container has been reaped, when nothing is left to read: its
//!   last bytes are always in the log before `mydocker` exits;
//! - it takes no signal: Ctrl-C and SIGWINCH stay with the main thread,
//!   which forwards them and relays the terminal.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use nix::unistd::pipe2;

use crate::logfile::{Entry, LogWriter, MAX_LINE, Stream};
use crate::timestamp::Timestamp;

/// The copier's stack: it parses and writes short JSON lines, nothing more.
const STACK: usize = 256 << 10;

/// One pipe from the container, and where its bytes go.
pub struct Source {
    pipe: OwnedFd,
    stream: Stream,
    /// mydocker's own stdout or stderr, in the foreground.
    tee: Option<OwnedFd>,
    /// The start of a line whose newline has not come yet.
    pending: Vec<u8>,
}

impl Source {
    /// The read end `pipe` of the container's `stream`, shown also on
    /// `tee` if there is one.
    pub fn new(pipe: OwnedFd, stream: Stream, tee: Option<OwnedFd>) -> Source {
        Source {
            pipe,
            stream,
            tee,
            pending: Vec::new(),
        }
    }
}

/// A copier that has not started yet.
pub struct Copier {
    sources: Vec<Source>,
    log: LogWriter,
}

/// A running copier: [`Running::finish`] ends it.
pub struct Running {
    thread: JoinHandle<()>,
    /// Closed to say "the container is gone: read what is left, then end".
    done: OwnedFd,
}

impl Copier {
    /// A copier of `sources` into `log`.
    pub fn new(sources: Vec<Source>, log: LogWriter) -> Copier {
        Copier { sources, log }
    }

    // ANCHOR: spawn
    /// Starts the copier's thread, with every signal blocked in it (the
    /// thread inherits the mask of the thread that creates it).
    pub fn spawn(self) -> Result<Running> {
        let (done_r, done_w) = pipe2(OFlag::O_CLOEXEC).context("pipe2 for the log copier")?;
        let mut old = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), Some(&mut old))
            .context("pthread_sigmask to block signals in the log copier")?;
        let thread = std::thread::Builder::new()
            .name("log copier".into())
            .stack_size(STACK)
            .spawn(move || self.run(done_r));
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None)
            .context("pthread_sigmask to restore the signal mask")?;
        Ok(Running {
            thread: thread.context("start the log copier's thread")?,
            done: done_w,
        })
    }
    // ANCHOR_END: spawn

    // ANCHOR: run
    /// The thread: poll every open pipe (and the "done" pipe), copy what
    /// comes, until every pipe has ended, or the container is gone and
    /// nothing is left to read.
    fn run(mut self, done: OwnedFd) {
        let mut writing = Ok(());
        let mut open: Vec<bool> = vec![true; self.sources.len()];
        let mut container_gone = false;
        let mut buf = vec![0u8; 64 << 10];
        while open.contains(&true) {
            let mut fds: Vec<PollFd> = Vec::new();
            let mut which = Vec::new();
            for (i, source) in self.sources.iter().enumerate().filter(|(i, _)| open[*i]) {
                fds.push(PollFd::new(source.pipe.as_fd(), PollFlags::POLLIN));
                which.push(i);
            }
            if !container_gone {
                fds.push(PollFd::new(done.as_fd(), PollFlags::POLLIN));
            }
            // Once the container is gone, only what is already in the pipes.
            let timeout = match container_gone {
                true => PollTimeout::ZERO,
                false => PollTimeout::NONE,
            };
            let ready = match poll(&mut fds, timeout) {
                Err(Errno::EINTR) => continue,
                Err(err) => {
                    eprintln!("warning: poll the container's output: {err}");
                    break;
                }
                Ok(ready) => ready,
            };
            if container_gone && ready == 0 {
                break;
            }
            let readable: Vec<bool> = fds
                .iter()
                .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            if !container_gone && readable[fds.len() - 1] {
                container_gone = true;
            }
            for (slot, &i) in which.iter().enumerate() {
                if !readable[slot] {
                    continue;
                }
                let source = &mut self.sources[i];
                match nix::unistd::read(source.pipe.as_fd(), &mut buf) {
                    Ok(0) => open[i] = false,
                    Ok(n) => {
                        let now = Timestamp::now();
                        show(source, &buf[..n]);
                        if writing.is_ok() {
                            writing = log_lines(&mut self.log, source, &buf[..n], now);
                        }
                    }
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(_) => open[i] = false,
                }
            }
        }
        // A last line without its newline is a line too.
        for source in &mut self.sources {
            if !source.pending.is_empty() && writing.is_ok() {
                let line = std::mem::take(&mut source.pending);
                writing = self
                    .log
                    .append(&Entry::new(&line, source.stream, Timestamp::now()));
            }
        }
        if let Err(err) = writing {
            eprintln!("warning: the container's log is incomplete: {err:#}");
        }
    }
    // ANCHOR_END: run
}

impl Running {
    /// Ends the copier once the container has been reaped: it reads what
    /// is left in the pipes and returns. Never blocks for long: no
    /// process of the container is left to write.
    pub fn finish(self) -> Result<()> {
        drop(self.done);
        self.thread
            .join()
            .map_err(|_| anyhow!("the log copier's thread panicked"))
    }
}

/// Shows `bytes` on the source's terminal (or pipe) as they came, without
/// waiting for a newline: a prompt must appear before its answer is typed.
/// If that fails (nobody reads our stdout any more), it stops showing;
/// the log goes on.
fn show(source: &mut Source, bytes: &[u8]) {
    if let Some(tee) = &source.tee {
        if write_all(tee.as_fd(), bytes).is_err() {
            source.tee = None;
        }
    }
}

// ANCHOR: lines
/// Appends an entry for every line that `bytes` completes, and for every
/// [`MAX_LINE`] bytes of a line too long (a partial entry); keeps the rest
/// for later.
fn log_lines(log: &mut LogWriter, source: &mut Source, bytes: &[u8], now: Timestamp) -> Result<()> {
    source.pending.extend_from_slice(bytes);
    let mut start = 0;
    loop {
        let rest = &source.pending[start..];
        let window = &rest[..rest.len().min(MAX_LINE)];
        let end = match window.iter().position(|b| *b == b'\n') {
            Some(newline) => newline + 1,
            None if window.len() == MAX_LINE => MAX_LINE,
            None => break,
        };
        log.append(&Entry::new(&rest[..end], source.stream, now))?;
        start += end;
    }
    source.pending.drain(..start);
    Ok(())
}
// ANCHOR_END: lines

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> nix::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(path: &std::path::Path) -> Vec<Entry> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| Entry::parse(l.as_bytes()).unwrap())
            .collect()
    }

    /// Two pipes written in turn: the log has every line once, in order,
    /// split at newlines whatever the chunks, and the last line without
    /// its newline; the thread ends when the writers are gone.
    #[test]
    fn copies_lines_of_both_streams_in_the_order_they_come() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let (tee_r, tee_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let copier = Copier::new(
            vec![
                Source::new(out_r, Stream::Stdout, Some(tee_w)),
                Source::new(err_r, Stream::Stderr, None),
            ],
            LogWriter::open(&path).unwrap(),
        );
        let running = copier.spawn().unwrap();
        let settle = || std::thread::sleep(std::time::Duration::from_millis(50));
        write_all(out_w.as_fd(), b"1\n").unwrap();
        settle();
        write_all(err_w.as_fd(), b"3\n").unwrap();
        settle();
        write_all(out_w.as_fd(), b"tw").unwrap();
        settle();
        write_all(out_w.as_fd(), b"o\nend").unwrap();
        drop(out_w);
        drop(err_w);
        running.finish().unwrap();
        let entries = lines_of(&path);
        let got: Vec<(&str, Stream)> = entries.iter().map(|e| (&*e.log, e.stream)).collect();
        assert_eq!(
            got,
            [
                ("1\n", Stream::Stdout),
                ("3\n", Stream::Stderr),
                ("two\n", Stream::Stdout),
                ("end", Stream::Stdout),
            ]
        );
        assert!(
            entries
                .windows(2)
                .all(|w| w[0].timestamp() <= w[1].timestamp())
        );
        // The tee got the same bytes as they came.
        let mut shown = Vec::new();
        let mut tee = std::fs::File::from(tee_r);
        std::io::Read::read_to_end(&mut tee, &mut shown).unwrap();
        assert_eq!(shown, b"1\ntwo\nend");
    }

    /// What comes without a newline (a prompt) is shown at once; the log
    /// gets it when the line ends.
    #[test]
    fn a_prompt_is_shown_before_its_line_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let (tee_r, tee_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let running = Copier::new(
            vec![Source::new(out_r, Stream::Stdout, Some(tee_w))],
            LogWriter::open(&path).unwrap(),
        )
        .spawn()
        .unwrap();
        write_all(out_w.as_fd(), b"name? ").unwrap();
        let mut fds = [PollFd::new(tee_r.as_fd(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::from(5000u16)).unwrap(), 1);
        let mut shown = [0u8; 16];
        let n = nix::unistd::read(tee_r.as_fd(), &mut shown).unwrap();
        assert_eq!(&shown[..n], b"name? ");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        write_all(out_w.as_fd(), b"bob\n").unwrap();
        drop(out_w);
        running.finish().unwrap();
        assert_eq!(lines_of(&path)[0].log, "name? bob\n");
    }

    /// A writer that never closes (a leaked descriptor) does not keep the
    /// copier alive after `finish`; what it wrote is logged.
    #[test]
    fn finish_reads_what_is_left_and_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let running = Copier::new(
            vec![Source::new(out_r, Stream::Stdout, None)],
            LogWriter::open(&path).unwrap(),
        )
        .spawn()
        .unwrap();
        write_all(out_w.as_fd(), b"last words\n").unwrap();
        running.finish().unwrap();
        assert_eq!(lines_of(&path)[0].log, "last words\n");
        drop(out_w);
    }

    /// A line longer than the limit is cut; the pieces give it back.
    #[test]
    fn long_lines_are_split_into_partial_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let running = Copier::new(
            vec![Source::new(out_r, Stream::Stdout, None)],
            LogWriter::open(&path).unwrap(),
        )
        .spawn()
        .unwrap();
        let mut long = vec![b'x'; MAX_LINE * 2 + 10];
        long.push(b'\n');
        let writer = std::thread::spawn(move || write_all(out_w.as_fd(), &long).unwrap());
        writer.join().unwrap();
        running.finish().unwrap();
        let entries = lines_of(&path);
        assert_eq!(entries.len(), 3);
        assert!(
            entries[..2]
                .iter()
                .all(|e| e.log.len() == MAX_LINE && !e.log.ends_with('\n'))
        );
        let whole: String = entries.iter().map(|e| e.log.as_str()).collect();
        assert_eq!(whole.len(), MAX_LINE * 2 + 11);
    }
}
