//! The container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`.
//!
//! A container must not share these with the host: its name and address
//! are its own, and a name server the host reaches over loopback (such as
//! systemd-resolved's `127.0.0.53`) does not exist in the container's network
//! namespace. mydocker writes the three files into a directory of the
//! container's state, and the root filesystem code bind-mounts each one over
//! the image's file, as Docker does.

use std::fs;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The files, as (name in the state directory, path inside the container).
pub const FILES: [(&str, &str); 3] = [
    ("hostname", "/etc/hostname"),
    ("hosts", "/etc/hosts"),
    ("resolv.conf", "/etc/resolv.conf"),
];

// ANCHOR: hosts
/// `/etc/hosts`: loopback names, then the container's address with its
/// hostname and any other names (its container name), then the lines of
/// `--add-host` (`extra`). On a network, [`crate::names`] appends the
/// other containers below.
pub fn hosts(
    hostname: &str,
    aliases: &[String],
    address: Option<Ipv4Addr>,
    extra: &[(IpAddr, String)],
) -> String {
    let mut text = String::from(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    if let Some(address) = address {
        let mut names = vec![hostname];
        names.extend(
            aliases
                .iter()
                .map(String::as_str)
                .filter(|a| *a != hostname),
        );
        text.push_str(&format!("{address}\t{}\n", names.join(" ")));
    }
    for (ip, name) in extra {
        text.push_str(&format!("{ip}\t{name}\n"));
    }
    text
}
// ANCHOR_END: hosts

/// Where systemd-resolved lists the upstream servers that its loopback stub
/// (`127.0.0.53`, the only server in `/etc/resolv.conf`) forwards to.
pub const RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";

/// The name servers a container uses when the host has none it can reach:
/// Docker's fallback, Google's public resolvers.
pub const FALLBACK_SERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

// ANCHOR: resolv_conf
/// A container's `/etc/resolv.conf`, and how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// The file's text.
    pub text: String,
    /// No server of the host's was usable, so [`FALLBACK_SERVERS`] are in it.
    pub fell_back: bool,
}

/// `/etc/resolv.conf` for a container on a network, from the host's file
/// `host` and, if it exists, systemd-resolved's upstream list `upstream`.
///
/// The `--dns` servers win if any were given. Otherwise the host's servers
/// are kept except the loopback ones (`127.0.0.53`, `127.0.0.1`, `::1`):
/// the container's loopback is its own, nobody answers there. If that
/// leaves none, the servers of `upstream` are used (a host running
/// systemd-resolved names only its stub in `/etc/resolv.conf`), and if
/// there are none either, [`FALLBACK_SERVERS`]. The host's `search`,
/// `domain` and `options` lines are kept as they are; comments are not.
pub fn resolv_conf(host: &str, upstream: Option<&str>, dns: &[IpAddr]) -> ResolvConf {
    let (mut servers, other) = split_resolv_conf(host);
    if !dns.is_empty() {
        servers = dns.iter().map(IpAddr::to_string).collect();
    }
    if servers.is_empty() {
        servers = upstream.map(|u| split_resolv_conf(u).0).unwrap_or_default();
    }
    let fell_back = servers.is_empty();
    if fell_back {
        servers = FALLBACK_SERVERS.iter().map(|s| s.to_string()).collect();
    }
    let mut text = String::new();
    for server in servers {
        text.push_str(&format!("nameserver {server}\n"));
    }
    for line in other {
        text.push_str(&line);
        text.push('\n');
    }
    ResolvConf { text, fell_back }
}

/// Splits a `resolv.conf` into its usable name servers (addresses that are
/// not loopback) and its other settings, comments and blank lines left out.
fn split_resolv_conf(text: &str) -> (Vec<String>, Vec<String>) {
    let mut servers = Vec::new();
    let mut other = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["nameserver", server, ..] => {
                // An address that does not parse (`fe80::1%eth0`, a link-local
                // one with its interface) is not reachable from a container either.
                let usable = server.parse::<IpAddr>().is_ok_and(|ip| !ip.is_loopback());
                if usable {
                    servers.push(server.to_string());
                }
            }
            [first, ..] if first.starts_with('#') || first.starts_with(';') => {}
            [] => {}
            _ => other.push(line.trim().to_string()),
        }
    }
    (servers, other)
}
// ANCHOR_END: resolv_conf

/// Reads `path`, `None` if it does not exist.
fn read_if_exists(path: &str) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {path}")),
    }
}

/// The container's `/etc/resolv.conf` from this host's files. Without a
/// network (`address` is `None`) and without `--dns`, the container gets
/// the host's file unchanged: it reaches no server anyway, and that is
/// what it was asked for. With a network, [`resolv_conf`] makes it, and a
/// fallback to public servers is said on stderr.
fn container_resolv_conf(address: Option<Ipv4Addr>, dns: &[IpAddr]) -> Result<String> {
    let host = read_if_exists("/etc/resolv.conf")?.unwrap_or_default();
    if address.is_none() && dns.is_empty() {
        return Ok(host);
    }
    let upstream = read_if_exists(RESOLVED_UPSTREAM)?;
    let made = resolv_conf(&host, upstream.as_deref(), dns);
    if made.fell_back {
        eprintln!(
            "warning: the host's /etc/resolv.conf has no name server a container can reach \
             (loopback ones are dropped) and there is no {RESOLVED_UPSTREAM}: \
             using {} (or pass --dns)",
            FALLBACK_SERVERS.join(" and ")
        );
    }
    Ok(made.text)
}

/// Writes the three files into `dir` (created if needed) and returns, for
/// each, its path on the host and its path inside the container.
pub fn write_files(
    dir: &Path,
    hostname: &str,
    aliases: &[String],
    address: Option<Ipv4Addr>,
    dns: &[IpAddr],
    extra: &[(IpAddr, String)],
) -> Result<Vec<(PathBuf, &'static str)>> {
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let contents = [
        format!("{hostname}\n"),
        hosts(hostname, aliases, address, extra),
        container_resolv_conf(address, dns)?,
    ];
    let mut out = Vec::new();
    for ((name, inside), text) in FILES.iter().zip(contents) {
        let path = dir.join(name);
        fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        out.push((path, *inside));
    }
    Ok(out)
}

/// Removes the files [`write_files`] wrote (missing ones are fine) and `dir`
/// itself if that leaves it empty.
pub fn remove_files(dir: &Path) -> Result<()> {
    for (name, _) in FILES {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("remove {}", path.display()));
            }
            _ => {}
        }
    }
    // Fails, harmlessly, when the caller keeps other files there.
    let _ = fs::remove_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_names_the_container() {
        let text = hosts(
            "d1",
            &["web".into(), "d1".into()],
            Some("192.168.10.2".parse().unwrap()),
            &[("10.0.0.9".parse().unwrap(), "db".into())],
        );
        insta::assert_snapshot!(text);
        assert!(!hosts("d1", &[], None, &[]).contains("d1"));
    }

    #[test]
    fn resolv_conf_drops_loopback_and_keeps_search() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch lan\noptions edns0\n";
        let made = resolv_conf(host, None, &[]);
        assert_eq!(
            made.text,
            "nameserver 10.255.255.53\nsearch lan\noptions edns0\n"
        );
        assert!(!made.fell_back);
        // An upstream list is not needed when the host's file has a server.
        assert_eq!(resolv_conf(host, Some("nameserver 10.0.0.1\n"), &[]), made);
    }

    #[test]
    fn dns_servers_replace_the_hosts() {
        let host = "nameserver 127.0.0.53\nsearch lan\n";
        let dns = ["198.51.100.1".parse().unwrap()];
        let made = resolv_conf(host, None, &dns);
        assert_eq!(made.text, "nameserver 198.51.100.1\nsearch lan\n");
        assert!(!made.fell_back);
    }

    #[test]
    fn systemd_resolved_stub_uses_the_upstream_list() {
        // What systemd-resolved writes: its stub, then the real servers.
        let stub = "# This is /run/systemd/resolve/stub-resolv.conf\n\
                    nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
        let upstream = "# This is /run/systemd/resolve/resolv.conf\n\
                        nameserver 10.1.2.3\nnameserver 2001:db8::53\nsearch lan\n";
        let made = resolv_conf(stub, Some(upstream), &[]);
        assert_eq!(
            made.text,
            "nameserver 10.1.2.3\nnameserver 2001:db8::53\noptions edns0 trust-ad\nsearch lan\n"
        );
        assert!(!made.fell_back);
    }

    #[test]
    fn only_loopback_falls_back_to_public_servers() {
        let host =
            "nameserver 127.0.0.1\nnameserver ::1\nnameserver fe80::1%eth0\noptions ndots:2\n";
        let made = resolv_conf(host, None, &[]);
        assert_eq!(
            made.text,
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions ndots:2\n"
        );
        assert!(made.fell_back);
        // So does an upstream list that has nothing usable, and no file at all.
        assert!(resolv_conf(host, Some("nameserver 127.0.0.1\n"), &[]).fell_back);
        let empty = resolv_conf("", None, &[]);
        assert_eq!(empty.text, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        assert!(empty.fell_back);
    }

    #[test]
    fn files_are_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("net");
        let files = write_files(
            &sub,
            "box",
            &[],
            Some("10.0.0.2".parse().unwrap()),
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(fs::read_to_string(sub.join("hostname")).unwrap(), "box\n");
        assert!(
            fs::read_to_string(sub.join("hosts"))
                .unwrap()
                .contains("10.0.0.2\tbox\n")
        );
        remove_files(&sub).unwrap();
        assert!(!sub.exists());
        remove_files(&sub).unwrap();
    }

    #[test]
    fn without_a_network_the_hosts_resolv_conf_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), "box", &[], None, &[], &[]).unwrap();
        let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        assert_eq!(
            fs::read_to_string(dir.path().join("resolv.conf")).unwrap(),
            host
        );
    }
}
