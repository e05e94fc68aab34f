//! Which cgroup filesystems this host has, read from `/proc/self/mountinfo`.
//!
//! A cgroup hierarchy is a filesystem: the kernel shows it wherever it is
//! mounted, and a line of `mountinfo` tells its type and its controllers:
//!
//! ```text
//! 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
//! 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
//! ```
//!
//! Type `cgroup` is version 1: one hierarchy per mount, carrying the
//! controllers named in its options. Type `cgroup2` is the single unified
//! hierarchy of version 2, whose controllers are listed in its own
//! `cgroup.controllers` file instead.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The controllers mydocker uses, by their kernel names. The freezer sets
/// no limit: it is there so that `pause` can stop the container.
pub const CONTROLLERS: [&str; 6] = ["cpu", "cpuset", "devices", "freezer", "memory", "pids"];

/// The cgroup filesystems of a host: where each v1 controller is mounted,
/// and where the v2 hierarchy is, if anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// v1 mount point of each controller in [`CONTROLLERS`] that has one.
    pub v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount point, if there is one.
    pub unified: Option<PathBuf>,
}

// ANCHOR: setup
/// The three ways a host can be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Only version 1 hierarchies (older distributions).
    V1,
    /// Only the unified hierarchy (current distributions).
    V2,
    /// Version 1 controllers plus a cgroup2 mount that has none of them,
    /// usually at `/sys/fs/cgroup/unified`: the limits live in v1.
    Hybrid,
}
// ANCHOR_END: setup

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setup::V1 => "cgroup v1",
            Setup::V2 => "cgroup v2",
            Setup::Hybrid => "hybrid (limits in cgroup v1)",
        })
    }
}

impl Host {
    /// The cgroup filesystems visible to this process.
    ///
    /// Read once per process: one `run` needs the answer three times (to
    /// check the options, to build the hook, to clean up), and the host's
    /// cgroup mounts do not move while mydocker runs.
    pub fn detect() -> Result<Host> {
        static HOST: OnceLock<Host> = OnceLock::new();
        if let Some(host) = HOST.get() {
            return Ok(host.clone());
        }
        let text =
            std::fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
        Ok(HOST.get_or_init(|| Host::from_mountinfo(&text)).clone())
    }

    // ANCHOR: from_mountinfo
    /// Reads the cgroup mounts out of the text of a `mountinfo` file.
    pub fn from_mountinfo(text: &str) -> Host {
        let mut host = Host::default();
        for line in text.lines() {
            // Fields before " - " vary in number; the mount point is the
            // fifth. After it: filesystem type, source, superblock options.
            let Some((mount, fs)) = line.split_once(" - ") else {
                continue;
            };
            let Some(point) = mount.split(' ').nth(4) else {
                continue;
            };
            let mut fs = fs.split(' ');
            let (fstype, options) = (fs.next(), fs.nth(1).unwrap_or(""));
            match fstype {
                Some("cgroup") => {
                    for controller in options.split(',') {
                        if CONTROLLERS.contains(&controller) {
                            // The first mount wins; later ones are bind mounts.
                            host.v1
                                .entry(controller.to_string())
                                .or_insert_with(|| unescape(point));
                        }
                    }
                }
                Some("cgroup2") => {
                    host.unified.get_or_insert_with(|| unescape(point));
                }
                _ => {}
            }
        }
        host
    }
    // ANCHOR_END: from_mountinfo

    /// How this host is set up; an error if it has no cgroups at all.
    pub fn setup(&self) -> Result<Setup> {
        match (self.v1.is_empty(), &self.unified) {
            (false, None) => Ok(Setup::V1),
            (false, Some(_)) => Ok(Setup::Hybrid),
            (true, Some(_)) => Ok(Setup::V2),
            (true, None) => bail!("no cgroup filesystem is mounted (see /proc/self/mountinfo)"),
        }
    }
}

/// Undoes mountinfo's escaping of spaces and the like (`\040` is a space).
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const V1_COMOUNTED: &str = "\
25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
26 24 0:23 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
";

    const V2: &str = "\
29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn hybrid_host() {
        let host = Host::from_mountinfo(HYBRID);
        assert_eq!(host.setup().unwrap(), Setup::Hybrid);
        assert_eq!(host.v1.keys().collect::<Vec<_>>(), CONTROLLERS);
        assert_eq!(host.v1["memory"], PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(host.unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn v1_host_with_comounted_controllers() {
        let host = Host::from_mountinfo(V1_COMOUNTED);
        assert_eq!(host.setup().unwrap(), Setup::V1);
        assert_eq!(host.v1["cpu"], PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(!host.v1.contains_key("pids"));
    }

    #[test]
    fn v2_host() {
        let host = Host::from_mountinfo(V2);
        assert_eq!(host.setup().unwrap(), Setup::V2);
        assert_eq!(host.unified, Some(PathBuf::from("/sys/fs/cgroup")));
    }

    #[test]
    fn no_cgroups_and_escaped_paths() {
        assert!(Host::default().setup().is_err());
        let line = "1 0 0:1 / /mnt/my\\040cgroups rw - cgroup2 none rw\n";
        let host = Host::from_mountinfo(line);
        assert_eq!(host.unified, Some(PathBuf::from("/mnt/my cgroups")));
    }

    #[test]
    fn this_machine_has_some_cgroups() {
        let host = Host::detect().unwrap();
        host.setup().unwrap();
    }
}
