#!/bin/sh
# Chapter 1's confinement: what root inside keeps, and attempts refused.
# Every attempt is harmless even if it were not refused (an append of
# nothing, a mount inside the container's own namespace).
# ANCHOR: caps
ch01-namespaces run grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status
ch01-namespaces run --cap-drop ALL --cap-add NET_RAW --security-opt no-new-privileges grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
# ANCHOR_END: caps
# ANCHOR: refused
ch01-namespaces run sh -c ': >> /proc/sys/kernel/core_pattern'
ch01-namespaces run wc -c /proc/keys
ch01-namespaces run umount /proc/sys
ch01-namespaces run cut -d' ' -f5,6 /proc/self/mountinfo | grep '^/proc/sys '
# ANCHOR_END: refused
@ printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}' > /tmp/no-mkdir.json
# ANCHOR: seccomp
ch01-namespaces run grep '^Seccomp:' /proc/self/status
ch01-namespaces run unshare -U true
ch01-namespaces run --security-opt seccomp=unconfined unshare -U echo a user namespace of its own
ch01-namespaces run --security-opt seccomp=/tmp/no-mkdir.json mkdir /tmp/new-dir
# ANCHOR_END: seccomp
@ rm -f /tmp/no-mkdir.json
