#!/bin/sh
# Chapter 2, "Everything is a file", on a pure cgroup v2 host: a cgroup made
# by hand. Recorded in the test VM (scripts/vm.sh run scripts/book-outputs.sh
# ch02-concepts-v2); elsewhere --check skips it.
# requires: [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
# ANCHOR: by-hand
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/lab
echo 16M > /sys/fs/cgroup/lab/memory.max
cat /sys/fs/cgroup/lab/memory.max
grep -wo memory /sys/fs/cgroup/lab/cgroup.controllers
rmdir /sys/fs/cgroup/lab
# ANCHOR_END: by-hand
