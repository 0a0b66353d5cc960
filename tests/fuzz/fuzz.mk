# tests/fuzz/fuzz.mk — libFuzzer targets for the parsers (included by the top Makefile).
#
#   make fuzz        build every target, fuzz each for FUZZ_TIME seconds (default 60), one
#                    after the other; figures to build-fuzz/fuzz-summary.txt
#   make fuzz-ci     replay every corpus file once, then fuzz each target FUZZ_TIME seconds
#                    (default 10); "ok/not ok fuzz.TARGET.replay|fuzz" lines, "N passed,
#                    M failed", non-zero exit on a failure
#   make fuzz-build  just the binaries;   make fuzz-seeds  regenerate the model blob seeds
#   make fuzz-clean
#
# Everything goes under build-fuzz/: the library compiled again with
# -fsanitize=fuzzer-no-link,address,undefined (its own object tree, incremental with
# -MMD), the targets, new inputs (build-fuzz/corpus-new/TARGET: the repo corpus in
# tests/fuzz/corpus/TARGET is only read, never written) and crash artifacts
# (build-fuzz/artifacts/TARGET/).  A crash found becomes a regression input: copy it to
# tests/fuzz/corpus/TARGET/crash-TARGET-what.
#
# Compiler: clang (libFuzzer ships with it; Debian clang 14 here).  The project's whole
# warning list applies with -Werror; clang 14 needs nothing dropped.  UBSan does not
# recover: undefined behaviour is a crash.  Needs the top Makefile's WARN, CSTD,
# PKG_CFLAGS, PKG_LIBS, VERSION, LIB_SRC, LIB_ASM and SAMPLES.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_TIME    ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(CSTD) -g -O1 $(WARN) -Werror -Iinclude \
                -Isrc/serve -Isrc/cli $(PKG_CFLAGS) $(FUZZ_SAN) -MMD -MP
FUZZ_TARGETS := csv lex predict feedback infer query model
FUZZ_DIR     := tests/fuzz
FUZZ_LIBOBJ  := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o) $(LIB_ASM:%.S=$(FUZZ_BUILD)/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# libFuzzer's limits: memory, a slow input, and the input size per target.
FUZZ_OPTS    := -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
FUZZ_MAXLEN_csv      := 65536
FUZZ_MAXLEN_predict  := 65536
FUZZ_MAXLEN_feedback := 65536
FUZZ_MAXLEN_infer    := 65536
FUZZ_MAXLEN_model    := 65536
FUZZ_MAXLEN_lex      := 4096
FUZZ_MAXLEN_query    := 4096
# The runs' environment, set on their command lines only (never exported to the rest of
# the build: `make sanitize` keeps its own ASan settings).
# - Leaks in the parsers are bugs: LeakSanitizer stays on.  A failed allocation returns
#   NULL (the code must handle it) rather than aborting.
# - One OpenBLAS thread: the targets are single-threaded and libFuzzer measures exec/s.
# - FUZZ_EXTRA_<target>: per-target libFuzzer options.  A model blob of at most 64 KiB
#   must never make its reader allocate more than 64 MB.
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            OPENBLAS_NUM_THREADS=1 FUZZ_EXTRA_model=-malloc_limit_mb=64

.PHONY: fuzz fuzz-ci fuzz-build fuzz-seeds fuzz-clean fuzz-deps

# clang and its libFuzzer runtime, installed when missing (as root)
fuzz-deps:
	@sh tests/tools/deps.sh fuzz

fuzz-build: $(FUZZ_BINS)

.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%.o)

$(FUZZ_BUILD)/libmlwb.a: $(FUZZ_LIBOBJ)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DMLWB_VERSION='"$(VERSION)"' \
	    -c -o $@ $<

$(FUZZ_BUILD)/src/core/samples_data.o: src/core/samples_data.S $(SAMPLES)
	@mkdir -p $(dir $@)
	@echo "  AS      $< (fuzz)"
	@$(FUZZ_CC) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%.o: $(FUZZ_DIR)/fuzz_%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz_%.o $(FUZZ_BUILD)/libmlwb.a
	@echo "  LD      $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# The seed generator: fits models on the bundled samples and writes their blobs.
$(FUZZ_BUILD)/gen_models: $(FUZZ_DIR)/gen_models.c $(FUZZ_BUILD)/libmlwb.a
	@echo "  CC      $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_BUILD)/libmlwb.a $(PKG_LIBS)

fuzz-seeds: $(FUZZ_BUILD)/gen_models
	@$(FUZZ_ENV) $(FUZZ_BUILD)/gen_models $(FUZZ_DIR)/corpus/model

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@$(FUZZ_ENV) sh $(FUZZ_DIR)/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_TIME) "$(FUZZ_OPTS)" $(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t)))

fuzz-ci: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@$(FUZZ_ENV) sh $(FUZZ_DIR)/run.sh ci $(FUZZ_BUILD) \
	    $(if $(filter command line environment,$(origin FUZZ_TIME)),$(FUZZ_TIME),10) "$(FUZZ_OPTS)" $(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t)))

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(FUZZ_LIBOBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%.d)
