//! `stats [--no-stream] [CONTAINER...]`: what running containers use.
//!
//! The kernel already counts it, per cgroup (chapter 2): memory in use and
//! its limit, CPU time, the number of tasks, bytes read and written on block
//! devices. Network bytes are counted per interface, and a container's
//! interfaces are in its network namespace: `/proc/PID/net/dev` shows them.
//!
//! CPU % needs two samples: like Docker, we read the CPU time twice, a
//! second apart, and divide the difference by the time between them (100 %
//! is one CPU busy all the time). Without `--no-stream` the table is printed
//! again every second until Ctrl-C.
//!
//! Both cgroup versions are read, by the files each has (`memory.current`
//! on v2, `memory.usage_in_bytes` on v1). A v1 host where the container has
//! no `cpuacct` or `blkio` cgroup (mydocker creates neither) gets those
//! numbers from its processes' `/proc/PID/stat` and `/proc/PID/io` instead.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use ch02_cgroups::Cgroups;
use ch04_images::containers::{ContainerStore, Record};
use ch04_images::table::write_table;

use crate::top::processes;

/// The table's columns, as Docker names them.
const HEADER: [&str; 8] = [
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
];

/// What one container used, at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// CPU time used since it started, in nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, without the page cache the kernel can drop at once
    /// (the inactive file pages, as Docker counts it).
    pub memory: u64,
    /// The memory limit (the machine's memory when there is none).
    pub limit: u64,
    /// Bytes received and sent on its network interfaces.
    pub net: (u64, u64),
    /// Bytes read from and written to block devices.
    pub block: (u64, u64),
    /// Tasks (threads) in its cgroup.
    pub pids: u64,
}

// ANCHOR: stats
/// `stats`: one table (`--no-stream`), or a new one every second.
pub fn stats(
    store: &ContainerStore,
    names: &[String],
    no_stream: bool,
    out: &mut impl Write,
) -> Result<()> {
    let records: Vec<Record> = match names.is_empty() {
        true => store
            .list()?
            .into_iter()
            .filter(|r| r.live_process().is_some())
            .collect(),
        false => names.iter().map(|n| store.find(n)).collect::<Result<_>>()?,
    };
    let mut before = (Instant::now(), sample_all(&records));
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = (Instant::now(), sample_all(&records));
        let elapsed = now.0.duration_since(before.0);
        let rows: Vec<Vec<String>> = records
            .iter()
            .zip(before.1.iter().zip(&now.1))
            .map(|(record, (old, new))| row(record, old.as_ref(), new.as_ref(), elapsed))
            .collect();
        if !no_stream {
            // Clear the terminal and go home, as Docker's live table does.
            write!(out, "\x1b[2J\x1b[H").context("write to stdout")?;
        }
        write_table(out, &HEADER, &rows)?;
        out.flush().context("write to stdout")?;
        if no_stream {
            return Ok(());
        }
        before = now;
    }
}

fn sample_all(records: &[Record]) -> Vec<Option<Sample>> {
    records.iter().map(|r| sample(r).ok().flatten()).collect()
}

/// One row of the table; a container that is not running shows zeros.
fn row(
    record: &Record,
    old: Option<&Sample>,
    new: Option<&Sample>,
    elapsed: Duration,
) -> Vec<String> {
    let zero = Sample::default();
    let new = new.unwrap_or(&zero);
    let cpu = match old {
        Some(old) if elapsed > Duration::ZERO => {
            new.cpu_ns.saturating_sub(old.cpu_ns) as f64 / elapsed.as_nanos() as f64 * 100.0
        }
        _ => 0.0,
    };
    let mem_pct = match new.limit {
        0 => 0.0,
        limit => new.memory as f64 / limit as f64 * 100.0,
    };
    vec![
        record.short_id().to_string(),
        record.name.clone(),
        format!("{cpu:.2}%"),
        format!("{} / {}", binary_size(new.memory), binary_size(new.limit)),
        format!("{mem_pct:.2}%"),
        format!("{} / {}", decimal_size(new.net.0), decimal_size(new.net.1)),
        format!(
            "{} / {}",
            decimal_size(new.block.0),
            decimal_size(new.block.1)
        ),
        new.pids.to_string(),
    ]
}
// ANCHOR_END: stats

// ANCHOR: sample
/// What `record`'s container uses now; `None` if it is not running.
pub fn sample(record: &Record) -> Result<Option<Sample>> {
    let Some(process) = record.live_process() else {
        return Ok(None);
    };
    let cgroups = Cgroups::for_container(&record.resources.cgroup_parent, &record.id)?;
    let dir = |controller: &str| cgroups.path_for(controller).filter(|d| d.is_dir());
    let procs = processes(record)?;
    let (memory, limit) = match dir("memory") {
        Some(d) => memory(&d)?,
        None => (0, host_memory()?),
    };
    let cpu_ns = [dir("cpu"), dir("cpuacct")]
        .into_iter()
        .flatten()
        .find_map(|d| cgroup_cpu_ns(&d))
        .unwrap_or_else(|| procs_cpu_ns(&procs));
    let block = [dir("io"), dir("blkio")]
        .into_iter()
        .flatten()
        .find_map(|d| cgroup_block_bytes(&d))
        .unwrap_or_else(|| procs_block_bytes(&procs));
    let pids = dir("pids")
        .and_then(|d| read_number(&d.join("pids.current")))
        .unwrap_or(procs.len() as u64);
    let net = std::fs::read_to_string(format!("/proc/{}/net/dev", process.pid))
        .map(|text| net_bytes(&text))
        .unwrap_or_default();
    Ok(Some(Sample {
        cpu_ns,
        memory,
        limit,
        net,
        block,
        pids,
    }))
}

/// Memory in use and the limit, from a v2 or a v1 memory cgroup.
fn memory(dir: &Path) -> Result<(u64, u64)> {
    let host = host_memory()?;
    let stat = std::fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
    let (usage, limit, inactive) = match read_number(&dir.join("memory.current")) {
        Some(usage) => (
            usage,
            read_number(&dir.join("memory.max")),
            stat_field(&stat, "inactive_file"),
        ),
        None => (
            read_number(&dir.join("memory.usage_in_bytes")).unwrap_or(0),
            read_number(&dir.join("memory.limit_in_bytes")),
            stat_field(&stat, "total_inactive_file"),
        ),
    };
    // "max" on v2, and a number near 2^63 on v1, mean no limit: the
    // machine's memory is the limit then, as Docker shows it.
    let limit = limit.map_or(host, |l| l.min(host));
    Ok((usage.saturating_sub(inactive.unwrap_or(0)), limit))
}

/// CPU time in nanoseconds: v2's `cpu.stat` (`usage_usec`) or v1's
/// `cpuacct.usage`.
fn cgroup_cpu_ns(dir: &Path) -> Option<u64> {
    if let Ok(text) = std::fs::read_to_string(dir.join("cpu.stat")) {
        if let Some(usec) = stat_field(&text, "usage_usec") {
            return Some(usec * 1000);
        }
    }
    read_number(&dir.join("cpuacct.usage"))
}

/// Bytes read and written: v2's `io.stat` or v1's
/// `blkio.throttle.io_service_bytes`.
fn cgroup_block_bytes(dir: &Path) -> Option<(u64, u64)> {
    if let Ok(text) = std::fs::read_to_string(dir.join("io.stat")) {
        return Some(io_stat(&text));
    }
    let text = std::fs::read_to_string(dir.join("blkio.throttle.io_service_bytes")).ok()?;
    Some(blkio_service_bytes(&text))
}

/// The CPU time of the processes themselves and of the children they
/// reaped (`/proc/PID/stat` fields 14 to 17, in clock ticks).
fn procs_cpu_ns(procs: &BTreeSet<i32>) -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as u64,
        _ => 100,
    };
    let mut total = 0;
    for pid in procs {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces: count fields after its ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After ')' field 3 (state) is index 0, so fields 14..=17 are 11..=14.
        total += fields
            .get(11..15)
            .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum::<u64>())
            .unwrap_or(0);
    }
    total * 1_000_000_000 / ticks
}

/// Bytes the processes read from and wrote to storage (`/proc/PID/io`).
fn procs_block_bytes(procs: &BTreeSet<i32>) -> (u64, u64) {
    let mut total = (0, 0);
    for pid in procs {
        let text = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        total.0 += field("read_bytes:");
        total.1 += field("write_bytes:");
    }
    total
}
// ANCHOR_END: sample

/// The machine's memory (`MemTotal` of `/proc/meminfo`), in bytes.
fn host_memory() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").context("read /proc/meminfo")?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024)
}

fn read_number(file: &PathBuf) -> Option<u64> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// The value of `name` in a `KEY VALUE` file (`memory.stat`, `cpu.stat`).
fn stat_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

/// Bytes received and sent on every interface but loopback, from
/// `/proc/PID/net/dev` (receive bytes are the first number, transmit
/// bytes the ninth).
pub fn net_bytes(text: &str) -> (u64, u64) {
    let mut total = (0, 0);
    for line in text.lines().skip(2) {
        let Some((name, numbers)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let n: Vec<u64> = numbers
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if n.len() >= 9 {
            total.0 += n[0];
            total.1 += n[8];
        }
    }
    total
}

/// v2's `io.stat`: `MAJ:MIN rbytes=N wbytes=N ...`, one line a device.
pub fn io_stat(text: &str) -> (u64, u64) {
    let mut total = (0, 0);
    for field in text.split_whitespace() {
        if let Some(v) = field.strip_prefix("rbytes=") {
            total.0 += v.parse().unwrap_or(0);
        } else if let Some(v) = field.strip_prefix("wbytes=") {
            total.1 += v.parse().unwrap_or(0);
        }
    }
    total
}

/// v1's `blkio.throttle.io_service_bytes`: `MAJ:MIN Read N`, `MAJ:MIN Write N`.
pub fn blkio_service_bytes(text: &str) -> (u64, u64) {
    let mut total = (0, 0);
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, value] = parts[..] {
            let value: u64 = value.parse().unwrap_or(0);
            match op {
                "Read" => total.0 += value,
                "Write" => total.1 += value,
                _ => {}
            }
        }
    }
    total
}

/// `n` with `digits` significant digits, trailing zeros dropped: Go's
/// `%.*g` for the numbers below 1024 that the sizes need.
fn significant(n: f64, digits: i32) -> String {
    if n == 0.0 {
        return "0".into();
    }
    let whole = n.abs().log10().floor() as i32 + 1;
    let decimals = (digits - whole).max(0) as usize;
    let text = format!("{n:.decimals$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

fn scaled(n: u64, base: f64, units: &[&str], digits: i32) -> String {
    let mut v = n as f64;
    let mut unit = 0;
    while v >= base && unit < units.len() - 1 {
        v /= base;
        unit += 1;
    }
    format!("{}{}", significant(v, digits), units[unit])
}

/// A memory size as Docker prints it: powers of 1024, four digits
/// (`1.953MiB`).
pub fn binary_size(n: u64) -> String {
    scaled(n, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)
}

/// A byte count as Docker's NET and BLOCK I/O columns print it: powers of
/// 1000, three digits (`12.3kB`).
pub fn decimal_size(n: u64) -> String {
    scaled(n, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_printed_as_docker_prints_them() {
        assert_eq!(binary_size(0), "0B");
        assert_eq!(binary_size(2_048_000), "1.953MiB");
        assert_eq!(binary_size(8 * 1024 * 1024), "8MiB");
        assert_eq!(decimal_size(656), "656B");
        assert_eq!(decimal_size(12_345), "12.3kB");
        assert_eq!(decimal_size(1_500_000), "1.5MB");
    }

    #[test]
    fn counters_are_read_from_each_file_format() {
        let dev = "Inter-|   Receive    |  Transmit\n face |bytes packets\n\
                   lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n\
                   eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        assert_eq!(net_bytes(dev), (1000, 2000));
        assert_eq!(
            io_stat("8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n"),
            (11, 22)
        );
        assert_eq!(
            blkio_service_bytes("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\nTotal 12288\n"),
            (4096, 8192)
        );
        assert_eq!(
            stat_field("cache 1\ntotal_inactive_file 42\n", "total_inactive_file"),
            Some(42)
        );
    }
}
