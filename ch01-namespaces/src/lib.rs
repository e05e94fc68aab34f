//! Chapter 1: a process in its own namespaces.
//!
//! The modules are listed in the order the book tells them:
//!
//! 1. [`spec`]: what the user asked for (command, hostname, environment).
//! 2. [`lifecycle`]: the fixed sequence of moments in a container's life and
//!    the [`lifecycle::Hook`] trait every later chapter plugs into.
//! 3. [`namespaces`]: the namespaces we ask `clone(2)` for, and chapter 1's own
//!    hooks (private mounts, hostname, a fresh `/proc`).
//! 4. [`exec`]: finding the command and replacing the child with it.
//! 5. [`signals`]: forwarding signals and turning a wait status into an exit code.
//! 6. [`tty`]: a pseudo-terminal for `-t`.
//! 7. [`cli`] and [`dialect`]: the command line, in Docker's and the seed's spellings.
//! 8. [`exit`]: Docker's exit codes for errors.
//! 9. [`capabilities`], [`masks`], [`seccomp`] and [`confine`]: what root
//!    inside may still do, reduced to Docker's defaults just before `exec`.
//! 10. [`userns`]: `--userns=private`, a user namespace that maps root
//!     inside to an unprivileged host id from `/etc/subuid`.
//! 11. [`init`]: `--init`, a tiny PID 1 that forwards signals to the
//!     command and reaps orphaned processes.

pub mod capabilities;
pub mod cli;
pub mod confine;
pub mod dialect;
pub mod exec;
pub mod exit;
pub mod init;
pub mod lifecycle;
pub mod masks;
pub mod namespaces;
pub mod seccomp;
pub mod signals;
pub mod spec;
pub mod tty;
pub mod userns;
