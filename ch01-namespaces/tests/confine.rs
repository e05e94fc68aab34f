//! Chapter 1's confinement, observed from inside a container: the
//! capability sets in `/proc/self/status`, and attempts that must be
//! refused. Nothing here does harm if a refusal were missing: each write
//! goes to a path made read-only, and is checked for EROFS/EACCES.

mod common;

use common::sh;
use testkit::require_root;

/// The value of `Field:` in the container's `/proc/self/status`.
fn status_field(args: &[&str], field: &str) -> String {
    let (code, out, err) = sh(args, &format!("grep '^{field}:' /proc/self/status"));
    assert_eq!(code, 0, "{err}");
    out.split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn root_inside_keeps_dockers_fourteen_capabilities() {
    if !require_root("root_inside_keeps_dockers_fourteen_capabilities") {
        return;
    }
    for field in ["CapEff", "CapPrm", "CapBnd", "CapInh"] {
        assert_eq!(status_field(&[], field), "00000000a80425fb", "{field}");
    }
    assert_eq!(status_field(&[], "CapAmb"), "0000000000000000");
    assert_eq!(status_field(&[], "NoNewPrivs"), "0");
}

#[test]
fn cap_drop_all_leaves_none_and_cap_add_adds_one() {
    if !require_root("cap_drop_all_leaves_none_and_cap_add_adds_one") {
        return;
    }
    assert_eq!(
        status_field(&["--cap-drop", "ALL"], "CapBnd"),
        "0000000000000000"
    );
    assert_eq!(
        status_field(&["--cap-drop", "ALL"], "CapEff"),
        "0000000000000000"
    );
    // NET_ADMIN is bit 12: 0x1000.
    assert_eq!(
        status_field(&["--cap-add", "NET_ADMIN"], "CapEff"),
        "00000000a80435fb"
    );
    assert_eq!(
        status_field(&["--cap-drop", "ALL", "--cap-add", "cap_kill"], "CapEff"),
        "0000000000000020"
    );
    let (code, _, err) = sh(&["--cap-add", "FLY"], "true");
    assert_eq!(code, 125);
    assert!(err.contains("invalid --cap-add \"FLY\""), "{err}");
}

#[test]
fn privileged_keeps_every_capability_mydocker_has() {
    if !require_root("privileged_keeps_every_capability_mydocker_has") {
        return;
    }
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let ours = ours
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(status_field(&["--privileged"], "CapEff"), ours);
    // And it may mount, which the default set forbids (no CAP_SYS_ADMIN).
    let (code, _, err) = sh(&[], "mount -t tmpfs none /tmp");
    assert_ne!(code, 0, "a default container could mount");
    assert!(err.to_lowercase().contains("permission denied"), "{err}");
}

#[test]
fn no_new_privileges_sets_the_bit() {
    if !require_root("no_new_privileges_sets_the_bit") {
        return;
    }
    let opt = ["--security-opt", "no-new-privileges"];
    assert_eq!(status_field(&opt, "NoNewPrivs"), "1");
}

/// The host-wide files of `/proc`: core_pattern (the program the kernel
/// runs as root on the host at any crash) and sysrq-trigger are read-only,
/// kcore, keys and timer_list are masked. (Some kernels have no kcore or
/// sysrq-trigger; what exists is checked.)
#[test]
fn host_wide_proc_files_are_read_only_or_masked() {
    if !require_root("host_wide_proc_files_are_read_only_or_masked") {
        return;
    }
    let script = r#"
        for f in /proc/sys/kernel/core_pattern /proc/sysrq-trigger; do
            [ -e $f ] || continue
            if (: >> $f) 2>/dev/null; then echo "$f writable"; else echo "$f refused"; fi
        done
        for f in /proc/kcore /proc/keys /proc/timer_list; do
            [ -e $f ] || continue
            echo "$f $(wc -c < $f) bytes"
        done
        grep -c ' /proc/sys ro,' /proc/self/mountinfo
    "#;
    let (code, out, err) = sh(&[], script);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("writable"), "{out}");
    assert!(
        out.contains("/proc/sys/kernel/core_pattern refused"),
        "{out}"
    );
    assert!(out.contains("/proc/keys 0 bytes"), "{out}");
    assert!(out.ends_with("1\n"), "{out}");
    // --privileged shows them as they are.
    let (_, out, _) = sh(
        &["--privileged"],
        "grep -c ' /proc/sys ro,' /proc/self/mountinfo",
    );
    assert_eq!(out, "0\n");
}
