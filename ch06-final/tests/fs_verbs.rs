//! The verbs that look into a container from outside, privileged: `diff`,
//! `cp` (both ways, running and stopped, and never out of the container
//! through a symlink it planted), `top` and `stats --no-stream`. Each
//! checks its effect and Docker's output shape and exit code.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Env, stderr, stdout};

/// A name no file of the host's `/etc` has: a copy that escaped the
/// container would land there, and is looked for.
fn probe_name(what: &str) -> String {
    format!("mydocker-fs16-{what}-{}", std::process::id())
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn diff_lists_what_the_container_added_changed_and_deleted() {
    if !testkit::require_root("diff_lists_what_the_container_added_changed_and_deleted") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "d",
        "busybox",
        "sh",
        "-c",
        "echo x > /etc/new && echo y >> /etc/passwd && rm /etc/group && \
         mkdir -p /srv/a && touch /srv/a/f && rm -rf /usr && mkdir /usr && touch /usr/f",
    ]);
    // Stopped: the upper layer is on disk. `/usr` was removed and made
    // again: an opaque directory, changed, with new content.
    let expected = "C /etc\nD /etc/group\nA /etc/new\nC /etc/passwd\n\
                    A /srv\nA /srv/a\nA /srv/a/f\nC /usr\nA /usr/f\n";
    assert_eq!(env.ok(&["diff", "d"]), expected);
    // A running container that changed nothing has nothing to show
    // (asked through the management form).
    env.ok(&["run", "-d", "--name", "r", "busybox", "sleep", "30"]);
    assert_eq!(env.ok(&["container", "diff", "r"]), "");
    let out = env.md(&["diff", "missing"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn cp_copies_files_and_directories_both_ways_with_contents_and_modes() {
    if !testkit::require_root("cp_copies_files_and_directories_both_ways_with_contents_and_modes") {
        return;
    }
    let env = Env::new();
    let host = tempfile::tempdir().expect("temp dir");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /data/sub && echo deep > /data/sub/f && chmod 751 /data/sub && \
         chmod 640 /data/sub/f && ln -s /etc/passwd /data/link && touch /ready && sleep 60",
    ]);
    testkit::eventually(250, || {
        env.md(&["exec", "c", "test", "-e", "/ready"])
            .status
            .success()
            .then_some(())
    })
    .expect("the container prepared /data");

    // Out: a directory into an existing directory keeps its name; symlinks
    // stay symlinks (the container's /etc/passwd is not read).
    env.ok(&["cp", "c:/data", host.path().to_str().unwrap()]);
    let data = host.path().join("data");
    assert_eq!(
        std::fs::read_to_string(data.join("sub/f")).unwrap(),
        "deep\n"
    );
    assert_eq!(mode(&data.join("sub")), 0o751);
    assert_eq!(mode(&data.join("sub/f")), 0o640);
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("/etc/passwd")
    );
    // Out: a file to a new name.
    let copy = host.path().join("passwd-copy");
    env.ok(&["cp", "c:/data/sub/f", copy.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "deep\n");

    // In: a file to a new name, and a directory into an existing one.
    let file = host.path().join("hello");
    std::fs::write(&file, "hello\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).unwrap();
    env.ok(&["cp", file.to_str().unwrap(), "c:/tmp/greeting"]);
    assert_eq!(env.ok(&["exec", "c", "cat", "/tmp/greeting"]), "hello\n");
    assert_eq!(
        env.ok(&["exec", "c", "stat", "-c", "%a %u", "/tmp/greeting"]),
        "604 0\n"
    );
    let tree = host.path().join("tree");
    std::fs::create_dir_all(tree.join("inner")).unwrap();
    std::fs::write(tree.join("inner/g"), "g\n").unwrap();
    std::fs::set_permissions(tree.join("inner"), std::fs::Permissions::from_mode(0o700)).unwrap();
    env.ok(&["cp", tree.to_str().unwrap(), "c:/tmp"]);
    assert_eq!(env.ok(&["exec", "c", "cat", "/tmp/tree/inner/g"]), "g\n");
    assert_eq!(
        env.ok(&["exec", "c", "stat", "-c", "%a", "/tmp/tree/inner"]),
        "700\n"
    );
    // To a path that does not exist: the directory is made under that name.
    env.ok(&["cp", tree.to_str().unwrap(), "c:/srv"]);
    assert_eq!(env.ok(&["exec", "c", "cat", "/srv/inner/g"]), "g\n");
    // A directory cannot replace a file; a missing source is an error (1).
    let out = env.md(&["cp", tree.to_str().unwrap(), "c:/tmp/greeting"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = env.md(&["cp", "c:/nothing-here", host.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = env.md(&["cp", "/a", "/b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("must specify at least one container"));
}

/// Runs the hostile-symlink checks on container `c`, running or not.
fn hostile_symlinks_stay_inside(env: &Env, host: &Path, when: &str) {
    for link in ["/evil", "/evil2"] {
        // Out: /evil/passwd is the container's /etc/passwd, not the host's.
        let out = host.join(format!("passwd-{when}-{}", &link[1..]));
        env.ok(&["cp", &format!("c:{link}/passwd"), out.to_str().unwrap()]);
        let copied = std::fs::read_to_string(&out).unwrap();
        assert!(copied.contains("fs16-marker"), "{link}: {copied}");
        // In: a file sent to /evil/NAME lands in the container's /etc.
        let name = probe_name(&format!("{when}-{}", &link[1..]));
        let file = host.join(&name);
        std::fs::write(&file, "probe\n").unwrap();
        env.ok(&["cp", file.to_str().unwrap(), &format!("c:{link}/{name}")]);
        assert!(
            !Path::new("/etc").join(&name).exists(),
            "cp {link}/{name} wrote the host's /etc"
        );
        // A directory too.
        let dir = host.join(format!("{name}-dir"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x"), "x\n").unwrap();
        env.ok(&["cp", dir.to_str().unwrap(), &format!("c:{link}/")]);
        assert!(!Path::new("/etc").join(format!("{name}-dir")).exists());
    }
}

#[test]
fn cp_never_follows_a_symlink_out_of_the_container_running_or_stopped() {
    if !testkit::require_root("cp_never_follows_a_symlink_out_of_the_container_running_or_stopped")
    {
        return;
    }
    let env = Env::new();
    let host = tempfile::tempdir().expect("temp dir");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "busybox",
        "sh",
        "-c",
        "ln -s /etc /evil && ln -s ../../../../etc /evil2 && echo fs16-marker >> /etc/passwd && \
         touch /ready && sleep 60",
    ]);
    testkit::eventually(250, || {
        env.md(&["exec", "c", "test", "-e", "/ready"])
            .status
            .success()
            .then_some(())
    })
    .expect("the container planted its symlinks");
    hostile_symlinks_stay_inside(&env, host.path(), "running");
    let name = probe_name("running-evil");
    assert_eq!(
        env.ok(&["exec", "c", "cat", &format!("/etc/{name}")]),
        "probe\n"
    );

    env.ok(&["stop", "-t", "0", "c"]);
    hostile_symlinks_stay_inside(&env, host.path(), "stopped");
    // What went in while stopped is in the container's layer, and no mount
    // was left on the host.
    assert!(
        testkit::host_mounts_containing(&env.root().display().to_string()).is_empty(),
        "a mount of the data root is left on the host"
    );
    let name = probe_name("stopped-evil2");
    let id = env.ids().into_iter().next().expect("one container");
    let upper = env.container_dir(&id).join("upper/etc").join(&name);
    assert_eq!(std::fs::read_to_string(upper).unwrap(), "probe\n");
    assert!(env.ok(&["diff", "c"]).contains(&format!("A /etc/{name}\n")));
}

#[test]
fn top_shows_the_containers_processes_as_ps_does() {
    if !testkit::require_root("top_shows_the_containers_processes_as_ps_does") {
        return;
    }
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "t", "busybox", "sleep", "60"]);
    let pid = env.pid("t");
    let out = env.ok(&["top", "t"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("UID") && header.contains(" PID "),
        "{out}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(
        rows[0].split_whitespace().nth(1),
        Some(pid.to_string().as_str())
    );
    assert!(rows[0].ends_with("sleep 60"), "{out}");
    // ps options are passed on.
    assert_eq!(
        env.ok(&["top", "t", "-o", "pid,comm"])
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        ["PID COMMAND".to_string(), format!("{pid} sleep")]
    );
    env.ok(&["stop", "-t", "0", "t"]);
    let out = env.md(&["top", "t"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), "mydocker: container t is not running");
}

#[test]
fn stats_no_stream_shows_dockers_table_for_running_containers() {
    if !testkit::require_root("stats_no_stream_shows_dockers_table_for_running_containers") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    env.ok(&["run", "-d", "--name", "idle", "busybox", "sleep", "60"]);
    env.ok(&["run", "--name", "gone", "busybox", "true"]);
    let out = env.md(&["stats", "--no-stream"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| {
            l.split("   ")
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        lines[0],
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ],
        "{text}"
    );
    assert_eq!(lines.len(), 3, "only the running containers: {text}");
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.get(1).map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {text}"))
            .clone()
    };
    let busy = row("busy");
    assert_eq!(busy[0].len(), 12);
    let cpu: f64 = busy[2].trim_end_matches('%').parse().expect("CPU %");
    // A spinning loop uses a CPU: well above an idle one, whatever the load.
    assert!(cpu > 5.0, "{text}");
    assert!(busy[3].ends_with(" / 64MiB"), "{text}");
    assert!(busy[4].ends_with('%'));
    assert_eq!(busy[5], "0B / 0B", "no network: {text}");
    assert_eq!(busy[7], "1");
    let idle = row("idle");
    let cpu: f64 = idle[2].trim_end_matches('%').parse().expect("CPU %");
    assert!(cpu < 5.0, "{text}");
    // Named containers only, and Docker's exit code for a missing one.
    let only = env.ok(&["stats", "--no-stream", "idle"]);
    assert_eq!(only.lines().count(), 2, "{only}");
    let out = env.md(&["stats", "--no-stream", "missing"]);
    assert_eq!(out.status.code(), Some(1));
}
