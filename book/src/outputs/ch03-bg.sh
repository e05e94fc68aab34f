#!/bin/sh
# Chapter 3, Lab 1: a container in the background, seen from the host and
# from inside its namespaces (ch03-lab holds the other labs; this one waits
# for the sleep, so it runs beside them).
@ export MYDOCKER_ROOT=/tmp/lab/root
@ mkdir -p /tmp/lab
# ANCHOR: bg
ch03-overlayfs run busybox sh -c 'echo hello > /hello.txt; sleep 30' &
# (not shown: wait until the container has written its file)
@ until [ -e $MYDOCKER_ROOT/containers/*/upper/hello.txt ]; do sleep 0.1; done
ls $MYDOCKER_ROOT/containers/*/upper
ls $MYDOCKER_ROOT/images/busybox/hello.txt
ch03-overlayfs run busybox cat /hello.txt
grep -c overlay /proc/mounts
# ANCHOR_END: bg
# ANCHOR: nsenter
pid=$(pgrep -P $(pgrep -nx ch03-overlayfs))
nsenter -t $pid -m -p cut -d' ' -f1-3 /proc/mounts
# ANCHOR_END: nsenter
# ANCHOR: bg-end
wait; ls $MYDOCKER_ROOT/containers
# ANCHOR_END: bg-end
