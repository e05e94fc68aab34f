//! Capabilities: what root inside the container may still do.
//!
//! Since Linux 2.2 "root" is not one privilege but about forty, each a bit:
//! `CAP_SYS_ADMIN` (mount, and much else), `CAP_NET_ADMIN` (configure the
//! network), `CAP_SYS_MODULE` (load kernel code), ... A process has several
//! sets of them:
//!
//! | set         | what it is                                                 |
//! |-------------|------------------------------------------------------------|
//! | effective   | what the kernel checks right now                           |
//! | permitted   | what the process may put into effective                    |
//! | inheritable | what may survive an `execve` (with file capabilities)      |
//! | bounding    | the ceiling: a capability not in it can never be regained, |
//! |             | not even by executing a setuid-root or a file-capability   |
//! |             | program                                                    |
//! | ambient     | what a non-root program keeps across `execve`              |
//!
//! Namespaces do not take any of them away: root in a new PID and mount
//! namespace may still load a module, change the clock or reboot the host.
//! So the container gets Docker's default set of 14, which is what a
//! program that runs as root usually needs (change owners, bind port 80,
//! `chroot`, `setuid`), and nothing that reaches the whole machine.
//!
//! When uid 0 calls `execve`, the kernel gives the new program every
//! capability of the bounding set: dropping a capability from the bounding
//! set is what makes the drop last. The other sets are then set to the same
//! list with `capset(2)`, and ambient is cleared.

use anyhow::{Context, Result, bail};

// ANCHOR: names
/// Every capability the kernel knows, by number (`include/uapi/linux/capability.h`).
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's default set: what a container's root keeps.
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];
// ANCHOR_END: names

/// A set of capabilities, one bit per capability number (as `CapEff:` in
/// `/proc/PID/status` shows it, in hexadecimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps(pub u64);

impl Caps {
    /// Every capability this kernel has (`/proc/sys/kernel/cap_last_cap`).
    pub fn all() -> Caps {
        let last = last_cap().unwrap_or(NAMES.len() as u32 - 1);
        Caps(if last >= 63 {
            u64::MAX
        } else {
            (1u64 << (last + 1)) - 1
        })
    }

    /// Docker's default 14.
    pub fn docker_default() -> Caps {
        let mut caps = Caps(0);
        for name in DOCKER_DEFAULT {
            caps.0 |= bit(name).unwrap_or(0);
        }
        caps
    }

    /// True if capability number `n` is in the set.
    pub fn has(&self, n: u32) -> bool {
        n < 64 && self.0 & (1 << n) != 0
    }

    // ANCHOR: adjust
    /// Docker's `--cap-add` and `--cap-drop` applied to the default set:
    /// drops first, then adds, so `--cap-drop ALL --cap-add NET_RAW` keeps
    /// just one. Names are case-insensitive, with or without `CAP_`.
    pub fn adjusted(add: &[String], drop: &[String]) -> Result<Caps> {
        let mut caps = Caps::docker_default();
        for name in drop {
            caps.0 &= !parse(name, "--cap-drop")?;
        }
        for name in add {
            caps.0 |= parse(name, "--cap-add")?;
        }
        Ok(caps)
    }
    // ANCHOR_END: adjust

    /// The names in the set, in the kernel's order, as `CAP_X` words.
    pub fn names(&self) -> Vec<String> {
        (0..NAMES.len() as u32)
            .filter(|&n| self.has(n))
            .map(|n| format!("CAP_{}", NAMES[n as usize]))
            .collect()
    }
}

/// The number of one capability name (`SYS_ADMIN` is 21).
pub fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|n| n as u32)
}

/// The bit of one capability name.
fn bit(name: &str) -> Option<u64> {
    number(name).map(|n| 1u64 << n)
}

/// One `--cap-add`/`--cap-drop` value: a name, or `ALL`.
fn parse(raw: &str, flag: &str) -> Result<u64> {
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if name == "ALL" {
        return Ok(Caps::all().0);
    }
    match bit(name) {
        Some(bit) => Ok(bit),
        None => bail!("invalid {flag} {raw:?}: no such capability (see capabilities(7))"),
    }
}

/// The highest capability number this kernel knows.
fn last_cap() -> Result<u32> {
    let path = "/proc/sys/kernel/cap_last_cap";
    let text = std::fs::read_to_string(path).with_context(|| format!("read {path}"))?;
    text.trim()
        .parse()
        .with_context(|| format!("{path}: {:?} is not a number", text.trim()))
}

// ANCHOR: apply
/// Reduces the calling process to `keep`, for good: every other capability
/// leaves the bounding set (`prctl(PR_CAPBSET_DROP)`, one by one, which
/// needs `CAP_SETPCAP`, so it comes first), ambient is emptied, and
/// effective, permitted and inheritable become `keep` (`capset(2)`). A
/// capability that mydocker itself lacks cannot be given (`--privileged`
/// under a runtime that was confined already): it stays out.
pub fn restrict_to(keep: Caps) -> Result<()> {
    let last = last_cap()?;
    let mut keep = keep;
    for n in 0..=last {
        // SAFETY: prctl with integer arguments only; 1 means "in the set".
        let bounded = unsafe { libc::prctl(libc::PR_CAPBSET_READ, n as libc::c_ulong, 0, 0, 0) };
        if bounded != 1 {
            keep.0 &= !(1u64 << n);
        }
        if !keep.has(n) && bounded == 1 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("prctl(PR_CAPBSET_DROP, CAP_{})", name_of(n)));
            }
        }
    }
    // SAFETY: as above. EINVAL means a kernel older than 4.3, without ambient.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    }
    capset(keep)
}
// ANCHOR_END: apply

fn name_of(n: u32) -> &'static str {
    NAMES.get(n as usize).copied().unwrap_or("?")
}

/// `capset(2)` with version 3 of its structures: two 32-bit halves of each
/// set. (libc has the call but not the structures.)
fn capset(caps: Caps) -> Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let half = |shift: u32| {
        let bits = (caps.0 >> shift) as u32;
        Data {
            effective: bits,
            permitted: bits,
            inheritable: bits,
        }
    };
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [half(0), half(32)];
    // SAFETY: the header and two data structures, as capset(2) expects.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("capset");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_default_is_the_mask_docker_shows() {
        assert_eq!(
            format!("{:016x}", Caps::docker_default().0),
            "00000000a80425fb"
        );
        assert_eq!(Caps::docker_default().names().len(), 14);
    }

    #[test]
    fn drop_then_add_in_any_spelling() {
        let caps = Caps::adjusted(&["net_admin".into()], &["CAP_CHOWN".into()]).unwrap();
        assert!(caps.names().contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.names().contains(&"CAP_CHOWN".to_string()));
        let one = Caps::adjusted(&["NET_RAW".into()], &["ALL".into()]).unwrap();
        assert_eq!(one.names(), ["CAP_NET_RAW"]);
        assert_eq!(Caps::adjusted(&[], &["all".into()]).unwrap(), Caps(0));
    }

    #[test]
    fn unknown_names_are_refused_with_the_flag() {
        let err = Caps::adjusted(&["FLY".into()], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid --cap-add \"FLY\": no such capability (see capabilities(7))"
        );
    }
}
