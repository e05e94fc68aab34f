#!/bin/sh
# FAQ (networking): the routing table inside a container.
# ANCHOR: setup
mydocker network create --driver bridge --subnet 192.168.10.1/24 testbridge
mydocker run -d --name d1 --cap-add NET_ADMIN -net testbridge busybox sleep 3600
mydocker exec d1 route -n
mydocker exec d1 ping -c1 -W1 198.51.100.1
# ANCHOR_END: setup
# ANCHOR: problem
mydocker exec d1 ip route replace default via 192.168.10.254
mydocker exec d1 ping -c1 -W1 198.51.100.1
# ANCHOR_END: problem
# ANCHOR: diagnose
mydocker exec d1 route -n
ip -4 -br addr show testbridge
mydocker exec d1 ping -c1 -W1 192.168.10.254
# ANCHOR_END: diagnose
# ANCHOR: fix
mydocker exec d1 ip route replace default via 192.168.10.1
mydocker exec d1 ping -c1 -W1 198.51.100.1
# ANCHOR_END: fix
# ANCHOR: record
mydocker inspect testbridge | grep -A1 Gateway
# ANCHOR_END: record
