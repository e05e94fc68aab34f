#!/usr/bin/env bash
# Comparison 5: memory.
#
#   - the supervisor of a detached container: bench/supervisor-memory.sh
#     (chapter 6's script, run here on the release binary), whose peer is the
#     container's own process;
#   - `mydocker run` itself in the foreground while its container runs,
#     beside `runc run` in the foreground on the same rootfs: both are the
#     parent that waits for the container.
#
# For each process: VmRSS (resident now), RssAnon (its private part, what it
# really costs: the rest is the binary's pages, shared with the page cache),
# VmHWM (the peak). Writes $RESULTS/supervisor-memory.txt and memory.json.
source "$(dirname "$0")/lib.sh"

dir=$WORK/memory
root=$dir/root
bundle=$dir/bundle
id=mydocker-bench-mem
fg_pid=
runc_pid=
finish() {
    set +e
    [ -n "$fg_pid" ] && kill "$fg_pid" 2>/dev/null
    [ -n "$runc_pid" ] && kill "$runc_pid" 2>/dev/null
    runc kill "$id" KILL >/dev/null 2>&1
    wait 2>/dev/null
    runc delete -f "$id" >/dev/null 2>&1
    remove_all "$root"
    rm -rf "$dir"
}
begin_part
log "memory: supervisors of detached containers (bench/supervisor-memory.sh)"
N=${MEMORY_N:-3} MYDOCKER=$MYDOCKER "$BENCH/supervisor-memory.sh" | tee "$RESULTS/supervisor-memory.txt" >&2

# status_of PID: the fields we report, as JSON.
status_of() {
    python3 - "$1" <<'EOF'
import json, sys
fields = {}
for line in open(f"/proc/{sys.argv[1]}/status"):
    key, _, value = line.partition(":")
    if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
        fields[key] = int(value.split()[0])
print(json.dumps(fields))
EOF
}

# wait_for_child PID: until PID has a child that has exec'd `sleep`.
wait_for_sleep() {
    local parent=$1 child
    for _ in $(seq 200); do
        for child in $(cat /proc/"$parent"/task/*/children 2>/dev/null); do
            if [ "$(cat /proc/"$child"/comm 2>/dev/null)" = sleep ]; then
                return 0
            fi
        done
        sleep 0.05
    done
    echo "memory.sh: the container of $parent never ran sleep" >&2
    return 1
}

log "memory: mydocker run and runc run in the foreground, while the container sleeps"
busybox_image "$root"
"$MYDOCKER" --root "$root" run --rm --cgroup-parent "$CGROUP_PARENT" busybox sleep 30 &
fg_pid=$!
wait_for_sleep "$fg_pid"
sleep 0.5
mydocker_fg=$(status_of "$fg_pid")
kill "$fg_pid" # forwarded to the container, which is removed
wait "$fg_pid" 2>/dev/null || true
fg_pid=

mkdir -p "$bundle/rootfs"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["args"] = ["/bin/sleep", "30"]
spec["process"]["terminal"] = False
json.dump(spec, open(path, "w"), indent=1)
EOF
cp -a "$(busybox_rootfs)/." "$bundle/rootfs/"
runc run --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1 &
runc_pid=$!
wait_for_sleep "$runc_pid"
sleep 0.5
runc_fg=$(status_of "$runc_pid")
runc kill "$id" KILL >/dev/null 2>&1 || true
wait "$runc_pid" 2>/dev/null || true
runc_pid=

python3 - "$RESULTS/memory.json" "$RESULTS/supervisor-memory.txt" "$mydocker_fg" "$runc_fg" "$MYDOCKER" <<'EOF'
import json, os, re, sys
out, table, mydocker_fg, runc_fg, binary = sys.argv[1:]
text = open(table).read()
sup, box = [], []
for line in text.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 5 and cells[1].isdigit():
        row = dict(zip(["VmRSS", "RssAnon", "RssFile", "Pss"], map(int, cells[1:])))
        (sup if cells[0].startswith("supervisor") else box).append(row)
json.dump({
    "supervisors": sup,
    "containers": box,
    "mydocker_foreground": json.loads(mydocker_fg),
    "runc_foreground": json.loads(runc_fg),
    "binary_bytes": os.path.getsize(binary),
}, open(out, "w"), indent=1)
EOF
