# mydocker in Rust: build, prepare, demonstrate and test every chapter.
#
#   make            build every chapter (and ./bin/mydocker once chapter 6 exists)
#   make init       host packages + the busybox image tar at $(IMAGE_TAR)
#   make images     real Debian images (nginx-image, redis-image, flask-image) with
#                   mmdebstrap, cached in $(IMAGES_DIR), imported into mydocker
#                   (a build needs the network: the mirror of /etc/apt/sources.list.d);
#                   make test-images runs their tests (make test does too)
#   make demo       build, init, then the showcase of every chapter
#   make test       the whole suite: fmt, clippy, unit + privileged tests, docs, book checks,
#                   and the VM suite (make vm-test: a stock kernel on pure cgroup v2)
#   make book       build the mdBook into book/book
#   make bench      benchmarks beside runc, unshare and tar (release build);
#                   rewrites book/src/performance.md
#
# The seed's walkthrough (add LAB=1 to run it inside a lab network namespace
# instead of the machine's own, with records under /var/lib/mydocker-lab):
#   make net        network testbridge, gateway 192.168.10.1 (says first what it changes)
#   make d1         interactive container 192.168.10.2, -p 81:81
#   make d2         interactive container 192.168.10.3, -p 82:82
#   make net-down   removes testbridge, its bridge and rules; ip_forward as it was
#   make lab        create the lab (LAB_NAME, default mdlab); make lab-down removes it
#
# Everything that needs root checks for it; as a normal user `make test` runs
# the unprivileged tests and the privileged ones print why they skip.

SHELL        := /bin/bash
CARGO        ?= cargo
TARGET_DIR   ?= $(CURDIR)/target
export CARGO_TARGET_DIR := $(TARGET_DIR)
IMAGE_TAR    ?= /root/busybox.tar
# Debian packages the chapters, their tests and the walkthrough use (telnet
# and nc are typed on the host in the seed's walkthrough); qemu-system-x86
# runs the test VM; mmdebstrap builds the real images of `make images`.
APT_PACKAGES := busybox-static iptables iproute2 util-linux procps kmod skopeo umoci python3 attr jq \
                libseccomp-dev \
                telnet netcat-openbsd qemu-system-x86 mmdebstrap
ROOT         := $(shell id -u)

LAB_NAME     ?= mdlab
LAB_ROOT     ?= /var/lib/mydocker-lab
ifeq ($(LAB),1)
# Runs a command inside the lab's network namespace.
IN_NS := scripts/lab.sh exec $(LAB_NAME)
MD := $(IN_NS) env MYDOCKER_ROOT=$(LAB_ROOT) ./bin/mydocker
WHERE := the lab network namespace $(LAB_NAME) (not this machine's own)
else
IN_NS :=
MD := ./bin/mydocker
WHERE := THIS MACHINE's own network (add LAB=1 to use a lab namespace instead)
endif
# The seed's network.
NET_NAME     := testbridge
NET_SUBNET   := 192.168.10.1/24
# Where `make images` keeps its tars (scripts/images.sh says why there).
export IMAGES_DIR ?= /var/cache/mydocker-images

# Before anything builds: cargo and a rustc new enough for edition 2024
# (scripts/check-rust.sh), or one line saying how to get them and a stop,
# rather than pages of a too old compiler's errors. Checked when the Makefile
# is read, for every goal but those that need no Rust.
NO_RUST_GOALS := deps init lab lab-down d1 d2 clean check-rust
ifneq ($(filter-out $(NO_RUST_GOALS),$(or $(MAKECMDGOALS),all)),)
RUST_PROBLEM := $(shell CARGO=$(firstword $(CARGO)) scripts/check-rust.sh 2>&1)
ifneq ($(RUST_PROBLEM),)
$(error $(RUST_PROBLEM))
endif
endif

.PHONY: all check-rust build init images image-tars test-images deps demo test vm-test vm-shell test-unit test-scripts lint doc book book-check clean lab lab-down net net-down d1 d2 book-outputs bench

all: build

# Says whether cargo and rustc are there and new enough (exit 1 if not).
check-rust:
	@CARGO=$(firstword $(CARGO)) scripts/check-rust.sh

build: deps
	$(CARGO) build --workspace --all-targets
	@mkdir -p bin
	@if [ -x $(TARGET_DIR)/debug/mydocker ]; then cp $(TARGET_DIR)/debug/mydocker bin/mydocker; fi
	@if [ -d $(TARGET_DIR)/debug/man ]; then cp -r $(TARGET_DIR)/debug/man $(TARGET_DIR)/debug/completions bin/; fi

# Installs the Debian packages that are missing (root only; otherwise lists
# them). apt's own output shows, so a slow `apt-get update` reads as work,
# not as a hang.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$(ROOT)" != 0 ]; then echo "missing packages:$$missing (run as root, or apt-get install them)"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	echo "missing packages:$$missing"; \
	echo "updating package lists (apt-get update)..."; \
	apt-get update && \
	echo "installing:$$missing" && \
	apt-get install -y --no-install-recommends $$missing

# The seed keeps its image tars in /root; chapter 3 onward find busybox there.
init: deps
	@if [ "$(ROOT)" != 0 ]; then echo "make init needs root"; exit 1; fi
	scripts/busybox-rootfs.sh -t $(IMAGE_TAR)
	@echo "busybox image ready at $(IMAGE_TAR)"

# The real Debian images: each tar is built once (a no-op when all are
# cached) and imported under its name into mydocker's records ($(MD): the
# lab's with LAB=1), unless an image of that name is there already.
images: deps build $(if $(filter 1,$(LAB)),lab)
	@if [ "$(ROOT)" != 0 ]; then echo "make images needs root"; exit 1; fi
	scripts/images.sh build
	scripts/images.sh import "$(MD)"

# The tars the tests of the real images import (ch06-final/tests/images.rs
# and services.rs): built once, then a no-op while they are cached. As a
# normal user nothing is built and those tests say why they skip.
image-tars: deps
	@if [ "$(ROOT)" != 0 ]; then echo "image-tars: building the real images needs root (their tests will skip)"; exit 0; fi
	scripts/images.sh build

# Only the tests of the real images (make test runs them too).
test-images: build image-tars
	$(CARGO) test -p ch06-final --test images --test services

demo: deps build init
	@for d in scripts/demo/ch*.sh; do \
		[ -x "$$d" ] || continue; \
		echo; echo "=== $$d"; \
		CARGO_TARGET_DIR=$(TARGET_DIR) "$$d" || exit 1; \
	done
	@echo; echo "demo finished: every chapter's showcase passed"

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

test-unit:
	$(CARGO) test --workspace --no-fail-fast

# Every include, anchor, link and picture of the book; then the recorded
# outputs of its labs are re-run and compared (as root; skipped otherwise).
book-check:
	scripts/check-book.sh --self-test
	scripts/check-book.sh
	scripts/book-outputs.sh --check

# Re-records the outputs the book shows, after a change of behaviour.
book-outputs: build init
	scripts/book-outputs.sh

# The root tests written in shell (scripts/tests/*.sh, lib.sh is theirs):
# each runs in namespaces it creates; as a normal user each says why it skips.
test-scripts: build
	@for t in scripts/tests/*.sh; do \
		[ "$$(basename $$t)" = lib.sh ] && continue; \
		echo "=== $$t"; \
		CARGO_TARGET_DIR=$(TARGET_DIR) "$$t" || exit 1; \
	done

test: deps lint image-tars test-unit test-scripts doc book-check vm-test
	@echo "make test: all checks passed"

# The VM suite (scripts/vm/suite.sh) on Debian's stock kernel in qemu: pure
# cgroup v2, modules on demand, no network device; the seed's walkthrough in
# the VM's own network. It needs root (the VM's root is this machine's /,
# shared read-only): as a normal user it says so and skips, or fails with
# MYDOCKER_NO_SKIP=1. As root it fails, never skips, when the VM cannot start.
vm-test: deps build
	@if [ "$(ROOT)" != 0 ]; then \
		msg="skipping vm-test: the test VM needs root"; \
		if [ "$${MYDOCKER_NO_SKIP:-}" = 1 ]; then echo "$$msg, and MYDOCKER_NO_SKIP=1 forbids skipping" >&2; exit 1; fi; \
		echo "$$msg" >&2; exit 0; \
	fi; \
	$(MAKE) --no-print-directory init && scripts/vm.sh run scripts/vm/suite.sh

# A shell in the same VM (leave with poweroff -f).
vm-shell: deps build
	scripts/vm.sh shell

book:
	scripts/check-book.sh

# Timings belong here, never in `make test`.
bench: deps
	bench/run.sh

lab:
	scripts/lab.sh up $(LAB_NAME)

# Leaves nothing of the lab: its containers are removed first (each lives in
# a network namespace of its own, which the lab's removal would not reach,
# and holds a cgroup, mounts and a veth), then its networks, then the two
# namespaces, and last the records under $(LAB_ROOT), so that the next
# `make LAB=1 net` starts afresh. The records go only when nothing is
# mounted under them any more ($(LAB_ROOT) itself may be a mount point: it
# stays, empty).
lab-down:
	@if [ -x ./bin/mydocker ] && ip netns list | awk '{print $$1}' | grep -qx '$(LAB_NAME)'; then \
		md="scripts/lab.sh exec $(LAB_NAME) env MYDOCKER_ROOT=$(LAB_ROOT) ./bin/mydocker"; \
		ids=$$($$md ps -aq 2>/dev/null); \
		if [ -n "$$ids" ]; then $$md rm -f $$ids; fi; \
		nets=$$($$md network ls -q 2>/dev/null); \
		if [ -n "$$nets" ]; then $$md network rm $$nets; fi; \
	fi
	scripts/lab.sh down $(LAB_NAME)
	@if [ -d '$(LAB_ROOT)' ]; then \
		if awk '{print $$5}' /proc/self/mountinfo | grep -q '^$(LAB_ROOT)/'; then \
			echo "lab-down: still mounted under $(LAB_ROOT), records kept:"; \
			awk '{print "  " $$5}' /proc/self/mountinfo | grep '$(LAB_ROOT)/'; exit 1; \
		fi; \
		echo "removing the lab's records in $(LAB_ROOT)"; \
		find '$(LAB_ROOT)' -mindepth 1 -maxdepth 1 -exec rm -rf {} +; \
		rmdir '$(LAB_ROOT)' 2>/dev/null || true; \
	fi

# What `network create` changes, said before it does it: the bridge
# (ch05-network/src/netlink.rs), ip_forward (network.rs) and mydocker's
# chains (iptables/rules.rs). `make net-down` gives all of it back: the first
# network writes down what it found (host.rs) and the last one's removal
# restores it.
net: build $(if $(filter 1,$(LAB)),lab)
	@fwd=$$($(IN_NS) cat /proc/sys/net/ipv4/ip_forward); \
	echo "make net changes $(WHERE):"; \
	echo "  bridge    $(NET_NAME) with address $(NET_SUBNET), up"; \
	echo "  sysctl    net.ipv4.ip_forward=1 (it is $$fwd now)"; \
	echo "  iptables  nat: chain MYDOCKER (published ports) from PREROUTING and OUTPUT,"; \
	echo "            chain MYDOCKER-POSTROUTING (MASQUERADE of what leaves the subnet) from POSTROUTING;"; \
	echo "            filter: chain MYDOCKER-FORWARD (ACCEPT in and out of $(NET_NAME)) from FORWARD"; \
	echo "make $(if $(filter 1,$(LAB)),LAB=1 )net-down undoes all of it (ip_forward back to $$fwd)."
	$(MD) network create --driver bridge --subnet $(NET_SUBNET) $(NET_NAME)

# Removes the network with its bridge and rules; the last network's removal
# puts ip_forward (and iptables' tables) back as the first one found them.
net-down: build
	@if [ "$(LAB)" = 1 ] && ! ip netns list | awk '{print $$1}' | grep -qx '$(LAB_NAME)'; then \
		echo "no lab $(LAB_NAME): nothing to undo"; \
	elif $(MD) network ls -q | grep -qx '$(NET_NAME)'; then \
		$(MD) network rm $(NET_NAME); \
	else \
		echo "no network $(NET_NAME): nothing to undo"; \
	fi

d1:
	$(MD) run -ti -net testbridge -p 81:81 busybox sh

d2:
	$(MD) run -ti -net testbridge -p 82:82 busybox sh

clean:
	$(CARGO) clean
	rm -rf bin book/book
