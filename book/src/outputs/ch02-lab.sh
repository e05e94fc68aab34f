#!/bin/sh
# Chapter 2's labs (the CPU timings of lab 2 are not recorded: they differ on
# every run; the background container of lab 4 is ch02-bg, the cgroup made by
# hand ch02-concepts).
# Recorded on a hybrid host (v1 controllers); elsewhere --check skips it.
# requires: [ "$(stat -fc %T /sys/fs/cgroup/memory 2>/dev/null)" = cgroupfs ]
# prompt: $
# ANCHOR: goal
ch02-cgroups run -m 16m sh -c 'a=$(yes | head -c 64M)'
echo $?
# ANCHOR_END: goal
# ANCHOR: oom
ch02-cgroups run -m 16m sh -c 'a=$(yes | head -c 64M)' 2>/dev/null
echo $?
# ANCHOR_END: oom
# ANCHOR: oom-control
ch02-cgroups run -m 16m sh -c '
    sh -c "echo 1000 > /proc/self/oom_score_adj; a=\$(yes | head -c 64M)"; echo "inner shell: $?"
    cat /sys/fs/cgroup/memory$(grep :memory: /proc/self/cgroup | cut -d: -f3)/memory.oom_control' 2>/dev/null
# ANCHOR_END: oom-control
# ANCHOR: fits
ch02-cgroups run -m 16m sh -c 'a=$(yes | head -c 4M); echo ${#a} bytes' 2>/dev/null
# ANCHOR_END: fits
# ANCHOR: too-small
ch02-cgroups run -m 1k true
echo $?
# ANCHOR_END: too-small
# ANCHOR: cpuset
ch02-cgroups run --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status
ch02-cgroups run --cpuset-cpus 99 true
# ANCHOR_END: cpuset
# ANCHOR: pids
ch02-cgroups run --pids-limit 10 sh -c 'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); echo started $i; done'
# ANCHOR_END: pids
# ANCHOR: devices
ch02-cgroups run sh -c 'cat /sys/fs/cgroup/devices$(grep :devices: /proc/self/cgroup | cut -d: -f3)/devices.list'
ch02-cgroups run head -c 1 /dev/loop0
ch02-cgroups run --privileged sh -c 'head -c 1 /dev/loop0 && echo opened'
ch02-cgroups run --device /dev/loop0:r sh -c 'head -c 1 /dev/loop0 && echo read; : >> /dev/loop0'
# ANCHOR_END: devices
