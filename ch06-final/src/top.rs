//! `top CONTAINER [ps OPTIONS]`: the container's processes, as the host's
//! `ps` shows them.
//!
//! As Docker does, we run the host's `ps` (with `-ef` unless told otherwise)
//! and keep its header and the lines whose PID column names a process of
//! the container. Which processes those are, the kernel says: every one of
//! them is in the container's cgroup (chapter 2), also those `exec` started,
//! and `cgroup.procs` lists them.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;

use anyhow::{Context, Result, bail};

use ch02_cgroups::Cgroups;
use ch02_cgroups::driver;
use ch04_images::containers::{ContainerStore, Record};

// ANCHOR: top
/// `top CONTAINER [OPTIONS]`: prints `ps OPTIONS` (default `-ef`), filtered
/// to the container's processes.
pub fn top(
    store: &ContainerStore,
    name: &str,
    options: &[String],
    out: &mut impl Write,
) -> Result<()> {
    let record = store.find(name)?;
    if record.live_process().is_none() {
        bail!("container {} is not running", record.name);
    }
    let pids = processes(&record)?;
    let options = match options.is_empty() {
        true => vec!["-ef".to_string()],
        false => options.to_vec(),
    };
    let output = Command::new("ps")
        .args(&options)
        .output()
        .context("run ps")?;
    if !output.status.success() {
        bail!(
            "ps {}: {}",
            options.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    for line in filter(&text, &pids)? {
        writeln!(out, "{line}").context("write to stdout")?;
    }
    Ok(())
}

/// The host pids of every process in the container's cgroup.
pub fn processes(record: &Record) -> Result<BTreeSet<i32>> {
    let cgroups = Cgroups::for_container(&record.resources.cgroup_parent, &record.id)?;
    let mut pids = BTreeSet::new();
    // On v1 each hierarchy lists the same processes; reading them all costs
    // little and survives a hierarchy the container is missing from.
    for dir in cgroups.paths() {
        pids.extend(driver::procs(&dir)?.into_iter().map(|p| p.as_raw()));
    }
    Ok(pids)
}

/// The header of `ps` output and the lines whose PID column is in `pids`.
pub fn filter<'a>(ps_output: &'a str, pids: &BTreeSet<i32>) -> Result<Vec<&'a str>> {
    let mut lines = ps_output.lines();
    let header = lines.next().unwrap_or_default();
    let Some(column) = header.split_whitespace().position(|field| field == "PID") else {
        bail!("couldn't find PID field in ps output");
    };
    let mut kept = vec![header];
    kept.extend(lines.filter(|line| {
        line.split_whitespace()
            .nth(column)
            .and_then(|pid| pid.parse().ok())
            .is_some_and(|pid| pids.contains(&pid))
    }));
    Ok(kept)
}
// ANCHOR_END: top

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_header_and_the_containers_lines_by_the_pid_column() {
        let ps = "UID PID PPID C STIME TTY TIME CMD\n\
                  root 1 0 0 10:00 ? 00:00:01 /sbin/init\n\
                  root 42 1 0 10:01 ? 00:00:00 sleep 1\n\
                  root 43 42 0 10:01 ? 00:00:00 sh\n";
        let pids = BTreeSet::from([42, 43]);
        assert_eq!(
            filter(ps, &pids).unwrap(),
            [
                "UID PID PPID C STIME TTY TIME CMD",
                "root 42 1 0 10:01 ? 00:00:00 sleep 1",
                "root 43 42 0 10:01 ? 00:00:00 sh"
            ]
        );
        // The PID column, not the first number: pid 1 is only a PPID here.
        assert_eq!(filter(ps, &BTreeSet::from([1])).unwrap().len(), 2);
        assert!(filter("USER COMMAND\n", &pids).is_err());
    }
}
