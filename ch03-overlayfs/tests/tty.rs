//! `-t`: the container's terminal comes from its own `devpts` instance, so
//! inside it is `/dev/pts/0`, as under Docker.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Fixture;

/// Runs `script` under script(1), which gives it a real terminal, and
/// types `input` into it once the shell's prompt shows (earlier input could
/// be taken by busybox's line editor as the answer to its terminal query);
/// returns (code, everything the terminal showed).
fn under_a_terminal(script: &str, input: &str) -> (i32, String) {
    let mut child = Command::new("script")
        .args(["-qec", script, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("# ") {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => break,
        }
    }
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("type the input");
    drop(stdin);
    let status = child.wait().expect("wait for script(1)");
    reader.join().expect("the reader");
    seen.extend(rx.try_iter().flatten());
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&seen).into_owned(),
    )
}

/// The terminal is `/dev/pts/0` of the container's own devpts (a new
/// instance holds nothing else), and every standard stream is it.
#[test]
fn tty_is_dev_pts_0_of_the_containers_devpts() {
    if !testkit::require_root("tty_is_dev_pts_0_of_the_containers_devpts") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run_ok(&[
        "-t",
        "busybox",
        "sh",
        "-c",
        "tty; ls -1 /dev/pts; readlink /proc/self/fd/1; readlink /proc/self/fd/2",
    ]);
    // The terminal's line discipline ends lines with CR LF.
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert_eq!(
        lines,
        ["/dev/pts/0", "0", "ptmx", "/dev/pts/0", "/dev/pts/0"],
        "{out:?}"
    );
    assert!(fx.containers().is_empty(), "{:?}", fx.containers());
}

/// `-it` under a real terminal: the shell's `tty` is `/dev/pts/0`, the
/// size of the user's terminal is the container's, the exit code comes back.
#[test]
fn interactive_shell_has_the_containers_pts_and_the_users_size() {
    if !testkit::require_root("interactive_shell_has_the_containers_pts_and_the_users_size") {
        return;
    }
    let fx = Fixture::new();
    let run = format!(
        "stty rows 33 cols 101; cd {} && {} --root {} run -it busybox sh",
        fx.cwd.path().display(),
        Fixture::binary().display(),
        fx.root.path().display()
    );
    let (code, out) = under_a_terminal(&run, "echo at $(tty); echo size $(stty size)\nexit 5\n");
    assert!(out.contains("at /dev/pts/0"), "{out:?}");
    assert!(out.contains("size 33 101"), "{out:?}");
    assert_eq!(code, 5, "{out:?}");
    assert!(fx.containers().is_empty(), "{:?}", fx.containers());
    assert!(testkit::host_mounts_containing(&fx.root_text()).is_empty());
}

/// A command that is not there, with `-t`: the terminal was already handed
/// over when exec failed; still 127, and nothing is left behind.
#[test]
fn a_missing_command_with_a_terminal_exits_127_and_leaves_nothing() {
    if !testkit::require_root("a_missing_command_with_a_terminal_exits_127_and_leaves_nothing") {
        return;
    }
    let fx = Fixture::new();
    let out = fx.run(&["-t", "busybox", "no-such-command"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(127), "{stderr}");
    assert!(stderr.contains("no-such-command"), "{stderr}");
    assert!(fx.containers().is_empty(), "{:?}", fx.containers());
    assert!(testkit::host_mounts_containing(&fx.root_text()).is_empty());
}
