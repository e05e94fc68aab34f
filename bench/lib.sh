# Shared by the parts of `make bench` (bench/run.sh sources nothing; each
# part script sources this file). Not a program of its own.
#
# A part runs with these variables, set by bench/run.sh (or by hand):
#   WORK      a disk-backed scratch directory (the part makes its own subdir)
#   RESULTS   where the part writes what bench/report.py reads
#   MYDOCKER  the release binary
#   ROUNDS, RUNS   hyperfine: ROUNDS rounds of RUNS runs of every command
#
# Safety: everything networked runs inside a lab namespace the part creates
# (scripts/lab.sh), every container lives in a --root under $WORK and in the
# cgroup parent $CGROUP_PARENT, and each part removes what it made on exit,
# also when interrupted.

set -euo pipefail
# A part that fails says where: under `set -e` a command may fail silently
# (its own message sent to /dev/null), and the page only learns "failed".
# (Only while `set -e` holds: cleanup runs with it off, failures allowed.)
on_error() { [[ $- == *e* ]] && echo "bench: ${0##*/}, line $2: exit status $1" >&2; return 0; }
trap 'on_error $? $LINENO' ERR

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
: "${WORK:?set WORK (bench/run.sh does)}"
: "${RESULTS:?set RESULTS (bench/run.sh does)}"
: "${MYDOCKER:=$REPO/target/release/mydocker}"
: "${ROUNDS:=10}"
: "${RUNS:=5}"
# Containers of the benchmark never share a cgroup parent with anything else.
CGROUP_PARENT=mydocker-bench
export WORK RESULTS MYDOCKER ROUNDS RUNS

mkdir -p "$RESULTS"

log() { printf '== %s\n' "$*" >&2; }

# md ROOT ARGS...: mydocker with a data root of the benchmark's own.
md() {
    local root=$1
    shift
    "$MYDOCKER" --root "$root" "$@"
}

# busybox_image ROOT: the busybox rootfs (built once per bench run) imported
# into ROOT as image `busybox`. The same directory is the runc bundle's
# rootfs and the unshare floor's root, so every peer runs the same files.
busybox_rootfs() {
    local dir=$WORK/busybox-rootfs
    if [ ! -x "$dir/bin/busybox" ]; then
        "$REPO/scripts/busybox-rootfs.sh" "$dir.tmp" >/dev/null
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}
busybox_image() {
    local root=$1 rootfs tar=$WORK/busybox.tar
    rootfs=$(busybox_rootfs)
    if [ ! -f "$tar" ]; then
        tar --numeric-owner --sort=name -C "$rootfs" -cf "$tar.tmp" .
        mv "$tar.tmp" "$tar"
    fi
    md "$root" import "$tar" busybox >/dev/null
}

# remove_all ROOT [LAB]: rm -f every container of ROOT, quietly (cleanup).
# Containers with a network must be removed from inside their LAB: `rm`
# releases their veth and rules in the namespace it runs in.
remove_all() {
    local root=$1 lab=${2:-} ids run=()
    [ -d "$root" ] || return 0
    [ -n "$lab" ] && run=("$REPO/scripts/lab.sh" exec "$lab")
    ids=$("${run[@]}" "$MYDOCKER" --root "$root" ps -a -q --no-trunc 2>/dev/null || true)
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086 # one argument per id
        "${run[@]}" "$MYDOCKER" --root "$root" rm -f $ids >/dev/null 2>&1 || true
    fi
}

# register ROOT [LAB]: writes down a data root (and the lab its containers
# live in), so that bench/run.sh can still remove them if the part itself
# is killed before its own trap runs.
register() { echo "$1 ${2:-}" >>"$WORK/roots"; }

# begin_part: what every part does once it has set $dir (its scratch
# directory), $root (its data root), $lab (if it has one) and defined its
# finish(): finish() runs on exit, also when interrupted; the directory is
# made and the data root registered for bench/run.sh's sweep.
begin_part() {
    trap finish EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$dir"
    register "$root" "${lab:-}"
}

# A lab network namespace for this part (recorded for bench/run.sh too).
lab_up() {
    local name=$1
    echo "$name" >>"$WORK/labs"
    "$REPO/scripts/lab.sh" up "$name"
}
lab_down() { "$REPO/scripts/lab.sh" down "$1" 2>/dev/null || true; }
# in_lab NAME CMD...: CMD inside the lab's network namespace only (nsenter
# --net, so /sys/fs/cgroup stays the host's).
in_lab() {
    local name=$1
    shift
    "$REPO/scripts/lab.sh" exec "$name" "$@"
}

# hf NAME [--in-lab LAB] -- NAME1 CMD1 NAME2 CMD2 ...
#
# Times every command with hyperfine in $ROUNDS rounds of $RUNS runs each;
# the order of the commands is reversed every other round, so a change in
# the machine's load falls on all of them alike. Every round's JSON lands in
# $RESULTS/NAME.rK.json; bench/report.py merges the runs and takes medians.
hf() {
    local name=$1
    shift
    local prefix=()
    if [ "${1:-}" = --in-lab ]; then
        prefix=("$REPO/scripts/lab.sh" exec "$2")
        shift 2
    fi
    [ "${1:-}" = -- ] && shift
    local names=() cmds=()
    while [ $# -gt 0 ]; do
        names+=("$1")
        cmds+=("$2")
        shift 2
    done
    local round args i order
    for round in $(seq 1 "$ROUNDS"); do
        args=()
        if [ $((round % 2)) = 1 ]; then
            order=$(seq 0 $((${#cmds[@]} - 1)))
        else
            order=$(seq $((${#cmds[@]} - 1)) -1 0)
        fi
        for i in $order; do
            args+=(--command-name "${names[$i]}" "${cmds[$i]}")
        done
        local warmup=1
        [ "$round" = 1 ] && warmup=3
        "${prefix[@]}" hyperfine --shell=none --style basic --warmup "$warmup" \
            --runs "$RUNS" --export-json "$RESULTS/$name.r$round.json" "${args[@]}" \
            >"$RESULTS/$name.r$round.log" 2>&1 || {
            cat "$RESULTS/$name.r$round.log" >&2
            return 1
        }
    done
    python3 "$BENCH/report.py" --summary "$RESULTS" "$name" >&2
}

# now_ns: a monotonic-enough wall clock in nanoseconds.
now_ns() { date +%s%N; }
