//! The network hook: chapter 5's part of a container's life.
//!
//! ```text
//! prepare   (parent, before clone)   reserve an address and the host ports, under
//!                                    the lock; write hostname, hosts, resolv.conf
//! attach    (parent, child waiting)  bridge, veth pair, the peer into the child's
//!                                    namespace; inside it: eth0, address, route;
//!                                    then the DNAT rules for the published ports
//! enter     (child, before pivot)    `lo` up; bind the files into the rootfs
//! cleanup   (parent, always)         release address and ports, drop the rules,
//!                                    remove the files
//! finish    (parent, at the very end) wait for the kernel to remove the veth,
//!                                    and for the check of the chains
//! ```
//!
//! Everything an attachment creates is written down first (the endpoint
//! record) and undone from that record, so [`release_container`] can clean up
//! after a container whose `mydocker` process died.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow, bail};
use ch01_namespaces::lifecycle::{End, Hook, Stage};
use ch01_namespaces::spec::Spec;
use ch03_overlayfs::volumes::bind_into_rootfs;
use ch04_images::containers::{ContainerStore, Part, Record};
use ch04_images::remove::Removal;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::files;
use crate::iptables::{Iptables, Plan, change_plan, desired_rules, port_rules};
use crate::names::{self, ExtraHost, HOST_GATEWAY};
use crate::netlink::{self, Interface, LinkWatch};
use crate::network::{enable_ip_forward, sync_rules_from};
use crate::ports::{self, PortMapping};
use crate::state::{Durability, Endpoint, Store};

/// `--network` values that mean "no network": the container keeps its own
/// empty network namespace with only `lo`.
const NO_NETWORK: &str = "none";

/// How long a release waits for the kernel to remove a dead container's
/// veth with its namespace before deleting it itself.
const VETH_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

// ANCHOR: attachment
/// What a container asked of the network, parsed once from the command
/// line and kept in its record: a `start` attaches it again from this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attachment {
    /// The network (`--network`), if any.
    pub network: Option<String>,
    /// Published ports (`-p`).
    pub ports: Vec<PortMapping>,
    /// Name servers (`--dns`).
    pub dns: Vec<IpAddr>,
    /// More names the other containers on the network know it by
    /// (`--network-alias`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Lines for its own `/etc/hosts` (`--add-host`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<ExtraHost>,
}
// ANCHOR_END: attachment

/// The attachment is chapter 5's part of the container's record.
impl Part for Attachment {
    const KEY: &'static str = "network";
}

/// Chapter 5's hook: connects a container to a network (or to none) and
/// gives it its `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`.
pub struct Network {
    root: PathBuf,
    network: Option<String>,
    ports: Vec<PortMapping>,
    dns: Vec<IpAddr>,
    network_aliases: Vec<String>,
    extra_hosts: Vec<ExtraHost>,
    files_dir: PathBuf,
    aliases: Vec<String>,
    endpoint: Option<Endpoint>,
    /// The network's gateway, once `prepare` has found the network.
    gateway: Option<Ipv4Addr>,
    /// The check of the chains of a start that changes no rule.
    check: Option<JoinHandle<Result<()>>>,
    /// The veth that the kernel is removing with the container's namespace.
    veth: Option<LinkWatch>,
}

impl Network {
    /// A hook for the attachment `args`, keeping its state under data root
    /// `root`. Checks it at once, before anything is created.
    pub fn new(root: &Path, args: &Attachment) -> Result<Network> {
        let network = args.network.clone().filter(|n| n != NO_NETWORK);
        if network.as_deref() == Some("host") {
            bail!(
                "--network host is not supported: a container always gets its own network namespace"
            );
        }
        if network.is_none() && !args.ports.is_empty() {
            bail!("publishing a port (-p) needs a network: add --network NAME");
        }
        if network.is_none() && !args.aliases.is_empty() {
            bail!("a network alias (--network-alias) needs a network: add --network NAME");
        }
        if network.is_none() && args.extra_hosts.iter().any(|h| h.address.is_none()) {
            bail!("--add-host NAME:{HOST_GATEWAY} needs a network: add --network NAME");
        }
        Ok(Network {
            root: root.to_path_buf(),
            network,
            ports: args.ports.clone(),
            dns: args.dns.clone(),
            network_aliases: args.aliases.clone(),
            extra_hosts: args.extra_hosts.clone(),
            files_dir: PathBuf::new(),
            aliases: Vec::new(),
            endpoint: None,
            gateway: None,
            check: None,
            veth: None,
        })
    }

    /// Writes the container's three files into `dir` (the container's own
    /// directory, in practice).
    pub fn files_in(mut self, dir: impl Into<PathBuf>) -> Network {
        self.files_dir = dir.into();
        self
    }

    /// Also lists `name` (the container's name) beside its hostname in
    /// `/etc/hosts`; the first one given is also the name the other
    /// containers on the network know it by.
    pub fn alias(mut self, name: impl Into<String>) -> Network {
        self.aliases.push(name.into());
        self
    }

    /// The files to bind-mount into the container: (path on the host, path
    /// inside). They exist once `prepare` has run.
    pub fn files(&self) -> Vec<(PathBuf, &'static str)> {
        files::FILES
            .iter()
            .map(|(name, inside)| (self.files_dir.join(name), *inside))
            .collect()
    }

    /// The container's address, once `prepare` has reserved it.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.endpoint.as_ref().map(|e| e.address)
    }

    // ANCHOR: reserve
    /// Under the lock: checks the network and the ports, takes the lowest
    /// free address, picks a veth name and records it all as the
    /// container's endpoint, with the names the others will know it by.
    /// Either everything is recorded or nothing.
    fn reserve(&mut self, spec: &Spec, name: &str) -> Result<Endpoint> {
        let id = spec.id.as_str();
        let store = Store::new(&self.root);
        if !store.exists() {
            bail!("network {name} not found");
        }
        let locked = store.lock()?;
        let network = locked
            .network(name)?
            .ok_or_else(|| anyhow!("network {name} not found"))?;
        let endpoints = locked.endpoints()?;
        ports::check_conflicts(
            &self.ports,
            endpoints
                .iter()
                .filter(|e| e.container_id != id)
                .map(|e| (short(&e.container_id), e.ports.as_slice())),
        )?;
        for mapping in &self.ports {
            ports::probe_host(mapping)?;
        }
        let mut ipam = locked.ipam(&network)?;
        let address = ipam.allocate(id)?;
        let (own, others) = self
            .aliases
            .split_first()
            .map_or(("", &[][..]), |(n, rest)| (n.as_str(), rest));
        let aliases: Vec<String> = others
            .iter()
            .chain(&self.network_aliases)
            .cloned()
            .collect();
        let endpoint = Endpoint {
            container_id: id.to_string(),
            network: network.name.clone(),
            bridge: network.bridge.clone(),
            address,
            host_veth: veth_name(id, &endpoints)?,
            ports: self.ports.clone(),
            names: names::names_of(own, &aliases, &spec.hostname, id),
            hosts_file: Some(self.files_dir.join("hosts")),
        };
        self.gateway = Some(network.gateway);
        locked.save_ipam(&network.name, &ipam, Durability::Volatile)?;
        locked.save_endpoint(&endpoint)?;
        Ok(endpoint)
    }
    // ANCHOR_END: reserve

    // ANCHOR: wire
    /// Everything between the host and the container's namespace.
    fn wire(&mut self, endpoint: &Endpoint, pid: Pid) -> Result<()> {
        let store = Store::new(&self.root);
        let network = {
            let locked = store.lock()?;
            let network = locked
                .network(&endpoint.network)?
                .ok_or_else(|| anyhow!("network {} was removed", endpoint.network))?;
            // The bridge disappears with a reboot while the record stays:
            // bring it back.
            netlink::block_on(|h| async move {
                netlink::ensure_bridge(
                    &h,
                    &network.bridge,
                    network.gateway,
                    network.subnet.prefix_len(),
                )
                .await
                .map(|_| network)
            })?
        };
        netlink::create_veth(&endpoint.host_veth, &endpoint.bridge, pid)?;
        let iface = Interface {
            address: endpoint.address,
            prefix: network.subnet.prefix_len(),
            gateway: network.gateway,
        };
        enable_ip_forward()?;
        if endpoint.ports.is_empty() {
            // This container adds no rule: the chains only need checking
            // (and repairing, if someone flushed them), which may finish
            // while the container starts.
            let root = self.root.clone();
            self.check = Some(
                std::thread::Builder::new()
                    .name("check-chains".into())
                    .spawn(move || check_chains(&root))
                    .context("start a thread to check the iptables chains")?,
            );
            return netlink::configure_container(pid, iface);
        }
        // Its DNAT rules go into chains compared with what `iptables-save`
        // shows; starting it (several ms) overlaps the setup of the
        // container's side.
        let saved = Iptables::from_env().start_save()?;
        netlink::configure_container(pid, iface)?;
        let locked = store.lock()?;
        let networks = locked.networks()?;
        let endpoints = locked.endpoints()?;
        // What the chains held before this container: the same records
        // without its ports.
        let others: Vec<Endpoint> = endpoints
            .iter()
            .filter(|e| e.container_id != endpoint.container_id)
            .cloned()
            .collect();
        let previous = desired_rules(&networks, &others);
        let desired = desired_rules(&networks, &endpoints);
        sync_rules_from(&previous, &desired, Some(saved))
    }
    // ANCHOR_END: wire
}

// ANCHOR: hook
impl Hook for Network {
    fn name(&self) -> &'static str {
        "network"
    }

    fn stage(&self) -> Stage {
        Stage::Network
    }

    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        if let Some(name) = self.network.clone() {
            self.endpoint = Some(self.reserve(spec, &name)?);
        }
        let extra: Vec<(IpAddr, String)> = self
            .extra_hosts
            .iter()
            .filter_map(|h| {
                let ip = h.address.or(self.gateway.map(IpAddr::V4))?;
                Some((ip, h.name.clone()))
            })
            .collect();
        files::write_files(
            &self.files_dir,
            &spec.hostname,
            &self.aliases,
            self.address(),
            &self.dns,
            &extra,
        )?;
        // Now that its own part is written: the others' names into its
        // file, and its names into theirs.
        if let Some(endpoint) = &self.endpoint {
            let locked = Store::new(&self.root).lock()?;
            if let Err(e) = names::refresh(&locked, &endpoint.network) {
                eprintln!(
                    "warning: update the hosts files of network {}: {e:#}",
                    endpoint.network
                );
            }
        }
        Ok(())
    }

    fn attach(&mut self, _spec: &Spec, pid: Pid) -> Result<()> {
        match self.endpoint.clone() {
            Some(endpoint) => self.wire(&endpoint, pid),
            None => Ok(()),
        }
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        netlink::loopback_up()?;
        let Some(rootfs) = spec.rootfs.as_deref() else {
            bail!("the network's /etc files need a root filesystem (chapter 3)");
        };
        // Binds, not copies: the image's own files stay untouched, and out
        // of a later `commit`. Chapter 3's binder keeps them in the rootfs.
        for (source, inside) in self.files() {
            bind_into_rootfs(rootfs, &source, Path::new(inside), false)
                .with_context(|| format!("bind-mount {} on {inside}", source.display()))?;
        }
        Ok(())
    }

    fn cleanup(&mut self, spec: &Spec) -> Result<()> {
        let files = files::remove_files(&self.files_dir);
        let network = if self.network.is_some() {
            let (released, veth) = release(&self.root, &spec.id);
            self.veth = veth;
            released
        } else {
            Ok(())
        };
        self.endpoint = None;
        network.and(files)
    }

    /// The last thing the hook does, after every other hook's cleanup: the
    /// kernel removed the veth with the container's namespace meanwhile,
    /// or is about to, and the check of the chains (a short-lived container
    /// may end before it does) has finished or is about to. Waiting for
    /// both here, not in `cleanup`, lets them overlap each other and the
    /// other hooks' work (unmounting, removing cgroups); waiting at all
    /// means that when `run` returns, nothing of the container is left.
    /// The container ran either way: what goes wrong is only a warning.
    fn finish(&mut self, _spec: &Spec, _end: &End) -> Result<()> {
        if let Some(veth) = self.veth.take() {
            if let Err(e) = veth.wait(VETH_PATIENCE) {
                eprintln!("warning: remove the veth of the container: {e:#}");
            }
        }
        if let Some(check) = self.check.take() {
            match check.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("warning: check mydocker's iptables chains: {e:#}"),
                Err(_) => eprintln!("warning: the thread checking the iptables chains panicked"),
            }
        }
        Ok(())
    }
}
// ANCHOR_END: hook

/// Compares mydocker's chains with the records and rewrites them if they
/// differ: what a start that adds no rule does, on a thread of its own.
fn check_chains(root: &Path) -> Result<()> {
    let iptables = Iptables::from_env();
    let current = iptables.current()?;
    let locked = Store::new(root).lock()?;
    let desired = desired_rules(&locked.networks()?, &locked.endpoints()?);
    match change_plan(&desired, &desired, &current) {
        Plan::Nothing => Ok(()),
        Plan::Change(_) | Plan::Rewrite => iptables.apply(&desired),
    }
}

// ANCHOR: release
/// Undoes container `id`'s network attachment from what is on disk: deletes
/// its veth, releases its address and ports, and deletes its DNAT rules.
/// Does nothing for a container without one, so it is safe to call for
/// any container, any number of times (chapter 6 calls it for containers
/// whose `mydocker` process died).
pub fn release_container(root: &Path, id: &str) -> Result<()> {
    let (released, veth) = release(root, id);
    let gone = veth.map_or(Ok(false), |veth| veth.wait(VETH_PATIENCE));
    released
        .and(gone.map(drop))
        .with_context(|| format!("release the network of container {}", short(id)))
}

/// [`release_container`] but the wait for the veth: returns a watch on it,
/// if it is still there.
fn release(root: &Path, id: &str) -> (Result<()>, Option<LinkWatch>) {
    let store = Store::new(root);
    if !store.exists() {
        return (Ok(()), None);
    }
    let mut veth = None;
    let released = (|| {
        let locked = store.lock()?;
        let endpoint = locked.endpoint(id)?;
        let mut first_error = None;
        // Only its DNAT rules were its own. Their deletion starts first: on
        // nf_tables it ends with a grace period, which passes meanwhile.
        let iptables = Iptables::from_env();
        let removal = match &endpoint {
            Some(endpoint) => iptables.start_remove(&port_rules(endpoint)),
            None => Ok(None),
        };
        // The veth pair dies with the container's namespace, which the
        // kernel is usually tearing down by now. The watch lets it finish,
        // and deletes the veth only if something still holds the namespace.
        if let Some(endpoint) = &endpoint {
            match LinkWatch::new(&endpoint.host_veth) {
                Ok(watch) => veth = watch,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let networks = locked.networks()?;
        for network in &networks {
            let mut ipam = locked.ipam(network)?;
            if !ipam.release(id).is_empty() {
                if let Err(e) = locked.save_ipam(&network.name, &ipam, Durability::Volatile) {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(endpoint) = &endpoint {
            if let Err(e) = locked.remove_endpoint(id) {
                first_error.get_or_insert(e);
            }
            // Its names leave the others' hosts files.
            if let Err(e) = names::refresh(&locked, &endpoint.network) {
                first_error.get_or_insert(e);
            }
        }
        // If the rules were not what the records said, rewrite the chains
        // from the records.
        let removed = match removal {
            Ok(Some(restore)) => restore.finish(),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if removed.is_err() {
            let desired = desired_rules(&networks, &locked.endpoints()?);
            if let Err(e) = iptables.apply(&desired) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    })();
    (released, veth)
}
// ANCHOR_END: release

// ANCHOR: removal
/// [`release_container`] as one of `rm`'s releases.
pub fn release_network(root: &Path, record: &Record) -> Result<()> {
    release_container(root, &record.id)
}

/// Chapter 4's `rm`, releasing the container's network too.
pub fn removal(root: &Path, store: ContainerStore) -> Removal {
    Removal::with_store(root, store).releasing(release_network)
}
// ANCHOR_END: removal

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

// ANCHOR: veth_name
/// The host end of the container's veth pair: `veth` and the first seven
/// hex digits of its id, or more digits if another container already has
/// that name. At most 15 bytes, the kernel's limit for interface names.
fn veth_name(id: &str, endpoints: &[Endpoint]) -> Result<String> {
    let hex: String = id.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (7..=11)
        .filter(|&n| n <= hex.len())
        .map(|n| format!("veth{}", &hex[..n]))
        .find(|name| {
            endpoints
                .iter()
                .all(|e| &e.host_veth != name || e.container_id == id)
        })
        .ok_or_else(|| anyhow!("no free veth name for container {}", short(id)))
}

// ANCHOR_END: veth_name

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: &str, veth: &str) -> Endpoint {
        Endpoint {
            container_id: id.into(),
            network: "n".into(),
            bridge: "n".into(),
            address: "10.0.0.2".parse().unwrap(),
            host_veth: veth.into(),
            ports: vec![],
            names: vec![],
            hosts_file: None,
        }
    }

    #[test]
    fn veth_names() {
        let id = "1a2b3c4d5e6f7a8b9c0d";
        assert_eq!(veth_name(id, &[]).unwrap(), "veth1a2b3c4");
        let taken = [endpoint("1a2b3c4ffff", "veth1a2b3c4")];
        assert_eq!(veth_name(id, &taken).unwrap(), "veth1a2b3c4d");
    }

    #[test]
    fn options_are_checked_up_front() {
        let root = Path::new("/nonexistent");
        let args = |net: Option<&str>, p: &[&str]| Attachment {
            network: net.map(String::from),
            ports: p.iter().map(|p| p.parse().unwrap()).collect(),
            ..Default::default()
        };
        assert!(Network::new(root, &args(None, &["81:81"])).is_err());
        assert!(Network::new(root, &args(Some("host"), &[])).is_err());
        assert!(Network::new(root, &args(Some("none"), &["1:1"])).is_err());
        let net = Network::new(root, &args(Some("none"), &[]))
            .unwrap()
            .files_in("/x");
        assert!(net.network.is_none());
        assert_eq!(net.files()[1], (PathBuf::from("/x/hosts"), "/etc/hosts"));
    }

    #[test]
    fn release_of_nothing_is_fine() {
        let root = tempfile::tempdir().unwrap();
        release_container(root.path(), "abc").unwrap();
        assert!(!root.path().join("networks").exists());
    }
}
