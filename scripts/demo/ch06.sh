#!/usr/bin/env bash
# Chapter 6's showcase: the seed README's story with the complete mydocker,
# inside a network lab (a namespace standing for the host, another for the
# internet; see scripts/lab.sh), so the machine's own network is untouched.
#
#   network → two detached containers → pings both ways and to the lab's
#   internet → a published busybox httpd fetched from the host and from the
#   internet → logs → exec → commit and a run of the committed image →
#   stop → rm → nothing left
#
# Needs root. Prints a checklist; exits 0 only if every item passed.
# Everything lives in a temporary --root and a lab named mdlab-demo6-PID,
# both removed at the end, also on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${CARGO_TARGET_DIR:-$here/target}" && pwd)/debug/mydocker
[ -x "$bin" ] || { echo "build first: cargo build -p ch06-final" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
lab=mdlab-demo6-$$
work=$(mktemp -d /var/tmp/mydocker-ch06-demo.XXXXXX)
root=$work/root
passed=0

check() { # check DESCRIPTION TEST...: prints [ok] or fails the demo
    local what=$1; shift
    if "$@"; then printf '  [ok] %s\n' "$what"; passed=$((passed + 1))
    else printf '  [FAIL] %s\n' "$what"; exit 1; fi
}
md() { "$here/scripts/lab.sh" exec "$lab" "$bin" --root "$root" "$@"; }
show() { echo "\$ mydocker $*"; md "$@"; }
inlab() { "$here/scripts/lab.sh" exec "$lab" "$@"; }
# An HTTP GET with busybox nc (busybox wget crashes when linked statically).
get() { printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 2 "$1" "$2" 2>/dev/null | tail -n 1; }

finish() {
    local code=$?
    set +e
    if [ -d "$root/containers" ]; then
        for id in $(md ps -a -q --no-trunc 2>/dev/null); do md rm -f "$id" >/dev/null 2>&1; done
    fi
    "$here/scripts/lab.sh" down "$lab" 2>/dev/null
    rm -rf "$work"
    if [ "$code" = 0 ]; then echo "chapter 6: all $passed checks passed, nothing left behind"; fi
    exit "$code"
}
trap finish EXIT

"$here/scripts/lab.sh" up "$lab"
"$here/scripts/busybox-rootfs.sh" -t "$work/busybox.tar"
md import "$work/busybox.tar" busybox >/dev/null
md tag busybox alpine

show network create --driver bridge --subnet 192.168.10.1/24 br0
check "network br0 with its bridge in the lab" inlab ip link show br0

echo "\$ mydocker run -d --name d1 -net br0 -p 81:81 alpine sh -c 'echo d1 is up; exec sleep 3600'"
md run -d --name d1 -net br0 -p 81:81 alpine sh -c 'echo d1 is up; exec sleep 3600'
echo "\$ mydocker run -d --name d2 -net br0 -p 82:82 alpine sh -c 'echo d2 is up; exec sleep 3600'"
md run -d --name d2 -net br0 -p 82:82 alpine sh -c 'echo d2 is up; exec sleep 3600'
echo "\$ mydocker run -d --name web -net br0 -p 8080:80 alpine sh -c '... exec httpd -f -p 80 -h /www'"
md run -d --name web -net br0 -p 8080:80 alpine \
    sh -c 'mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
show ps
check "three containers are Up" test "$(md ps | grep -c ' Up ')" = 3

echo "\$ mydocker exec d1 ping -c1 192.168.10.3"
check "d1 (192.168.10.2) reaches d2" md exec d1 ping -c1 -W2 192.168.10.3
echo "\$ mydocker exec d2 ping -c1 192.168.10.2"
check "d2 (192.168.10.3) reaches d1" md exec d2 ping -c1 -W2 192.168.10.2
echo "\$ mydocker exec d1 ping -c1 198.51.100.1     # the lab's internet"
check "d1 reaches the internet through NAT" md exec d1 ping -c1 -W2 198.51.100.1

page=""
for _ in $(seq 50); do page=$(inlab sh -c "$(declare -f get); get 192.168.10.1 8080") || true
    [ "$page" = "hello from web" ] && break; sleep 0.1; done
echo "host: GET http://192.168.10.1:8080/ -> $page"
check "the published httpd answers on the host" test "$page" = "hello from web"
page=$("$here/scripts/lab.sh" inet "$lab" sh -c "$(declare -f get); get 198.51.100.2 8080") || true
echo "internet: GET http://198.51.100.2:8080/ -> $page"
check "... and from the internet, through the host's address" test "$page" = "hello from web"

show logs d1
check "logs shows what d1 printed" test "$(md logs d1)" = "d1 is up"

echo "\$ mydocker exec d1 sh -c 'hostname; cat /proc/1/cmdline'"
out=$(md exec d1 sh -c 'hostname; tr "\0" " " < /proc/1/cmdline'); echo "$out"
check "exec enters d1: PID 1 is its command" test "$(echo "$out" | tail -n 1)" = "sleep 3600 "

md exec d1 sh -c 'echo made in d1 > /hello.txt'
show commit d1 d1-image
echo "\$ mydocker run --rm d1-image cat /hello.txt"
out=$(md run --rm d1-image cat /hello.txt); echo "$out"
check "the committed image has d1's change" test "$out" = "made in d1"

show stop -t 2 d1 d2 web
check "every container has exited" test "$(md ps -q | wc -l)" = 0
show ps -a
ids=$(md ps -a -q --no-trunc)
show rm d1 d2 web
show network rm br0
nothing_left() {
    [ -z "$(md ps -a -q)" ] || return 1
    ! inlab ip -o link | grep -q veth || return 1
    ! inlab iptables -t nat -S | grep -q 'mydocker:' || return 1
    for id in $ids; do
        ! ls -d /sys/fs/cgroup/*/mydocker/"$id" >/dev/null 2>&1 || return 1
    done
}
check "no container, veth, rule or cgroup is left" nothing_left
