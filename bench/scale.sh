#!/usr/bin/env bash
# Comparison 6: scale. SCALE_N (default 100) detached containers on one
# bridge, inside a lab network namespace of its own:
#
#   1. start them one after the other (`run -d --net benchscale ... sleep`),
#      timing each start and the whole;
#   2. ping every container's address once from the lab host;
#   3. remove them all with one `rm -f ID...`, timed;
#   4. check that nothing is left: no container, process, cgroup, veth,
#      address, DNAT rule or mount, then remove the network and check its
#      bridge and iptables chains are gone too.
#
# Writes $RESULTS/scale.json. Part of bench/run.sh.
source "$(dirname "$0")/lib.sh"

n=${SCALE_N:-100}
dir=$WORK/scale
root=$dir/root
lab=mdbench-scale-$$
finish() {
    set +e
    remove_all "$root" "$lab"
    in_lab "$lab" "$MYDOCKER" --root "$root" network rm benchscale >/dev/null 2>&1
    lab_down "$lab"
    rm -rf "$dir"
}
begin_part
busybox_image "$root"
lab_up "$lab"
lmd() { in_lab "$lab" "$MYDOCKER" --root "$root" "$@"; }
lmd network create --driver bridge --subnet 10.78.0.0/24 benchscale >/dev/null

log "scale: $n detached containers on one bridge (in lab $lab)"
starts=()
t0=$(now_ns)
for i in $(seq 1 "$n"); do
    s=$(now_ns)
    lmd run -d --name "scale$i" --net benchscale --cgroup-parent "$CGROUP_PARENT" busybox sleep 3600 >/dev/null
    starts+=($(($(now_ns) - s)))
done
start_total=$(($(now_ns) - t0))

# Who runs, and at which address (one inspect of the network lists them all).
lmd inspect benchscale >"$dir/network.json"
python3 -c 'import json,sys; [print(c["IPv4Address"]) for c in json.load(open(sys.argv[1]))[0]["Containers"]]' "$dir/network.json" >"$dir/addresses"
running=$(lmd ps -q | wc -l)
pids=$(for i in $(seq 1 "$n"); do lmd inspect "scale$i"; done |
    python3 -c 'import json,sys
text = sys.stdin.read()
dec = json.JSONDecoder(); i = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    obj, i = dec.raw_decode(text, i)
    c = obj[0]
    print(c["State"]["Pid"], c.get("Supervisor") or 0)')
# Each process as "PID START": the kernel hands out pids again (here
# pid_max is 32768 and a run starts thousands of processes), so a pid alone
# may name someone else's process by the time of the final check.
stat_of() { # PID -> the fields of /proc/PID/stat after the command name
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    echo "${s##*) }"
}
start_of() { local f; f=($(stat_of "$1")) && echo "${f[19]}"; }
procs=$(for p in $(echo "$pids" | awk '{print $1, $2}'); do
    [ "$p" -gt 0 ] && echo "$p $(start_of "$p" || echo gone)"
done || true)
supervisor_rss=0
for sup in $(echo "$pids" | awk '{print $2}'); do
    [ "$sup" -gt 0 ] || continue
    kib=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$sup/status" 2>/dev/null || echo 0)
    supervisor_rss=$((supervisor_rss + kib))
done

log "scale: ping every container from the lab host"
answered=0
t0=$(now_ns)
while read -r ip; do
    # busybox's ping: busybox-static is installed anyway, iputils may not be.
    if in_lab "$lab" busybox ping -c 1 -W 1 -q "$ip" >/dev/null 2>&1; then
        answered=$((answered + 1))
    fi
done <"$dir/addresses"
ping_total=$(($(now_ns) - t0))

log "scale: remove them all (one rm -f)"
ids=$(lmd ps -a -q --no-trunc)
t0=$(now_ns)
# shellcheck disable=SC2086 # one argument per id
lmd rm -f $ids >/dev/null
rm_total=$(($(now_ns) - t0))

# What must be gone now, each check one line of evidence.
left=()
[ -z "$(lmd ps -a -q)" ] || left+=("containers listed by ps -a")
# alive PID START: that very process exists and is not a zombie (an exited
# supervisor waits for the machine's init to reap it: not ours to hurry).
alive() { local f; f=($(stat_of "$1")) && [ "${f[0]}" != Z ] && [ "${f[19]}" = "$2" ]; }
while read -r p start; do
    if alive "$p" "$start"; then
        left+=("process $p ($(cat "/proc/$p/comm" 2>/dev/null || echo gone))")
    fi
done <<<"$procs"
for h in /sys/fs/cgroup/*/; do
    [ -e "$h$CGROUP_PARENT" ] && left+=("cgroup $h$CGROUP_PARENT")
done
veths=$(in_lab "$lab" ip -o link show | awk -F': ' '{print $2}' | grep -c '^veth' || true)
[ "$veths" = 0 ] || left+=("$veths veth interfaces in the lab")
lmd inspect benchscale >"$dir/network-after.json"
endpoints=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))[0]["Containers"]))' "$dir/network-after.json")
[ "$endpoints" = 0 ] || left+=("$endpoints endpoints in the network record")
dnat=$(in_lab "$lab" iptables-save -t nat | grep -c '^-A MYDOCKER .*DNAT' || true)
[ "$dnat" = 0 ] || left+=("$dnat DNAT rules")
mounts=$(grep -c "$root" /proc/self/mountinfo || true)
[ "$mounts" = 0 ] || left+=("$mounts mounts under the data root")
dirs=$(find "$root/containers" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$dirs" = 0 ] || left+=("$dirs container directories")
# The network goes last; `network rm` itself refuses while an address is
# still handed out, so its success also proves the addresses came back.
if lmd network rm benchscale >/dev/null 2>&1; then
    in_lab "$lab" ip link show benchscale >/dev/null 2>&1 && left+=("bridge benchscale")
    chains=$(in_lab "$lab" iptables-save | grep -c '^:MYDOCKER' || true)
    [ "$chains" = 0 ] || left+=("$chains MYDOCKER chains after network rm")
else
    left+=("network rm refused (addresses still allocated?)")
fi

python3 - "$RESULTS/scale.json" "$n" "$running" "$answered" "$start_total" "$rm_total" "$ping_total" \
    "$supervisor_rss" "$(printf '%s\n' "${starts[@]}")" "$(printf '%s\n' "${left[@]+"${left[@]}"}")" <<'EOF'
import json, statistics, sys
out, n, running, answered, start_total, rm_total, ping_total, sup_rss, starts, left = sys.argv[1:]
starts = [int(s) / 1e9 for s in starts.split()]
json.dump({
    "n": int(n),
    "running": int(running),
    "answered": int(answered),
    "start_total_s": int(start_total) / 1e9,
    "start_median_s": statistics.median(starts),
    "start_max_s": max(starts),
    "starts_s": starts,
    "rm_total_s": int(rm_total) / 1e9,
    "ping_total_s": int(ping_total) / 1e9,
    "supervisors_rss_kib": int(sup_rss),
    "left_behind": [l for l in left.splitlines() if l],
}, open(out, "w"), indent=1)
EOF
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("starts_s"); print(json.dumps(d, indent=1))' "$RESULTS/scale.json" >&2
