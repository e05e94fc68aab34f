#!/bin/sh
# Chapter 3, "The goal": the page's interactive session, with the shell's
# commands given to sh -c so that it can be re-run (the image comes from
# /root/busybox.tar, as `make init` writes it).
# ANCHOR: goal
ch03-overlayfs run busybox sh -c 'ls -C /; echo hello > /hello.txt; cat /hello.txt
    cut -d" " -f1-3 /proc/mounts'
ch03-overlayfs run busybox cat /hello.txt
# ANCHOR_END: goal
