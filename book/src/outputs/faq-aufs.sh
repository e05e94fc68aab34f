#!/bin/sh
# FAQ (pitfalls): AUFS is missing on modern kernels.
# ANCHOR: problem
mkdir -p lower upper work merged && echo "from the image" > lower/a
unshare -m mount -t aufs -o br=upper=rw:lower=ro none merged
# ANCHOR_END: problem
# ANCHOR: diagnose
grep -w -e aufs -e overlay /proc/filesystems
# ANCHOR_END: diagnose
# ANCHOR: fix
unshare -m sh -c 'mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work merged &&
    echo "changed in the container" > merged/a && cat merged/a'
cat lower/a upper/a
# ANCHOR_END: fix
# ANCHOR: mydocker
mydocker run --rm busybox grep ' / ' /proc/mounts
# ANCHOR_END: mydocker
