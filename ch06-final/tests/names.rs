//! Names on a network, privileged, inside a network lab: containers on one
//! network find each other by name, `--network-alias` and `--hostname`
//! (chapter 5's hosts files, kept up to date as containers come and go),
//! not across networks, and a removed container's name stops resolving.
//! `--add-host` and `--dns` write what Docker writes.
//!
//! "Resolves" is checked with busybox `ping -c1`: it looks the name up
//! through `/etc/hosts` and says `bad address` when it finds nothing; the
//! ping itself stays on the lab's bridge.

mod common;

use common::{Env, stderr, stdout};

/// Two networks in the lab.
const NET_A: (&str, &str) = ("front", "192.168.50.1/24");
const NET_B: (&str, &str) = ("back", "192.168.51.1/24");

/// A lab with the two networks.
fn lab(test: &str) -> Option<Env> {
    if !testkit::require_root(test) {
        return None;
    }
    let env = Env::in_lab();
    for (name, subnet) in [NET_A, NET_B] {
        env.ok(&["network", "create", "--subnet", subnet, name]);
    }
    Some(env)
}

/// Whether `name` resolves in container `from` (through `exec`), and the
/// address it resolved to.
fn lookup(env: &Env, from: &str, name: &str) -> Result<String, String> {
    let out = env.md(&["exec", from, "ping", "-c1", "-W1", name]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    // "PING db (192.168.50.2): 56 data bytes"
    match text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("PING {name} (")))
    {
        Some(rest) => Ok(rest.split(')').next().unwrap_or_default().to_string()),
        None => Err(text),
    }
}

/// Name, alias and hostname resolve on the same network, to the container's
/// address; a container on another network is not found; after `rm` the
/// name is gone from a container that was already running.
#[test]
fn containers_find_each_other_by_name_on_their_network_only() {
    let Some(env) = lab("containers_find_each_other_by_name_on_their_network_only") else {
        return;
    };
    let sleep = ["busybox", "sleep", "300"];
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&sleep);
        env.ok(&args);
    };
    run("client", &["--network", NET_A.0]);
    run(
        "db",
        &[
            "--network",
            NET_A.0,
            "--network-alias",
            "database",
            "--hostname",
            "dbhost",
        ],
    );
    run("elsewhere", &["--network", NET_B.0]);
    let db_ip = env.inspect("db")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(db_ip.starts_with("192.168.50."), "db's address: {db_ip}");

    // The client started first: db's names were added to its file later.
    for name in ["db", "database", "dbhost"] {
        assert_eq!(lookup(&env, "client", name), Ok(db_ip.clone()), "{name}");
    }
    // And db knows the client, which was there before it.
    assert!(lookup(&env, "db", "client").is_ok());
    // Not across networks, in either direction.
    assert!(lookup(&env, "client", "elsewhere").is_err());
    assert!(lookup(&env, "elsewhere", "db").is_err());

    env.ok(&["rm", "-f", "db"]);
    let gone = lookup(&env, "client", "db");
    assert!(
        gone.as_ref().is_err_and(|t| t.contains("bad address")),
        "db still resolves after rm: {gone:?}"
    );
    let hosts = env.ok(&["exec", "client", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("database"), "{hosts}");
}

/// `--add-host` lines (one with `host-gateway`, the network's gateway) and
/// `--dns` servers, as Docker writes them; `port` lists the published ports; an alias without a network is
/// refused with Docker's exit code before anything is made.
#[test]
fn add_host_and_dns_are_written_as_docker_does() {
    let Some(env) = lab("add_host_and_dns_are_written_as_docker_does") else {
        return;
    };
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        NET_A.0,
        "--add-host",
        "db.example:10.0.0.9",
        "--add-host",
        "host.docker.internal:host-gateway",
        "--dns",
        "198.51.100.53",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf",
    ]);
    assert!(out.contains("10.0.0.9\tdb.example\n"), "{out}");
    assert!(
        out.contains("192.168.50.1\thost.docker.internal\n"),
        "{out}"
    );
    assert!(out.contains("nameserver 198.51.100.53\n"), "{out}");

    // `port`: the published ports of a running container, as Docker lists them.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        NET_A.0,
        "-p",
        "8080:80",
        "-p",
        "198.51.100.2:5353:53/udp",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(
        env.ok(&["port", "web"]),
        "80/tcp -> 0.0.0.0:8080\n53/udp -> 198.51.100.2:5353\n"
    );
    assert_eq!(env.ok(&["port", "web", "80"]), "0.0.0.0:8080\n");
    assert_eq!(env.md(&["port", "web", "81"]).status.code(), Some(1));
    env.ok(&["rm", "-f", "web"]);

    let refused = env.md(&["run", "--rm", "--network-alias", "x", "busybox", "true"]);
    assert_eq!(refused.status.code(), Some(125), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("needs a network"),
        "{}",
        stderr(&refused)
    );
    assert!(env.ids().is_empty(), "a refused run left a container");
}
