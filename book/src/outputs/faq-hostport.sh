#!/bin/sh
# FAQ (networking): a published port, reached through the host's own address.
# ANCHOR: setup
mydocker network create --driver bridge --subnet 192.168.10.1/24 testbridge
mydocker run -d --name web -net testbridge busybox nc -ll -p 81 -e echo hello from web
# (not shown: wait until the server listens)
@ until nsenter -t $(mydocker inspect web | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p') -n ss -tln | grep -q ':81 '; do sleep 0.1; done
iptables -t nat -A PREROUTING -p tcp --dport 81 -j DNAT --to-destination 192.168.10.2:81
# ANCHOR_END: setup
# ANCHOR: problem
ip netns exec mdlab-inet busybox nc -w1 198.51.100.2 81
busybox nc -w1 198.51.100.2 81
# ANCHOR_END: problem
# ANCHOR: diagnose
iptables -t nat -L PREROUTING -v -n
iptables -t nat -L OUTPUT -v -n
# ANCHOR_END: diagnose
# ANCHOR: fix
iptables -t nat -A OUTPUT -p tcp --dport 81 -j DNAT --to-destination 192.168.10.2:81
busybox nc -w1 198.51.100.2 81
# ANCHOR_END: fix
# ANCHOR: too-wide
busybox nc -w1 198.51.100.1 81
# ANCHOR_END: too-wide
# ANCHOR: mydocker
iptables -t nat -D PREROUTING -p tcp --dport 81 -j DNAT --to-destination 192.168.10.2:81
iptables -t nat -D OUTPUT -p tcp --dport 81 -j DNAT --to-destination 192.168.10.2:81
mydocker rm -f web
mydocker run -d --name web -net testbridge -p 81:81 busybox nc -ll -p 81 -e echo hello from web
# (not shown: wait until the server listens)
@ until nsenter -t $(mydocker inspect web | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p') -n ss -tln | grep -q ':81 '; do sleep 0.1; done
iptables -t nat -S
ip netns exec mdlab-inet busybox nc -w1 198.51.100.2 81
busybox nc -w1 198.51.100.2 81
busybox nc -w1 192.168.10.1 81
busybox nc -w1 198.51.100.1 81
# ANCHOR_END: mydocker
