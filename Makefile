# The README's commands. `make run` and `make test` set up everything they
# need on a fresh Debian machine (scripts/bootstrap installs the packages).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CTEST_JOBS ?= $(JOBS)
DATA_DIR ?= ./data
FUZZ_SECONDS ?= 15
CXX_SOURCES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)
# ccache keys relative to the checkout, so a fresh clone in another folder
# (CI's) compiles from the cache that earlier builds filled.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1
export CCACHE_MAXSIZE ?= 20G


.PHONY: all bootstrap node-deps build release run test test-unit test-asan test-tsan test-sanitizers test-packaging \
        lint docs-check format bench bench-storage bench-broker bench-bindings fuzz sim-long chaos clean

all: build

bootstrap:
	@scripts/bootstrap

# node-addon-api and TypeScript for the Node.js addon and its tests (the
# package's own install script, which builds with cmake-js, is skipped here:
# the one CMake build below builds the addon).
node-deps:
	npm install --ignore-scripts --no-audit --no-fund --loglevel=error

build: bootstrap node-deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

release: bootstrap node-deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# One node on local defaults (client port 7400, HTTP 7480) with RocksDB
# storage in $(DATA_DIR); stop it with Ctrl-C.
run: release
	build/release/server/sprawl-server --data-dir $(DATA_DIR) $(SERVER_ARGS)

# Every test suite: formatting, the C++, C and Python tests (debug; ASan+UBSan
# and TSan for the native ones), the packaging test (pip install . into a
# fresh virtual environment) and a bounded fuzzing pass over every decoder.
# Each stage is timed and the times are printed at the end (scripts/run_stages.sh);
# the budgets, in seconds on a 2-core machine with ccache warm, keep the whole
# run under 25 minutes: a stage over its budget is flagged in the table.
TEST_STAGES = lint test-unit test-asan test-tsan test-packaging fuzz
export STAGE_BUDGETS ?= lint=60 test-unit=420 test-asan=300 test-tsan=300 test-packaging=240 fuzz=150

test: bootstrap
	@scripts/run_stages.sh $(TEST_STAGES)

test-unit: build
	ctest --preset dev -j $(CTEST_JOBS)

test-asan: bootstrap
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --preset asan -j $(CTEST_JOBS)

test-tsan: bootstrap
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(CTEST_JOBS)

test-sanitizers: test-asan test-tsan

test-packaging: bootstrap
	scripts/test_packaging.sh

# The nemesis against replicated partitions (tests/integration/chaos.py):
# three real nodes, publishers with acks=all, a leader SIGKILLed and
# restarted, SIGSTOPped and resumed, or cut off from its peers and healed
# each cycle; prints the failover times per fault kind and the checker's
# tally, and fails on any lost, duplicated or reordered acknowledged write.
# CHAOS_CYCLES sets the number of cycles, CHAOS_NODES the nodes (3 or 5).
CHAOS_CYCLES ?= 100
CHAOS_NODES ?= 3
chaos: build
	SPRAWL_SERVER_BIN=build/dev/server/sprawl-server SPRAWLCTL_BIN=build/dev/server/sprawlctl \
	  SPRAWL_PYTHON_PATH=build/dev/python PYTHONDONTWRITEBYTECODE=1 \
	  python3 tests/integration/chaos.py --cycles $(CHAOS_CYCLES) --nodes $(CHAOS_NODES)

# The Raft simulator over 100,000 seeds (50,000 per group size) in the
# release build; a failing seed prints the command that reruns it.
sim-long: bootstrap
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target raft_sim_tests
	SPRAWL_RAFT_SIM_RUNS=50000 build/release/tests/raft_sim_tests

# clang-format on every file; clang-tidy (.clang-tidy) on the C++ files this
# checkout changed since the main line (scripts/lint_tidy.sh), with the dev
# build's compilation database and generated protobuf headers.
lint: bootstrap node-deps
	@echo "clang-format check of $(words $(CXX_SOURCES)) files"
	@clang-format --dry-run --Werror $(CXX_SOURCES)
	@cmake --preset dev >/dev/null
	@cmake --build build/dev --target sprawl_protocol >/dev/null
	@scripts/lint_tidy.sh
	@scripts/check_docs.py --links-only

# The documentation check with the dev build's programs: links, every `sh`
# block of README.md and docs/ run in a scratch directory, every flag of
# sprawl-server, sprawlctl and sprawl-log documented (scripts/check_docs.py).
# `make test` runs it as the ctest docs.check inside test-unit.
docs-check: bootstrap
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS) --target sprawl-server sprawlctl sprawl-log
	scripts/check_docs.py --bin-dir build/dev/server -v

format:
	clang-format -i $(CXX_SOURCES)

bench: bench-storage bench-broker bench-bindings

bench-storage: release
	build/release/bench/storage_bench $(BENCH_ARGS)

# sprawlctl bench against a fresh release server (bench/broker_bench.sh).
bench-broker: release
	bench/broker_bench.sh $(BROKER_BENCH_ARGS)

# The C++ client and the Python, Node.js and Java bindings on one release
# server (bench/bindings_bench.sh).
bench-bindings: release
	bench/bindings_bench.sh

fuzz: bootstrap
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) fuzz/run_fuzzers.sh

clean:
	rm -rf build
