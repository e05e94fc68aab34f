#!/bin/sh
# Checks that a Rust toolchain new enough for this workspace is on PATH
# before anything builds. The workspace is edition 2024, which needs Rust
# 1.85; Debian 12's own rustc is 1.63, and a fresh machine may have none.
# Prints nothing and exits 0 when cargo and rustc are there and new enough;
# otherwise prints ONE line saying what to install and exits 1.
#
# Only shell builtins are used, so a test can run it with a PATH holding
# nothing but fake `cargo` and `rustc` commands.
#
#   scripts/check-rust.sh        (CARGO and RUSTC name other commands)
set -u

NEED_MAJOR=1
NEED_MINOR=85
CARGO=${CARGO:-cargo}
RUSTC=${RUSTC:-rustc}
INSTALL="install Rust with rustup: curl https://sh.rustup.rs -sSf | sh (then open a new shell, or . \"\$HOME/.cargo/env\")"

die() {
    echo "mydocker needs Rust $NEED_MAJOR.$NEED_MINOR or newer (edition 2024): $1; $INSTALL" >&2
    exit 1
}

command -v "$CARGO" >/dev/null 2>&1 || die "no $CARGO on PATH"
command -v "$RUSTC" >/dev/null 2>&1 || die "no $RUSTC on PATH"
# `rustc 1.85.0 (4d91de4e4 2025-02-17)`, or `rustc 1.86.0-nightly (...)`.
out=$("$RUSTC" --version 2>/dev/null) || die "$RUSTC --version failed"
set -- $out
[ $# -ge 2 ] || die "$RUSTC --version said '$out'"
version=${2%%-*}
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
case "$major.$minor" in
    *[!0-9.]* | .* | *. ) die "$RUSTC --version said '$out'" ;;
esac
if [ "$major" -lt "$NEED_MAJOR" ] ||
    { [ "$major" -eq "$NEED_MAJOR" ] && [ "$minor" -lt "$NEED_MINOR" ]; }; then
    die "found rustc $version"
fi
exit 0
