#!/bin/sh
# Chapter 6, "The goal": a detached web server, watched, entered, stopped
# and removed. The network br0 is made first, and not shown.
@ mydocker network create --driver bridge --subnet 192.168.10.1/24 br0 >/dev/null
# ANCHOR: goal
mydocker run -d --name web -net br0 -p 8080:80 busybox httpd -f -p 80 -h /etc
mydocker ps
mydocker exec web hostname
mydocker stop web
mydocker ps -a
mydocker rm web
# ANCHOR_END: goal
