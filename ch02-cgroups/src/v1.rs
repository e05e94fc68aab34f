//! The cgroup v1 driver: one hierarchy per controller.
//!
//! In version 1 every controller is a separate tree, mounted on its own
//! directory (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu`, ...), so one
//! container's cgroup is really one directory *per hierarchy*, all with the
//! same name, and a process must be written into each of them.
//!
//! | limit            | file                                              |
//! |------------------|---------------------------------------------------|
//! | `-m`             | `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes`) |
//! | `--memory-swap`  | `memory.memsw.limit_in_bytes` (memory plus swap)  |
//! | `--cpus`         | `cpu.cfs_period_us` and `cpu.cfs_quota_us`        |
//! | `-c`             | `cpu.shares`                                      |
//! | `--cpuset-cpus`  | `cpuset.cpus` (and `cpuset.mems`, always)         |
//! | `--pids-limit`   | `pids.max`                                        |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use nix::unistd::Pid;

use crate::devices::Rule;
use crate::driver::{self, Driver, SelfJoin, make_cgroup, read, single_threaded, write};
use crate::freezer;
use crate::limits::{CPU_PERIOD_US, Limits, Swap};

/// A container's cgroup in the v1 hierarchies.
#[derive(Debug, Clone)]
pub struct V1 {
    /// Mount point of each controller's hierarchy.
    mounts: BTreeMap<String, PathBuf>,
    parent: String,
    id: String,
}

impl V1 {
    /// The cgroup `<parent>/<id>` in the hierarchies mounted at `mounts`
    /// (controller name → mount point, as [`crate::detect::Host::v1`]).
    pub fn new(mounts: &BTreeMap<String, PathBuf>, parent: &str, id: &str) -> V1 {
        V1 {
            mounts: mounts.clone(),
            parent: parent.to_string(),
            id: id.to_string(),
        }
    }

    /// Each hierarchy once, even when two controllers share one mount
    /// (`cpu,cpuacct` on many distributions).
    fn hierarchies(&self) -> BTreeSet<&Path> {
        self.mounts.values().map(PathBuf::as_path).collect()
    }

    /// The container's directory in `controller`'s hierarchy, or an error
    /// naming the option that needs it.
    fn need(&self, controller: &str, option: &str) -> Result<PathBuf> {
        self.path_for(controller).ok_or_else(|| {
            anyhow!("{option} needs the cgroup v1 {controller} controller, which is not mounted")
        })
    }
}

impl Driver for V1 {
    // ANCHOR: create
    fn create(&self) -> Result<()> {
        for hierarchy in self.hierarchies() {
            let is_cpuset = self.mounts.get("cpuset").map(PathBuf::as_path) == Some(hierarchy);
            make_cgroup(hierarchy, &self.parent, &self.id, |parent| {
                if is_cpuset {
                    inherit_cpuset(hierarchy, parent)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
    // ANCHOR_END: create

    // ANCHOR: apply
    fn apply(&self, limits: &Limits) -> Result<()> {
        if let (Some(bytes), Some(swap)) = (limits.memory, limits.swap()) {
            let dir = self.need("memory", "--memory")?;
            write(&dir, "memory.limit_in_bytes", bytes)?;
            // memsw counts memory plus swap (and must never be below the
            // memory limit, hence written second). Giving it the same limit
            // means "no swap": on a machine with swap the excess would
            // otherwise be swapped out instead of the process being killed.
            let memsw = "memory.memsw.limit_in_bytes";
            let accounted = dir.join(memsw).exists();
            match swap {
                Swap::Off if accounted => write(&dir, memsw, bytes)?,
                Swap::Unlimited if accounted => write(&dir, memsw, -1)?,
                Swap::Off | Swap::Unlimited => {} // without swap accounting there is no limit to set
                Swap::Bytes(_) if !accounted => bail!(
                    "--memory-swap needs swap accounting, and {} does not exist (boot the kernel with swapaccount=1)",
                    dir.join(memsw).display()
                ),
                Swap::Bytes(swap) => write(&dir, memsw, bytes + swap)?,
            }
        }
        if let Some(quota) = limits.cpu_quota {
            let dir = self.need("cpu", "--cpus")?;
            write(&dir, "cpu.cfs_period_us", CPU_PERIOD_US)?;
            write(&dir, "cpu.cfs_quota_us", quota)?;
        }
        if let Some(shares) = limits.cpu_shares {
            write(&self.need("cpu", "--cpu-shares")?, "cpu.shares", shares)?;
        }
        if limits.cpuset_cpus.is_some() {
            self.need("cpuset", "--cpuset-cpus")?;
        }
        if let Some(dir) = self.path_for("cpuset") {
            // A new v1 cpuset has no CPUs and no memory nodes, and the kernel
            // refuses to move a process into it (ENOSPC) until both are set:
            // without --cpuset-cpus it gets its parent's.
            let parent = dir.parent().unwrap_or(&dir);
            let cpus = match &limits.cpuset_cpus {
                Some(cpus) => cpus.clone(),
                None => read(parent, "cpuset.cpus")?,
            };
            write(&dir, "cpuset.cpus", cpus)?;
            write(&dir, "cpuset.mems", read(parent, "cpuset.mems")?)?;
        }
        if let Some(max) = limits.pids_max {
            write(&self.need("pids", "--pids-limit")?, "pids.max", max)?;
        }
        Ok(())
    }
    // ANCHOR_END: apply

    // ANCHOR: allow_devices
    fn allow_devices(&self, rules: &[Rule]) -> Result<()> {
        // A host without the devices hierarchy cannot refuse any device:
        // nothing to write (the book's device lab says so).
        let Some(dir) = self.path_for("devices") else {
            return Ok(());
        };
        if rules.iter().any(Rule::allows_all) {
            return write(&dir, "devices.allow", "a");
        }
        // A new cgroup starts with its parent's list (usually "all"):
        // first nothing, then each exception.
        write(&dir, "devices.deny", "a")?;
        for rule in rules {
            write(&dir, "devices.allow", rule)?;
        }
        Ok(())
    }
    // ANCHOR_END: allow_devices

    // ANCHOR: join
    fn join(&self, pid: Pid) -> Result<()> {
        // Ourselves, with one thread (`mydocker exec`): the fast way in.
        if pid == Pid::this() && single_threaded() {
            return SelfJoin::open(&self.paths())?.join();
        }
        for dir in self.paths() {
            write(&dir, "cgroup.procs", pid)?;
        }
        Ok(())
    }
    // ANCHOR_END: join

    fn self_join(&self) -> Result<Option<SelfJoin>> {
        SelfJoin::open(&self.paths()).map(Some)
    }

    fn kill(&self) -> Result<()> {
        // A frozen task keeps a SIGKILL pending until it is thawed.
        if let Some(dir) = self.path_for("freezer") {
            if dir.join("freezer.state").exists() {
                freezer::thaw_v1(&dir)?;
            }
        }
        // Version 1 has no "kill the whole cgroup" file: signal each pid.
        driver::kill_procs(&self.paths())
    }

    // ANCHOR: freeze
    fn freeze(&self) -> Result<()> {
        freezer::freeze_v1(&self.need("freezer", "pause")?)
    }

    fn thaw(&self) -> Result<()> {
        freezer::thaw_v1(&self.need("freezer", "unpause")?)
    }
    // ANCHOR_END: freeze

    fn frozen(&self) -> Result<bool> {
        match self.path_for("freezer") {
            Some(dir) => freezer::frozen_v1(&dir),
            None => Ok(false),
        }
    }

    fn remove(&self) -> Result<()> {
        // Try every hierarchy even when one fails; report the first error.
        let mut first_error = None;
        for dir in self.paths() {
            if let Err(err) = driver::remove_cgroup(&dir) {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn path_for(&self, controller: &str) -> Option<PathBuf> {
        let mount = self.mounts.get(controller)?;
        Some(mount.join(&self.parent).join(&self.id))
    }

    fn oom_kills(&self) -> Result<Option<u64>> {
        // `oom_kill` joined `oom_kill_disable` and `under_oom` in Linux 4.13.
        match self.path_for("memory") {
            Some(dir) => driver::oom_kills(&dir, "memory.oom_control"),
            None => Ok(None),
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.hierarchies()
            .into_iter()
            .map(|h| h.join(&self.parent).join(&self.id))
            .collect()
    }
}

// ANCHOR: inherit_cpuset
/// Gives a new parent cpuset the CPUs and memory nodes of the root. A v1
/// cpuset starts empty, and a child can only get CPUs its parent has. Two
/// containers starting at once may both do this: they write the same values.
fn inherit_cpuset(root: &Path, parent: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read(parent, file).unwrap_or_default().is_empty() {
            write(parent, file, read(root, file)?)?;
        }
    }
    Ok(())
}
// ANCHOR_END: inherit_cpuset

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MemorySwap;
    use crate::testing::{assert_swap_refused, dump, swap_limits, v1_fixture};

    #[test]
    fn writes_every_limit_into_its_hierarchy() {
        let (tmp, mounts) = v1_fixture();
        let v1 = V1::new(&mounts, "mydocker", "c0ffee");
        v1.create().unwrap();
        // The kernel shows memsw only with swap accounting; pretend it does.
        std::fs::write(
            tmp.path()
                .join("memory/mydocker/c0ffee/memory.memsw.limit_in_bytes"),
            "",
        )
        .unwrap();
        let limits = Limits {
            memory: Some(16 << 20),
            cpu_quota: Some(20_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            pids_max: Some(10),
            ..Limits::default()
        };
        v1.apply(&limits).unwrap();
        v1.join(Pid::from_raw(4242)).unwrap();
        insta::assert_snapshot!(dump(tmp.path()));
    }

    #[test]
    fn memory_swap_is_memory_plus_swap_in_v1() {
        let (tmp, mounts) = v1_fixture();
        let v1 = V1::new(&mounts, "mydocker", "c0ffee");
        v1.create().unwrap();
        let dir = tmp.path().join("memory/mydocker/c0ffee");
        assert_swap_refused(&v1);
        std::fs::write(dir.join("memory.memsw.limit_in_bytes"), "").unwrap();
        v1.apply(&swap_limits(MemorySwap::Total(96 << 20))).unwrap();
        let memsw = read(&dir, "memory.memsw.limit_in_bytes").unwrap();
        assert_eq!(memsw, (96u64 << 20).to_string());
        v1.apply(&swap_limits(MemorySwap::Unlimited)).unwrap();
        assert_eq!(read(&dir, "memory.memsw.limit_in_bytes").unwrap(), "-1");
    }

    #[test]
    fn no_limits_still_fills_the_cpuset() {
        let (tmp, mounts) = v1_fixture();
        let v1 = V1::new(&mounts, "mydocker", "c0ffee");
        v1.create().unwrap();
        v1.apply(&Limits::default()).unwrap();
        let dir = tmp.path().join("cpuset/mydocker/c0ffee");
        assert_eq!(read(&dir, "cpuset.cpus").unwrap(), "0-1");
        assert_eq!(read(&dir, "cpuset.mems").unwrap(), "0");
        assert!(
            !tmp.path()
                .join("memory/mydocker/c0ffee/memory.limit_in_bytes")
                .exists()
        );
    }

    #[test]
    fn paths_per_controller() {
        let (tmp, mut mounts) = v1_fixture();
        mounts.insert("cpu".into(), tmp.path().join("cpu,cpuacct"));
        let v1 = V1::new(&mounts, "p", "id");
        assert_eq!(
            v1.path_for("cpu").unwrap(),
            tmp.path().join("cpu,cpuacct/p/id")
        );
        assert_eq!(v1.paths().len(), 6);
        assert!(v1.path_for("blkio").is_none());
    }

    #[test]
    fn a_limit_without_its_controller_is_an_error() {
        let (_tmp, mut mounts) = v1_fixture();
        mounts.remove("pids");
        let v1 = V1::new(&mounts, "mydocker", "c0ffee");
        v1.create().unwrap();
        let limits = Limits {
            pids_max: Some(10),
            ..Limits::default()
        };
        let err = v1.apply(&limits).unwrap_err().to_string();
        assert_eq!(
            err,
            "--pids-limit needs the cgroup v1 pids controller, which is not mounted"
        );
    }
}
