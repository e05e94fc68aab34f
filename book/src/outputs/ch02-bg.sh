#!/bin/sh
# Chapter 2, Lab 4: a container in the background, its cgroup seen from the
# host. A parent cgroup of its own (lab4) keeps other containers of the
# machine (tests, other labs) out of the listing. It waits for the sleep,
# so it runs beside ch02-lab.
# Recorded on a hybrid host (v1 controllers, cpu and cpuacct mounted apart).
# requires: [ "$(stat -fc %T /sys/fs/cgroup/memory 2>/dev/null)" = cgroupfs ] && [ ! -L /sys/fs/cgroup/cpu ]
# prompt: $
# ANCHOR: bg
ch02-cgroups run -m 64m --cpus 0.5 --pids-limit 20 --cgroup-parent lab4 sleep 30 &
# (not shown: wait until the container is in its cgroup)
@ until [ -n "$(cat /sys/fs/cgroup/memory/lab4/*/cgroup.procs 2>/dev/null)" ]; do sleep 0.1; done
ls -d /sys/fs/cgroup/*/lab4/*/
id=$(basename /sys/fs/cgroup/memory/lab4/*/)
cat /sys/fs/cgroup/memory/lab4/$id/memory.limit_in_bytes
cat /sys/fs/cgroup/cpu/lab4/$id/cpu.cfs_quota_us
pid=$(cat /sys/fs/cgroup/memory/lab4/$id/cgroup.procs); grep lab4 /proc/$pid/cgroup
# ANCHOR_END: bg
# ANCHOR: bg-end
wait; ls -d /sys/fs/cgroup/*/lab4
# ANCHOR_END: bg-end
