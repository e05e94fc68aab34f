#!/usr/bin/env bash
# `make net` then `make net-down` leave a network namespace exactly as they
# found it: the same `ip link`, `ip addr`, `iptables-save` (less its dated
# comment lines) and `net.ipv4.ip_forward`. Run in a fresh namespace of its
# own (`unshare -n`), so `make net` without LAB=1 changes nothing of the
# machine's, with a data root of its own (MYDOCKER_ROOT).
#
# Twice: in a namespace as new as it gets (forwarding off, no iptables table
# at all), and in one whose forwarding is on and whose filter table holds a
# rule of someone else's (both must stay). In between it checks that `make
# net` said what it would change before changing it, and did.
set -euo pipefail
TEST_NAME=net-down
. "$(dirname "$0")/lib.sh"

if [ "${NET_DOWN_IN_NETNS:-}" != 1 ]; then
    require_root "$TEST_NAME" || exit 0
    # A namespace that dies with the test: nothing to clean up after it.
    exec unshare --net env NET_DOWN_IN_NETNS=1 "$0" "$@"
fi

cd "$WORKSPACE"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
export MYDOCKER_ROOT=$root

snapshot() {
    ip link
    ip addr
    iptables-save | grep -v '^#' || true
    sysctl net.ipv4.ip_forward
}

round() {
    local what=$1 before after out addr
    before=$(snapshot)
    out=$(make --no-print-directory net 2>&1) || fail "$what: make net failed: $out"
    # What it changes is said before `network create` prints the name.
    local said made
    said=$(grep -n 'make net-down undoes' <<<"$out" | cut -d: -f1)
    made=$(grep -nx 'testbridge' <<<"$out" | cut -d: -f1)
    [ -n "$said" ] && [ -n "$made" ] && [ "$said" -lt "$made" ] ||
        fail "$what: make net did not say what it changes before changing it: $out"
    for word in 'bridge    testbridge' 'ip_forward=1' MYDOCKER-POSTROUTING MYDOCKER-FORWARD; do
        grep -qF -- "$word" <<<"$out" || fail "$what: make net did not mention $word: $out"
    done
    # ...and it did what it said.
    # Read whole before grep: `grep -q` stops at the first match, and with
    # pipefail the writer's SIGPIPE would fail the check.
    addr=$(ip -o addr show dev testbridge 2>&1) || true
    grep -q 'inet 192.168.10.1/24' <<<"$addr" ||
        fail "$what: no bridge testbridge with 192.168.10.1/24"
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "$what: ip_forward is not on"
    iptables -S MYDOCKER-FORWARD >/dev/null 2>&1 || fail "$what: no chain MYDOCKER-FORWARD"

    out=$(make --no-print-directory net-down 2>&1) || fail "$what: make net-down failed: $out"
    after=$(snapshot)
    [ "$before" = "$after" ] ||
        fail "$what: the namespace changed: $(diff <(echo "$before") <(echo "$after"))"
    # Nothing left to undo, and saying so is not an error.
    out=$(make --no-print-directory net-down 2>&1) || fail "$what: a second make net-down failed: $out"
    grep -q 'nothing to undo' <<<"$out" || fail "$what: a second make net-down said: $out"
    [ -z "$(ls "$root/networks/"*.json "$root/networks/host" 2>/dev/null)" ] ||
        fail "$what: records left in $root/networks"
}

round "a new namespace"
sysctl -qw net.ipv4.ip_forward=1
# TEST-NET-3 (203.0.113.0/24): an address of nobody's, in a rule that only
# has to be there afterwards.
iptables -A INPUT -s 203.0.113.9 -j DROP
round "forwarding on, a rule of someone else's"
echo "ok $TEST_NAME"
