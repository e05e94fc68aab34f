#!/bin/sh
# FAQ (images): exporting a rootfs, and running a service from a committed image.
# ANCHOR: setup
mydocker network create --driver bridge --subnet 192.168.10.1/24 br0
mydocker run -d --name a -net br0 busybox sleep 3600
mydocker exec a sh -c 'mkdir -p /www && echo "hello from bird" > /www/index.html'
mydocker exec a sh -c 'echo "bird" > /etc/motd'
mydocker commit a web-image
# ANCHOR_END: setup
# ANCHOR: problem
mydocker run -d --name bird -net br0 -p 8888:80 web-image httpd -p 80 -h /www
@ until mydocker inspect bird | grep -q '"FinishedAt": "'; do sleep 0.1; done
mydocker ps -a
busybox wget -q -O - 198.51.100.2:8888
# ANCHOR_END: problem
# ANCHOR: diagnose
mydocker logs bird
mydocker run --rm web-image sh -c 'httpd -p 80 -h /www; echo "httpd returned $?"; ps -o pid,args'
# ANCHOR_END: diagnose
# ANCHOR: fix
mydocker rm bird
mydocker run -d --name bird -net br0 -p 8888:80 web-image httpd -f -p 80 -h /www
mydocker exec bird ps -o pid,args
# (not shown: wait until the server listens)
@ until nsenter -t $(mydocker inspect bird | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p') -n ss -tln | grep -q ':80 '; do sleep 0.1; done
busybox wget -q -O - 198.51.100.2:8888
ip netns exec mdlab-inet busybox wget -q -O - 198.51.100.2:8888
mydocker exec a wget -q -O - 192.168.10.3
# ANCHOR_END: fix
# ANCHOR: export
mydocker export -o bird.tar bird
tar -tf bird.tar | grep -e www -e motd
mydocker import bird.tar bird-flat
mydocker run --rm bird-flat cat /www/index.html /etc/motd
# ANCHOR_END: export
