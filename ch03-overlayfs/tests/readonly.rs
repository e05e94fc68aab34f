//! `--read-only` and `--tmpfs`: the image's files cannot be changed, the
//! mounts on top of the root stay writable, and a tmpfs is empty, private
//! and gone with the container.

mod common;

use common::Fixture;

#[test]
fn a_read_only_root_refuses_writes_but_tmpfs_and_volumes_take_them() {
    if !testkit::require_root("a_read_only_root_refuses_writes_but_tmpfs_and_volumes_take_them") {
        return;
    }
    let fx = Fixture::new();
    let volume = tempfile::tempdir().unwrap();
    let v = format!("{}:/data", volume.path().display());
    let out = fx.run_ok(&[
        "--read-only",
        "--tmpfs",
        "/run/app:size=1m",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "touch /etc/x 2>&1 | grep -o 'Read-only file system'; \
         echo hi > /run/app/f && cat /run/app/f; \
         grep ' /run/app ' /proc/mounts | cut -d' ' -f3,4; \
         echo kept > /data/f; echo x > /dev/null && echo dev-ok",
    ]);
    assert_eq!(
        out,
        "Read-only file system\nhi\ntmpfs rw,nosuid,nodev,noexec,relatime,size=1024k\ndev-ok\n"
    );
    assert_eq!(
        std::fs::read_to_string(volume.path().join("f")).unwrap(),
        "kept\n"
    );
    // The tmpfs was the container's: nothing of it is on the host.
    assert!(!fx.containers_dir().join("run").exists());
}

#[test]
fn without_read_only_the_root_is_writable_and_a_tmpfs_can_allow_exec() {
    if !testkit::require_root("without_read_only_the_root_is_writable_and_a_tmpfs_can_allow_exec") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run_ok(&[
        "--tmpfs",
        "/scratch:exec,mode=1777",
        "busybox",
        "sh",
        "-c",
        "touch /etc/x && echo root-rw; cp /bin/busybox /scratch/true && /scratch/true && echo exec-ok; \
         stat -c %a /scratch",
    ]);
    assert_eq!(out, "root-rw\nexec-ok\n1777\n");
}

#[test]
fn a_bad_tmpfs_is_refused_and_creates_nothing() {
    let fx = Fixture::new();
    let out = fx.run(&["--tmpfs", "relative", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid --tmpfs \"relative\""), "{err}");
    assert!(fx.containers().is_empty());
}
