#!/usr/bin/env bash
# The seed's walkthrough as a student types it, in the host's own network
# namespace: only ever run inside the test VM (scripts/vm/suite.sh), whose
# network namespace is a machine of our own.
#
#   1. what the host's network looks like (links, addresses, routes, every
#      iptables table, ip_forward), written down;
#   2. `make net`, which must say what it changes first;
#   3. `make d1` and `make d2`, two interactive shells on a terminal each
#      (script(1) gives them a pty; we type into them through a fifo);
#   4. the seed's steps: d1 and d2 ping each other and 114.114.114.114 (the
#      VM's upstream namespace answers for it), `nc -lp 81` in d1 and
#      `nc -lp 82` in d2 reached with `telnet 192.168.10.1 81` as typed and
#      through the host's own address;
#   5. both shells exit, `make net-down`, and the host's network must be
#      exactly as written down in 1;
#   6. the same in a lab: `make LAB=1 net; make LAB=1 lab-down;
#      make LAB=1 net; make LAB=1 lab-down` twice in a row, and the host's
#      network is still as in 1.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${MDVM:-}" != 1 ]; then
    echo "walkthrough: this changes the host's own network; it runs only in the test VM" >&2
    echo "             (scripts/vm.sh run scripts/vm/walkthrough.sh)" >&2
    exit 2
fi

work=$(mktemp -d /tmp/walkthrough.XXXXXX)
fail() {
    echo "walkthrough: $*"
    for log in "$work"/*.out; do
        [ -e "$log" ] && { echo "--- $(basename "$log")"; tr -d '\r' <"$log" | tail -40; }
    done
    exit 1
}

# The host's network, in a form that compares: counters and comments out.
network_state() {
    ip -o link show | sed -e 's/ qlen [0-9]*//'
    ip -o addr show | sed -e "s/ tentative//"  # IPv6 duplicate address detection may still run
    ip route show
    iptables-save | grep -v '^#' | sed -e 's/\[[0-9]*:[0-9]*\]//'
    echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
}

# A terminal for `make NAME`: its input is the fifo $work/NAME.in (kept
# open on a descriptor of ours), its screen goes to $work/NAME.out.
open_terminal() {
    local name=$1 fd
    mkfifo "$work/$name.in"
    script -qfec "make $name" /dev/null <"$work/$name.in" >"$work/$name.out" 2>&1 &
    eval "pid_$name=$!"
    exec {fd}>"$work/$name.in"
    eval "fd_$name=$fd"
}

# Types a line into terminal NAME.
type_in() {
    local fd_var=fd_$1
    printf '%s\n' "$2" >&"${!fd_var}"
}

# Waits (up to $3 s, default 30) until terminal NAME shows PATTERN.
wait_for() {
    local name=$1 pattern=$2 wait=${3:-30} i
    for ((i = 0; i < wait * 10; i++)); do
        tr -d '\r' <"$work/$name.out" | grep -q -- "$pattern" && return 0
        sleep 0.1
    done
    fail "$name never showed \"$pattern\""
}

# Runs CMD in terminal NAME and waits for its exit status 0 (the marker is
# typed as `ok$?`, so the terminal's echo of the line cannot match "ok0").
run_in() {
    local name=$1 cmd=$2 tag=$3
    type_in "$name" "$cmd; echo $tag-ok\$?"
    wait_for "$name" "$tag-ok0" 60
}

network_state >"$work/before"
# Compares the host's network with what it was before `make net`.
as_before() {
    network_state >"$work/after"
    diff "$work/before" "$work/after" || fail "$1"
}

# --- 2. make net
out=$(make net 2>&1) || fail "make net: $out"
echo "$out"
for line in "make net changes THIS MACHINE's own network" "bridge    testbridge" \
    "net.ipv4.ip_forward=1" "MYDOCKER-FORWARD" "make net-down undoes all of it"; do
    grep -qF -- "$line" <<<"$out" || fail "make net did not say \"$line\" first"
done

# --- 3. the two containers, each on its own terminal
open_terminal d1
wait_for d1 '/ # '
open_terminal d2
wait_for d2 '/ # '
run_in d1 'ifconfig eth0 | grep "inet addr:192.168.10.2 "' d1-addr
run_in d2 'ifconfig eth0 | grep "inet addr:192.168.10.3 "' d2-addr

# --- 4. the seed's steps
run_in d1 'ping -c 2 -W 5 192.168.10.3' d1-ping-d2
run_in d2 'ping -c 2 -W 5 192.168.10.2' d2-ping-d1
run_in d1 'ping -c 2 -W 5 114.114.114.114' d1-ping-out
run_in d2 'ping -c 2 -W 5 114.114.114.114' d2-ping-out

host_addr=$(ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
# Each `nc -lp` serves one connection; `telnet` sends a line, and its input
# stays open a moment so the line goes out before telnet leaves.
reach() {
    local name=$1 port=$2 addr=$3 word=$4 out
    type_in "$name" "nc -lp $port"
    sleep 1
    out=$({ echo "$word"; sleep 2; } | telnet "$addr" "$port" 2>&1)
    grep -q "Connected to $addr" <<<"$out" || fail "telnet $addr $port: $out"
    wait_for "$name" "^$word"
    echo "telnet $addr $port: reached $name"
}
reach d1 81 192.168.10.1 hello-d1-via-bridge
reach d1 81 "$host_addr" hello-d1-via-host
reach d2 82 192.168.10.1 hello-d2-via-bridge
reach d2 82 "$host_addr" hello-d2-via-host

# --- 5. leave, undo, compare
for name in d1 d2; do
    type_in "$name" exit
    pid_var=pid_$name
    fd_var=fd_$name
    wait "${!pid_var}" || fail "make $name exited $?"
    eval "exec ${!fd_var}>&-"
done
./bin/mydocker ps -aq | xargs -r ./bin/mydocker rm -f >/dev/null
out=$(make net-down 2>&1) || fail "make net-down: $out"
as_before "the host's network is not as before make net"
echo "make net-down: the host's network is exactly as before"

# --- 6. the lab, twice in a row
# Each round leaves no lab behind (its last lab-down), so the next one
# starts as the first did.
for round in 1 2; do
    for goal in net lab-down net lab-down; do
        out=$(make LAB=1 "$goal" 2>&1) || fail "round $round: make LAB=1 $goal: $out"
        if [ "$goal" = net ]; then
            grep -q "make net changes the lab network namespace" <<<"$out" || fail "make LAB=1 net: $out"
        fi
    done
    echo "round $round: make LAB=1 net; make LAB=1 lab-down; make LAB=1 net; make LAB=1 lab-down: ok"
done
as_before "the lab changed the host's network"
rm -rf "$work"
echo "walkthrough: every step passed"
