//! What a container may use, parsed from Docker's spellings.
//!
//! The command line speaks in human units (`-m 64m`, `--cpus 0.5`); the
//! kernel's files speak in bytes and microseconds. This module is the only
//! place that translates, and it rejects nonsense before anything is created.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::cli::{DEFAULT_PARENT, LimitArgs};
use crate::devices::Device;

/// Docker refuses memory limits below 6 MiB: a smaller cgroup cannot even
/// hold a starting shell, so the container would be killed at once.
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// The CPU accounting period, in microseconds. `--cpus 0.5` means "half of
/// every period", so the quota is `0.5 * CPU_PERIOD_US`.
pub const CPU_PERIOD_US: u64 = 100_000;

/// The kernel's smallest CPU quota (1 ms), hence `--cpus 0.01` at least.
pub const MIN_CPU_QUOTA_US: u64 = 1_000;

/// The range of `--cpu-shares` that cgroup v1 itself accepts.
pub const SHARES_RANGE: std::ops::RangeInclusive<u64> = 2..=262_144;

// ANCHOR: limits
/// The limits of one container, in the kernel's units. `None` means
/// "do not write the file": the new cgroup keeps the kernel's default,
/// which is always "no limit".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Memory, in bytes (`-m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Memory plus swap (`--memory-swap`); unset means no swap at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<MemorySwap>,
    /// CPU time allowed in every [`CPU_PERIOD_US`], in microseconds (`--cpus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<u64>,
    /// Relative CPU weight on the v1 scale, 1024 being normal (`-c`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    /// The CPUs the container may run on, such as `0-1` (`--cpuset-cpus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    /// The most tasks (processes and threads) alive at once (`--pids-limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_max: Option<u64>,
    /// Host devices the container may open besides Docker's default list
    /// (`--device`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
}
// ANCHOR_END: limits

// ANCHOR: memory_swap
/// `--memory-swap`: how much memory and swap together the container may
/// use. Docker's `-1` is [`MemorySwap::Unlimited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemorySwap {
    /// Memory plus swap, in bytes: at least the memory limit.
    Total(u64),
    /// As much swap as the machine has.
    Unlimited,
}

/// How much swap a container may use beside its memory limit: what the
/// drivers write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// None: at the memory limit the OOM killer acts.
    Off,
    /// This many bytes of swap.
    Bytes(u64),
    /// No limit on swap.
    Unlimited,
}
// ANCHOR_END: memory_swap

// ANCHOR: resources
/// Everything chapter 2 decides about a container: its limits and where its
/// cgroup goes. Parsed once from the command line, kept in the container's
/// record (chapter 4), and all that a later `start`, `exec` or `rm` needs
/// to find or rebuild the cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// The limits, in the kernel's units.
    pub limits: Limits,
    /// The parent of the container's cgroup (`--cgroup-parent`).
    pub cgroup_parent: String,
}
// ANCHOR_END: resources

impl Default for Resources {
    /// No limits, in the default parent.
    fn default() -> Resources {
        Resources {
            limits: Limits::default(),
            cgroup_parent: DEFAULT_PARENT.to_string(),
        }
    }
}

impl Resources {
    /// Parses and checks the limits and the parent cgroup of the command line.
    pub fn from_args(args: &LimitArgs) -> Result<Resources> {
        let limits = Limits::from_args(args)?;
        crate::hook::check_name(&args.cgroup_parent, "--cgroup-parent")?;
        Ok(Resources {
            limits,
            cgroup_parent: args.cgroup_parent.clone(),
        })
    }
}

impl Limits {
    /// Parses and checks every limit given on the command line.
    pub fn from_args(args: &LimitArgs) -> Result<Limits> {
        let memory = args.memory.as_deref().map(parse_memory).transpose()?;
        Ok(Limits {
            memory,
            memory_swap: args
                .memory_swap
                .as_deref()
                .map(|text| parse_memory_swap(text, memory))
                .transpose()?
                .flatten(),
            cpu_quota: args.cpus.as_deref().map(parse_cpus).transpose()?,
            cpu_shares: args.cpu_shares.as_deref().map(parse_shares).transpose()?,
            cpuset_cpus: args.cpuset_cpus.as_deref().map(parse_cpuset).transpose()?,
            pids_max: args
                .pids_limit
                .as_deref()
                .map(parse_pids)
                .transpose()?
                .flatten(),
            devices: args
                .devices
                .iter()
                .map(|text| Device::parse(text))
                .collect::<Result<_>>()?,
        })
    }

    /// The swap beside the memory limit, if there is a memory limit. Without
    /// `--memory-swap` there is none: the memory limit is a hard one.
    /// (Docker's default is as much swap as memory; this book keeps the
    /// OOM kill that chapter 2 shows.)
    pub fn swap(&self) -> Option<Swap> {
        let memory = self.memory?;
        Some(match self.memory_swap {
            None => Swap::Off,
            Some(MemorySwap::Unlimited) => Swap::Unlimited,
            Some(MemorySwap::Total(total)) if total <= memory => Swap::Off,
            Some(MemorySwap::Total(total)) => Swap::Bytes(total - memory),
        })
    }

    /// The controllers these limits need, by their kernel names.
    pub fn controllers(&self) -> Vec<&'static str> {
        let mut needed = Vec::new();
        if self.cpu_quota.is_some() || self.cpu_shares.is_some() {
            needed.push("cpu");
        }
        if self.cpuset_cpus.is_some() {
            needed.push("cpuset");
        }
        if self.memory.is_some() {
            needed.push("memory");
        }
        if self.pids_max.is_some() {
            needed.push("pids");
        }
        needed
    }
}

// ANCHOR: parse_memory
/// Parses a size the way Docker does: a whole number with an optional unit,
/// `b`, `k`, `m` or `g` (powers of 1024, any case, an extra `b` allowed as
/// in `64mb`). Refuses sizes below [`MIN_MEMORY`].
pub fn parse_memory(text: &str) -> Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => bail!("invalid memory size {text:?}: use a number with a unit b, k, m or g"),
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier));
    let Some(bytes) = bytes else {
        bail!("invalid memory size {text:?}: use a number with a unit b, k, m or g");
    };
    if bytes < MIN_MEMORY {
        bail!("memory limit {text} is too small: the minimum is 6m");
    }
    Ok(bytes)
}
// ANCHOR_END: parse_memory

/// Parses `--memory-swap`: a size as for `-m`, at least the memory limit,
/// or `-1` for unlimited swap; `0` is Docker's "not set". It needs `-m`.
pub fn parse_memory_swap(text: &str, memory: Option<u64>) -> Result<Option<MemorySwap>> {
    let swap = match text.trim() {
        "0" => return Ok(None),
        "-1" => MemorySwap::Unlimited,
        size => MemorySwap::Total(parse_memory(size)?),
    };
    let Some(memory) = memory else {
        bail!("--memory-swap {text} needs a memory limit: set -m too");
    };
    if let MemorySwap::Total(total) = swap {
        if total < memory {
            bail!(
                "--memory-swap {text} is smaller than the memory limit: it counts memory plus swap, so it must be at least -m"
            );
        }
    }
    Ok(Some(swap))
}

// ANCHOR: parse_cpus
/// Turns `--cpus 1.5` into a quota: 150 000 µs of CPU time in every
/// 100 000 µs period, which is one and a half CPUs' worth. More CPUs than
/// this machine lets us run on are refused, as Docker refuses them: such a
/// quota could never be used up, so it would limit nothing.
pub fn parse_cpus(text: &str) -> Result<u64> {
    let online = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpu_quota(text, online)
}

/// [`parse_cpus`] on a machine with `online` CPUs.
pub fn cpu_quota(text: &str, online: usize) -> Result<u64> {
    let cpus: f64 = match text.trim().parse() {
        Ok(cpus) if f64::is_finite(cpus) && cpus > 0.0 => cpus,
        _ => bail!("invalid --cpus {text:?}: use a positive number of CPUs such as 0.5"),
    };
    let quota = (cpus * CPU_PERIOD_US as f64).round() as u64;
    if quota < MIN_CPU_QUOTA_US || cpus > online as f64 {
        bail!(
            "range of CPUs is from 0.01 to {online}.00, as there are only {online} CPUs available"
        );
    }
    Ok(quota)
}
// ANCHOR_END: parse_cpus

/// Checks `--cpu-shares`: a whole number from 2 to 262144 (1024 is normal).
pub fn parse_shares(text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(shares) if SHARES_RANGE.contains(&shares) => Ok(shares),
        _ => bail!("invalid --cpu-shares {text:?}: use a whole number from 2 to 262144"),
    }
}

/// Checks the syntax of a CPU list such as `0`, `0-1` or `0,2-3`. Whether
/// those CPUs exist is for the kernel to say when the file is written.
pub fn parse_cpuset(text: &str) -> Result<String> {
    let text = text.trim();
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let valid = text.split(',').all(|part| match part.split_once('-') {
        Some((lo, hi)) => matches!((number(lo), number(hi)), (Some(lo), Some(hi)) if lo <= hi),
        None => number(part).is_some(),
    });
    if !valid {
        bail!("invalid --cpuset-cpus {text:?}: use a list of CPUs such as 0, 0-1 or 0,2");
    }
    Ok(text.to_string())
}

/// Parses `--pids-limit`: a positive number, or `0` / `-1` for no limit
/// (Docker's spelling of "unlimited").
pub fn parse_pids(text: &str) -> Result<Option<u64>> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n as u64)),
        Ok(0 | -1) => Ok(None),
        _ => {
            bail!("invalid --pids-limit {text:?}: use a positive whole number (or -1 for no limit)")
        }
    }
}

// ANCHOR: weight
/// cgroup v2 has `cpu.weight` (1 to 10000, default 100) where v1 had
/// `cpu.shares` (2 to 262144, default 1024). We scale by 100/1024, as
/// systemd does when it converts `CPUShares=`, so that both defaults meet
/// (1024 → 100) and the ratio between two containers stays the same; shares
/// above 102400 all reach the top weight.
///
/// runc and crun use `1 + (shares - 2) * 9999 / 262142` instead, a straight
/// line from the bottom of one range to the top of the other; it keeps the
/// whole range but maps the default 1024 to 39, below a neighbour's 100.
pub fn shares_to_weight(shares: u64) -> u64 {
    (shares * 100 / 1024).clamp(1, 10_000)
}
// ANCHOR_END: weight

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("6m").unwrap(), 6 << 20);
        assert_eq!(parse_memory("16M").unwrap(), 16 << 20);
        assert_eq!(parse_memory("64mb").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("8192k").unwrap(), 8 << 20);
        assert_eq!(parse_memory("7000000").unwrap(), 7_000_000);
        assert_eq!(parse_memory("7000000b").unwrap(), 7_000_000);
    }

    #[test]
    fn bad_memory_sizes() {
        for bad in [
            "",
            "m",
            "10x",
            "1.5g",
            "-6m",
            "6 m",
            "99999999999999999999g",
            "6t",
        ] {
            let err = parse_memory(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid memory size"), "{bad:?}: {err}");
        }
        for small in ["1k", "5m", "6291455"] {
            let err = parse_memory(small).unwrap_err().to_string();
            assert!(err.contains("the minimum is 6m"), "{small:?}: {err}");
        }
    }

    #[test]
    fn memory_swap_counts_memory_plus_swap() {
        let m64 = Some(64 << 20);
        let parse = |text| parse_memory_swap(text, m64).unwrap();
        assert_eq!(parse("128m"), Some(MemorySwap::Total(128 << 20)));
        assert_eq!(parse("-1"), Some(MemorySwap::Unlimited));
        assert_eq!(parse("0"), None);
        let swap = |memory_swap| {
            Limits {
                memory: m64,
                memory_swap,
                ..Limits::default()
            }
            .swap()
        };
        assert_eq!(swap(None), Some(Swap::Off));
        assert_eq!(swap(parse("64m")), Some(Swap::Off));
        assert_eq!(swap(parse("96m")), Some(Swap::Bytes(32 << 20)));
        assert_eq!(swap(parse("-1")), Some(Swap::Unlimited));
        assert_eq!(Limits::default().swap(), None);
    }

    #[test]
    fn bad_memory_swap() {
        let err = |text, memory| parse_memory_swap(text, memory).unwrap_err().to_string();
        assert_eq!(
            err("128m", None),
            "--memory-swap 128m needs a memory limit: set -m too"
        );
        assert!(err("32m", Some(64 << 20)).contains("smaller than the memory limit"));
        assert!(err("lots", Some(64 << 20)).starts_with("invalid memory size"));
    }

    #[test]
    fn cpus_become_a_quota() {
        assert_eq!(cpu_quota("1", 4).unwrap(), 100_000);
        assert_eq!(cpu_quota("0.2", 4).unwrap(), 20_000);
        assert_eq!(cpu_quota("1.5", 4).unwrap(), 150_000);
        assert_eq!(cpu_quota("0.01", 4).unwrap(), 1_000);
        assert_eq!(cpu_quota("2", 2).unwrap(), 200_000);
        let err = cpu_quota("99", 2).unwrap_err().to_string();
        assert_eq!(
            err,
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert!(cpu_quota("0.001", 2).is_err());
        for bad in ["-1", "0", "abc", "inf", "NaN", "0.001"] {
            assert!(parse_cpus(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn shares_and_weights() {
        assert_eq!(parse_shares("512").unwrap(), 512);
        assert!(parse_shares("1").is_err());
        assert!(parse_shares("262145").is_err());
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(512), 50);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn cpusets() {
        for good in ["0", "0-1", "0,1", "0-2,4", "99"] {
            assert_eq!(parse_cpuset(good).unwrap(), good);
        }
        for bad in ["", "a", "1-0", "0,", "-1", "0-", "0 1", "0--1"] {
            assert!(parse_cpuset(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn pids_limits() {
        assert_eq!(parse_pids("10").unwrap(), Some(10));
        assert_eq!(parse_pids("-1").unwrap(), None);
        assert_eq!(parse_pids("0").unwrap(), None);
        for bad in ["abc", "-2", "1.5", ""] {
            assert!(parse_pids(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn controllers_follow_the_limits() {
        assert!(Limits::default().controllers().is_empty());
        let all = Limits {
            memory: Some(MIN_MEMORY),
            cpu_quota: Some(50_000),
            cpu_shares: None,
            cpuset_cpus: Some("0".into()),
            pids_max: Some(10),
            ..Limits::default()
        };
        assert_eq!(all.controllers(), ["cpu", "cpuset", "memory", "pids"]);
    }
}
