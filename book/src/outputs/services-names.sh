#!/bin/sh
# Real services, lab 2: names on a network (chapter 5's hosts files), with
# busybox: by name, alias and hostname on one network, not across, and gone
# after rm; --add-host.
# ANCHOR: setup
mydocker network create --subnet 192.168.20.1/24 front
mydocker network create --subnet 192.168.30.1/24 back
mydocker run -d --name client -net front busybox sleep 3600
mydocker run -d --name db -net front --network-alias database --hostname dbhost busybox sleep 3600
mydocker run -d --name elsewhere -net back busybox sleep 3600
# ANCHOR_END: setup
# ANCHOR: resolve
mydocker exec client ping -c1 db
mydocker exec client ping -c1 database
mydocker exec client ping -c1 dbhost
mydocker exec client ping -c1 elsewhere
mydocker exec client cat /etc/hosts
# ANCHOR_END: resolve
# ANCHOR: rm
mydocker rm -f db
mydocker exec client ping -c1 db
mydocker exec client tail -n 1 /etc/hosts
# ANCHOR_END: rm
# ANCHOR: add-host
mydocker run --rm -net front --add-host db.example:10.0.0.9 \
      --add-host host.docker.internal:host-gateway busybox grep -e example -e internal /etc/hosts
# ANCHOR_END: add-host
