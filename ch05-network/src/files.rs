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
/// hostname and any other names (its container name).
pub fn hosts(hostname: &str, aliases: &[String], address: Option<Ipv4Addr>) -> String {
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
    text
}
// ANCHOR_END: hosts

// ANCHOR: resolv_conf
/// `/etc/resolv.conf` from the host's: the `--dns` servers if any were
/// given, otherwise the host's servers that a container can reach. Loopback
/// servers are dropped, since the container's loopback is not the host's.
/// No server is ever invented: without a usable one, the file says so.
pub fn resolv_conf(host: &str, dns: &[IpAddr]) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut other = Vec::new();
    for line in host.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["nameserver", server, ..] => {
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
    if !dns.is_empty() {
        servers = dns.iter().map(IpAddr::to_string).collect();
    }
    let mut text = String::new();
    if servers.is_empty() {
        text.push_str("# no usable name server: the host's are on its loopback; use --dns\n");
    }
    for server in servers {
        text.push_str(&format!("nameserver {server}\n"));
    }
    for line in other {
        text.push_str(&line);
        text.push('\n');
    }
    text
}
// ANCHOR_END: resolv_conf

/// The host's resolver configuration. With systemd-resolved, `/etc/resolv.conf`
/// only names its loopback stub; the real upstream servers are listed in
/// `/run/systemd/resolve/resolv.conf`.
pub fn host_resolv_conf() -> String {
    let etc = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let only_loopback = !etc.lines().any(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some("nameserver")
            && words
                .next()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| !ip.is_loopback())
    });
    if only_loopback {
        if let Ok(resolved) = fs::read_to_string("/run/systemd/resolve/resolv.conf") {
            return resolved;
        }
    }
    etc
}

/// Writes the three files into `dir` (created if needed) and returns, for
/// each, its path on the host and its path inside the container.
pub fn write_files(
    dir: &Path,
    hostname: &str,
    aliases: &[String],
    address: Option<Ipv4Addr>,
    dns: &[IpAddr],
) -> Result<Vec<(PathBuf, &'static str)>> {
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let contents = [
        format!("{hostname}\n"),
        hosts(hostname, aliases, address),
        resolv_conf(&host_resolv_conf(), dns),
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
        );
        insta::assert_snapshot!(text);
        assert!(!hosts("d1", &[], None).contains("d1"));
    }

    #[test]
    fn resolv_conf_drops_loopback_and_keeps_search() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch lan\noptions edns0\n";
        assert_eq!(
            resolv_conf(host, &[]),
            "nameserver 10.255.255.53\nsearch lan\noptions edns0\n"
        );
        let dns = ["198.51.100.1".parse().unwrap()];
        assert_eq!(
            resolv_conf(host, &dns),
            "nameserver 198.51.100.1\nsearch lan\noptions edns0\n"
        );
    }

    #[test]
    fn no_server_is_ever_invented() {
        let text = resolv_conf("nameserver 127.0.0.53\nnameserver ::1\n", &[]);
        assert!(!text.contains("nameserver"), "{text}");
        assert!(text.starts_with("# no usable name server"));
    }

    #[test]
    fn files_are_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("net");
        let files = write_files(&sub, "box", &[], Some("10.0.0.2".parse().unwrap()), &[]).unwrap();
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
}
