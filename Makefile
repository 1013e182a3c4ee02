# scsisim — top-level build.
#   make          build the scsisim command and the libraries (build/)
#   make check    build and run every test, then the suite against every mutant (make mutants)
#   make check-repeat N=20 LOAD=build   make check N times in a row, stop at the first failure
#   make asan     build with ASan + UBSan into build-asan/ and run every test
#   make valgrind run every test under valgrind memcheck
#   make bench    build the benchmarks (build/bench/); see docs/ for how each is run
#   make mutants  one scsisim per driver mutant (build/mutants/), each run against the suite
#   make mutation generated operator mutants of sim/ and core/, each run against the suite
#                 (docs/mutation.md; MUTATION_N, MUTATION_SEED, MUTATION_JOBS, MUTATION_TIMEOUT)
#   make fuzz     the libFuzzer targets (tests/fuzz/, clang) into build-fuzz/fuzz/;
#   make fuzz-run a short bounded run of each (FUZZ_RUNS=20000; docs/fuzzing.md)
#   make install  PREFIX=/usr/local DESTDIR=
# Source files are discovered per folder, so adding a module or a test needs no edit here.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

PKGS      := libiscsi libuv nettle libpcap libisal check
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
OPT       ?= -O2 -g
SAN       ?=
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -DSCSISIM_VERSION='"$(VERSION)"' $(OPT) $(WARN) $(SAN) \
             -pthread -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs libiscsi libuv nettle libpcap libisal 2>/dev/null) -lsgutils2 -lm -ldl -pthread $(LDLIBS)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

# Layers, top to bottom (docs/architecture.md): a folder may include only
# itself and the folders after it; mk/layers.sh fails the build otherwise.
# The portable driver core (core/) is stricter: it compiles with nothing but
# core/, hw/ and scsi/ on its include path (see CORE_VIEW below).
LAYERS := cli capture conformance host stack platform core sim hw scsi base
LIB_LAYERS := $(filter-out cli,$(LAYERS))
src_of  = $(sort $(wildcard $(1)/*.c $(1)/*/*.c))
$(foreach l,$(LIB_LAYERS),$(eval LIB_SRC_$(l) := $(call src_of,$(l))))
PRESENT := $(foreach l,$(LIB_LAYERS),$(if $(LIB_SRC_$(l)),$(l)))
LIBS    := $(foreach l,$(PRESENT),$(BUILD)/libscsisim_$(l).a)
# Static libraries in one group, so the core's calls into the OS layer below
# it in the link (platform implements core/osal.h) resolve whatever the order.
LINK_LIBS = -Wl,--start-group $(1) -Wl,--end-group

CLI_SRC   := $(call src_of,cli)
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
DEPS_OK := $(BUILD)/.deps-ok
TOOLS_OK := $(BUILD)/.tools-ok
LAYERS_OK := $(BUILD)/.layers-ok
ALL_SRC := $(sort $(wildcard $(addsuffix /*.[ch],$(LAYERS) tests tests/support bench) $(addsuffix /*/*.[ch],$(LAYERS))))
# The two-process bus tests start this binary (`make check` builds it first).
export SCSISIM_BIN := $(abspath $(BUILD)/scsisim)

.PHONY: all check check-repeat asan valgrind bench install clean mutants mutation mutation-report layers fuzz fuzz-run
.SECONDARY:
all: $(BUILD)/scsisim $(LIBS) $(BUILD)/lib/scsisim-core.so $(BUILD)/tools/mutate

$(DEPS_OK): mk/deps.sh
	@sh mk/deps.sh
	@mkdir -p $(@D) && touch $@

# The programs the tests drive (iscsi-test-cu, qemu-io, xmllint, ...): a test
# whose tool is missing fails, so `make check` installs them first.
$(TOOLS_OK): mk/deps.sh
	@sh mk/deps.sh tools
	@mkdir -p $(@D) && touch $@

# Every include must point down the layer list (mk/layers.sh).
$(LAYERS_OK): mk/layers.sh $(ALL_SRC)
	@sh mk/layers.sh --only core:core,hw,scsi $(LAYERS)
	@mkdir -p $(@D) && touch $@
layers: $(LAYERS_OK) $(CORE_OBJ)
	@echo "layers: every include points down; the core built with only core/, hw/ and scsi/ on its include path ($(CORE_VIEW))"

$(BUILD)/obj/%.o: %.c | $(DEPS_OK) $(LAYERS_OK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The portable core is compiled through a view of the tree that holds only
# core/, hw/ and scsi/ (symbolic links), with no -I. and no library's flags:
# an include of anything else does not resolve, and the build fails.
CORE_VIEW   := $(BUILD)/core-view
# -fPIC: the same objects make libscsisim_core.a and the loadable core .so.
CFLAGS_CORE  = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -fPIC -pthread -I$(CORE_VIEW) $(CFLAGS)
CORE_OBJ    := $(call obj,$(LIB_SRC_core))
$(CORE_VIEW)/.ok:
	@mkdir -p $(@D) && for d in core hw scsi; do ln -sfn $(CURDIR)/$$d $(@D)/$$d; done && touch $@
$(CORE_OBJ): $(BUILD)/obj/%.o: %.c | $(DEPS_OK) $(LAYERS_OK) $(CORE_VIEW)/.ok
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -MMD -MP -c $(CORE_VIEW)/$< -o $@

define lib_rule
$(BUILD)/libscsisim_$(1).a: $(call obj,$(LIB_SRC_$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(PRESENT),$(eval $(call lib_rule,$(l))))

# The executable exports the OS layer and the SCSI helpers (mk/scsisim.dynlist)
# to a driver core it loads with --driver-core (core/driver_core_abi.h).  Every
# osal_* and the helpers are kept in the link even when the built-in core is
# what pulls them in: a loaded core may call any of them.
EXPORT_DYN = -Wl,--dynamic-list=mk/scsisim.dynlist
$(BUILD)/scsisim: $(call obj,$(CLI_SRC)) $(LIBS) mk/scsisim.dynlist
	$(CC) $(CFLAGS_ALL) $(EXPORT_DYN) -o $@ $(call obj,$(CLI_SRC)) \
	    -Wl,--whole-archive $(BUILD)/libscsisim_platform.a $(BUILD)/libscsisim_scsi.a -Wl,--no-whole-archive \
	    $(call LINK_LIBS,$(LIBS)) $(LDLIBS_ALL)

# scsisim's own core as a loadable driver core: the very objects of
# libscsisim_core.a, linked so that only scsisim_driver_core is exported.
CORE_SO     := $(BUILD)/lib/scsisim-core.so
SO_LDFLAGS  := -shared -Wl,--version-script=mk/driver-core.map
$(CORE_SO): $(CORE_OBJ) mk/driver-core.map
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(SO_LDFLAGS) -o $@ $(CORE_OBJ)

# Each test links the helpers of tests/support/ it includes, and what those
# include in turn; nothing is listed by hand.  A helper header's objects are
# the tests/support/*.c files whose first tests/support include is that
# header (its implementation: "see X.h").  One awk pass reads the include lines:
#   inc:FILE:HEADER   FILE includes HEADER
#   impl:HEADER:FILE  FILE implements HEADER
SUPPORT_SCAN := $(shell awk 'FNR == 1 { own = (FILENAME ~ /^tests\/support\/.*\.c$$/) } \
    /^\#include "tests\/support\/[^"]*\.h"/ { h = $$2; gsub(/"/, "", h); print "inc:" FILENAME ":" h; \
        if (own) { print "impl:" h ":" FILENAME; own = 0 } }' $(TEST_SRC) $(wildcard tests/support/*.[ch]))
sup_inc  = $(patsubst inc:$(1):%,%,$(filter inc:$(1):%,$(SUPPORT_SCAN)))
sup_impl = $(patsubst impl:$(1):%,%,$(filter impl:$(1):%,$(SUPPORT_SCAN)))
# Headers reachable from a header: its own includes and its implementation's.
sup_next = $(call sup_inc,$(1)) $(foreach c,$(call sup_impl,$(1)),$(call sup_inc,$(c)))
# sup_walk(to visit, seen): every header reachable, each once.
sup_walk = $(if $(1),$(call sup_walk,$(sort $(filter-out $(2) $(firstword $(1)),$(wordlist 2,$(words $(1)),$(1)) \
               $(call sup_next,$(firstword $(1))))),$(2) $(firstword $(1))),$(2))
test_helpers = $(call obj,$(sort $(foreach h,$(call sup_walk,$(call sup_inc,$(1)),),$(call sup_impl,$(h)))))
$(foreach t,$(TEST_SRC),$(eval $(patsubst tests/%.c,$(BUILD)/tests/%,$(t)): $(call test_helpers,$(t))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter %.o,$^) $(call LINK_LIBS,$(LIBS)) $(CHECK_LIBS) $(LDLIBS_ALL)

# Tests that run the controller in its own process need the command.
$(TESTS): | $(BUILD)/scsisim

# Driver cores the tests load (tests/fixtures/: a wrong ABI version, a missing
# symbol, a core that fails to start, crashes or hangs), one .so per file.
FIXTURES := $(patsubst tests/fixtures/%.c,$(BUILD)/tests/fixtures/%.so,$(wildcard tests/fixtures/*.c))
$(BUILD)/tests/fixtures/%.so: tests/fixtures/%.c $(wildcard tests/fixtures/*.h) core/driver_core_abi.h core/core.h \
                              core/osal.h mk/driver-core.map | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -I. $(SO_LDFLAGS) -o $@ $< -ldl
$(TESTS): | $(FIXTURES) $(CORE_SO) $(MUT_BINS)

# Firmware plug-ins (sim/fw/fw_plugin_abi.h): the fixtures tests/fixtures/fw_*.c
# (a wrong ABI version, a missing symbol, a bad row, handlers that return
# garbage) and the example examples/firmware-relink/ twice, fixed and with
# the F6 bug.  Built as a firmware team would: the ABI header only, only
# scsisim_fw_plugin exported; with the build's sanitizers, so `make asan`
# runs them instrumented.
FW_PLUGIN_CC = $(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -fPIC -fvisibility=hidden -I. -shared
$(BUILD)/tests/fixtures/fw_%.so: tests/fixtures/fw_%.c sim/fw/fw_plugin_abi.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FW_PLUGIN_CC) -o $@ $<
FW_EXAMPLES := $(BUILD)/examples/firmware-relink/relink-fixed.so $(BUILD)/examples/firmware-relink/relink-buggy.so
$(BUILD)/examples/firmware-relink/relink-fixed.so: examples/firmware-relink/relink.c sim/fw/fw_plugin_abi.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FW_PLUGIN_CC) -o $@ $<
$(BUILD)/examples/firmware-relink/relink-buggy.so: examples/firmware-relink/relink.c sim/fw/fw_plugin_abi.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FW_PLUGIN_CC) -DRELINK_F6_BUG -o $@ $<
$(TESTS): | $(FW_EXAMPLES)
# The mutation generator's own test runs the built tool.
$(BUILD)/tests/test_mutation_sample: | $(BUILD)/tools/mutate
# test_rogue builds one controller mutant the way mk/mutation.sh does.
$(BUILD)/tests/test_rogue: | $(BUILD)/tools/mutate $(BUILD)/mutation/build.sh

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(call LINK_LIBS,$(LIBS)) $(LDLIBS_ALL)

# Mutants (core/drv_mutant.h): only the driver core is recompiled, with
# -DDRV_MUTANT_<NAME>=1, into its own objects, and linked into a loadable
# driver core, build/mutants/core-<NAME>.so (`scsisim run --driver-core` or
# `--mutant NAME`); nothing else is relinked.
MUTANTS   := $(shell sed -n 's/^.ifdef DRV_MUTANT_\([A-Za-z0-9_]*\)$$/\1/p' core/drv_mutant.h)
MUT_DIR   := $(BUILD)/mutants
MUT_BINS  := $(patsubst %,$(MUT_DIR)/core-%.so,$(MUTANTS))
# Only the core files that include the switch (core/drv_mutant.h) differ
# between mutants; every other object of a mutant is the real core's own, so
# touching such a file recompiles it once, not once per mutant.  That holds
# while no other header tests a DRV_MUTANT_ macro: checked here.
MUT_SRC   := $(shell grep -l 'DRV_MUTANT\|drv_mutant\.h' $(LIB_SRC_core))
MUT_HDRS  := $(filter-out core/drv_mutant.h,$(shell grep -l 'DRV_MUTANT' core/*.h))
ifneq ($(MUT_HDRS),)
$(error $(MUT_HDRS) test a DRV_MUTANT_ macro: only core/drv_mutant.h may (the Makefile shares the other core objects between mutants))
endif
define mutant_rule
$(MUT_DIR)/$(1)/obj/%.o: %.c | $(DEPS_OK) $(LAYERS_OK) $(CORE_VIEW)/.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_CORE) -DDRV_MUTANT_$(1)=1 -MMD -MP -c $(CORE_VIEW)/$$< -o $$@
$(MUT_DIR)/core-$(1).so: $(patsubst %.c,$(MUT_DIR)/$(1)/obj/%.o,$(MUT_SRC)) \
                         $(call obj,$(filter-out $(MUT_SRC),$(LIB_SRC_core))) mk/driver-core.map
	$$(CC) $$(CFLAGS_CORE) $(SO_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach m,$(MUTANTS),$(eval $(call mutant_rule,$(m))))

# The campaign's controller mutant (docs/faults.md): a whole scsisim whose
# store acknowledges SYNCHRONIZE CACHE before writing back
# (-DSIM_MUTANT_SYNC_EARLY in sim/store/store.c only).  Its store.o is linked
# ahead of the libraries, so the archive's is never pulled in; `scsisim
# campaign` run by this binary spawns it as the controller.
CTRL_MUT     := $(MUT_DIR)/scsisim-sync-early
CTRL_MUT_OBJ := $(MUT_DIR)/sync-early/obj/sim/store/store.o
$(CTRL_MUT_OBJ): sim/store/store.c | $(DEPS_OK) $(LAYERS_OK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -DSIM_MUTANT_SYNC_EARLY=1 -MMD -MP -c $< -o $@
$(CTRL_MUT): $(CTRL_MUT_OBJ) $(call obj,$(CLI_SRC)) $(LIBS) mk/scsisim.dynlist
	$(CC) $(CFLAGS_ALL) $(EXPORT_DYN) -o $@ $(CTRL_MUT_OBJ) $(call obj,$(CLI_SRC)) \
	    -Wl,--whole-archive $(BUILD)/libscsisim_platform.a $(BUILD)/libscsisim_scsi.a -Wl,--no-whole-archive \
	    $(call LINK_LIBS,$(LIBS)) $(LDLIBS_ALL)
$(TESTS): | $(CTRL_MUT)

# Runs the bundled suite with the real build and with every mutant; fails when
# the real build fails a trace or a mutant gets through.  MUTANTS_DOC=docs/mutants.md
# also rewrites that document's table.
mutants: all $(MUT_BINS)
	@sh mk/mutants.sh $(BUILD) $(MUTANTS)

# The mutation tool (tools/mutate/, docs/mutation.md): a generator of
# operator mutants (C, base/ only; a build tool, not a layer) and
# mk/mutation.sh, which builds each mutant from a copy under
# $(BUILD)/mutation/ (never the sources) and runs the bundled suite with it.
# A firmware, store or controller mutant is one object compiled as the
# build compiles it and linked into a scsisim of its own ahead of the
# libraries; a core mutant is one object linked with the other core objects
# into a driver core .so, loaded with --driver-core.  mk/mutation.sh reads
# the compile and link lines from $(BUILD)/mutation/build.sh, written here.
MUTATE_SRC  := $(sort $(wildcard tools/mutate/*.c))
$(BUILD)/tools/mutate: $(call obj,$(MUTATE_SRC)) $(BUILD)/libscsisim_base.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $^
MUTATION_SH := $(BUILD)/mutation/build.sh
define MUTATION_BUILD_SH
# Written by the Makefile: the compile and link lines of one mutant.
# mut_cc_sim COPY.c SRCDIR OUT.o / mut_cc_core COPY.c OUT.o
mut_cc_sim() { $(CC) $(CFLAGS_ALL) -iquote "$$2" -c "$$1" -o "$$3"; }
mut_cc_core() { $(CC) $(CFLAGS_CORE) -iquote $(CORE_VIEW)/core -c "$$1" -o "$$2"; }
# mut_link_sim OUT MUT.o: scsisim with MUT.o ahead of the libraries (it
# defines what the library member it replaces defines, so that member is
# never pulled in).
mut_link_sim() { $(CC) $(CFLAGS_ALL) $(EXPORT_DYN) -o "$$1" $(call obj,$(CLI_SRC)) "$$2" \
    -Wl,--whole-archive $(BUILD)/libscsisim_platform.a $(BUILD)/libscsisim_scsi.a -Wl,--no-whole-archive \
    $(call LINK_LIBS,$(LIBS)) $(LDLIBS_ALL); }
# mut_link_core OUT MUT.o ORIG.o: the driver core .so with MUT.o for ORIG.o.
mut_link_core() { out=$$1 mut=$$2 orig=$$3; set --; for o in $(CORE_OBJ); do [ "$$o" = "$$orig" ] || set -- "$$@" "$$o"; done; \
    $(CC) $(CFLAGS_CORE) $(SO_LDFLAGS) -o "$$out" "$$mut" "$$@"; }
endef
# Written again whenever an object it names is rebuilt: a source file added
# to cli/ or core/ changes the link lines.
$(MUTATION_SH): Makefile $(call obj,$(CLI_SRC)) $(CORE_OBJ)
	$(shell mkdir -p $(@D))$(file >$@,$(MUTATION_BUILD_SH))
MUTATION_N       ?= 240
MUTATION_SEED    ?= 12
MUTATION_JOBS    ?= 2
MUTATION_TIMEOUT ?= 120
MUTATION_CHECK_TIMEOUT ?= 60
MUTATION_CHECK_N    ?= 8
MUTATION_CHECK_SEED ?= 2026
# The full run: MUTATION_N mutants over the four layers (a quarter each),
# NOT part of `make check` (which runs MUTATION_CHECK_N of them); writes
# docs/mutation.md.
mutation: all $(MUTATION_SH)
	@nice -n 10 sh mk/mutation.sh --sample $(MUTATION_N) --seed $(MUTATION_SEED) --jobs $(MUTATION_JOBS) \
	    --timeout $(MUTATION_TIMEOUT) --doc docs/mutation.md $(BUILD)
# The same report again from the last run's results (after marking survivors
# in tools/mutate/equivalent.txt or known-survivors.txt); builds and runs nothing.
mutation-report: $(BUILD)/tools/mutate
	@sh mk/mutation.sh --report --sample $(MUTATION_N) --seed $(MUTATION_SEED) --jobs $(MUTATION_JOBS) \
	    --timeout $(MUTATION_TIMEOUT) --doc docs/mutation.md $(BUILD)

# The unit tests, as many at a time as make's -j (nproc without one), then
# the bundled suite against the real build and every mutant (make mutants).
TEST_JOBS = $(or $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))),$(shell nproc))
check: all $(TOOLS_OK) $(TESTS) $(MUT_BINS) $(MUTATION_SH)
	@sh mk/run-tests.sh -j $(TEST_JOBS) $(BUILD) $(TESTS)
	@sh mk/mutants.sh $(BUILD) $(MUTANTS)
	@sh mk/mutation.sh --check --sample $(MUTATION_CHECK_N) --seed $(MUTATION_CHECK_SEED) \
	    --jobs $(MUTATION_JOBS) --timeout $(MUTATION_CHECK_TIMEOUT) $(BUILD)

# make check N times in a row, niced, stopping at the first failure (a flake
# hunt; docs/testing.md).  LOAD=build runs a parallel build beside it.
N ?= 20
LOAD ?= none
check-repeat:
	@BUILD=$(BUILD) sh mk/check-repeat.sh --load $(LOAD) $(N)

asan:
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' check

# Every test under valgrind's memcheck (no fork, so leaks are seen per program).
# SCSISIM_VALGRIND=1 tells long-looping tests to loop less (tests/support/testutil.h).
valgrind: all $(TESTS)
	@CK_FORK=no SCSISIM_VALGRIND=1 TEST_WRAPPER='valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9' \
	    sh mk/run-tests.sh -j $(TEST_JOBS) $(BUILD) $(TESTS)

bench: all $(BENCHES)

# libFuzzer targets: the whole tree built by clang with coverage and ASan into
# build-fuzz/, each tests/fuzz/fuzz_*.c linked with -fsanitize=fuzzer.  Not
# part of `make check`; `make fuzz-run` is a short bounded run seeded with the
# bundled traces.
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS  ?= 20000
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS     = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer $< $(call LINK_LIBS,$(LIBS)) $(LDLIBS_ALL) -o $@
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=fuzzer-no-link,address' fuzzers-here
.PHONY: fuzzers-here
fuzzers-here: $(FUZZERS)
fuzz-run: fuzz
	@for f in $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC)); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$f && \
	    $(FUZZ_BUILD)/fuzz/$$f -runs=$(FUZZ_RUNS) -max_len=8192 $(FUZZ_BUILD)/corpus/$$f traces || exit 1; done

# Headers keep their paths under include/scsisim/ (they include each other as
# "hw/hba.h", "core/osal.h", ...): compile against them with -I$(PREFIX)/include/scsisim.
# A driver core built out of tree needs core/driver_core_abi.h and what it
# includes (core.h, discovery.h, osal.h, hw/hba.h), plus the SCSI helpers the
# executable exports (scsi/cdb.h, scsi/sense.h); a firmware plug-in needs
# sim/fw/fw_plugin_abi.h alone: `pkg-config --cflags scsisim`.
PUBLIC_HEADERS := hw/hba.h core/osal.h core/core.h core/discovery.h core/driver_core_abi.h sim/fw/fw_plugin_abi.h \
                  scsi/scsi.h scsi/cdb.h scsi/sense.h sim/sim.h sim/config/config.h \
                  sim/store/store.h platform/bus.h
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/doc/scsisim \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/scsisim
	install -m 755 $(BUILD)/scsisim $(DESTDIR)$(PREFIX)/bin/scsisim
	install -m 644 $(LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(CORE_SO) $(DESTDIR)$(PREFIX)/lib/scsisim/scsisim-core.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' mk/scsisim.pc.in \
	    >$(DESTDIR)$(PREFIX)/lib/pkgconfig/scsisim.pc
	for h in $(PUBLIC_HEADERS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/scsisim/$$h || exit 1; done
	install -m 644 README.md LICENSE $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/scsisim/
	rm -rf $(DESTDIR)$(PREFIX)/share/scsisim/traces && install -d $(DESTDIR)$(PREFIX)/share/scsisim && \
	    cp -R traces $(DESTDIR)$(PREFIX)/share/scsisim/traces
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/scsisim/examples && cp -R examples $(DESTDIR)$(PREFIX)/share/doc/scsisim/examples && \
	    find $(DESTDIR)$(PREFIX)/share/doc/scsisim/examples -name '*.so' -delete

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj $(MUT_DIR) -name '*.d' 2>/dev/null)
