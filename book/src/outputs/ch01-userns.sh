#!/bin/sh
# --userns=private: root inside, uid 100000 outside. The lab's own mount
# namespace gets a subuid/subgid file of its own (the machine's is never
# changed), bound over /etc/subuid and /etc/subgid.
@ printf 'root:100000:65536\n' > /tmp/subids
@ mount --bind /tmp/subids /etc/subuid
@ mount --bind /tmp/subids /etc/subgid
# ANCHOR: missing
@ mount --bind /dev/null /etc/subuid
ch01-namespaces run --userns=private id
@ umount /etc/subuid
# ANCHOR_END: missing
# ANCHOR: map
cat /etc/subuid
ch01-namespaces run --userns=private sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map'
ch01-namespaces run sh -c 'cat /proc/self/uid_map'
ch01-namespaces run --userns=private stat -c '%U:%G %A %n' /root /etc/shadow
# ANCHOR_END: map
# ANCHOR: ownership
mydocker run -d --name mapped --userns=private busybox sh -c 'echo hello > /made; exec sleep 60'
@ sleep 1
ps -o uid=,comm= -C sleep
mydocker exec mapped sh -c 'id; stat -c "%u:%g %n" /made /bin/busybox'
stat -c '%u:%g %n' /var/lib/mydocker/containers/*/upper/made
stat -c '%u:%g %n' /var/lib/mydocker/layers/sha256/*/*
mydocker rm -f mapped
# ANCHOR_END: ownership
