//! `-v HOST:CONTAINER[:ro]`: bind mounts that land inside the rootfs.

mod common;

use std::path::{Path, PathBuf};

use common::Fixture;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// Acceptance 1, fifth item (first half): writes reach the host, `:ro`
/// refuses them, missing targets are created.
#[test]
fn volume_writes_reach_the_host_and_ro_refuses_them() {
    if !testkit::require_root("volume_writes_reach_the_host_and_ro_refuses_them") {
        return;
    }
    let fx = Fixture::new();
    let host = testkit::DataRoot::new();
    std::fs::write(host.path().join("greeting"), "hello from the host\n").unwrap();
    let dir = host.path().display().to_string();
    let rw = format!("{dir}:/data");
    let ro = format!("{dir}:/deep/er/ro:ro");
    let file = format!("{dir}/greeting:/etc/greeting:ro");
    let out = fx.run_ok(&[
        "-v",
        &rw,
        "-v",
        &ro,
        "-v",
        &file,
        "busybox",
        "sh",
        "-c",
        "echo written-inside > /data/new; \
         cat /deep/er/ro/new; \
         echo nope 2>/dev/null > /deep/er/ro/denied || echo ro-write-failed; \
         echo nope 2>/dev/null > /etc/greeting || echo ro-file-write-failed; \
         cat /etc/greeting",
    ]);
    assert_eq!(
        out,
        "written-inside\nro-write-failed\nro-file-write-failed\nhello from the host\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("new")).unwrap(),
        "written-inside\n"
    );
    assert!(!host.path().join("denied").exists());
    assert_eq!(
        std::fs::read_to_string(host.path().join("greeting")).unwrap(),
        "hello from the host\n"
    );
    assert!(fx.containers().is_empty());
}

/// A tmpfs mounted on the host under a volume's source, unmounted on drop.
struct HostSubmount(PathBuf);

impl HostSubmount {
    fn new(at: &Path) -> HostSubmount {
        std::fs::create_dir_all(at).unwrap();
        mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=1m"),
        )
        .expect("mount a tmpfs for the test");
        HostSubmount(at.to_path_buf())
    }
}

impl Drop for HostSubmount {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

/// `:ro` covers the mounts under the source too, which a plain read-only
/// remount of the top mount would leave writable.
#[test]
fn readonly_volume_is_readonly_all_the_way_down() {
    if !testkit::require_root("readonly_volume_is_readonly_all_the_way_down") {
        return;
    }
    let fx = Fixture::new();
    let host = testkit::DataRoot::new();
    let _sub = HostSubmount::new(&host.path().join("sub"));
    let ro = format!("{}:/vol:ro", host.path().display());
    let out = fx.run_ok(&[
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "grep -c ' /vol' /proc/mounts; \
         echo x 2>/dev/null > /vol/sub/f || echo sub-write-failed",
    ]);
    assert_eq!(out, "2\nsub-write-failed\n");
    assert!(!host.path().join("sub/f").exists());
}

/// Acceptance 1, fifth item (second half): an image whose target path goes
/// through a symlink to `/etc` cannot put the bind on the host's `/etc`.
#[test]
fn a_symlink_in_the_image_cannot_move_the_bind_out_of_the_rootfs() {
    if !testkit::require_root("a_symlink_in_the_image_cannot_move_the_bind_out_of_the_rootfs") {
        return;
    }
    let fx = Fixture::new();
    // The variant image: busybox plus two links that, resolved by the
    // host, lead to the host's /etc.
    let image = fx.root.path().join("images/evil");
    std::fs::create_dir_all(image.parent().unwrap()).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(testkit::busybox_rootfs())
        .arg(&image)
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/etc", image.join("badlink")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../etc", image.join("rellink")).unwrap();

    let name_abs = format!("mydocker-escape-abs-{}", std::process::id());
    let name_rel = format!("mydocker-escape-rel-{}", std::process::id());
    let host_etc = |n: &str| Path::new("/etc").join(n);
    let _guard = EtcGuard(vec![host_etc(&name_abs), host_etc(&name_rel)]);

    let host = testkit::DataRoot::new();
    let v1 = format!("{}:/badlink/{name_abs}", host.path().display());
    let v2 = format!("{}:/rellink/{name_rel}", host.path().display());
    let script = format!(
        "echo through-abs > /badlink/{name_abs}/a; echo through-rel > /rellink/{name_rel}/b; \
         cut -d' ' -f2 /proc/mounts | grep mydocker-escape | sort"
    );
    let out = fx.run_ok(&["-v", &v1, "-v", &v2, "evil", "sh", "-c", &script]);
    // The binds landed at the image's own /etc, inside the rootfs...
    assert_eq!(out, format!("/etc/{name_abs}\n/etc/{name_rel}\n"));
    // ...they work...
    assert_eq!(
        std::fs::read_to_string(host.path().join("a")).unwrap(),
        "through-abs\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("b")).unwrap(),
        "through-rel\n"
    );
    // ...and the host's /etc was never touched.
    assert!(!host_etc(&name_abs).exists());
    assert!(!host_etc(&name_rel).exists());
    assert!(testkit::host_mounts_containing("mydocker-escape").is_empty());
    // The image itself is not written either: the new directories went to
    // the container's upper layer, which is gone.
    assert!(!image.join("etc").join(&name_abs).exists());
    assert!(fx.containers().is_empty());
}

/// Removes what a failing escape test might have left in the host's /etc.
struct EtcGuard(Vec<PathBuf>);

impl Drop for EtcGuard {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = umount2(path, MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir(path);
        }
    }
}
