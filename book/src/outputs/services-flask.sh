#!/bin/sh
# Real services, lab 3: the seed's redis and myflask, on Debian's
# redis-server and python3-flask (make images builds the tars).
# requires: [ -f /var/cache/mydocker-images/redis-image.tar ] && [ -f /var/cache/mydocker-images/flask-image.tar ]
# redis stamps its log lines with the time and date.
# filter: /\b\d\d \w\w\w \d{4} \d\d:\d\d:\d\d\.\d{3}\b/01 Jan 2025 12:00:00.000/
# and flask (werkzeug) its requests.
# filter: /\[\d\d(.)\w\w\w(.)\d{4} \d\d:\d\d:\d\d\]/[01\1Jan\g<2>2025 12:00:00]/
# ANCHOR: redis
mydocker import /var/cache/mydocker-images/redis-image.tar redis-image
mydocker import /var/cache/mydocker-images/flask-image.tar flask-image
mydocker network create --driver bridge --subnet 192.168.20.1/24 br0
mydocker run -d --name myredis -net br0 redis-image redis-server --protected-mode no
# (not shown: wait until redis is ready)
@ until mydocker logs myredis | grep -q 'Ready to accept'; do sleep 0.1; done
mydocker logs myredis
# ANCHOR_END: redis
# ANCHOR: build
mydocker run --name build -v $PWD/examples/flask:/src:ro flask-image cp /src/app.py /root/app.py
mydocker commit build myflask
mydocker rm build
mydocker run -d --name myflask -net br0 -p 5000:5000 myflask python3 /root/app.py
# ANCHOR_END: build
# (not shown: wait until the app listens)
@ until nsenter -t $(mydocker inspect myflask | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p') -n ss -tln | grep -q ':5000 '; do sleep 0.1; done
# ANCHOR: visits
for i in 1 2 3 4 5; do ip netns exec mdlab-inet busybox wget -q -O - 198.51.100.2:5000; done
mydocker exec myflask grep myredis /etc/hosts
mydocker logs myflask
# ANCHOR_END: visits
