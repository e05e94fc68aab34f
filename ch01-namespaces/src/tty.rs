//! A pseudo-terminal for `-t`, the way Docker gives one.
//!
//! The container must not share the user's terminal directly: its shell
//! would take over job control of a terminal that belongs to the user's own
//! session. Instead the container gets a new pseudo-terminal: the *slave*
//! side becomes its controlling terminal and its stdin, stdout and stderr,
//! while mydocker holds the *master* side, puts the user's terminal in raw
//! mode and copies bytes both ways. Ctrl-C then travels as a byte to the
//! container's terminal, whose line discipline turns it into SIGINT for the
//! container's foreground process, exactly as on a real console.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{Winsize, openpty};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

/// Both ends of a new pseudo-terminal.
pub struct Pty {
    /// mydocker's end.
    pub master: OwnedFd,
    /// The container's end.
    pub slave: OwnedFd,
}

impl Pty {
    /// Opens a pseudo-terminal with the size of the user's terminal, if any.
    pub fn open() -> Result<Pty> {
        let size = window_size(std::io::stdin().as_fd());
        let pty = openpty(size.as_ref(), None).context("openpty for the container's terminal")?;
        Ok(Pty {
            master: pty.master,
            slave: pty.slave,
        })
    }
}

// ANCHOR: controlling
/// In the child: start a new session and make the slave its controlling
/// terminal and its standard streams.
pub fn make_controlling(slave: RawFd) -> Result<()> {
    nix::unistd::setsid().context("setsid for the container's terminal")?;
    // TIOCSCTTY: "this terminal is the controlling terminal of my session".
    if unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) } < 0 {
        return Err(std::io::Error::last_os_error())
            .context("ioctl TIOCSCTTY on the container's terminal");
    }
    for target in 0..=2 {
        if unsafe { libc::dup2(slave, target) } < 0 {
            return Err(std::io::Error::last_os_error()).context("dup2 the terminal onto stdio");
        }
    }
    if slave > 2 {
        let _ = nix::unistd::close(slave);
    }
    Ok(())
}
// ANCHOR_END: controlling

static RESIZED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    RESIZED.store(true, Ordering::SeqCst);
}

/// Restores the user's terminal settings when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

// ANCHOR: relay
/// Copies the user's input to the container's terminal (with `-i`) and the
/// terminal's output to stdout, until the container closes its side.
pub fn relay(master: OwnedFd, interactive: bool) -> Result<()> {
    let _raw = if interactive { RawMode::enter() } else { None };
    let winch = SigAction::new(
        SigHandler::Handler(on_winch),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    unsafe { sigaction(Signal::SIGWINCH, &winch) }.context("sigaction for SIGWINCH")?;

    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut input_open = interactive;
    let mut buf = [0u8; 8192];
    loop {
        if RESIZED.swap(false, Ordering::SeqCst) {
            if let Some(size) = window_size(stdin.as_fd()) {
                unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
            }
        }
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if input_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err).context("poll the container's terminal"),
            Ok(_) => {}
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let master_ready = ready(&fds[0]);
        let stdin_ready = input_open && ready(&fds[1]);
        if stdin_ready {
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(0) | Err(_) => input_open = false,
                Ok(n) => write_all(master.as_fd(), &buf[..n])?,
            }
        }
        if master_ready {
            match nix::unistd::read(master.as_fd(), &mut buf) {
                // EIO: every copy of the slave is closed, the container is gone.
                Ok(0) | Err(Errno::EIO) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(err) => return Err(err).context("read the container's terminal"),
                Ok(n) => {
                    stdout.write_all(&buf[..n]).context("write to stdout")?;
                    stdout.flush().context("flush stdout")?;
                }
            }
        }
    }
}
// ANCHOR_END: relay

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err).context("write to the container's terminal"),
        }
    }
    Ok(())
}

fn window_size(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut size: Winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) } == 0;
    ok.then_some(size)
}
