# Makefile: the short commands developers and CI type. It is a thin layer over
# CMakePresets.json, which holds every configure/build/test setting, so
# `make test` and `cmake --preset default && ctest --preset default` do the same.
#
#   make deps       install the Debian packages needed to build and test
#   make build      configure + build preset `default` (build/)
#   make test       build, then run the tests
#   make demo       build, then run every example program
#   make sanitize   ASan + UBSan build and tests (build-asan/)
#   make tsan       ThreadSanitizer build and tests (build-tsan/)
#   make valgrind   the default build's tests under valgrind memcheck (build/)
#   make clang      clang++ build with warnings as errors, and its tests (build-clang/)
#   make format / format-check / clean
#   make bench-deps / bench / bench-instr   benchmarks (see the end of this file)
#
# Extra ctest arguments: make test ARGS='-R greenlet_switch'

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

JOBS ?= 2
ARGS ?=
CLANG_FORMAT ?= clang-format

# Debian packages needed to build, test, sanitize and valgrind green (gdb:
# the gdb_greenlets test of lib/gdb/green_gdb.py).
DEPS := cmake g++ make pkg-config libboost1.81-dev libboost-context1.81-dev \
        libboost-test1.81-dev valgrind gdb
# Debian packages needed only by the benchmarks (kept out of `deps` so that CI
# and users who only build the library do not install them).
BENCH_DEPS := libbenchmark-dev libboost-fiber1.81-dev python3-greenlet python3-gevent gnuplot-nox

# $(call require_debs,<label>,<packages>): install the missing packages as root,
# or print the exact command and fail otherwise. dpkg-query's Status-Status is
# "installed" only for fully installed packages (not removed/config-files).
define require_debs
@if ! command -v dpkg-query >/dev/null; then \
	  echo "$(1): no dpkg-query (not Debian?); make sure these are installed: $(2)"; exit 0; \
	fi; \
	missing=""; \
	for p in $(2); do \
	  if [ "$$(dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null)" != installed ]; then \
	    missing="$$missing $$p"; \
	  fi; \
	done; \
	if [ -z "$$missing" ]; then echo "$(1): all packages installed"; exit 0; fi; \
	echo "$(1): missing Debian packages:$$missing"; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	  exit 1; \
	fi; \
	apt-get update; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing
endef

.PHONY: help deps bench-deps build test demo sanitize tsan valgrind clean format format-check

# help: list the targets (the banner at the top of this file).
help:
	@sed -n '/^#   make/p' $(firstword $(MAKEFILE_LIST))

# deps: a clean Debian machine (or CI container) gets everything `test`,
# `demo`, `sanitize` and `valgrind` need, and nothing else.
deps:
	$(call require_debs,deps,$(DEPS))

# bench-deps: the extra packages for benchmarks and their plots/baselines.
bench-deps:
	$(call require_debs,bench-deps,$(BENCH_DEPS))

# build: the everyday RelWithDebInfo build with tests and examples (build/).
build: deps
	cmake --preset default
	cmake --build --preset default -j$(JOBS)

# test: the whole CTest suite of the default build; output on failure.
test: build
	ctest --preset default $(ARGS)

# demo: runs each example that examples/CMakeLists.txt lists (one executable
# path per line, absolute or relative to build/examples/). Programs named
# *_overflow demonstrate stack-overflow detection: they must die by SIGABRT
# (exit status 128+6); their stderr is shown. Core dumps are disabled.
DEMO_LIST := build/examples/demo_list.txt
demo: build
	@if [ ! -f $(DEMO_LIST) ]; then \
	  echo "demo: $(DEMO_LIST) is missing (examples/CMakeLists.txt writes it)"; exit 1; \
	fi; \
	ulimit -c 0; failed=""; \
	while IFS= read -r exe || [ -n "$$exe" ]; do \
	  [ -n "$$exe" ] || continue; \
	  case "$$exe" in /*) ;; *) exe="$(CURDIR)/build/examples/$$exe" ;; esac; \
	  name=$$(basename "$$exe"); \
	  echo "=== $$name ==="; \
	  case "$$name" in \
	    *_overflow) \
	      err=$$(mktemp); rc=0; \
	      { "$$exe" </dev/null 2>"$$err"; } 2>/dev/null || rc=$$?; \
	      cat "$$err" >&2; rm -f "$$err"; \
	      if [ "$$rc" -eq 134 ]; then echo "($$name aborted with SIGABRT, as expected)"; \
	      else echo "demo: $$name exited with status $$rc, expected SIGABRT (134)"; failed="$$failed $$name"; fi ;; \
	    *) \
	      rc=0; "$$exe" </dev/null || rc=$$?; \
	      if [ "$$rc" -ne 0 ]; then echo "demo: $$name exited with status $$rc"; failed="$$failed $$name"; fi ;; \
	  esac; \
	done < $(DEMO_LIST); \
	if [ -n "$$failed" ]; then echo "demo: FAILED:$$failed"; exit 1; fi; \
	echo "demo: all examples ran as expected"; \
	echo; echo "=== quick comparison (bench/quick; make bench for the real numbers) ==="; build/quick_compare/green_quick_compare

# sanitize: ASan + UBSan catch memory errors and UB that the optimised build
# hides. Debug with -O1 keeps stacks readable; ASAN_OPTIONS/UBSAN_OPTIONS are
# set by the `asan` test preset (leaks on, fake stacks off: they confuse
# stack switching).
sanitize: deps
	cmake --preset asan
	cmake --build --preset asan -j$(JOBS)
	ctest --preset asan $(ARGS)

# tsan: ThreadSanitizer over the whole suite, plus tests/*_tsan_test.cpp,
# which only this build compiles (TSan must see each greenlet as its own
# fiber: lib/backend/context.hpp). TSAN_OPTIONS is set by the `tsan` test
# preset (halt on the first report).
tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan -j$(JOBS)
	ctest --preset tsan $(ARGS)

# valgrind: memcheck over the default build's tests (build/: the same
# RelWithDebInfo binaries `make test` runs, so CI compiles them once), every
# test not labelled no_valgrind (the `valgrind` test preset filters them).
# valgrind's --error-exitcode turns any error or definite/indirect leak into a
# test failure, so the target fails; without it ctest only counts "defects"
# and still exits 0. The failing tests' valgrind logs are printed. An empty
# DartConfiguration.tcl silences ctest's warning that the project has no
# include(CTest); the --overwrite options replace it.
VALGRIND ?= valgrind
VALGRIND_OPTS := --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
  --track-origins=no --suppressions=$(CURDIR)/tests/valgrind.supp
VALGRIND_LOGS := build/Testing/Temporary
valgrind: build
	@touch -a build/DartConfiguration.tcl
	@rm -f $(VALGRIND_LOGS)/MemoryChecker.*.log
	@ctest --preset valgrind --test-dir build -T memcheck \
	  --overwrite MemoryCheckCommand=$$(command -v $(VALGRIND)) \
	  --overwrite "MemoryCheckCommandOptions=$(VALGRIND_OPTS)" $(ARGS) || { \
	  for log in $$(grep -L 'ERROR SUMMARY: 0 errors' $(VALGRIND_LOGS)/MemoryChecker.*.log 2>/dev/null); do \
	    echo "----- $$log"; cat "$$log"; \
	  done; \
	  echo "valgrind: FAILED (logs above, and in $(VALGRIND_LOGS)/)"; exit 1; }

# clean: every preset's build directory.
clean:
	rm -rf build build-asan build-tsan build-bench build-clang

# format / format-check: .clang-format over all C++ sources; CI-style check
# without modifying files.
FORMAT_DIRS := $(wildcard include lib adapters tests bench examples)
FORMAT_FILES = $(shell find $(FORMAT_DIRS) -type f \( -name '*.hpp' -o -name '*.cpp' \) 2>/dev/null)
format:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format: $(CLANG_FORMAT) not found (apt-get install clang-format)"; exit 1; }
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format-check: $(CLANG_FORMAT) not found (apt-get install clang-format)"; exit 1; }
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

# clang: the tree must build warning-free under clang as well as g++
# (-Wall -Wextra -Werror; the asan preset holds g++ to the same), and the
# tests must pass with clang's code generation too (build-clang/).
.PHONY: clang
clang: deps
	$(call require_debs,clang,clang)
	cmake --preset clang
	cmake --build --preset clang -j$(JOBS)
	ctest --preset clang $(ARGS)

# ---------------------------------------------------------------------------
# Benchmarks: owned by the benchmark engineer. Preset `bench` (build-bench/,
# Release, GREEN_BUILD_BENCHMARKS=ON) is ready in CMakePresets.json.
# ---------------------------------------------------------------------------
.PHONY: bench bench-instr bench-smoke bench-check bench-publish

# bench: the real numbers. Builds preset `bench` (Release, build-bench/), runs
# every row with repetitions, randomly interleaved, pinned to one core
# (taskset), each memory_parked row in its own process, then the Python
# baseline (bench/python/, skipped with a note without python3-greenlet).
# Writes Google Benchmark JSON, report.md (medians, ratio columns, targets)
# and gnuplot PNGs to build/bench/, and prints bench/check without failing on
# it (`make bench-check` fails on a missed target). About 20 minutes.
# Shorter: make bench BENCH_QUICK=1; some rows: make bench BENCH_FILTER=regex.
bench: bench-deps
	BENCH_QUICK=$(or $(BENCH_QUICK),0) BENCH_FILTER='$(BENCH_FILTER)' bench/run.sh
	@echo; bench/check build/bench || echo "bench: targets missed (see above); the report is build/bench/report.md"

# bench-instr: callgrind instructions per operation for the key rows
# (build/bench/instr.json, instr.md; the report's instr/op column). Does not
# depend on the machine's load. About a minute.
bench-instr: bench-deps
	bench/instr.sh

# bench-smoke: what CI runs: build preset `bench`, then every benchmark row
# once with a tiny minimum time (CTest label `bench`).
bench-smoke: bench-deps
	cmake --preset bench
	cmake --build --preset bench -j$(JOBS)
	ctest --test-dir build-bench/bench -L bench -j$(JOBS) --output-on-failure

# bench-check: judge the last run's targets; fails if one is missed.
bench-check:
	bench/check build/bench

# bench-publish: copy the last report and plots to docs/bench/ (committed; the
# README embeds them).
bench-publish:
	@test -f build/bench/report.md || { echo "bench-publish: run make bench first"; exit 1; }
	mkdir -p docs/bench
	cp build/bench/report.md build/bench/*.png docs/bench/
	@echo "bench-publish: docs/bench/ updated; review docs/bench/README-section.md by hand"
