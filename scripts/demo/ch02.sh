#!/usr/bin/env bash
# Chapter 2's showcase: limits the kernel enforces on a container's cgroup.
# Needs root. Uses its own cgroup parent, "mydocker-demo", and checks at the
# end that nothing of it is left in any hierarchy.
set -euo pipefail
bin=${CARGO_TARGET_DIR:-target}/debug/ch02-cgroups
parent=mydocker-demo
check() { # check DESCRIPTION TEST...: prints [ok] or fails the demo
    local what=$1; shift
    if "$@"; then printf '  [ok] %s\n' "$what"; else printf '  [FAIL] %s\n' "$what"; exit 1; fi
}
leftovers() { find /sys/fs/cgroup -maxdepth 3 -type d -name "$parent" 2>/dev/null; }
# If the demo fails half-way, remove what is left of its (empty) cgroups.
trap 'leftovers | while read -r d; do rmdir "$d"/*/ "$d" 2>/dev/null || true; done' EXIT
run() { "$bin" run --cgroup-parent "$parent" "$@"; }

# Inside a container: the directory of its cgroup for controller $1, in v1
# (a line "N:memory:/path" of /proc/self/cgroup) or else in v2 ("0::/path").
cg='cg() { p=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup | cut -d: -f3)
           if [ -n "$p" ]; then echo /sys/fs/cgroup/$1$p
           else echo /sys/fs/cgroup$(grep "^0::" /proc/self/cgroup | cut -d: -f3); fi; }'

echo "\$ ch02-cgroups run -m 16m sh -c 'a=\$(yes | head -c 64M)'"
set +e; run -m 16m sh -c 'a=$(yes | head -c 64M)' 2>/dev/null; code=$?; set -e
echo "exit code $code"
check "a 64 MiB hog in a 16 MiB cgroup is killed (137 = 128 + SIGKILL)" [ $code = 137 ]

echo "\$ ch02-cgroups run -m 16m sh -c 'sh -c \"a=\$(yes | head -c 64M)\"; grep oom_kill ...'"
out=$(run -m 16m sh -c "$cg"'; sh -c "echo 1000 > /proc/self/oom_score_adj; a=\$(yes | head -c 64M)"
      cat $(cg memory)/memory.oom_control $(cg memory)/memory.events 2>/dev/null | grep "^oom_kill "' 2>/dev/null)
echo "$out"
check "the memory cgroup recorded the OOM kill" [ "${out#oom_kill }" -ge 1 ]

echo "\$ ch02-cgroups run -m 16m sh -c 'a=\$(yes | head -c 4M); echo \${#a}'"
out=$(run -m 16m sh -c 'a=$(yes | head -c 4M); echo ${#a}' 2>/dev/null); echo "$out"
check "4 MiB fits under the same limit" [ "$out" = 4194303 ]

echo "\$ ch02-cgroups run --cpus 0.2 sh -c 'timeout 2 sh -c \"while :; do :; done\"; ...'"
out=$(run --cpus 0.2 sh -c "$cg"'; timeout 2 sh -c "while :; do :; done"
      set -- $(cat /proc/$$/stat); echo cpu_ticks $((${16} + ${17}))
      grep nr_throttled $(cg cpu)/cpu.stat')
echo "$out"
ticks=$(echo "$out" | awk '/^cpu_ticks/ {print $2}')
throttled=$(echo "$out" | awk '/^nr_throttled/ {print $2}')
hz=$(getconf CLK_TCK)
echo "the busy loop used $((ticks * 100 / hz / 100)).$(printf '%02d' $((ticks * 100 / hz % 100))) s of CPU in 2 s"
check "the loop was throttled ($throttled periods) and used well under its 2 s" \
    [ "$throttled" -gt 0 -a "$ticks" -lt "$hz" ]

echo "\$ ch02-cgroups run --pids-limit 10 sh -c 'start 20 sleeps'"
set +e
out=$(run --pids-limit 10 sh -c 'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done' 2>&1)
set -e
echo "$out"
check "the 10th process could not be forked (the shell counts too)" grep -qi 'fork' <<<"$out"

echo "\$ ch02-cgroups run --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status"
out=$(run --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status); echo "$out"
check "the container may only run on CPU 0" [ "$(echo $out)" = "Cpus_allowed_list: 0" ]

check "no cgroup of the demo is left in any hierarchy" [ -z "$(leftovers)" ]
