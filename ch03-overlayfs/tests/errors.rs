//! Acceptance 3: bad input gets one line on stderr, Docker's exit code, and
//! leaves nothing behind.

mod common;

use common::{Fixture, one_line_stderr};

/// Everything under the data root, as sorted relative paths.
fn contents(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            // An image's own files are not the point here.
            let in_images = path.parent().is_some_and(|p| p.ends_with("images"));
            if path.is_dir() && !in_images {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_unknown_image_is_refused_and_creates_nothing() {
    if !testkit::require_root("an_unknown_image_is_refused_and_creates_nothing") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run(&["no-such-image", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let line = one_line_stderr(&out);
    assert!(
        line.starts_with("ch03-overlayfs: image \"no-such-image\" not found"),
        "{line}"
    );
    assert!(line.contains("no-such-image.tar"), "{line}");
    assert_eq!(contents(fx.root.path()), Vec::<String>::new());

    let out = fx.run(&["../etc", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(one_line_stderr(&out).contains("invalid image name"));
    assert_eq!(contents(fx.root.path()), Vec::<String>::new());
}

#[test]
fn malformed_volumes_are_refused_and_create_nothing() {
    if !testkit::require_root("malformed_volumes_are_refused_and_create_nothing") {
        return;
    }
    let fx = Fixture::new();
    for bad in [
        "nocolon",
        "/tmp:",
        ":/data",
        "rel/ative:/data",
        "a:/data",
        "/tmp:relative",
        "/tmp:/data:rx",
        "/tmp:/",
    ] {
        let out = fx.run(&["-v", bad, "busybox", "true"]);
        assert_eq!(out.status.code(), Some(125), "{bad}");
        let line = one_line_stderr(&out);
        assert!(line.contains("invalid volume"), "{bad}: {line}");
    }
    assert_eq!(contents(fx.root.path()), Vec::<String>::new());
}

#[test]
fn a_host_path_that_cannot_be_created_is_refused_and_creates_nothing() {
    if !testkit::require_root("a_host_path_that_cannot_be_created_is_refused_and_creates_nothing") {
        return;
    }
    let fx = Fixture::new();
    // Docker creates a missing host directory; under a file it cannot.
    let file = fx.cwd.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let spec = format!("{}/sub/dir:/data", file.display());
    let out = fx.run(&["-v", &spec, "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let line = one_line_stderr(&out);
    assert!(line.ends_with("is not a directory"), "{line}");
    assert_eq!(contents(fx.root.path()), Vec::<String>::new());
}

#[test]
fn a_command_missing_from_the_image_exits_127_and_leaves_nothing() {
    if !testkit::require_root("a_command_missing_from_the_image_exits_127_and_leaves_nothing") {
        return;
    }
    let fx = Fixture::new();
    // bash is on the host, not in the busybox image.
    let out = fx.run(&["busybox", "bash", "-c", "true"]);
    assert_eq!(out.status.code(), Some(127));
    let line = one_line_stderr(&out);
    assert!(line.contains("exec \"bash\""), "{line}");
    let out = fx.run(&["busybox", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126));
    one_line_stderr(&out);
    // The image stays (it was imported), no container does.
    assert_eq!(
        contents(fx.root.path()),
        ["containers", "images", "images/busybox"]
    );
    assert!(testkit::host_mounts_containing(&fx.root_text()).is_empty());
}
