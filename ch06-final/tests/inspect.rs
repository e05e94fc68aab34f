//! `inspect`'s Docker shape and `--format`, `ps --format/--filter/-n/-l`,
//! `images -q/--format`, privileged: real containers, their outputs as
//! insta snapshots with ids, times and the data root filtered out.

mod common;

use common::{Env, outcome, stderr};

/// Filters for what changes from run to run: ids, times, the data root.
fn filters(env: &Env) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[full id]");
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[id]");
    settings.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC", "[created at]");
    settings.add_filter(
        r"(Less than a second|About a minute|\d+ (seconds?|minutes?)) ago",
        "[when] ago",
    );
    settings.add_filter(
        r"Up (Less than a second|\d+ seconds?|About a minute)",
        "Up [time]",
    );
    settings.add_filter(
        &env.root().display().to_string().replace('.', r"\."),
        "[root]",
    );
    settings
}

/// A running container with a volume, limits and an environment, and an
/// exited one: `inspect --format` over the common fields.
#[test]
fn inspect_format_prints_dockers_fields() {
    if !testkit::require_root("inspect_format_prints_dockers_fields") {
        return;
    }
    let env = Env::new();
    let data = env.root().join("data");
    std::fs::create_dir_all(&data).expect("create the volume's directory");
    let volume = format!("{}:/data:ro", data.display());
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-m",
        "64m",
        "--cpus",
        "0.5",
        "-e",
        "GREETING=hi",
        "-v",
        &volume,
        "-w",
        "/data",
        "busybox",
        "sleep",
        "60",
    ]);
    let done = env.md(&["run", "--name", "done", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(done.status.code(), Some(3), "{}", stderr(&done));

    let format = |template: &str| env.ok(&["inspect", "-f", template, "web", "done"]);
    let lines = [
        format(
            "{{.Name}} {{.State.Status}} running={{.State.Running}} exit={{.State.ExitCode}} oom={{.State.OOMKilled}} dead={{.State.Dead}} paused={{.State.Paused}}",
        ),
        format(
            "{{json .Config.Cmd}} {{.Config.WorkingDir}} {{.Config.Image}} tty={{.Config.Tty}} {{.Config.Entrypoint}}",
        ),
        format(r#"{{range .Config.Env}}{{if eq . "GREETING=hi"}}{{.}}{{end}}{{end}}"#),
        format("{{range .Mounts}}{{.Type}} {{.Source}} -> {{.Destination}} rw={{.RW}}{{end}}"),
        format(
            "mem={{.HostConfig.Memory}} cpus={{.HostConfig.NanoCpus}} net={{.HostConfig.NetworkMode}} restart={{.HostConfig.RestartPolicy.Name}} {{json .HostConfig.Binds}}",
        ),
        format(
            "ip={{.NetworkSettings.IPAddress}} {{json .NetworkSettings.Networks}} {{json .NetworkSettings.Ports}}",
        ),
        format("{{.Id}} {{.Image}}"),
    ];
    filters(&env).bind(|| insta::assert_snapshot!(lines.concat()));
    // The pid, as the book's labs read it, agrees with the JSON.
    let pid = env.ok(&["inspect", "--format", "{{.State.Pid}}", "web"]);
    assert_eq!(pid.trim(), env.pid("web").to_string());
    // The JSON keeps mydocker's own fields outside Docker's objects.
    let json = env.inspect("web");
    assert!(json["Supervisor"].as_i64().is_some(), "{json:#}");
    assert!(json["HostConfig"].get("Limits").is_none(), "{json:#}");
    assert_eq!(json["Limits"]["memory"], 64 << 20, "{json:#}");
}

/// A bad template is refused with one line and nothing on stdout; a
/// missing object after a good one still prints the good one.
#[test]
fn inspect_format_errors() {
    if !testkit::require_root("inspect_format_errors") {
        return;
    }
    let env = Env::new();
    env.ok(&["run", "--name", "a", "busybox", "true"]);
    let (code, out, err) = outcome(&env, &["inspect", "-f", "{{.Name", "a"]);
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unclosed action"), "{err}");
    let (code, out, err) = outcome(&env, &["inspect", "-f", "{{.Name}}", "a", "nothing"]);
    assert_eq!((code, out.as_str()), (Some(1), "/a\n"), "{err}");
    assert!(err.contains("nothing"), "{err}");
    // Images have their own fields; a key they lack is Go's "<no value>".
    let out = env.ok(&["inspect", "-f", "{{.RepoTags}} {{.State}}", "busybox"]);
    assert_eq!(out, "[busybox:latest] <no value>\n");
}

/// `ps --format` with Docker's field names, `table`, the filters, `-n`
/// and `-l`.
#[test]
fn ps_format_filters_and_last() {
    if !testkit::require_root("ps_format_filters_and_last") {
        return;
    }
    let env = Env::new();
    let first = env.md(&["run", "--name", "first", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    env.ok(&["run", "-d", "--name", "second", "busybox", "sleep", "60"]);
    env.ok(&["run", "--name", "third", "busybox", "true"]);
    let ps = |args: &[&str]| {
        let mut all = vec!["ps"];
        all.extend(args);
        format!("$ mydocker ps {}\n{}", args.join(" "), env.ok(&all))
    };
    let text = [
        ps(&["--format", "{{.Names}} {{.State}} {{.Image}} {{.Command}}"]),
        ps(&["-a", "--format", "{{.Names}} {{.State}} {{.Status}}"]),
        ps(&["-a", "--format", r"table {{.ID}}\t{{.Names}}\t{{.Status}}"]),
        ps(&["--filter", "status=exited", "--format", "{{.Names}}"]),
        ps(&["-a", "--filter", "exited=3", "--format", "{{.Names}}"]),
        ps(&["-a", "-f", "name=ir", "--format", "{{.Names}}"]),
        ps(&[
            "-a",
            "-f",
            "name=first",
            "-f",
            "name=third",
            "--format",
            "{{.Names}}",
        ]),
        ps(&[
            "-a",
            "-f",
            "status=running",
            "-f",
            "name=third",
            "--format",
            "{{.Names}}",
        ]),
        ps(&["-a", "-f", "ancestor=busybox", "-q"]),
        ps(&[
            "-n",
            "2",
            "--format",
            "{{.Names}} {{.CreatedAt}} {{.RunningFor}}",
        ]),
        ps(&["-l", "--format", "{{.Names}} {{.Networks}} {{.Ports}}."]),
    ];
    filters(&env).bind(|| insta::assert_snapshot!(text.concat()));
    // id= is a prefix of the full id.
    let id = env.ok(&["inspect", "-f", "{{.Id}}", "second"]);
    let by_id = env.ok(&["ps", "-q", "-f", &format!("id={}", &id[..6])]);
    assert_eq!(by_id.trim(), &id[..12]);
    // Bad filters are refused with Docker's words.
    for (filter, words) in [
        ("bogus=1", "invalid filter 'bogus'"),
        ("status=sleeping", "invalid filter 'status=sleeping'"),
        ("name", "bad format of filter"),
    ] {
        let (code, out, err) = outcome(&env, &["ps", "-f", filter]);
        assert!(
            code == Some(1) && out.is_empty(),
            "{filter}: {code:?} {out}"
        );
        assert!(err.contains(words), "{filter}: {err}");
    }
}

/// `images -q` and `images --format`.
#[test]
fn images_quiet_and_format() {
    if !testkit::require_root("images_quiet_and_format") {
        return;
    }
    let env = Env::new();
    env.ok(&["tag", "busybox", "box:1"]);
    let quiet = env.ok(&["images", "-q"]);
    let ids = env.ok(&["images", "--format", "{{.ID}}"]);
    assert_eq!(quiet, ids);
    assert_eq!(quiet.lines().count(), 2, "one line per tag: {quiet}");
    let text = [
        env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
        env.ok(&[
            "image",
            "ls",
            "--format",
            r"table {{.Repository}}\t{{.Tag}}",
        ]),
    ];
    filters(&env).bind(|| insta::assert_snapshot!(text.concat()));
}

/// A container the OOM killer ends: `State.OOMKilled` and exit code 137,
/// read through `--format` as a script would (`-m 8m`, a shell that
/// allocates 100 MB).
#[test]
fn an_oom_killed_container_reads_oomkilled_in_inspect() {
    if !testkit::require_root("an_oom_killed_container_reads_oomkilled_in_inspect") {
        return;
    }
    let env = Env::new();
    let hog = "a=$(yes | head -c 100000000); echo survived";
    let out = env.md(&[
        "run", "--name", "hog", "-m", "8m", "busybox", "sh", "-c", hog,
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    let state = env.ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.OOMKilled}} {{.State.ExitCode}}",
        "hog",
    ]);
    assert_eq!(state, "exited true 137\n");
    let json = env.inspect("hog");
    assert_eq!(json["State"]["OOMKilled"], true);
    assert_eq!(json["State"]["ExitCode"], 137);
    assert_eq!(json["HostConfig"]["Memory"], 8 << 20);
}

/// On a network, in a lab: the address, gateway and prefix, the network by
/// name with its aliases, and the published port in Docker's map, both as
/// asked (`HostConfig.PortBindings`) and live (`NetworkSettings.Ports`).
#[test]
fn inspect_network_settings_in_a_lab() {
    if !testkit::require_root("inspect_network_settings_in_a_lab") {
        return;
    }
    let env = Env::in_lab();
    env.ok(&["network", "create", "--subnet", "10.77.0.0/24", "in0"]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "in0",
        "--network-alias",
        "www",
        "-p",
        "8888:80",
        "busybox",
        "sleep",
        "60",
    ]);
    let format = |template: &str| env.ok(&["inspect", "-f", template, "web"]);
    let text = [
        format(
            "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}/{{.NetworkSettings.IPPrefixLen}} {{.HostConfig.NetworkMode}}",
        ),
        format(
            r#"{{(index .NetworkSettings.Networks "in0").IPAddress}} {{json (index .NetworkSettings.Networks "in0").Aliases}}"#,
        ),
        format("{{json .HostConfig.PortBindings}}"),
        format("{{json .NetworkSettings.Ports}}"),
        format(
            r#"{{range $p, $b := .NetworkSettings.Ports}}{{$p}} -> {{(index $b 0).HostPort}}{{end}}"#,
        ),
        env.ok(&["ps", "--format", "{{.Names}} {{.Networks}} {{.Ports}}"]),
    ];
    insta::assert_snapshot!(text.concat());
    env.ok(&["stop", "-t", "0", "web"]);
    env.wait_exited("web");
    // Docker lists live ports only while the container runs.
    assert_eq!(format("{{json .NetworkSettings.Ports}}"), "{}\n");
}
