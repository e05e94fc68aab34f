#!/usr/bin/env bash
# A test machine of our own: Debian's stock kernel in a qemu VM, booted with
# the machine's own files as its root, so the chapters can be tried where
# students run them: pure cgroup v2, modules loaded on demand, and the host's
# own network namespace (the VM's, which nothing else shares).
#
#   scripts/vm.sh prepare          fetch and unpack the kernel, build the initramfs
#   scripts/vm.sh run CMD...       boot, run CMD (a shell command line) as root in the
#                                  workspace inside the VM, power off; exit with CMD's status
#   scripts/vm.sh book-outputs NAME...
#                                  record book labs in the VM (book-outputs.sh NAME...)
#                                  and copy book/src/outputs/NAME.out back here
#   scripts/vm.sh shell            boot to an interactive shell on the serial console
#                                  (leave with `poweroff -f`, or Ctrl-A X)
#
# What the VM is made of:
#   - the kernel of the package Debian's linux-image-amd64 depends on, fetched
#     with `apt-get download` and unpacked with `dpkg-deb -x` into $VM_DIR:
#     never installed on this machine; its modules get a modules.dep of their
#     own (depmod -b), in that directory only;
#   - an initramfs of busybox and the few modules needed to reach the root
#     (virtio, 9p, overlay); its /init is scripts/vm/init;
#   - for root, this machine's / exported read-only over virtio-9p, with a tmpfs
#     over it (overlayfs): the VM sees the same programs, libraries and built
#     binaries, can write anywhere, and nothing it writes reaches this machine;
#   - the kernel's modules (a second read-only share) at /lib/modules/VERSION,
#     so modprobe inside the VM loads them as a stock Debian does;
#   - a job directory (a third share, read-write, a fresh temporary directory)
#     through which the command goes in and its status comes out, and files
#     the command puts in $MDVM_OUT (VM_OUT=DIR copies them to DIR);
#   - a 64 MiB scratch disk (virtio-blk, /dev/vda in the VM) for io.max;
#   - no network device at all (-nic none): the VM's only network is its own
#     loopback, plus whatever the tests create inside it.
#
# KVM is used when /dev/kvm opens; otherwise qemu emulates the CPU (TCG),
# slower but enough. VM_MEM (MiB, default 2048), VM_CPUS (default 2),
# VM_TIMEOUT (seconds, default 1200), VM_DIR (default $CARGO_TARGET_DIR/vm or
# target/vm) can be set. The environment variables CI and MYDOCKER_NO_SKIP
# are passed on to CMD.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
VM_DIR=${VM_DIR:-${CARGO_TARGET_DIR:-$here/target}/vm}
VM_MEM=${VM_MEM:-2048}
VM_CPUS=${VM_CPUS:-2}
VM_TIMEOUT=${VM_TIMEOUT:-1200}
# The modules that must be in the initramfs to reach the root; everything else
# is loaded later, on demand, from the modules share.
BOOT_MODULES="virtio_pci 9pnet_virtio 9p overlay virtio_blk"

die() { echo "vm: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 prepare | run CMD... | book-outputs NAME... | shell" >&2
    exit 2
}

# The versioned kernel package that the metapackage points at today
# (linux-image-amd64 on Debian, linux-image-generic on Ubuntu).
kernel_package() {
    local meta
    for meta in linux-image-amd64 linux-image-generic; do
        apt-cache depends "$meta" 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' | grep . && return 0
    done
    return 1
}

prepare() {
    command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (make deps installs qemu-system-x86)"
    command -v depmod >/dev/null || die "depmod is missing (make deps installs kmod)"
    mkdir -p "$VM_DIR"
    if [ ! -s "$VM_DIR/kernel.version" ]; then
        local pkg
        pkg=$(kernel_package) || die "no linux-image-amd64 in apt's lists (run apt-get update)"
        echo "vm: fetching $pkg (unpacked into $VM_DIR, not installed)"
        rm -rf "$VM_DIR/pkg" "$VM_DIR/root"
        mkdir -p "$VM_DIR/pkg"
        (cd "$VM_DIR/pkg" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
        # Ubuntu keeps the modules in a package of their own.
        local version=${pkg#linux-image-}
        if apt-cache show "linux-modules-$version" >/dev/null 2>&1; then
            (cd "$VM_DIR/pkg" && apt-get download "linux-modules-$version" >/dev/null 2>&1) ||
                die "apt-get download linux-modules-$version failed"
        fi
        for deb in "$VM_DIR"/pkg/*.deb; do
            dpkg-deb -x "$deb" "$VM_DIR/root"
        done
        [ -d "$VM_DIR/root/lib/modules/$version" ] || die "$pkg has no modules for $version"
        depmod -b "$VM_DIR/root" "$version"
        rm -rf "$VM_DIR/pkg"
        echo "$version" > "$VM_DIR/kernel.version"
    fi
    local version
    version=$(cat "$VM_DIR/kernel.version")
    local initrd=$VM_DIR/initrd.img
    if [ ! -s "$initrd" ] || [ "$here/scripts/vm/init" -nt "$initrd" ]; then
        build_initrd "$version" "$initrd"
    fi
}

# The initramfs: busybox, the boot modules in load order, and /init.
build_initrd() {
    local version=$1 out=$2 tree
    local busybox
    busybox=$(command -v busybox) || die "busybox is missing (make deps installs busybox-static)"
    tree=$(mktemp -d)
    mkdir -p "$tree"/{bin,dev,proc,sys,lower,rw,newroot,modules}
    cp "$busybox" "$tree/bin/busybox"
    ln -s busybox "$tree/bin/sh"
    cp "$here/scripts/vm/init" "$tree/init"
    chmod 755 "$tree/init"
    local line ko
    # modprobe lists each module after what it needs; a module needed twice is
    # listed twice, and loaded once.
    modprobe --show-depends -d "$VM_DIR/root" -S "$version" -a $BOOT_MODULES |
        while read -r line; do
            ko=${line#insmod }
            ko=${ko%% *}
            [ -e "$tree/modules/$(basename "$ko")" ] && continue
            cp "$ko" "$tree/modules/$(basename "$ko")"
            basename "$ko" >> "$tree/modules/order"
        done
    (cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
}

# Whether KVM can be used. /dev/kvm may open and still not run a guest (a
# nested machine where the kernel spins instead): so boot the kernel alone
# with KVM and see it print within a few seconds. It panics at once for want
# of a root, and -no-reboot ends qemu. The answer is kept in $VM_DIR/accel.
kvm_works() {
    if [ -s "$VM_DIR/accel" ]; then [ "$(cat "$VM_DIR/accel")" = kvm ]; return; fi
    local answer=tcg version
    version=$(cat "$VM_DIR/kernel.version")
    if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        if timeout 15 qemu-system-x86_64 -accel kvm -m 256 -nodefaults -no-reboot -nic none \
            -display none -monitor none -serial stdio \
            -kernel "$VM_DIR/root/boot/vmlinuz-$version" -append "console=ttyS0 panic=-1" \
            </dev/null 2>/dev/null | grep -q -m1 "Kernel panic"; then
            answer=kvm
        fi
    fi
    echo "$answer" > "$VM_DIR/accel"
    [ "$answer" = kvm ]
}

# Boots the VM. $1 is the job directory; $2 is "batch" (serial on stdout,
# no input) or "shell".
boot() {
    local job=$1 mode=$2 version accel
    version=$(cat "$VM_DIR/kernel.version")
    if [ "${VM_ACCEL:-}" ]; then accel=$VM_ACCEL; elif kvm_works; then accel=kvm; else accel=tcg; fi
    echo "vm: booting Debian's $version ($accel, ${VM_CPUS} cpus, ${VM_MEM} MiB, no network device)" >&2
    [ -e "$job/disk.img" ] || truncate -s 64M "$job/disk.img"
    local args=(
        -accel "$accel" -cpu max -smp "$VM_CPUS" -m "$VM_MEM"
        -nodefaults -no-reboot -nic none -display none
        -kernel "$VM_DIR/root/boot/vmlinuz-$version"
        -initrd "$VM_DIR/initrd.img"
        -append "console=ttyS0 panic=-1 quiet loglevel=4 mdvm_workspace=$here mdvm_version=$version mdvm_mode=$mode"
        -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$VM_DIR/root/lib/modules/$version,mount_tag=modules,security_model=none,readonly=on"
        -virtfs "local,path=$job,mount_tag=job,security_model=none"
        -drive "file=$job/disk.img,format=raw,if=virtio"
    )
    if [ "$mode" = shell ]; then
        qemu-system-x86_64 "${args[@]}" -serial mon:stdio
        return
    fi
    timeout "$VM_TIMEOUT" qemu-system-x86_64 "${args[@]}" -serial stdio -monitor none </dev/null
}

run() {
    [ $# -ge 1 ] || usage
    prepare
    local job status
    job=$(mktemp -d /tmp/mydocker-vm.XXXXXX)
    trap 'rm -rf "$job"' EXIT
    printf '%s\n' "$*" > "$job/cmd"
    {
        [ -n "${CI:-}" ] && printf 'CI=%q\n' "$CI"
        [ -n "${MYDOCKER_NO_SKIP:-}" ] && printf 'MYDOCKER_NO_SKIP=%q\n' "$MYDOCKER_NO_SKIP"
        [ -n "${INSTA_UPDATE:-}" ] && printf 'INSTA_UPDATE=%q\n' "$INSTA_UPDATE"
        printf 'CARGO_TARGET_DIR=%q\n' "${CARGO_TARGET_DIR:-$here/target}"
        true
    } > "$job/env"
    mkdir "$job/out"
    status=0
    boot "$job" batch || status=$?
    if [ ! -s "$job/status" ]; then
        [ "$status" = 124 ] && die "the VM ran past VM_TIMEOUT=${VM_TIMEOUT}s"
        die "the VM did not run the command (qemu exited with $status; its console is above)"
    fi
    # What the command left in $MDVM_OUT is the only thing of the VM's that
    # reaches this machine, and only where the caller asked for it.
    if [ -n "${VM_OUT:-}" ] && [ "$(cat "$job/status")" = 0 ]; then
        find "$job/out" -mindepth 1 -maxdepth 1 -type f -exec cp -v -t "$VM_OUT" {} +
    fi
    exit "$(cat "$job/status")"
}

# Records book labs on the VM's kind of machine (pure cgroup v2): runs
# scripts/book-outputs.sh NAME... inside, and copies the new
# book/src/outputs/NAME.out back.
book_outputs() {
    [ $# -ge 1 ] || usage
    local names="$*" copy=""
    for name in "$@"; do copy+=" book/src/outputs/$name.out"; done
    VM_OUT=$here/book/src/outputs run "scripts/book-outputs.sh $names && cp$copy \"\$MDVM_OUT\"/"
}

shell() {
    prepare
    local job
    job=$(mktemp -d /tmp/mydocker-vm.XXXXXX)
    trap 'rm -rf "$job"' EXIT
    : > "$job/env"
    boot "$job" shell
}

[ "$(id -u)" = 0 ] || die "needs root (the VM's root is this machine's /, shared read-only)"
[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
    prepare) [ $# -eq 0 ] || usage; prepare ;;
    run) run "$@" ;;
    book-outputs) book_outputs "$@" ;;
    shell) [ $# -eq 0 ] || usage; shell ;;
    *) usage ;;
esac
