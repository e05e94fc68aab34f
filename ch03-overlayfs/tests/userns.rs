//! `--userns=private` at chapter 3: the image's owners shifted into the map
//! (a copy made once, beside the image), `/dev`, `/sys` and `/proc` still
//! there, and what the container writes owned by the mapped root on the
//! host. `/etc/subuid` and `/etc/subgid` are a file of the test's, bound in
//! a private mount namespace: the machine's are never changed.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use common::Fixture;

/// `ch03-overlayfs --root ROOT run --userns=private busybox sh -c SCRIPT`,
/// seeing `root:100000:65536` as its subordinate ids.
fn run_mapped(fx: &Fixture, script: &str) -> std::process::Output {
    run_mapped_with(fx, &[], script)
}

/// [`run_mapped`] with more `run` options before the image.
fn run_mapped_with(fx: &Fixture, options: &[String], script: &str) -> std::process::Output {
    let subids = fx.cwd.path().join("subids");
    std::fs::write(&subids, "root:100000:65536\n").unwrap();
    Command::new("unshare")
        .current_dir(fx.cwd.path())
        .args(["-m", "sh", "-c"])
        .arg("mount --bind \"$0\" /etc/subuid && mount --bind \"$0\" /etc/subgid && exec \"$@\"")
        .arg(&subids)
        .arg(Fixture::binary())
        .arg("--root")
        .arg(fx.root.path())
        .args(["run", "--userns=private"])
        .args(options)
        .args(["busybox", "sh", "-c", script])
        .output()
        .expect("run ch03-overlayfs under unshare")
}

#[test]
fn a_mapped_container_runs_busybox_and_writes_as_the_mapped_root() {
    if !testkit::require_root("a_mapped_container_runs_busybox_and_writes_as_the_mapped_root") {
        return;
    }
    let fx = Fixture::new();
    // Root inside, with the map; /dev's bound nodes, /sys and /proc work;
    // inside, the image and a new file are root's.
    let script = "id; cat /proc/self/uid_map; echo x > /dev/null && echo null ok; \
                  ls /sys/kernel >/dev/null && echo sys ok; ls /proc/1/ns/user >/dev/null && echo proc ok; \
                  echo made > /made; stat -c '%u:%g' /made /bin/busybox";
    let out = run_mapped(&fx, script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("uid=0(root) gid=0(root)"), "{stdout}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(
        &lines[2..],
        ["null ok", "sys ok", "proc ok", "0:0", "0:0"],
        "{stdout}"
    );

    // On the host: the shifted copy beside the image, owned by the map; the
    // image itself untouched.
    let images = fx.root.path().join("images");
    let copy = std::fs::metadata(images.join("busybox.userns-100000/bin/busybox")).unwrap();
    assert_eq!((copy.uid(), copy.gid()), (100000, 100000));
    assert_eq!(
        std::fs::metadata(images.join("busybox/bin/busybox"))
            .unwrap()
            .uid(),
        0
    );
    // The container's directory is gone (chapter 3 removes it) and a second
    // run reuses the copy.
    assert_eq!(
        std::fs::read_dir(fx.root.path().join("containers"))
            .unwrap()
            .count(),
        0
    );
    let ino = copy.ino();
    assert!(run_mapped(&fx, "true").status.success());
    let again = std::fs::metadata(images.join("busybox.userns-100000/bin/busybox")).unwrap();
    assert_eq!(again.ino(), ino);
}

#[test]
fn the_mapped_root_owns_what_it_writes_on_the_host() {
    if !testkit::require_root("the_mapped_root_owns_what_it_writes_on_the_host") {
        return;
    }
    let fx = Fixture::new();
    // A volume given to the mapped root: what the container writes there is
    // 100000's on the host.
    let vol = fx.cwd.path().join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::os::unix::fs::chown(&vol, Some(100000), Some(100000)).unwrap();
    let volume = format!("{}:/data", vol.display());
    let out = run_mapped_with(&fx, &["-v".into(), volume], "echo hi > /data/f");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = std::fs::metadata(vol.join("f")).unwrap();
    assert_eq!((f.uid(), f.gid()), (100000, 100000));
}
