#!/usr/bin/env bash
# Comparison 2: what a network and a published port add to a run. Inside a
# lab network namespace of its own (scripts/lab.sh), never the machine's:
#
#   none       mydocker run --rm busybox true
#   net        mydocker run --rm --net benchnet busybox true
#   net+port   mydocker run --rm --net benchnet -p 8080:80 busybox true
#   net+port, iptables-legacy
#              the same with MYDOCKER_IPTABLES=iptables-legacy (through
#              `env`), on a network of another data root whose rules live in
#              the legacy tables
#
# `net` costs the bridge port, the veth pair and the addresses (netlink);
# `net+port` adds the DNAT rule, written and removed with iptables.
#
# Writes $RESULTS/network.r*.json. Part of bench/run.sh.
source "$(dirname "$0")/lib.sh"

dir=$WORK/network
root=$dir/root
legacy=$dir/legacy
lab=mdbench-net-$$
finish() {
    set +e
    remove_all "$root" "$lab"
    MYDOCKER_IPTABLES=iptables-legacy remove_all "$legacy" "$lab"
    in_lab "$lab" "$MYDOCKER" --root "$root" network rm benchnet >/dev/null 2>&1
    in_lab "$lab" env MYDOCKER_IPTABLES=iptables-legacy "$MYDOCKER" --root "$legacy" network rm benchleg >/dev/null 2>&1
    lab_down "$lab"
    rm -rf "$dir"
}
begin_part
register "$legacy" "$lab"
busybox_image "$root"
busybox_image "$legacy"
lab_up "$lab"
in_lab "$lab" "$MYDOCKER" --root "$root" network create --driver bridge --subnet 10.77.0.0/24 benchnet >/dev/null
in_lab "$lab" env MYDOCKER_IPTABLES=iptables-legacy "$MYDOCKER" --root "$legacy" \
    network create --driver bridge --subnet 10.75.0.0/24 benchleg >/dev/null

run="$MYDOCKER --root $root run --rm --cgroup-parent $CGROUP_PARENT"
log "the cost of a network and a published port (in lab $lab)"
hf network --in-lab "$lab" -- \
    none "$run busybox true" \
    net "$run --net benchnet busybox true" \
    net+port "$run --net benchnet -p 8080:80 busybox true" \
    "net+port, iptables-legacy" "env MYDOCKER_IPTABLES=iptables-legacy $MYDOCKER --root $legacy run --rm --cgroup-parent $CGROUP_PARENT --net benchleg -p 8081:80 busybox true"
