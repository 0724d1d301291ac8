# trail - the two commands of README.md, and the rest of the developer loop.
#
#   make run     install what is missing, build, start traild with a demo
#   make test    install what is missing, build, run every test, then again
#                under AddressSanitizer and UndefinedBehaviorSanitizer, then
#                the daemon's integration tests under ThreadSanitizer
#   make build   just build (build/)
#   make install install libtrail, trail.h, trail.pc, the binaries, man pages
#   make deb     build the Debian packages trail, libtrail0 and libtrail-dev
#                into build-deb/ (dpkg-buildpackage, checked by lintian)
#   make bench   run the benchmarks at a size that finishes in minutes
#   make fuzz    run every fuzz target for FUZZ_SECONDS (default 60) each
#   make format  format the C sources with .clang-format
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# the daemon's integration tests that run again under ThreadSanitizer (about 50 s; query_export:
# an export's rows are made on threads of their own)
TSAN_TESTS ?= integration/(daemon|security)_|integration/sink_(file|webhook|restart|syslog)$$|integration/query_export$$
FUZZ_BUILD ?= build-fuzz
DEB_BUILD ?= build-deb
FUZZ_SECONDS ?= 60
PREFIX ?= /usr/local

.PHONY: all deps test-deps deb build asan-build tsan-build run test unit-test asan-test tsan-test install bench fuzz format docs clean

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan-build: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRAIL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

tsan-build: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRAIL_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target traild trail_cli trail_static

run: build
	@scripts/run-demo.sh

unit-test: test-deps build
	scripts/ctest.sh $(BUILD) --output-on-failure -j $(JOBS)

# DEDUP_ROUNDS: the kill -9 rounds of daemon_dedup, 50 in the normal pass, 10 under the sanitizers;
# ORACLE_QUERIES: test_query_oracle's random queries, 300 in the normal pass, 100 under ASan;
# BACKEND_QUERIES: query_backends' random queries over store, traild and ClickHouse, 15, 5 under ASan;
# QUIET_SEEDS_300K, QUIET_SEEDS_1M: loadgen_quiet's seeds at 300,000 and 1,000,000 events,
# 1 2 3 and 1 2 in the normal pass, 1 and none under ASan; BACKTEST_EVENTS: rules_backtest's
# events, 100,000, 30,000 under ASan
asan-test: test-deps asan-build
	DEDUP_ROUNDS=10 ORACLE_QUERIES=100 BACKEND_QUERIES=5 QUIET_SEEDS_300K=1 QUIET_SEEDS_1M= \
	  BACKTEST_EVENTS=30000 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 scripts/ctest.sh $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# A race stops traild (halt_on_error) and leaves a report in $(TSAN_BUILD)/tsan-report.*:
# either fails the pass.
tsan-test: test-deps tsan-build
	rm -f $(TSAN_BUILD)/tsan-report.*
	DEDUP_ROUNDS=10 TSAN_OPTIONS=halt_on_error=1:exitcode=66:log_path=$(CURDIR)/$(TSAN_BUILD)/tsan-report \
	  scripts/ctest.sh $(TSAN_BUILD) --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'
	@if ls $(TSAN_BUILD)/tsan-report.* >/dev/null 2>&1; then \
	  echo "ThreadSanitizer reports:"; cat $(TSAN_BUILD)/tsan-report.*; exit 1; fi

test: unit-test asan-test tsan-test

install: build
	cmake --install $(BUILD)

deb:
	@scripts/install-deps.sh deb
	scripts/build-deb.sh $(DEB_BUILD)

bench: build
	@scripts/install-deps.sh bench
	bench/run-all.sh

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRAIL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for f in $(FUZZ_BUILD)/tests/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p tests/fuzz/corpus/$$name; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 tests/fuzz/corpus/$$name || exit 1; \
	done

docs: build
	cmake --build $(BUILD) --target catalog-docs

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
