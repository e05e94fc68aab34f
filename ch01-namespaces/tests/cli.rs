//! Chapter 1, observed from outside: each test runs the real binary and
//! checks an effect of the namespaces, not just an exit code.

use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin_cmd;
use testkit::{children_of, eventually, require_root};

fn ch01() -> Command {
    cargo_bin_cmd!("ch01-namespaces")
}

/// Runs `ch01-namespaces run ARGS...` and returns (code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = ch01()
        .arg("run")
        .args(args)
        .output()
        .expect("run ch01-namespaces");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_is_pid_1() {
    if !require_root("the_command_is_pid_1") {
        return;
    }
    let (code, out, _) = run(&["sh", "-c", "echo $$"]);
    assert_eq!((code, out.as_str()), (0, "1\n"));
}

#[test]
fn hostname_is_the_containers_own() {
    if !require_root("hostname_is_the_containers_own") {
        return;
    }
    let before = nix::unistd::gethostname().unwrap();
    let (_, generated, _) = run(&["hostname"]);
    let (_, chosen, _) = run(&["--hostname", "box1", "hostname"]);
    let after = nix::unistd::gethostname().unwrap();
    assert_eq!(chosen.trim(), "box1");
    assert_eq!(
        generated.trim().len(),
        12,
        "default hostname is the short id"
    );
    assert_ne!(generated.trim(), before.to_string_lossy());
    assert_eq!(before, after, "the host's hostname changed");
}

#[test]
fn every_namespace_differs_from_the_hosts() {
    if !require_root("every_namespace_differs_from_the_hosts") {
        return;
    }
    for ns in ["uts", "pid", "mnt", "ipc", "net"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let (code, inside, _) = run(&["readlink", &format!("/proc/self/ns/{ns}")]);
        assert_eq!(code, 0);
        assert_ne!(
            inside.trim(),
            host.to_string_lossy(),
            "{ns} namespace is shared"
        );
        assert!(inside.starts_with(&format!("{ns}:[")), "{inside}");
    }
}

#[test]
fn the_network_has_only_loopback() {
    if !require_root("the_network_has_only_loopback") {
        return;
    }
    let (code, out, err) = run(&["busybox", "ip", "-o", "link"]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<&str> = out.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(names, ["lo"]);
}

#[test]
fn a_mount_inside_stays_inside() {
    if !require_root("a_mount_inside_stays_inside") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().to_str().unwrap();
    let script = format!("mount -t tmpfs mdtest {target} && grep -c ' {target} ' /proc/mounts");
    // Mounting needs CAP_SYS_ADMIN, which a container lacks by default.
    let (code, out, err) = run(&["--cap-add", "SYS_ADMIN", "sh", "-c", &script]);
    assert_eq!((code, out.trim()), (0, "1"), "{err}");
    assert!(
        testkit::host_mounts_containing(target).is_empty(),
        "the tmpfs leaked to the host"
    );
}

#[test]
fn ps_sees_only_the_container() {
    if !require_root("ps_sees_only_the_container") {
        return;
    }
    let (code, out, err) = run(&["sh", "-c", "sleep 30 & ps -e -o pid=,comm=; kill $!"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let comms: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    assert_eq!(comms, ["sh", "sleep", "ps"], "{out}");
    assert_eq!(rows[0][0], "1");
}

#[test]
fn exit_codes_follow_docker() {
    if !require_root("exit_codes_follow_docker") {
        return;
    }
    let cases: [(&[&str], i32); 5] = [
        (&["true"], 0),
        (&["false"], 1),
        (&["sh", "-c", "exit 32"], 32),
        (&["no-such-command"], 127),
        (&["/tmp"], 126),
    ];
    for (args, want) in cases {
        let (code, _, err) = run(args);
        assert_eq!(code, want, "{args:?}: {err}");
    }
    let (_, _, err) = run(&["no-such-command"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("executable file not found"), "{err}");
}

/// Starts `run ARGS...` in the background and returns it with the host pid of
/// the container's PID 1 once that runs `comm`.
fn start_background(args: &[&str], comm: &str) -> (std::process::Child, i32) {
    let bin = assert_cmd::cargo::cargo_bin!("ch01-namespaces");
    let child = StdCommand::new(bin)
        .arg("run")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ch01-namespaces");
    let parent = child.id();
    let pid = eventually(500, || {
        children_of(parent).into_iter().find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm)
        })
    })
    .expect("the container's process appears");
    (child, pid as i32)
}

#[test]
fn sigkill_from_the_host_gives_137() {
    if !require_root("sigkill_from_the_host_gives_137") {
        return;
    }
    let (child, pid) = start_background(&["sleep", "100"], "sleep");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
}

#[test]
fn sigterm_to_mydocker_reaches_the_container() {
    if !require_root("sigterm_to_mydocker_reaches_the_container") {
        return;
    }
    // A namespace's PID 1 only sees signals it has a handler for: give the
    // shell a trap, so its exit code proves the TERM arrived.
    let script = "trap 'exit 42' TERM; echo ready; while :; do sleep 1; done";
    let (mut child, _) = start_background(&["sh", "-c", script], "sh");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    let parent = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(parent, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42));
}

#[test]
fn pid_1_survives_its_own_sigkill() {
    if !require_root("pid_1_survives_its_own_sigkill") {
        return;
    }
    // The kernel drops a signal sent to a namespace's PID 1 from inside that
    // namespace when PID 1 has no handler for it, SIGKILL included.
    let (code, out, _) = run(&["sh", "-c", "kill -9 $$; echo survived"]);
    assert_eq!((code, out.as_str()), (0, "survived\n"));
}

#[test]
fn stdin_reaches_the_container() {
    if !require_root("stdin_reaches_the_container") {
        return;
    }
    ch01()
        .args(["run", "cat"])
        .write_stdin("hi\n")
        .assert()
        .success()
        .stdout("hi\n");
}

#[test]
fn tty_gives_a_terminal_and_an_interactive_shell() {
    if !require_root("tty_gives_a_terminal_and_an_interactive_shell") {
        return;
    }
    let (code, out, _) = run(&["-t", "sh", "-c", "tty; echo $$"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert!(lines[0].starts_with("/dev/pts/"), "{out}");
    assert_eq!(lines[1], "1");

    // `-ti /bin/sh` under a real terminal (script(1) provides one): the
    // shell is interactive, is PID 1, and its exit code comes back.
    let bin = assert_cmd::cargo::cargo_bin!("ch01-namespaces");
    let out = StdCommand::new("script")
        .args([
            "-qec",
            &format!("{} run -ti /bin/sh", bin.display()),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"echo pid=$$\nexit 3\n")?;
            child.wait_with_output()
        })
        .expect("run script(1)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pid=1"), "{text}");
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn a_terminal_that_cannot_be_opened_is_a_clean_125() {
    if !require_root("a_terminal_that_cannot_be_opened_is_a_clean_125") {
        return;
    }
    // /dev/null bound over /dev/ptmx, in a mount namespace of the test's
    // own (unshare makes its mounts private; the host's /dev is untouched):
    // the child opens it, but it is no pseudo-terminal multiplexer. The
    // child must report that through the error pipe and exit, and mydocker
    // must see its end of the terminal's socket close instead of waiting.
    let bin = assert_cmd::cargo::cargo_bin!("ch01-namespaces");
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            r#"mount --bind /dev/null /dev/ptmx && exec "$0" run -t sh -c 'echo started'"#,
        ])
        .arg(bin)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run ch01-namespaces under unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stdout}{stderr}");
    assert!(!stdout.contains("started"), "the command ran: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("ch01-namespaces: ioctl TIOCSPTLCK on /dev/ptmx"),
        "{stderr}"
    );
}

#[test]
fn bad_input_is_one_line_and_125() {
    // Parsing fails before anything is created, so this needs no root.
    let cases: [&[&str]; 4] = [
        &["run"],
        &["run", "--bogus", "sh"],
        &["run", "--hostname", "bad_name", "sh"],
        &["frobnicate"],
    ];
    for args in cases {
        let out = ch01().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("ch01-namespaces: "), "{err}");
    }
}

#[test]
fn go_style_flags_are_accepted() {
    if !require_root("go_style_flags_are_accepted") {
        return;
    }
    let (code, out, err) = run(&["-ti", "-hostname", "gobox", "hostname"]);
    assert_eq!((code, out.trim()), (0, "gobox"), "{err}");
    let (code, out, _) = run(&["-it", "--hostname=dockerbox", "hostname"]);
    assert_eq!((code, out.trim()), (0, "dockerbox"));
    let (code, out, _) = run(&["-h", "shortbox", "hostname"]);
    assert_eq!((code, out.trim()), (0, "shortbox"));
}

#[test]
fn help_is_stable() {
    let out = ch01().args(["run", "--help"]).output().unwrap();
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn sigpipe_has_its_default_action_inside() {
    if !require_root("sigpipe_has_its_default_action_inside") {
        return;
    }
    let (code, out, err) = run(&["sh", "-c", "yes | head -n 1"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "y\n", ""));
}
