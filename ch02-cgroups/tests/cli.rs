//! `ch02-cgroups run` with limits, observed from inside and outside.
//!
//! Each privileged test uses a cgroup parent of its own (`mydocker-test-*`)
//! and checks, after the container is gone, that nothing of it remains in
//! any hierarchy. In chapter 2 the container still sees the host's `/sys`,
//! so a shell inside can read its own cgroup's files before it exits.

mod common;

use std::time::Instant;

use assert_cmd::Command;
use common::{Parent, cgroup_dirs_named};

/// `ch02-cgroups run --cgroup-parent <parent>`, ready for more arguments.
fn run(parent: &Parent) -> Command {
    let mut cmd = Command::cargo_bin("ch02-cgroups").expect("the ch02-cgroups binary");
    cmd.args(["run", "--cgroup-parent", &parent.name]);
    cmd
}

/// Runs `script` with `sh -c` under `limits`; returns (code, stdout, stderr).
fn sh(parent: &Parent, limits: &[&str], script: &str) -> (i32, String, String) {
    let out = run(parent)
        .args(limits)
        .args(["sh", "-c", script])
        .output()
        .expect("run ch02-cgroups");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A shell function for scripts inside the container: `cg CONTROLLER`
/// prints the container's own directory for it, found from
/// `/proc/self/cgroup`: in that controller's v1 hierarchy (a line
/// `4:memory:/parent/id`), else in the unified one (`0::/parent/id`).
const CG: &str = r#"cg() { l=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup); if [ -n "$l" ]; then echo "/sys/fs/cgroup/$1${l#*:*:}"; else l=$(grep '^0::' /proc/self/cgroup); echo "/sys/fs/cgroup${l#0::}"; fi; }; "#;

/// True on a pure cgroup v2 host (Debian 12, Ubuntu 22.04, Fedora; the
/// test VM): the unified hierarchy is mounted at `/sys/fs/cgroup` itself.
fn pure_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The name of a file that v1 and v2 spell differently: the memory limit
/// (`memory.limit_in_bytes`, `memory.max`), the OOM record
/// (`memory.oom_control`, `memory.events`: both have an `oom_kill N` line),
/// the CPU share (`cpu.shares`, `cpu.weight`).
fn file(v1: &'static str, v2: &'static str) -> &'static str {
    if pure_v2() { v2 } else { v1 }
}

fn assert_nothing_left(parent: &Parent) {
    assert_eq!(parent.leftovers(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn memory_hog_is_oom_killed() {
    if !testkit::require_root("memory_hog_is_oom_killed") {
        return;
    }
    let parent = Parent::new("oom");
    // The shell itself holds the 64 MiB, so the OOM killer picks it: PID 1
    // of the container dies of SIGKILL, which Docker reports as 137.
    let (code, stdout, stderr) = sh(&parent, &["-m", "16m"], "a=$(yes | head -c 64M)");
    assert_eq!(code, 137, "stdout: {stdout} stderr: {stderr}");

    // The same hog in a child shell: the outer shell survives and reads the
    // memory cgroup's record of the kill before the cgroup is removed. The
    // hog raises its own oom_score_adj (raising needs no privilege), so the
    // OOM killer picks it and never the outer shell.
    let script = format!(
        "{CG}sh -c 'echo 1000 > /proc/self/oom_score_adj; a=$(yes | head -c 64M)'; echo inner=$?; \
         cat $(cg memory)/{}",
        file("memory.oom_control", "memory.events")
    );
    let (code, stdout, stderr) = sh(&parent, &["-m", "16m"], &script);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("inner=137"), "{stdout}");
    let kills: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no oom_kill line in {stdout}"));
    assert!(kills >= 1, "{stdout}");
    assert_nothing_left(&parent);
}

#[test]
fn small_allocation_fits_under_the_limit() {
    if !testkit::require_root("small_allocation_fits_under_the_limit") {
        return;
    }
    let parent = Parent::new("fits");
    let script = format!(
        "{CG}a=$(yes | head -c 4M); echo ${{#a}}; cat $(cg memory)/{}",
        file("memory.limit_in_bytes", "memory.max")
    );
    let (code, stdout, stderr) = sh(&parent, &["-m", "16m"], &script);
    assert_eq!(code, 0, "stderr: {stderr}");
    // 4 MiB less the newline that $(...) strips, under a 16 MiB limit.
    assert_eq!(stdout, "4194303\n16777216\n");
    assert_nothing_left(&parent);
}

/// `--memory-swap` is memory plus swap: v1 writes the sum into memsw, v2
/// the swap alone into `memory.swap.max`; without it there is no swap.
#[test]
fn memory_swap_allows_swap_beside_the_memory_limit() {
    if !testkit::require_root("memory_swap_allows_swap_beside_the_memory_limit") {
        return;
    }
    let parent = Parent::new("swap");
    let script = format!(
        "{CG}cat $(cg memory)/{}",
        file("memory.memsw.limit_in_bytes", "memory.swap.max")
    );
    let v1 = !pure_v2();
    let (code, stdout, stderr) = sh(&parent, &["-m", "64m", "--memory-swap", "96m"], &script);
    if stderr.contains("needs swap accounting") {
        // A kernel without swap accounting: refused, with the file named.
        assert_eq!(code, 125, "{stderr}");
    } else {
        assert_eq!(code, 0, "stderr: {stderr}");
        let want: u64 = if v1 { 96 << 20 } else { 32 << 20 };
        assert_eq!(stdout.trim(), want.to_string());
        let (code, stdout, stderr) = sh(&parent, &["-m", "64m"], &script);
        assert_eq!(code, 0, "stderr: {stderr}");
        let want: u64 = if v1 { 64 << 20 } else { 0 };
        assert_eq!(
            stdout.trim(),
            want.to_string(),
            "no swap without --memory-swap"
        );
    }
    assert_nothing_left(&parent);
}

#[test]
fn pids_limit_stops_forks() {
    if !testkit::require_root("pids_limit_stops_forks") {
        return;
    }
    let parent = Parent::new("pids");
    let script = "i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); echo started $i; done";
    let (code, stdout, stderr) = sh(&parent, &["--pids-limit", "10"], script);
    // The shell is one of the 10: nine sleeps start, the tenth fork fails
    // (EAGAIN) and the shell gives up.
    let started = stdout.lines().filter(|l| l.starts_with("started")).count();
    assert_eq!(started, 9, "stdout: {stdout}");
    assert!(stderr.to_lowercase().contains("fork"), "stderr: {stderr}");
    assert_ne!(code, 0);
    assert_nothing_left(&parent);
}

#[test]
fn cpu_quota_throttles_a_busy_loop() {
    if !testkit::require_root("cpu_quota_throttles_a_busy_loop") {
        return;
    }
    let parent = Parent::new("cpus");
    // A 2 s busy loop, then the shell prints its children's CPU time (fields
    // 16 and 17 of /proc/PID/stat, in clock ticks) and the throttling record.
    let script = format!(
        "{CG}timeout 2 sh -c 'while :; do :; done'; \
         echo stat $(cat /proc/$$/stat); cat $(cg cpu)/cpu.stat"
    );
    let started = Instant::now();
    let (code, stdout, stderr) = sh(&parent, &["--cpus", "0.2"], &script);
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(code, 0, "stderr: {stderr}");

    let stat: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stat "))
        .expect("a stat line")
        .split(' ')
        .collect();
    let ticks: f64 = stat[15].parse::<f64>().unwrap() + stat[16].parse::<f64>().unwrap();
    let cpu = ticks / clock_ticks_per_second();
    let throttled: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("nr_throttled "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no nr_throttled in {stdout}"));
    assert!(throttled > 0, "{stdout}");
    // 0.2 CPU for 2 s is about 0.4 s of CPU time; unthrottled it would be 2 s.
    assert!(wall >= 2.0, "the loop ran {wall} s");
    assert!(cpu < 1.0, "used {cpu} s of CPU in {wall} s");
    assert_nothing_left(&parent);
}

fn clock_ticks_per_second() -> f64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a number of ticks")
}

#[test]
fn cpuset_pins_the_container() {
    if !testkit::require_root("cpuset_pins_the_container") {
        return;
    }
    let parent = Parent::new("cpuset");
    let out = run(&parent)
        .args([
            "--cpuset-cpus",
            "0",
            "grep",
            "Cpus_allowed_list",
            "/proc/self/status",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Cpus_allowed_list:\t0\n"
    );
    assert!(out.status.success());
    assert_nothing_left(&parent);
}

#[test]
fn seed_cpushare_sets_the_weight() {
    if !testkit::require_root("seed_cpushare_sets_the_weight") {
        return;
    }
    let parent = Parent::new("shares");
    let script = format!("{CG}cat $(cg cpu)/{}", file("cpu.shares", "cpu.weight"));
    // The seed's spelling, rewritten to --cpushare by chapter 1's dialect;
    // v2 scales the share to a weight (1024 is 100).
    let (code, stdout, stderr) = sh(&parent, &["-cpushare", "512"], &script);
    let want = file("512\n", "50\n");
    assert_eq!((code, stdout.as_str()), (0, want), "stderr: {stderr}");
    assert_nothing_left(&parent);
}

#[test]
fn container_is_in_its_own_cgroup_until_it_exits() {
    if !testkit::require_root("container_is_in_its_own_cgroup_until_it_exits") {
        return;
    }
    let parent = Parent::new("self");
    let (code, stdout, stderr) = sh(&parent, &[], "hostname; cat /proc/self/cgroup");
    assert_eq!(code, 0, "stderr: {stderr}");
    let mut lines = stdout.lines();
    let short_id = lines.next().expect("the hostname");
    let mut id = None;
    let mut seen = Vec::new();
    for line in lines {
        // "4:memory:/mydocker-test-self/<64 hex>"
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (
            fields.next(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        if let Some(own) = path.strip_prefix(&format!("/{}/", parent.name)) {
            assert_eq!(own.len(), 64, "{line}");
            assert!(own.starts_with(short_id), "{line}");
            assert_eq!(*id.get_or_insert(own), own, "two different cgroups");
            seen.push(controllers);
        }
    }
    seen.sort();
    // v1: one line per hierarchy; v2: the single unified line, `0::`.
    let want: &[&str] = match pure_v2() {
        false => &["cpu", "cpuset", "devices", "freezer", "memory", "pids"],
        true => &[""],
    };
    assert_eq!(seen, want, "{stdout}");
    let id = id.expect("an id");
    assert_eq!(cgroup_dirs_named(id), Vec::<std::path::PathBuf>::new());
    assert_nothing_left(&parent);
}

#[test]
fn a_failed_start_leaves_no_cgroup() {
    if !testkit::require_root("a_failed_start_leaves_no_cgroup") {
        return;
    }
    let parent = Parent::new("failed");
    // The cgroup exists when exec fails in the child: cleanup must remove it.
    let out = run(&parent)
        .args(["-m", "64m", "/no/such/program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_nothing_left(&parent);

    // The kernel refuses CPU 99 when prepare writes it, before any clone.
    let out = run(&parent)
        .args(["--cpuset-cpus", "99", "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cpuset.cpus"), "{stderr}");
    let dir = file("/sys/fs/cgroup/cpuset", "/sys/fs/cgroup");
    assert!(
        stderr.contains(&format!("write \"99\" to {dir}/{}/", parent.name)),
        "{stderr}"
    );
    assert_nothing_left(&parent);
}

#[test]
fn bad_limits_get_one_line_and_125() {
    // Refused while parsing, before anything exists: no root needed.
    let parent = Parent::new("bad");
    let cases: [(&[&str], &str); 6] = [
        (&["-m", "10x"], "invalid memory size \"10x\""),
        (
            &["-m", "1k"],
            "memory limit 1k is too small: the minimum is 6m",
        ),
        (&["--cpus", "-1"], "invalid --cpus \"-1\""),
        (&["--pids-limit", "abc"], "invalid --pids-limit \"abc\""),
        (
            &["--memory-swap", "128m"],
            "--memory-swap 128m needs a memory limit: set -m too",
        ),
        (
            &["-m", "64m", "--memory-swap", "32m"],
            "--memory-swap 32m is smaller than the memory limit",
        ),
    ];
    for (args, message) in cases {
        let out = run(&parent).args(args).arg("true").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("ch02-cgroups: "), "{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
        assert_nothing_left(&parent);
    }
}

#[test]
fn interactive_shell_with_a_memory_limit() {
    if !testkit::require_root("interactive_shell_with_a_memory_limit") {
        return;
    }
    let parent = Parent::new("tty");
    let input = format!(
        "{CG}echo hi-$((6*7)); cat $(cg memory)/{}; exit 3\n",
        file("memory.limit_in_bytes", "memory.max")
    );
    let out = run(&parent)
        .args(["-ti", "-m", "100m", "/bin/sh"])
        .write_stdin(input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    // The terminal echoes the input and the prompt shares a line with the
    // output: look for what only the commands' output contains.
    assert!(stdout.contains("hi-42"), "{stdout}");
    assert!(stdout.contains("104857600"), "{stdout}");
    assert_nothing_left(&parent);
}

#[test]
fn containers_sharing_a_parent_start_and_stop_together() {
    if !testkit::require_root("containers_sharing_a_parent_start_and_stop_together") {
        return;
    }
    let parent = Parent::new("shared");
    // Each container's cleanup tries to remove the shared parent while the
    // others create theirs in it: none may fail, and the last one removes it.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let name = parent.name.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        Command::cargo_bin("ch02-cgroups")
                            .unwrap()
                            .args([
                                "run",
                                "--cgroup-parent",
                                &name,
                                "--cpuset-cpus",
                                "0",
                                "true",
                            ])
                            .output()
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        for out in thread.join().unwrap() {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_nothing_left(&parent);
}

/// A block device the host's root may open, whose one byte read harms
/// nothing: a free loop device (`losetup -f`, bound to no file), else the
/// first disk in `/sys/block` (the test VM's scratch disk). It stands for
/// the host's disk, which a container must not open.
fn host_block_device() -> Option<String> {
    let free_loop = std::process::Command::new("losetup")
        .arg("-f")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    let disks = std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| format!("/dev/{}", entry.file_name().to_string_lossy()));
    free_loop
        .into_iter()
        .chain(disks)
        .find(|dev| !dev.is_empty() && std::fs::File::open(dev).is_ok())
}

/// Docker's device list: chapter 2 still shows the host's `/dev`, so a
/// block device's node is right there, and only the device cgroup stops
/// the open. (What is read, when allowed, is one byte, to /dev/null.)
#[test]
fn the_device_cgroup_refuses_a_block_device_but_not_dev_null() {
    if !testkit::require_root("the_device_cgroup_refuses_a_block_device_but_not_dev_null") {
        return;
    }
    let disk = host_block_device().expect("a block device the host's root can open");
    let parent = Parent::new("devices");
    let script =
        format!("head -c 1 {disk} > /dev/null && echo read; echo x > /dev/null && echo null-ok");
    let (_, out, err) = sh(&parent, &[], &script);
    assert_eq!(out, "null-ok\n", "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    // --privileged: every device, as Docker gives it.
    let (code, out, err) = sh(&parent, &["--privileged"], &script);
    assert_eq!((code, out.as_str()), (0, "read\nnull-ok\n"), "{err}");
    // --device with r only: the same node may be opened to read, not to
    // write (were the write allowed, it would fail on the unbound loop).
    let only_read = format!("{disk}:r");
    let script =
        format!("head -c 1 {disk} > /dev/null && echo read; (: >> {disk}) || echo no-write");
    let (_, out, err) = sh(&parent, &["--device", &only_read], &script);
    assert_eq!(out, "read\nno-write\n", "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert_nothing_left(&parent);
}

#[test]
fn a_bad_device_is_one_line_and_exit_125() {
    let parent = Parent::new("bad-device");
    for bad in ["/dev/nope", "/etc/hostname", "/dev/null:rel"] {
        let (code, _, err) = sh(&parent, &["--device", bad], "true");
        assert_eq!(code, 125, "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
    }
    assert_nothing_left(&parent);
}
