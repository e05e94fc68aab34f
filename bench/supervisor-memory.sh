#!/usr/bin/env bash
# Chapter 6, acceptance 5: how much memory does the supervisor of a detached
# container use?
#
# Starts N detached `sleep` containers (default 3) in a temporary --root,
# and prints, for each supervisor, what /proc says about its memory:
#
#   RSS        resident pages mapped by the process (VmRSS)
#   anon       of which private memory: heap, stacks (RssAnon)
#   file       of which pages of mapped files: the mydocker binary, libc (RssFile)
#   PSS        RSS with every shared page divided among the processes sharing it
#
# and, as the peer measured in the same run, the same numbers for the
# container's own process (busybox `sleep`, a static binary). The file
# pages are the binary's code, shared with the page cache and with every
# other mydocker process: what a supervisor really costs is its anon part.
#
#   bench/supervisor-memory.sh              N=3, target/debug/mydocker
#   N=10 MYDOCKER=bin/mydocker bench/supervisor-memory.sh
#
# Needs root and busybox-static. Leaves nothing behind.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${MYDOCKER:-${CARGO_TARGET_DIR:-$here/target}/debug/mydocker}
n=${N:-3}
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
[ -x "$bin" ] || { echo "$0: no $bin: build first (cargo build -p ch06-final)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/mydocker-bench.XXXXXX)
root=$work/root
md() { "$bin" --root "$root" "$@"; }
finish() {
    set +e
    for id in $(md ps -a -q --no-trunc 2>/dev/null); do md rm -f "$id" >/dev/null 2>&1; done
    rm -rf "$work"
}
trap finish EXIT

"$here/scripts/busybox-rootfs.sh" -t "$work/busybox.tar"
md import "$work/busybox.tar" busybox >/dev/null
for i in $(seq "$n"); do md run -d --name "bench$i" busybox sleep 3600 >/dev/null; done
sleep 1 # let them settle: the supervisors are waiting now

kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
pss() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup"; }
row() { printf '| %-22s | %6s | %6s | %6s | %6s |\n' "$1" "$(kib "$2" VmRSS)" "$(kib "$2" RssAnon)" "$(kib "$2" RssFile)" "$(pss "$2")"; }

echo "mydocker: $bin ($(du -h "$bin" | cut -f1) on disk); $n detached containers; KiB"
echo
printf '| %-22s | %6s | %6s | %6s | %6s |\n' process RSS anon file PSS
echo '|------------------------|--------|--------|--------|--------|'
total=0
for i in $(seq "$n"); do
    json=$(md inspect "bench$i")
    sup=$(echo "$json" | sed -n 's/.*"Supervisor": \([0-9]*\).*/\1/p')
    pid=$(echo "$json" | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p')
    row "supervisor of bench$i" "$sup"
    row "  its container (sleep)" "$pid"
    total=$((total + $(kib "$sup" VmRSS)))
done
echo
echo "mean supervisor RSS: $((total / n)) KiB ($(awk -v t="$total" -v n="$n" 'BEGIN {printf "%.1f", t / n / 1024}') MiB)"
