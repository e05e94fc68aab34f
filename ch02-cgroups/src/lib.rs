//! Chapter 2: resource limits with cgroups.
//!
//! A cgroup ("control group") is a set of processes the kernel accounts for
//! and limits together: memory, CPU time, which CPUs, how many processes.
//! This chapter gives every container a cgroup of its own. The modules, in
//! the order the book tells them:
//!
//! 1. [`limits`]: the limits, parsed from Docker's spellings (`-m 64m`).
//! 2. [`detect`]: which cgroup filesystems the host has (v1, v2, hybrid).
//! 3. [`driver`]: the small API both versions implement, and shared file work.
//! 4. [`v1`] and [`v2`]: the two drivers, writing the kernel's files.
//! 5. [`devices`]: which device nodes a container may open (v1's
//!    `devices.allow`, v2's eBPF program).
//! 6. [`hook`]: [`Cgroups`], chapter 2's step in chapter 1's lifecycle.
//! 7. [`freezer`]: `pause` and `unpause`, freezing the whole cgroup.
//! 8. [`cli`]: the command line, chapter 1's plus the limits.

pub mod cli;
pub mod detect;
pub mod devices;
pub mod driver;
pub mod freezer;
pub mod hook;
pub mod limits;
pub mod v1;
pub mod v2;

#[cfg(test)]
mod testing;

pub use hook::Cgroups;
