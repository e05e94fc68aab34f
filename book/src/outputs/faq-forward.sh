#!/bin/sh
# FAQ (networking): FORWARD policy DROP, and its three fixes.
# ANCHOR: setup
[ -d /proc/sys/net/bridge ] || modprobe br_netfilter
mydocker network create --driver bridge --subnet 192.168.10.1/24 testbridge
mydocker run -d --name d1 -net testbridge busybox sleep 3600
mydocker run -d --name d2 -net testbridge busybox sleep 3600
iptables -P FORWARD DROP
iptables -F MYDOCKER-FORWARD
# ANCHOR_END: setup
# ANCHOR: problem
mydocker exec d1 ping -c1 -W1 192.168.10.3
mydocker exec d1 ping -c1 -W1 198.51.100.1
# ANCHOR_END: problem
# ANCHOR: diagnose
iptables -L FORWARD -v -n
sysctl net.bridge.bridge-nf-call-iptables
# ANCHOR_END: diagnose
# ANCHOR: fix1
iptables -A FORWARD -i testbridge -j ACCEPT
iptables -A FORWARD -o testbridge -j ACCEPT
mydocker exec d1 ping -c1 -W1 -q 192.168.10.3
mydocker exec d1 ping -c1 -W1 -q 198.51.100.1
iptables -D FORWARD -i testbridge -j ACCEPT
iptables -D FORWARD -o testbridge -j ACCEPT
# ANCHOR_END: fix1
# ANCHOR: fix2
iptables -P FORWARD ACCEPT
mydocker exec d1 ping -c1 -W1 -q 192.168.10.3
mydocker exec d1 ping -c1 -W1 -q 198.51.100.1
iptables -P FORWARD DROP
# ANCHOR_END: fix2
# ANCHOR: fix3
sysctl -w net.bridge.bridge-nf-call-iptables=0
mydocker exec d1 ping -c1 -W1 -q 192.168.10.3
mydocker exec d1 ping -c1 -W1 -q 198.51.100.1
sysctl -w net.bridge.bridge-nf-call-iptables=1
# ANCHOR_END: fix3
# ANCHOR: mydocker
mydocker run --rm -net testbridge busybox true
iptables -S MYDOCKER-FORWARD
mydocker exec d1 ping -c1 -W1 -q 192.168.10.3
mydocker exec d1 ping -c1 -W1 -q 198.51.100.1
# ANCHOR_END: mydocker
