//! Chapter 6: the complete `mydocker`.
//!
//! Chapters 1 to 5 built a container that lives as long as the `mydocker`
//! command that started it. This chapter lets containers live in the
//! background, and adds everything needed to watch, enter, stop, start again
//! and remove them. The modules, in the order the book tells them:
//!
//! 1. [`supervisor`]: `run -d` forks a small supervisor that becomes the
//!    container's parent, reaps it and cleans up after it.
//! 2. [`hooks`]: this chapter's steps in the lifecycle: parent-death signal,
//!    logs, `start` of an existing layer; the logs are written by the
//!    [`copier`] into a [`logfile`] of JSON lines with [`timestamp`]s.
//! 3. [`state`]: this chapter's part of the container's record (processes
//!    are named by pid *and* start time, and held through chapter 4's
//!    pidfds).
//! 4. [`launch`]: `run` and `start`, every chapter's hooks in order.
//! 5. [`ps`], [`logs`], [`exec`], [`stop`], [`inspect`]: the commands that
//!    watch, enter and stop containers; `rm` is chapter 4's, releasing
//!    chapter 5's network too.
//! 6. [`restart`]: `--restart` policies, which the supervisor follows
//!    after each exit, with Docker's back-off.
//! 7. [`env`](mod@env) and [`cli`]: `-e`, `--env-file`, `-w`, and the whole command line.

pub mod cli;
pub mod control;
pub mod copier;
pub mod cp;
pub mod diff;
pub mod env;
pub mod exec;
pub mod hooks;
pub mod inspect;
pub mod launch;
pub mod logfile;
pub mod logs;
pub mod pause;
pub mod prune;
pub mod ps;
pub mod restart;
pub mod state;
pub mod stats;
pub mod stop;
pub mod supervisor;
pub mod system;
pub mod template;
pub mod timestamp;
pub mod top;
