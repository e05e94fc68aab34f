#!/bin/sh
# Chapter 5, "The goal": the seed's network and container d1, with the
# chapter's own program.
# ANCHOR: goal
ch05-network network create --driver bridge --subnet 192.168.10.1/24 testbridge
ch05-network run -net testbridge -p 81:81 --hostname d1 busybox sh -c 'ip -4 -o addr; route -n'
# ANCHOR_END: goal
