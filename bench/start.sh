#!/usr/bin/env bash
# Comparison 1: start-to-exit of `true` in a new container, three ways, on
# the same busybox rootfs:
#
#   mydocker   mydocker run --rm busybox true        (overlay, cgroups, state, --rm)
#   runc       runc run of an OCI bundle of the rootfs (its default spec as root)
#   unshare    unshare --pid --mount --uts --ipc --net --fork chroot ROOTFS /bin/true
#              (the same five namespaces and nothing else: the floor)
#
# Writes $RESULTS/start.r*.json. Part of bench/run.sh; alone:
#   WORK=/var/tmp/w RESULTS=/var/tmp/w/results bench/start.sh
source "$(dirname "$0")/lib.sh"

dir=$WORK/start
root=$dir/root
bundle=$dir/bundle
id=mydocker-bench-true
finish() {
    set +e
    runc delete -f "$id" >/dev/null 2>&1
    remove_all "$root"
    rm -rf "$dir"
}
begin_part
busybox_image "$root"
rootfs=$(busybox_rootfs)

# The runc bundle: `runc spec` (as root: no user namespace), the rootfs
# bind-mounted read-only (runc's default spec has a read-only root), the
# command /bin/true without a terminal. `runc run` in the foreground deletes
# the container when it exits, so one id serves every run.
mkdir -p "$bundle/rootfs"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
json.dump(spec, open(path, "w"), indent=1)
EOF
cp -a "$rootfs/." "$bundle/rootfs/"

log "start to exit of true: mydocker run --rm vs runc run vs unshare"
hf start -- \
    mydocker "$MYDOCKER --root $root run --rm --cgroup-parent $CGROUP_PARENT busybox true" \
    runc "runc run --bundle $bundle $id" \
    unshare "unshare --pid --mount --uts --ipc --net --fork chroot $rootfs /bin/true"
