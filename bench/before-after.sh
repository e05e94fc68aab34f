#!/usr/bin/env bash
# A change against the code before it: start-to-exit of `run --rm busybox
# true` with two mydocker binaries, side by side in one run, with the
# unshare floor beside them (so a slow machine shows as a slow floor).
#
#   bench/before-after.sh REV        builds REV's release binary in a
#                                    worktree under target/, compares it
#                                    with this checkout's
#   BEFORE=/path/mydocker bench/before-after.sh   a binary built already
#
# Needs root, hyperfine. Prints hyperfine's medians and the ratio
# after/before; the raw JSON stays in target/bench-results/before-after.
# Nothing networked: no bridge, no rule.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
export WORK=$TARGET/bench-root/before-after
export RESULTS=$TARGET/bench-results/before-after
if [ -z "${BEFORE:-}" ]; then
    rev=${1:?usage: bench/before-after.sh REV (or BEFORE=BINARY)}
    tree=$TARGET/before-after-tree
    git worktree remove --force "$tree" 2>/dev/null || true
    git worktree add --detach "$tree" "$rev" >/dev/null
    (cd "$tree" && CARGO_TARGET_DIR=$TARGET/before-after-target cargo build --release -q -p ch06-final --bin mydocker)
    git worktree remove --force "$tree"
    BEFORE=$TARGET/before-after-target/release/mydocker
fi
cargo build --release -q -p ch06-final --bin mydocker
export MYDOCKER=$TARGET/release/mydocker
source bench/lib.sh

dir=$WORK
root=$dir/after
before_root=$dir/before
finish() {
    set +e
    remove_all "$root"
    MYDOCKER=$BEFORE remove_all "$before_root"
    rm -rf "$dir"
}
begin_part
register "$before_root"
busybox_image "$root"
MYDOCKER=$BEFORE busybox_image "$before_root"
rootfs=$(busybox_rootfs)

log "run --rm true: before ($BEFORE) vs after ($MYDOCKER) vs unshare"
hf before-after -- \
    before "$BEFORE --root $before_root run --rm --cgroup-parent $CGROUP_PARENT busybox true" \
    after "$MYDOCKER --root $root run --rm --cgroup-parent $CGROUP_PARENT busybox true" \
    unshare "unshare --pid --mount --uts --ipc --net --fork chroot $rootfs /bin/true"
python3 - "$RESULTS" <<'PY'
import statistics, sys
sys.path.insert(0, "bench")
import report
t = report.load_times(sys.argv[1], "before-after")
m = {k: statistics.median(v) for k, v in t.items()}
print(f"after/before: {m['after'] / m['before']:.3f}   "
      f"before/unshare: {m['before'] / m['unshare']:.2f}   after/unshare: {m['after'] / m['unshare']:.2f}")
PY
