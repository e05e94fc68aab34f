#!/bin/sh
# Real services, lab 1: the seed's nginx walkthrough on Debian's nginx-light
# (make images builds the tar; the lab is skipped where it was not built).
# requires: [ -f /var/cache/mydocker-images/nginx-image.tar ]
# ANCHOR: setup
mydocker import /var/cache/mydocker-images/nginx-image.tar nginx-image
mydocker network create --driver bridge --subnet 192.168.10.1/24 br0
mydocker run -d --name a -net br0 nginx-image sleep 3600
# ANCHOR_END: setup
# ANCHOR: service
mydocker exec a /etc/init.d/nginx start
mydocker exec a /etc/init.d/nginx status
busybox wget -q -O - 192.168.10.2 | grep '<title>'
# ANCHOR_END: service
# ANCHOR: commit
mydocker exec a sh -c "echo 'daemon off;' >> /etc/nginx/nginx.conf"
mydocker exec a tail -n 2 /etc/nginx/nginx.conf
mydocker commit a mynginx
mydocker run -d --name bird -net br0 -p 8888:80 mynginx nginx
# ANCHOR_END: commit
# (not shown: wait until bird listens)
@ until busybox wget -q -O - 198.51.100.2:8888 >/dev/null 2>&1; do sleep 0.1; done
# ANCHOR: reach
ps -C nginx -o user=,args= | sort -u
mydocker exec bird sh -c 'tr "\0" " " < /proc/1/cmdline; echo'
busybox wget -q -O - 198.51.100.2:8888 | grep '<title>'
ip netns exec mdlab-inet busybox wget -q -O - 198.51.100.2:8888 | grep '<title>'
mydocker run --rm -net br0 busybox wget -q -O - 198.51.100.2:8888 | grep '<title>'
# ANCHOR_END: reach
