#!/usr/bin/env bash
# `make LAB=1 lab-down` leaves nothing behind: after `make LAB=1 net`, a
# container running in the lab, and `make LAB=1 lab-down`, there is no lab
# namespace, no record under the lab's root, no container cgroup and no
# mount; and the next `make LAB=1 net` works (before, it failed with
# "network with name testbridge already exists"). Two rounds in a row.
#
# The lab has a name and a root of this test's own (LAB_NAME, LAB_ROOT), so
# a lab someone is using is not touched.
set -euo pipefail
TEST_NAME=lab-down
. "$(dirname "$0")/lib.sh"

require_root "$TEST_NAME" || exit 0
[ -f /root/busybox.tar ] || {
    [ "${MYDOCKER_NO_SKIP:-}" = 1 ] && fail "no /root/busybox.tar (run make init)"
    echo "skipping $TEST_NAME: no /root/busybox.tar (run make init)" >&2
    exit 0
}

cd "$WORKSPACE"
lab=mdt$$
root=$(mktemp -d -u /tmp/mydocker-lab-test.XXXXXX)
cleanup() {
    # Should lab-down have failed: the containers first (each in namespaces
    # of its own, which removing the lab would not reach), then the lab.
    if ip netns list | awk '{print $1}' | grep -qx "$lab"; then
        local md="scripts/lab.sh exec $lab env MYDOCKER_ROOT=$root ./bin/mydocker" ids
        ids=$($md ps -aq 2>/dev/null) || true
        [ -z "$ids" ] || $md rm -f $ids >/dev/null 2>&1 || true
    fi
    scripts/lab.sh down "$lab" 2>/dev/null || true
    if [ -d "$root" ] && ! awk '{print $5}' /proc/self/mountinfo | grep -q "^$root/"; then
        rm -rf "$root"
    fi
}
trap cleanup EXIT
mk() { make --no-print-directory LAB=1 LAB_NAME="$lab" LAB_ROOT="$root" "$@" 2>&1; }

# The containers' cgroups, in every hierarchy (v1, v2 or both).
cgroups() { ls -d /sys/fs/cgroup/mydocker/*/ /sys/fs/cgroup/*/mydocker/*/ 2>/dev/null | sort || true; }
cgroups_before=$(cgroups)

for round in 1 2; do
    out=$(mk net) || fail "round $round: make LAB=1 net failed: $out"
    id=$(scripts/lab.sh exec "$lab" env MYDOCKER_ROOT="$root" ./bin/mydocker \
        run -d --network testbridge busybox sleep 600 2>&1) ||
        fail "round $round: a container in the lab did not start: $id"
    [ "$(cgroups)" != "$cgroups_before" ] || fail "round $round: the container has no cgroup to check"

    out=$(mk lab-down) || fail "round $round: make LAB=1 lab-down failed: $out"
    for ns in "$lab" "$lab-inet"; do
        ! ip netns list | awk '{print $1}' | grep -qx "$ns" || fail "round $round: netns $ns left"
    done
    [ ! -e "$root" ] || fail "round $round: records left in $root: $(find "$root" | head)"
    ! awk '{print $5}' /proc/self/mountinfo | grep -q "^$root/" || fail "round $round: mounts left under $root"
    [ "$(cgroups)" = "$cgroups_before" ] ||
        fail "round $round: cgroups left: $(diff <(echo "$cgroups_before") <(cgroups))"
done
# With no lab at all, lab-down has nothing to do, and that is no error.
out=$(mk lab-down) || fail "make LAB=1 lab-down without a lab failed: $out"
echo "ok $TEST_NAME"
