#!/usr/bin/env bash
# Chapter 1's showcase: a command in its own namespaces.
set -euo pipefail
bin=${CARGO_TARGET_DIR:-target}/debug/ch01-namespaces
check() { # check DESCRIPTION TEST...: prints [ok] or fails the demo
    local what=$1; shift
    if "$@"; then printf '  [ok] %s\n' "$what"; else printf '  [FAIL] %s\n' "$what"; exit 1; fi
}

echo "\$ ch01-namespaces run sh -c 'echo my pid is \$\$'"
out=$("$bin" run sh -c 'echo my pid is $$'); echo "$out"
check "the command is PID 1 in its own PID namespace" [ "$out" = "my pid is 1" ]

echo "\$ ch01-namespaces run --hostname box1 hostname"
out=$("$bin" run --hostname box1 hostname); echo "$out"
check "its own hostname; the host's is still $(hostname)" [ "$out" = box1 -a "$(hostname)" != box1 ]

echo "\$ ch01-namespaces run busybox ip -o link"
out=$("$bin" run busybox ip -o link); echo "$out"
check "an empty network namespace: only lo" [ "$(echo "$out" | wc -l)" = 1 ]

echo "\$ ch01-namespaces run sh -c 'sleep 5 & ps -o pid,comm'"
out=$("$bin" run sh -c 'sleep 5 & busybox ps -o pid,comm; kill $!'); echo "$out"
check "a fresh /proc: ps sees only the container" [ "$(echo "$out" | wc -l)" = 4 ]

set +e
"$bin" run sh -c 'exit 32'; c1=$?
"$bin" run no-such-command 2>/dev/null; c2=$?
set -e
check "exit codes like Docker: 32 is passed through, a missing command is 127" [ $c1 = 32 -a $c2 = 127 ]
