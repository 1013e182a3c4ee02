# scsisim — top-level build.
#   make          build the scsisim command and the libraries (build/)
#   make check    build and run every test, then the suite against every mutant (make mutants)
#   make asan     build with ASan + UBSan into build-asan/ and run every test
#   make valgrind run every test under valgrind memcheck
#   make bench    build the benchmarks (build/bench/); see docs/ for how each is run
#   make mutants  one scsisim per driver mutant (build/mutants/), each run against the suite
#   make install  PREFIX=/usr/local DESTDIR=
# Source files are discovered per folder, so adding a module or a test needs no edit here.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

PKGS      := libiscsi libuv nettle check
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
OPT       ?= -O2 -g
SAN       ?=
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -DSCSISIM_VERSION='"$(VERSION)"' $(OPT) $(WARN) $(SAN) \
             -pthread -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs libiscsi libuv nettle 2>/dev/null) -lsgutils2 -lm -pthread $(LDLIBS)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

# Layers, top to bottom: each library may use only those after it.
LAYERS := conformance host driver sim scsi
src_of  = $(sort $(wildcard $(1)/*.c $(1)/*/*.c))
LIB_SRC_conformance := $(call src_of,conformance)
LIB_SRC_host        := $(call src_of,host)
LIB_SRC_driver      := $(call src_of,driver)
LIB_SRC_sim         := $(call src_of,sim)
LIB_SRC_scsi        := $(call src_of,scsi)
PRESENT := $(foreach l,$(LAYERS),$(if $(LIB_SRC_$(l)),$(l)))
LIBS    := $(foreach l,$(PRESENT),$(BUILD)/libscsisim_$(l).a)

CLI_SRC   := $(call src_of,cli)
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_HELP := $(filter-out $(TEST_SRC),$(sort $(wildcard tests/*.c)))
BENCH_SRC := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
DEPS_OK := $(BUILD)/.deps-ok
# The two-process bus tests start this binary (`make check` builds it first).
export SCSISIM_BIN := $(abspath $(BUILD)/scsisim)

.PHONY: all check asan valgrind bench install clean mutants
.SECONDARY:
all: $(BUILD)/scsisim $(LIBS)

$(DEPS_OK): mk/deps.sh
	@sh mk/deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

define lib_rule
$(BUILD)/libscsisim_$(1).a: $(call obj,$(LIB_SRC_$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(PRESENT),$(eval $(call lib_rule,$(l))))

$(BUILD)/scsisim: $(call obj,$(CLI_SRC)) $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $(call obj,$(CLI_SRC)) $(LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call obj,$(TEST_HELP)) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(call obj,$(TEST_HELP)) $(LIBS) $(CHECK_LIBS) $(LDLIBS_ALL)

# Tests that run the controller in its own process need the command.
$(TESTS): | $(BUILD)/scsisim

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS) $(LDLIBS_ALL)

# Mutants (driver/drv_mutant.h): the driver core compiled with -DDRV_MUTANT_<NAME>=1
# into its own objects, linked with everything else of the real build.
MUTANTS   := $(shell sed -n 's/^.ifdef DRV_MUTANT_\([A-Za-z0-9_]*\)$$/\1/p' driver/drv_mutant.h)
MUT_DIR   := $(BUILD)/mutants
MUT_BINS  := $(patsubst %,$(MUT_DIR)/scsisim-%,$(MUTANTS))
define mutant_rule
$(MUT_DIR)/$(1)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) -DDRV_MUTANT_$(1)=1 -MMD -MP -c $$< -o $$@
$(MUT_DIR)/$(1)/libscsisim_driver.a: $(patsubst %.c,$(MUT_DIR)/$(1)/obj/%.o,$(LIB_SRC_driver))
	rm -f $$@ && ar rcs $$@ $$^
$(MUT_DIR)/scsisim-$(1): $(call obj,$(CLI_SRC)) $(MUT_DIR)/$(1)/libscsisim_driver.a $(LIBS)
	$$(CC) $$(CFLAGS_ALL) -o $$@ $(call obj,$(CLI_SRC)) \
	    $(patsubst $(BUILD)/libscsisim_driver.a,$(MUT_DIR)/$(1)/libscsisim_driver.a,$(LIBS)) $$(LDLIBS_ALL)
endef
$(foreach m,$(MUTANTS),$(eval $(call mutant_rule,$(m))))

# Runs the bundled suite with the real build and with every mutant; fails when
# the real build fails a trace or a mutant gets through.  MUTANTS_DOC=docs/mutants.md
# also rewrites that document's table.
mutants: all $(MUT_BINS)
	@sh mk/mutants.sh $(BUILD) $(MUTANTS)

# The unit tests, then the bundled suite against the real build and every
# mutant (make mutants).
check: all $(TESTS) $(MUT_BINS)
	@sh mk/run-tests.sh $(BUILD) $(TESTS)
	@sh mk/mutants.sh $(BUILD) $(MUTANTS)

asan:
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' check

# Every test under valgrind's memcheck (no fork, so leaks are seen per program).
# SCSISIM_VALGRIND=1 tells long-looping tests to loop less (tests/stack2_fixture.h).
valgrind: all $(TESTS)
	@CK_FORK=no SCSISIM_VALGRIND=1 TEST_WRAPPER='valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9' \
	    sh mk/run-tests.sh $(BUILD) $(TESTS)

bench: all $(BENCHES)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/scsisim/sim \
	    $(DESTDIR)$(PREFIX)/share/doc/scsisim
	install -m 755 $(BUILD)/scsisim $(DESTDIR)$(PREFIX)/bin/scsisim
	install -m 644 $(LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 sim/hba.h sim/sim.h sim/config.h sim/store.h sim/bus.h $(DESTDIR)$(PREFIX)/include/scsisim/sim/
	install -m 644 README.md LICENSE $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/scsisim/
	rm -rf $(DESTDIR)$(PREFIX)/share/scsisim/traces && install -d $(DESTDIR)$(PREFIX)/share/scsisim && \
	    cp -R traces $(DESTDIR)$(PREFIX)/share/scsisim/traces

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj $(MUT_DIR) -name '*.d' 2>/dev/null)
