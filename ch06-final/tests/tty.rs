//! `-t` as Docker gives it: the terminal of a container, and of a command
//! `exec -t` starts in it, comes from the container's own devpts, so `tty`
//! inside prints `/dev/pts/N` of the container's instance.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{Env, bin, stdout};

/// `mydocker run -it busybox tty` under a real terminal (script(1)): the
/// container's terminal is its `/dev/pts/0`.
#[test]
fn run_it_busybox_tty_prints_dev_pts_0() {
    if !testkit::require_root("run_it_busybox_tty_prints_dev_pts_0") {
        return;
    }
    let env = Env::new();
    let line = format!(
        "{} --root {} run -it --name t busybox tty",
        bin().display(),
        env.root().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    // stdin stays open until the container is done: at end-of-file script
    // would type an end-of-file character into the session.
    let stdin = child.stdin.take();
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read what the terminal showed");
    drop(stdin);
    let status = child.wait().expect("wait for script(1)");
    assert_eq!(status.code(), Some(0), "{out:?}");
    assert!(out.contains("/dev/pts/0"), "{out:?}");
    assert!(!out.contains("not a tty"), "{out:?}");
    assert_eq!(env.state("t"), ("exited".to_string(), 0));
}

/// A detached container with `-t`, and `exec -t` into it: the first has
/// `/dev/pts/0`, the exec'd command `/dev/pts/1`, both in the container's
/// devpts, which holds nothing else.
#[test]
fn exec_t_gets_a_terminal_of_the_containers_devpts() {
    if !testkit::require_root("exec_t_gets_a_terminal_of_the_containers_devpts") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "d",
        "busybox",
        "sh",
        "-c",
        "tty; sleep 60",
    ]);
    let out = env.ok(&["exec", "-t", "d", "sh", "-c", "tty; ls -1 /dev/pts"]);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert_eq!(lines, ["/dev/pts/1", "0", "1", "ptmx"], "{out:?}");
    // The relay writes what the container's terminal shows into the log.
    let logs = testkit::eventually(500, || {
        let logs = stdout(&env.md(&["logs", "d"]));
        (!logs.is_empty()).then_some(logs)
    });
    assert_eq!(logs.as_deref().map(str::trim_end), Some("/dev/pts/0"));
    env.ok(&["rm", "-f", "d"]);
}
