//! Chapter 3: the container's own root filesystem.
//!
//! Chapters 1 and 2 gave a process its own namespaces and limits, but it
//! still saw the host's files. This chapter gives it an image instead. The
//! modules, in the order the book tells them:
//!
//! 1. [`images`]: an image is an unpacked directory under the data root,
//!    imported once from `NAME.tar`.
//! 2. [`overlay`]: the [`overlay::Overlay`] hook puts a private, writable
//!    layer over the shared, read-only image.
//! 3. [`volumes`]: the [`volumes::Volumes`] hook bind-mounts host paths into
//!    the new root, resolving their targets without leaving it; [`named`]
//!    keeps the named volumes (`-v NAME:/data`, `volume ls`).
//! 4. [`pivot`]: the [`pivot::PivotRoot`] hook swaps the root mount, then
//!    mounts `/sys` read-only and a fresh `/dev` ([`dev`]).
//! 5. [`readonly`]: the [`readonly::ReadOnlyRoot`] hook mounts the
//!    `--tmpfs` directories and makes `/` read-only (`--read-only`).
//! 6. [`cli`]: `run [flags] IMAGE [COMMAND...]`, `--root`, `-v`, `--read-only`, `--tmpfs`.
//! 7. [`syscall`]: the mount sequences make their kernel calls through the
//!    [`syscall::Syscall`] trait, so that a unit test can record them
//!    ([`syscall::Recorder`]) without root.
//! 8. [`storage`]: the data root's layout and the rules every record under
//!    it follows (lock, atomic write, timestamps), used by every later chapter.
//! 9. [`ownership`]: with `--userns=private`, the image's owners shifted
//!    into the map (a copy kept once per mapping), the upper layer given to
//!    the mapped root.
//!
//! The hooks a `run` assembles, in order (`enter` runs in the child):
//!
//! ```text
//! PrivateMounts  ch01  make every mount private (pivot_root needs it)
//! Hostname       ch01
//! Cgroups        ch02  limits; the parent puts the child in its cgroup
//! Overlay        ch03  prepare: upper/work/merged dirs; enter: mount overlay
//! Volumes        ch03  enter: bind mounts into merged
//! PivotRoot      ch03  enter: pivot_root, /sys, /dev
//! DeviceNodes    ch03  enter: the --device nodes in /dev
//! ProcFs         ch01  enter: /proc of the new PID namespace
//! ReadOnlyRoot   ch03  enter: --tmpfs mounts, / read-only with --read-only
//! Confine        ch01  enter: masks, seccomp, capabilities
//! ```

pub mod cli;
pub mod dev;
pub mod images;
pub mod named;
pub mod overlay;
pub mod ownership;
pub mod pivot;
pub mod readonly;
pub mod storage;
pub mod syscall;
pub mod volumes;
