//! The rules mydocker's chains hold: a pure function of the records on
//! disk, so they can be computed, compared and tested without touching the
//! kernel.

use super::{DNAT_CHAIN, FORWARD_CHAIN, POSTROUTING_CHAIN, Rule, Table};
use crate::state::{Endpoint, NetworkRecord};

// ANCHOR: jumps
/// The jumps from the built-in chains into mydocker's chains.
///
/// DNAT applies to packets for any *local* address of the host (the seed
/// FAQ's "local type address": every address of every interface, including
/// the bridge's), both when they arrive from outside (PREROUTING) and when
/// the host itself sends them (OUTPUT, which PREROUTING never sees).
/// Loopback is left out: the kernel refuses to route 127.0.0.0/8 to another
/// interface, so a DNAT of it would only produce dropped packets.
pub fn jumps() -> Vec<Rule> {
    vec![
        Rule::new(
            Table::Nat,
            "PREROUTING",
            &["-m", "addrtype", "--dst-type", "LOCAL", "-j", DNAT_CHAIN],
        ),
        Rule::new(
            Table::Nat,
            "OUTPUT",
            &[
                "!",
                "-d",
                "127.0.0.0/8",
                "-m",
                "addrtype",
                "--dst-type",
                "LOCAL",
                "-j",
                DNAT_CHAIN,
            ],
        ),
        Rule::new(Table::Nat, "POSTROUTING", &["-j", POSTROUTING_CHAIN]),
        Rule::new(Table::Filter, "FORWARD", &["-j", FORWARD_CHAIN]),
    ]
}
// ANCHOR_END: jumps

// ANCHOR: network_rules
/// The rules of one network.
///
/// 1. Containers reach the outside world through the host's address:
///    MASQUERADE what comes from the subnet and leaves through anything but
///    the bridge.
/// 2. Hairpin: a container that reaches a published port through a host
///    address is DNATed to a container on the same bridge. The answer would
///    go straight back over the bridge with the wrong source address, so the
///    request is masqueraded to the gateway and the answer returns through
///    the host, where conntrack undoes both translations.
/// 3. and 4. The seed FAQ's fix: accept whatever enters or leaves the bridge,
///    so a FORWARD policy of DROP does not cut containers off from each
///    other (with `bridge-nf-call-iptables=1` even bridged frames pass
///    FORWARD) or from the outside.
pub fn network_rules(net: &NetworkRecord) -> Vec<Rule> {
    let subnet = net.subnet.to_string();
    let bridge = net.bridge.as_str();
    let comment = format!("mydocker:{}", net.name);
    let tag = ["-m", "comment", "--comment", comment.as_str()];
    let with_tag = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter()
            .chain(tag.iter())
            .chain(tail.iter())
            .map(|a| a.to_string())
            .collect()
    };
    vec![
        Rule {
            table: Table::Nat,
            chain: POSTROUTING_CHAIN.into(),
            args: with_tag(&["-s", &subnet, "!", "-o", bridge], &["-j", "MASQUERADE"]),
        },
        Rule {
            table: Table::Nat,
            chain: POSTROUTING_CHAIN.into(),
            args: with_tag(
                &[
                    "-s",
                    &subnet,
                    "-d",
                    &subnet,
                    "-o",
                    bridge,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "DNAT",
                ],
                &["-j", "MASQUERADE"],
            ),
        },
        Rule {
            table: Table::Filter,
            chain: FORWARD_CHAIN.into(),
            args: with_tag(&["-i", bridge], &["-j", "ACCEPT"]),
        },
        Rule {
            table: Table::Filter,
            chain: FORWARD_CHAIN.into(),
            args: with_tag(&["-o", bridge], &["-j", "ACCEPT"]),
        },
    ]
}
// ANCHOR_END: network_rules

// ANCHOR: port_rules
/// The DNAT rules of one container: one per `-p`, rewriting the destination
/// of packets for the host port to the container's address and port.
pub fn port_rules(endpoint: &Endpoint) -> Vec<Rule> {
    let short = &endpoint.container_id[..endpoint.container_id.len().min(12)];
    let comment = format!("mydocker:{short}");
    endpoint
        .ports
        .iter()
        .map(|p| {
            let proto = p.proto.as_str().to_string();
            let mut args = vec!["-p".to_string(), proto.clone()];
            if let Some(ip) = p.host_ip {
                args.extend(["-d".to_string(), format!("{ip}/32")]);
            }
            args.extend(
                [
                    "-m",
                    &proto,
                    "--dport",
                    &p.host_port.to_string(),
                    "-m",
                    "comment",
                    "--comment",
                    &comment,
                    "-j",
                    "DNAT",
                    "--to-destination",
                    &format!("{}:{}", endpoint.address, p.container_port),
                ]
                .map(str::to_string),
            );
            Rule {
                table: Table::Nat,
                chain: DNAT_CHAIN.to_string(),
                args,
            }
        })
        .collect()
}
// ANCHOR_END: port_rules

/// Everything mydocker's chains should contain for these networks and
/// endpoints, networks first. Empty when there are no networks: then the
/// chains should not exist at all.
pub fn desired_rules(networks: &[NetworkRecord], endpoints: &[Endpoint]) -> Vec<Rule> {
    if networks.is_empty() {
        return Vec::new();
    }
    let mut rules: Vec<Rule> = networks.iter().flat_map(network_rules).collect();
    rules.extend(endpoints.iter().flat_map(port_rules));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::fixtures::{endpoint, lines, testbridge};

    #[test]
    fn the_jumps() {
        insta::assert_snapshot!(lines(&jumps()));
    }

    #[test]
    fn the_rules_of_a_network() {
        insta::assert_snapshot!(lines(&network_rules(&testbridge())));
    }

    #[test]
    fn the_rules_of_port_mappings() {
        let d1 = endpoint(
            "1a2b3c4d5e6f7a8b9c0d",
            "192.168.10.2",
            &["81:81", "8053:53/udp", "198.51.100.2:8080:80/tcp"],
        );
        insta::assert_snapshot!(lines(&port_rules(&d1)));
        assert!(port_rules(&endpoint("abcdef0", "192.168.10.3", &[])).is_empty());
    }

    #[test]
    fn no_network_no_rules() {
        assert!(desired_rules(&[], &[endpoint("abcdef0", "192.168.10.3", &["1:1"])]).is_empty());
    }
}
