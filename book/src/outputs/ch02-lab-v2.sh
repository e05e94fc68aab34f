#!/bin/sh
# Chapter 2's labs on a pure cgroup v2 host, where they differ from the
# hybrid host's (ch02-lab): the OOM count is in memory.events, the kernel's
# refusals name v2's files. Recorded in the test VM (scripts/vm.sh run
# scripts/book-outputs.sh ch02-lab-v2); elsewhere --check skips it.
# requires: [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
# prompt: $
# How many times the killer ran, and how often the group hit its limit,
# varies from run to run: a positive count is shown as N (a zero would show).
# filter: /^(max|oom|oom_kill) [1-9][0-9]*$/\1 N/
# ANCHOR: oom-events
ch02-cgroups run -m 16m sh -c '
    sh -c "echo 1000 > /proc/self/oom_score_adj; a=\$(yes | head -c 64M)"; echo "inner shell: $?"
    cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.events' 2>/dev/null
# ANCHOR_END: oom-events
# ANCHOR: cpuset
ch02-cgroups run --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status
ch02-cgroups run --cpuset-cpus 99 true
# ANCHOR_END: cpuset
# ANCHOR: throttled
ch02-cgroups run --cpus 0.2 sh -c 'timeout 2 sh -c "while :; do :; done"
    cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cpu.max
    awk "\$1 == \"nr_throttled\" { print (\$2 > 0) ? \"throttled\" : \"never throttled\" }" \
        /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cpu.stat'
# ANCHOR_END: throttled
