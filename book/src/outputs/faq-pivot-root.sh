#!/bin/sh
# FAQ (pitfalls): pivot_root: invalid argument on systemd hosts.
# ANCHOR: rootfs
mkdir rootfs && tar -xf /root/busybox.tar -C rootfs
# ANCHOR_END: rootfs
# ANCHOR: problem
unshare -m sh -c 'mount --make-rshared / &&
    mount --bind rootfs rootfs && cd rootfs && pivot_root . .'
# ANCHOR_END: problem
# ANCHOR: diagnose
unshare -m sh -c 'mount --make-rshared / && findmnt -o TARGET,PROPAGATION /'
# ANCHOR_END: diagnose
# ANCHOR: fix
unshare -m sh -c 'mount --make-rshared / && mount --make-rprivate / &&
    mount --bind rootfs rootfs && cd rootfs && pivot_root . . &&
    umount -l . && cd / && exec /bin/busybox ls /'
# ANCHOR_END: fix
# ANCHOR: not-a-mount
unshare -m sh -c 'cd rootfs && pivot_root . .'
unshare -m sh -c 'mountpoint rootfs; mount --bind rootfs rootfs && mountpoint rootfs'
# ANCHOR_END: not-a-mount
