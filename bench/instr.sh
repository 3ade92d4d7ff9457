#!/usr/bin/env bash
# bench/instr.sh: callgrind instruction counts per operation for the key rows
# (make bench-instr). A count does not depend on the machine's load, so it is
# the figure to compare between commits on a shared machine.
#
#   bench/instr.sh [--filter=SUBSTRING]
#
# Builds green_instr (bench/instr_main.cpp) in the bench build, runs it under
# valgrind --tool=callgrind with collection off except around each row's
# counted loop, and writes under build/bench/:
#   instr.json   {"rows": {row: instructions per operation}, ...}
#   instr.md     the same as a Markdown table
# and regenerates report.md (its instr/op column) if a timed run exists.
# Environment: BENCH_BUILD_DIR, BENCH_OUT_DIR, BENCH_NO_BUILD as bench/run.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BENCH_BUILD_DIR:-$root/build-bench}"
out_dir="${BENCH_OUT_DIR:-$root/build/bench}"
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3

command -v valgrind >/dev/null || { echo "instr.sh: valgrind not found (make deps)" >&2; exit 1; }
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  if [[ "$build_dir" == "$root/build-bench" ]]; then
    (cd "$root" && cmake --preset bench >/dev/null)
  fi
  cmake --build "$build_dir" --target green_instr -j2
fi
instr="$build_dir/bench/green_instr"
[[ -x "$instr" ]] || { echo "instr.sh: $instr was not built" >&2; exit 1; }

mkdir -p "$out_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "instr.sh: running the key rows under callgrind (a minute or two)" >&2
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$work/cg.out" \
  "$instr" "$@" >"$work/ops.txt" 2>"$work/valgrind.log" ||
  { tail -n 30 "$work/valgrind.log" >&2; exit 1; }

GREEN_INSTR_BIN="$instr" "$python" - "$work" "$out_dir" "$(valgrind --version)" \
  "$(c++ --version | head -n 1)" <<'EOF'
import datetime, glob, json, os, re, sys
work, out_dir, vg, cxx = sys.argv[1:5]
ops = {}
for line in open(os.path.join(work, "ops.txt")):
    name, n = line.split()
    ops[name] = int(n)
rows = {}
for path in glob.glob(os.path.join(work, "cg.out.*")):
    text = open(path).read()
    m = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
    s = re.search(r"^summary: (\d+)", text, re.M)
    if m and s and m.group(1) in ops:
        rows[m.group(1)] = int(s.group(1)) / ops[m.group(1)]
missing = sorted(set(ops) - set(rows))
if missing:
    sys.exit("instr.sh: no callgrind dump for " + ", ".join(missing))
built = datetime.datetime.fromtimestamp(os.path.getmtime(os.environ["GREEN_INSTR_BIN"])).astimezone()
doc = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
       "built": built.isoformat(timespec="seconds"),
       "tool": vg + " --tool=callgrind (Ir, collection only around the counted loop)",
       "compiler": cxx, "note": "instructions per operation, loop overhead (about 3) included",
       "ops": ops, "rows": rows}
json.dump(doc, open(os.path.join(out_dir, "instr.json"), "w"), indent=1)
order = list(ops)
with open(os.path.join(out_dir, "instr.md"), "w") as f:
    f.write(f"Instructions per operation (callgrind Ir), {doc['date']}, {cxx}\n\n")
    f.write("| row | instr/op | ops counted |\n|---|---:|---:|\n")
    for name in order:
        f.write(f"| `{name}` | {rows[name]:.1f} | {ops[name]:,} |\n")
print(open(os.path.join(out_dir, "instr.md")).read())
EOF
if [[ -f "$out_dir/green_bench.json" || -f "$out_dir/green_bench_memory.json" ]]; then
  "$python" "$root/bench/report.py" "$out_dir"
  echo "instr.sh: updated $out_dir/report.md" >&2
fi
echo "instr.sh: wrote $out_dir/instr.json and $out_dir/instr.md" >&2
