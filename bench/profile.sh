#!/usr/bin/env bash
# Where the time of a start goes: `perf trace -s` (every syscall of every
# process and thread, with the time spent in it) over PROFILE_RUNS runs of
#
#   plain      mydocker run --rm busybox true
#   net+port   mydocker run --rm --net benchprof -p 8080:80 busybox true  (in a lab)
#
# and, as a peer, `runc run` of the same bundle as bench/start.sh. Skipped
# (with a note on the page) where perf is not installed: it is the one tool
# of `make bench` it does not install (Debian's linux-perf may not match the
# running kernel).
#
# Writes $RESULTS/profile.json. Part of bench/run.sh.
source "$(dirname "$0")/lib.sh"

if ! command -v perf >/dev/null || ! perf trace -s -- true >/dev/null 2>&1; then
    echo '{"skipped": "perf trace is not available on this machine"}' >"$RESULTS/profile.json"
    log "profile: skipped (no working perf trace)"
    exit 0
fi

runs=${PROFILE_RUNS:-10}
dir=$WORK/profile
root=$dir/root
bundle=$dir/bundle
lab=mdbench-prof-$$
finish() {
    set +e
    remove_all "$root" "$lab"
    in_lab "$lab" "$MYDOCKER" --root "$root" network rm benchprof >/dev/null 2>&1
    lab_down "$lab"
    runc delete -f mydocker-bench-prof >/dev/null 2>&1
    rm -rf "$dir"
}
begin_part
mkdir -p "$dir/traces"
busybox_image "$root"
lab_up "$lab"
in_lab "$lab" "$MYDOCKER" --root "$root" network create --subnet 10.76.0.0/24 benchprof >/dev/null
mkdir -p "$bundle/rootfs"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
json.dump(spec, open(sys.argv[1], "w"), indent=1)
EOF
cp -a "$(busybox_rootfs)/." "$bundle/rootfs/"

run="$MYDOCKER --root $root run --rm --cgroup-parent $CGROUP_PARENT"
log "profile: perf trace -s of $runs runs each"
for i in $(seq 1 "$runs"); do
    # shellcheck disable=SC2086 # the command line is split on purpose
    perf trace -s -o "$dir/traces/plain.$i" -- $run busybox true
    # shellcheck disable=SC2086
    in_lab "$lab" perf trace -s -o "$dir/traces/net+port.$i" -- $run --net benchprof -p 8080:80 busybox true
    perf trace -s -o "$dir/traces/runc.$i" -- runc run --bundle "$bundle" mydocker-bench-prof
done

python3 - "$dir/traces" "$RESULTS/profile.json" "$runs" <<'EOF'
import glob, json, os, re, sys
traces, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
row = re.compile(r"^\s+(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s")
proc = re.compile(r"^\s*(\S.*?) \((\d+)\), \d+ events")
result = {}
for case in ("plain", "net+port", "runc"):
    calls, total, procs = {}, {}, {}
    for path in glob.glob(os.path.join(traces, f"{case}.*")):
        seen = set()
        for line in open(path):
            m = proc.match(line)
            if m:
                seen.add(m.group(2))
                name = m.group(1)
                procs[name] = procs.get(name, 0) + 1
                continue
            m = row.match(line)
            if m and m.group(1) != "syscall":
                sc = m.group(1)
                calls[sc] = calls.get(sc, 0) + int(m.group(2))
                total[sc] = total.get(sc, 0.0) + float(m.group(4))
    result[case] = {
        "syscalls": {sc: {"calls": calls[sc] / runs, "ms": total[sc] / runs} for sc in calls},
        "processes": {p: n / runs for p, n in procs.items()},
    }
json.dump({"runs": runs, "cases": result}, open(out, "w"), indent=1)
EOF
