#!/bin/sh
# Chapter 6's lab, typed in the lab shell (scripts/lab.sh exec mdlab bash)
# with ./bin on PATH. Pids differ on every run (and from machine to machine):
# the two inspect lines show stand-ins, and ps names them $sup and $pid.
# filter: /"Pid": \d+/"Pid": 4242/
# filter: /"Supervisor": \d+/"Supervisor": 4241/
# ANCHOR: setup
mydocker import /root/busybox.tar busybox
# ANCHOR_END: setup
# ANCHOR: lab1
mydocker run -d --name s busybox sh -c 'echo out; echo err >&2; sleep 600'
mydocker inspect s | grep -E '"(Pid|Supervisor)"'
sup=$(mydocker inspect s | sed -n 's/^ *"Supervisor": \([0-9]*\),*$/\1/p')
pid=$(mydocker inspect s | sed -n 's/^ *"Pid": \([0-9]*\),*$/\1/p')
ps -o pid,ppid,sid,args -p $sup,$pid | sed "s/\<$sup\>/\$sup/g; s/\<$pid\>/\$pid/g"
mydocker logs s
mydocker logs s 2>/dev/null
ls /var/lib/mydocker/containers/*/ | sed "s/^[0-9a-f]\{64\}/<id>/" | sort
# ANCHOR_END: lab1
# ANCHOR: lab2
mydocker stop s
mydocker ps -a
mydocker run -d --name t busybox sh -c "trap 'exit 42' TERM; while :; do sleep 1; done"
# (not shown: wait until the shell has run its trap: SIGTERM's bit, 1 << 14, in SigCgt)
@ tpid=$(mydocker inspect t | sed -n 's/^ *"Pid": \([0-9]*\),*$/\1/p'); until [ $(( 0x$(sed -n 's/^SigCgt:\t//p' /proc/$tpid/status) >> 14 & 1 )) = 1 ]; do sleep 0.1; done
mydocker stop t; mydocker ps -a
# ANCHOR_END: lab2
# ANCHOR: lab3
mydocker start s
mydocker exec s sh -c 'echo $$; tr "\0" " " </proc/1/cmdline; echo; for ns in mnt pid net; do readlink /proc/self/ns/$ns; done'
pid=$(mydocker inspect s | sed -n 's/^ *"Pid": \([0-9]*\),*$/\1/p')
for ns in mnt pid net; do readlink /proc/$pid/ns/$ns; done
mydocker exec -e GREETING=hi -w /tmp s sh -c 'echo $GREETING from $(pwd)'
mydocker exec s nosuchcommand; echo $?
# ANCHOR_END: lab3
# ANCHOR: lab4
mydocker network create --subnet 192.168.10.1/24 br0
mydocker run -d --name c -net br0 -p 81:81 busybox sleep 600
kill -9 $(mydocker inspect c | sed -n 's/^ *"Supervisor": \([0-9]*\),*$/\1/p')
# (not shown: the kernel kills the container with its supervisor)
@ sleep 0.5
mydocker ps -a
iptables -t nat -S | grep 81
mydocker rm -f c
iptables -t nat -S | grep 81
ip -br link show type veth
# ANCHOR_END: lab4
