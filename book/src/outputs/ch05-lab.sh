#!/bin/sh
# Chapter 5's concepts and lab, typed in the lab shell (scripts/lab.sh exec
# mdlab bash) with the chapter's program on PATH. Lab 1's interactive d2
# (run -ti) is recorded as one command per question instead.
# The client's port and conntrack's countdown change on every run.
# filter: /sport=(?!81\b)\d+/sport=54720/
# filter: /dport=(?!81\b)\d+/dport=54720/
# filter: /^(ipv4 +2 tcp +6) \d+/\1 118/
# ANCHOR: lab-addr
ip -br addr
# ANCHOR_END: lab-addr
# ANCHOR: lab1-start
ch05-network network create --driver bridge --subnet 192.168.10.1/24 testbridge
ch05-network import /root/busybox.tar busybox
ch05-network run -net testbridge -p 81:81 --hostname d1 busybox \
      sh -c "trap 'exit 0' TERM; nc -ll -p 81 -e echo hello-from-d1 & wait" &
# ANCHOR_END: lab1-start
# (not shown: wait until d1 listens: its DNAT rule is written before it starts)
@ until busybox nc -w1 192.168.10.1 81 </dev/null 2>/dev/null | grep -q hello; do sleep 0.1; done
# ANCHOR: lab1-d2
ch05-network run -net testbridge -p 82:82 --hostname d2 busybox sh -c '
    ip -4 -o addr show eth0
    ping -c1 192.168.10.2          # d1, over the bridge
    ping -c1 198.51.100.1          # the internet, through NAT
    nc -w1 198.51.100.2 81 </dev/null   # d1 again, through the host: the hairpin'
# ANCHOR_END: lab1-d2
# ANCHOR: lab1-port
busybox nc -w1 192.168.10.1 81 </dev/null
busybox nc -w1 198.51.100.2 81 </dev/null
ip netns exec mdlab-inet busybox nc -w1 198.51.100.2 81 </dev/null
# ANCHOR_END: lab1-port
# ANCHOR: local
ip route show table local type local
# ANCHOR_END: local
# ANCHOR: conntrack
grep dport=81 /proc/net/nf_conntrack | grep 198.51.100.1
# ANCHOR_END: conntrack
# ANCHOR: lab1-made
ip -br link
iptables -S MYDOCKER-FORWARD
iptables -t nat -S MYDOCKER
iptables -t nat -S MYDOCKER-POSTROUTING
ls /var/lib/mydocker/networks
# ANCHOR_END: lab1-made
# ANCHOR: lab3
kill %1; wait
ch05-network network rm testbridge
ip -br link
iptables -S; iptables -t nat -S
# ANCHOR_END: lab3
