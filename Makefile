# berth — build, test and demo. Run as root on Debian (the tests and the
# demo create real containers).

export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 1

GO      ?= go
BINARY  := berth
# Integration tests bound each runtime call themselves; this only stops a
# wedged run long before CI's limit.
TEST_TIMEOUT ?= 15m

DEMO_DIR  := demo
DEMO_ROOT := $(DEMO_DIR)/state
DEMO_ID   := berth-demo-$(shell echo $$$$)

.PHONY: all build libzstd test test-vm test-engines bench-vm unit integration demo bench bench-unpack vet clean busybox jq

all: build

# Linked statically (glibc's libc.a, from libc6-dev): every container start
# runs the binary twice, and skipping the dynamic loader saves ~0.2 ms each
# time. netgo/osusergo keep the static glibc's NSS out. urfave_cli_no_docs
# leaves out urfave/cli's man page and markdown output (go-md2man,
# blackfriday: 0.6 ms of package init in every run, 0.4 MB); the tests of
# package main are built with it too.
CLI_TAGS   := urfave_cli_no_docs
BUILD_TAGS := $(CLI_TAGS),netgo,osusergo
build: libzstd
	$(GO) build -trimpath -tags $(BUILD_TAGS) -ldflags '-extldflags -static' -o $(BINARY) .

# Debian's static busybox is the rootfs of the integration tests and demo.
busybox:
	@dpkg -s busybox-static >/dev/null 2>&1 || (apt-get update && apt-get install -y busybox-static)

# zstd image layers are decompressed by libzstd, linked statically into berth.
libzstd:
	@dpkg -s libzstd-dev >/dev/null 2>&1 || (apt-get update && apt-get install -y libzstd-dev)

jq:
	@command -v jq >/dev/null 2>&1 || (apt-get update && apt-get install -y jq)

# Unit tests beside the code and the integration tests in ./tests (which
# drive ./berth and need root) in one `go test` run.
test: busybox build
	$(GO) test -count=1 -tags $(CLI_TAGS) -timeout $(TEST_TIMEOUT) ./...

# The tests again in QEMU VMs booted with cgroup_no_v1=all: pure cgroup v2
# (this host is hybrid). TCG, no KVM. Two guests: the busybox initramfs runs
# the whole suite (6-14 minutes), then Debian with systemd as PID 1 runs the
# systemd driver's and the rootless tests (TestSystemd*, TestRootless*,
# under a user's own systemd manager, about 3.5 minutes; its image is
# built once, ~1 minute, and cached in /var/cache/berth-vm), booted a second
# time hybrid (systemd.unified_cgroup_hierarchy=0) for the driver on cgroup
# v1 (the engines' tests left out, 1-1.5 minutes). Options through
# VMFLAGS (busybox guest) and SDVMFLAGS (systemd guest), e.g.
# make test-vm VMFLAGS='-v -- -run TestCgroup'.
test-vm: busybox build
	@status=0; tests/vm/run.sh $(VMFLAGS) || status=$$?; \
	tests/vm/run.sh --guest systemd $(SDVMFLAGS) || status=$$?; \
	tests/vm/run.sh --guest systemd --cgroup hybrid $(SDVMFLAGS) || status=$$?; exit $$status

# podman, containerd (ctr) and dockerd driving berth, each engine with
# private roots and sockets; part of `make test` too.
test-engines: busybox build
	$(GO) test -count=1 -v -run '^TestEngine' ./tests/

unit: build
	$(GO) test -count=1 -tags $(CLI_TAGS) $$($(GO) list ./... | grep -v '/tests$$')

integration: busybox build
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./tests/

# A busybox bundle under ./demo, from `berth spec` with a command that shows
# the container's own hostname, user and pid; the container is removed by
# `run` itself, the bundle afterwards.
demo: busybox jq build
	@rm -rf $(DEMO_DIR)
	@mkdir -p $(DEMO_DIR)/rootfs/bin $(DEMO_DIR)/rootfs/etc $(DEMO_DIR)/rootfs/proc \
		$(DEMO_DIR)/rootfs/sys $(DEMO_DIR)/rootfs/dev $(DEMO_DIR)/rootfs/tmp $(DEMO_DIR)/rootfs/root
	@cp /bin/busybox $(DEMO_DIR)/rootfs/bin/busybox
	@for a in $$(/bin/busybox --list); do \
		[ "$$a" = busybox ] || ln -sf busybox $(DEMO_DIR)/rootfs/bin/$$a; done
	@printf 'root:x:0:0:root:/root:/bin/sh\n' > $(DEMO_DIR)/rootfs/etc/passwd
	@printf 'root:x:0:\n' > $(DEMO_DIR)/rootfs/etc/group
	./$(BINARY) spec --bundle $(DEMO_DIR)
	@jq '.process.terminal = false | .hostname = "berth-demo" | .process.args = ["sh", "-c", "echo hostname: $$(hostname); id; echo pid: $$$$"]' \
		$(DEMO_DIR)/config.json > $(DEMO_DIR)/config.json.new && mv $(DEMO_DIR)/config.json.new $(DEMO_DIR)/config.json
	./$(BINARY) --root $(abspath $(DEMO_ROOT)) run --bundle $(DEMO_DIR) $(DEMO_ID)
	@rm -rf $(DEMO_DIR)

# bench/bench.sh in the cgroup-v2 QEMU VM (ratios only: TCG slows each
# runtime differently); bench options after --, e.g. VMFLAGS='-- -n 10'.
bench-vm: busybox build
	tests/vm/run.sh --bench $(VMFLAGS)

# The comparison runtimes and /usr/bin/time are Debian packages.
bench: busybox build
	@command -v runc >/dev/null 2>&1 && command -v crun >/dev/null 2>&1 && [ -x /usr/bin/time ] || \
		(apt-get update && apt-get install -y runc crun time jq)
	./bench/bench.sh ./$(BINARY)

# `berth bundle --image` against `umoci unpack` on a ~200 MB image that
# umoci builds (installed if missing); options through UNPACKFLAGS, e.g.
# UNPACKFLAGS='-n 5 -s 400'.
bench-unpack: build
	@command -v umoci >/dev/null 2>&1 || (apt-get update && apt-get install -y umoci)
	./bench/unpack.sh $(UNPACKFLAGS) ./$(BINARY)

vet:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -f $(BINARY)
	rm -rf $(DEMO_DIR)
