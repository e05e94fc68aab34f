# mydocker in Rust: build, prepare, demonstrate and test every chapter.
#
#   make            build every chapter (and ./bin/mydocker once chapter 6 exists)
#   make init       host packages + the busybox image tar at $(IMAGE_TAR)
#   make demo       build, init, then the showcase of every chapter
#   make test       the whole suite: fmt, clippy, unit + privileged tests, docs, book checks
#   make book       build the mdBook into book/book
#   make bench      benchmarks beside runc, unshare and tar (release build);
#                   rewrites book/src/performance.md
#
# The seed's walkthrough (add LAB=1 to run it inside a lab network namespace
# instead of the machine's own, with records under /var/lib/mydocker-lab):
#   make net        network testbridge, gateway 192.168.10.1
#   make d1         interactive container 192.168.10.2, -p 81:81
#   make d2         interactive container 192.168.10.3, -p 82:82
#   make lab        create the lab (LAB_NAME, default mdlab); make lab-down removes it
#
# Everything that needs root checks for it; as a normal user `make test` runs
# the unprivileged tests and the privileged ones print why they skip.

SHELL        := /bin/bash
CARGO        ?= cargo
TARGET_DIR   ?= $(CURDIR)/target
export CARGO_TARGET_DIR := $(TARGET_DIR)
IMAGE_TAR    ?= /root/busybox.tar
# Debian packages the chapters and their tests use.
APT_PACKAGES := busybox-static iptables iproute2 util-linux procps kmod skopeo umoci python3 attr jq
ROOT         := $(shell id -u)

LAB_NAME     ?= mdlab
ifeq ($(LAB),1)
MD := scripts/lab.sh exec $(LAB_NAME) env MYDOCKER_ROOT=/var/lib/mydocker-lab ./bin/mydocker
else
MD := ./bin/mydocker
endif

.PHONY: all build init deps demo test test-unit lint doc book book-check clean lab lab-down net d1 d2 book-outputs bench

all: build

build:
	$(CARGO) build --workspace --all-targets
	@mkdir -p bin
	@if [ -x $(TARGET_DIR)/debug/mydocker ]; then cp $(TARGET_DIR)/debug/mydocker bin/mydocker; fi
	@if [ -d $(TARGET_DIR)/debug/man ]; then cp -r $(TARGET_DIR)/debug/man $(TARGET_DIR)/debug/completions bin/; fi

# Installs the Debian packages that are missing (root only; otherwise lists them).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$(ROOT)" != 0 ]; then echo "missing packages:$$missing (run as root, or apt-get install them)"; exit 0; fi; \
	echo "installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null

# The seed keeps its image tars in /root; chapter 3 onward find busybox there.
init: deps
	@if [ "$(ROOT)" != 0 ]; then echo "make init needs root"; exit 1; fi
	scripts/busybox-rootfs.sh -t $(IMAGE_TAR)
	@echo "busybox image ready at $(IMAGE_TAR)"

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

test: deps lint test-unit doc book-check
	@echo "make test: all checks passed"

book:
	scripts/check-book.sh

# Timings belong here, never in `make test`.
bench: deps
	bench/run.sh

lab:
	scripts/lab.sh up $(LAB_NAME)

lab-down:
	scripts/lab.sh down $(LAB_NAME)

net: build $(if $(filter 1,$(LAB)),lab)
	$(MD) network create --driver bridge --subnet 192.168.10.1/24 testbridge

d1:
	$(MD) run -ti -net testbridge -p 81:81 busybox sh

d2:
	$(MD) run -ti -net testbridge -p 82:82 busybox sh

clean:
	$(CARGO) clean
	rm -rf bin book/book
