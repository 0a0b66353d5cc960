# mlwb — the one build entry.  `make help` lists the targets.
#
#   make            build ./mlwb               make check     build and run every test tier
#   make run        open the workbench on iris make sanitize  the suite under ASan+UBSan
#   make deps       install missing packages   make tsan      the suite under ThreadSanitizer
#   make install    PREFIX=/usr/local DESTDIR= make clean
#   make check-deploy  lint samples/deploy/      make test-compose  run compose.yaml in podman
#   make fuzz       fuzz every parser (libFuzzer) make fuzz-ci   replay corpora, fuzz briefly
#   make valgrind   script tests under memcheck   (docs/reliability.md: what each proves)

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
BUILD   ?= build
BIN     ?= mlwb
export MLWB := $(abspath $(BIN))
WERROR  ?= -Werror

# Libraries, all found with pkg-config.  GSL's own pkg-config names the slow reference
# CBLAS (-lgslcblas); we link OpenBLAS instead.
PKGS     := ncursesw readline sqlite3 libmicrohttpd jansson openblas
PKG_CFLAGS := $(filter-out -D%,$(shell pkg-config --cflags $(PKGS) gsl 2>/dev/null))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lgsl -lm -lpthread

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef \
        -Wformat=2 -Wvla -Wold-style-definition -Wredundant-decls -Wnested-externs \
        -Wno-unused-parameter
CSTD   := -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE
OPT    ?= -O2 -g
CFLAGS ?=
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) $(WERROR) -Iinclude $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS ?=

VERSION := 0.1.0

LIB_SRC  := $(wildcard src/core/*.c src/store/*.c src/engine/*.c src/serve/*.c src/cli/*.c src/tui/*.c)
LIB_ASM  := src/core/samples_data.S
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_ASM:%.S=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SAMPLES  := $(wildcard samples/data/*.csv)

.PHONY: all check run bench deps sanitize tsan valgrind install uninstall clean help \
        check-deploy test-compose \
        check-unit check-scripts check-cli check-http check-tui
all: $(BIN)

$(BIN): $(MAIN_OBJ) $(BUILD)/libmlwb.a
	@echo "  LD      $@"
	@$(CC) $(OPT) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/libmlwb.a: $(LIB_OBJ)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -DMLWB_VERSION='"$(VERSION)"' -c -o $@ $<

# The bundled samples are assembled into the binary with .incbin.
$(BUILD)/src/core/samples_data.o: src/core/samples_data.S $(SAMPLES)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) -c -o $@ $<


$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmlwb.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmlwb.a $(LDFLAGS) $(PKG_LIBS) $(shell pkg-config --libs cmocka)

deps:
	@sh tests/tools/deps.sh

# Every tier, then the total on a line of its own.
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@rm -rf $(BUILD)/results && mkdir -p $(BUILD)/results
	@sh tests/tools/run-unit.sh $(BUILD) $(UNIT_BIN) || true
	@sh tests/tools/run-scripts.sh $(BUILD) || true
	@sh tests/tools/run-shell-tier.sh $(BUILD) cli || true
	@sh tests/tools/run-shell-tier.sh $(BUILD) http || true
	@sh tests/tools/run-shell-tier.sh $(BUILD) tui || true
	@sh tests/tools/summary.sh $(BUILD)

check-unit: all $(UNIT_BIN)
	@mkdir -p $(BUILD)/results && sh tests/tools/run-unit.sh $(BUILD) $(UNIT_BIN)
check-scripts: all
	@mkdir -p $(BUILD)/results && sh tests/tools/run-scripts.sh $(BUILD)
check-cli: all
	@mkdir -p $(BUILD)/results && sh tests/tools/run-shell-tier.sh $(BUILD) cli
check-http: all
	@mkdir -p $(BUILD)/results && sh tests/tools/run-shell-tier.sh $(BUILD) http
check-tui: all
	@mkdir -p $(BUILD)/results && sh tests/tools/run-shell-tier.sh $(BUILD) tui

# The whole suite with AddressSanitizer and UndefinedBehaviorSanitizer, in its own tree.
sanitize: deps
	@$(MAKE) --no-print-directory check BUILD=build-asan BIN=build-asan/mlwb \
	    OPT='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined' \
	    LDFLAGS='-fsanitize=address,undefined'

# The whole suite with ThreadSanitizer (the program is multi-threaded).
tsan: deps
	@$(MAKE) --no-print-directory check BUILD=build-tsan BIN=build-tsan/mlwb \
	    OPT='-O1 -g -fno-omit-frame-pointer -fsanitize=thread' LDFLAGS='-fsanitize=thread'

# The golden script tests with mlwb under valgrind memcheck (no errors, no definite leak).
valgrind: deps all
	@mkdir -p $(BUILD)/results && sh tests/tools/run-valgrind.sh $(BUILD)

# Benchmarks side by side with the peers (installs its own tools); see docs/BENCHMARKS.md.
bench: deps all
	@sh tests/bench/run.sh

run: deps all
	./mlwb --db mlwb.db -f samples/scripts/demo.mlwb --tui

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 mlwb $(DESTDIR)$(PREFIX)/bin/mlwb
	install -m 644 docs/mlwb.1 $(DESTDIR)$(PREFIX)/share/man/man1/mlwb.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mlwb $(DESTDIR)$(PREFIX)/share/man/man1/mlwb.1

clean:
	rm -rf build build-asan build-tsan build-fuzz mlwb

help:
	@sed -n '1,9p' Makefile

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d)

# The sample deployments (samples/deploy/, docs/deploy.md); slow, so not part of `make check`.
# check-deploy lints and validates them with the tools it installs (outside the repo);
# test-compose builds the image and runs compose.yaml with podman (as root).
check-deploy:
	@bash tests/deploy/check.sh

test-compose:
	@bash tests/deploy/compose.sh

# libFuzzer targets for the parsers (tests/fuzz/, docs/reliability.md); optional, so a
# tree without tests/ (the container build copies only what it needs) still builds.
-include tests/fuzz/fuzz.mk
