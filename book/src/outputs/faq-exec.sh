#!/bin/sh
# FAQ (processes): why nothing runs after exec.
# ANCHOR: shell
mydocker run --rm busybox sh -c 'echo "before exec: pid $$"; exec sh -c "echo after exec: pid \$\$"; echo never printed'
# ANCHOR_END: shell
# ANCHOR: failed
mydocker run --rm busybox sh -c 'exec /no/such/program; echo "exec failed, so this line runs"'
mydocker run --rm busybox no-such-program; echo "exit code $?"
# ANCHOR_END: failed
# ANCHOR: same-process
mydocker run -d --name e busybox sh -c 'exec sleep 3600'
mydocker exec e ps -o pid,args
# ANCHOR_END: same-process
