//! `run --init`: the tiny init reaps orphans, passes SIGTERM on to the
//! command, exits with the command's code, and runs confined.
//!
//! Each test has a control run without `--init` where that shows what the
//! init changes: the zombie that stays, the SIGTERM that is dropped.

use std::process::{Child, Command as StdCommand, Stdio};

use assert_cmd::cargo::cargo_bin_cmd;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::{DataRoot, children_of, eventually, require_root};

/// Runs `ch01-namespaces run ARGS...`: (code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = cargo_bin_cmd!("ch01-namespaces")
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

/// A container in the background; killed (by its PID 1's pid) on drop.
struct Background {
    mydocker: Child,
    pid1: u32,
}

impl Background {
    fn start(args: &[&str]) -> Background {
        let bin = assert_cmd::cargo::cargo_bin!("ch01-namespaces");
        let mut mydocker = StdCommand::new(bin)
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn ch01-namespaces");
        let pid1 = eventually(250, || children_of(mydocker.id()).first().copied());
        let Some(pid1) = pid1 else {
            let _ = mydocker.kill();
            panic!("the container's PID 1 never appeared");
        };
        Background { mydocker, pid1 }
    }

    /// Waits for mydocker and returns its exit code.
    fn wait(mut self) -> i32 {
        let status = self.mydocker.wait().expect("wait for ch01-namespaces");
        self.pid1 = 0;
        status.code().unwrap_or(-1)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.pid1 != 0 {
            let _ = kill(Pid::from_raw(self.pid1 as i32), Signal::SIGKILL);
            let _ = self.mydocker.wait();
        }
    }
}

/// The state letter of a process (`S`, `R`, `Z`...), from /proc/PID/stat.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// A script that leaves an orphan: the subshell exits at once, and its
/// child is handed to PID 1. The orphan exits once it has touched
/// `marker`. Then the command becomes a `sleep` that reaps nobody.
fn orphan_script(marker: &std::path::Path) -> String {
    format!(
        "(sh -c 'sleep 0.2; touch {}' &); exec sleep 100",
        marker.display()
    )
}

#[test]
fn the_init_reaps_orphans_that_a_plain_pid_1_leaves_as_zombies() {
    if !require_root("the_init_reaps_orphans_that_a_plain_pid_1_leaves_as_zombies") {
        return;
    }
    let tmp = DataRoot::new();

    // Control: `sleep` as PID 1 never waits, so the orphan stays a zombie.
    let marker = tmp.path().join("plain");
    let plain = Background::start(&["sh", "-c", &orphan_script(&marker)]);
    assert!(eventually(250, || marker.exists().then_some(())).is_some());
    let zombie = eventually(250, || {
        children_of(plain.pid1)
            .into_iter()
            .find(|&c| state(c) == Some('Z'))
    });
    assert!(zombie.is_some(), "a zombie under a plain PID 1");
    drop(plain);

    // With --init: PID 1 reaps it; only the command is left under it.
    let marker = tmp.path().join("init");
    let init = Background::start(&["--init", "sh", "-c", &orphan_script(&marker)]);
    assert!(eventually(250, || marker.exists().then_some(())).is_some());
    let only_the_command = eventually(250, || {
        let children = children_of(init.pid1);
        (children.len() == 1 && state(children[0]) == Some('S')).then_some(children[0])
    });
    let command = only_the_command.expect("the orphan was reaped: one child, sleeping");
    let cmdline = std::fs::read(format!("/proc/{command}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x00100\x00");
    assert!(
        children_of(command).is_empty(),
        "nothing is left under the command either"
    );
}

#[test]
fn sigterm_to_pid_1_reaches_the_command_through_the_init() {
    if !require_root("sigterm_to_pid_1_reaches_the_command_through_the_init") {
        return;
    }
    // Control: a plain `sleep` as PID 1 has no handler; the kernel drops
    // the SIGTERM, and the container keeps running.
    let plain = Background::start(&["sleep", "100"]);
    kill(Pid::from_raw(plain.pid1 as i32), Signal::SIGTERM).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        state(plain.pid1).map(|s| s != 'Z'),
        Some(true),
        "still running"
    );
    drop(plain);

    // With --init, the init forwards it and the command dies of it: 128+15.
    let init = Background::start(&["--init", "sleep", "100"]);
    // Wait until the command exists, so that the signal is for it.
    assert!(eventually(250, || (!children_of(init.pid1).is_empty()).then_some(())).is_some());
    kill(Pid::from_raw(init.pid1 as i32), Signal::SIGTERM).unwrap();
    assert_eq!(init.wait(), 143);
}

#[test]
fn exit_codes_pass_through_the_init() {
    if !require_root("exit_codes_pass_through_the_init") {
        return;
    }
    assert_eq!(run(&["--init", "sh", "-c", "exit 3"]).0, 3);
    assert_eq!(run(&["--init", "sh", "-c", "kill -KILL $$"]).0, 137);
    let (code, out, _) = run(&["--init", "sh", "-c", "echo $$; cat /proc/1/comm"]);
    assert_eq!((code, out.as_str()), (0, "2\nch01-namespaces\n"));
    // A command that cannot start is reported as without --init.
    let (code, _, err) = run(&["--init", "no-such-command-xyz"]);
    assert_eq!(code, 127, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no-such-command-xyz"), "{err}");
}

#[test]
fn the_init_and_the_command_are_both_confined() {
    if !require_root("the_init_and_the_command_are_both_confined") {
        return;
    }
    let fields = "grep -E '^(Seccomp|CapEff|CapBnd|NoNewPrivs):'";
    let script = format!("{fields} /proc/1/status; echo --; {fields} /proc/self/status");
    let (code, out, err) = run(&[
        "--init",
        "--security-opt",
        "no-new-privileges",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(code, 0, "{err}");
    let (init, command) = out.split_once("--\n").expect("two parts");
    assert_eq!(init, command, "the init is confined as the command is");
    assert!(init.contains("Seccomp:\t2"), "{init}");
    assert!(init.contains("NoNewPrivs:\t1"), "{init}");
    // Docker's 14 capabilities, not root's full set.
    assert!(init.contains("CapEff:\t00000000a80425fb"), "{init}");
}

#[test]
fn with_a_terminal_the_command_is_its_foreground_group() {
    if !require_root("with_a_terminal_the_command_is_its_foreground_group") {
        return;
    }
    // Fields 5 and 8 of /proc/self/stat: the process group, and the one
    // the terminal sends Ctrl-C to.
    let script = "tty; read pid comm state ppid pgrp session tty tpgid rest < /proc/self/stat; \
                  echo $pid $pgrp $tpgid";
    let (code, out, err) = run(&["-t", "--init", "sh", "-c", script]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert!(lines[0].starts_with("/dev/pts/"), "{out}");
    assert_eq!(lines[1], "2 2 2", "the command leads the foreground group");

    // An interactive shell under a real terminal (script(1)): its exit
    // code comes back through the init.
    let bin = assert_cmd::cargo::cargo_bin!("ch01-namespaces");
    let out = StdCommand::new("script")
        .args([
            "-qec",
            &format!("{} run -ti --init /bin/sh", bin.display()),
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
    assert!(text.contains("pid=2"), "{text}");
    assert_eq!(out.status.code(), Some(3));
}
