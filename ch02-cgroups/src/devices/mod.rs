//! Which device nodes a container may open.
//!
//! Namespaces do not cover devices: a device node is only a name for a
//! driver, picked by its type (character or block) and its two numbers,
//! major and minor. Root in a container may `mknod /tmp/sda b 8 0` and
//! open the host's first disk through it, whatever its mount namespace
//! shows, and read or overwrite it. Dropping `CAP_MKNOD` would not be
//! enough either (a node can come in through a volume or an image).
//!
//! The *device controller* closes that door where every open passes: the
//! kernel asks the container's cgroup, on each `open(2)` and `mknod(2)` of a
//! device node, whether this type, major:minor and access (read, write,
//! mknod) is allowed. Chapter 2 gives every container Docker's allow-list
//! ([`DEFAULT`]); `--device` adds one node; `--privileged` allows all.
//!
//! The two cgroup versions ask the question differently:
//!
//! - v1 has a `devices` hierarchy with two files: `a` written to
//!   `devices.deny` forbids everything, and each rule written to
//!   `devices.allow` (`c 1:3 rwm`) makes an exception ([`crate::v1`]);
//! - v2 has no file for it: the answer is a small eBPF program attached to
//!   the cgroup, which the kernel runs on every check ([`bpf`]).

pub mod bpf;

use std::fmt;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};

// ANCHOR: rule
/// The kind of device a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Both kinds, any numbers, any access: v1's `a`.
    #[serde(rename = "a")]
    All,
    /// A character device (`c`): a stream of bytes, a terminal, `/dev/null`.
    #[serde(rename = "c")]
    Char,
    /// A block device (`b`): a disk, a partition, a loop device.
    #[serde(rename = "b")]
    Block,
}

/// What a process wants to do with a device node, as a set of the kernel's
/// bits (`BPF_DEVCG_ACC_*`; v1 spells them `m`, `r` and `w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Access(u8);

impl Access {
    /// Create the node with `mknod(2)`.
    pub const MKNOD: Access = Access(1);
    /// Open it for reading.
    pub const READ: Access = Access(2);
    /// Open it for writing.
    pub const WRITE: Access = Access(4);
    /// All three: `rwm`.
    pub const ALL: Access = Access(7);

    /// The kernel's bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Parses Docker's and v1's spelling, letters from `rwm` (each at most
    /// once, in any order); `None` for anything else.
    pub fn parse(text: &str) -> Option<Access> {
        let mut bits = 0;
        for c in text.chars() {
            let bit = match c {
                'r' => Access::READ.0,
                'w' => Access::WRITE.0,
                'm' => Access::MKNOD.0,
                _ => return None,
            };
            if bits & bit != 0 {
                return None;
            }
            bits |= bit;
        }
        (bits != 0).then_some(Access(bits))
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.0 & bit.0 != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

impl From<Access> for String {
    fn from(access: Access) -> String {
        access.to_string()
    }
}

impl TryFrom<String> for Access {
    type Error = String;

    fn try_from(text: String) -> Result<Access, String> {
        Access::parse(&text).ok_or_else(|| format!("invalid device access {text:?}"))
    }
}

/// One line of the allow-list: a kind, a major and a minor (`None` is the
/// wildcard `*`), and what may be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Character, block, or both.
    pub kind: Kind,
    /// The major number; `None` matches any.
    pub major: Option<u32>,
    /// The minor number; `None` matches any.
    pub minor: Option<u32>,
    /// What is allowed.
    pub access: Access,
}

impl Rule {
    /// `c MAJOR:MINOR ACCESS`.
    pub const fn char(major: u32, minor: Option<u32>, access: Access) -> Rule {
        Rule {
            kind: Kind::Char,
            major: Some(major),
            minor,
            access,
        }
    }

    /// Every device, every access: `--privileged`.
    pub const ALL: Rule = Rule {
        kind: Kind::All,
        major: None,
        minor: None,
        access: Access::ALL,
    };

    /// True for the rule that allows everything.
    pub fn allows_all(&self) -> bool {
        *self == Rule::ALL
    }
}

/// The rule as v1's `devices.allow` wants it: `c 1:3 rwm`, `b *:* m`, `a`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        match self.kind {
            Kind::All if self.access == Access::ALL => f.write_str("a"),
            kind => {
                let letter = match kind {
                    Kind::All => 'a',
                    Kind::Char => 'c',
                    Kind::Block => 'b',
                };
                let (major, minor) = (number(self.major), number(self.minor));
                write!(f, "{letter} {major}:{minor} {}", self.access)
            }
        }
    }
}
// ANCHOR_END: rule

// ANCHOR: default
/// Docker's allow-list: what every container may open without `--device`.
///
/// Where it comes from: Docker's engine (moby) starts the list with "deny
/// everything" and lets runc add the devices every container gets, runc's
/// `AllowedDevices` (libcontainer/specconv/spec_linux.go); moby's own
/// default spec (oci/defaults.go) adds `/dev/console`. These are the nodes
/// chapter 3 puts into `/dev`, plus the terminals, plus `mknod` of anything:
/// a node may be *created* (an image's tar can hold one), but only the
/// nodes listed here can be *opened*.
///
/// runc's list also allows `c 10:200 rwm`, `/dev/net/tun`, which a
/// container only needs to create its own network interfaces (runc dropped
/// it in 1.2.0-rc1, then restored it because users relied on it): it is
/// left out here, `--device /dev/net/tun` gives it.
pub const DEFAULT: [Rule; 11] = [
    // mknod of any node, no open: c *:* m and b *:* m.
    Rule {
        kind: Kind::Char,
        major: None,
        minor: None,
        access: Access::MKNOD,
    },
    Rule {
        kind: Kind::Block,
        major: None,
        minor: None,
        access: Access::MKNOD,
    },
    Rule::char(1, Some(3), Access::ALL), // /dev/null
    Rule::char(1, Some(5), Access::ALL), // /dev/zero
    Rule::char(1, Some(7), Access::ALL), // /dev/full
    Rule::char(1, Some(8), Access::ALL), // /dev/random
    Rule::char(1, Some(9), Access::ALL), // /dev/urandom
    Rule::char(5, Some(0), Access::ALL), // /dev/tty
    Rule::char(5, Some(1), Access::ALL), // /dev/console
    Rule::char(5, Some(2), Access::ALL), // /dev/ptmx
    Rule::char(136, None, Access::ALL),  // /dev/pts/*
];
// ANCHOR_END: default

/// The allow-list of a container: everything with `--privileged`, else
/// [`DEFAULT`] and one rule per `--device`.
pub fn rules(privileged: bool, devices: &[Device]) -> Vec<Rule> {
    if privileged {
        return vec![Rule::ALL];
    }
    let mut rules = DEFAULT.to_vec();
    rules.extend(devices.iter().map(Device::rule));
    rules
}

// ANCHOR: device
/// `--device HOST[:CONTAINER[:PERMS]]`: a host's device node given to the
/// container. The node is read (`stat`) once, when the flag is parsed: a
/// record keeps its numbers, so `start` recreates the same node later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The node on the host, as typed.
    pub host: PathBuf,
    /// Where the container sees it (the host path by default).
    pub container: PathBuf,
    /// Character or block.
    pub kind: Kind,
    /// The host node's major number.
    pub major: u32,
    /// The host node's minor number.
    pub minor: u32,
    /// The host node's permission bits, which the container's copy gets.
    pub mode: u32,
    /// What the container may do with it (default `rwm`).
    pub access: Access,
}

impl Device {
    /// Parses `HOST[:CONTAINER[:PERMS]]` as Docker does: with two parts,
    /// the second is PERMS if it reads as one (`/dev/fuse:rw`), else the
    /// container path. Then reads the host node, which must exist.
    pub fn parse(text: &str) -> Result<Device> {
        let usage = || {
            anyhow!(
                "invalid --device {text:?}: use HOST[:CONTAINER[:PERMS]], absolute paths and PERMS made of r, w and m"
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        let (host, container, access) = match parts[..] {
            [host] => (host, host, Access::ALL),
            [host, perms] if Access::parse(perms).is_some() => {
                (host, host, Access::parse(perms).ok_or_else(usage)?)
            }
            [host, container] => (host, container, Access::ALL),
            [host, container, perms] => (host, container, Access::parse(perms).ok_or_else(usage)?),
            _ => return Err(usage()),
        };
        let (host, container) = (Path::new(host), Path::new(container));
        for path in [host, container] {
            let plain = path.is_absolute()
                && path
                    .components()
                    .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            if !plain || path == Path::new("/") {
                return Err(usage());
            }
        }
        // stat, not lstat: /dev/disk/by-id/... are links to the node.
        let meta = std::fs::metadata(host).map_err(|e| {
            crate::driver::io_error(
                format!("--device {}: stat {}", host.display(), host.display()),
                e,
            )
        })?;
        let kind = if meta.file_type().is_char_device() {
            Kind::Char
        } else if meta.file_type().is_block_device() {
            Kind::Block
        } else {
            bail!("--device {}: not a device node", host.display());
        };
        let rdev = meta.rdev();
        Ok(Device {
            host: host.to_path_buf(),
            container: container.to_path_buf(),
            kind,
            major: nix::sys::stat::major(rdev) as u32,
            minor: nix::sys::stat::minor(rdev) as u32,
            mode: meta.mode() & 0o7777,
            access,
        })
    }

    /// The allow-list rule for this node: exactly its numbers.
    pub fn rule(&self) -> Rule {
        Rule {
            kind: self.kind,
            major: Some(self.major),
            minor: Some(self.minor),
            access: self.access,
        }
    }
}
// ANCHOR_END: device

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_in_devices_allow() {
        let list: Vec<String> = DEFAULT.iter().map(Rule::to_string).collect();
        insta::assert_snapshot!(list.join("\n"));
        assert_eq!(Rule::ALL.to_string(), "a");
        assert_eq!(rules(true, &[]), [Rule::ALL]);
    }

    #[test]
    fn access_letters() {
        assert_eq!(Access::parse("rwm"), Some(Access::ALL));
        assert_eq!(
            Access::parse("mr").map(|a| a.to_string()),
            Some("rm".into())
        );
        for bad in ["", "x", "rr", "rwmx", "R"] {
            assert_eq!(Access::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn device_spellings() {
        let null = Device::parse("/dev/null").unwrap();
        assert_eq!((null.kind, null.major, null.minor), (Kind::Char, 1, 3));
        assert_eq!(null.container, Path::new("/dev/null"));
        assert_eq!(null.access, Access::ALL);
        let zero = Device::parse("/dev/zero:/dev/myzero").unwrap();
        assert_eq!(zero.container, Path::new("/dev/myzero"));
        assert_eq!(zero.rule().to_string(), "c 1:5 rwm");
        let read_only = Device::parse("/dev/zero:r").unwrap();
        assert_eq!(read_only.container, Path::new("/dev/zero"));
        assert_eq!(read_only.rule().to_string(), "c 1:5 r");
        let three = Device::parse("/dev/null:/dev/x/null:rw").unwrap();
        assert_eq!(three.rule().to_string(), "c 1:3 rw");
        let json = serde_json::to_string(&three).unwrap();
        assert!(
            json.contains(r#""kind":"c""#) && json.contains(r#""access":"rw""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Device>(&json).unwrap(), three);
    }

    #[test]
    fn bad_devices_get_one_line() {
        let err = |text: &str| format!("{:#}", Device::parse(text).unwrap_err());
        for bad in [
            "",
            "dev/null",
            "/dev/null:rel",
            "/dev/null:/x:q",
            "/a:/b:r:w",
            "/dev/../dev/null",
            "/dev/null:/",
        ] {
            assert!(
                err(bad).starts_with("invalid --device"),
                "{bad:?}: {}",
                err(bad)
            );
        }
        assert_eq!(
            err("/dev/nope"),
            "--device /dev/nope: stat /dev/nope: no such file or directory"
        );
        assert_eq!(
            err("/etc/hostname"),
            "--device /etc/hostname: not a device node"
        );
    }
}
