#!/usr/bin/env bash
# scripts/check-rust.sh with fake toolchains: a PATH that holds only fake
# `cargo` and `rustc` commands (or none), as a fresh Debian 12 would have
# them. Too old or missing: exit 1 and one line that names rustup's command.
# New enough: exit 0 and silence. Needs no root.
set -euo pipefail
TEST_NAME=check-rust
. "$(dirname "$0")/lib.sh"

check=$WORKSPACE/scripts/check-rust.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# toolchain NAME VERSION...: a directory NAME with fake cargo and rustc
# printing `rustc VERSION`; without VERSION, an empty directory.
toolchain() {
    mkdir -p "$dir/$1"
    [ $# -ge 2 ] || return 0
    printf '#!/bin/sh\necho "cargo %s"\n' "$2" >"$dir/$1/cargo"
    printf '#!/bin/sh\necho "rustc %s (0000000 2000-01-01)"\n' "$2" >"$dir/$1/rustc"
    chmod +x "$dir/$1/cargo" "$dir/$1/rustc"
}

# refused NAME WHY: the check fails with one line mentioning WHY and rustup.
refused() {
    local out rc=0
    out=$(PATH=$dir/$1 /bin/sh "$check" 2>&1) || rc=$?
    [ "$rc" = 1 ] || fail "$1: exit $rc, not 1: $out"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "$1: more than one line: $out"
    grep -qF "$2" <<<"$out" || fail "$1: does not say '$2': $out"
    grep -qF 'curl https://sh.rustup.rs -sSf | sh' <<<"$out" || fail "$1: no rustup command: $out"
}

# accepted NAME: the check passes, silently.
accepted() {
    local out
    out=$(PATH=$dir/$1 /bin/sh "$check" 2>&1) || fail "$1: refused: $out"
    [ -z "$out" ] || fail "$1: said something: $out"
}

toolchain none
refused none "no cargo on PATH"
toolchain debian12 1.63.0
refused debian12 "found rustc 1.63.0"
toolchain almost 1.84.1
refused almost "found rustc 1.84.1"
toolchain garbage banana
refused garbage "rustc --version said"
toolchain exact 1.85.0
accepted exact
toolchain nightly 1.86.0-nightly
accepted nightly
toolchain two 2.0.0
accepted two
# cargo without rustc is not a toolchain either.
toolchain halfway 1.90.0
rm "$dir/halfway/rustc"
refused halfway "no rustc on PATH"

# And the Makefile stops on it before building anything, with that one line
# (make's own "*** ... Stop." around it) and a non-zero exit.
for goal in build test net; do
    rc=0
    out=$(PATH=$dir/debian12:/usr/bin:/bin make --no-print-directory -C "$WORKSPACE" "$goal" 2>&1) || rc=$?
    [ "$rc" != 0 ] || fail "make $goal with rustc 1.63 did not stop: $out"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "make $goal with rustc 1.63 said more than one line: $out"
    grep -qF 'found rustc 1.63.0' <<<"$out" || fail "make $goal did not name the old rustc: $out"
done
out=$(PATH=$dir/debian12:/usr/bin:/bin make --no-print-directory -C "$WORKSPACE" -n deps 2>&1) ||
    fail "make deps needs no Rust, but stopped: $out"
echo "ok $TEST_NAME"
