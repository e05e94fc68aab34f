//! Docker's behaviour, privileged: exit codes, detached containers, `ps`,
//! `stop`, `logs`, `exec`, `start`, `rm`, and crash safety. No network:
//! the lab tests are in `seed.rs`.

mod common;

use std::time::{Duration, Instant};

use common::{Env, alive, cgroup_dirs, stderr, stdout};

/// Exit codes as Docker gives them, attached and detached.
#[test]
fn exit_codes_are_dockers() {
    if !testkit::require_root("exit_codes_are_dockers") {
        return;
    }
    let env = Env::new();
    let code = |args: &[&str]| env.md(args).status.code();
    assert_eq!(code(&["run", "--rm", "busybox", "true"]), Some(0));
    assert_eq!(code(&["run", "--rm", "busybox", "false"]), Some(1));
    assert_eq!(
        code(&["run", "--rm", "busybox", "sh", "-c", "exit 32"]),
        Some(32)
    );
    assert_eq!(
        code(&["run", "--rm", "--no-such-flag", "busybox", "true"]),
        Some(125)
    );
    assert_eq!(code(&["run", "--rm", "no-such-image"]), Some(125));
    assert_eq!(code(&["run", "--rm", "busybox", "/etc"]), Some(126));
    assert_eq!(
        code(&["run", "--rm", "busybox", "no-such-command"]),
        Some(127)
    );
    // Detached, a command that cannot start is reported by `run -d` itself.
    let out = env.md(&["run", "-d", "--rm", "busybox", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    // --rm removed every one of them.
    assert!(env.ids().is_empty(), "{:?}", env.ids());
}

/// `run -d` prints the full id and returns; `ps` shows the container Up,
/// and its parent is the supervisor, not the long-gone `run -d`.
#[test]
fn run_detached_prints_the_id_and_ps_shows_it_up() {
    if !testkit::require_root("run_detached_prints_the_id_and_ps_shows_it_up") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "60"]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id:?}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let ps = env.ok(&["ps"]);
    let line = ps.lines().find(|l| l.contains("sleeper")).expect("listed");
    assert!(line.starts_with(&id[..12]), "{ps}");
    assert!(line.contains(" Up "), "{ps}");
    assert!(line.contains("\"sleep 60\""), "{ps}");
    assert!(ps.starts_with("CONTAINER ID   IMAGE"), "{ps}");
    assert_eq!(env.ok(&["ps", "-q"]).trim(), &id[..12]);

    let pid = env.pid("sleeper");
    let supervisor = env.supervisor("sleeper");
    assert!(testkit::children_of(supervisor as u32).contains(&(pid as u32)));
    // The supervisor is in a session of its own, away from our terminal.
    let stat = std::fs::read_to_string(format!("/proc/{supervisor}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    assert_eq!(fields[3], supervisor.to_string(), "session id: {stat}");
}

/// `stop` of a command that ignores SIGTERM (PID 1 without a handler)
/// waits the default 10 s, then SIGKILL: exit code 137.
#[test]
fn stop_waits_ten_seconds_then_kills() {
    if !testkit::require_root("stop_waits_ten_seconds_then_kills") {
        return;
    }
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "s", "busybox", "sleep", "60"]);
    let pid = env.pid("s");
    let supervisor = env.supervisor("s");
    let t0 = Instant::now();
    assert_eq!(env.ok(&["stop", "s"]).trim(), "s");
    // A lower bound only: the SIGKILL cannot come before the 10 s are up.
    assert!(t0.elapsed() >= Duration::from_secs(9), "{:?}", t0.elapsed());
    assert_eq!(env.state("s"), ("exited".to_string(), 137));
    assert!(!alive(pid) && !alive(supervisor));
    let ps = env.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert!(!env.ok(&["ps"]).contains(" s\n"));
    // Stopping a stopped container is not an error.
    assert_eq!(env.ok(&["stop", "-t", "1", "s"]).trim(), "s");
}

/// A container killed for memory says so: exit code 137 like a `kill -9`,
/// and `State.OOMKilled` in `inspect` and "(OOM killed)" in `ps -a`; a
/// SIGKILL from `stop` does not.
#[test]
fn an_oom_kill_shows_in_inspect_and_ps() {
    if !testkit::require_root("an_oom_kill_shows_in_inspect_and_ps") {
        return;
    }
    let env = Env::new();
    let hog = "a=$(yes | head -c 100000000); echo survived";
    let out = env.md(&[
        "run", "--name", "hog", "-m", "32m", "busybox", "sh", "-c", hog,
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    assert_eq!(env.state("hog"), ("exited".to_string(), 137));
    assert_eq!(env.inspect("hog")["State"]["OOMKilled"], true);
    let ps = env.ok(&["ps", "-a"]);
    let line = ps.lines().find(|l| l.ends_with(" hog")).expect("listed");
    assert!(
        line.contains("Exited (137)") && line.contains("(OOM killed)"),
        "{ps}"
    );

    env.ok(&[
        "run", "-d", "--name", "killed", "-m", "32m", "busybox", "sleep", "60",
    ]);
    env.ok(&["stop", "-t", "0", "killed"]);
    assert_eq!(env.wait_exited("killed"), 137);
    assert_eq!(env.inspect("killed")["State"]["OOMKilled"], false);
    let ps = env.ok(&["ps", "-a"]);
    let line = ps.lines().find(|l| l.ends_with(" killed")).expect("listed");
    assert!(
        line.contains("Exited (137)") && !line.contains("OOM"),
        "{ps}"
    );
}

/// `exec` gets the container's capabilities, and `start` keeps them: the
/// flags are in the record.
#[test]
fn exec_and_start_keep_the_containers_capabilities() {
    if !testkit::require_root("exec_and_start_keep_the_containers_capabilities") {
        return;
    }
    let env = Env::new();
    let cap_eff = |name: &str| {
        let out = env.ok(&["exec", name, "grep", "^CapEff:", "/proc/self/status"]);
        out.split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    env.ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "60"]);
    assert_eq!(cap_eff("plain"), "00000000a80425fb");
    let args = [
        "run",
        "-d",
        "--name",
        "bare",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "KILL",
    ];
    env.ok(&[&args[..], &["busybox", "sleep", "60"]].concat());
    assert_eq!(cap_eff("bare"), "0000000000000020");
    env.ok(&["stop", "-t", "0", "bare"]);
    env.ok(&["start", "bare"]);
    for _ in 0..100 {
        if env.state("bare").0 == "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(cap_eff("bare"), "0000000000000020");
    env.ok(&["rm", "-f", "plain", "bare"]);
}

/// The seccomp profile, `--read-only` and `--tmpfs` hold for `exec` and
/// after `start`: the record keeps a copy of the profile, so `start` does
/// not need the file any more.
#[test]
fn exec_and_start_keep_seccomp_and_the_read_only_root() {
    if !testkit::require_root("exec_and_start_keep_seccomp_and_the_read_only_root") {
        return;
    }
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    env.ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "60"]);
    let seccomp = env.ok(&["exec", "plain", "grep", "^Seccomp:", "/proc/self/status"]);
    assert_eq!(seccomp, "Seccomp:\t2\n");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "sealed",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "--security-opt",
        &opt,
        "busybox",
        "sleep",
        "60",
    ]);
    std::fs::remove_file(&profile).unwrap();
    let check = "mkdir /scratch/d 2>&1; touch /etc/x 2>&1; echo ok > /scratch/f && cat /scratch/f";
    let expected = "mkdir: can't create directory '/scratch/d': Operation not permitted\n\
                    touch: /etc/x: Read-only file system\nok\n";
    let out = env
        .cmd(&["exec", "sealed", "sh", "-c", check])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    env.ok(&["stop", "-t", "0", "sealed"]);
    env.ok(&["start", "sealed"]);
    for _ in 0..100 {
        if env.state("sealed").0 == "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = env
        .cmd(&["exec", "sealed", "sh", "-c", check])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    env.ok(&["rm", "-f", "plain", "sealed"]);
}

/// A container that handles SIGTERM stops at once, with its own code.
#[test]
fn stop_of_a_container_that_traps_term_gives_its_code() {
    if !testkit::require_root("stop_of_a_container_that_traps_term_gives_its_code") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "t",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 42' TERM; while true; do sleep 0.1; done",
    ]);
    // A SIGTERM sent before the shell has run `trap` is dropped (pid 1
    // has no handler yet), and stop would end with the SIGKILL.
    env.wait_handles("t", 15);
    // 137 would mean the SIGKILL after 30 s; 42 means the trap ran.
    env.ok(&["stop", "-t", "30", "t"]);
    assert_eq!(env.state("t"), ("exited".to_string(), 42));
}

/// `logs` keeps stdout and stderr apart, `--tail` cuts, `-f` follows
/// until the container exits.
#[test]
fn logs_and_logs_follow() {
    if !testkit::require_root("logs_and_logs_follow") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "l",
        "busybox",
        "sh",
        "-c",
        "echo one; echo two; echo oops >&2; echo three",
    ]);
    env.wait_exited("l");
    let out = env.md(&["logs", "l"]);
    assert_eq!(stdout(&out), "one\ntwo\nthree\n");
    assert_eq!(stderr(&out), "oops\n");
    // The last two lines of the merged log, as in Docker: "oops" and
    // "three" (written so close together that either may come first:
    // tests/logs.rs checks the order).
    let out = env.md(&["logs", "--tail", "2", "l"]);
    assert_eq!(
        (stdout(&out), stderr(&out)),
        ("three\n".into(), "oops\n".into())
    );
    // The seed's spelling of a long flag.
    assert_eq!(stdout(&env.md(&["logs", "-tail", "2", "l"])), "three\n");

    env.ok(&[
        "run",
        "-d",
        "--name",
        "f",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo $i; sleep 0.3; done",
    ]);
    let out = env.md(&["logs", "-f", "f"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "1\n2\n3\n");
    assert_eq!(env.state("f"), ("exited".to_string(), 0));
}

/// `exec` takes the root of the container's process, not the root of its
/// mount namespace. When mydocker runs in a chroot (here the machine's `/`
/// bound on a directory, in a mount namespace of the test's own), the
/// container's `pivot_root` does not move the namespace's root, which stays
/// the machine's `/`, where `/bin/ping` is not busybox's link.
#[test]
fn exec_from_a_chroot_looks_commands_up_in_the_container() {
    if !testkit::require_root("exec_from_a_chroot_looks_commands_up_in_the_container") {
        return;
    }
    let env = Env::new();
    let view = tempfile::tempdir().expect("a directory for the chroot");
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            r#"mount --rbind / "$0" && mount --make-rslave "$0" &&
               chroot "$0" "$1" --root "$2" run -d --name c busybox sleep 600 >/dev/null &&
               exec chroot "$0" "$1" --root "$2" exec c readlink /bin/ping"#,
        )
        .arg(view.path())
        .arg(common::bin())
        .arg(env.root())
        .output()
        .expect("run unshare");
    assert_eq!(stdout(&out), "/bin/busybox\n", "{}", stderr(&out));
    env.ok(&["rm", "-f", "c"]);
}

/// `exec` joins the container: PID 1 is its command, it gets the
/// container's environment and working directory (and its own -e, -w), its
/// cgroup, and its exit code comes back.
#[test]
fn exec_joins_namespaces_cgroup_env_and_workdir() {
    if !testkit::require_root("exec_joins_namespaces_cgroup_env_and_workdir") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "-e",
        "FOO=bar",
        "-w",
        "/srv",
        "--hostname",
        "box",
        "busybox",
        "sleep",
        "60",
    ]);
    let id = id.trim();
    let out = env.ok(&[
        "exec",
        "x",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $FOO; pwd; hostname; cat /proc/self/cgroup",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "sleep 60", "{out}");
    assert_eq!(lines[1], "bar");
    assert_eq!(lines[2], "/srv");
    assert_eq!(lines[3], "box");
    assert!(
        out.contains(&format!("mydocker/{id}")),
        "not in the container's cgroup: {out}"
    );

    let out = env.ok(&[
        "exec",
        "-e",
        "FOO=baz",
        "-w",
        "/tmp",
        "x",
        "sh",
        "-c",
        "echo $FOO; pwd",
    ]);
    assert_eq!(out, "baz\n/tmp\n");
    assert_eq!(
        env.md(&["exec", "x", "sh", "-c", "exit 5"]).status.code(),
        Some(5)
    );
    assert_eq!(
        env.md(&["exec", "x", "no-such-command"]).status.code(),
        Some(127)
    );
    assert_eq!(env.md(&["exec", "x", "/etc"]).status.code(), Some(126));

    env.ok(&["stop", "-t", "1", "x"]);
    let out = env.md(&["exec", "x", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
}

/// `exec` refuses a container whose recorded pid now belongs to another
/// process: it compares the start time, and never joins a stranger.
#[test]
fn exec_refuses_a_recycled_pid() {
    if !testkit::require_root("exec_refuses_a_recycled_pid") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&["run", "-d", "--name", "r", "busybox", "sleep", "60"]);
    let id = id.trim().to_string();
    env.ok(&["stop", "-t", "0", "r"]);
    // Make the record say it still runs, as pid 1 of the host: a process
    // that exists, but is not the container.
    let config = env.container_dir(&id).join("config.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    record["status"] = "running".into();
    record["pid"] = 1.into();
    record["pid_start"] = 12345.into();
    std::fs::write(&config, record.to_string()).unwrap();
    let out = env.md(&["exec", "r", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
    assert!(env.ok(&["ps", "-a"]).contains("Exited"));
}

/// `rm` refuses a running container; `rm -f` kills it and removes record,
/// layer, logs and cgroup, and no process of it is left.
#[test]
fn rm_refuses_running_and_rm_f_removes_everything() {
    if !testkit::require_root("rm_refuses_running_and_rm_f_removes_everything") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&[
        "run", "-d", "--name", "victim", "-m", "32m", "busybox", "sleep", "60",
    ]);
    let id = id.trim();
    let pid = env.pid("victim");
    let supervisor = env.supervisor("victim");
    // An exec'd process is part of the container too.
    let mut execd = env.cmd(&["exec", "victim", "sleep", "60"]).spawn().unwrap();
    assert!(!cgroup_dirs(id).is_empty());

    let out = env.md(&["rm", "victim"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("running"), "{}", stderr(&out));
    assert!(alive(pid));

    assert_eq!(env.ok(&["rm", "-f", "victim"]).trim(), "victim");
    assert!(!alive(pid), "the container's process survived");
    assert!(!alive(supervisor), "the supervisor survived");
    let _ = execd.wait();
    assert!(!env.container_dir(id).exists());
    assert!(cgroup_dirs(id).is_empty(), "{:?}", cgroup_dirs(id));
    assert!(env.ids().is_empty());
    assert!(testkit::host_mounts_containing(id).is_empty());
}

/// `start` runs a stopped container again: same id, name and layer.
#[test]
fn start_runs_the_same_container_again() {
    if !testkit::require_root("start_runs_the_same_container_again") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "again",
        "busybox",
        "sh",
        "-c",
        "echo run >> /runs; wc -l < /runs; sleep 60",
    ]);
    // Stop it only once it has counted, or the kill may come first.
    testkit::eventually(250, || (env.ok(&["logs", "again"]) == "1\n").then_some(()))
        .expect("the first run counts");
    env.ok(&["stop", "-t", "0", "again"]);
    assert_eq!(env.ok(&["start", "again"]).trim(), "again");
    assert_eq!(env.state("again").0, "running");
    assert_eq!(env.inspect("again")["Id"], id.trim());
    testkit::eventually(250, || {
        (env.ok(&["logs", "again"]) == "1\n2\n").then_some(())
    })
    .expect("the second run counts");
    env.ok(&["stop", "-t", "0", "again"]);
    // The second run saw the first run's file: the same upper layer.
    assert_eq!(env.ok(&["logs", "again"]), "1\n2\n");
}

/// `--rm` writes no exit record (the container is removed a moment later)
/// and gives its name back; a kept container's exit is recorded, and `ps -a`
/// shows it with its code. Both find each other's names by the index.
#[test]
fn rm_gives_the_name_back_and_a_kept_container_keeps_its_exit() {
    if !testkit::require_root("rm_gives_the_name_back_and_a_kept_container_keeps_its_exit") {
        return;
    }
    let env = Env::new();
    let code = |args: &[&str]| env.md(args).status.code();
    for _ in 0..2 {
        let args = [
            "run", "--rm", "--name", "once", "busybox", "sh", "-c", "exit 3",
        ];
        assert_eq!(code(&args), Some(3));
    }
    assert!(env.ids().is_empty(), "{:?}", env.ids());
    assert_eq!(
        code(&["run", "--name", "once", "busybox", "sh", "-c", "exit 4"]),
        Some(4)
    );
    let ps = env.ok(&["ps", "-a"]);
    let line = ps.lines().find(|l| l.contains("once")).expect("listed");
    assert!(line.contains("Exited (4)"), "{ps}");
    // The name is taken now, by a kept container, for --rm ones too.
    let out = env.md(&["run", "--rm", "--name", "once", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("already in use"), "{}", stderr(&out));
    // Found by its full id as well as by its name.
    let id = env.ids().pop().expect("one container");
    assert_eq!(env.state(&id), ("exited".to_string(), 4));
    assert_eq!(env.ok(&["rm", &id]).trim(), id);
    assert!(env.ids().is_empty());
    assert_eq!(
        code(&["run", "--rm", "--name", "once", "busybox", "true"]),
        Some(0)
    );
}

/// `-e`, `--env-file` and `-w` on `run`; `--rm` with `-d`.
#[test]
fn run_environment_workdir_and_detached_rm() {
    if !testkit::require_root("run_environment_workdir_and_detached_rm") {
        return;
    }
    let env = Env::new();
    let file = env.root().join("vars");
    std::fs::write(&file, "# settings\nA=1\nB=from-file\n").unwrap();
    let out = env.ok(&[
        "run",
        "--rm",
        "--env-file",
        file.to_str().unwrap(),
        "-e",
        "B=2",
        "-w",
        "/work",
        "busybox",
        "sh",
        "-c",
        "echo $A $B; pwd",
    ]);
    assert_eq!(out, "1 2\n/work\n");
    let id = env.ok(&["run", "-d", "--rm", "busybox", "true"]);
    let dir = env.container_dir(id.trim());
    assert!(
        testkit::eventually(500, || (!dir.exists()).then_some(())).is_some(),
        "--rm left {}",
        dir.display()
    );
}

/// `kill -9` of the supervisor: the container dies with it (its parent
/// death signal), `ps -a` shows it exited, `rm -f` removes it completely.
/// `kill -9` of the container: the supervisor records 137 and cleans up.
#[test]
fn crash_of_the_supervisor_or_the_container() {
    if !testkit::require_root("crash_of_the_supervisor_or_the_container") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&[
        "run", "-d", "--name", "orphan", "-m", "32m", "busybox", "sleep", "60",
    ]);
    let id = id.trim();
    let pid = env.pid("orphan");
    let supervisor = env.supervisor("orphan");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    assert!(testkit::eventually(500, || (!alive(pid)).then_some(())).is_some());
    let ps = env.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert!(!env.ok(&["ps"]).contains("orphan"));
    assert!(
        !cgroup_dirs(id).is_empty(),
        "nobody released the cgroup yet"
    );
    env.ok(&["rm", "-f", "orphan"]);
    assert!(cgroup_dirs(id).is_empty());
    assert!(!env.container_dir(id).exists());

    let id = env.ok(&[
        "run", "-d", "--name", "victim", "-m", "32m", "busybox", "sleep", "60",
    ]);
    let id = id.trim();
    let pid = env.pid("victim");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    assert_eq!(env.wait_exited("victim"), 137);
    assert!(
        testkit::eventually(500, || cgroup_dirs(id).is_empty().then_some(())).is_some(),
        "the supervisor did not remove the cgroup"
    );
    env.ok(&["rm", "victim"]);
}
