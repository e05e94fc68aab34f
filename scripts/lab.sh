#!/bin/sh
# A network lab: two network namespaces that stand for "the host" and "the
# internet", so bridges, veths, NAT and port mappings can be tried without
# touching the machine's own network.
#
#   scripts/lab.sh up NAME          create the lab NAME and its internet NAME-inet
#   scripts/lab.sh down NAME        remove both, with everything in them
#   scripts/lab.sh exec NAME CMD... run CMD inside the lab's network namespace
#   scripts/lab.sh inet NAME CMD... run CMD inside the lab's internet
#
#   NAME-inet (the internet)                 NAME (the lab host)
#   eth0 198.51.100.1/24  <----- veth ----->  eth0 198.51.100.2/24
#                                             default route via 198.51.100.1
#
# The lab's only link leads to a namespace this script created, so nothing a
# lab does can reach the machine's real network. `up` and `down` are
# idempotent: running them twice is harmless.
set -eu

INET_ADDR=198.51.100.1
LAB_ADDR=198.51.100.2
PREFIX=24

usage() {
    echo "usage: $0 up NAME | down NAME | exec NAME CMD... | inet NAME CMD..." >&2
    exit 2
}

has_netns() {
    ip netns list | awk '{print $1}' | grep -qx -- "$1"
}

check_name() {
    case "$1" in
        ''|*/*|.|..) echo "$0: invalid lab name '$1'" >&2; exit 2 ;;
    esac
    # The internet's name must fit the same rules; interface names are not
    # derived from it, so only the namespace name matters.
}

up() {
    lab=$1
    inet=$1-inet
    has_netns "$lab" || ip netns add "$lab"
    has_netns "$inet" || ip netns add "$inet"
    ip -n "$lab" link set lo up
    ip -n "$inet" link set lo up
    if ! ip -n "$lab" link show eth0 >/dev/null 2>&1; then
        # Created from inside the lab with the peer placed straight into the
        # internet namespace: neither end ever exists in the machine's own
        # namespace.
        ip -n "$inet" link del eth0 2>/dev/null || true
        ip -n "$lab" link add eth0 type veth peer name eth0 netns "$inet"
    fi
    ip -n "$lab" addr replace "$LAB_ADDR/$PREFIX" dev eth0
    ip -n "$inet" addr replace "$INET_ADDR/$PREFIX" dev eth0
    ip -n "$lab" link set eth0 up
    ip -n "$inet" link set eth0 up
    ip -n "$lab" route replace default via "$INET_ADDR" dev eth0
}

down() {
    for ns in "$1" "$1-inet"; do
        has_netns "$ns" || continue
        # Processes still inside would keep the namespace (and its bridges
        # and rules) alive after its name is gone. They were all started in
        # this lab, so they are ours to stop.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$pid" 2>/dev/null || true
        done
        ip netns del "$ns"
    done
}

[ $# -ge 2 ] || usage
cmd=$1
name=$2
check_name "$name"
shift 2
case "$cmd" in
    up) [ $# -eq 0 ] || usage; up "$name" ;;
    down) [ $# -eq 0 ] || usage; down "$name" ;;
    # nsenter joins only the network namespace. `ip netns exec` would also
    # mount a fresh /sys, hiding the cgroup hierarchies under /sys/fs/cgroup
    # that mydocker needs for its containers.
    exec) [ $# -ge 1 ] || usage; has_netns "$name" || { echo "$0: no lab $name (run: $0 up $name)" >&2; exit 1; }
          exec nsenter --net="/run/netns/$name" "$@" ;;
    inet) [ $# -ge 1 ] || usage; exec ip netns exec "$name-inet" "$@" ;;
    *) usage ;;
esac
