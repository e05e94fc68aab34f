#!/bin/sh
# FAQ (networking): entering a container's network namespace by pid.
# ANCHOR: setup
mydocker network create --driver bridge --subnet 192.168.10.1/24 testbridge
mydocker run -d --name d1 -net testbridge busybox nc -ll -p 81 -e echo hello from d1
# (not shown: wait until the server listens)
@ until nsenter -t $(mydocker inspect d1 | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p') -n ss -tln | grep -q ':81 '; do sleep 0.1; done
pid=$(mydocker inspect d1 | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p')
# ANCHOR_END: setup
# ANCHOR: problem
mydocker exec d1 ss -tln
# ANCHOR_END: problem
# ANCHOR: nsenter
nsenter -t $pid -n ss -tln
nsenter -t $pid -n ip -4 -br addr
nsenter -t $pid -n busybox ifconfig eth0 | head -2
nsenter -t $pid -n busybox ping -c1 -W1 198.51.100.1
# ANCHOR_END: nsenter
# ANCHOR: inodes
readlink /proc/$pid/ns/net /proc/$pid/ns/mnt
readlink /proc/self/ns/net /proc/self/ns/mnt
nsenter -t $pid -n readlink /proc/self/ns/net /proc/self/ns/mnt
# ANCHOR_END: inodes
# ANCHOR: more
nsenter -t $pid -n -m -u -p sh -c 'hostname; ps'
# ANCHOR_END: more
