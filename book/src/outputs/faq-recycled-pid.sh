#!/bin/sh
# FAQ (pitfalls): exec into a recycled pid.
# Pids and process start times differ on every run:
# filter: /"pid": \d+/"pid": 4242/
# filter: /"pid_start": \d+/"pid_start": 1831102/
# filter: /^\d+$/1833467/
# ANCHOR: setup
mydocker network create --driver bridge --subnet 192.168.10.1/24 br0
mydocker run -d --name old -net br0 busybox sleep 3600
pid=$(mydocker inspect old | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p')
supervisor=$(mydocker inspect old | sed -n 's/^ *"Supervisor": \([0-9]*\)$/\1/p')
# ANCHOR_END: setup
# ANCHOR: crash
kill -9 $supervisor
@ while [ -e /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status; do sleep 0.1; done
grep -e '"status"' -e '^  "pid"' /var/lib/mydocker/containers/*/config.json
# ANCHOR_END: crash
# ANCHOR: recycle
sleep 3600 & stranger=$!
sed -i "s/\"pid\": $pid,/\"pid\": $stranger,/" /var/lib/mydocker/containers/*/config.json
# ANCHOR_END: recycle
# ANCHOR: seed
nsenter -t $stranger -n ip -4 -br addr show eth0
# ANCHOR_END: seed
# ANCHOR: mydocker
mydocker exec old ip -4 -br addr; echo "exit code $?"
mydocker ps -a
# ANCHOR_END: mydocker
# ANCHOR: diagnose
cut -d' ' -f22 /proc/$stranger/stat
grep pid_start /var/lib/mydocker/containers/*/config.json
# ANCHOR_END: diagnose
# ANCHOR: cleanup
mydocker rm -f old
kill $stranger
# ANCHOR_END: cleanup
