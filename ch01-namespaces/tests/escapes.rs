//! The classic ways out of a container, each tried from inside a default
//! container and each refused. Every attempt is harmless if it went through:
//! nothing is written (`: >>` opens for writing and writes nothing), mounts
//! are read-only and inside the container's own mount namespace, the user
//! namespace would be empty, the keyring is only looked up.
//!
//! Chapter 1 still shares the host's `/dev`; refusing to open a disk is
//! chapter 2's device cgroup (its own test), so here only `mount` of it is
//! tried, and refused for want of `CAP_SYS_ADMIN`.

mod common;

use common::sh;
use testkit::require_root;

/// The device the host's `/` is mounted from (`/dev/vda`, `/dev/sda1`...).
fn root_device() -> Option<String> {
    let out = std::process::Command::new("findmnt")
        .args(["-no", "SOURCE", "/"])
        .output()
        .ok()?;
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    dev.starts_with("/dev/").then_some(dev)
}

/// Each attempt prints `NAME refused: REASON` or `NAME WORKED`. A fresh
/// procfs anywhere would show `/proc/kcore` and the rest unmasked; a fresh
/// sysfs is tried right over the masked `/sys/firmware`.
const ATTEMPTS: &str = r#"
    try() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name WORKED"; else echo "$name refused: $out"; fi; }
    try core_pattern sh -c ': >> /proc/sys/kernel/core_pattern'
    try procfs mount -t proc proc /mnt
    try sysfs mount -t sysfs sysfs /sys/firmware
    try unmask umount /proc/keys
    try userns unshare -U true
    try keyctl /usr/bin/python3 -c 'import ctypes, os, sys; c = ctypes.CDLL(None, use_errno=True); r = c.syscall(250, 0, -3, 0); sys.exit(os.strerror(ctypes.get_errno()) if r < 0 else 0)'
"#;

#[test]
fn the_classic_escapes_are_refused() {
    if !require_root("the_classic_escapes_are_refused") {
        return;
    }
    let mut script = ATTEMPTS.to_string();
    if let Some(dev) = root_device() {
        script += &format!("try disk mount -o ro {dev} /mnt\n");
    }
    let (_, out, err) = sh(&[], &script);
    assert!(!out.contains("WORKED"), "{out}\n{err}");
    for (name, reason) in [
        ("core_pattern", "Read-only file system"),
        ("procfs", "ermission denied"),
        ("sysfs", "ermission denied"),
        ("unmask", "must be superuser"),
        ("userns", "Operation not permitted"),
        ("keyctl", "Operation not permitted"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_default();
        assert!(line.contains(reason), "{name}: {line:?}\n{out}");
    }
    if root_device().is_some() {
        assert!(out.contains("disk refused:"), "{out}");
    }
}

/// The user namespace and the keyring are refused by seccomp, not by the
/// capabilities: unconfined, the same container may make both (an empty
/// user namespace, a look-up of its own keyring: still harmless).
#[test]
fn seccomp_is_what_refuses_the_user_namespace_and_the_keyring() {
    if !require_root("seccomp_is_what_refuses_the_user_namespace_and_the_keyring") {
        return;
    }
    let (_, out, err) = sh(&["--security-opt", "seccomp=unconfined"], ATTEMPTS);
    for name in ["userns", "keyctl"] {
        assert!(
            out.contains(&format!("{name} WORKED")),
            "{name}: {out}\n{err}"
        );
    }
    assert!(out.contains("procfs refused"), "{out}");
}
