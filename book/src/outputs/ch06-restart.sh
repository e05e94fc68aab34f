#!/bin/sh
# Chapter 6's restart policies, typed in the lab shell (scripts/lab.sh exec
# mdlab bash) with ./bin on PATH. How many restarts `crashy` reached when
# ps looked depends on the machine: RestartCount is not shown for it.
# ANCHOR: setup
mydocker import /root/busybox.tar busybox
# ANCHOR_END: setup
# ANCHOR: on_failure
mydocker run -d --name flaky --restart on-failure:3 busybox sh -c 'echo try; exit 3'
# (not shown: wait until the supervisor has given up and exited)
@ until mydocker inspect flaky | grep -q '"Supervisor": null'; do sleep 0.1; done
mydocker logs flaky
mydocker ps -a
mydocker inspect flaky | grep -E -A2 '"(RestartCount|RestartPolicy)"'
# ANCHOR_END: on_failure
# ANCHOR: always
mydocker run -d --name svc --restart always busybox sleep 600
pid=$(mydocker inspect svc | sed -n 's/^ *"Pid": \([0-9]*\),*$/\1/p')
kill -9 $pid
# (not shown: wait until the supervisor has started it again)
@ until mydocker inspect svc | grep -q '"RestartCount": 1' && mydocker ps | grep -q Up; do sleep 0.1; done
mydocker ps
[ "$(mydocker inspect svc | sed -n 's/^ *"Pid": \([0-9]*\),*$/\1/p')" != $pid ] && echo a new process
mydocker stop svc
mydocker ps -a
# ANCHOR_END: always
# ANCHOR: restarting
mydocker rm flaky svc
mydocker run -d --name crashy --restart always busybox false
# (not shown: wait for a moment between two runs)
@ until mydocker ps | grep -q Restarting; do sleep 0.02; done
mydocker ps
mydocker stop crashy
mydocker ps -a
# ANCHOR_END: restarting
# ANCHOR: conflict
mydocker run -d --restart always --rm busybox true; echo $?
# ANCHOR_END: conflict
