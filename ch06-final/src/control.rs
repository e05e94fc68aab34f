//! `wait`, `kill`, `restart`, `rename` and `port`: Docker's small verbs
//! about one running container, each built from what `stop`, `start` and
//! the records already give.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::Signal;

use ch04_images::containers::{ContainerStore, Record};
use ch04_images::pidfd::{PidFd, wait_gone};
use ch05_network::Attachment;

use crate::ps::state;

/// How often `wait` looks at a record whose process it cannot hold.
const POLL: Duration = Duration::from_millis(100);

// ANCHOR: wait
/// `wait CONTAINER`: blocks until the container has exited and its exit is
/// recorded, and returns its exit code (printed by the caller, as Docker
/// prints it). A container that is not running answers at once.
pub fn wait(store: &ContainerStore, name: &str) -> Result<i64> {
    let record = store.find(name)?;
    if let Some(process) = record.live_process() {
        if let Some(pidfd) = PidFd::open(process)? {
            pidfd.wait_exit(None)?;
        }
    }
    // The supervisor writes the exit code a moment after the exit; with a
    // restart policy it may start the container again instead, and then
    // the wait goes on, as Docker's does.
    loop {
        let Ok(current) = store.get_by_id(&record.id) else {
            bail!("container {} was removed while waiting", record.name);
        };
        let supervised = current.supervisor.filter(|s| s.is_alive());
        if let Some(process) = current.live_process() {
            if let Some(pidfd) = PidFd::open(process)? {
                pidfd.wait_exit(None)?;
            }
            continue;
        }
        match supervised {
            Some(supervisor) if current.is_restarting() || current.exit_code.is_none() => {
                wait_gone(supervisor, POLL);
            }
            _ => return Ok(i64::from(state(&current).exit_code.unwrap_or(0))),
        }
    }
}
// ANCHOR_END: wait

// ANCHOR: kill
/// A signal as `kill -s` takes it: `KILL`, `SIGKILL` or `9`.
pub fn parse_signal(text: &str) -> Result<Signal> {
    let bad = || anyhow!("invalid signal: {text}");
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = match upper.starts_with("SIG") {
        true => upper,
        false => format!("SIG{upper}"),
    };
    Signal::from_str(&name).map_err(|_| bad())
}

/// `kill [-s SIGNAL] CONTAINER`: sends the signal (default KILL) to the
/// container's first process. As in Docker, a killed container is stopped
/// by the user: its restart policy does not bring it back.
pub fn kill(store: &ContainerStore, name: &str, signal: Signal) -> Result<()> {
    let record = store.find(name)?;
    let not_running = || {
        anyhow!(
            "cannot kill container {}: container {} is not running",
            name,
            record.short_id()
        )
    };
    let process = record.live_process().ok_or_else(not_running)?;
    if record.supervisor.is_some_and(|s| s.is_alive()) {
        store.update(&record.id, |r| r.manually_stopped = true)?;
    }
    let pidfd = PidFd::open(process)?.ok_or_else(not_running)?;
    if signal == Signal::SIGKILL {
        // SIGKILL of a frozen container waits for the thaw (cgroup v1).
        crate::pause::thaw(&record)?;
    }
    if !pidfd.signal(signal)? {
        return Err(not_running());
    }
    Ok(())
}
// ANCHOR_END: kill

// ANCHOR: rename
/// `rename OLD NEW`: the record and `names.json` (chapter 4), and the
/// container's line in its network's hosts files (chapter 5).
pub fn rename(root: &Path, store: &ContainerStore, old: &str, new: &str) -> Result<()> {
    let record = store.find(old)?;
    if record.name == new {
        bail!("renaming a container with the same name as its current name");
    }
    let previous = record.name.clone();
    store.rename(&record.id, new)?;
    ch05_network::names::rename(root, &record.id, &previous, new)
        .with_context(|| format!("update the hosts files of the network of {new}"))
}
// ANCHOR_END: rename

// ANCHOR: port
/// `port CONTAINER [PRIVATE_PORT[/PROTO]]`: Docker's lines,
/// `80/tcp -> 0.0.0.0:8888`, for a running container's published ports.
pub fn port(record: &Record, filter: Option<&str>) -> Result<Vec<String>> {
    let attachment = record.part::<Attachment>()?.unwrap_or_default();
    if record.live_process().is_none() {
        return Ok(Vec::new());
    }
    let (port, proto) = match filter.map(|f| f.split_once('/').unwrap_or((f, "tcp"))) {
        Some((port, proto)) => (
            Some(
                port.parse::<u16>()
                    .map_err(|_| anyhow!("invalid port {port:?}"))?,
            ),
            Some(proto.to_string()),
        ),
        None => (None, None),
    };
    let lines: Vec<String> = attachment
        .ports
        .iter()
        .filter(|m| port.is_none_or(|p| p == m.container_port))
        .filter(|m| proto.as_deref().is_none_or(|p| p == m.proto.to_string()))
        .map(|m| {
            let ip = m.host_ip.map_or("0.0.0.0".to_string(), |ip| ip.to_string());
            match filter {
                Some(_) => format!("{ip}:{}", m.host_port),
                None => format!("{}/{} -> {ip}:{}", m.container_port, m.proto, m.host_port),
            }
        })
        .collect();
    if lines.is_empty() {
        if let Some(f) = filter {
            bail!("no public port '{f}' published for {}", record.name);
        }
    }
    Ok(lines)
}
// ANCHOR_END: port

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_as_docker_names_them() {
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("HUP").unwrap(), Signal::SIGHUP);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
