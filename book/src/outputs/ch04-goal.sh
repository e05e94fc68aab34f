#!/bin/sh
# Chapter 4, "The goal": import, commit, run, images, save, and skopeo's view.
@ cp /root/busybox.tar busybox.tar
# ANCHOR: goal
ch04-images import busybox.tar busybox
ch04-images run --name a busybox sh -c 'mkdir /data && echo hello > /data/f && rm /etc/passwd'
ch04-images commit a withdata
ch04-images run withdata sh -c 'cat /data/f; ls /etc/passwd'
ch04-images images
ch04-images save withdata -o withdata.tar
skopeo inspect docker-archive:withdata.tar | grep -A3 Layers
# ANCHOR_END: goal
