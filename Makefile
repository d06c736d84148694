# homing: one binary, strict warnings, and a separate sanitized tree for tests.
#
#   make            build build/homing (checks, or installs, the Debian packages first)
#   make run        build and run the service on config/homing.conf in the foreground
#   make test       build under ASan+UBSan in build/test/ and run every test
#   make deps       install the Debian packages (as root) or say exactly what to run
#   make install    PREFIX=/usr/local DESTDIR= : binary, sample config, systemd unit
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (needs clang)
#   make valgrind   run the integration tests under valgrind --leak-check=full

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
BUILD   ?= build
VERSION := 0.1.0

PKGS     = libserialport libsmpp34 sqlite3 libconfig libevent libevent_pthreads jansson libcurl
# libcurl is loaded when first used (gateway/curl_lazy.c): its headers, not its library.
LINK_PKGS= $(filter-out libcurl,$(PKGS))
WARN     = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wsign-compare -Werror
CPPFLAGS = -I. -D_DEFAULT_SOURCE -D_GNU_SOURCE -DHOMING_VERSION='"$(VERSION)"'
# Evaluated lazily, after the deps stamp has made sure pkg-config can answer.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(LINK_PKGS)) -lm -pthread
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

OPT      = -O2 -g
SAN      = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined

# Every .c in a module folder belongs to the binary; main.c holds only main().
LIB_SRC  = $(sort $(filter-out gateway/main.c,$(wildcard gateway/*.c modem/*.c scheduler/*.c config/*.c)))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRC= $(sort $(wildcard tests/integration/test_*.c))
TOOLS    = $(notdir $(wildcard tools/*-sim))
BENCH_SRC= $(sort $(wildcard bench/*.c))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TST_OBJ  = $(LIB_SRC:%.c=$(BUILD)/test/obj/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/test/unit/%)
INTEG_BIN= $(INTEG_SRC:tests/integration/%.c=$(BUILD)/test/integration/%)
TOOL_BIN = $(TOOLS:%=$(BUILD)/%) $(TOOLS:%=$(BUILD)/test/%)
BENCH_BIN= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
DEPS_OK  = $(BUILD)/.deps-ok

.PHONY: all run test fuzz-build deps install uninstall fuzz valgrind bench clean docs
# Keep intermediate objects, so a second `make test` rebuilds nothing.
.SECONDARY:
all: $(BUILD)/homing $(TOOLS:%=$(BUILD)/%)

$(DEPS_OK):
	@tools/deps
	@mkdir -p $(@D) && touch $@

deps:
	@tools/deps

# --- release tree -----------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(WARN) $(OPT) $(CPPFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/homing: $(REL_OBJ) $(BUILD)/obj/gateway/main.o
	@echo "  LD      $@"
	@$(CC) $(OPT) -o $@ $^ $(PKG_LIBS)

# Simulators are independent programs: each tools/NAME-sim/ folder is one binary.
# They never link homing's own code (see tools/README.md).
define tool_rules
$(BUILD)/$(1): $(wildcard tools/$(1)/*.c tools/$(1)/*.h) | $(DEPS_OK)
	@mkdir -p $$(@D)
	$(CC) $(WARN) $(OPT) $(CPPFLAGS) $$(PKG_CFLAGS) -o $$@ $(wildcard tools/$(1)/*.c) $$(PKG_LIBS) -lutil
$(BUILD)/test/$(1): $(wildcard tools/$(1)/*.c tools/$(1)/*.h) | $(DEPS_OK)
	@mkdir -p $$(@D)
	$(CC) $(WARN) $(SAN) $(CPPFLAGS) $$(PKG_CFLAGS) -o $$@ $(wildcard tools/$(1)/*.c) $$(PKG_LIBS) -lutil
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

run: $(BUILD)/homing
	@mkdir -p var
	$(BUILD)/homing run -c config/homing.conf

# --- sanitized test tree ----------------------------------------------------
$(BUILD)/test/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC      $< (sanitized)"
	@$(CC) $(WARN) $(SAN) $(CPPFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/test/homing: $(TST_OBJ) $(BUILD)/test/obj/gateway/main.o
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

$(BUILD)/test/unit/%: $(BUILD)/test/obj/tests/unit/%.o $(BUILD)/test/obj/tests/testutil.o $(TST_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/test/integration/%: $(BUILD)/test/obj/tests/integration/%.o $(BUILD)/test/obj/tests/testutil.o $(BUILD)/test/obj/tests/harness.o $(TST_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) -lutil

# Fuzz targets need clang, which `make deps` installs; checked when the recipe
# runs (after the deps stamp), so a fresh machine's first `make test` has them.
test: $(BUILD)/homing $(TOOLS:%=$(BUILD)/%) $(BUILD)/test/homing $(UNIT_BIN) $(INTEG_BIN) $(TOOLS:%=$(BUILD)/test/%)
	@if command -v clang >/dev/null 2>&1; then $(MAKE) --no-print-directory fuzz-build; \
	 else echo "clang not found: fuzz smoke runs skipped (make deps installs it)"; fi
	@BUILD=$(BUILD) tests/run

fuzz-build: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

# --- fuzzing, benchmarks, leak checks --------------------------------------
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -std=c11 -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(CPPFLAGS)
FUZZ_OBJ   = $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
# The library is compiled once for every target (instrumented, without
# libFuzzer's main); each target links it with its own harness.
$(BUILD)/fuzz/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC      $< (fuzz)"
	@clang $(FUZZ_FLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@clang $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

fuzz: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
	@for f in $^; do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

$(BUILD)/bench/%: bench/%.c $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(OPT) $(CPPFLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)

bench: $(BENCH_BIN)
	@for b in $^; do echo "== $$b"; $$b; done

valgrind: $(BUILD)/homing $(TOOLS:%=$(BUILD)/%)
	@BUILD=$(BUILD) tests/valgrind

# docs/configuration.md carries the generated key table between two markers.
docs: $(BUILD)/homing
	@$(BUILD)/homing config reference > $(BUILD)/reference.md
	@awk -v ref=$(BUILD)/reference.md \
	  '/<!-- reference:begin -->/ { print; while ((getline l < ref) > 0) print l; skip = 1; next } \
	   /<!-- reference:end -->/ { skip = 0 } !skip { print }' \
	  docs/configuration.md > $(BUILD)/configuration.md
	@mv $(BUILD)/configuration.md docs/configuration.md
	@echo "docs/configuration.md: reference table regenerated"

# --- install ----------------------------------------------------------------
install: $(BUILD)/homing
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/homing \
	           $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/homing
	install -m 0755 $(BUILD)/homing $(DESTDIR)$(PREFIX)/bin/homing
	test -e $(DESTDIR)/etc/homing/homing.conf || \
	  sed 's|"var/homing.db"|"/var/lib/homing/homing.db"|' config/homing.conf \
	    > $(DESTDIR)/etc/homing/homing.conf
	sed 's|@BINDIR@|$(PREFIX)/bin|g' config/homing.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/homing.service
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/homing/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/homing $(DESTDIR)$(PREFIX)/lib/systemd/system/homing.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/homing

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
