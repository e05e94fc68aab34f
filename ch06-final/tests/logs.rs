//! `logs` as Docker's json-file logs behave, privileged: every container's
//! output is logged (foreground ones too), `start` appends, both streams
//! keep the order they were written in, `--tail` counts the merged log,
//! `-t` shows the times, `--since` and `--until` select by them, `-f`
//! follows until the container exits.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use ch06_final::timestamp::Timestamp;

use common::{Env, stderr, stdout};

/// Prints 1, 2 on stdout and 3, 4 on stderr, in the order 1 3 2 4. The
/// pauses let the copier read each line before the next one comes: lines
/// written on both streams in the same instant have no order to keep.
const INTERLEAVED: &str = "echo 1; sleep 0.2; echo 3 >&2; sleep 0.2; echo 2; sleep 0.2; echo 4 >&2";

/// `mydocker --root ROOT ARGS... 2>&1`: both streams in one pipe, in the
/// order they were printed.
fn merged(env: &Env, args: &[&str]) -> String {
    let mut line = vec![common::bin().display().to_string()];
    line.extend(["--root".into(), env.root().display().to_string()]);
    line.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new("sh")
        .arg("-c")
        .arg("\"$@\" 2>&1")
        .arg("sh")
        .args(&line)
        .output()
        .expect("run sh");
    assert!(out.status.success(), "{args:?}: {}", stdout(&out));
    stdout(&out)
}

/// stdout and stderr of an output, as a pair.
fn streams(out: &Output) -> (String, String) {
    (stdout(out), stderr(out))
}

/// The times `logs -t` shows, in order.
fn times(env: &Env, name: &str) -> Vec<String> {
    merged(env, &["logs", "-t", name])
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

/// `logs --help`: every flag, in Docker's spellings.
#[test]
fn logs_help_names_every_flag() {
    let out = Command::new(common::bin())
        .args(["logs", "--help"])
        .env("COLUMNS", "100")
        .env_remove("MYDOCKER_ROOT")
        .output()
        .expect("run mydocker logs --help");
    assert!(out.status.success());
    insta::assert_snapshot!("logs_help", stdout(&out));
}

/// A foreground `run` shows its output and logs it; `start` appends to
/// the same log.
#[test]
fn a_foreground_run_is_logged_and_start_appends() {
    if !testkit::require_root("a_foreground_run_is_logged_and_start_appends") {
        return;
    }
    let env = Env::new();
    let out = env.md(&[
        "run",
        "--name",
        "fg",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(streams(&out), ("out\n".into(), "err\n".into()));
    let logs = env.md(&["logs", "fg"]);
    assert_eq!(streams(&logs), ("out\n".into(), "err\n".into()));
    // Where Docker keeps it, and inspect says so.
    let inspect = env.inspect("fg");
    let id = inspect["Id"].as_str().expect("an id");
    let path = env.container_dir(id).join(format!("{id}-json.log"));
    assert_eq!(inspect["LogPath"], path.display().to_string());
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);

    assert_eq!(env.ok(&["start", "fg"]).trim(), "fg");
    env.wait_exited("fg");
    let logs = env.md(&["logs", "fg"]);
    assert_eq!(streams(&logs), ("out\nout\n".into(), "err\nerr\n".into()));
    assert_eq!(merged(&env, &["logs", "fg"]), "out\nerr\nout\nerr\n");
}

/// The copier thread takes no signal: a SIGTERM to a foreground
/// `mydocker run` still reaches the container, whose trap's output is
/// shown and logged.
#[test]
fn a_foreground_run_still_forwards_signals() {
    if !testkit::require_root("a_foreground_run_still_forwards_signals") {
        return;
    }
    let env = Env::new();
    let child = env
        .cmd(&[
            "run",
            "--name",
            "sig",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got; exit 5' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start mydocker run");
    testkit::eventually(500, || {
        (stdout(&env.md(&["logs", "sig"])) == "ready\n").then_some(())
    })
    .expect("the container is ready");
    env.wait_handles("sig", 15);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill mydocker run");
    let out = child.wait_with_output().expect("wait for mydocker run");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stdout(&out), "ready\ngot\n");
    assert_eq!(env.ok(&["logs", "sig"]), "ready\ngot\n");
}

/// With `-t` the terminal is the one stream: what the foreground showed
/// (with the terminal's `\r\n`) is what `logs` shows.
#[test]
fn a_foreground_terminal_is_logged_too() {
    if !testkit::require_root("a_foreground_terminal_is_logged_too") {
        return;
    }
    let env = Env::new();
    let out = env.md(&[
        "run",
        "-t",
        "--name",
        "t",
        "busybox",
        "sh",
        "-c",
        "echo hi; echo err >&2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(streams(&out), ("hi\r\nerr\r\n".into(), String::new()));
    let logs = env.md(&["logs", "t"]);
    assert_eq!(streams(&logs), ("hi\r\nerr\r\n".into(), String::new()));
}

/// Both streams in the order written, each on its own; `--tail 2` is the
/// last two lines of the merged log, as in Docker 20.10 (its json-file
/// reader counts lines of the one file, then splits them by stream).
#[test]
fn stdout_and_stderr_interleave_in_the_order_written() {
    if !testkit::require_root("stdout_and_stderr_interleave_in_the_order_written") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "il",
        "busybox",
        "sh",
        "-c",
        INTERLEAVED,
    ]);
    env.wait_exited("il");
    let logs = env.md(&["logs", "il"]);
    assert_eq!(streams(&logs), ("1\n2\n".into(), "3\n4\n".into()));
    assert_eq!(merged(&env, &["logs", "il"]), "1\n3\n2\n4\n");

    let tail = |n: &str| streams(&env.md(&["logs", "--tail", n, "il"]));
    assert_eq!(tail("2"), ("2\n".into(), "4\n".into()));
    assert_eq!(tail("3"), ("2\n".into(), "3\n4\n".into()));
    assert_eq!(tail("0"), (String::new(), String::new()));
    assert_eq!(tail("all"), ("1\n2\n".into(), "3\n4\n".into()));
    assert_eq!(merged(&env, &["logs", "-n", "3", "il"]), "3\n2\n4\n");
}

/// `-t`: RFC 3339 with nine digits of nanoseconds, in UTC, before every
/// line; the times rise with the lines.
#[test]
fn timestamps_are_rfc3339_nano() {
    if !testkit::require_root("timestamps_are_rfc3339_nano") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "ts",
        "busybox",
        "sh",
        "-c",
        INTERLEAVED,
    ]);
    env.wait_exited("ts");
    let shown = merged(&env, &["logs", "-t", "ts"]);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", "[TIME]"),
    ]}, {
        insta::assert_snapshot!("logs_timestamps", shown);
    });
    let times = times(&env, "ts");
    assert_eq!(times.len(), 4, "{shown}");
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{shown}");
    // Written a moment ago, by this machine's clock.
    let first = Timestamp::parse_rfc3339(&times[0]).expect("an RFC 3339 time");
    let now = Timestamp::now();
    assert!(
        first <= now && first >= now.before(Duration::from_secs(60)),
        "{shown}"
    );
    // With --tail, the times of the lines shown.
    let last = env.md(&["logs", "-t", "--tail", "1", "ts"]);
    assert_eq!(stderr(&last), format!("{} 4\n", times[3]));
}

/// `--since` and `--until` take a line's own time (inclusive), an RFC 3339
/// time, a Unix timestamp or a duration before now; a value that is none
/// of these is refused with Docker's words and exit code 1.
#[test]
fn since_and_until_select_by_time() {
    if !testkit::require_root("since_and_until_select_by_time") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "st",
        "busybox",
        "sh",
        "-c",
        INTERLEAVED,
    ]);
    env.wait_exited("st");
    let times = times(&env, "st");
    assert_eq!(times.len(), 4, "{times:?}");
    let select = |args: &[&str]| {
        let mut all = vec!["logs"];
        all.extend_from_slice(args);
        all.push("st");
        merged(&env, &all)
    };
    // 1 3 2 4: since the time of "2" are 2 and 4; until the time of "3", 1 and 3.
    assert_eq!(select(&["--since", &times[2]]), "2\n4\n");
    assert_eq!(select(&["--until", &times[1]]), "1\n3\n");
    assert_eq!(
        select(&["--since", &times[1], "--until", &times[2]]),
        "3\n2\n"
    );
    assert_eq!(select(&["--since", "1h"]), "1\n3\n2\n4\n");
    assert_eq!(select(&["--until", "1h"]), "");
    assert_eq!(select(&["--since", "0s"]), "");
    assert_eq!(select(&["--since", "1000000000"]), "1\n3\n2\n4\n");
    assert_eq!(select(&["--since", "4000000000.5"]), "");
    assert_eq!(select(&["--since", "2000-01-01T00:00:00Z"]), "1\n3\n2\n4\n");
    // The seed's single dash works for these too.
    assert_eq!(select(&["-since", &times[3]]), "4\n");

    let out = env.md(&["logs", "--since", "yesterday", "st"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        "mydocker: invalid value for \"since\": failed to parse value as time or duration: \"yesterday\""
    );
    assert!(stdout(&out).is_empty());
}

/// `-f` prints what comes as it comes, on both streams, and returns when
/// the container exits; the exit is recorded by then.
#[test]
fn logs_f_follows_until_exit() {
    if !testkit::require_root("logs_f_follows_until_exit") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "f",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; for i in 1 2 3; do echo $i; echo e$i >&2; sleep 0.3; done",
    ]);
    let followed = env.md(&["logs", "-f", "f"]);
    assert!(followed.status.success(), "{}", stderr(&followed));
    assert_eq!(
        streams(&followed),
        ("1\n2\n3\n".into(), "e1\ne2\ne3\n".into())
    );
    assert_eq!(env.state("f"), ("exited".to_string(), 0));
    // -f of an exited container prints the log and returns.
    assert_eq!(stdout(&env.md(&["logs", "-f", "--tail", "1", "f"])), "");
    assert_eq!(stderr(&env.md(&["logs", "-f", "--tail", "1", "f"])), "e3\n");
}

/// A `--restart` container: `logs -f` follows it across its restarts, and
/// returns once the supervisor gives up.
#[test]
fn logs_f_follows_across_restarts() {
    if !testkit::require_root("logs_f_follows_across_restarts") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; sleep 0.3; exit 3",
    ]);
    let followed = env.md(&["logs", "-f", "flaky"]);
    assert!(followed.status.success(), "{}", stderr(&followed));
    assert_eq!(stdout(&followed), "run\nrun\nrun\n");
    assert_eq!(env.state("flaky"), ("exited".to_string(), 3));
}

/// A container that writes much more than a pipe holds, and exits at
/// once: nothing is lost, nothing blocks, the last line is there.
#[test]
fn a_flood_of_output_is_logged_whole() {
    if !testkit::require_root("a_flood_of_output_is_logged_whole") {
        return;
    }
    let env = Env::new();
    let out = env.md(&["run", "--name", "flood", "busybox", "seq", "1", "200000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 200_000);
    let logs = stdout(&env.md(&["logs", "flood"]));
    assert_eq!(logs.lines().count(), 200_000);
    assert!(logs.ends_with("199999\n200000\n"));
    assert_eq!(
        stdout(&env.md(&["logs", "--tail", "1", "flood"])),
        "200000\n"
    );
}

/// A container of an earlier mydocker has `stdout.log` and `stderr.log`
/// and no JSON log: `logs` still shows them, `--tail` in each file; its
/// next `start` makes them the start of its JSON log.
#[test]
fn old_plain_logs_still_show() {
    if !testkit::require_root("old_plain_logs_still_show") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&["run", "-d", "--name", "old", "busybox", "echo", "new"]);
    env.wait_exited("old");
    let dir = env.container_dir(id.trim());
    std::fs::remove_file(dir.join(format!("{}-json.log", id.trim()))).expect("the JSON log");
    std::fs::write(dir.join("stdout.log"), "a\nb\n").unwrap();
    std::fs::write(dir.join("stderr.log"), "c\n").unwrap();
    assert_eq!(
        streams(&env.md(&["logs", "old"])),
        ("a\nb\n".into(), "c\n".into())
    );
    assert_eq!(
        streams(&env.md(&["logs", "--tail", "1", "old"])),
        ("b\n".into(), "c\n".into())
    );

    env.ok(&["start", "old"]);
    testkit::eventually(250, || {
        (stdout(&env.md(&["logs", "old"])) == "a\nb\nnew\n").then_some(())
    })
    .expect("the second run's line after the old ones");
    assert_eq!(stderr(&env.md(&["logs", "old"])), "c\n");
    assert!(!dir.join("stdout.log").exists() && !dir.join("stderr.log").exists());
}
