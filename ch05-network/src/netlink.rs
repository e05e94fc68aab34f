//! Links, addresses and routes, through rtnetlink: the same messages
//! `ip link`, `ip addr` and `ip route` send to the kernel, without running
//! them.
//!
//! rtnetlink is asynchronous (tokio). mydocker is not: it must `clone` the
//! container while it is still a single thread, so no runtime may exist
//! before that. Each function here therefore builds a small current-thread
//! runtime for its own work and drops it when done: no thread is left
//! behind, and nothing is shared.
//!
//! A netlink socket talks to the network namespace of the thread that
//! opened it. To configure the inside of a container, [`configure_container`]
//! starts a thread, moves only that thread into the container's network
//! namespace with `setns(2)`, and opens its socket there.

use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{StreamExt, TryStreamExt};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo};
use rtnetlink::{
    Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth, MulticastGroup,
    RouteMessageBuilder, new_connection, new_multicast_connection,
};

/// The container's interface name, as Docker names it.
pub const CONTAINER_IFNAME: &str = "eth0";

/// Turns an rtnetlink error into the kernel's errno where there is one, so
/// messages read like every other system call error in mydocker.
fn nl_error(err: rtnetlink::Error) -> anyhow::Error {
    match errno(&err) {
        Some(e) => anyhow::Error::new(e),
        None => anyhow!("{err}"),
    }
}

fn errno(err: &rtnetlink::Error) -> Option<Errno> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| Errno::from_raw(-c.get())),
        _ => None,
    }
}

/// `Ok(())` when `result` failed only because the thing already exists.
fn exists_ok(result: Result<(), rtnetlink::Error>) -> Result<(), rtnetlink::Error> {
    match result {
        Err(e) if errno(&e) == Some(Errno::EEXIST) => Ok(()),
        other => other,
    }
}

// ANCHOR: block_on
/// Runs `work` with a netlink handle on a current-thread runtime that lives
/// only for this call.
pub fn block_on<T, F, Fut>(work: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("build a tokio runtime for netlink")?;
    runtime.block_on(async move {
        let (connection, handle, _) = new_connection().context("open a netlink socket")?;
        let connection = tokio::spawn(connection);
        let result = work(handle).await;
        connection.abort();
        result
    })
}
// ANCHOR_END: block_on

/// The index of link `name`, or `None` if there is no such link.
pub async fn link_index(handle: &Handle, name: &str) -> Result<Option<u32>> {
    Ok(link(handle, name).await?.map(|(index, _)| index))
}

/// The index and kind (`bridge`, `veth`, ...) of link `name`.
async fn link(handle: &Handle, name: &str) -> Result<Option<(u32, Option<InfoKind>)>> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(msg)) => {
            let kind = msg.attributes.iter().find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(kind) => Some(kind.clone()),
                    _ => None,
                }),
                _ => None,
            });
            Ok(Some((msg.header.index, kind)))
        }
        Ok(None) => Ok(None),
        Err(e) if errno(&e) == Some(Errno::ENODEV) => Ok(None),
        Err(e) => Err(nl_error(e)).with_context(|| format!("look up link {name}")),
    }
}

async fn set_up(handle: &Handle, index: u32, name: &str) -> Result<()> {
    handle
        .link()
        .change(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl_error)
        .with_context(|| format!("set link {name} up"))
}

// ANCHOR: bridge
/// Makes sure bridge `name` exists with address `gateway/prefix` and is up:
/// creates it if it is missing (after a reboot, say). Refuses a link of that
/// name that is not a bridge. Returns the bridge's index and whether it was
/// created now.
pub async fn ensure_bridge(
    handle: &Handle,
    name: &str,
    gateway: Ipv4Addr,
    prefix: u8,
) -> Result<(u32, bool)> {
    let (index, created) = match link(handle, name).await? {
        Some((index, Some(InfoKind::Bridge))) => (index, false),
        Some(_) => bail!("interface {name} exists and is not a bridge"),
        None => {
            handle
                .link()
                .add(LinkBridge::new(name).build())
                .execute()
                .await
                .map_err(nl_error)
                .with_context(|| format!("create bridge {name}"))?;
            let index = link_index(handle, name)
                .await?
                .ok_or_else(|| anyhow!("bridge {name} vanished after it was created"))?;
            (index, true)
        }
    };
    // The bridge is the containers' gateway: it holds the gateway address,
    // and the kernel adds the route to the subnet through it.
    exists_ok(
        handle
            .address()
            .add(index, IpAddr::V4(gateway), prefix)
            .execute()
            .await,
    )
    .map_err(nl_error)
    .with_context(|| format!("add address {gateway}/{prefix} to bridge {name}"))?;
    set_up(handle, index, name).await?;
    Ok((index, created))
}
// ANCHOR_END: bridge

/// Creates a bridge that must not exist yet.
pub fn create_bridge(name: &str, gateway: Ipv4Addr, prefix: u8) -> Result<()> {
    block_on(|h| async move {
        if link_index(&h, name).await?.is_some() {
            bail!("interface {name} already exists on this host");
        }
        let result = ensure_bridge(&h, name, gateway, prefix).await;
        if result.is_err() {
            // Undo a half-configured bridge; it was ours, created just now.
            let _ = delete(&h, name).await;
        }
        result.map(drop)
    })
}

/// Deletes link `name`; `Ok(false)` if it did not exist.
pub async fn delete(handle: &Handle, name: &str) -> Result<bool> {
    let Some(index) = link_index(handle, name).await? else {
        return Ok(false);
    };
    match handle.link().del(index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(Errno::ENODEV) => Ok(false),
        Err(e) => Err(nl_error(e)).with_context(|| format!("delete link {name}")),
    }
}

/// Deletes link `name` if it exists; true if it did.
pub fn delete_link(name: &str) -> Result<bool> {
    block_on(|h| async move { delete(&h, name).await })
}

// ANCHOR: await_link_gone
/// Waits up to `patience` for link `name` to disappear on its own, then
/// deletes it if it is still there; true if it had to.
///
/// A veth pair dies with the network namespace of either end, and the
/// kernel tears a namespace down in the background as soon as nothing
/// holds it any more: right after the container's last process is gone,
/// the host end is usually already on its way out. Deleting it ourselves
/// then races that teardown and waits for every pending RCU callback
/// (`rcu_barrier`, about 20 ms on the book's machine); listening for the
/// kernel's own `RTM_DELLINK` does not. Only if the namespace is still
/// held (someone has it open) does the deletion fall to us.
pub fn await_link_gone(name: &str, patience: Duration) -> Result<bool> {
    match LinkWatch::new(name)? {
        Some(watch) => watch.wait(patience),
        None => Ok(false),
    }
}

/// A watch on the removal of one link, set up now and waited for later:
/// the kernel queues its `RTM_DELLINK` on the watch's socket meanwhile, so
/// the caller can do other work while the kernel tears the link down.
pub struct LinkWatch {
    name: String,
    runtime: tokio::runtime::Runtime,
    /// The socket that receives the link events.
    events_connection: tokio::task::JoinHandle<()>,
    /// The socket for requests (the lookup, a deletion).
    connection: tokio::task::JoinHandle<()>,
    handle: Handle,
    removed: Pin<Box<dyn Future<Output = bool> + Send>>,
}

impl LinkWatch {
    /// Starts watching link `name`; `None` if there is no such link (it is
    /// gone already).
    pub fn new(name: &str) -> Result<Option<LinkWatch>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("build a tokio runtime for netlink")?;
        let (events_connection, connection, handle, mut events, index) =
            runtime.block_on(async {
                // Subscribed before looking, so a removal in between is not missed.
                let (events_connection, _, events) =
                    new_multicast_connection(&[MulticastGroup::Link])
                        .context("open a netlink socket for link events")?;
                let events_connection = tokio::spawn(events_connection);
                // Requests go over a socket of their own. The subscribed one
                // receives every link event of the namespace, and when many
                // containers start or stop at once its receive buffer overflows:
                // the kernel then drops what does not fit, the answer to a
                // request included, and that request would wait forever.
                let (connection, handle, _) = match new_connection() {
                    Ok(c) => c,
                    Err(e) => {
                        events_connection.abort();
                        return Err(anyhow::Error::new(e).context("open a netlink socket"));
                    }
                };
                let connection = tokio::spawn(connection);
                match link_index(&handle, name).await {
                    Ok(index) => Ok((events_connection, connection, handle, events, index)),
                    Err(e) => {
                        events_connection.abort();
                        connection.abort();
                        Err(e)
                    }
                }
            })?;
        let Some(index) = index else {
            events_connection.abort();
            connection.abort();
            return Ok(None);
        };
        let removed = Box::pin(async move {
            while let Some((message, _)) = events.next().await {
                if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) =
                    message.payload
                {
                    if link.header.index == index {
                        return true;
                    }
                }
            }
            false
        });
        Ok(Some(LinkWatch {
            name: name.to_string(),
            runtime,
            events_connection,
            connection,
            handle,
            removed,
        }))
    }

    /// Waits up to `patience` for the link's `RTM_DELLINK`, then deletes
    /// the link if it is still there; true if it had to.
    pub fn wait(self, patience: Duration) -> Result<bool> {
        let LinkWatch {
            name,
            runtime,
            events_connection,
            connection,
            handle,
            removed,
        } = self;
        runtime.block_on(async move {
            let result = if tokio::time::timeout(patience, removed).await == Ok(true) {
                Ok(false)
            } else {
                delete(&handle, &name).await
            };
            events_connection.abort();
            connection.abort();
            result
        })
    }
}
// ANCHOR_END: await_link_gone

/// True if link `name` exists in the current network namespace.
pub fn link_exists(name: &str) -> Result<bool> {
    block_on(|h| async move { Ok(link_index(&h, name).await?.is_some()) })
}

// ANCHOR: veth
/// Creates the veth pair whose end `host` is a port of `bridge`, up, and
/// whose other end is born inside the network namespace of process `pid`
/// as `eth0`.
///
/// A veth pair is a virtual cable: what goes in one end comes out of the
/// other. One end stays on the host as a port of the bridge; the other is
/// the container's `eth0`.
///
/// One `RTM_NEWLINK` does it all: the peer's attributes carry the target
/// namespace (`IFLA_NET_NS_FD`) and the name, the host end's carry the
/// bridge (`IFLA_MASTER`) and the up flag. Creating the pair on the host and
/// moving the peer afterwards, as `ip link set PEER netns PID` does, costs
/// far more: moving a device between namespaces waits for an RCU grace
/// period (about 14 ms on the book's machine), and the peer must then be
/// renamed inside.
pub fn create_veth(host: &str, bridge: &str, pid: Pid) -> Result<()> {
    let netns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&netns_path).with_context(|| format!("open {netns_path}"))?;
    block_on(|h| async move {
        let bridge_index = link_index(&h, bridge)
            .await?
            .ok_or_else(|| anyhow!("bridge {bridge} does not exist"))?;
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(CONTAINER_IFNAME)
            .setns_by_fd(netns.as_raw_fd())
            .build();
        let pair = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(host)
            .controller(bridge_index)
            .up()
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        h.link()
            .add(pair)
            .execute()
            .await
            .map_err(nl_error)
            .with_context(|| {
                format!("create veth {host} on {bridge} with {CONTAINER_IFNAME} in {netns_path}")
            })?;
        let host_index = link_index(&h, host)
            .await?
            .ok_or_else(|| anyhow!("veth {host} vanished after it was created"))?;
        // Hairpin mode lets the bridge send a frame back out of the port it
        // came in on. A container that reaches its own published port through
        // a host address needs it when bridge-nf-call-iptables is on: the
        // DNAT then happens while the frame is being bridged, and the new
        // destination sits behind the very port the frame came from.
        h.link()
            .set_port(LinkBridgePort::new(host_index).hairpin(true).build())
            .execute()
            .await
            .map_err(nl_error)
            .with_context(|| format!("turn on hairpin mode on {host}"))?;
        Ok(())
    })
}
// ANCHOR_END: veth

/// The container's side of an attachment: its address and gateway.
#[derive(Debug, Clone, Copy)]
pub struct Interface {
    /// The container's address.
    pub address: Ipv4Addr,
    /// The subnet's prefix length.
    pub prefix: u8,
    /// The default route's next hop: the bridge.
    pub gateway: Ipv4Addr,
}

// ANCHOR: loopback_up
/// Brings `lo` up in the network namespace of the calling process: the two
/// `ioctl`s under `ip link set lo up` (read the flags, add `IFF_UP`).
///
/// The kernel creates every new network namespace with its `lo` down, so
/// without this even `127.0.0.1` is unreachable inside. The container's
/// child calls it in `enter`, where it already is in its own namespace: no
/// thread has to join the namespace and no netlink runtime has to be built
/// just for this (a container without a network needs nothing else).
pub fn loopback_up() -> Result<()> {
    use nix::libc;
    use std::os::fd::{FromRawFd, OwnedFd};
    // Any socket will do: these ioctls act on the namespace's interfaces.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("socket for the loopback ioctls");
    }
    // SAFETY: a new descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write `req`, which
    // lives across both calls.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error()).context("ioctl SIOCGIFFLAGS on lo");
    }
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(std::io::Error::last_os_error()).context("set lo up (ioctl SIOCSIFFLAGS)");
    }
    Ok(())
}
// ANCHOR_END: loopback_up

// ANCHOR: configure_container
/// Inside the network namespace of process `pid`: gives `eth0` its
/// address, brings it up and adds the default route via the gateway.
/// (`lo` the child brings up itself: [`loopback_up`].)
///
/// The work runs on a thread of its own that joins the container's network
/// namespace with `setns(2)`. Only that thread changes namespace (a network
/// namespace, unlike a mount namespace, can be joined by one thread of a
/// multi-threaded process), the rest of mydocker stays on the host, and the
/// thread's namespace goes away with the thread.
pub fn configure_container(pid: Pid, iface: Interface) -> Result<()> {
    let netns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&netns_path).with_context(|| format!("open {netns_path}"))?;
    let thread = std::thread::Builder::new()
        .name("container-netns".into())
        .spawn(move || -> Result<()> {
            nix::sched::setns(&netns, CloneFlags::CLONE_NEWNET)
                .with_context(|| format!("setns into {netns_path}"))?;
            block_on(|h| async move { configure_eth0(&h, iface).await })
        })
        .context("start a thread for the container's network namespace")?;
    thread
        .join()
        .map_err(|_| anyhow!("the container network thread panicked"))?
}

async fn configure_eth0(h: &Handle, iface: Interface) -> Result<()> {
    let index = link_index(h, CONTAINER_IFNAME)
        .await?
        .ok_or_else(|| anyhow!("the container has no {CONTAINER_IFNAME}"))?;
    let Interface {
        address,
        prefix,
        gateway,
    } = iface;
    exists_ok(
        h.address()
            .add(index, IpAddr::V4(address), prefix)
            .execute()
            .await,
    )
    .map_err(nl_error)
    .with_context(|| format!("add address {address}/{prefix} to {CONTAINER_IFNAME}"))?;
    set_up(h, index, CONTAINER_IFNAME).await?;
    let route = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(gateway)
        .output_interface(index)
        .build();
    exists_ok(h.route().add(route).execute().await)
        .map_err(nl_error)
        .with_context(|| format!("add default route via {gateway}"))
}
// ANCHOR_END: configure_container
