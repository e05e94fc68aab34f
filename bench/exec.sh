#!/usr/bin/env bash
# Comparison 3: a new process in a running container.
#
#   mydocker   mydocker exec benchexec true   (finds the record, holds the
#              process by pidfd, joins its cgroup and namespaces, forks, execs)
#   nsenter    nsenter -t PID -a true          (joins the namespaces, forks, execs)
#
# and, to tell the cost of starting each program apart, `--version` of both.
#
# Writes $RESULTS/exec.r*.json. Part of bench/run.sh.
source "$(dirname "$0")/lib.sh"

dir=$WORK/exec
root=$dir/root
finish() {
    set +e
    remove_all "$root"
    rm -rf "$dir"
}
begin_part
busybox_image "$root"
md "$root" run -d --name benchexec --cgroup-parent "$CGROUP_PARENT" busybox sleep 3600 >/dev/null
pid=$(md "$root" inspect benchexec | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Pid"])')
[ "$pid" -gt 0 ] || { echo "exec.sh: the container does not run" >&2; exit 1; }

log "exec of true: mydocker exec vs nsenter -a (container pid $pid)"
# The last two rows time only starting each program (and printing its
# version): how much of the difference is the size of the program.
hf exec -- \
    mydocker "$MYDOCKER --root $root exec benchexec true" \
    nsenter "nsenter -t $pid -a true" \
    "mydocker --version" "$MYDOCKER --version" \
    "nsenter --version" "nsenter --version"
