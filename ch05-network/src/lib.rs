//! Chapter 5: networks.
//!
//! A container from chapter 1 has a network namespace of its own with
//! nothing in it. This chapter connects it to the world the way Docker's
//! bridge driver does:
//!
//! ```text
//!   the internet ── host eth0 ──(NAT: MASQUERADE out, DNAT in)── bridge 192.168.10.1
//!                                                                  ├─ veth ═ eth0 192.168.10.2  (d1)
//!                                                                  └─ veth ═ eth0 192.168.10.3  (d2)
//! ```
//!
//! The modules, in the order the book tells them:
//!
//! 1. [`ipam`]: subnets, gateways, and handing out addresses.
//! 2. [`ports`]: `-p [IP:]HOST:CONTAINER[/tcp|/udp]`.
//! 3. [`state`]: the records under `<root>/networks`, changed under a lock.
//! 4. [`netlink`]: bridges, veth pairs, addresses and routes through rtnetlink.
//! 5. [`iptables`]: NAT and forwarding rules in mydocker's own chains.
//! 6. [`network`]: `network create`, `ls` and `rm`.
//! 7. [`host`]: what the first network finds in the host's namespace
//!    (forwarding, iptables tables), given back by the last one's removal.
//! 8. [`files`]: the container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`.
//! 9. [`names`]: the other containers on the network, by name, in `/etc/hosts`.
//! 10. [`hook`]: the [`hook::Network`] hook that wires a container in, and
//!     [`hook::release_container`] that unwires it (for `rm`, with
//!     [`hook::removal`]).
//! 11. [`cli`]: the options and commands.

pub mod cli;
pub mod files;
pub mod hook;
pub mod host;
pub mod ipam;
pub mod iptables;
pub mod names;
pub mod netlink;
pub mod network;
pub mod ports;
pub mod state;

pub use hook::{Attachment, Network, release_container, release_network, removal};
