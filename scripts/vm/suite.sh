#!/usr/bin/env bash
# The VM suite: what only a student's kind of machine can show, run inside
# the test VM (scripts/vm.sh run scripts/vm/suite.sh; `make vm-test`).
#
#   cgroup-v2   chapter 2's tests (OOM kill, memory.events, cpu.max and
#               cpu.stat throttling, cpuset, pids.max, cgroup.kill) on pure v2
#   limits      the final mydocker with limits on v2: 137 and OOMKilled in
#               inspect and ps -a, cpu.max, cpuset, pids.max, and no cgroup
#               left after rm -f
#   network     chapter 5's lab tests with modules loaded on demand
#   faq-forward the FORWARD FAQ's recorded lab, replayed and compared
#   book-v2     chapter 2's v2 recordings (ch02-*-v2), replayed and compared
#   confine     chapter 1's confinement tests on a stock kernel (which has
#               /proc/kcore and /proc/sysrq-trigger), and the final mydocker's
#               default container: capabilities, seccomp mode 2, masks, and
#               a node of the scratch disk made with mknod and refused (v2's
#               device program); --userns=private on the stock kernel
#   walkthrough the seed's walkthrough in the VM's own network namespace
#               (make net, d1, d2, ping, nc and telnet, make net-down), and
#               the lab's make LAB=1 net / lab-down twice in a row
#
# `suite.sh PART...` runs only those parts. Every part runs even when an
# earlier one fails; the suite fails if any did.
set -uo pipefail
cd "$(dirname "$0")/../.."
export MYDOCKER_NO_SKIP=1
failed=()

only=("$@")
part() {
    local name=$1
    shift
    if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then return 0; fi
    echo "=== vm-test: $name"
    if "$@"; then echo "=== vm-test: $name ok"; else echo "=== vm-test: $name FAILED"; failed+=("$name"); fi
}

cgroups_left() {
    find /sys/fs/cgroup -mindepth 1 -type d | grep -v -e '^/sys/fs/cgroup/init$' || true
}

# The final mydocker with limits, checked in the kernel's own files.
limits() (
    set -e
    md=./bin/mydocker
    before=$(cgroups_left)
    code=0
    $md run --name hog -m 32m busybox sh -c 'a=$(yes | head -c 100000000); echo survived' || code=$?
    [ "$code" = 137 ] || { echo "100 MB in 32m: exit $code, not 137"; exit 1; }
    $md inspect hog | grep -q '"OOMKilled": true' || { echo "inspect: no OOMKilled"; $md inspect hog; exit 1; }
    $md ps -a | grep ' hog$' | grep -q 'Exited (137).*(OOM killed)' || { echo "ps -a: no OOM"; $md ps -a; exit 1; }
    $md rm hog >/dev/null
    id=$($md run -d --name lim --cpus 0.5 --cpuset-cpus 0 --pids-limit 20 busybox sleep 600)
    dir=/sys/fs/cgroup/mydocker/$id
    [ "$(cat "$dir/cpu.max")" = "50000 100000" ] || { echo "cpu.max: $(cat "$dir/cpu.max")"; exit 1; }
    [ "$(cat "$dir/cpuset.cpus")" = 0 ] || { echo "cpuset.cpus: $(cat "$dir/cpuset.cpus")"; exit 1; }
    [ "$(cat "$dir/pids.max")" = 20 ] || { echo "pids.max: $(cat "$dir/pids.max")"; exit 1; }
    # Throttling: a busy loop for a second at half a CPU.
    $md exec lim timeout 1 sh -c 'while :; do :; done' || true
    throttled=$(awk '$1 == "nr_throttled" { print $2 }' "$dir/cpu.stat")
    [ "${throttled:-0}" -gt 0 ] || { echo "not throttled: $(cat "$dir/cpu.stat")"; exit 1; }
    # Forks past the limit fail inside.
    out=$($md exec lim sh -c 'for i in $(seq 30); do sleep 60 & done 2>&1; echo done' 2>&1 || true)
    echo "$out" | grep -qi "fork\|resource" || { echo "pids limit not enforced: $out"; exit 1; }
    $md rm -f lim >/dev/null
    [ ! -e "$dir" ] || { echo "$dir left after rm -f"; exit 1; }
    [ "$(cgroups_left)" = "$before" ] || { echo "cgroups left: $(cgroups_left)"; exit 1; }
)

# Docker's default confinement where every file it guards exists.
confine() (
    set -e
    cargo test -q -p ch01-namespaces --test confine --test seccomp --test escapes
    # --userns=private on the VM's kernel and its tmpfs data root.
    cargo test -q -p ch03-overlayfs --test userns
    cargo test -q -p ch06-final --test userns
    # The VM's scratch disk (major minor), for a node made inside: on v2
    # only chapter 2's eBPF program stands between it and the container.
    scratch=$(tr : ' ' < /sys/block/vda/dev)
    out=$(./bin/mydocker run --rm busybox sh -c '
        grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status
        echo "kcore $(wc -c < /proc/kcore) bytes"
        if (: >> /proc/sysrq-trigger) 2>/dev/null; then echo "sysrq writable"; else echo "sysrq refused"; fi
        if (: >> /proc/sys/kernel/core_pattern) 2>/dev/null; then echo "core_pattern writable"; else echo "core_pattern refused"; fi
        mknod /scratch b '"$scratch"' && if head -c 1 /scratch >/dev/null 2>&1; then echo "disk opened"; else echo "disk refused"; fi')
    echo "$out"
    expected=$(printf 'CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nSeccomp:\t2\nkcore 0 bytes\nsysrq refused\ncore_pattern refused\ndisk refused')
    [ "$out" = "$expected" ] || { echo "not Docker's default confinement"; exit 1; }
    out=$(./bin/mydocker run --rm --privileged busybox sh -c "mknod /scratch b $scratch && head -c 1 /scratch >/dev/null && echo opened")
    [ "$out" = opened ] || { echo "--privileged: the disk node did not open: $out"; exit 1; }
)

part cgroup-v2 cargo test -q -p ch02-cgroups
part limits limits
part network cargo test -q -p ch05-network --test lab
part faq-forward scripts/book-outputs.sh --check faq-forward
part book-v2 scripts/book-outputs.sh --check ch02-concepts-v2 ch02-lab-v2 ch02-bg-v2
part confine confine
part walkthrough scripts/vm/walkthrough.sh

left=$(cgroups_left)
if [ -n "$left" ]; then echo "vm-test: left under /sys/fs/cgroup: $left"; failed+=(cgroups-left); fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "vm-test: FAILED: ${failed[*]}"
    exit 1
fi
echo "vm-test: every part passed"
