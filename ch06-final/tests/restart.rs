//! Starting a container again, by hand and by its restart policy.
//!
//! `start` after `stop` gives a container back everything `run` gave it:
//! its limits in a new cgroup, its volume, its address on the network and
//! its published port. Checked by their effects in the kernel and on the
//! wire, not by what the records say, inside a network lab.
//!
//! `--restart` makes the supervisor start it again after an exit, as
//! Docker's policies say, until a user stops it. Checked by the processes
//! and the files the runs leave, with generous timeouts and no timing
//! assertions.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::{Env, cgroup_dirs, stderr, stdout};
use testkit::lab::LAB_ADDR;

/// The container's network: a bridge in the lab, its gateway the first address.
const SUBNET: &str = "192.168.40.1/24";
const GATEWAY: &str = "192.168.40.1";
const PREFIX: &str = "192.168.40.";
/// `-m 64m`, in bytes.
const MEMORY: u64 = 64 << 20;
/// `--cpu-shares`.
const SHARES: u64 = 512;
/// The published port on the lab host and the container's port behind it.
const HOST_PORT: &str = "8080";
const CONTAINER_PORT: &str = "80";
/// What the container's web server answers.
const PAGE: &str = "served-by-the-restarted-container";

/// A stopped container, started again, has its memory and CPU limits in
/// its new cgroup, its volume mounted both ways, its address on `eth0`
/// with the gateway in reach, and its published port's DNAT rule back and
/// answering. Every missing effect is listed, not only the first.
#[test]
fn start_restores_limits_volume_network_and_port() {
    if !testkit::require_root("start_restores_limits_volume_network_and_port") {
        return;
    }
    // Declared first, so it outlives the containers that mount it.
    let host_dir = tempfile::tempdir().expect("a host directory for the volume");
    let env = Env::in_lab();
    env.ok(&["network", "create", "--subnet", SUBNET, "rs0"]);
    let volume = format!("{}:/data", host_dir.path().display());
    let publish = format!("{HOST_PORT}:{CONTAINER_PORT}");
    let shares = SHARES.to_string();
    let serve = format!(
        "mkdir -p /www && echo {PAGE} > /www/index.html && exec httpd -f -p {CONTAINER_PORT} -h /www"
    );
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "-m",
        "64m",
        "--cpu-shares",
        &shares,
        "--cpus",
        "0.5",
        "-v",
        &volume,
        "--net",
        "rs0",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        &serve,
    ]);
    let id = id.trim().to_string();

    // The first run shows every effect, so the checks can see them.
    let missing = missing_effects(&env, "svc", host_dir.path(), "run");
    assert!(missing.is_empty(), "the first run lacks: {missing:#?}");

    let first_pid = env.pid("svc");
    // httpd as PID 1 has no SIGTERM handler: stop ends with the SIGKILL.
    env.ok(&["stop", "-t", "1", "svc"]);
    assert_stopped_released_everything(&env, &id);

    assert_eq!(env.ok(&["start", "svc"]).trim(), "svc");
    assert_eq!(env.state("svc").0, "running");
    assert_ne!(env.pid("svc"), first_pid, "start made no new process");
    let missing = missing_effects(&env, "svc", host_dir.path(), "start");
    assert!(
        missing.is_empty(),
        "FINDING: start did not restore: {missing:#?}"
    );

    env.ok(&["rm", "-f", "svc"]);
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
    let host_path = host_dir.path().to_str().expect("utf-8 path");
    assert!(testkit::host_mounts_containing(host_path).is_empty());
    assert!(testkit::host_mounts_containing(&id).is_empty());
}

/// What the running container `name` lacks of its settings, one line per
/// missing effect; `round` keeps the files of one run apart from the next.
fn missing_effects(env: &Env, name: &str, host_dir: &Path, round: &str) -> Vec<String> {
    let pid = env.pid(name);
    [
        limits_in_cgroup(pid),
        volume_both_ways(env, name, host_dir, round),
        address_and_gateway(env, name),
        published_port(env, name),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect()
}

/// The cgroup v1 directory of `pid` in `controller`'s hierarchy, from
/// `/proc/PID/cgroup` (`N:cpu,cpuacct:/path`).
fn cgroup_of(pid: i32, controller: &str) -> Result<std::path::PathBuf, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("read /proc/{pid}/cgroup: {e}"))?;
    text.lines()
        .find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, list, path) = (fields.next()?, fields.next()?, fields.next()?);
            list.split(',').any(|c| c == controller).then(|| {
                Path::new("/sys/fs/cgroup")
                    .join(list)
                    .join(path.trim_start_matches('/'))
            })
        })
        .ok_or_else(|| format!("pid {pid} is in no {controller} cgroup:\n{text}"))
}

/// A number from a cgroup file.
fn read_number(dir: &Path, file: &str) -> Result<u64, String> {
    let path = dir.join(file);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    text.trim()
        .parse()
        .map_err(|e| format!("{}: {text:?}: {e}", path.display()))
}

/// `-m 64m`, `--cpu-shares 512` and `--cpus 0.5` in the kernel's files of
/// the cgroups the container's process is in (v1's or, on a pure v2 host,
/// the unified hierarchy's).
fn limits_in_cgroup(pid: i32) -> Result<(), String> {
    match unified_cgroup_of(pid)? {
        Some(dir) => limits_in_unified_cgroup(&dir),
        None => limits_in_v1_cgroups(pid),
    }
}

/// The v2 directory of `pid`, if the host is pure cgroup v2 (its only line
/// in `/proc/PID/cgroup` is `0::/path`).
fn unified_cgroup_of(pid: i32) -> Result<Option<std::path::PathBuf>, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("read /proc/{pid}/cgroup: {e}"))?;
    let mut lines = text.lines();
    Ok(match (lines.next(), lines.next()) {
        (Some(line), None) => line
            .strip_prefix("0::")
            .map(|path| Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'))),
        _ => None,
    })
}

fn limits_in_unified_cgroup(dir: &Path) -> Result<(), String> {
    let limit = read_number(dir, "memory.max")?;
    let weight = read_number(dir, "cpu.weight")?;
    let path = dir.join("cpu.max");
    let max =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let (quota, period) = max
        .trim()
        .split_once(' ')
        .and_then(|(q, p)| Some((q.parse::<u64>().ok()?, p.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("{}: {max:?}", path.display()))?;
    let want_weight = ch02_cgroups::limits::shares_to_weight(SHARES);
    if (limit, weight, quota) == (MEMORY, want_weight, period / 2) {
        Ok(())
    } else {
        Err(format!(
            "limits: {} has memory.max {limit} (want {MEMORY}), cpu.weight {weight} (want {want_weight}) and cpu.max {max:?}",
            dir.display()
        ))
    }
}

fn limits_in_v1_cgroups(pid: i32) -> Result<(), String> {
    let memory = cgroup_of(pid, "memory")?;
    let limit = read_number(&memory, "memory.limit_in_bytes")?;
    let cpu = cgroup_of(pid, "cpu")?;
    let shares = read_number(&cpu, "cpu.shares")?;
    let quota = read_number(&cpu, "cpu.cfs_quota_us")?;
    let period = read_number(&cpu, "cpu.cfs_period_us")?;
    if (limit, shares, quota) == (MEMORY, SHARES, period / 2) {
        Ok(())
    } else {
        Err(format!(
            "limits: {} has memory.limit_in_bytes {limit} (want {MEMORY}), {} has cpu.shares {shares} (want {SHARES}) and cfs quota {quota} of {period}",
            memory.display(),
            cpu.display()
        ))
    }
}

/// `mydocker exec NAME ARGS...`: its stdout, or why it failed.
fn exec(env: &Env, name: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["exec", name];
    all.extend_from_slice(args);
    let out = env.md(&all);
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(format!(
            "exec {args:?} exited {:?}: {}",
            out.status.code(),
            stderr(&out)
        ))
    }
}

/// A file the host writes into the volume is seen inside at `/data`, and
/// one written inside lands in the host's directory.
fn volume_both_ways(env: &Env, name: &str, host_dir: &Path, round: &str) -> Result<(), String> {
    let from_host = format!("from-host-{round}");
    std::fs::write(host_dir.join(&from_host), &from_host)
        .map_err(|e| format!("write into {}: {e}", host_dir.display()))?;
    let seen = exec(env, name, &["cat", &format!("/data/{from_host}")])
        .map_err(|e| format!("volume: the host's file is not in /data: {e}"))?;
    if seen != from_host {
        return Err(format!("volume: /data/{from_host} holds {seen:?}"));
    }
    let from_inside = format!("from-inside-{round}");
    let script = format!("echo -n {from_inside} > /data/{from_inside}");
    exec(env, name, &["sh", "-c", &script]).map_err(|e| format!("volume: write in /data: {e}"))?;
    match std::fs::read_to_string(host_dir.join(&from_inside)) {
        Ok(text) if text == from_inside => Ok(()),
        other => Err(format!(
            "volume: the container's file is not in {}: {other:?}",
            host_dir.display()
        )),
    }
}

/// The container's `eth0` has an address on the bridge's subnet, and the
/// bridge (its gateway) answers a ping.
fn address_and_gateway(env: &Env, name: &str) -> Result<(), String> {
    let addr = exec(env, name, &["ip", "-4", "-o", "addr", "show", "eth0"])
        .map_err(|e| format!("network: no eth0: {e}"))?;
    if !addr.contains(&format!("inet {PREFIX}")) {
        return Err(format!("network: eth0 has no address in {SUBNET}: {addr}"));
    }
    exec(env, name, &["ping", "-c", "1", "-W", "2", GATEWAY])
        .map(|_| ())
        .map_err(|e| format!("network: the gateway {GATEWAY} does not answer: {e}"))
}

/// The lab's nat table sends the published port to the container's
/// address (as `eth0` shows it), and a request to the lab host's address
/// and that port gets the container's page.
fn published_port(env: &Env, name: &str) -> Result<(), String> {
    let addr = exec(env, name, &["ip", "-4", "-o", "addr", "show", "eth0"])
        .map_err(|e| format!("port: no eth0: {e}"))?;
    let ip = addr
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .ok_or_else(|| format!("port: no address on eth0: {addr}"))?;
    let rules = env.lab().sh_ok("iptables -t nat -S");
    let target = format!("--to-destination {ip}:{CONTAINER_PORT}");
    let dport = format!("--dport {HOST_PORT}");
    if !rules
        .lines()
        .any(|l| l.contains("-j DNAT") && l.contains(&dport) && l.contains(&target))
    {
        return Err(format!(
            "port: no DNAT of {HOST_PORT} to {ip}:{CONTAINER_PORT}:\n{rules}"
        ));
    }
    // busybox's nc: its wget crashes when linked statically against glibc.
    let fetch =
        format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {LAB_ADDR} {HOST_PORT}");
    // From the lab host itself (nat OUTPUT), then from its internet, as a
    // client elsewhere would come (nat PREROUTING and forwarding).
    if !answers(|| env.lab().sh(&fetch)) {
        return Err(format!(
            "port: {LAB_ADDR}:{HOST_PORT} does not answer the lab host with the page"
        ));
    }
    if !answers(|| env.lab().inet_sh(&fetch)) {
        return Err(format!(
            "port: {LAB_ADDR}:{HOST_PORT} does not answer the lab's internet with the page"
        ));
    }
    Ok(())
}

/// True once `fetch` gets the container's page. Until httpd listens the
/// lab refuses at once, but a lost packet costs nc its 2 s: the wait is
/// bounded by time, not by tries.
fn answers(fetch: impl Fn() -> Output) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if stdout(&fetch()).contains(PAGE) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// After `stop` the old run left nothing behind that could pass for the
/// next one: no cgroup, no DNAT rule, no veth on the bridge.
fn assert_stopped_released_everything(env: &Env, id: &str) {
    assert_eq!(env.state("svc").0, "exited");
    let released = || cgroup_dirs(id).is_empty().then_some(());
    assert!(
        testkit::eventually(500, released).is_some(),
        "the stopped container kept its cgroups: {:?}",
        cgroup_dirs(id)
    );
    let rules = env.lab().sh_ok("iptables -t nat -S");
    assert!(
        !rules.lines().any(|l| l.contains("-j DNAT")),
        "a DNAT rule outlived the container:\n{rules}"
    );
    let veths = env.lab().sh_ok("ip -o link show type veth");
    assert!(
        veths.lines().all(|l| l.contains(" eth0@")),
        "a veth outlived the container:\n{veths}"
    );
}

/// How long a test waits for a restart policy to do its work: the
/// back-offs of a few restarts add up to well under a second, the rest is
/// room for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `f` every 20 ms until it gives `Some`, for at most `PATIENCE`.
fn within_patience<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(value) = f() {
            return Some(value);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The lines of `file`, none if it does not exist (yet).
fn lines_of(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The container is exited and no supervisor is left that could restart it.
fn settled(env: &Env, name: &str) -> bool {
    let info = env.inspect(name);
    info["State"]["Status"] == "exited" && info["Supervisor"].is_null()
}

/// `on-failure:3` with a command that fails: the first run and three
/// restarts, each appending a line to a file in a volume, then no more.
/// The record says exited with the command's code, restarted 3 times.
#[test]
fn on_failure_3_restarts_a_failing_container_three_times_then_stops() {
    if !testkit::require_root("on_failure_3_restarts_a_failing_container_three_times_then_stops") {
        return;
    }
    let host_dir = tempfile::tempdir().expect("a host directory for the volume");
    let env = Env::new();
    let volume = format!("{}:/data", host_dir.path().display());
    let starts = host_dir.path().join("starts");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:3",
        "-v",
        &volume,
        "busybox",
        "sh",
        "-c",
        "echo started >> /data/starts; exit 3",
    ]);
    assert!(
        within_patience(|| settled(&env, "flaky").then_some(())).is_some(),
        "the container did not settle: {:#}\nstarts: {:?}",
        env.inspect("flaky"),
        lines_of(&starts)
    );
    assert_eq!(lines_of(&starts).len(), 4, "first run + 3 restarts");
    assert_eq!(env.state("flaky"), ("exited".to_string(), 3));
    let info = env.inspect("flaky");
    assert_eq!(info["RestartCount"], 3, "{info:#}");
    assert_eq!(info["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(info["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
    // Nobody is left to start it: the count of runs stays.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lines_of(&starts).len(), 4, "a restart after the last one");
    let id = info["Id"].as_str().expect("an id").to_string();
    env.ok(&["rm", "flaky"]);
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
    assert!(testkit::host_mounts_containing(&id).is_empty());
}

/// `always`: a `kill -9` of the container's process is followed by a new
/// process; `stop` ends it for good; `start` supervises it with its policy
/// again; `rm` leaves no cgroup, mount or process of it.
#[test]
fn always_survives_kill_9_until_stopped() {
    if !testkit::require_root("always_survives_kill_9_until_stopped") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "1000",
    ]);
    let id = id.trim().to_string();
    let supervisor = env.supervisor("svc");
    let first = env.pid("svc");
    kill_9(first);
    let second = within_patience(|| {
        let info = env.inspect("svc");
        let pid = info["State"]["Pid"].as_i64().unwrap_or(0) as i32;
        (info["State"]["Status"] == "running" && pid > 0 && pid != first).then_some(pid)
    })
    .unwrap_or_else(|| panic!("no new process after kill -9: {:#}", env.inspect("svc")));
    assert!(common::alive(second));
    assert!(!common::alive(first));
    assert_eq!(
        env.supervisor("svc"),
        supervisor,
        "the same supervisor restarts it"
    );
    assert_eq!(env.inspect("svc")["RestartCount"], 1);

    // A stop by the user: no restart, however long we look.
    env.ok(&["stop", "-t", "1", "svc"]);
    assert_eq!(env.state("svc"), ("exited".to_string(), 137));
    assert!(!common::alive(second));
    assert!(!common::alive(supervisor), "the supervisor outlived stop");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(env.state("svc").0, "exited", "restarted after stop");

    // start: supervised with the policy again, the count from 0.
    env.ok(&["start", "svc"]);
    let third = env.pid("svc");
    assert_eq!(env.inspect("svc")["RestartCount"], 0);
    kill_9(third);
    within_patience(|| {
        let info = env.inspect("svc");
        let pid = info["State"]["Pid"].as_i64().unwrap_or(0) as i32;
        (pid > 0 && pid != third).then_some(())
    })
    .unwrap_or_else(|| panic!("start lost the policy: {:#}", env.inspect("svc")));
    let fourth = env.pid("svc");
    let supervisor = env.supervisor("svc");

    env.ok(&["rm", "-f", "svc"]);
    assert!(env.ids().is_empty());
    for pid in [fourth, supervisor] {
        assert!(!common::alive(pid), "process {pid} outlived rm -f");
    }
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
    assert!(testkit::host_mounts_containing(&id).is_empty());
}

/// SIGKILL to a process of ours (the container's, by its host pid).
fn kill_9(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the container's process");
}

/// `always` with a command that fails at once: between its runs `ps`
/// shows it as Docker does, `Restarting (1) ... ago`, also without `-a`;
/// `stop` during the back-off ends it, and it stays exited.
#[test]
fn ps_shows_restarting_and_stop_ends_it() {
    if !testkit::require_root("ps_shows_restarting_and_stop_ends_it") {
        return;
    }
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "crashy",
        "--restart",
        "always",
        "busybox",
        "false",
    ]);
    let id = id.trim().to_string();
    let line = within_patience(|| {
        stdout(&env.md(&["ps"]))
            .lines()
            .find(|l| l.contains("crashy") && l.contains("Restarting (1)"))
            .map(str::to_string)
    })
    .unwrap_or_else(|| {
        let log = std::fs::read_to_string(env.container_dir(&id).join("supervisor.log"));
        panic!(
            "ps never showed the container restarting: {:#}\nsupervisor.log: {log:?}",
            env.inspect("crashy")
        )
    });
    assert!(line.contains(" ago"), "{line}");
    env.ok(&["stop", "crashy"]);
    let info = env.inspect("crashy");
    assert_eq!(info["State"]["Status"], "exited", "{info:#}");
    assert_eq!(info["State"]["ExitCode"], 1);
    assert!(info["Supervisor"].is_null(), "{info:#}");
    let count = info["RestartCount"].as_u64().expect("a restart count");
    assert!(count >= 1, "{info:#}");
    std::thread::sleep(Duration::from_secs(1));
    let after = env.inspect("crashy");
    assert_eq!(after["State"]["Status"], "exited", "{after:#}");
    assert_eq!(after["RestartCount"], count, "restarted after stop");
    let ps = stdout(&env.md(&["ps", "-a"]));
    assert!(
        ps.lines()
            .any(|l| l.contains("crashy") && l.contains("Exited (1)")),
        "{ps}"
    );
    env.ok(&["rm", "crashy"]);
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
}

/// In the foreground there is no daemon to hand the container to: `run`
/// itself restarts it, prints every run's output, and returns the last
/// run's code once the policy says no more.
#[test]
fn a_foreground_run_restarts_in_place() {
    if !testkit::require_root("a_foreground_run_restarts_in_place") {
        return;
    }
    let env = Env::new();
    let out = env.md(&[
        "run",
        "--name",
        "fg",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().filter(|l| *l == "run").count(), 3);
    assert_eq!(env.inspect("fg")["RestartCount"], 2);
    assert_eq!(env.state("fg"), ("exited".to_string(), 5));
}

/// `--restart` with `--rm` is refused as Docker refuses it, and so is a
/// policy that does not exist: one line, exit 125, no container.
#[test]
fn bad_restart_options_are_refused_before_anything_exists() {
    if !testkit::require_root("bad_restart_options_are_refused_before_anything_exists") {
        return;
    }
    let env = Env::new();
    for (args, says) in [
        (
            &[
                "run",
                "-d",
                "--restart",
                "always",
                "--rm",
                "busybox",
                "true",
            ][..],
            "conflicting options: --restart and --rm",
        ),
        (
            &["run", "--restart", "sometimes", "busybox", "true"][..],
            "invalid restart policy",
        ),
        (
            &["run", "--restart", "always:3", "busybox", "true"][..],
            "only be used with on-failure",
        ),
    ] {
        let out = env.md(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(env.ids().is_empty(), "{args:?} left a container");
    }
}

/// `always` on a network with a published port: after a `kill -9` the
/// restarted container has an address on the bridge again and its port
/// answers (the supervisor's second clone came after the first run's
/// network threads were gone); `rm -f` then releases it all.
#[test]
fn always_brings_a_killed_container_back_on_its_network_and_port() {
    if !testkit::require_root("always_brings_a_killed_container_back_on_its_network_and_port") {
        return;
    }
    let env = Env::in_lab();
    env.ok(&["network", "create", "--subnet", SUBNET, "rs0"]);
    let publish = format!("{HOST_PORT}:{CONTAINER_PORT}");
    let serve = format!(
        "mkdir -p /www && echo {PAGE} > /www/index.html && exec httpd -f -p {CONTAINER_PORT} -h /www"
    );
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--restart",
        "always",
        "--net",
        "rs0",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        &serve,
    ]);
    let id = id.trim().to_string();
    let missing = |round: &str| -> Vec<String> {
        [
            address_and_gateway(&env, "web"),
            published_port(&env, "web"),
        ]
        .into_iter()
        .filter_map(Result::err)
        .map(|e| format!("{round}: {e}"))
        .collect()
    };
    let first_run = missing("run");
    assert!(first_run.is_empty(), "{first_run:#?}");
    let first = env.pid("web");
    kill_9(first);
    within_patience(|| {
        let info = env.inspect("web");
        let pid = info["State"]["Pid"].as_i64().unwrap_or(0) as i32;
        (info["State"]["Status"] == "running" && pid > 0 && pid != first).then_some(())
    })
    .unwrap_or_else(|| panic!("no restart after kill -9: {:#}", env.inspect("web")));
    let restarted = missing("restart");
    assert!(
        restarted.is_empty(),
        "FINDING: the restart did not restore: {restarted:#?}"
    );

    env.ok(&["rm", "-f", "web"]);
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
    let rules = env.lab().sh_ok("iptables -t nat -S");
    assert!(
        !rules.lines().any(|l| l.contains("-j DNAT")),
        "a DNAT rule outlived rm -f:\n{rules}"
    );
    let only_eth0 = || {
        let veths = env.lab().sh_ok("ip -o link show type veth");
        veths.lines().all(|l| l.contains(" eth0@")).then_some(())
    };
    assert!(
        testkit::eventually(500, only_eth0).is_some(),
        "a veth outlived rm -f:\n{}",
        env.lab().sh_ok("ip -o link show type veth")
    );
    assert!(testkit::host_mounts_containing(&id).is_empty());
}
