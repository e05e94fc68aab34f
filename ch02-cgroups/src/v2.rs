//! The cgroup v2 driver: one unified hierarchy.
//!
//! Version 2 has a single tree, so a container's cgroup is a single
//! directory holding the files of every controller. A controller only
//! appears in a cgroup when its parent lists it in `cgroup.subtree_control`,
//! so we enable what the limits need at each level on the way down.
//!
//! | limit            | file                                   |
//! |------------------|----------------------------------------|
//! | `-m`             | `memory.max` (and `memory.swap.max` = 0) |
//! | `--memory-swap`  | `memory.swap.max` = memory-swap minus memory |
//! | `--cpus`         | `cpu.max`, as `"QUOTA PERIOD"`         |
//! | `-c`             | `cpu.weight` (see [`shares_to_weight`]) |
//! | `--cpuset-cpus`  | `cpuset.cpus`                          |
//! | `--pids-limit`   | `pids.max`                             |
//!
//! `cpuset.mems` is not needed here: an empty one means "the parent's".

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use nix::unistd::Pid;

use crate::devices::{self, Rule};
use crate::driver::{self, Driver, make_cgroup, write};
use crate::freezer;
use crate::limits::{CPU_PERIOD_US, Limits, Swap, shares_to_weight};

/// A container's cgroup in the unified hierarchy.
#[derive(Debug, Clone)]
pub struct V2 {
    root: PathBuf,
    parent: String,
    id: String,
}

impl V2 {
    /// The cgroup `<parent>/<id>` of the cgroup2 filesystem mounted at `root`.
    pub fn new(root: &Path, parent: &str, id: &str) -> V2 {
        V2 {
            root: root.to_path_buf(),
            parent: parent.to_string(),
            id: id.to_string(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.root.join(&self.parent).join(&self.id)
    }
}

impl Driver for V2 {
    fn create(&self) -> Result<()> {
        make_cgroup(&self.root, &self.parent, &self.id, |_| Ok(()))?;
        Ok(())
    }

    // ANCHOR: apply
    fn apply(&self, limits: &Limits) -> Result<()> {
        let needed = limits.controllers();
        if !needed.is_empty() {
            let available = driver::read(&self.root, "cgroup.controllers")?;
            for controller in &needed {
                if !available.split_whitespace().any(|c| c == *controller) {
                    bail!(
                        "the cgroup v2 controller {controller} is not available (not listed in {})",
                        self.root.join("cgroup.controllers").display()
                    );
                }
            }
            enable(&self.root, &needed)?;
            enable(&self.root.join(&self.parent), &needed)?;
        }
        let dir = self.dir();
        if let (Some(bytes), Some(swap)) = (limits.memory, limits.swap()) {
            write(&dir, "memory.max", bytes)?;
            // v2 counts swap on its own, not memory plus swap as v1's memsw.
            // Without --memory-swap, as in v1: no swap, so the limit ends in
            // the OOM killer.
            let swap_max = "memory.swap.max";
            let accounted = dir.join(swap_max).exists();
            match swap {
                Swap::Off if accounted => write(&dir, swap_max, 0)?,
                Swap::Unlimited if accounted => write(&dir, swap_max, "max")?,
                Swap::Off | Swap::Unlimited => {} // a kernel without swap accounting
                Swap::Bytes(_) if !accounted => bail!(
                    "--memory-swap needs swap accounting, and {} does not exist (a kernel without CONFIG_MEMCG_SWAP, or swapaccount=0)",
                    dir.join(swap_max).display()
                ),
                Swap::Bytes(swap) => write(&dir, swap_max, swap)?,
            }
        }
        if let Some(quota) = limits.cpu_quota {
            write(&dir, "cpu.max", format!("{quota} {CPU_PERIOD_US}"))?;
        }
        if let Some(shares) = limits.cpu_shares {
            write(&dir, "cpu.weight", shares_to_weight(shares))?;
        }
        if let Some(cpus) = &limits.cpuset_cpus {
            write(&dir, "cpuset.cpus", cpus)?;
        }
        if let Some(max) = limits.pids_max {
            write(&dir, "pids.max", max)?;
        }
        Ok(())
    }
    // ANCHOR_END: apply

    // ANCHOR: allow_devices
    fn allow_devices(&self, rules: &[Rule]) -> Result<()> {
        if rules.iter().any(Rule::allows_all) {
            return Ok(()); // no program: every device, as for the host
        }
        devices::bpf::attach(&self.dir(), rules)
    }
    // ANCHOR_END: allow_devices

    fn join(&self, pid: Pid) -> Result<()> {
        write(&self.dir(), "cgroup.procs", pid)
    }

    // ANCHOR: kill
    fn kill(&self) -> Result<()> {
        let dir = self.dir();
        // cgroup.kill reaches frozen tasks, but the one-by-one SIGKILL of
        // older kernels would wait for a thaw: thaw first, for both.
        if dir.join("cgroup.freeze").exists() && freezer::frozen_v2(&dir).unwrap_or(false) {
            freezer::thaw_v2(&dir)?;
        }
        // Since Linux 5.14, writing 1 to cgroup.kill SIGKILLs every process
        // in the cgroup at once, even one forking right now.
        if dir.join("cgroup.kill").exists() {
            write(&dir, "cgroup.kill", 1)?;
        }
        // Wait until they are gone (and kill one by one on older kernels).
        driver::kill_procs(&[dir])
    }
    // ANCHOR_END: kill

    fn remove(&self) -> Result<()> {
        driver::remove_cgroup(&self.dir())
    }

    fn freeze(&self) -> Result<()> {
        freezer::freeze_v2(&self.dir())
    }

    fn thaw(&self) -> Result<()> {
        freezer::thaw_v2(&self.dir())
    }

    fn frozen(&self) -> Result<bool> {
        freezer::frozen_v2(&self.dir())
    }

    fn path_for(&self, _controller: &str) -> Option<PathBuf> {
        Some(self.dir())
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir()]
    }

    fn oom_kills(&self) -> Result<Option<u64>> {
        // memory.events counts for the whole subtree (memory.events.local
        // would count this cgroup alone): a container's nested cgroups too.
        driver::oom_kills(&self.dir(), "memory.events")
    }
}

// ANCHOR: enable
/// Enables `controllers` for the children of `dir`, writing only those not
/// enabled yet (`+memory +pids`). The kernel merges what we write with what
/// is there; reading the file back gives the whole list.
fn enable(dir: &Path, controllers: &[&str]) -> Result<()> {
    // Missing only in a test's temporary tree: the kernel always has it.
    let enabled = driver::read(dir, "cgroup.subtree_control").unwrap_or_default();
    let missing: Vec<String> = controllers
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(dir, "cgroup.subtree_control", missing.join(" "))
}
// ANCHOR_END: enable

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MemorySwap;
    use crate::testing::{assert_swap_refused, dump, swap_limits, v2_fixture};

    #[test]
    fn writes_every_limit() {
        let tmp = v2_fixture();
        let v2 = V2::new(tmp.path(), "mydocker", "c0ffee");
        v2.create().unwrap();
        // A kernel with swap shows memory.swap.max; pretend this one does.
        std::fs::write(tmp.path().join("mydocker/c0ffee/memory.swap.max"), "max").unwrap();
        let limits = Limits {
            memory: Some(16 << 20),
            cpu_quota: Some(20_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            pids_max: Some(10),
            ..Limits::default()
        };
        v2.apply(&limits).unwrap();
        v2.join(Pid::from_raw(4242)).unwrap();
        insta::assert_snapshot!(dump(tmp.path()));
    }

    #[test]
    fn memory_swap_is_swap_alone_in_v2() {
        let tmp = v2_fixture();
        let v2 = V2::new(tmp.path(), "mydocker", "c0ffee");
        v2.create().unwrap();
        let dir = tmp.path().join("mydocker/c0ffee");
        assert_swap_refused(&v2);
        std::fs::write(dir.join("memory.swap.max"), "max").unwrap();
        v2.apply(&swap_limits(MemorySwap::Total(96 << 20))).unwrap();
        assert_eq!(
            driver::read(&dir, "memory.swap.max").unwrap(),
            (32u64 << 20).to_string()
        );
        v2.apply(&swap_limits(MemorySwap::Unlimited)).unwrap();
        assert_eq!(driver::read(&dir, "memory.swap.max").unwrap(), "max");
    }

    #[test]
    fn enables_only_what_is_missing() {
        let tmp = v2_fixture();
        std::fs::write(tmp.path().join("cgroup.subtree_control"), "cpu memory").unwrap();
        let v2 = V2::new(tmp.path(), "mydocker", "c0ffee");
        v2.create().unwrap();
        let limits = Limits {
            memory: Some(16 << 20),
            pids_max: Some(10),
            ..Limits::default()
        };
        v2.apply(&limits).unwrap();
        let root = driver::read(tmp.path(), "cgroup.subtree_control").unwrap();
        assert_eq!(root, "+pids");
        let parent = driver::read(&tmp.path().join("mydocker"), "cgroup.subtree_control");
        assert_eq!(parent.unwrap(), "+memory +pids");
    }

    #[test]
    fn no_limits_touch_no_controller() {
        let tmp = v2_fixture();
        let v2 = V2::new(tmp.path(), "mydocker", "c0ffee");
        v2.create().unwrap();
        v2.apply(&Limits::default()).unwrap();
        let expected = "cgroup.controllers: cpuset cpu io memory hugetlb pids rdma misc\n\
                        cgroup.subtree_control: \n\
                        mydocker/\n\
                        mydocker/c0ffee/\n";
        assert_eq!(dump(tmp.path()), expected);
    }

    #[test]
    fn a_missing_controller_is_an_error() {
        let tmp = v2_fixture();
        std::fs::write(tmp.path().join("cgroup.controllers"), "cpu memory").unwrap();
        let v2 = V2::new(tmp.path(), "mydocker", "c0ffee");
        v2.create().unwrap();
        let limits = Limits {
            pids_max: Some(10),
            ..Limits::default()
        };
        let err = v2.apply(&limits).unwrap_err().to_string();
        assert!(
            err.starts_with("the cgroup v2 controller pids is not available"),
            "{err}"
        );
    }
}
