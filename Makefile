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

O ?= build
CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# Debian packages, grouped by what needs them.
DEPS_BUILD := build-essential pkg-config libbpf-dev libelf-dev zlib1g-dev \
	libjansson-dev libnl-3-dev libnl-genl-3-dev liburcu-dev
DEPS_GUEST := qemu-system-x86 busybox-static linux-image-amd64 \
	linux-headers-amd64 cpio xz-utils kmod
DEPS_TEST := clang libclang-rt-14-dev
DEPS_BENCH := gnuplot-nox
DEPS := $(DEPS_BUILD) $(DEPS_GUEST) $(DEPS_TEST) $(DEPS_BENCH)

KH_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Wno-format-truncation -Wvla -D_GNU_SOURCE -fPIC \
	-Ibroker/include -Ibroker/lib -Iuapi -Itools/keyhole -Itests/lib
LIBS_PKG := libbpf jansson
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LIBS_PKG) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(LIBS_PKG) 2>/dev/null)
LDLIBS := -lpthread

LIB_SRCS := $(wildcard broker/lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIBKEYHOLE_A := $(O)/lib/libkeyhole.a
LIBKEYHOLE_SO := $(O)/lib/libkeyhole.so.0

TOOL_SRCS := $(wildcard tools/keyhole/*.c)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(O)/%.o)
KEYHOLE := $(O)/bin/keyhole

BENCH := $(O)/bin/kh-bench

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(O)/%)
INTEG_SRCS := $(wildcard tests/integration/*.c)
INTEG_BINS := $(INTEG_SRCS:%.c=$(O)/%)

# The fuzzer: libFuzzer with ASan and UBSan over the whole engine.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE \
	-Ibroker/include -Ibroker/lib -Itests/lib
FUZZ := $(O)/fuzz/fuzz_crawl

# The newest Debian kernel with both an image and a kbuild tree.
KDIR ?= $(shell for v in $$(ls /boot 2>/dev/null | sed -n 's/^vmlinuz-//p' | \
	sort -rV); do [ -f /lib/modules/$$v/build/Makefile ] && \
	echo /lib/modules/$$v/build && break; done)

.PHONY: all userspace kmod deps check check-unit check-integration demo \
	bench guest clean fuzz fuzz-build check-headers
.SECONDARY:

all: userspace kmod

userspace: $(LIBKEYHOLE_A) $(LIBKEYHOLE_SO) $(KEYHOLE) $(BENCH) \
	$(UNIT_BINS) $(INTEG_BINS)

$(O)/%.o: %.c $(wildcard broker/include/*.h broker/lib/*.h uapi/*.h \
		tools/keyhole/*.h tests/lib/*.h)
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

$(KEYHOLE): $(TOOL_OBJS) $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJS) $(LIBKEYHOLE_A) $(PKG_LIBS) $(LDLIBS)

$(BENCH): $(O)/tools/bench/kh-bench.o $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIBKEYHOLE_A) $(PKG_LIBS) $(LDLIBS)

$(O)/tests/%: $(O)/tests/%.o $(LIBKEYHOLE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIBKEYHOLE_A) $(PKG_LIBS) $(LDLIBS)

fuzz-build: $(FUZZ)

$(FUZZ): tests/fuzz/fuzz_crawl.c $(LIB_SRCS) $(wildcard broker/lib/*.h \
		broker/include/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ tests/fuzz/fuzz_crawl.c \
		$(LIB_SRCS) $(PKG_LIBS) -lpthread

kmod:
	@if [ -n "$(KDIR)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules; \
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

check: deps
	$(MAKE) check-headers
	$(MAKE) all fuzz-build
	$(MAKE) guest
	tests/run $(O)

# A long fuzzing run (make check does a short one).
fuzz: deps
	$(MAKE) all fuzz-build guest
	tests/fuzz/run.sh $(O) $${FUZZ_SECONDS:-1800}

check-unit: userspace
	tests/run --unit $(O)

demo: deps
	$(MAKE) all
	$(MAKE) guest
	tests/demo.sh $(O)

bench: deps
	$(MAKE) all
	$(MAKE) guest
	tools/bench/run.sh $(O) Documentation/benchmarks.md

clean:
	rm -rf $(O)
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean; fi
