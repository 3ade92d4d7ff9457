#!/usr/bin/env bash
# bench/run.sh: build green_bench in Release and take the numbers (make bench).
#
#   bench/run.sh [extra green_bench flags]   full run (several minutes)
#   BENCH_QUICK=1 bench/run.sh               short demo run
#   bench/run.sh --memory-check              each memory_parked row in a fresh
#                                            process, to compare with the
#                                            in-process figures
#
# Writes, under build/bench/ in the source tree:
#   green_bench.json         timed rows: medians of BENCH_REPETITIONS randomly
#                            interleaved repetitions (aggregates only)
#   green_bench_memory.json  memory_parked rows (RSS does not vary between
#                            repetitions, so they get BENCH_MEMORY_REPETITIONS)
#   python.json              bench/python/bench_greenlet.py (Python greenlet
#                            and generators)
#   summary.md               all of it as one table (bench/python/summarize.py)
#
# Environment:
#   BENCH_QUICK=1                min_time 0.05 s, 3 repetitions (1 for memory),
#                                python --quick
#   BENCH_REPETITIONS=9          repetitions of the timed rows
#   BENCH_MIN_TIME=0.1           seconds per repetition (a plain number: Google
#                                Benchmark 1.7.1)
#   BENCH_MEMORY_REPETITIONS=3
#   BENCH_FILTER=regex           one run of just these rows (memory included
#                                if matched); no separate memory run
#   BENCH_BUILD_DIR=build-bench  BENCH_OUT_DIR=build/bench
#   BENCH_SOURCE_DIR=<repo>      CMake source dir (the top-level project)
#   BENCH_PYTHON=/usr/bin/python3  an interpreter with python3-greenlet
#   BENCH_SKIP_PYTHON=1          skip the Python rows
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_dir="${BENCH_SOURCE_DIR:-$root}"
build_dir="${BENCH_BUILD_DIR:-$root/build-bench}"
out_dir="${BENCH_OUT_DIR:-$root/build/bench}"
reps="${BENCH_REPETITIONS:-9}"
min_time="${BENCH_MIN_TIME:-0.1}"
mem_reps="${BENCH_MEMORY_REPETITIONS:-3}"
python="${BENCH_PYTHON:-/usr/bin/python3}"
py_args=()
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  reps=3
  min_time=0.05
  mem_reps=1
  py_args=(--quick)
fi

# No install rules: a benchmark build is never installed.
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DGREEN_BUILD_BENCHMARKS=ON -DGREEN_BUILD_TESTS=OFF -DGREEN_BUILD_EXAMPLES=OFF \
  -DGREEN_INSTALL=OFF
cmake --build "$build_dir" --target green_bench -j2
bench="$(find "$build_dir" -type f -name green_bench -perm -u+x | head -n 1)"
[[ -x "$bench" ]] || { echo "run.sh: green_bench was not built" >&2; exit 1; }

# Pin to one core when there are two or more (the machine is shared; pinning
# keeps the benchmark from migrating mid-run).
pin=()
if command -v taskset >/dev/null 2>&1 && [[ "$(nproc)" -ge 2 ]]; then
  pin=(taskset -c 1)
fi

mkdir -p "$out_dir"

if [[ "${1:-}" == --memory-check ]]; then
  # One process per row: the reference for the in-process measurement.
  "$bench" --benchmark_list_tests --benchmark_filter='^memory_parked/' | while read -r row; do
    "${pin[@]}" "$bench" --benchmark_filter="^${row}\$" --benchmark_min_time=0.001 \
      --benchmark_format=json 2>/dev/null |
      "$python" -c 'import json, sys
r = json.load(sys.stdin)["benchmarks"][0]
print("%-45s fresh process: rss_per_unit_kib=%.3f" % (r["name"], r["rss_per_unit_kib"]))'
  done
  exit 0
fi

common=(--benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
        --benchmark_format=json "--benchmark_min_time=$min_time")

if [[ -n "${BENCH_FILTER:-}" ]]; then
  "${pin[@]}" "$bench" "${common[@]}" "--benchmark_repetitions=$reps" \
    "--benchmark_filter=$BENCH_FILTER" "--benchmark_out=$out_dir/green_bench.json" "$@" >/dev/null
  rm -f "$out_dir/green_bench_memory.json"
else
  "${pin[@]}" "$bench" "${common[@]}" "--benchmark_repetitions=$reps" \
    "--benchmark_filter=-^memory_parked/" "--benchmark_out=$out_dir/green_bench.json" "$@" >/dev/null
  "${pin[@]}" "$bench" "${common[@]}" "--benchmark_repetitions=$mem_reps" \
    "--benchmark_filter=^memory_parked/" "--benchmark_out=$out_dir/green_bench_memory.json" \
    "$@" >/dev/null
fi
echo "run.sh: wrote $out_dir/green_bench.json" >&2

results=("$out_dir/green_bench.json")
[[ -f "$out_dir/green_bench_memory.json" ]] && results+=("$out_dir/green_bench_memory.json")
if [[ "${BENCH_SKIP_PYTHON:-0}" != 1 ]]; then
  if [[ -x "$python" ]]; then
    "${pin[@]}" "$python" "$root/bench/python/bench_greenlet.py" "${py_args[@]}" >"$out_dir/python.json"
  else
    printf '{"context": {"skipped": true, "reason": "%s not found"}, "benchmarks": []}\n' \
      "$python" >"$out_dir/python.json"
  fi
  results+=("$out_dir/python.json")
fi

summarizer="$python"
[[ -x "$summarizer" ]] || summarizer=python3
"$summarizer" "$root/bench/python/summarize.py" "${results[@]}" | tee "$out_dir/summary.md"
