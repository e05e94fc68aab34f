//! Published ports: `-p [IP:]HOST:CONTAINER[/tcp|/udp]`.
//!
//! A published port is a promise made on the host: "traffic for this host
//! port goes to that container". Two containers cannot both own the same
//! host port, so every mapping is recorded with its container (the
//! endpoints under `<root>/networks/endpoints/` are the port registry) and
//! checked against all the others before a container starts.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// The transport protocol of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP, the default.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// The name iptables and Docker use: `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ANCHOR: port_mapping
/// One `-p`: traffic for `host_ip:host_port` goes to the container's
/// `container_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    /// Only traffic for this host address; `None` means every address.
    pub host_ip: Option<Ipv4Addr>,
    /// The port on the host.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub proto: Proto,
}

impl FromStr for PortMapping {
    type Err = anyhow::Error;

    /// Parses `81:81`, `8080:80/tcp`, `127.0.0.2:53:53/udp`, `:81:81`.
    fn from_str(text: &str) -> Result<PortMapping> {
        let bad = |why: &str| anyhow!("invalid port mapping {text:?}: {why}");
        let (addr, proto) = match text.rsplit_once('/') {
            Some((addr, "tcp")) => (addr, Proto::Tcp),
            Some((addr, "udp")) => (addr, Proto::Udp),
            Some(_) => return Err(bad("the protocol must be tcp or udp")),
            None => (text, Proto::Tcp),
        };
        if addr.starts_with('[') {
            return Err(bad("IPv6 host addresses are not supported"));
        }
        let parts: Vec<&str> = addr.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [host, container] => ("", *host, *container),
            [ip, host, container] => (*ip, *host, *container),
            [_] => {
                return Err(bad(
                    "expected [IP:]HOST:CONTAINER (a host port is required)",
                ));
            }
            _ => return Err(bad("expected [IP:]HOST:CONTAINER")),
        };
        let host_ip = match ip {
            "" | "0.0.0.0" => None,
            ip => {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| bad(&format!("{ip:?} is not an IPv4 address")))?;
                if ip.is_loopback() {
                    // Packets to 127.0.0.0/8 never leave the host's loopback
                    // device, so a DNAT to a container cannot apply to them.
                    return Err(bad("loopback addresses cannot be published"));
                }
                Some(ip)
            }
        };
        let port = |p: &str, which: &str| -> Result<u16> {
            match p.parse::<u16>() {
                Ok(0) | Err(_) => Err(bad(&format!(
                    "{which} port {p:?} is not a number from 1 to 65535"
                ))),
                Ok(n) => Ok(n),
            }
        };
        Ok(PortMapping {
            host_ip,
            host_port: port(host, "host")?,
            container_port: port(container, "container")?,
            proto,
        })
    }
}
// ANCHOR_END: port_mapping

impl fmt::Display for PortMapping {
    /// Docker's `ps` form: `0.0.0.0:81->81/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        write!(
            f,
            "{ip}:{}->{}/{}",
            self.host_port, self.container_port, self.proto
        )
    }
}

impl PortMapping {
    /// True when both mappings would claim the same host port: same port and
    /// protocol, and the same address or either one on every address.
    pub fn conflicts_with(&self, other: &PortMapping) -> bool {
        self.host_port == other.host_port
            && self.proto == other.proto
            && (self.host_ip.is_none() || other.host_ip.is_none() || self.host_ip == other.host_ip)
    }
}

// ANCHOR: check_ports
/// Refuses `wanted` if two of its mappings claim the same host port, or if
/// one of them claims a port that a running container (`taken`: the owner's
/// short id and its mappings) has published already.
pub fn check_conflicts<'a>(
    wanted: &[PortMapping],
    taken: impl IntoIterator<Item = (&'a str, &'a [PortMapping])>,
) -> Result<()> {
    for (i, a) in wanted.iter().enumerate() {
        if let Some(b) = wanted[..i].iter().find(|b| a.conflicts_with(b)) {
            bail!("port {} is published twice ({b} and {a})", a.host_port);
        }
    }
    for (owner, mappings) in taken {
        for a in wanted {
            if let Some(b) = mappings.iter().find(|b| a.conflicts_with(b)) {
                bail!(
                    "host port {}/{} is already published by container {owner} ({b})",
                    a.host_port,
                    a.proto
                );
            }
        }
    }
    Ok(())
}
// ANCHOR_END: check_ports

/// Checks that no program on the host (in the current network namespace)
/// listens on a published port, by binding it for a moment. Also catches a
/// host address that is not one of the host's own.
pub fn probe_host(mapping: &PortMapping) -> Result<()> {
    let addr = SocketAddrV4::new(
        mapping.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
        mapping.host_port,
    );
    let result = match mapping.proto {
        Proto::Tcp => TcpListener::bind(addr).map(drop),
        Proto::Udp => UdpSocket::bind(addr).map(drop),
    };
    result.with_context(|| format!("host port {addr}/{} is not available", mapping.proto))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PortMapping {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e:#}"))
    }

    #[test]
    fn the_forms_of_p() {
        let m = p("81:81");
        assert_eq!(
            m,
            PortMapping {
                host_ip: None,
                host_port: 81,
                container_port: 81,
                proto: Proto::Tcp
            }
        );
        assert_eq!(p("8888:80").host_port, 8888);
        assert_eq!(p("8888:80").container_port, 80);
        assert_eq!(p("53:5353/udp").proto, Proto::Udp);
        assert_eq!(p("53:53/tcp").proto, Proto::Tcp);
        let m = p("198.51.100.2:8080:80");
        assert_eq!(m.host_ip, Some("198.51.100.2".parse().unwrap()));
        assert_eq!(m.host_port, 8080);
        assert_eq!(p(":81:81").host_ip, None);
        assert_eq!(p("0.0.0.0:81:81").host_ip, None);
        assert_eq!(
            p("10.0.0.1:65535:1/udp").to_string(),
            "10.0.0.1:65535->1/udp"
        );
        assert_eq!(p("81:81").to_string(), "0.0.0.0:81->81/tcp");
    }

    #[test]
    fn bad_forms_say_why() {
        let cases = [
            ("81", "a host port is required"),
            ("a:81", "host port \"a\""),
            ("81:b", "container port \"b\""),
            ("0:81", "from 1 to 65535"),
            ("81:65536", "from 1 to 65535"),
            ("81:81/sctp", "tcp or udp"),
            ("81:81/", "tcp or udp"),
            ("1.2.3:81:81", "not an IPv4 address"),
            ("127.0.0.1:81:81", "loopback"),
            ("[::1]:81:81", "IPv6"),
            ("1:2:3:4", "expected [IP:]HOST:CONTAINER"),
            ("", "a host port is required"),
        ];
        for (text, why) in cases {
            let err = format!("{:#}", text.parse::<PortMapping>().unwrap_err());
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(err.starts_with("invalid port mapping"), "{err}");
        }
    }

    #[test]
    fn conflicts() {
        assert!(p("81:81").conflicts_with(&p("81:82")));
        assert!(p("81:81").conflicts_with(&p("10.0.0.1:81:80")));
        assert!(p("10.0.0.1:81:80").conflicts_with(&p("81:81")));
        assert!(p("10.0.0.1:81:80").conflicts_with(&p("10.0.0.1:81:81")));
        assert!(!p("10.0.0.1:81:80").conflicts_with(&p("10.0.0.2:81:81")));
        assert!(!p("81:81").conflicts_with(&p("81:81/udp")));
        assert!(!p("81:81").conflicts_with(&p("82:81")));
    }

    #[test]
    fn every_p_is_checked() {
        let d1 = [p("81:81")];
        let d2 = [p("82:82"), p("83:83/udp")];
        let taken = || [("d1", &d1[..]), ("d2", &d2[..])];
        check_conflicts(&[p("84:81"), p("83:83")], taken()).unwrap();
        let err = check_conflicts(&[p("84:81"), p("83:83/udp")], taken()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "host port 83/udp is already published by container d2 (0.0.0.0:83->83/udp)"
        );
        let err = check_conflicts(&[p("85:1"), p("85:2")], taken()).unwrap_err();
        assert!(err.to_string().contains("published twice"), "{err}");
    }
}
