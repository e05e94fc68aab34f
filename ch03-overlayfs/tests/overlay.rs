//! The overlay at work: the image stays untouched, each container writes
//! into its own upper layer, and nothing outlives the container.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use common::{Fixture, tree_diff, tree_snapshot};

/// Acceptance 1, first item: a write lands in the container's upper dir, a
/// second container does not see it, the image is byte-for-byte unchanged.
#[test]
fn writes_land_in_the_upper_layer_and_the_image_is_untouched() {
    if !testkit::require_root("writes_land_in_the_upper_layer_and_the_image_is_untouched") {
        return;
    }
    let fx = Fixture::new();
    // The first run imports busybox.tar from the current directory.
    fx.run_ok(&["busybox", "true"]);
    let image = fx.image_dir();
    assert!(image.join("bin/busybox").is_file(), "image not unpacked");
    let before = tree_snapshot(&image);

    // Container 1: create a file, append to one, delete one; then wait.
    let mut first = fx.spawn(&[
        "busybox",
        "sh",
        "-c",
        "echo from-first > /hello && echo more >> /etc/passwd && rm /etc/group && echo ready && read _ || true",
    ]);
    assert_eq!(first.line(), "ready");
    let dirs = fx.containers();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let upper = dirs[0].join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("hello")).unwrap(),
        "from-first\n"
    );
    // A modified file is copied up whole; the image's copy is unchanged.
    let passwd = std::fs::read_to_string(upper.join("etc/passwd")).unwrap();
    assert!(passwd.starts_with("root:x:0:0:") && passwd.ends_with("more\n"));
    assert!(
        !std::fs::read_to_string(image.join("etc/passwd"))
            .unwrap()
            .contains("more")
    );
    // A deleted file is a whiteout: a character device 0,0 in the upper dir.
    let whiteout = std::fs::symlink_metadata(upper.join("etc/group")).unwrap();
    assert!(whiteout.file_type().is_char_device());
    assert_eq!(whiteout.rdev(), 0);
    assert!(image.join("etc/group").is_file());
    assert!(!image.join("hello").exists());

    // Container 2, same image, while the first still runs.
    let second = fx.run_ok(&[
        "busybox",
        "sh",
        "-c",
        "test -e /hello && echo sees-hello; grep -c more /etc/passwd; test -e /etc/group && echo has-group",
    ]);
    assert_eq!(second, "0\nhas-group\n");

    assert_eq!(first.finish(), 0);
    let after = tree_snapshot(&image);
    assert!(
        before == after,
        "the image changed: {:?}",
        tree_diff(&before, &after)
    );
    assert!(fx.containers().is_empty(), "{:?}", fx.containers());
}

/// Acceptance 2: twenty runs reuse the same unpacked image.
#[test]
fn twenty_runs_never_reextract_the_image() {
    if !testkit::require_root("twenty_runs_never_reextract_the_image") {
        return;
    }
    let fx = Fixture::new();
    fx.run_ok(&["busybox", "true"]);
    let image = fx.image_dir();
    let inode = std::fs::metadata(&image).unwrap().ino();
    // Every file's inode, times and contents: a re-extraction (or a copy)
    // would change at least the inodes and the change times.
    let before = tree_snapshot(&image);
    // The tar may even go away now: the image no longer needs it.
    std::fs::remove_file(fx.cwd.path().join("busybox.tar")).unwrap();
    for _ in 0..20 {
        fx.run_ok(&["busybox", "true"]);
    }
    assert_eq!(std::fs::metadata(&image).unwrap().ino(), inode);
    let after = tree_snapshot(&image);
    assert!(before == after, "{:?}", tree_diff(&before, &after));
    let images: Vec<_> = std::fs::read_dir(fx.root.path().join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(images, ["busybox"], "no temporary unpack left");
    assert!(fx.containers().is_empty());
}

/// Acceptance 1, last item: the host never sees the container's mounts, not
/// even while it runs; after it exits, its directories are gone.
#[test]
fn host_never_sees_the_mounts_and_exit_removes_the_layers() {
    if !testkit::require_root("host_never_sees_the_mounts_and_exit_removes_the_layers") {
        return;
    }
    let fx = Fixture::new();
    let volume = testkit::DataRoot::new();
    let spec = format!("{}:/data", volume.path().display());
    let mut running = fx.spawn(&[
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "echo $HOSTNAME; echo ready; read _ || true",
    ]);
    let short_id = running.line();
    assert_eq!(running.line(), "ready");
    let dirs = fx.containers();
    assert_eq!(dirs.len(), 1);
    let id = dirs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(id.starts_with(&short_id), "{id} vs {short_id}");
    // Mounted in the child's own namespace: invisible here.
    assert_eq!(
        testkit::host_mounts_containing(&fx.root_text()),
        Vec::<String>::new()
    );
    assert_eq!(testkit::host_mounts_containing(&id), Vec::<String>::new());

    assert_eq!(running.finish(), 0);
    assert_eq!(
        testkit::host_mounts_containing(&fx.root_text()),
        Vec::<String>::new()
    );
    assert_eq!(testkit::host_mounts_containing(&id), Vec::<String>::new());
    assert!(!dirs[0].exists(), "{} is still there", dirs[0].display());
    assert!(fx.containers().is_empty());
    // The volume's directory is the host's and stays.
    assert!(volume.path().is_dir());
}
