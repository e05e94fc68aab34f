#!/bin/sh
# Chapter 2, "Everything is a file": a cgroup made by hand, without mydocker.
# requires: [ "$(stat -fc %T /sys/fs/cgroup/memory 2>/dev/null)" = cgroupfs ]
# ANCHOR: by-hand
mkdir /sys/fs/cgroup/memory/lab
echo 16M > /sys/fs/cgroup/memory/lab/memory.limit_in_bytes
cat /sys/fs/cgroup/memory/lab/memory.limit_in_bytes
rmdir /sys/fs/cgroup/memory/lab
# ANCHOR_END: by-hand
