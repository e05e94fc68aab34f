//! Inside the new root: real device nodes, a mount table of its own, and no
//! way back to the host's root.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Fixture;

/// Acceptance 1, second item: `/dev/null` is the real device.
#[test]
fn dev_holds_real_device_nodes() {
    if !testkit::require_root("dev_holds_real_device_nodes") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run_ok(&[
        "busybox",
        "sh",
        "-c",
        "stat -c '%F %t,%T' /dev/null; \
         echo x > /dev/null && echo write-ok; \
         wc -c < /dev/null; \
         head -c 16 /dev/urandom | wc -c",
    ]);
    assert_eq!(out, "character special file 1,3\nwrite-ok\n0\n16\n");
}

/// What `/dev` holds, as a person reads it: types, modes, device numbers,
/// links and the mounts under it.
#[test]
fn dev_listing() {
    if !testkit::require_root("dev_listing") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run_ok(&[
        "busybox",
        "sh",
        "-c",
        "cd /dev && for f in *; do stat -c '%-8n %-22F %4a %t,%T' \"$f\"; done; \
         for l in fd stdin stdout stderr ptmx; do echo \"$l -> $(readlink $l)\"; done; \
         grep ' /dev' /proc/mounts | cut -d' ' -f1-3",
    ]);
    insta::assert_snapshot!(out);
}

/// The mount options that matter: `/dev` is `nosuid` with mode 755, `/sys`
/// is read-only, `/dev/pts` is a new instance.
#[test]
fn dev_and_sys_mount_options() {
    if !testkit::require_root("dev_and_sys_mount_options") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run_ok(&["busybox", "cat", "/proc/mounts"]);
    let options = |point: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(point))
            .unwrap_or_else(|| panic!("{point} not mounted: {out}"));
        line.split(' ')
            .nth(3)
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let has = |point: &str, opt: &str| options(point).iter().any(|o| o == opt);
    assert!(has("/dev", "nosuid") && has("/dev", "mode=755"), "{out}");
    assert!(has("/sys", "ro"), "{out}");
    assert!(has("/dev/pts", "ptmxmode=666"), "{out}");
    assert!(
        has("/dev/shm", "nodev") && has("/dev/shm", "noexec"),
        "{out}"
    );
    // Writing to /sys fails.
    let write = fx.run(&["busybox", "sh", "-c", "echo x > /sys/kernel/mydocker-test"]);
    assert!(!write.status.success());
}

/// Acceptance 1, third item: the container's mount table is its own.
#[test]
fn proc_mounts_shows_only_the_containers_mounts() {
    if !testkit::require_root("proc_mounts_shows_only_the_containers_mounts") {
        return;
    }
    let fx = Fixture::new();
    // --privileged: chapter 3's own mounts, without chapter 1's masks over
    // /proc and /sys (which paths a kernel has differs; ch01 tests them).
    let args = [
        "--privileged",
        "busybox",
        "cut",
        "-d",
        " ",
        "-f",
        "1-3",
        "/proc/mounts",
    ];
    let out = fx.run_ok(&args);
    insta::assert_snapshot!(out, @r"
    overlay / overlay
    sysfs /sys sysfs
    tmpfs /dev tmpfs
    devpts /dev/pts devpts
    shm /dev/shm tmpfs
    proc /proc proc
    ");
    // And none of the host's own mount points (the standard names aside).
    let standard = ["/", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm"];
    let inside: Vec<&str> = out.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    let host = std::fs::read_to_string("/proc/self/mounts").unwrap();
    for point in host.lines().filter_map(|l| l.split(' ').nth(1)) {
        if !standard.contains(&point) {
            assert!(!inside.contains(&point), "host mount {point} seen inside");
        }
    }
}

/// A file at a unique path on the host's root, removed when dropped.
struct HostMarker(PathBuf);

impl HostMarker {
    fn new() -> HostMarker {
        let path = PathBuf::from(format!("/mydocker-escape-marker-{}", std::process::id()));
        std::fs::write(&path, "host only\n").expect("create the marker on the host's root");
        HostMarker(path)
    }
}

impl Drop for HostMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Builds `tests/fixtures/escape.c` as a static binary into `dir`.
fn build_escape(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/escape.c");
    let binary = dir.join("escape");
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc -static {} failed", source.display());
    binary
}

/// Acceptance 1, fourth item: the chroot escape that works against chroot
/// does not work against pivot_root.
#[test]
fn chroot_escape_cannot_reach_the_host_root() {
    if !testkit::require_root("chroot_escape_cannot_reach_the_host_root") {
        return;
    }
    let fx = Fixture::new();
    let tools = testkit::DataRoot::new();
    let escape = build_escape(tools.path());
    let marker = HostMarker::new();
    let marker_path = marker.0.to_str().unwrap();

    // Control: under plain chroot(8), the same program reaches the marker.
    let jail = testkit::DataRoot::new();
    std::fs::copy(&escape, jail.path().join("escape")).unwrap();
    let control = Command::new("chroot")
        .arg(jail.path())
        .args(["/escape", marker_path])
        .output()
        .expect("run chroot");
    assert_eq!(
        String::from_utf8_lossy(&control.stdout),
        "escaped\n",
        "the escape does not even work against chroot: {}",
        String::from_utf8_lossy(&control.stderr)
    );

    // In the container: the climb works (it reaches the container's own
    // root, where /inner-marker is), but the host's root is not there.
    let volume = format!("{}:/tools:ro", tools.path().display());
    let script = format!(
        "touch /inner-marker; cd /; /tools/escape /inner-marker; /tools/escape {marker_path}; true"
    );
    let out = fx.run_ok(&["-v", &volume, "busybox", "sh", "-c", &script]);
    assert_eq!(out, "escaped\ncontained\n");
}

/// A free loop device of the host (`losetup -f`): a block device whose
/// one-byte read harms nothing (it is bound to no file).
fn free_loop_device() -> (String, u64, u64) {
    let out = Command::new("losetup")
        .arg("-f")
        .output()
        .expect("losetup -f");
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let rdev = std::os::unix::fs::MetadataExt::rdev(
        &std::fs::metadata(&dev).expect("stat the loop device"),
    );
    (
        dev,
        nix::sys::stat::major(rdev),
        nix::sys::stat::minor(rdev),
    )
}

/// The escape `MKNOD` leaves open, closed by chapter 2's device cgroup: a
/// node for a host block device can be made in the container, but not
/// opened; `--privileged` opens it; `--device` gives exactly one node.
#[test]
fn a_block_device_made_with_mknod_cannot_be_opened() {
    if !testkit::require_root("a_block_device_made_with_mknod_cannot_be_opened") {
        return;
    }
    let (dev, major, minor) = free_loop_device();
    let fx = Fixture::new();
    let script = format!(
        "mknod /blk b {major} {minor} && echo made; head -c 1 /blk > /dev/null && echo opened"
    );
    let out = fx.run(&["busybox", "sh", "-c", &script]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "made\n", "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    let out = fx.run_ok(&["--privileged", "busybox", "sh", "-c", &script]);
    assert_eq!(out, "made\nopened\n");
    let given = format!("{dev}:/dev/given:r");
    let out = fx.run_ok(&[
        "--device",
        &given,
        "busybox",
        "sh",
        "-c",
        "stat -c '%F %t,%T' /dev/given; head -c 1 /dev/given > /dev/null && echo read; (: >> /dev/given) 2>/dev/null || echo no-write",
    ]);
    assert_eq!(
        out,
        format!("block special file {major:x},{minor:x}\nread\nno-write\n")
    );
}
