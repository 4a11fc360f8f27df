# SPDX-License-Identifier: GPL-2.0-only
#
# keyhole: one Makefile for everything. `make` builds userspace into $(O)/
# and, when Debian kernel headers are installed, kmod/ against the newest
# Debian kernel that has both an image and headers (KDIR= overrides).
#
#   make deps    install every Debian package the project needs
#   make check   every test (unit, then integration against booted guests)
#   make demo    boot the bundled test guest and introspect it
#   make bench   regenerate Documentation/benchmarks.md
#   make check-kmod  keyhole.ko's lint and tests, in a Debian kernel under QEMU

O ?= build
CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# Debian packages, grouped by what needs them.
DEPS_BUILD := build-essential pkg-config libbpf-dev libelf-dev zlib1g-dev \
	libjansson-dev libnl-3-dev libnl-genl-3-dev liburcu-dev libvirt-dev \
	libsystemd-dev libmicrohttpd-dev libsmartcols-dev
DEPS_GUEST := qemu-system-x86 busybox-static linux-image-amd64 \
	linux-headers-amd64 cpio xz-utils kmod
DEPS_TEST := clang libclang-rt-14-dev prometheus curl \
	libvirt-daemon-system libvirt-clients \
	libvirt-daemon-driver-qemu
DEPS_BENCH := gnuplot-nox linux-perf
# checkpatch.pl comes out of the kernel source tarball
DEPS_KMOD_TEST := linux-source-6.1 sparse
DEPS := $(DEPS_BUILD) $(DEPS_GUEST) $(DEPS_TEST) $(DEPS_BENCH) \
	$(DEPS_KMOD_TEST)

KH_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Wno-format-truncation -Wvla -D_GNU_SOURCE -fPIC \
	-Ibroker/include -Ibroker/lib -Iuapi -Itools/keyhole -Itests/lib
# libvirt is optional, found by pkg-config when the build runs (after
# deps), not at run time by dlopen: the linker then checks every libvirt
# symbol keyhole uses against libvirt's own versioned ones, and a keyhole
# built without it says so in its error instead of failing to load.
# LIBVIRT=no builds without it even where it is installed.
LIBVIRT_PKG = $(if $(filter no,$(LIBVIRT)),,$(shell $(PKG_CONFIG) --exists \
	libvirt libvirt-qemu 2>/dev/null && echo libvirt libvirt-qemu))
LIBS_PKG = libbpf jansson $(LIBVIRT_PKG)
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LIBS_PKG) 2>/dev/null) \
	$(if $(LIBVIRT_PKG),-DKH_HAVE_LIBVIRT)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(LIBS_PKG) 2>/dev/null)
LDLIBS := -lpthread
VERSION := 0.1.0
KH_CFLAGS += -Ibroker/proto -DKEYHOLED_VERSION='"$(VERSION)"'
# keyholed alone needs liburcu (its VM registry), libsystemd (sd-event,
# sd_notify), libmicrohttpd (--metrics) and libnl-genl (keyhole.ko's
# events); the library and the command do not.
DAEMON_PKG := liburcu liburcu-cds libsystemd libmicrohttpd libnl-genl-3.0
DAEMON_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKG) 2>/dev/null)
DAEMON_LIBS = $(shell $(PKG_CONFIG) --libs $(DAEMON_PKG) 2>/dev/null)

LIB_SRCS := $(wildcard broker/lib/*.c broker/lib/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIBKEYHOLE_A := $(O)/lib/libkeyhole.a
LIBKEYHOLE_SO := $(O)/lib/libkeyhole.so.0

TOOL_SRCS := $(wildcard tools/keyhole/*.c)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(O)/%.o)
KEYHOLE := $(O)/bin/keyhole

# The socket protocol: one small piece that keyholed and keyhole both link.
PROTO_OBJS := $(O)/broker/proto/proto.o
KEYHOLED_SRCS := $(wildcard broker/keyholed/*.c)
KEYHOLED_OBJS := $(KEYHOLED_SRCS:%.c=$(O)/%.o)
KEYHOLED := $(O)/bin/keyholed

BENCH := $(O)/bin/kh-bench
BROKER_BENCH := $(O)/bin/kh-broker-bench
CRAWL_BENCH := $(O)/bin/kh-crawl-bench

UNIT_SRCS := $(wildcard tests/unit/*.c tests/unit/*/*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(O)/%)
INTEG_SRCS := $(wildcard tests/integration/*.c tests/libvirt/*.c tests/broker/*.c)
INTEG_BINS := $(INTEG_SRCS:%.c=$(O)/%)

# The fuzzers: libFuzzer with ASan and UBSan over the whole engine, which
# is built once with the sanitizers (fuzzer-no-link) for every harness.
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 $(FUZZ_SAN) -std=gnu11 -D_GNU_SOURCE \
	-Ibroker/include -Ibroker/lib -Iuapi -Itests/lib -Itests/fuzz
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(O)/fuzz/obj/%.o)

# The newest Debian kernel with both an image and a kbuild tree.
KDIR ?= $(shell for v in $$(ls /boot 2>/dev/null | sed -n 's/^vmlinuz-//p' | \
	sort -rV); do [ -f /lib/modules/$$v/build/Makefile ] && \
	echo /lib/modules/$$v/build && break; done)

.PHONY: all userspace kmod deps check check-unit check-integration demo \
	bench guest clean fuzz fuzz-build check-headers check-kmod kmod-lint \
	kmod-test-build kmod-test-infra kmod-test-progs kmod-l1 bench-kmod \
	check-kmod-harness check-without-libvirt
.SECONDARY:

all: userspace kmod

userspace: $(LIBKEYHOLE_A) $(LIBKEYHOLE_SO) $(KEYHOLE) $(KEYHOLED) $(BENCH) \
	$(BROKER_BENCH) $(CRAWL_BENCH) \
	$(UNIT_BINS) $(INTEG_BINS)

$(O)/%.o: %.c $(wildcard broker/include/*.h broker/lib/*.h broker/lib/*/*.h uapi/*.h \
		broker/proto/*.h \
		tools/keyhole/*.h tests/lib/*.h tests/integration/*.h tests/libvirt/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(LIBKEYHOLE_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBKEYHOLE_SO): $(LIB_OBJS) broker/libkeyhole.map
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libkeyhole.so.0 -Wl,-z,defs \
		-Wl,--version-script=broker/libkeyhole.map -o $@ $(LIB_OBJS) \
		$(PKG_LIBS) $(LDLIBS)

# The command alone renders tables, with libsmartcols (as lsblk does).
TOOL_PKG := smartcols
TOOL_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TOOL_PKG) 2>/dev/null)
TOOL_LIBS = $(shell $(PKG_CONFIG) --libs $(TOOL_PKG) 2>/dev/null)

$(KEYHOLE): $(TOOL_OBJS) $(PROTO_OBJS) $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJS) $(PROTO_OBJS) $(LIBKEYHOLE_A) \
		$(PKG_LIBS) $(TOOL_LIBS) $(LDLIBS)

$(O)/tools/keyhole/%.o: tools/keyhole/%.c $(wildcard broker/include/*.h \
		broker/proto/*.h tools/keyhole/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) $(PKG_CFLAGS) $(TOOL_CFLAGS) -c -o $@ $<

# Unit tests of keyholed's parts compile the part's source in.
$(O)/tests/unit/keyholed/%.o: tests/unit/keyholed/%.c \
		$(wildcard broker/keyholed/*.c broker/keyholed/*.h) tests/lib/check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) $(PKG_CFLAGS) $(DAEMON_CFLAGS) -c -o $@ $<

$(O)/broker/keyholed/%.o: broker/keyholed/%.c $(wildcard broker/keyholed/*.h) \
		broker/proto/proto.h broker/include/libkeyhole.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) $(PKG_CFLAGS) $(DAEMON_CFLAGS) -c -o $@ $<

$(KEYHOLED): $(KEYHOLED_OBJS) $(PROTO_OBJS) $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(KEYHOLED_OBJS) $(PROTO_OBJS) $(LIBKEYHOLE_A) \
		$(PKG_LIBS) $(DAEMON_LIBS) $(LDLIBS)

$(BROKER_BENCH): $(O)/tools/bench/kh-broker-bench.o $(PROTO_OBJS) \
		$(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PROTO_OBJS) $(LIBKEYHOLE_A) $(PKG_LIBS) \
		$(LDLIBS)

$(BENCH): $(O)/tools/bench/kh-bench.o $(O)/tools/bench/views.o $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LIBKEYHOLE_A) $(PKG_LIBS) \
		$(LDLIBS)

$(CRAWL_BENCH): $(O)/tools/bench/kh-crawl-bench.o $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIBKEYHOLE_A) $(PKG_LIBS) $(LDLIBS)

$(O)/tests/%: $(O)/tests/%.o $(PROTO_OBJS) $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PROTO_OBJS) $(LIBKEYHOLE_A) $(PKG_LIBS) \
		$(LDLIBS)

# The command's unit tests compile its renderers and tables in.
$(O)/tests/unit/tools/%.o: tests/unit/tools/%.c $(wildcard tools/keyhole/*.c \
		tools/keyhole/*.h broker/include/*.h tests/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) $(PKG_CFLAGS) $(TOOL_CFLAGS) -c -o $@ $<

$(O)/tests/unit/tools/%: $(O)/tests/unit/tools/%.o $(PROTO_OBJS) \
		$(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PROTO_OBJS) $(LIBKEYHOLE_A) $(PKG_LIBS) \
		$(TOOL_LIBS) $(LDLIBS)

fuzz-build: $(FUZZ)

$(O)/fuzz/obj/%.o: %.c $(wildcard broker/lib/*.h broker/lib/*/*.h broker/include/*.h \
		uapi/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) \
		-c -o $@ $<

$(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< \
		$(FUZZ_LIB_OBJS) $(PKG_LIBS) -lpthread

kmod:
	@if [ -n "$(KDIR)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod O= W=1 modules; \
	else \
		echo "kmod: no Debian kernel headers installed (make deps), skipped"; \
	fi

deps:
	@missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		apt-get update -q && \
		INITRD=No DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

guest: deps
	tests/guest/build.sh $(O)/guest

# Public headers stand alone: uapi as C90 (twice) and C++, the library's
# header as C++.
check-headers:
	printf '#include <keyhole.h>\n#include <keyhole.h>\nint main(void) { return 0; }\n' | \
		$(CC) -std=c90 -pedantic -Wall -Werror -fsyntax-only -Iuapi -x c -
	printf '#include <keyhole.h>\n' | \
		c++ -Wall -Werror -fsyntax-only -Iuapi -x c++ -
	printf '#include <libkeyhole.h>\n' | \
		c++ -Wall -Werror -fsyntax-only -Ibroker/include -x c++ -

# Both runners always run (tests/kmod/run is what check-kmod runs after
# deps); each one's closing line is kept and the sum of both is the last
# line. A runner that died before its line counts as one failure.
check: deps
	$(MAKE) check-headers
	$(MAKE) check-without-libvirt
	$(MAKE) all fuzz-build
	$(MAKE) guest
	@mkdir -p $(O); rm -f $(O)/.check-user.rc $(O)/.check-kmod.rc; \
	{ tests/run $(O) 2>&1; echo $$? >$(O)/.check-user.rc; } | \
		tee $(O)/check-user.log; \
	{ tests/kmod/run $(O) 2>&1; \
		echo $$? >$(O)/.check-kmod.rc; } | tee $(O)/check-kmod.log; \
	user_rc=$$(cat $(O)/.check-user.rc 2>/dev/null || echo 1); \
	kmod_rc=$$(cat $(O)/.check-kmod.rc 2>/dev/null || echo 1); \
	echo; \
	echo "check: userspace exit $$user_rc, kmod exit $$kmod_rc"; \
	for f in $(O)/check-user.log $(O)/check-kmod.log; do \
		grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$$' $$f | \
			tail -n1 | grep . || echo "0 passed, 1 failed, 0 skipped"; \
	done | awk '{ p += $$1; f += $$3; s += $$5 } \
		END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'; \
	[ "$$user_rc" = 0 ] && [ "$$kmod_rc" = 0 ]

# A long fuzzing run (make check does a short one).
fuzz: deps
	$(MAKE) all fuzz-build guest
	tests/fuzz/run.sh $(O) $${FUZZ_SECONDS:-1800}

# libvirt is optional: the engine and the CLI build without it, do not
# link it, and say so when asked for a libvirt domain.
check-without-libvirt:
	$(MAKE) O=$(O)/without-libvirt LIBVIRT=no $(O)/without-libvirt/bin/keyhole
	! ldd $(O)/without-libvirt/bin/keyhole | grep -q libvirt
	$(O)/without-libvirt/bin/keyhole ps kh-no-such-domain 2>&1 | \
		grep -q "no QEMU process has -name or -uuid 'kh-no-such-domain'"
	@echo "check-without-libvirt: builds, links no libvirt, runs"

check-unit: userspace
	tests/run --unit $(O)

demo: deps
	$(MAKE) all
	$(MAKE) guest
	tests/demo.sh $(O)

bench: deps
	$(MAKE) all kmod-test-build
	$(MAKE) guest
	mkdir -p $(O)/bench
	tests/kmod/run --bench $(O)/bench/kmod.txt $(O)
	tools/bench/run.sh $(O) Documentation/benchmarks.md

# --- keyhole.ko tests (tests/kmod, Documentation/kmod-testing.md) ------
# Each tests/kmod/test_*.c and bench_*.c is a program, linked with
# tests/kmod/lib, libnl-genl-3 and jansson (not libkeyhole: the module's
# tests must not stop building when the engine does); the runner boots an
# L1 guest that runs them against the module.
KT_SRCS := $(wildcard tests/kmod/test_*.c tests/kmod/bench_*.c)
KT_BINS := $(KT_SRCS:%.c=$(O)/%)
KT_LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/kmod/lib/*.c))
KT_PAYLOAD := $(O)/tests/kmod/payload/counter.elf
KT_HOLDER := $(O)/tests/kmod/l1/kvm_holder
KT_CFLAGS = -Itests/kmod/lib -Itests/kmod/payload \
	$(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 jansson 2>/dev/null)
KT_LIBS = $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 jansson 2>/dev/null)
KSRC_TARBALL := /usr/src/linux-source-6.1.tar.xz
CHECKPATCH := $(O)/checkpatch/checkpatch.pl

$(O)/tests/kmod/%.o: tests/kmod/%.c $(wildcard uapi/*.h tests/lib/*.h \
		tests/kmod/*.h tests/kmod/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) $(KT_CFLAGS) -c -o $@ $<

$(O)/tests/kmod/%: $(O)/tests/kmod/%.o $(KT_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(KT_LIB_OBJS) $(KT_LIBS) $(LDLIBS)

# The L2 guest: a 32-bit multiboot ELF, no libc, no extra packages.
$(KT_PAYLOAD): tests/kmod/payload/counter.S tests/kmod/payload/counter.ld \
		tests/kmod/payload/counter.h
	@mkdir -p $(@D)
	$(CC) -m32 -c -Itests/kmod/payload -o $(@:.elf=.o) $<
	ld -m elf_i386 -T tests/kmod/payload/counter.ld --build-id=none \
		-o $@ $(@:.elf=.o)

# Keeps KVM's static keys on in the L1 (tests/kmod/l1/kvm_holder.c).
$(KT_HOLDER): tests/kmod/l1/kvm_holder.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KH_CFLAGS) -o $@ $<

kmod-l1:
	tests/kmod/l1/build.sh $(O)/kmod-l1

$(CHECKPATCH):
	@[ -f $(KSRC_TARBALL) ] || { echo "no $(KSRC_TARBALL): make deps"; exit 1; }
	@mkdir -p $(@D)
	tar -xJf $(KSRC_TARBALL) -C $(@D) --strip-components=2 --occurrence=1 \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	touch $@

# tests/kmod/run builds these itself: the harness must build, while the
# module and each test program that does not build is a failed test. The
# harness includes what test_keyhole_techniques drives in the L1: the
# keyhole command, libkeyhole.so and the test guest with its truth daemon.
kmod-test-infra: $(KT_LIB_OBJS) $(KT_PAYLOAD) $(KT_HOLDER) kmod-l1 \
	$(CHECKPATCH) userspace guest
kmod-test-progs: $(KT_BINS)
kmod-test-build: kmod kmod-test-infra kmod-test-progs

check-kmod: deps
	tests/kmod/run $(O)

kmod-lint: deps
	tests/kmod/run --lint-only $(O)

bench-kmod: deps
	mkdir -p $(O)/bench
	tests/kmod/run --bench $(O)/bench/kmod.txt $(O)

# The harness on stand-in programs that pass, skip, fail, warn, leak, crash
# and hang: each must get its verdict (~3 minutes, not part of check).
check-kmod-harness: deps
	$(MAKE) kmod-test-build
	tests/kmod/l1/selftest.sh $(O)

clean:
	rm -rf $(O)
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean; fi
