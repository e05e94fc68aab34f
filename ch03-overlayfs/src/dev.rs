//! A fresh `/dev` for the container.
//!
//! `/dev/null` is not a file with nothing in it: it is a *character device*,
//! a name that leads into a driver (major 1, minor 3 of the kernel's `mem`
//! driver) which throws away whatever is written and returns end-of-file on
//! every read. An empty regular file named `/dev/null` behaves like one until
//! the first write; after it, `cat /dev/null` prints what was written, and
//! every program that reads it expecting nothing (a shell's `< /dev/null`, a
//! config loader, the certificate tools of the seed's FAQ) reads garbage.
//!
//! So the container gets a small tmpfs on `/dev` holding real device nodes,
//! made with `mknod(2)`, and only the harmless ones: no disks, no `/dev/mem`.

use std::path::Path;

use anyhow::{Context, Result};
use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;
use ch02_cgroups::devices::{Device, Kind};
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, makedev};

use crate::pivot::ensure_dir;
use crate::syscall::{Kernel, Syscall};

// ANCHOR: devices
/// The device nodes every container gets: name, major, minor.
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    // The calling process's controlling terminal, whatever it is.
    ("tty", 5, 0),
];

/// The symbolic links of a standard `/dev`.
pub const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    // The pseudo-terminal multiplexer of the container's own devpts.
    ("ptmx", "pts/ptmx"),
];
// ANCHOR_END: devices

// ANCHOR: populate
/// Mounts a tmpfs on `dev` (normally `/dev`, after `pivot_root`) and fills
/// it: device nodes, a new `devpts` instance, `shm`, and the usual links.
pub fn populate(sys: &dyn Syscall, dev: &Path) -> Result<()> {
    populate_with(sys, dev, None)
}

/// [`populate`] in a user namespace, where `mknod` of a device is refused:
/// each node is an empty file with the host's node (from `host_dev`) bound
/// onto it. A bind mount gives access to the very same device, and nothing
/// more: the namespace's root still cannot make a node of its own.
pub fn populate_bound(sys: &dyn Syscall, dev: &Path, host_dev: &Path) -> Result<()> {
    populate_with(sys, dev, Some(host_dev))
}

fn populate_with(sys: &dyn Syscall, dev: &Path, host_dev: Option<&Path>) -> Result<()> {
    ensure_dir(sys, dev, 0o755)?;
    // nosuid: nothing on /dev may gain privileges. Not nodev, of course.
    sys.mount(
        Some(Path::new("tmpfs")),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .with_context(|| format!("mount tmpfs on {}", dev.display()))?;

    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        if let Some(host_dev) = host_dev {
            bind_node(sys, &host_dev.join(name), &path)?;
            continue;
        }
        sys.mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .with_context(|| format!("mknod {} c {major} {minor}", path.display()))?;
        // mknod applied our umask; these nodes are for everybody.
        set_mode(sys, &path, 0o666)?;
    }

    // A new instance of devpts: the container's terminals are its own, and
    // it cannot open the host's through /dev/pts/N.
    let pts = dev.join("pts");
    ensure_dir(sys, &pts, 0o755)?;
    sys.mount(
        Some(Path::new("devpts")),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )
    .with_context(|| format!("mount devpts on {}", pts.display()))?;

    // POSIX shared memory (shm_open) lives in /dev/shm.
    let shm = dev.join("shm");
    ensure_dir(sys, &shm, 0o1777)?;
    sys.mount(
        Some(Path::new("shm")),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .with_context(|| format!("mount tmpfs on {}", shm.display()))?;

    for (name, target) in LINKS {
        let path = dev.join(name);
        sys.symlink(Path::new(target), &path)
            .with_context(|| format!("symlink {} -> {target}", path.display()))?;
    }
    Ok(())
}
// ANCHOR_END: populate

// ANCHOR: device_nodes
/// The hook for `--device`: each host node given to the container is made
/// again in its `/dev` (or wherever it asked), with the host node's type,
/// numbers and mode. Chapter 2's device cgroup is what lets it be opened.
pub struct DeviceNodes(pub Vec<Device>);

impl Hook for DeviceNodes {
    fn name(&self) -> &'static str {
        "device nodes"
    }

    fn stage(&self) -> Stage {
        Stage::Devices
    }

    /// A user namespace may not make device nodes, and after `pivot_root`
    /// the host's are out of reach to bind: the two do not go together yet.
    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        if spec.userns.is_some() && !self.0.is_empty() {
            anyhow::bail!(
                "--device cannot be used with --userns=private yet: a user namespace may not make device nodes"
            );
        }
        Ok(())
    }

    fn enter(&self, _spec: &Spec) -> Result<()> {
        make_nodes(&Kernel, &self.0)
    }
}

/// Makes the nodes, inside the new root.
pub fn make_nodes(sys: &dyn Syscall, devices: &[Device]) -> Result<()> {
    for device in devices {
        let path = &device.container;
        let mut dir = std::path::PathBuf::from("/");
        if let Some(parent) = path.parent() {
            for part in parent.components().skip(1) {
                dir.push(part);
                ensure_dir(sys, &dir, 0o755)?;
            }
        }
        let kind = match device.kind {
            Kind::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFCHR,
        };
        let (major, minor) = (u64::from(device.major), u64::from(device.minor));
        let made = sys.mknod(
            path,
            kind,
            Mode::from_bits_truncate(device.mode),
            makedev(major, minor),
        );
        // `--device /dev/null`: the node is one of chapter 3's already, and
        // the rule alone was what was asked for.
        if made == Err(nix::errno::Errno::EEXIST) {
            continue;
        }
        made.with_context(|| {
            format!(
                "mknod {} for --device {}",
                path.display(),
                device.host.display()
            )
        })?;
        set_mode(sys, path, device.mode)?;
    }
    Ok(())
}
// ANCHOR_END: device_nodes

/// Binds the host's device node `host` onto a new empty file `path`.
fn bind_node(sys: &dyn Syscall, host: &Path, path: &Path) -> Result<()> {
    // mknod of a regular file is allowed to anyone: it is an empty file.
    sys.mknod(path, SFlag::S_IFREG, Mode::from_bits_truncate(0o666), 0)
        .with_context(|| format!("create {}", path.display()))?;
    sys.mount(Some(host), path, None, MsFlags::MS_BIND, None)
        .with_context(|| format!("bind mount {} on {}", host.display(), path.display()))
}

fn set_mode(sys: &dyn Syscall, path: &Path, mode: u32) -> Result<()> {
    sys.chmod(path, mode)
        .with_context(|| format!("chmod {:o} {}", mode, path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::Recorder;

    #[test]
    fn a_device_already_in_dev_is_left_as_it_is() {
        let null = ch02_cgroups::devices::Device::parse("/dev/null").unwrap();
        let sys = Recorder::new().fail("mknod", nix::errno::Errno::EEXIST);
        make_nodes(&sys, &[null]).unwrap();
        let sys = Recorder::new().fail("mknod", nix::errno::Errno::EPERM);
        let null = ch02_cgroups::devices::Device::parse("/dev/null:/dev/x/null").unwrap();
        let err = make_nodes(&sys, &[null]).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("mknod /dev/x/null for --device /dev/null"),
            "{err:#}"
        );
    }

    #[test]
    fn dev_gets_a_tmpfs_nodes_terminals_shm_and_links() {
        let sys = Recorder::new();
        populate(&sys, Path::new("/dev")).unwrap();
        insta::assert_snapshot!(sys);
    }
}
