# trail - the two commands of README.md, and the rest of the developer loop.
#
#   make run     install what is missing, build, start traild with a demo
#   make test    install what is missing, build, run every test, then again
#                under AddressSanitizer and UndefinedBehaviorSanitizer
#   make build   just build (build/)
#   make install install libtrail, trail.h, trail.pc, the binaries, man pages
#   make bench   run the benchmarks at a size that finishes in minutes
#   make fuzz    run every fuzz target for FUZZ_SECONDS (default 60) each
#   make format  format the C sources with .clang-format
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PREFIX ?= /usr/local

.PHONY: all deps test-deps build asan-build run test unit-test asan-test install bench fuzz format docs clean

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

run: build
	@scripts/run-demo.sh

unit-test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-test: test-deps asan-build
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

test: unit-test asan-test

install: build
	cmake --install $(BUILD)

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
