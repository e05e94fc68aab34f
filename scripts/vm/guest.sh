#!/bin/sh
# The VM's init once its root is mounted (scripts/vm/init hands over here):
# make the machine a student's machine would be, then run the job.
#
#   - pure cgroup v2: only the unified hierarchy is mounted, as systemd does
#     on Debian 12, Ubuntu 22.04 and Fedora; the v1 controllers stay unbound,
#     so every controller is available in v2;
#   - the kernel's modules at /lib/modules/VERSION, loaded on demand;
#   - an eth0 with an address and a default route, as a host has. Its other
#     end is in a network namespace of the VM, "upstream", which stands for
#     the router and the internet: it answers for 10.0.2.2 (the gateway) and
#     114.114.114.114 (the address the seed pings). The VM has no network
#     device, so nothing leaves it;
#   - mydocker's roots, /tmp and /var/tmp empty tmpfs (an overlay upper
#     directory may not be on the overlayfs that is the VM's root).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/root/.cargo/bin
export HOME=/root LC_ALL=C
job=/mnt/vmjob

mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
set -a
. "$job/env"
set +a
# The workspace (a CI clone, say) and cargo's target directory may live
# under /tmp or /var/tmp, which get empty tmpfs below: bound aside first,
# they are moved back on top afterwards.
kept=""
n=0
for dir in "$mdvm_workspace" "${CARGO_TARGET_DIR:-}"; do
    case "$dir" in /tmp/*|/var/tmp/*) ;; *) continue ;; esac
    n=$((n + 1))
    mkdir -p "/run/keep/$n"
    mount --bind "$dir" "/run/keep/$n"
    kept="$kept $n:$dir"
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for dir in /var/lib/mydocker /var/lib/mydocker-lab /var/tmp; do
    mkdir -p "$dir"
    mount -t tmpfs -o mode=700 tmpfs "$dir"
done
for k in $kept; do
    mkdir -p "${k#*:}"
    mount --move "/run/keep/${k%%:*}" "${k#*:}"
done
hostname vm
ip link set lo up
ip netns add upstream
ip link add eth0 type veth peer name uplink netns upstream
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2 dev eth0
ip -n upstream link set lo up
ip -n upstream addr add 114.114.114.114/32 dev lo
ip -n upstream addr add 10.0.2.2/24 dev uplink
ip -n upstream link set uplink up
# Tells the job it runs in the test VM, where the VM's own network may be
# changed (scripts/vm/walkthrough.sh refuses to run anywhere else).
export MDVM=1
# Where a job leaves files for the machine that started the VM.
export MDVM_OUT=$job/out

if [ "$mdvm_mode" = shell ]; then
    cd "$mdvm_workspace"
    echo "vm: $(uname -r), cgroup $(stat -fc %T /sys/fs/cgroup); poweroff -f to leave"
    setsid -c /bin/bash -l </dev/ttyS0 >/dev/ttyS0 2>&1
    poweroff -f
fi

# The tests' own mydocker roots (testkit) hold overlay upper directories,
# which overlayfs refuses on an overlayfs (the VM's root): give them a tmpfs.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    mkdir -p "$CARGO_TARGET_DIR/testkit"
    mount -t tmpfs -o mode=755 tmpfs "$CARGO_TARGET_DIR/testkit"
fi
cd "$mdvm_workspace"
status=0
/bin/bash -c "$(cat "$job/cmd")" </dev/null || status=$?
echo "$status" > "$job/status"
sync
poweroff -f
