# SPDX-License-Identifier: MIT
#
# One non-recursive Makefile (libbpf-bootstrap / xdp-tools style). Output goes to
# build/. Modules are discovered, not listed: every userspace/<module>/*.c except
# main.c goes into build/libcs.a; a program is a main.c plus that library. This keeps
# the file stable while modules are added (several people work in parallel).
#
#   make               build everything
#   make test          run the whole suite (root for the BPF/netns tiers)
#   make bench         benchmarks beside their peers (not a test)
#   make run           install what is missing, build, run the main job
#   make deps          apt-get what building and running need (idempotent)
#   make test-deps     apt-get what only the tests and benchmarks need (peers too)
#   make install       PREFIX=/usr/local DESTDIR= (uninstall too); make deb
#   make vmlinux       regenerate vmlinux.h from the running kernel's BTF
#   make SANITIZE=address,undefined test
#   make V=1           show commands

.DEFAULT_GOAL := all
BUILD    ?= build$(if $(SANITIZE),-san)
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS     := libbpf libelf zlib yaml-0.1 libpcre2-8 libhs sqlite3 libpq libmicrohttpd jansson libcurl libnftables libnftnl libmnl libxml-2.0 libcrypto libxcrypt libmaxminddb gnutls libxdp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	    -fno-strict-aliasing -I$(BUILD) -I. -Iuserspace $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lpthread -lm
# Hardened like a distribution package: stack protector, position-independent
# executables (ASLR for the program too) and full RELRO (GOT read-only after
# start-up). The LAPI parses hostile input, so these are not optional.
CFLAGS   += -fstack-protector-strong -fPIE
LDFLAGS  += -pie -Wl,-z,relro,-z,now
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
else
# FORTIFY needs optimisation and is redundant under ASan (which intercepts the
# same calls); the -U keeps compilers that predefine a level from warning.
CFLAGS   += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
endif

# Test and benchmark data that lives beside the checkout (hub mirror, specs, log
# generator): tests and benchmarks read it only through $$SHARED_DIR, set here.
SHARED_DIR ?= $(abspath ../shared)
export SHARED_DIR
# For scripts run by hand: they ask here rather than guess a path of their own.
shared-dir:
	@echo $(SHARED_DIR)

BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I. -Ibpf

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# ---- BPF -------------------------------------------------------------------
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpfobj/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)

$(BUILD)/bpfobj/%.tmp.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux.h
	$(call msg,BPF,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# "gen object" is the BPF static linker: it also strips DWARF we don't need.
$(BUILD)/bpfobj/%.bpf.o: $(BUILD)/bpfobj/%.tmp.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(BUILD)/%.skel.h: $(BUILD)/bpfobj/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- userspace library and programs ------------------------------------------
LIB_SRCS  := $(filter-out %/main.c,$(wildcard userspace/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# The LAPI dashboard's pages and scripts (userspace/lapi/dashboard/), in the binary
# as NUL-terminated arrays lapi_dashboard_<file name with . as _> (dashboard.c).
DASH_FILES := $(sort $(wildcard userspace/lapi/dashboard/*))
LIB_OBJS  += $(BUILD)/obj/gen/dashboard_assets.o
LIB       := $(BUILD)/libcs.a

# program name : directory holding its main.c (and private files)
PROG_crowdsec             := userspace/crowdsec
PROG_crowdsec-xdp-bouncer := userspace/bouncer
PROG_cscli                := cscli
PROG_crowdsec-central     := userspace/central
PROGS := $(foreach p,crowdsec crowdsec-xdp-bouncer cscli crowdsec-central,\
	   $(if $(wildcard $(PROG_$(p))/main.c),$(BUILD)/$(p)))

CSCLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cscli/*.c)) $(BUILD)/obj/gen/patterns_embed.o

# The default grok pattern files (config/patterns/, CrowdSec's) as C arrays for cscli.
PATTERN_FILES := $(sort $(filter-out %.md,$(wildcard config/patterns/*)))
$(BUILD)/gen/patterns_embed.c: $(PATTERN_FILES) Makefile
	$(call msg,GEN,$@)
	@mkdir -p $(dir $@)
	$(Q){ echo '#include "cscli/patterns_embed.h"'; \
	  for f in $(PATTERN_FILES); do n=$$(basename $$f | tr -c 'a-zA-Z0-9_\n' _); \
	    echo "static const unsigned char p_$$n[] = {"; od -An -v -tx1 $$f | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; done; \
	  echo 'const struct embedded_file cscli_default_patterns[] = {'; \
	  for f in $(PATTERN_FILES); do b=$$(basename $$f); n=$$(echo $$b | tr -c 'a-zA-Z0-9_\n' _); \
	    echo "	{ \"$$b\", p_$$n, sizeof(p_$$n) },"; done; \
	  echo '	{ 0, 0, 0 },'; echo '};'; } >$@

$(BUILD)/gen/dashboard_assets.c: $(DASH_FILES) Makefile
	$(call msg,GEN,$@)
	@mkdir -p $(dir $@)
	$(Q){ for f in $(DASH_FILES); do n=$$(basename $$f | tr -c 'a-zA-Z0-9_\n' _); \
	    echo "const char lapi_dashboard_$$n[] = {"; od -An -v -tx1 $$f | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0x00 };'; \
	  done; } >$@

$(BUILD)/obj/gen/dashboard_assets.o: $(BUILD)/gen/dashboard_assets.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/gen/patterns_embed.o: $(BUILD)/gen/patterns_embed.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Objects live under build/obj/ so that a program name (build/cscli) never
# collides with its sources' directory.
$(BUILD)/obj/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/crowdsec: $(BUILD)/obj/userspace/crowdsec/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/crowdsec-xdp-bouncer: $(BUILD)/obj/userspace/bouncer/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/crowdsec-central: $(BUILD)/obj/userspace/central/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/cscli: $(CSCLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- tests -----------------------------------------------------------------
# tests/<tier>/test_*.c -> build/tests/<tier>/test_*; shared helpers in tests/lib/*.c
TEST_LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))
TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
TEST_SCRIPTS := $(wildcard tests/*/test_*.sh)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIB_OBJS) $(LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- benchmarks (not tests) ----------------------------------------------------
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- fuzzing (libFuzzer, clang, ASan + UBSan) -----------------------------------
# tests/fuzz/fuzz_*.c -> build-fuzz/fuzz_*, against the library rebuilt with clang
# and sanitizer coverage (BPF programs are not fuzzed: the loader only compiles
# here, against the main build's skeleton). `make fuzz` runs each harness
# FUZZ_SECONDS; `make test` runs them briefly over their seed corpus
# (tests/fuzz/test_fuzz.sh).
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-Wno-missing-field-initializers -D_GNU_SOURCE \
		-fno-strict-aliasing -I$(BUILD) -I. -Iuserspace $(PKG_CFLAGS) -MMD -MP $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/gen/dashboard_assets.o
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/obj/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC-FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/gen/dashboard_assets.o: $(BUILD)/gen/dashboard_assets.c
	$(call msg,CC-FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/libcs.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libcs.a
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LDLIBS) -o $@

# fuzz_cscli runs cscli's commands (everything of cscli/ but main.c, from an
# archive so that only what they use is linked) against the answers it fuzzes.
FUZZ_CSCLI_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out cscli/main.c,$(wildcard cscli/*.c))) \
		   $(FUZZ_BUILD)/obj/gen/patterns_embed.o
$(FUZZ_BUILD)/obj/gen/patterns_embed.o: $(BUILD)/gen/patterns_embed.c
	$(call msg,CC-FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BUILD)/libcscli.a: $(FUZZ_CSCLI_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_cscli: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_cscli.o $(FUZZ_BUILD)/libcscli.a $(FUZZ_BUILD)/libcs.a
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# ---- top-level targets ---------------------------------------------------------
all: $(BPF_SKELS) $(LIB) $(PROGS) $(TEST_BINS) $(BENCH_BINS)

# tests/run.sh runs TEST_JOBS tests at once (2: CI's two cores; most tests wait on
# daemons more than they compute), started in this order: the long ones first
# (CI's serial times, longest first), so that none of them ends the run alone.
TEST_JOBS ?= 2
TEST_LONG := tests/fuzz/test_fuzz.sh tests/integration/test_xdp_netns.sh \
	tests/integration/test_differential.sh tests/integration/test_sanitizers.sh \
	tests/integration/test_bouncer_ours.sh tests/integration/test_bouncer_cs146.sh \
	tests/central/test_central_multiplayer.sh $(BUILD)/tests/bpf/test_xdp_prog \
	tests/lapi/test_lapi_pg.sh tests/central/test_central_crowdsec146.sh \
	tests/integration/test_valgrind.sh tests/integration/test_systemd_units.sh \
	tests/integration/test_install.sh
TEST_ALL := $(TEST_BINS) $(TEST_SCRIPTS)
TEST_ORDER := $(filter $(TEST_ALL),$(TEST_LONG)) $(filter-out $(TEST_LONG),$(TEST_ALL))

# `make test` alone (as CI runs it) builds on every CPU too
ifeq ($(MAKECMDGOALS),test)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc)
endif
endif

# The packages first, then the build: as two prerequisites, a parallel make would
# compile while apt-get is still installing the headers. (MAKEFLAGS emptied: a make
# a test runs gets no jobserver it cannot reach.)
test: test-deps
	$(Q)$(MAKE) all
	$(Q)MAKEFLAGS= BUILD=$(abspath $(BUILD)) TEST_JOBS=$(TEST_JOBS) tests/run.sh $(TEST_ORDER)

bench: test-deps
	$(Q)$(MAKE) all
	$(Q)BUILD=$(abspath $(BUILD)) bench/run.sh

# The main job: crowdsec (detector + LAPI) and the XDP bouncer on the default
# interface (RUN_IFACE=... to choose), in the foreground. config/run.sh says more.
run: deps
	$(Q)$(MAKE) all
	$(Q)BUILD=$(abspath $(BUILD)) config/run.sh

deps:
	$(Q)config/deps.sh

# Tests and benchmarks only: tools and CrowdSec's own packages as peers.
test-deps: deps
	$(Q)config/test-deps.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)

.PHONY: all test bench run deps test-deps vmlinux clean fuzz fuzz-build shared-dir
.DELETE_ON_ERROR:
.SECONDARY:

-include $(shell find $(BUILD) $(FUZZ_BUILD) -type f -name '*.d' 2>/dev/null)

# ---- install (make install PREFIX=/usr DESTDIR=...; make uninstall; make deb) ------
# CrowdSec's layout: configuration in /etc/crowdsec whatever PREFIX is, data in
# /var/lib/crowdsec. config/install.sh does it: an existing configuration file is
# never overwritten.
PREFIX ?= /usr/local
install: $(PROGS)
	$(Q)BUILD=$(abspath $(BUILD)) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) config/install.sh install

uninstall:
	$(Q)PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) config/install.sh uninstall

# A Debian package in $(BUILD)/deb/ (debian/ is copied from config/debian/).
deb: $(PROGS)
	$(Q)BUILD=$(abspath $(BUILD)) config/debian/build.sh

.PHONY: install uninstall deb
