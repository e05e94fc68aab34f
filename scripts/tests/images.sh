#!/usr/bin/env bash
# scripts/images.sh with a fake mmdebstrap, so no mirror is needed: a failed
# build leaves neither a tar nor a part of one; a good build's tar is cached
# and reused without calling mmdebstrap again; an unknown image or a missing
# tar is one line on stderr and exit 1. Needs root (the script refuses to
# build otherwise), as the real build does.
set -euo pipefail
TEST_NAME=images
. "$(dirname "$0")/lib.sh"
require_root images || exit 0

images=$WORKSPACE/scripts/images.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bin" "$dir/cache"
export IMAGES_DIR=$dir/cache
# Any readable file stands for the apt sources: the fake never reads them.
export IMAGES_SOURCES=$WORKSPACE/Makefile

# The fake writes half a tar to its output (the next to last argument),
# then fails when $dir/fail exists; every call is counted in $dir/calls.
cat >"$dir/bin/mmdebstrap" <<FAKE
#!/bin/sh
echo call >>"$dir/calls"
for a; do prev=\$out; out=\$a; done
echo "half a tar" >"\$prev"
[ -e "$dir/fail" ] && exit 1
tar -cf "\$prev" -C "$dir" bin
FAKE
chmod +x "$dir/bin/mmdebstrap"
export PATH=$dir/bin:$PATH

# A failed build: the script fails, nothing of the tar is left.
touch "$dir/fail"
rc=0; "$images" build redis-image >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a failed mmdebstrap did not fail the build"
left=$(ls "$dir/cache")
[ -z "$left" ] || fail "a failed build left: $left"

# A good build, then a second one that reuses the tar.
rm "$dir/fail"
"$images" build redis-image >/dev/null 2>&1 || fail "the build failed"
tar -tf "$dir/cache/redis-image.tar" >/dev/null || fail "no tar after the build"
[ ! -e "$dir/cache/redis-image.tar.part" ] || fail "the part is left after a good build"
out=$("$images" build redis-image 2>&1) || fail "the second build failed: $out"
grep -q cached <<<"$out" || fail "the second build does not say cached: $out"
[ "$(wc -l <"$dir/calls")" = 2 ] || fail "mmdebstrap ran again for a cached tar"

# One line and exit 1 for an unknown image and for a tar not built.
for args in "build no-such-image" "import /bin/true nginx-image"; do
    rc=0; out=$("$images" $args 2>&1) || rc=$?
    [ "$rc" = 1 ] || fail "$args: exit $rc, not 1: $out"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "$args: more than one line: $out"
done
grep -q 'make images\|images.sh build' <<<"$out" || fail "a missing tar does not say how to build it: $out"
echo "ok images"
