#!/usr/bin/env bash
# bench/run.sh: build green_bench in Release and take the numbers (make bench).
#
#   bench/run.sh [extra green_bench flags]   full run (about 15-25 minutes)
#   BENCH_QUICK=1 bench/run.sh               short run (a minute or two)
#   bench/run.sh --memory-check              each memory_parked row once, in a
#                                            fresh process, printed
#
# Method: one process runs every timed row, BENCH_REPETITIONS times each, the
# repetitions of all rows randomly interleaved, pinned to one core (taskset,
# when there are two or more); the tables use medians of CPU time. Each
# repetition of a memory_parked row runs in a fresh process: green's
# guard-page budget is per process (once spent it stays spent), so a pass
# must not inherit what an earlier one mapped.
#
# Writes, under build/bench/ in the source tree:
#   green_bench.json         timed rows: Google Benchmark JSON, aggregates
#                            (mean, median, stddev, cv) of the repetitions
#   green_bench_memory.json  memory_parked rows (Google Benchmark JSON: the
#                            runs of the per-repetition processes, merged,
#                            and a median aggregate per row)
#   python.json              bench/python/bench_greenlet.py (Python greenlet
#                            and generators), or a "skipped" note
#   run_info.json            machine, load average before and after, settings
#   summary.md               every row as one matrix (bench/python/summarize.py)
#   report.md, *.png         the report with ratio columns, the bench/check
#                            targets and the gnuplot plots (bench/report.py)
#   instr.json               only from bench/instr.sh (make bench-instr); the
#                            report shows it when present
#
# Environment:
#   BENCH_QUICK=1                min_time 0.05 s, 3 repetitions (1 for memory),
#                                python --quick
#   BENCH_REPETITIONS=9          repetitions of the timed rows
#   BENCH_MIN_TIME=0.1           seconds per repetition (a plain number: Google
#                                Benchmark 1.7.1)
#   BENCH_MEMORY_REPETITIONS=3   fresh processes per memory_parked row
#   BENCH_FILTER=regex           only the rows matching (timed and memory);
#                                CI passes `bench/check --rows-regex`
#   BENCH_BUILD_DIR=build-bench  BENCH_OUT_DIR=build/bench
#   BENCH_SOURCE_DIR=<repo>      CMake source dir (the top-level project)
#   BENCH_PYTHON=/usr/bin/python3  an interpreter with python3-greenlet
#   BENCH_SKIP_PYTHON=1          skip the Python rows
#   BENCH_NO_BUILD=1             use the existing build as is
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_dir="${BENCH_SOURCE_DIR:-$root}"
build_dir="${BENCH_BUILD_DIR:-$root/build-bench}"
out_dir="${BENCH_OUT_DIR:-$root/build/bench}"
reps="${BENCH_REPETITIONS:-9}"
min_time="${BENCH_MIN_TIME:-0.1}"
mem_reps="${BENCH_MEMORY_REPETITIONS:-3}"
python="${BENCH_PYTHON:-/usr/bin/python3}"
tools_python="$python"
[[ -x "$tools_python" ]] || tools_python=python3
py_args=()
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  reps=3
  min_time=0.05
  mem_reps=1
  py_args=(--quick)
fi

# Build. The default directories use CMake preset `bench` (Release, the same
# settings as CI); another source or build directory gets the same cache
# values by hand.
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  if [[ "$source_dir" == "$root" && "$build_dir" == "$root/build-bench" ]]; then
    (cd "$root" && cmake --preset bench >/dev/null)
  else
    cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
      -DGREEN_BUILD_BENCHMARKS=ON -DGREEN_BUILD_TESTS=OFF -DGREEN_BUILD_EXAMPLES=OFF >/dev/null
  fi
  # green_instr too, so that a later `make bench-instr` counts the same code.
  cmake --build "$build_dir" --target green_bench green_instr -j2
fi
bench="$build_dir/bench/green_bench"
[[ -x "$bench" ]] || bench="$(find "$build_dir" -type f -name green_bench -perm -u+x | head -n 1)"
[[ -x "$bench" ]] || { echo "run.sh: green_bench was not built" >&2; exit 1; }

# Pin to one core when there are two or more (the machine is shared; pinning
# keeps the benchmark from migrating mid-run). The last core: CPU 0 takes
# most interrupts.
pin=()
pinned="no"
if command -v taskset >/dev/null 2>&1 && [[ "$(nproc)" -ge 2 ]]; then
  cpu=$(($(nproc) - 1))
  pin=(taskset -c "$cpu")
  pinned="taskset -c $cpu"
fi

mkdir -p "$out_dir"

if [[ "${1:-}" == --memory-check ]]; then
  "$bench" --benchmark_list_tests --benchmark_filter='^memory_parked/' | while read -r row; do
    "${pin[@]}" "$bench" --benchmark_filter="^${row}\$" --benchmark_min_time=0.001 \
      --benchmark_format=json 2>/dev/null |
      "$tools_python" -c 'import json, sys
r = json.load(sys.stdin)["benchmarks"][0]
print("%-45s fresh process: rss_per_unit_kib=%.3f unguarded_stacks=%s" % (r["name"],
      r["rss_per_unit_kib"], r.get("unguarded_stacks", "-")))'
  done
  exit 0
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_before="$(loadavg)"
started="$(date -Iseconds)"

# The rows to run: every row, or those BENCH_FILTER matches; memory rows apart.
all_rows="$("$bench" --benchmark_list_tests --benchmark_filter="${BENCH_FILTER:-.}")"
timed_rows="$(grep -v '^memory_parked/' <<<"$all_rows" || true)"
memory_rows="$(grep '^memory_parked/' <<<"$all_rows" || true)"
as_regex() { printf '^(%s)$' "$(paste -sd'|' -)"; }

common=(--benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
        --benchmark_format=json "--benchmark_min_time=$min_time")

rm -f "$out_dir/green_bench.json" "$out_dir/green_bench_memory.json"
if [[ -n "$timed_rows" ]]; then
  echo "run.sh: $(wc -l <<<"$timed_rows") timed rows x $reps repetitions (min_time $min_time s), $pinned" >&2
  "${pin[@]}" "$bench" "${common[@]}" "--benchmark_repetitions=$reps" \
    "--benchmark_filter=$(as_regex <<<"$timed_rows")" \
    "--benchmark_out=$out_dir/green_bench.json" "$@" >/dev/null
  echo "run.sh: wrote $out_dir/green_bench.json" >&2
fi

if [[ -n "$memory_rows" ]]; then
  echo "run.sh: $(wc -l <<<"$memory_rows") memory rows x $mem_reps fresh processes" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  i=0
  while read -r row; do
    for ((r = 0; r < mem_reps; r++)); do
      i=$((i + 1))
      part="$tmp/$(printf %04d $i)"
      # green warns once on stderr when its guard-page budget is spent (the
      # n:100000 rows); the count is in the unguarded_stacks counter.
      "${pin[@]}" "$bench" --benchmark_format=json "--benchmark_min_time=$min_time" \
        "--benchmark_filter=^${row}\$" "--benchmark_out=$part.json" "$@" \
        >/dev/null 2>"$part.err" || { cat "$part.err" >&2; exit 1; }
    done
  done <<<"$memory_rows"
  # One file in Google Benchmark's format: every process's run, plus a median
  # aggregate per row as the timed rows have.
  "$tools_python" - "$out_dir/green_bench_memory.json" "$tmp"/*.json <<'EOF'
import json, statistics, sys
out, parts = sys.argv[1], sys.argv[2:]
docs = [json.load(open(p)) for p in parts]
runs = {}
for d in docs:
    for b in d["benchmarks"]:
        runs.setdefault(b["run_name"], []).append(b)
benchmarks = []
for name, rs in runs.items():
    for k, r in enumerate(rs):
        r["repetition_index"], r["repetitions"] = k, len(rs)
        benchmarks.append(r)
    ok = [r for r in rs if not r.get("error_occurred")]
    if not ok:
        continue
    med = dict(ok[0], name=name + "_median", run_type="aggregate", aggregate_name="median",
               repetitions=len(rs))
    med.pop("repetition_index", None)
    for key in ("real_time", "cpu_time", "rss_per_unit_kib", "unguarded_stacks", "iterations"):
        if key in ok[0]:
            med[key] = statistics.median(r[key] for r in ok)
    benchmarks.append(med)
ctx = dict(docs[0]["context"])
ctx["green.memory_rows"] = "each repetition in a fresh process; median aggregate added"
json.dump({"context": ctx, "benchmarks": benchmarks}, open(out, "w"), indent=1)
EOF
  echo "run.sh: wrote $out_dir/green_bench_memory.json" >&2
fi

results=()
[[ -f "$out_dir/green_bench.json" ]] && results+=("$out_dir/green_bench.json")
[[ -f "$out_dir/green_bench_memory.json" ]] && results+=("$out_dir/green_bench_memory.json")
rm -f "$out_dir/python.json"
if [[ "${BENCH_SKIP_PYTHON:-0}" != 1 ]]; then
  if [[ -x "$python" ]]; then
    echo "run.sh: Python baseline ($python)" >&2
    "${pin[@]}" "$python" "$root/bench/python/bench_greenlet.py" "${py_args[@]}" >"$out_dir/python.json"
  else
    printf '{"context": {"skipped": true, "reason": "%s not found"}, "benchmarks": []}\n' \
      "$python" >"$out_dir/python.json"
  fi
  results+=("$out_dir/python.json")
fi

load_after="$(loadavg)"
source_state="not a git checkout"
if head="$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null)"; then
  source_state="commit $head"
  if [[ -n "$(git -C "$source_dir" status --porcelain -- . ':!build*' ':!docs' 2>/dev/null)" ]]; then
    source_state+=" plus uncommitted changes"
  fi
fi
built="$(date -Iseconds -r "$bench")"
"$tools_python" - "$out_dir/run_info.json" <<EOF
import json, sys
json.dump({"started": "$started", "finished": "$(date -Iseconds)",
           "load_before": "$load_before", "load_after": "$load_after",
           "pinned": "$pinned", "repetitions": $reps, "min_time": $min_time,
           "memory_repetitions": $mem_reps, "quick": "${BENCH_QUICK:-0}" == "1",
           "filter": "${BENCH_FILTER:-}", "compiler": "$(c++ --version | head -n 1)",
           "kernel": "$(uname -sr)", "nproc": $(nproc), "source": "$source_state",
           "built": "$built"},
          open(sys.argv[1], "w"), indent=1)
EOF

"$tools_python" "$root/bench/python/summarize.py" "${results[@]}" >"$out_dir/summary.md"
"$tools_python" "$root/bench/report.py" "$out_dir"
echo "run.sh: wrote $out_dir/report.md (load average before: $load_before, after: $load_after)" >&2
