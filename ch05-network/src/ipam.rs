//! Subnets and IP address management (IPAM): which addresses of a network
//! are taken, and by which container.
//!
//! A network's addresses are kept as a sorted map from address to owner, not
//! as a bitmap of the whole range. A `/8` has sixteen million addresses but a
//! real network only ever holds a few hundred containers, so the record stays
//! small for every prefix from `/8` to `/30`, and finding the lowest free
//! address costs one step per address already taken.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use anyhow::{Result, anyhow, bail};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// The shortest prefix a network may have (a `/8`: 16 777 214 hosts).
pub const MIN_PREFIX: u8 = 8;
/// The longest prefix a network may have (a `/30`: a gateway and one container).
pub const MAX_PREFIX: u8 = 30;

// ANCHOR: subnet
/// A network's address range and the address of its gateway (the bridge).
///
/// `--subnet` is read the way the seed reads it: `192.168.10.1/24` names the
/// gateway, `192.168.10.1`; the network's own address, `192.168.10.0/24`,
/// means "the first host address is the gateway".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The range, with the host bits cleared: `192.168.10.0/24`.
    pub net: Ipv4Net,
    /// The bridge's address inside the range: `192.168.10.1`.
    pub gateway: Ipv4Addr,
}

impl FromStr for Subnet {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Subnet> {
        let given: Ipv4Net = text.trim().parse().map_err(|_| {
            anyhow!("invalid subnet {text:?}: expected an IPv4 CIDR such as 192.168.10.0/24")
        })?;
        let prefix = given.prefix_len();
        if !(MIN_PREFIX..=MAX_PREFIX).contains(&prefix) {
            bail!(
                "invalid subnet {text}: the prefix length must be between /{MIN_PREFIX} and /{MAX_PREFIX}"
            );
        }
        let net = given.trunc();
        let gateway = if given.addr() == net.network() {
            first_host(&net)
        } else if given.addr() == net.broadcast() {
            bail!(
                "invalid subnet {text}: {} is the broadcast address",
                given.addr()
            );
        } else {
            given.addr()
        };
        Ok(Subnet { net, gateway })
    }
}
// ANCHOR_END: subnet

impl Subnet {
    /// True when the two ranges share at least one address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.net.contains(&other.net.network()) || other.net.contains(&self.net.network())
    }

    /// The prefix length, as in `/24`.
    pub fn prefix_len(&self) -> u8 {
        self.net.prefix_len()
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.net)
    }
}

fn first_host(net: &Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + 1)
}

fn last_host(net: &Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.broadcast()) - 1)
}

// ANCHOR: ipam
/// The addresses of one network that are handed out, and to whom.
///
/// Stored as `<root>/networks/ipam/<network>.json`; only ever changed while
/// holding the networks lock, so two `run`s cannot get the same address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipam {
    /// The network's range.
    pub subnet: Ipv4Net,
    /// The gateway, never handed out.
    pub gateway: Ipv4Addr,
    /// Address → the id of the container that holds it.
    pub allocations: BTreeMap<Ipv4Addr, String>,
}

impl Ipam {
    /// An empty record for `subnet`.
    pub fn new(subnet: &Subnet) -> Ipam {
        Ipam {
            subnet: subnet.net,
            gateway: subnet.gateway,
            allocations: BTreeMap::new(),
        }
    }

    /// Hands `owner` the lowest free host address (the gateway, the network
    /// address and the broadcast address are never free). Asking twice for
    /// the same owner returns the same address.
    pub fn allocate(&mut self, owner: &str) -> Result<Ipv4Addr> {
        if let Some(address) = self.address_of(owner) {
            return Ok(address);
        }
        let last = u32::from(last_host(&self.subnet));
        let mut candidate = u32::from(first_host(&self.subnet));
        // Taken addresses come out of the map in order, so one pass over
        // them finds the first gap.
        for &taken in self.allocations.keys() {
            let taken = u32::from(taken);
            if taken < candidate {
                continue;
            }
            if candidate == u32::from(self.gateway) {
                candidate += 1;
            }
            if taken > candidate {
                break;
            }
            candidate = taken + 1;
        }
        if candidate == u32::from(self.gateway) {
            candidate += 1;
        }
        if candidate > last {
            bail!("no free address left in {}", self.subnet);
        }
        let address = Ipv4Addr::from(candidate);
        self.allocations.insert(address, owner.to_string());
        Ok(address)
    }

    /// Frees every address `owner` holds and returns them.
    pub fn release(&mut self, owner: &str) -> Vec<Ipv4Addr> {
        let freed: Vec<Ipv4Addr> = self
            .allocations
            .iter()
            .filter(|(_, who)| who.as_str() == owner)
            .map(|(address, _)| *address)
            .collect();
        for address in &freed {
            self.allocations.remove(address);
        }
        freed
    }

    /// The address `owner` holds, if any.
    pub fn address_of(&self, owner: &str) -> Option<Ipv4Addr> {
        self.allocations
            .iter()
            .find(|(_, who)| who.as_str() == owner)
            .map(|(address, _)| *address)
    }
}
// ANCHOR_END: ipam

/// How many containers a network with this prefix can hold: every host
/// address except the gateway.
pub fn capacity(prefix: u8) -> u64 {
    (1u64 << (32 - u32::from(prefix))) - 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(text: &str) -> Subnet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn the_seed_form_names_the_gateway() {
        let s = subnet("192.168.10.1/24");
        assert_eq!(s.net.to_string(), "192.168.10.0/24");
        assert_eq!(s.gateway, ip("192.168.10.1"));
        let s = subnet("192.168.10.0/24");
        assert_eq!(s.gateway, ip("192.168.10.1"));
        let s = subnet("10.1.2.3/8");
        assert_eq!(s.net.to_string(), "10.0.0.0/8");
        assert_eq!(s.gateway, ip("10.1.2.3"));
    }

    #[test]
    fn bad_subnets_are_refused_with_a_reason() {
        let err = |t: &str| format!("{:#}", t.parse::<Subnet>().unwrap_err());
        assert!(err("192.168.10.0").contains("expected an IPv4 CIDR"));
        assert!(err("192.168.10.300/24").contains("expected an IPv4 CIDR"));
        assert!(err("fd00::/64").contains("expected an IPv4 CIDR"));
        assert!(err("10.0.0.0/7").contains("between /8 and /30"));
        assert!(err("10.0.0.0/31").contains("between /8 and /30"));
        assert!(err("10.0.0.0/32").contains("between /8 and /30"));
        assert!(err("192.168.10.255/24").contains("broadcast"));
    }

    #[test]
    fn overlaps() {
        let a = subnet("192.168.10.0/24");
        assert!(a.overlaps(&subnet("192.168.10.128/25")));
        assert!(a.overlaps(&subnet("192.168.0.0/16")));
        assert!(subnet("192.168.0.0/16").overlaps(&a));
        assert!(!a.overlaps(&subnet("192.168.11.0/24")));
        assert!(!a.overlaps(&subnet("10.0.0.0/8")));
    }

    #[test]
    fn addresses_come_in_order_after_the_gateway() {
        let mut ipam = Ipam::new(&subnet("192.168.10.1/24"));
        assert_eq!(ipam.allocate("a").unwrap(), ip("192.168.10.2"));
        assert_eq!(ipam.allocate("b").unwrap(), ip("192.168.10.3"));
        assert_eq!(ipam.allocate("c").unwrap(), ip("192.168.10.4"));
        // The same owner keeps its address.
        assert_eq!(ipam.allocate("b").unwrap(), ip("192.168.10.3"));
        // A released address is the next one handed out.
        assert_eq!(ipam.release("b"), vec![ip("192.168.10.3")]);
        assert!(ipam.release("b").is_empty());
        assert_eq!(ipam.allocate("d").unwrap(), ip("192.168.10.3"));
        assert_eq!(ipam.allocate("e").unwrap(), ip("192.168.10.5"));
    }

    #[test]
    fn a_gateway_in_the_middle_is_skipped() {
        let mut ipam = Ipam::new(&subnet("10.0.0.3/29"));
        let got: Vec<Ipv4Addr> = (0..5)
            .map(|i| ipam.allocate(&i.to_string()).unwrap())
            .collect();
        let want: Vec<Ipv4Addr> = ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
            .iter()
            .map(|t| ip(t))
            .collect();
        assert_eq!(got, want);
        assert!(ipam.allocate("full").is_err());
    }

    #[test]
    fn every_prefix_from_8_to_30_works() {
        for prefix in MIN_PREFIX..=MAX_PREFIX {
            let s = subnet(&format!("10.0.0.0/{prefix}"));
            let mut ipam = Ipam::new(&s);
            assert_eq!(s.gateway, ip("10.0.0.1"));
            let first = ipam.allocate("first").unwrap();
            assert_eq!(first, ip("10.0.0.2"), "/{prefix}");
            let taken = capacity(prefix).min(300);
            for i in 1..taken {
                ipam.allocate(&format!("c{i}")).unwrap();
            }
            let last = *ipam.allocations.keys().last().unwrap();
            assert_eq!(u32::from(last), u32::from(ip("10.0.0.1")) + taken as u32);
            if capacity(prefix) == taken {
                let err = ipam.allocate("one too many").unwrap_err();
                assert!(err.to_string().contains("no free address"), "/{prefix}");
            } else {
                ipam.allocate("more").unwrap();
            }
            // Releasing one in the middle makes it the next address again.
            let middle = ipam.address_of("first").unwrap();
            ipam.release("first");
            assert_eq!(ipam.allocate("again").unwrap(), middle);
            assert!(ipam.allocations.keys().all(|a| s.net.contains(a)));
            assert!(!ipam.allocations.contains_key(&s.gateway));
        }
    }

    #[test]
    fn a_slash_30_holds_one_container() {
        let mut ipam = Ipam::new(&subnet("172.30.0.0/30"));
        assert_eq!(ipam.allocate("a").unwrap(), ip("172.30.0.2"));
        assert!(ipam.allocate("b").is_err());
        assert_eq!(capacity(30), 1);
        assert_eq!(capacity(24), 253);
    }

    #[test]
    fn the_seed_bitmap_limit_is_gone() {
        // The seed's bitmap broke above /21; a /16 hands out address 2000
        // like any other.
        let mut ipam = Ipam::new(&subnet("172.16.0.0/16"));
        for i in 0..2000 {
            ipam.allocate(&format!("c{i}")).unwrap();
        }
        assert_eq!(ipam.address_of("c1999"), Some(ip("172.16.7.209")));
    }

    #[test]
    fn the_record_is_plain_json() {
        let mut ipam = Ipam::new(&subnet("192.168.10.1/24"));
        ipam.allocate("d1").unwrap();
        let text = serde_json::to_string(&ipam).unwrap();
        assert_eq!(
            text,
            r#"{"subnet":"192.168.10.0/24","gateway":"192.168.10.1","allocations":{"192.168.10.2":"d1"}}"#
        );
        assert_eq!(serde_json::from_str::<Ipam>(&text).unwrap(), ipam);
    }
}
