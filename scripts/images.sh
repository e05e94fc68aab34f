#!/bin/bash
# Builds the real Debian images of the services walkthroughs (issue 15) with
# mmdebstrap, one flat root filesystem tar per image, as `docker export`
# writes them and `mydocker import` reads them:
#
#   nginx-image   nginx-light        (the seed's nginx walkthrough)
#   redis-image   redis-server       (the seed's myredis)
#   flask-image   python3-flask, python3-redis (the seed's myflask app)
#
#   scripts/images.sh build [NAME...]    build the missing tars (all by default)
#   scripts/images.sh import 'MYDOCKER' [NAME...]
#                                        import each tar with that mydocker command
#                                        (words split on spaces: make's $(MD) of a lab)
#   scripts/images.sh list               the names, one a line
#   scripts/images.sh path NAME          where NAME's tar is (or would be)
#
# The tars are cached in $IMAGES_DIR (default /var/cache/mydocker-images):
# outside the work tree, so `cargo clean` and a new git worktree do not throw
# away minutes of downloads, and in the place the FHS gives to caches a
# program can rebuild. A tar that exists is reused as it is: delete it to
# rebuild. A build writes NAME.tar.part and renames it only when mmdebstrap
# succeeded, so a failed or interrupted build leaves no half tar.
#
# Needs root (mmdebstrap unpacks as root here) and the network: the packages
# come from the apt sources this machine uses ($IMAGES_SOURCES, default
# /etc/apt/sources.list.d/debian.sources, a deb822 file mmdebstrap reads
# as it is), so the mirror named there (deb.debian.org) must be reachable
# for a build. Importing a cached tar needs no network.
set -euo pipefail

IMAGES_DIR=${IMAGES_DIR:-/var/cache/mydocker-images}
IMAGES_SOURCES=${IMAGES_SOURCES:-/etc/apt/sources.list.d/debian.sources}
IMAGES_SUITE=${IMAGES_SUITE:-bookworm}

# name -> the packages it adds to the base system
declare -A PACKAGES=(
    [nginx-image]="nginx-light"
    [redis-image]="redis-server"
    [flask-image]="python3-flask python3-redis"
)
# The order of `list` and of a build of all of them.
NAMES=(nginx-image redis-image flask-image)

die() { echo "$0: $*" >&2; exit 1; }

tar_of() { echo "$IMAGES_DIR/$1.tar"; }

check_name() {
    [ -n "${PACKAGES[$1]+set}" ] || die "unknown image $1 (known: ${NAMES[*]})"
}

# The tar being written, removed if the script stops before it is whole. A
# global, not a local: the EXIT trap runs after the function's locals are gone.
PART=

# Builds one image's tar unless it is cached.
build_one() {
    local name=$1 out start
    out=$(tar_of "$name")
    if [ -f "$out" ]; then
        echo "$name: cached $out ($(du -h "$out" | cut -f1))"
        return 0
    fi
    PART=$out.part
    rm -f "$PART"
    # If anything below fails or we are interrupted, the part goes.
    trap 'rm -f "$PART"' EXIT
    trap 'exit 130' INT TERM
    start=$(date +%s)
    echo "$name: building $out from $IMAGES_SOURCES (${PACKAGES[$name]})"
    # --variant=apt: only the Essential packages and apt, not the Priority
    #   important set of a full system; apt stays so that a container can
    #   `apt-get update && apt-get install` more, as the seed's walkthrough
    #   does with apk.
    # merged-usr hook: /bin, /lib, /sbin as links into /usr set up the way
    #   debootstrap does it; otherwise Debian 12 installs the usrmerge
    #   package, which drags the whole of perl (30 MB) into every image.
    # --include: the service and what it depends on; Recommends are skipped
    #   (--aptopt), as a Dockerfile's `--no-install-recommends` would.
    # path-exclude: dpkg does not unpack docs, man pages and translations
    #   (the copyright files stay, as Debian's policy asks).
    # customize hook: the downloaded package lists and .debs are dropped, as
    #   Debian's docker images do; `apt-get update` fetches them again.
    mmdebstrap \
        --variant=apt \
        --format=tar \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --include="${PACKAGES[$name]// /,}" \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb' \
        "$IMAGES_SUITE" "$PART" "$IMAGES_SOURCES"
    mv "$PART" "$out"
    PART=
    trap - EXIT INT TERM
    echo "$name: built $out ($(du -h "$out" | cut -f1)) in $(($(date +%s) - start))s"
}

# Imports one cached tar under its name (replacing an image of that name is
# mydocker's business; an existing one is left alone).
import_one() {
    local name=$2 out md
    read -ra md <<<"$1"
    out=$(tar_of "$name")
    [ -f "$out" ] || die "$out is missing: run scripts/images.sh build $name (needs the network)"
    if "${md[@]}" images | awk 'NR > 1 {print $1}' | grep -qx "$name"; then
        echo "$name: already imported"
        return 0
    fi
    "${md[@]}" import "$out" "$name"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    build)
        [ "$(id -u)" = 0 ] || die "building images needs root (mmdebstrap)"
        command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap (or make deps)"
        [ -r "$IMAGES_SOURCES" ] || die "cannot read the apt sources $IMAGES_SOURCES"
        mkdir -p "$IMAGES_DIR"
        [ $# -gt 0 ] || set -- "${NAMES[@]}"
        for name in "$@"; do check_name "$name"; done
        for name in "$@"; do build_one "$name"; done
        ;;
    import)
        [ $# -ge 1 ] || die "usage: $0 import 'MYDOCKER' [NAME...]"
        md=$1; shift
        [ $# -gt 0 ] || set -- "${NAMES[@]}"
        for name in "$@"; do check_name "$name"; done
        for name in "$@"; do import_one "$md" "$name"; done
        ;;
    list)
        printf '%s\n' "${NAMES[@]}"
        ;;
    path)
        [ $# -eq 1 ] || die "usage: $0 path NAME"
        check_name "$1"
        tar_of "$1"
        ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
