#!/usr/bin/env bash
# Chapter 3's showcase: the overlay at work. A file written in a container
# lands in that container's upper directory; the image is untouched; a second
# container of the same image does not see the file; after exit nothing is
# left. Needs root. Everything lives in a temporary --root, removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${CARGO_TARGET_DIR:-$here/target}" && pwd)/debug/ch03-overlayfs
work=$(mktemp -d /var/tmp/mydocker-ch03-demo.XXXXXX)
root=$work/root
first=""
check() { # check DESCRIPTION TEST...: prints [ok] or fails the demo
    local what=$1; shift
    if "$@"; then printf '  [ok] %s\n' "$what"; else printf '  [FAIL] %s\n' "$what"; exit 1; fi
}
finish() {
    # Release the first container if it still waits, then remove everything.
    [ -d "$work/ctl" ] && touch "$work/ctl/go"
    [ -n "$first" ] && wait "$first" 2>/dev/null || true
    rm -rf "$work"
}
trap finish EXIT
run() { (cd "$work" && "$bin" --root "$root" run "$@"); }
# Everything about the image that a write would change, as one checksum.
fingerprint() { (cd "$root/images/busybox" && find . -printf '%p %i %m %s %T@ %C@\n' | sort | sha256sum); }

# The image, as a user would import it: busybox.tar in the current directory.
"$here/scripts/busybox-rootfs.sh" -t "$work/busybox.tar"
mkdir "$work/ctl"

echo "\$ ch03-overlayfs run busybox true        # the first run unpacks busybox.tar"
run busybox true
check "the image is unpacked once under <root>/images/busybox" test -x "$root/images/busybox/bin/busybox"
before=$(fingerprint)

echo "\$ ch03-overlayfs run -v \$work/ctl:/ctl busybox sh -c 'echo hello > /hello.txt; wait for /ctl/go' &"
run -v "$work/ctl:/ctl" busybox sh -c \
    'echo hello > /hello.txt; touch /ctl/ready; while [ ! -e /ctl/go ]; do sleep 0.1; done' &
first=$!
for _ in $(seq 100); do [ -e "$work/ctl/ready" ] && break; sleep 0.1; done
check "the first container is running" test -e "$work/ctl/ready"

upper=$(echo "$root"/containers/*/upper)
echo "\$ ls <root>/containers/<id>/upper"
ls "$upper"
check "hello.txt landed in the first container's upper directory" test -f "$upper/hello.txt"
check "the image has no hello.txt" test ! -e "$root/images/busybox/hello.txt"
check "the host sees no mount of the container (it lives in the child's namespace)" \
    test -z "$(grep -F "$root" /proc/mounts || true)"

echo "\$ ch03-overlayfs run busybox cat /hello.txt     # a second container"
set +e; out=$(run busybox cat /hello.txt 2>&1); code=$?; set -e
echo "$out"
check "the second container does not see it" test "$code" -ne 0

touch "$work/ctl/go"
wait "$first"; first=""
check "after exit, the container's directories are gone" test -z "$(ls "$root/containers")"
check "the image is byte-for-byte unchanged (inodes, modes, sizes, times)" test "$before" = "$(fingerprint)"

echo "\$ ch03-overlayfs run busybox sh -c 'stat -c \"%n: %F %t,%T\" /dev/null; echo x > /dev/null; cat /dev/null | wc -c'"
out=$(run busybox sh -c 'stat -c "%n: %F %t,%T" /dev/null; echo x > /dev/null; cat /dev/null | wc -c')
echo "$out"
check "/dev/null is the real device 1,3 and stays empty" \
    test "$out" = "$(printf '/dev/null: character special file 1,3\n0')"
