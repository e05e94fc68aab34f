#!/usr/bin/env bash
# `make bench`: how quickly mydocker starts things and how little it costs,
# beside its peers, measured in one run, published in the book.
#
#   bench/run.sh                  every part, then book/src/performance.md
#   bench/run.sh start exec       only these parts (the page shows the rest
#                                 as not measured)
#   QUICK=1 bench/run.sh          a smoke run: few rounds, small sizes
#
# Parts (each a script beside this one):
#   start     run --rm true   vs runc run   vs unshare+chroot (the floor)
#   network   run --rm true   with --net and -p vs without
#   exec      exec true       vs nsenter -a
#   import    import / commit vs tar -x / tar -c   (bench/import-commit.sh)
#   memory    supervisor RSS (bench/supervisor-memory.sh); mydocker run vs
#             runc run in the foreground
#   scale     100 detached containers on one bridge: start, ping, rm, leftovers
#   profile   perf trace -s of the start path: where the time goes (skipped
#             without perf)
#
# A change against the code before it: bench/before-after.sh REV (start
# time of both binaries and the unshare floor in one run, and the ratio).
#
# Needs root. Installs what is missing from Debian's packages (runc,
# hyperfine, busybox-static, iptables, iproute2, python3), builds the
# RELEASE binary (target/release/mydocker), works in a temporary directory
# under target/bench-root (on disk: overlayfs and a fair tar need one),
# and removes everything it made on exit, also on Ctrl-C. Networked parts
# run inside lab network namespaces of their own, never in the machine's.
#
# Environment: ROUNDS, RUNS (hyperfine: rounds x runs per command, default
# 10 x 5), FILES and IC_RUNS (import/commit: files in the big rootfs and
# runs, default 2400 and 3), SCALE_N (default 100), PROFILE_RUNS (default
# 10), PAGE (default book/src/performance.md). The raw results (hyperfine's
# JSON and the parts' own) are copied to target/bench-results.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
PAGE=${PAGE:-$REPO/book/src/performance.md}
ALL_PARTS="start network exec import memory scale profile"
PARTS=${*:-$ALL_PARTS}

if [ "$(id -u)" != 0 ]; then
    echo "bench/run.sh: needs root (containers, namespaces, cgroups)" >&2
    exit 1
fi
for part in $PARTS; do
    case " $ALL_PARTS " in *" $part "*) ;; *) echo "bench/run.sh: no part '$part' (parts: $ALL_PARTS)" >&2; exit 2 ;; esac
done

if [ "${QUICK:-}" = 1 ]; then
    : "${ROUNDS:=2}" "${RUNS:=5}" "${FILES:=300}" "${IC_RUNS:=2}" "${SCALE_N:=10}" "${PROFILE_RUNS:=3}"
fi
export ROUNDS=${ROUNDS:-10} RUNS=${RUNS:-5} SCALE_N=${SCALE_N:-100} PROFILE_RUNS=${PROFILE_RUNS:-10}
FILES=${FILES:-2400}
IC_RUNS=${IC_RUNS:-3}

# ---------------------------------------------------------------- packages
need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd runc || need+=(runc)
have_cmd hyperfine || need+=(hyperfine)
have_cmd python3 || need+=(python3)
have_cmd iptables || need+=(iptables)
have_cmd ip || need+=(iproute2)
have_cmd nsenter || need+=(util-linux)
have_cmd bc || need+=(bc) # bench/import-commit.sh without hyperfine; cheap
if ! /bin/busybox --list-full >/dev/null 2>&1 || readelf -d /bin/busybox 2>/dev/null | grep -q NEEDED; then
    need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---------------------------------------------------------------- build
echo "== cargo build --release -p ch06-final" >&2
cargo build --release -q -p ch06-final
export MYDOCKER=${CARGO_TARGET_DIR:-$REPO/target}/release/mydocker

# ---------------------------------------------------------------- work dir
mkdir -p "$REPO/target/bench-root"
WORK=$(mktemp -d "$REPO/target/bench-root/run.XXXXXX")
RESULTS=$WORK/results
export WORK RESULTS
mkdir -p "$RESULTS"
current=

# Runs on every exit. Each part cleans up after itself in its own trap;
# this is the net under it, for a part that was killed outright.
sweep() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    if [ -n "$current" ] && kill -0 "$current" 2>/dev/null; then
        kill -TERM "$current" 2>/dev/null
        wait "$current" 2>/dev/null
    fi
    # Containers first, each from inside its lab (rm releases a network in
    # the namespace it runs in), then the labs, then the directory.
    if [ -f "$WORK/roots" ]; then
        while read -r root lab; do
            [ -d "$root" ] || continue
            if [ -n "$lab" ] && ! ip netns list | awk '{print $1}' | grep -qx -- "$lab"; then
                continue # its lab is gone, and with it the veths and rules
            fi
            (source "$REPO/bench/lib.sh" && remove_all "$root" "$lab")
        done <"$WORK/roots"
    fi
    if [ -f "$WORK/labs" ]; then
        while read -r lab; do "$REPO/scripts/lab.sh" down "$lab" 2>/dev/null; done <"$WORK/labs"
    fi
    # The benchmark's cgroup parent, if a killed part left it (empty) behind.
    for dir in /sys/fs/cgroup/*/mydocker-bench; do
        [ -d "$dir" ] && rmdir "$dir"/* "$dir" 2>/dev/null
    done
    # Mounts of a container whose supervisor was killed, then the files.
    awk -v w="$WORK" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$REPO/target/bench-results"
    mkdir -p "$REPO/target/bench-results"
    cp -a "$RESULTS/." "$REPO/target/bench-results/" 2>/dev/null
    rm -rf "$WORK"
    exit "$status"
}
trap sweep EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The machine, before anything runs (the page shows it).
python3 "$REPO/bench/report.py" --machine "$RESULTS/machine-before.json"

failed=()
run_part() {
    local part=$1
    shift
    echo "== part: $part" >&2
    local start
    start=$(date +%s)
    "$@" &
    current=$!
    if wait "$current"; then
        echo "{\"seconds\": $(($(date +%s) - start))}" >"$RESULTS/part-$part.json"
    else
        echo "== part $part failed" >&2
        failed+=("$part")
        echo "{\"failed\": true}" >"$RESULTS/part-$part.json"
    fi
    current=
}

for part in $PARTS; do
    case $part in
        import)
            # Chapter 4's script: it prints a markdown table, which the page
            # includes as it is. It times ch04-images, the same code as
            # mydocker's import and commit.
            run_part import bash -c 'FILES=$0 RUNS=$1 BENCH_DIR=$2 "$3/bench/import-commit.sh" >"$4/import-commit.md"' \
                "$FILES" "$IC_RUNS" "$WORK" "$REPO" "$RESULTS"
            ;;
        *) run_part "$part" "$REPO/bench/$part.sh" ;;
    esac
done

python3 "$REPO/bench/report.py" --machine "$RESULTS/machine-after.json"
python3 "$REPO/bench/report.py" "$RESULTS" "$PAGE"
echo "== wrote $PAGE (raw results in target/bench-results)" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "== failed parts: ${failed[*]}" >&2
    exit 1
fi
