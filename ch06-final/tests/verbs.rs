//! Docker's everyday verbs, privileged: `wait`, `kill`, `restart`,
//! `rename`, `pause`/`unpause`, `port`, `history`, `version`, `info`,
//! `system df`, the prunes, the management forms (`container ...`,
//! `image ...`), named volumes and `--init`. Each checks its effect and
//! Docker's exit code; the tables people read are insta snapshots with the
//! ids, sizes and times filtered out.

mod common;

use std::time::Duration;

use common::{Env, outcome, stderr};

/// Filters for the tables: ids, durations, sizes, the data root.
fn table_filters(env: &Env) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[id]");
    settings.add_filter(
        r"(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?)) ago",
        "[when] ago",
    );
    settings.add_filter(
        r"Up (Less than a second|\d+ seconds?|About a minute)",
        "Up [time]",
    );
    settings.add_filter(r"\b\d+(\.\d+)?(B|kB|MB|GB)\b", "[size]");
    settings.add_filter(&regex_escape(&env.root().display().to_string()), "[root]");
    // Where the busybox tar was imported from (shortened to the column).
    settings.add_filter(r"mydocker import /\S*", "mydocker import [tar]");
    // The columns widen and narrow with what the filters replaced.
    settings.add_filter(r" {2,}", "  ");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' | '\\' => {
                format!("\\{c}")
            }
            c => c.to_string(),
        })
        .collect()
}

#[test]
fn wait_kill_restart_and_rename() {
    if !testkit::require_root("wait_kill_restart_and_rename") {
        return;
    }
    let env = Env::new();
    // wait: the exit code, printed, once the container has exited.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "w",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 7",
    ]);
    assert_eq!(env.ok(&["wait", "w"]), "7\n");
    assert_eq!(
        env.ok(&["wait", "w"]),
        "7\n",
        "a stopped container answers at once"
    );

    // kill: KILL by default (137); -s TERM reaches a shell that traps it.
    env.ok(&["run", "-d", "--name", "k", "busybox", "sleep", "300"]);
    assert_eq!(env.ok(&["kill", "k"]), "k\n");
    assert_eq!(env.ok(&["wait", "k"]), "137\n");
    let (code, _, err) = outcome(&env, &["kill", "k"]);
    assert_eq!(code, Some(1), "kill of a stopped container: {err}");
    assert!(err.contains("is not running"), "{err}");
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
    env.wait_handles("t", 15);
    env.ok(&["kill", "-s", "TERM", "t"]);
    assert_eq!(env.ok(&["wait", "t"]), "42\n");
    assert_eq!(outcome(&env, &["kill", "-s", "NOPE", "t"]).0, Some(1));

    // restart: a new process for the same container.
    env.ok(&["run", "-d", "--name", "r", "busybox", "sleep", "300"]);
    let before = env.pid("r");
    assert_eq!(env.ok(&["restart", "-t", "0", "r"]), "r\n");
    let after = env.pid("r");
    assert_ne!(before, after, "restart gave the same process");
    assert_eq!(env.state("r").0, "running");

    // rename: the new name finds it, the old one does not, a taken one is refused.
    env.ok(&["rename", "r", "renamed"]);
    assert_eq!(env.pid("renamed"), after);
    assert_eq!(outcome(&env, &["inspect", "r"]).0, Some(1));
    let (code, _, err) = outcome(&env, &["rename", "renamed", "w"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already in use"), "{err}");
    env.ok(&["rm", "-f", "renamed"]);
}

#[test]
fn pause_freezes_and_unpause_resumes() {
    if !testkit::require_root("pause_freezes_and_unpause_resumes") {
        return;
    }
    let env = Env::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let volume = format!("{}:/count", dir.path().display());
    env.ok(&[
        "run",
        "-d",
        "--name",
        "p",
        "-v",
        &volume,
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /count/n; sleep 0.05; done",
    ]);
    let count = || {
        std::fs::read_to_string(dir.path().join("n"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    testkit::eventually(200, count).expect("the loop counts");
    assert_eq!(env.ok(&["pause", "p"]), "p\n");
    let frozen = count();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(count(), frozen, "the count moved while paused");
    }
    assert!(env.ok(&["ps"]).contains("(Paused)"));
    assert_eq!(env.inspect("p")["State"]["Paused"], true);
    let (code, _, err) = outcome(&env, &["exec", "p", "true"]);
    assert_eq!(code, Some(1), "exec into a paused container: {err}");
    assert!(err.contains("is paused"), "{err}");
    assert_eq!(outcome(&env, &["pause", "p"]).0, Some(1), "already paused");

    assert_eq!(env.ok(&["unpause", "p"]), "p\n");
    let moved = testkit::eventually(200, || (count() > frozen).then_some(()));
    assert!(moved.is_some(), "the count did not move after unpause");
    assert_eq!(outcome(&env, &["unpause", "p"]).0, Some(1), "not paused");
    // A paused container still stops.
    env.ok(&["pause", "p"]);
    env.ok(&["stop", "-t", "1", "p"]);
    assert_eq!(env.state("p").0, "exited");
}

/// `--init`: orphans are reaped (no zombie), and `stop`'s SIGTERM reaches
/// a command that, as PID 1, would have ignored it.
#[test]
fn init_reaps_and_forwards_stop() {
    if !testkit::require_root("init_reaps_and_forwards_stop") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "i",
        "busybox",
        "sh",
        "-c",
        // The inner shell exits at once: its `sleep` is an orphan, whose
        // parent becomes PID 1, which must reap it when it ends.
        "sh -c 'sleep 0.1 &'; exec sleep 300",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let states = env.ok(&["exec", "i", "sh", "-c", "cat /proc/[0-9]*/stat"]);
    assert!(
        !states.lines().any(|l| l.contains(") Z ")),
        "a zombie under --init:\n{states}"
    );
    let comm = env.ok(&["exec", "i", "cat", "/proc/1/comm"]);
    assert_ne!(comm.trim(), "sleep", "PID 1 should be the init");
    env.ok(&["stop", "-t", "10", "i"]);
    assert_eq!(env.state("i"), ("exited".to_string(), 143));
}

#[test]
fn named_volumes_are_kept_and_refused_while_used() {
    if !testkit::require_root("named_volumes_are_kept_and_refused_while_used") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "data:/data",
            "busybox",
            "cat",
            "/data/f"
        ]),
        "kept\n"
    );
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "data\n");
    env.ok(&[
        "run",
        "--name",
        "user",
        "-v",
        "data:/data",
        "busybox",
        "true",
    ]);
    let (code, _, err) = outcome(&env, &["volume", "rm", "data"]);
    assert_eq!(code, Some(1), "a volume a container uses: {err}");
    assert!(err.contains("in use"), "{err}");
    assert!(env.inspect("user")["HostConfig"]["Binds"][0] == "data:/data");
    env.ok(&["rm", "user"]);
    assert_eq!(env.ok(&["volume", "rm", "data"]), "data\n");
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "");
}

/// The tables and reports: `ps`, `container ls`, `images`, `image ls`,
/// `history`, `system df`, `version`, `info` and the prunes.
#[test]
fn tables_and_reports_have_dockers_shape() {
    if !testkit::require_root("tables_and_reports_have_dockers_shape") {
        return;
    }
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "up", "busybox", "sleep", "300"]);
    let done = env.md(&[
        "run",
        "--name",
        "done",
        "busybox",
        "sh",
        "-c",
        "echo x > /new; exit 3",
    ]);
    assert_eq!(done.status.code(), Some(3));
    env.ok(&["commit", "done", "mine"]);
    let settings = table_filters(&env);

    let ps = env.ok(&["ps", "-a"]);
    assert_eq!(ps, env.ok(&["container", "ls", "-a"]));
    settings.bind(|| insta::assert_snapshot!("ps_a", ps));
    let images = env.ok(&["images"]);
    assert_eq!(images, env.ok(&["image", "ls"]));
    settings.bind(|| insta::assert_snapshot!("images", images));
    let history = env.ok(&["history", "mine"]);
    assert_eq!(
        history.lines().nth(2).map(|l| l.starts_with("<missing>")),
        Some(true)
    );
    settings.bind(|| insta::assert_snapshot!("history", history));
    let df = env.ok(&["system", "df"]);
    settings.bind(|| insta::assert_snapshot!("system_df", df));

    let version = env.ok(&["version"]);
    assert!(
        version.starts_with("Client: mydocker\n Version:"),
        "{version}"
    );
    let info = env.ok(&["info"]);
    for line in [
        "Containers: 2\n",
        " Running: 1\n",
        " Stopped: 1\n",
        "Images: 2\n",
        "Cgroup Version: ",
    ] {
        assert!(info.contains(line), "{line:?} in\n{info}");
    }

    // Prunes: the stopped container goes, the running one stays; then the
    // images nothing uses.
    let pruned = env.ok(&["container", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Containers:\n"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space: "), "{pruned}");
    assert_eq!(env.ids().len(), 1);
    let pruned = env.ok(&["image", "prune", "-a", "-f"]);
    assert!(pruned.contains("untagged: mine:latest"), "{pruned}");
    assert!(
        !pruned.contains("busybox"),
        "busybox is used by `up`: {pruned}"
    );
    // Without -f and without a yes, nothing is removed.
    let mut ask = env.cmd(&["container", "prune"]);
    ask.stdin(std::process::Stdio::null());
    let out = ask.output().expect("run container prune");
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("Are you sure you want to continue? [y/N]"));
    assert_eq!(env.ids().len(), 1);
}

/// `--stop-signal`, `--stop-timeout`, `--cidfile`, `--label` and
/// `--entrypoint`, as Docker takes them.
#[test]
fn run_flags_for_stopping_naming_and_entrypoints() {
    if !testkit::require_root("run_flags_for_stopping_naming_and_entrypoints") {
        return;
    }
    let env = Env::new();
    // A shell that traps only USR1: `stop` must send USR1, not TERM.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "sig",
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "30",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 21' USR1; while true; do sleep 0.1; done",
    ]);
    env.wait_handles("sig", 10);
    env.ok(&["stop", "sig"]);
    assert_eq!(env.state("sig"), ("exited".to_string(), 21));
    // --stop-timeout 0: a plain sleep (which ignores TERM as PID 1) is
    // killed at once, 137.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "quick",
        "--stop-timeout",
        "0",
        "busybox",
        "sleep",
        "300",
    ]);
    env.ok(&["stop", "quick"]);
    assert_eq!(env.state("quick"), ("exited".to_string(), 137));
    assert_eq!(
        outcome(&env, &["run", "--stop-signal", "NOPE", "busybox", "true"]).0,
        Some(125)
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let cidfile = dir.path().join("cid");
    let cid = cidfile.to_str().expect("utf-8 path");
    let id = env.ok(&[
        "run",
        "-d",
        "--cidfile",
        cid,
        "-l",
        "tier=web",
        "--label",
        "solo",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(std::fs::read_to_string(&cidfile).unwrap(), id.trim());
    let (code, _, err) = outcome(&env, &["run", "--cidfile", cid, "busybox", "true"]);
    assert_eq!(code, Some(125), "an existing cidfile: {err}");
    assert!(err.contains("container ID file found"), "{err}");
    let record = std::fs::read_to_string(env.container_dir(id.trim()).join("config.json")).unwrap();
    assert!(
        record.contains("\"tier\":\"web\"") || record.contains("\"tier\": \"web\""),
        "{record}"
    );

    // --entrypoint replaces the image's (busybox has none) and its Cmd.
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--entrypoint",
            "echo",
            "busybox",
            "from",
            "entrypoint"
        ]),
        "from entrypoint\n"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "--entrypoint", "", "busybox", "echo", "none"]),
        "none\n"
    );
}
