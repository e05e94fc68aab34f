#!/bin/sh
# FAQ (pitfalls): limits silently ignored on cgroup v2 hosts.
# The outputs were recorded on a hybrid host (v1 controllers, an empty
# cgroup2 at /sys/fs/cgroup/unified); elsewhere --check skips this lab.
# requires: [ "$(stat -fc %T /sys/fs/cgroup/memory 2>/dev/null)" = cgroupfs ] && [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]
# ANCHOR: problem
mkdir notacgroup
echo 16777216 > notacgroup/memory.limit_in_bytes && echo "limit written"
echo $$ > notacgroup/cgroup.procs && echo "joined"
sh -c 'a=$(yes | head -c 67108864); echo "the hog survived: ${#a} bytes"'
# ANCHOR_END: problem
# ANCHOR: diagnose
stat -fc %T notacgroup
stat -fc %T /sys/fs/cgroup /sys/fs/cgroup/memory /sys/fs/cgroup/unified
grep -c memory /sys/fs/cgroup/unified/cgroup.controllers
# ANCHOR_END: diagnose
# ANCHOR: mydocker
mydocker run -d --name m -m 16m busybox sleep 3600
mydocker exec m cat /proc/self/cgroup
cat /sys/fs/cgroup/memory/mydocker/$(mydocker ps -q --no-trunc)/memory.limit_in_bytes
mydocker exec m sh -c 'a=$(yes | head -c 67108864)'; echo "exit code $?"
# ANCHOR_END: mydocker
