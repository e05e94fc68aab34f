#!/bin/sh
# FAQ (processes): $@ and $#.
# ANCHOR: inline
mydocker run --rm busybox sh -c 'echo "argc: $#"; echo "argv: $@"' test.sh first_arg "second arg"
# ANCHOR_END: inline
# ANCHOR: quoted
mydocker run --rm busybox sh -c 'for a in "$@"; do echo "[$a]"; done' test.sh first_arg "second arg"
mydocker run --rm busybox sh -c 'for a in $@; do echo "[$a]"; done' test.sh first_arg "second arg"
# ANCHOR_END: quoted
# ANCHOR: script
mkdir -p args
printf '%s\n' '!/bin/sh' 'echo "argc: $#"' 'echo "argv: $@"' > args/test.sh
mydocker run --rm -v $PWD/args:/args busybox sh /args/test.sh first_arg "second arg"
# ANCHOR_END: script
# ANCHOR: diagnose
head -n1 args/test.sh
# ANCHOR_END: diagnose
# ANCHOR: fix
sed -i '1s/^/#/' args/test.sh
head -n1 args/test.sh
chmod +x args/test.sh
mydocker run --rm -v $PWD/args:/args busybox /args/test.sh first_arg "second arg"
# ANCHOR_END: fix
