#!/bin/sh
# Chapter 6's logs, typed in the lab shell (scripts/lab.sh exec mdlab bash)
# with ./bin on PATH. The recording writes every time as
# 2025-01-01T12:00:00.000000000Z; on your machine they differ and rise.
# ANCHOR: setup
mydocker import /root/busybox.tar busybox
# ANCHOR_END: setup
# ANCHOR: order
mydocker run --name il busybox sh -c 'echo 1; sleep 0.2; echo 3 >&2; sleep 0.2; echo 2; sleep 0.2; echo 4 >&2'
mydocker logs il
mydocker logs il 2>/dev/null
mydocker logs --tail 2 il
mydocker logs -t il
cat /var/lib/mydocker/containers/*/*-json.log
# ANCHOR_END: order
# ANCHOR: select
t=$(mydocker logs -t il 2>&1 | sed -n 3p | cut -d' ' -f1)
mydocker logs --since $t il
mydocker logs --until $t il
mydocker logs --since 1h il 2>/dev/null
mydocker logs --since 10x il
# ANCHOR_END: select
# ANCHOR: start
mydocker start il
# (not shown: wait until the second run has exited)
@ until [ "$(mydocker logs il 2>&1 | wc -l)" = 8 ] && mydocker ps -a | grep -q 'Exited (0)'; do sleep 0.1; done
mydocker logs il 2>/dev/null
# ANCHOR_END: start
