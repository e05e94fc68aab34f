#!/bin/sh
# FAQ (networking): what a LOCAL address is.
# ANCHOR: table
mydocker network create --driver bridge --subnet 192.168.10.1/24 testbridge
# ANCHOR: local-table
ip route show table local type local
# ANCHOR_END: local-table
# ANCHOR_END: table
# ANCHOR: route-get
ip route get 198.51.100.2
ip route get 198.51.100.1
# ANCHOR_END: route-get
# ANCHOR: rules
mydocker run -d --name web -net testbridge -p 81:81 busybox nc -ll -p 81 -e echo hello from web
# (not shown: wait until the server listens)
@ until nsenter -t $(mydocker inspect web | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p') -n ss -tln | grep -q ':81 '; do sleep 0.1; done
iptables -t nat -S PREROUTING
iptables -t nat -S OUTPUT
# ANCHOR_END: rules
# ANCHOR: new-address
ip addr add 198.51.100.3/24 dev eth0
ip route show table local type local
ip netns exec mdlab-inet busybox nc -w1 198.51.100.3 81
# ANCHOR_END: new-address
# ANCHOR: loopback
busybox nc -w1 127.0.0.1 81
# ANCHOR_END: loopback
