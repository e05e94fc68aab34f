//! Chapter 1's seccomp filter, observed from inside a container: the mode in
//! `/proc/self/status`, the calls Docker's profile refuses, and profiles
//! given with `--security-opt seccomp=FILE`. Each refused call would be
//! harmless if it went through (a new user namespace, a keyring lookup).

mod common;

use std::path::PathBuf;

use assert_cmd::cargo::cargo_bin_cmd;
use common::sh;
use testkit::require_root;

/// Docker's default profile, the file as Docker ships it.
fn docker_profile() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seccomp/docker-default.json")
}

/// `keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)` from Python
/// (x86_64's number 250), printing the errno: the keyrings are the kernel's,
/// not the container's, so Docker's profile leaves keyctl out.
const KEYCTL: &str = "/usr/bin/python3 -c 'import ctypes; c = ctypes.CDLL(None, use_errno=True); \
                      r = c.syscall(250, 0, -3, 0); print(\"keyctl\", r, ctypes.get_errno())'";

#[test]
fn a_default_container_runs_under_dockers_filter() {
    if !require_root("a_default_container_runs_under_dockers_filter") {
        return;
    }
    let (code, out, err) = sh(&[], "grep '^Seccomp:' /proc/self/status");
    assert_eq!((code, out.as_str()), (0, "Seccomp:\t2\n"), "{err}");
    // A new user namespace would give root back every capability inside it.
    let (code, _, err) = sh(&[], "unshare -U true");
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err}");
    if cfg!(target_arch = "x86_64") {
        let (_, out, err) = sh(&[], KEYCTL);
        assert_eq!(out, "keyctl -1 1\n", "{err}");
    }
}

#[test]
fn unconfined_and_privileged_have_no_filter() {
    if !require_root("unconfined_and_privileged_have_no_filter") {
        return;
    }
    for args in [
        &["--security-opt", "seccomp=unconfined"][..],
        &["--privileged"],
    ] {
        let (code, out, err) = sh(args, "grep '^Seccomp:' /proc/self/status");
        assert_eq!(
            (code, out.as_str()),
            (0, "Seccomp:\t0\n"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn dockers_own_profile_file_is_taken_unmodified() {
    if !require_root("dockers_own_profile_file_is_taken_unmodified") {
        return;
    }
    let opt = format!("seccomp={}", docker_profile().display());
    let (code, out, err) = sh(
        &["--security-opt", &opt],
        "grep '^Seccomp:' /proc/self/status; unshare -U true",
    );
    assert_eq!(out, "Seccomp:\t2\n", "{err}");
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err}");
}

#[test]
fn a_profile_that_denies_mkdir_makes_mkdir_fail_with_eperm() {
    if !require_root("a_profile_that_denies_mkdir_makes_mkdir_fail_with_eperm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
            ]
        }"#,
    )
    .unwrap();
    let target = dir.path().join("made");
    let opt = format!("seccomp={}", profile.display());
    let (code, _, err) = sh(
        &["--security-opt", &opt],
        &format!("mkdir {}", target.display()),
    );
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err}");
    assert!(!target.exists());
    // Without the profile the same mkdir works.
    let (code, _, err) = sh(&[], &format!("mkdir {}", target.display()));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_bad_profile_is_one_line_and_exit_125() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.json");
    std::fs::write(&profile, "{\"defaultAction\": \"SCMP_ACT_PERHAPS\"}").unwrap();
    for opt in [
        format!("seccomp={}", profile.display()),
        "seccomp=/no/such.json".into(),
        "apparmor=x".into(),
    ] {
        let out = cargo_bin_cmd!("ch01-namespaces")
            .args(["run", "--security-opt", &opt, "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{opt}: {err}");
        assert_eq!(err.lines().count(), 1, "{opt}: {err}");
    }
}
