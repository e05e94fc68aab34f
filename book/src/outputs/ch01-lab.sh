#!/bin/sh
# Chapter 1's lab, from "PID namespace" on (the commands that need an
# interactive shell or a terminal are not recorded).
# prompt: $
# The container's hostname is its short id; one made of digits only would
# escape the id filter, so it is mapped here to the stand-in of the first id.
# filter: /^[0-9]{12}$/0d0ce6bbf088/
# ANCHOR: goal
ch01-namespaces run sh -c 'echo $$'
# ANCHOR_END: goal
# ANCHOR: pid
ch01-namespaces run ps -o pid,comm
ch01-namespaces run sh -c 'echo /proc/[0-9]*'
# ANCHOR_END: pid
# ANCHOR: uts
ch01-namespaces run --hostname lab hostname
ch01-namespaces run hostname
hostname
# ANCHOR_END: uts
# ANCHOR: uts-inodes
ch01-namespaces run readlink /proc/self/ns/uts
readlink /proc/self/ns/uts
# ANCHOR_END: uts-inodes
# ANCHOR: mount
ch01-namespaces run findmnt -o TARGET,PROPAGATION /
ch01-namespaces run --cap-add SYS_ADMIN sh -c 'mount -t tmpfs lab-tmpfs /mnt && grep -c lab-tmpfs /proc/self/mountinfo'
grep -c lab-tmpfs /proc/self/mountinfo
# ANCHOR_END: mount
# ANCHOR: ipc
ipcmk -Q
ch01-namespaces run ipcs -q
ipcrm -q 0
# ANCHOR_END: ipc
# ANCHOR: net
ch01-namespaces run ip -brief link
# ANCHOR_END: net
# ANCHOR: exit-codes
ch01-namespaces run sh -c 'exit 3'; echo $?
ch01-namespaces run no-such-cmd; echo $?
ch01-namespaces run /tmp; echo $?
ch01-namespaces run /etc/passwd; echo $?
ch01-namespaces run --bogus sh; echo $?
ch01-namespaces run --hostname bad_name hostname; echo $?
# ANCHOR_END: exit-codes
# ANCHOR: nobody
setpriv --reuid=65534 --regid=65534 --clear-groups ch01-namespaces run true; echo $?
# ANCHOR_END: nobody
# ANCHOR: exec
ch01-namespaces run sh -c 'exec echo replaced; echo never printed'
# ANCHOR_END: exec
# ANCHOR: args
ch01-namespaces run sh -c 'echo "$#: $@"' zero one two
# ANCHOR_END: args
# ANCHOR: kill-self
ch01-namespaces run sh -c 'kill -9 $$; echo still alive'; echo $?
# ANCHOR_END: kill-self
# ANCHOR: seed-spelling
ch01-namespaces run -ti -hostname box hostname
# ANCHOR_END: seed-spelling
# The signal labs: an interactive bash would also print job lines ([1] 17369).
# (not shown: wait until the container's command runs, then signal it)
# ANCHOR: term-ignored
ch01-namespaces run sleep 5 &
@ until pgrep -P $! -x sleep >/dev/null; do sleep 0.05; done
kill -TERM $!; wait $!; echo $?
# ANCHOR_END: term-ignored
# ANCHOR: term-trapped
ch01-namespaces run sh -c 'trap "echo got SIGTERM; exit 42" TERM; sleep 30 & wait' &
@ until pgrep -P $(pgrep -P $! -x sh) -x sleep >/dev/null; do sleep 0.05; done
kill -TERM $!; wait $!; echo $?
# ANCHOR_END: term-trapped
# ANCHOR: kill-pid1
ch01-namespaces run sleep 30 &
@ until pgrep -P $! -x sleep >/dev/null; do sleep 0.05; done
kill -KILL $(pgrep -P $!); wait $!; echo $?
# ANCHOR_END: kill-pid1
