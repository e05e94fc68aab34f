#!/bin/sh
# Chapter 3's labs that run in the foreground (lab 1's background container
# is ch03-bg; lab 4's escape, which writes a marker on the host's root, is
# not recorded: the page marks it illustrative).
# filter: /\b[A-Z][a-z]{2} +\d+ \d\d:\d\d\b/Nov 29 11:03/
@ export MYDOCKER_ROOT=/tmp/lab/root
@ mkdir -p /tmp/lab
# ANCHOR: overlay-by-hand
cd /tmp/lab && mkdir lower upper work merged
echo base > lower/a; echo keep > lower/b
unshare -m sh -c 'mount -t overlay overlay \
      -o lowerdir=/tmp/lab/lower,upperdir=/tmp/lab/upper,workdir=/tmp/lab/work /tmp/lab/merged
    cd /tmp/lab/merged && echo more >> a && rm b && echo new > c && ls && cat a'
ls -l upper
cat lower/a
# ANCHOR_END: overlay-by-hand
# ANCHOR: devnull
ch03-overlayfs run busybox sh -c 'rm /dev/null; touch /dev/null
    ls /no-such-file 2>/dev/null
    echo "---- cat /dev/null:"; cat /dev/null
    echo x > /dev/null; echo "---- after echo x > /dev/null:"; cat /dev/null'
# ANCHOR_END: devnull
# ANCHOR: devnull-node
ch03-overlayfs run busybox sh -c 'stat -c "%F %t,%T" /dev/null; echo x > /dev/null; wc -c < /dev/null'
# ANCHOR_END: devnull-node
# ANCHOR: tty
ch03-overlayfs run -t busybox sh -c 'tty; ls /dev/pts'
# ANCHOR_END: tty
# ANCHOR: pivot-shared
$OLDPWD/scripts/busybox-rootfs.sh /tmp/lab/rootfs
unshare -m sh -c 'mount --make-rshared /
    mount --bind /tmp/lab/rootfs /tmp/lab/rootfs && cd /tmp/lab/rootfs && pivot_root . .'
# ANCHOR_END: pivot-shared
# ANCHOR: pivot-private
unshare -m sh -c 'mount --bind /tmp/lab/rootfs /tmp/lab/rootfs && cd /tmp/lab/rootfs &&
    pivot_root . . && umount -l . && cd / && exec /bin/busybox ls /'
# ANCHOR_END: pivot-private
# ANCHOR: volumes
mkdir -p /tmp/lab/vol
ch03-overlayfs run -v /tmp/lab/vol:/data busybox sh -c 'echo hi > /data/f'
cat /tmp/lab/vol/f
ch03-overlayfs run -v /tmp/lab/vol:/data:ro busybox sh -c 'echo hi > /data/g'
# ANCHOR_END: volumes
# ANCHOR: evil
cp -a $MYDOCKER_ROOT/images/busybox $MYDOCKER_ROOT/images/evil
ln -s /etc $MYDOCKER_ROOT/images/evil/data
ch03-overlayfs run -v /tmp/lab/vol:/data/lab evil sh -c \
    'echo hi > /data/lab/f; cut -d" " -f2 /proc/mounts | grep lab'
ls /etc/lab
# ANCHOR_END: evil
# ANCHOR: bad-input
ch03-overlayfs run alpine true; echo $?
ch03-overlayfs run -v /tmp/lab/vol busybox true; echo $?
ch03-overlayfs run -v /etc/hostname/x:/data busybox true; echo $?
ch03-overlayfs run busybox bash; echo $?
ls $MYDOCKER_ROOT/containers
# ANCHOR_END: bad-input
# ANCHOR: read-only
mkdir -p /tmp/lab/data
ch03-overlayfs run --read-only --tmpfs /run/app:size=1m -v /tmp/lab/data:/data busybox sh -c '
    touch /etc/new; echo hi > /run/app/f && cat /run/app/f; echo kept > /data/f
    grep -E " / | /run/app " /proc/mounts | cut -d" " -f2-4 | sed "s/,lowerdir=.*//"'
cat /tmp/lab/data/f
# ANCHOR_END: read-only
