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
//!
//! The child allocates the pseudo-terminal itself, as its last step before
//! `exec`, from `/dev/ptmx` as it sees it. From chapter 3 on, that is the
//! container's own `devpts` instance, so the slave is `/dev/pts/0` *inside*:
//! `tty` and `ttyname(3)` find it there, and the container never holds a
//! terminal of the host's `devpts`. A pseudo-terminal opened by the parent
//! would live in the host's instance, which the container cannot see. The
//! child then hands the master to mydocker over a unix socket: a descriptor
//! sent with `SCM_RIGHTS` arrives as a new descriptor of the receiver,
//! pointing at the same open file.

use std::io::{IoSlice, IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::Winsize;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use nix::sys::stat::Mode;
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

/// Both ends of a new pseudo-terminal.
pub struct Pty {
    /// mydocker's end.
    pub master: OwnedFd,
    /// The container's end.
    pub slave: OwnedFd,
}

// ANCHOR: open
impl Pty {
    /// Opens a new pseudo-terminal from `/dev/ptmx` as the calling process
    /// sees it (after `pivot_root`, the container's), with the window size
    /// `size` if there is one.
    pub fn open(size: Option<Winsize>) -> Result<Pty> {
        // Each open of ptmx creates a new pair, in the devpts instance that
        // ptmx belongs to. O_NOCTTY: it must not become *our* terminal here.
        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let master = open("/dev/ptmx", flags, Mode::empty()).context("open /dev/ptmx")?;
        // A new slave is locked until its master unlocks it, so nobody can
        // open it before its owner has set it up.
        let unlock: libc::c_int = 0;
        if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
            return Err(std::io::Error::last_os_error())
                .context("ioctl TIOCSPTLCK on /dev/ptmx (is it a pseudo-terminal multiplexer?)");
        }
        // The slave, opened through the master rather than by its name
        // /dev/pts/N: no path lookup that something else could answer. Not
        // close-on-exec: it becomes the container's stdio (dup2 clears the
        // flag, except when the slave already is 0, 1 or 2).
        let peer = OFlag::O_RDWR | OFlag::O_NOCTTY;
        let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, peer.bits()) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error())
                .context("ioctl TIOCGPTPEER to open the terminal's slave");
        }
        // SAFETY: the kernel just returned this new descriptor to us alone.
        let slave = unsafe { OwnedFd::from_raw_fd(fd) };
        if let Some(size) = size {
            if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
                return Err(std::io::Error::last_os_error())
                    .context("ioctl TIOCSWINSZ on the container's terminal");
            }
        }
        Ok(Pty { master, slave })
    }
}
// ANCHOR_END: open

/// The window size of the user's terminal (mydocker's stdin), if it is one.
pub fn user_window_size() -> Option<Winsize> {
    window_size(std::io::stdin().as_fd())
}

/// A connected pair of unix sockets, close-on-exec: mydocker keeps the first,
/// the child the second, and the child sends the terminal's master through it.
pub fn socket_pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the container's terminal")
}

// ANCHOR: in_container
/// In the child, after every hook and just before `exec`: allocates the
/// container's terminal, sends its master to mydocker through `socket`, and
/// makes the slave the child's controlling terminal and standard streams.
/// `size` is the user's window, measured by the parent before `clone`: set
/// here, before `exec`, the command's first look at its size is right.
pub fn open_in_container(socket: RawFd, size: Option<Winsize>) -> Result<()> {
    let pty = Pty::open(size)?;
    // One byte of data carries the descriptor: a stream socket sends no
    // control message alone.
    let fds = [pty.master.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        socket,
        &[IoSlice::new(b"t")],
        &rights,
        MsgFlags::empty(),
        None,
    )
    .context("sendmsg the terminal's master to mydocker")?;
    // mydocker has the master now; the container keeps only the slave.
    drop(pty.master);
    // make_controlling puts the slave on 0, 1 and 2 and closes this copy.
    make_controlling(pty.slave.into_raw_fd())
}

/// In the parent: the master the child sent through `socket`, or `None` if
/// the child closed its end without sending one (it failed, or died).
pub fn receive_master(socket: &OwnedFd) -> Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg = loop {
        // MSG_CMSG_CLOEXEC: the received descriptor must not leak into
        // anything mydocker runs later.
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err).context("recvmsg the container's terminal"),
            Ok(msg) => break msg,
        }
    };
    if msg.bytes == 0 {
        return Ok(None);
    }
    let mut master = None;
    for cmsg in msg.cmsgs().context("recvmsg the container's terminal")? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: SCM_RIGHTS installed these descriptors in our table.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                master.get_or_insert(fd);
            }
        }
    }
    match master {
        Some(master) => Ok(Some(master)),
        None => bail!("recvmsg the container's terminal: no descriptor came with the message"),
    }
}
// ANCHOR_END: in_container

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
