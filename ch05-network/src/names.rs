//! Names on a network: containers find each other as Docker's user-defined
//! networks let them, by container name, hostname, `--network-alias` and
//! short id.
//!
//! Docker answers these names with a DNS server of its daemon, reached at
//! `127.0.0.11` inside every container. mydocker has no daemon: nothing
//! outlives the containers but the files on disk. So the names go where
//! every resolver looks first, `/etc/hosts`:
//!
//! ```text
//! 127.0.0.1       localhost                      the container's own part,
//! ...                                            written once by `prepare`
//! 192.168.10.3    flask d3e8c1f0a9b2             (files::hosts), with the
//! 10.0.0.9        db.example                     --add-host lines
//! # mydocker: the other containers on network br0 (rewritten as they come and go)
//! 192.168.10.2    myredis redis 3f2a9c1d0b7e     this part: one line per
//!                                                other container
//! ```
//!
//! Whenever a container joins or leaves a network, every container on that
//! network gets its part below the marker rewritten, under the network
//! store's lock. The file is rewritten *in place*: the container sees the
//! host's file through a bind mount of that very inode, and a new file
//! renamed over it would stay invisible inside. Containers on other networks
//! never appear, and a removed container's line goes with its endpoint.
//!
//! The price of files over a server: a program that read the file once and
//! cached the answer keeps the old one (glibc reads it at every lookup), and
//! a reader can catch the file in the moment between truncation and write.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::state::{Endpoint, Locked};

/// `--add-host`'s stand-in for the address of the host, as Docker spells it:
/// here the gateway of the container's network (the bridge's address).
pub const HOST_GATEWAY: &str = "host-gateway";

// ANCHOR: extra_host
/// `--add-host NAME:IP` (or `NAME:host-gateway`): a line of the container's
/// own `/etc/hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraHost {
    /// The name.
    pub name: String,
    /// The address, or `None` for [`HOST_GATEWAY`].
    pub address: Option<IpAddr>,
}

impl FromStr for ExtraHost {
    type Err = anyhow::Error;

    /// The name ends at the first `:` (an IPv6 address has more of them),
    /// or at `=`, which Docker also takes.
    fn from_str(s: &str) -> Result<ExtraHost> {
        let (name, address) = s
            .split_once([':', '='])
            .ok_or_else(|| anyhow!("invalid --add-host {s:?}: expected NAME:IP"))?;
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            bail!("invalid --add-host {s:?}: bad host name {name:?}");
        }
        let address = match address {
            HOST_GATEWAY => None,
            ip => Some(
                ip.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|_| anyhow!("invalid --add-host {s:?}: bad IP address {ip:?}"))?,
            ),
        };
        Ok(ExtraHost {
            name: name.to_string(),
            address,
        })
    }
}

impl fmt::Display for ExtraHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(ip) => write!(f, "{}:{ip}", self.name),
            None => write!(f, "{}:{HOST_GATEWAY}", self.name),
        }
    }
}
// ANCHOR_END: extra_host

// ANCHOR: names_of
/// The names other containers on the network know a container by, in
/// Docker's order: its name, its `--network-alias`es, its hostname, its
/// short id; each once.
pub fn names_of(name: &str, aliases: &[String], hostname: &str, id: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let short = &id[..id.len().min(12)];
    for candidate in [name]
        .into_iter()
        .chain(aliases.iter().map(String::as_str))
        .chain([hostname, short])
    {
        if !candidate.is_empty() && !names.iter().any(|n| n == candidate) {
            names.push(candidate.to_string());
        }
    }
    names
}
// ANCHOR_END: names_of

/// The line that separates a container's own part of `/etc/hosts` from the
/// part mydocker keeps up to date.
fn marker(network: &str) -> String {
    format!("# mydocker: the other containers on network {network} (rewritten as they come and go)")
}

// ANCHOR: peers
/// The part of `/etc/hosts` below the marker for the container `me`: one
/// line per *other* container on its network.
pub fn peers_section(me: &Endpoint, endpoints: &[Endpoint]) -> String {
    let mut text = marker(&me.network);
    text.push('\n');
    for peer in endpoints
        .iter()
        .filter(|e| e.network == me.network && e.container_id != me.container_id)
        .filter(|e| !e.names.is_empty())
    {
        text.push_str(&format!("{}\t{}\n", peer.address, peer.names.join(" ")));
    }
    text
}

/// `text` (a hosts file) with its part below the marker replaced by
/// `section`; a file without one gets it appended.
pub fn with_section(text: &str, network: &str, section: &str) -> String {
    let own = match text.find(&marker(network)) {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = own.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(section);
    out
}
// ANCHOR_END: peers

// ANCHOR: refresh
/// Rewrites the peers' part of the hosts file of every container on
/// `network`: what a start or a removal of one of them calls, under the
/// store's lock, so two rewrites never cross. A container whose file is
/// gone (it is being removed) is skipped.
pub fn refresh(locked: &Locked, network: &str) -> Result<()> {
    let endpoints = locked.endpoints()?;
    let mut first_error = None;
    for me in endpoints.iter().filter(|e| e.network == network) {
        let Some(path) = &me.hosts_file else { continue };
        if let Err(e) = rewrite(path, network, &peers_section(me, &endpoints)) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// After `rename`: container `id` is known as `new` instead of `old` on
/// its network, in every other container's hosts file at once.
pub fn rename(root: &Path, id: &str, old: &str, new: &str) -> Result<()> {
    let store = crate::state::Store::new(root);
    if !store.exists() {
        return Ok(());
    }
    let locked = store.lock()?;
    let Some(mut endpoint) = locked.endpoint(id)? else {
        return Ok(());
    };
    for name in endpoint.names.iter_mut().filter(|n| *n == old) {
        *name = new.to_string();
    }
    locked.save_endpoint(&endpoint)?;
    refresh(&locked, &endpoint.network)
}

/// Replaces the peers' part of the hosts file at `path`, in place.
fn rewrite(path: &Path, network: &str, section: &str) -> Result<()> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let new = with_section(&text, network, section);
    if new == text {
        return Ok(());
    }
    // Truncate and write the same inode: a rename would put a new file
    // beside the one bind-mounted into the container.
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    file.write_all(new.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}
// ANCHOR_END: refresh

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: &str, network: &str, ip: &str, names: &[&str]) -> Endpoint {
        Endpoint {
            container_id: id.into(),
            network: network.into(),
            bridge: network.into(),
            address: ip.parse().unwrap(),
            host_veth: format!("veth{id}"),
            ports: vec![],
            names: names.iter().map(|n| n.to_string()).collect(),
            hosts_file: None,
        }
    }

    #[test]
    fn add_host_parses_as_docker_does() {
        let h: ExtraHost = "db:10.0.0.9".parse().unwrap();
        assert_eq!(h.address, Some("10.0.0.9".parse().unwrap()));
        let v6: ExtraHost = "six:2001:db8::1".parse().unwrap();
        assert_eq!(v6.name, "six");
        assert_eq!(v6.address, Some("2001:db8::1".parse().unwrap()));
        let gw: ExtraHost = "host.docker.internal:host-gateway".parse().unwrap();
        assert_eq!(gw.address, None);
        assert_eq!(gw.to_string(), "host.docker.internal:host-gateway");
        assert!("nocolon".parse::<ExtraHost>().is_err());
        assert!(":1.2.3.4".parse::<ExtraHost>().is_err());
        assert!("x:not-an-ip".parse::<ExtraHost>().is_err());
    }

    #[test]
    fn names_in_dockers_order_once() {
        let names = names_of(
            "web",
            &["www".into(), "web".into()],
            "web",
            "0123456789abcdef",
        );
        assert_eq!(names, ["web", "www", "0123456789ab"]);
    }

    #[test]
    fn peers_are_the_others_on_the_same_network() {
        let all = [
            endpoint("a", "br0", "192.168.10.2", &["myredis", "redis"]),
            endpoint("b", "br0", "192.168.10.3", &["flask"]),
            endpoint("c", "other", "10.1.0.2", &["elsewhere"]),
        ];
        let section = peers_section(&all[1], &all);
        insta::assert_snapshot!(section);
        assert!(!section.contains("flask"));
        assert!(!section.contains("elsewhere"));
    }

    #[test]
    fn the_section_is_replaced_not_appended_twice() {
        let own = "127.0.0.1\tlocalhost\n192.168.10.3\tflask\n";
        let first = with_section(own, "br0", &format!("{}\n1.1.1.1\tx\n", marker("br0")));
        let second = with_section(&first, "br0", &format!("{}\n", marker("br0")));
        assert_eq!(second, format!("{own}{}\n", marker("br0")));
    }

    #[test]
    fn rewrite_keeps_the_inode() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "127.0.0.1\tlocalhost\n").unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        rewrite(
            &path,
            "br0",
            &format!("{}\n10.0.0.2\tpeer\n", marker("br0")),
        )
        .unwrap();
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        assert!(
            fs::read_to_string(&path)
                .unwrap()
                .ends_with("10.0.0.2\tpeer\n")
        );
        // A file that is gone is not created again.
        rewrite(&dir.path().join("gone"), "br0", "x").unwrap();
        assert!(!dir.path().join("gone").exists());
    }
}
