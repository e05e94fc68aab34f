//! `version`, `info` and `system df`: what mydocker is, what this machine
//! gives it, and where its disk space goes. Docker asks its daemon; we read
//! the same facts from the kernel and the records.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use ch02_cgroups::detect::{Host, Setup};
use ch04_images::containers::{ContainerStore, Status};
use ch04_images::images::{ImageStore, go_arch};
use ch04_images::size::{human_size, tree_size};
use ch04_images::table::write_table;

use crate::ps::state;
use crate::stats::binary_size;

/// The version of this build (the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `uname -r`.
fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// `PRETTY_NAME` of `/etc/os-release`.
fn operating_system() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

// ANCHOR: version
/// `version`: Docker's client section; there is no server to ask.
pub fn version(out: &mut dyn Write) -> Result<()> {
    let lines = [
        "Client: mydocker".to_string(),
        format!(" Version:           {VERSION}"),
        " API version:       none (no daemon: every command does the work itself)".to_string(),
        format!(" OS/Arch:           linux/{}", go_arch()),
        format!(" Kernel:            {}", kernel_release()),
    ];
    for line in lines {
        writeln!(out, "{line}").context("write to stdout")?;
    }
    Ok(())
}
// ANCHOR_END: version

/// The cgroup version as Docker's `info` says it.
fn cgroup_version() -> &'static str {
    match Host::detect().map(|h| h.setup()) {
        Ok(Ok(Setup::V2)) => "2",
        Ok(Ok(_)) => "1",
        _ => "unknown",
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

// ANCHOR: info
/// `info`: Docker's section of facts, as far as they exist here.
pub fn info(root: &Path, out: &mut dyn Write) -> Result<()> {
    let containers = ContainerStore::new(root).list()?;
    let count = |s: Status| containers.iter().filter(|r| state(r).status == s).count();
    let images = ImageStore::new(root).ids()?.len();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lines = [
        format!("Containers: {}", containers.len()),
        format!(" Running: {}", count(Status::Running)),
        format!(" Restarting: {}", count(Status::Restarting)),
        format!(
            " Stopped: {}",
            count(Status::Exited) + count(Status::Created)
        ),
        format!("Images: {images}"),
        format!("Server Version: mydocker {VERSION} (no daemon)"),
        "Storage Driver: overlay (chapter 3)".to_string(),
        "Cgroup Driver: cgroupfs".to_string(),
        format!("Cgroup Version: {}", cgroup_version()),
        format!("Kernel Version: {}", kernel_release()),
        format!("Operating System: {}", operating_system()),
        "OSType: linux".to_string(),
        format!("Architecture: {}", std::env::consts::ARCH),
        format!("CPUs: {cpus}"),
        format!("Total Memory: {}", binary_size(total_memory())),
        format!("Docker Root Dir: {}", root.display()),
    ];
    for line in lines {
        writeln!(out, "{line}").context("write to stdout")?;
    }
    Ok(())
}
// ANCHOR_END: info

/// "123MB (45%)": the reclaimable part of a total.
fn reclaimable(part: u64, total: u64) -> String {
    match total {
        0 => human_size(part),
        _ => format!("{} ({}%)", human_size(part), part * 100 / total),
    }
}

// ANCHOR: df
/// `system df`: images, containers and volumes; what they take on disk and
/// how much of that nothing uses (Docker's RECLAIMABLE).
pub fn disk_usage(root: &Path, out: &mut dyn Write) -> Result<()> {
    let store = ContainerStore::new(root);
    let images = ImageStore::new(root);
    let records = store.list()?;
    let used = store.images_in_use()?;
    // Layers are shared: each is counted once, and is reclaimable only if
    // no image that a container uses lists it.
    let mut all_layers = BTreeSet::new();
    let mut used_layers = BTreeSet::new();
    let ids = images.ids()?;
    for id in &ids {
        let Ok(image) = images.get(id) else { continue };
        for layer in &image.config.rootfs.diff_ids {
            all_layers.insert(layer.clone());
            if used.contains_key(id) {
                used_layers.insert(layer.clone());
            }
        }
    }
    let layer_size = |d| images.layers.info(d).map_or(0, |i| i.size);
    let image_total: u64 = all_layers.iter().map(layer_size).sum();
    let image_free: u64 = all_layers.difference(&used_layers).map(layer_size).sum();

    let mut container_total = 0;
    let mut container_free = 0;
    let mut running = 0;
    for record in &records {
        let size = tree_size(&store.dir_of(&record.id).join("upper"));
        container_total += size;
        match state(record).status {
            Status::Running | Status::Restarting => running += 1,
            _ => container_free += size,
        }
    }

    let volumes_dir = root.join("volumes");
    let volumes: Vec<_> = std::fs::read_dir(&volumes_dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let in_use = |v: &Path| {
        records
            .iter()
            .any(|r| r.mounts.iter().any(|m| m.source.starts_with(v)))
    };
    let (mut volume_total, mut volume_free, mut volume_active) = (0, 0, 0);
    for volume in &volumes {
        let size = tree_size(volume);
        volume_total += size;
        match in_use(volume) {
            true => volume_active += 1,
            false => volume_free += size,
        }
    }

    let rows = vec![
        vec![
            "Images".to_string(),
            ids.len().to_string(),
            used.len().to_string(),
            human_size(image_total),
            reclaimable(image_free, image_total),
        ],
        vec![
            "Containers".to_string(),
            records.len().to_string(),
            running.to_string(),
            human_size(container_total),
            reclaimable(container_free, container_total),
        ],
        vec![
            "Local Volumes".to_string(),
            volumes.len().to_string(),
            volume_active.to_string(),
            human_size(volume_total),
            reclaimable(volume_free, volume_total),
        ],
        vec![
            "Build Cache".to_string(),
            "0".to_string(),
            "0".to_string(),
            "0B".to_string(),
            "0B".to_string(),
        ],
    ];
    write_table(
        out,
        &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        &rows,
    )
}
// ANCHOR_END: df

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_dockers_units() {
        assert_eq!(binary_size(8_336_936_960), "7.764GiB");
        assert_eq!(reclaimable(50, 200), "50B (25%)");
        assert_eq!(reclaimable(0, 0), "0B");
    }
}
