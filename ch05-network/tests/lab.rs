//! Chapter 5's privileged tests. Each one builds its own network lab (a
//! namespace standing for the host, another for the internet), runs
//! `ch05-network` inside it with `ip netns exec`, and looks at the effects
//! from outside: addresses, pings, answers through published ports, links,
//! rules and records left behind. Nothing happens in the machine's own
//! network namespace.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};

use testkit::DataRoot;
use testkit::lab::{INET_ADDR, LAB_ADDR, Lab};

/// A lab, a data root, and the binary.
struct Fixture {
    lab: Lab,
    root: DataRoot,
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Fixture {
    /// A lab and a data root with the busybox image imported.
    fn new() -> Fixture {
        let f = Fixture {
            lab: Lab::new(),
            root: DataRoot::new(),
            bin: assert_cmd::cargo::cargo_bin!("ch05-network").to_path_buf(),
            env: Vec::new(),
        };
        let tar = testkit::busybox_tar();
        let out = Command::new(&f.bin)
            .arg("--root")
            .arg(f.root.path())
            .arg("import")
            .arg(&tar)
            .arg("busybox")
            .output()
            .expect("import busybox");
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        f
    }

    fn with_env(mut self, key: &str, value: &str) -> Fixture {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `ch05-network --root ROOT ARGS...`, inside the lab.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.lab.command(&self.bin);
        cmd.arg("--root").arg(self.root.path()).args(args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn md(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ch05-network")
    }

    fn md_ok(&self, args: &[&str]) -> String {
        let out = self.md(args);
        assert!(
            out.status.success(),
            "ch05-network {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `run ARGS...` whose command prints one line once it runs (the
    /// network is wired by then: attach happens before the command starts)
    /// and then waits for its standard input to close.
    fn start(&self, args: &[&str]) -> Ctr {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ch05-network run");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut first)
            .expect("read the container's first line");
        if first.is_empty() {
            let out = child.wait_with_output().expect("wait");
            panic!(
                "run {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pid = testkit::eventually(250, || {
            let kids = testkit::children_of(child.id());
            (kids.len() == 1).then(|| kids[0])
        })
        .expect("the container process");
        Ctr {
            stdin: child.stdin.take(),
            child,
            pid,
        }
    }

    /// The lab's interfaces, rules, and the network records of the data
    /// root. Container records are left out: since chapter 4 they stay after
    /// a container exits, until `rm`. Its network files must not.
    fn state(&self) -> LabState {
        let containers = self.root.path().join("containers");
        let network_files = files_in(&containers)
            .iter()
            .flat_map(|id| files_in(&containers.join(id).join("etc")))
            .collect();
        LabState {
            links: self.lab.links(),
            rules: self.lab.rules(),
            endpoints: files_in(&self.root.path().join("networks/endpoints")),
            network_files,
        }
    }

    fn network_dir(&self) -> PathBuf {
        self.root.path().join("networks")
    }

    /// The addresses the IPAM record of `network` hands out.
    fn allocations(&self, network: &str) -> Vec<String> {
        let path = self
            .network_dir()
            .join("ipam")
            .join(format!("{network}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json: serde_json::Value = serde_json::from_str(&text).expect("ipam json");
        json["allocations"]
            .as_object()
            .expect("allocations")
            .keys()
            .cloned()
            .collect()
    }
}

#[derive(Debug, PartialEq)]
struct LabState {
    links: Vec<String>,
    rules: String,
    endpoints: Vec<String>,
    network_files: Vec<String>,
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A running container.
struct Ctr {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
}

impl Ctr {
    /// Runs a shell script of the host in the container's network namespace
    /// (the seed FAQ's `nsenter -t PID -n`).
    fn net(&self, script: &str) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.pid.to_string(), "-n", "/bin/sh", "-c", script])
            .output()
            .expect("nsenter")
    }

    fn net_ok(&self, script: &str) -> String {
        let out = self.net(script);
        assert!(
            out.status.success(),
            "in container {}: {script}: {}{}",
            self.pid,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Reads a file in the container's mount namespace.
    fn read(&self, path: &str) -> String {
        let out = Command::new("nsenter")
            .args(["-t", &self.pid.to_string(), "-m", "-r", "cat", path])
            .output()
            .expect("nsenter");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn address(&self) -> String {
        address_of(&self.net_ok("ip -4 -o addr show dev eth0"))
    }

    fn pings(&self, ip: &str) -> bool {
        self.net(&format!("busybox ping -c1 -W2 {ip}"))
            .status
            .success()
    }

    /// Lets the command finish (its standard input closes) and waits.
    fn finish(mut self) -> ExitStatus {
        drop(self.stdin.take());
        self.child.wait().expect("wait for run")
    }

    /// Kills the container and waits for `run` to clean up.
    fn kill(mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        self.child.wait().expect("wait for run")
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // The container lives in its own namespaces, outside the lab:
            // deleting the lab would not stop it.
            let _ = Command::new("kill")
                .args(["-9", &self.pid.to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// `192.168.10.2` from `ip -4 -o addr` output.
fn address_of(ip_output: &str) -> String {
    let word = ip_output
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {ip_output:?}"));
    word.split('/').next().unwrap_or(word).to_string()
}

/// A container that answers every TCP connection on `port` with `reply`.
fn server(port: u16, reply: &str) -> String {
    format!("echo ready; exec busybox nc -ll -p {port} -e /bin/busybox echo {reply}")
}

/// A container that says its address, then waits for its stdin to close.
const SAY_ADDRESS_AND_WAIT: &str = "ip -4 -o addr show dev eth0; read line || true";

/// A container that says "ready", then waits for its stdin to close.
const WAIT: &str = "echo ready; read line || true";

/// Connects with busybox nc from `run` (a lab, internet or container shell)
/// and returns what the server said. Retries a little: the server container
/// prints "ready" just before its `nc` listens.
fn fetch(run: impl Fn(&str) -> Output, ip: &str, port: u16) -> String {
    let script = format!("busybox nc -w 2 {ip} {port} </dev/null");
    for _ in 0..10 {
        let out = run(&script);
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !text.is_empty() {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    String::new()
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

// ANCHOR: seed_scenario
/// Acceptance 1 and 3: the seed README's scenario, then nothing left.
#[test]
fn the_seed_scenario_in_a_lab() {
    if !testkit::require_root("the_seed_scenario_in_a_lab") {
        return;
    }
    let f = Fixture::new();
    let before = f.state();

    f.md_ok(&[
        "network",
        "create",
        "--driver",
        "bridge",
        "--subnet",
        "192.168.10.1/24",
        "testbridge",
    ]);
    let d1 = f.start(&[
        "run",
        "-net",
        "testbridge",
        "-p",
        "81:81",
        "--hostname",
        "d1",
        "busybox",
        "sh",
        "-c",
        &server(81, "hello-from-d1"),
    ]);
    let d2 = f.start(&[
        "run",
        "-net",
        "testbridge",
        "-p",
        "82:82",
        "--hostname",
        "d2",
        "busybox",
        "sh",
        "-c",
        WAIT,
    ]);

    assert_eq!(d1.address(), "192.168.10.2");
    assert_eq!(d2.address(), "192.168.10.3");
    assert_eq!(
        f.allocations("testbridge"),
        ["192.168.10.2", "192.168.10.3"]
    );

    // The two containers reach each other over the bridge...
    assert!(d1.pings("192.168.10.3"), "d1 cannot ping d2");
    assert!(d2.pings("192.168.10.2"), "d2 cannot ping d1");
    // ...and the internet through the host's NAT.
    assert!(d1.pings(INET_ADDR), "d1 cannot reach the internet");
    assert!(d2.pings(INET_ADDR), "d2 cannot reach the internet");

    // The published port: from the host, at the bridge's address and at its
    // own uplink address (OUTPUT DNAT)...
    assert_eq!(fetch(|s| f.lab.sh(s), "192.168.10.1", 81), "hello-from-d1");
    assert_eq!(fetch(|s| f.lab.sh(s), LAB_ADDR, 81), "hello-from-d1");
    // ...from the internet (PREROUTING DNAT)...
    assert_eq!(fetch(|s| f.lab.inet_sh(s), LAB_ADDR, 81), "hello-from-d1");
    // ...and from the other container through the host's address (hairpin).
    assert_eq!(fetch(|s| d2.net(s), LAB_ADDR, 81), "hello-from-d1");

    // The FAQ's routing table, with eth0 where the seed had cif-XXXXX.
    insta::assert_snapshot!("route_n_in_d1", d1.net_ok("busybox route -n"));
    let hosts = d1.read("/etc/hosts");
    assert!(hosts.contains("192.168.10.2\td1 "), "{hosts}");
    assert_eq!(d1.read("/etc/hostname"), "d1\n");
    assert_eq!(f.lab.sh_ok("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");

    // Teardown: the containers exit, then the network goes.
    assert_eq!(d1.kill().code(), Some(137));
    assert_eq!(d2.kill().code(), Some(137));
    assert!(f.allocations("testbridge").is_empty());
    let links = f.lab.links();
    assert!(links.iter().all(|l| !l.starts_with("veth")), "{links:?}");
    f.md_ok(&["network", "rm", "testbridge"]);
    assert_eq!(f.state(), before);
    assert!(!f.network_dir().join("testbridge.json").exists());
    assert!(!f.network_dir().join("ipam/testbridge.json").exists());
    assert_eq!(f.md_ok(&["network", "ls", "-q"]), "");
}
// ANCHOR_END: seed_scenario

// ANCHOR: faq
/// Acceptance 2: the FAQ. With a FORWARD policy of DROP and bridged frames
/// passing through iptables, containers only reach each other because of
/// mydocker's FORWARD rules.
#[test]
fn forward_drop_needs_the_faq_rules() {
    if !testkit::require_root("forward_drop_needs_the_faq_rules") {
        return;
    }
    testkit::lab::need_br_netfilter();
    let f = Fixture::new();
    f.lab
        .sh_ok("iptables -P FORWARD DROP && sysctl -qw net.bridge.bridge-nf-call-iptables=1");
    f.md_ok(&[
        "network",
        "create",
        "--subnet",
        "192.168.10.0/24",
        "testbridge",
    ]);
    let d1 = f.start(&[
        "run",
        "--network",
        "testbridge",
        "busybox",
        "sh",
        "-c",
        WAIT,
    ]);
    let d2 = f.start(&[
        "run",
        "--network",
        "testbridge",
        "busybox",
        "sh",
        "-c",
        WAIT,
    ]);

    assert!(d1.pings("192.168.10.3"), "with the rules, d1 reaches d2");
    assert!(
        d1.pings(INET_ADDR),
        "with the rules, d1 reaches the internet"
    );

    f.lab.sh_ok("iptables -F MYDOCKER-FORWARD");
    assert!(
        !d1.pings("192.168.10.3"),
        "without the rules, d1 still reaches d2"
    );
    assert!(
        !d1.pings(INET_ADDR),
        "without the rules, d1 still reaches the internet"
    );

    // Any change rewrites mydocker's chains from its records: a third
    // container puts the rules back.
    let d3 = f.md_ok(&["run", "--network", "testbridge", "busybox", "echo", "ready"]);
    assert_eq!(d3, "ready\n");
    assert!(
        d1.pings("192.168.10.3"),
        "the rules are back, d1 reaches d2 again"
    );
    assert!(d2.pings("192.168.10.2"));
    assert_eq!(d1.finish().code(), Some(0));
    assert_eq!(d2.finish().code(), Some(0));
    f.md_ok(&["network", "rm", "testbridge"]);
}
// ANCHOR_END: faq

/// Acceptance 4: twenty `run --net` at once, twenty addresses, all released.
#[test]
fn twenty_at_once() {
    if !testkit::require_root("twenty_at_once") {
        return;
    }
    let f = Fixture::new();
    let before = f.state();
    f.md_ok(&["network", "create", "--subnet", "172.29.0.0/16", "many"]);
    // All twenty are started before the first one is waited for.
    let mut children: Vec<Child> = (0..20)
        .map(|_| {
            f.command(&[
                "run",
                "--net",
                "many",
                "busybox",
                "sh",
                "-c",
                SAY_ADDRESS_AND_WAIT,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn run")
        })
        .collect();
    let mut addresses = BTreeSet::new();
    for child in &mut children {
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        if line.is_empty() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut err).ok();
            panic!("a run failed: {err}");
        }
        addresses.insert(address_of(&line));
    }
    let want: BTreeSet<String> = (2..22).map(|i| format!("172.29.0.{i}")).collect();
    assert_eq!(addresses, want, "twenty different addresses, in order");
    assert_eq!(f.allocations("many").len(), 20);
    for child in &mut children {
        drop(child.stdin.take());
    }
    for mut child in children {
        let out = child.wait().expect("wait");
        assert!(out.success());
    }
    assert!(
        f.allocations("many").is_empty(),
        "every address is released"
    );
    assert!(files_in(&f.network_dir().join("endpoints")).is_empty());
    f.md_ok(&["network", "rm", "many"]);
    assert_eq!(f.state(), before);
}

// ANCHOR: bad_input
/// Acceptance 5: bad input is one line on stderr, exit 125, and changes
/// nothing.
#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    if !testkit::require_root("bad_input_is_refused_and_leaves_nothing") {
        return;
    }
    let f = Fixture::new();
    let fresh = f.state();
    let refused = |args: &[&str], why: &str| {
        let before = f.state();
        let out = f.md(args);
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {lines:?}");
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(lines[0].contains(why), "{args:?}: {lines:?}");
        assert_eq!(f.state(), before, "{args:?} left something behind");
    };

    refused(
        &["network", "create", "--subnet", "192.168.10.300/24", "x"],
        "invalid subnet",
    );
    refused(
        &["network", "create", "--subnet", "10.0.0.0/31", "x"],
        "between /8 and /30",
    );
    refused(
        &["run", "--net", "testbridge", "busybox", "true"],
        "network testbridge not found",
    );
    refused(
        &["network", "rm", "testbridge"],
        "network testbridge not found",
    );

    f.md_ok(&[
        "network",
        "create",
        "--subnet",
        "192.168.10.1/24",
        "testbridge",
    ]);
    refused(
        &[
            "network",
            "create",
            "--subnet",
            "192.168.10.128/25",
            "other",
        ],
        "overlaps with network testbridge",
    );
    refused(
        &["network", "create", "--subnet", "192.168.0.0/16", "other"],
        "overlaps with network testbridge",
    );
    refused(
        &[
            "network",
            "create",
            "--subnet",
            "192.168.20.1/24",
            "testbridge",
        ],
        "already exists",
    );
    refused(
        &["network", "create", "--subnet", "192.168.30.1/24", "eth0"],
        "interface eth0 already exists",
    );
    refused(
        &["run", "--net", "nope", "busybox", "true"],
        "network nope not found",
    );
    refused(
        &["run", "--net", "testbridge", "-p", "81", "busybox", "true"],
        "a host port is required",
    );
    refused(
        &["run", "-p", "81:81", "busybox", "true"],
        "needs a network",
    );

    let d1 = f.start(&[
        "run",
        "--net",
        "testbridge",
        "-p",
        "81:81",
        "busybox",
        "sh",
        "-c",
        WAIT,
    ]);
    refused(
        &[
            "run",
            "--net",
            "testbridge",
            "-p",
            "81:81",
            "busybox",
            "true",
        ],
        "already published by container",
    );
    refused(
        &[
            "run",
            "--net",
            "testbridge",
            "-p",
            "82:82",
            "-p",
            &format!("{LAB_ADDR}:81:80"),
            "busybox",
            "true",
        ],
        "already published",
    );
    refused(
        &[
            "run",
            "--net",
            "testbridge",
            "-p",
            "83:83",
            "-p",
            "83:84",
            "busybox",
            "true",
        ],
        "published twice",
    );
    refused(
        &[
            "run",
            "--net",
            "testbridge",
            "-p",
            "203.0.113.9:84:84",
            "busybox",
            "true",
        ],
        "not available",
    );
    refused(&["network", "rm", "testbridge"], "in use by container");
    assert!(d1.finish().success());

    f.md_ok(&["network", "rm", "testbridge"]);
    assert_eq!(f.state(), fresh);
}
// ANCHOR_END: bad_input

// ANCHOR: failure_after_veth
/// Acceptance 5, last line: a failure after the veth pair exists undoes
/// everything. A fake `iptables-save` fails on purpose, after noting which
/// links existed at that moment.
#[test]
fn a_failure_after_the_veth_undoes_everything() {
    if !testkit::require_root("a_failure_after_the_veth_undoes_everything") {
        return;
    }
    let fake_dir = tempfile::tempdir().expect("tempdir");
    let seen = fake_dir.path().join("links-at-failure");
    let fake = fake_dir.path().join("fake-iptables");
    let save = fake_dir.path().join("fake-iptables-save");
    std::fs::write(
        &save,
        format!(
            "#!/bin/sh\n(echo ---; ip -o link show) >> {}\necho 'fake-iptables-save: failing on purpose' >&2\nexit 1\n",
            seen.display()
        ),
    )
    .expect("write the fake");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&save)
        .status()
        .expect("chmod");

    let f = Fixture::new();
    f.md_ok(&[
        "network",
        "create",
        "--subnet",
        "192.168.10.1/24",
        "testbridge",
    ]);
    let before = f.state();
    let allocated = f.allocations("testbridge");

    let mut cmd = f.command(&[
        "run",
        "--net",
        "testbridge",
        "-p",
        "81:81",
        "busybox",
        "true",
    ]);
    cmd.env("MYDOCKER_IPTABLES", &fake);
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failing on purpose"));

    // The first call is the attach step's; the cleanup calls it again.
    let calls = std::fs::read_to_string(&seen).expect("the fake ran");
    let at_failure = calls.split("---\n").nth(1).unwrap_or_default();
    assert!(
        at_failure.contains(": veth"),
        "the veth existed when it failed: {calls}"
    );
    assert_eq!(f.state(), before, "the failed run left something behind");
    assert_eq!(f.allocations("testbridge"), allocated);
    f.md_ok(&["network", "rm", "testbridge"]);
}
// ANCHOR_END: failure_after_veth

/// Every `-p` is applied, and everything works with the legacy iptables
/// backend too.
#[test]
fn several_ports_with_iptables_legacy() {
    if !testkit::require_root("several_ports_with_iptables_legacy") {
        return;
    }
    let f = Fixture::new().with_env("MYDOCKER_IPTABLES", "iptables-legacy");
    let legacy_rules = || {
        f.lab
            .sh_ok("iptables-legacy -S && iptables-legacy -t nat -S")
    };
    let before = (f.state(), legacy_rules());
    f.md_ok(&["network", "create", "--subnet", "10.88.0.1/24", "legacy"]);
    let web = f.start(&[
        "run",
        "--net",
        "legacy",
        "-p",
        "8080:80",
        "-p",
        &format!("{LAB_ADDR}:8081:80"),
        "-p",
        "8082:80/tcp",
        "busybox",
        "sh",
        "-c",
        &server(80, "hello-from-web"),
    ]);
    assert_eq!(web.address(), "10.88.0.2");
    let nat = f.lab.sh_ok("iptables-legacy -t nat -S MYDOCKER");
    assert_eq!(nat.matches("-j DNAT").count(), 3, "{nat}");
    for port in [8080, 8081, 8082] {
        assert_eq!(
            fetch(|s| f.lab.inet_sh(s), LAB_ADDR, port),
            "hello-from-web",
            "port {port}"
        );
    }
    // 8081 is only published on the uplink address, not on the bridge's.
    assert_eq!(fetch(|s| f.lab.sh(s), "10.88.0.1", 8080), "hello-from-web");
    assert!(
        f.lab
            .sh("busybox nc -w 1 10.88.0.1 8081 </dev/null")
            .stdout
            .is_empty()
    );
    assert_eq!(web.kill().code(), Some(137));
    f.md_ok(&["network", "rm", "legacy"]);
    assert_eq!((f.state(), legacy_rules()), before);
}

/// Without a network the container still gets `lo` up, its own files, and
/// nothing else; `--dns` goes into resolv.conf.
#[test]
fn no_network_and_dns() {
    if !testkit::require_root("no_network_and_dns") {
        return;
    }
    let f = Fixture::new();
    let before = f.state();
    let c = f.start(&[
        "run",
        "--hostname",
        "alone",
        "--dns",
        INET_ADDR,
        "busybox",
        "sh",
        "-c",
        WAIT,
    ]);
    let links = c.net_ok("ip -o link show");
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo:") && links.contains(",UP"), "{links}");
    let resolv = c.read("/etc/resolv.conf");
    assert!(
        resolv.starts_with(&format!("nameserver {INET_ADDR}\n")),
        "{resolv}"
    );
    assert_eq!(resolv.matches("nameserver").count(), 1, "{resolv}");
    let hosts = c.read("/etc/hosts");
    assert!(
        hosts.starts_with("127.0.0.1\tlocalhost\n") && !hosts.contains("alone"),
        "{hosts}"
    );
    assert!(c.finish().success());
    assert_eq!(f.state(), before);
}

/// Creates `testbridge`, starts a container with a published port on it,
/// then kills its `run` process and the container, so that nobody cleans up
/// (what a crash of mydocker leaves). Returns the state before the
/// container, and its id.
fn crashed_run(f: &Fixture) -> (LabState, String) {
    f.md_ok(&[
        "network",
        "create",
        "--subnet",
        "192.168.10.1/24",
        "testbridge",
    ]);
    let before = f.state();
    let mut c = f.start(&[
        "run",
        "--net",
        "testbridge",
        "-p",
        "81:81",
        "busybox",
        "sh",
        "-c",
        WAIT,
    ]);
    let id = files_in(&f.network_dir().join("endpoints"))
        .pop()
        .expect("an endpoint")
        .trim_end_matches(".json")
        .to_string();
    // The run process dies first, then its container: nobody cleans up.
    c.child.kill().expect("kill run");
    c.child.wait().expect("wait for run");
    let _ = Command::new("kill")
        .args(["-9", &c.pid.to_string()])
        .status();
    testkit::eventually(250, || {
        (!Path::new(&format!("/proc/{}", c.pid)).exists()).then_some(())
    })
    .expect("the container is gone");
    assert_eq!(
        f.allocations("testbridge").len(),
        1,
        "the address is still held"
    );
    assert!(f.lab.rules().contains("--dport 81"));
    (before, id)
}

/// True while container `id`'s cgroup exists.
fn cgroup_exists(id: &str) -> bool {
    ch02_cgroups::Cgroups::for_container("mydocker", id)
        .map(|cgroups| cgroups.paths().iter().any(|p| p.exists()))
        .unwrap_or(false)
}

/// `release_container` cleans up after a `run` that died without cleaning
/// up (what chapter 6 does after a crash).
#[test]
fn release_after_a_crash() {
    if !testkit::require_root("release_after_a_crash") {
        return;
    }
    let f = Fixture::new();
    let (before, id) = crashed_run(&f);
    // Its cgroup too is left over; `rm` removes it (the next test), here
    // the test does, so the machine keeps nothing.
    ch02_cgroups::Cgroups::for_container("mydocker", &id)
        .and_then(|mut cgroups| cgroups.destroy())
        .expect("remove the dead container's cgroup");

    f.md_ok(&["release-network", &id]);
    f.md_ok(&["release-network", &id]);
    // The container's own files belong to chapter 6's crash handling.
    let mut after = f.state();
    after.network_files.clear();
    assert_eq!(after, before);
    assert!(f.allocations("testbridge").is_empty());
    f.md_ok(&["network", "rm", "testbridge"]);
}

/// Chapter 5's `rm` is chapter 4's, with the network's release added: after
/// a crash it releases the cgroup, the address, the veth and the rules, and
/// removes the record.
#[test]
fn rm_after_a_crash_releases_the_cgroup_and_the_network() {
    if !testkit::require_root("rm_after_a_crash_releases_the_cgroup_and_the_network") {
        return;
    }
    let f = Fixture::new();
    let (before, id) = crashed_run(&f);
    assert!(
        cgroup_exists(&id),
        "the dead container's cgroup is left over"
    );

    f.md_ok(&["rm", &id]);
    assert!(!cgroup_exists(&id), "rm removed the cgroup");
    assert!(f.allocations("testbridge").is_empty());
    assert!(!f.lab.rules().contains("--dport 81"));
    assert!(!f.root.path().join("containers").join(&id).exists());
    let after = f.state();
    assert_eq!(after, before);
    f.md_ok(&["network", "rm", "testbridge"]);
}
