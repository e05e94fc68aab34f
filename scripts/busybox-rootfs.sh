#!/bin/sh
# Builds a minimal root filesystem from the host's static busybox, with no
# network: one binary and a link for every applet it has.
#
#   scripts/busybox-rootfs.sh DIR        the rootfs, in DIR (created)
#   scripts/busybox-rootfs.sh -t FILE    the same rootfs as a tar, like `docker export`
#
# Needs the Debian package busybox-static (a dynamically linked busybox would
# look for the host's libc inside the container and fail with "not found").
set -eu

usage() { echo "usage: $0 DIR | -t FILE.tar" >&2; exit 2; }
[ $# -ge 1 ] || usage

BUSYBOX=${BUSYBOX:-/bin/busybox}
if ! "$BUSYBOX" --list-full >/dev/null 2>&1; then
    echo "$0: $BUSYBOX is missing: apt-get install busybox-static" >&2
    exit 1
fi
if file_out=$(LC_ALL=C readelf -d "$BUSYBOX" 2>/dev/null) && echo "$file_out" | grep -q NEEDED; then
    echo "$0: $BUSYBOX is dynamically linked: apt-get install busybox-static" >&2
    exit 1
fi

if [ "$1" = "-t" ]; then
    [ $# -eq 2 ] || usage
    tarfile=$2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$0" "$work/rootfs"
    # Numeric owners and a fixed order, so two builds give the same tar.
    tar --numeric-owner --sort=name -C "$work/rootfs" -cf "$tarfile.tmp" .
    mv "$tarfile.tmp" "$tarfile"
    exit 0
fi

dest=$1
mkdir -p "$dest"
cd "$dest"
mkdir -p bin sbin usr/bin usr/sbin etc root tmp proc sys dev var/www home
chmod 1777 tmp
chmod 700 root
cp "$BUSYBOX" bin/busybox
# Every applet as a link to /bin/busybox, skipping busybox itself.
"$BUSYBOX" --list-full | while read -r applet; do
    [ "$applet" = "bin/busybox" ] && continue
    mkdir -p "$(dirname "$applet")"
    ln -sf /bin/busybox "$applet"
done
cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo 'hosts: files dns' > etc/nsswitch.conf
: > etc/hostname
: > etc/hosts
: > etc/resolv.conf
echo '<h1>hello from a mydocker container</h1>' > var/www/index.html
