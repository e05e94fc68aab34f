#!/bin/sh
# Chapter 2, Lab 4 on a pure cgroup v2 host: one directory instead of one
# per hierarchy. Recorded in the test VM (scripts/vm.sh run
# scripts/book-outputs.sh ch02-bg-v2); elsewhere --check skips it.
# requires: [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
# prompt: $
# ANCHOR: bg
ch02-cgroups run -m 64m --cpus 0.5 --pids-limit 20 --cgroup-parent lab4 sleep 10 &
# (not shown: wait until the container is in its cgroup)
@ until [ -n "$(cat /sys/fs/cgroup/lab4/*/cgroup.procs 2>/dev/null)" ]; do sleep 0.1; done
ls -d /sys/fs/cgroup/lab4/*/
id=$(basename /sys/fs/cgroup/lab4/*/)
cat /sys/fs/cgroup/lab4/cgroup.subtree_control
cat /sys/fs/cgroup/lab4/$id/memory.max /sys/fs/cgroup/lab4/$id/cpu.max /sys/fs/cgroup/lab4/$id/pids.max
pid=$(cat /sys/fs/cgroup/lab4/$id/cgroup.procs); cat /proc/$pid/cgroup
# ANCHOR_END: bg
# ANCHOR: bg-end
wait; ls -d /sys/fs/cgroup/lab4
# ANCHOR_END: bg-end
