#!/usr/bin/env python3
"""Write build/bench/report.md and its gnuplot plots from bench/run.sh output.

  report.py OUT_DIR

Reads OUT_DIR/green_bench.json, green_bench_memory.json, python.json,
run_info.json and, when bench/instr.sh has run, instr.json. Writes:

  report.md           date, machine, method; the bench/check targets; one
                      table of medians with two ratio columns
                      (÷ switch_roundtrip/raw_fcontext, ÷ gen_next/cxx20_minimal)
                      and callgrind instructions per operation; the memory
                      table; the plots; the matrix of every row
  per_item.png        per-item cost of each implementation (log scale)
  yield_from.png      cost per item against delegation depth
  pingpong_many.png   cost per hand-off against the number of units
  memory_parked.png   RSS per parked unit
  plots/              the gnuplot scripts and data behind the PNGs

Plots need gnuplot (gnuplot-nox, `make bench-deps`); without it the report
says so. Standard library only.
"""

import datetime
import importlib.machinery
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "python"))
import summarize  # noqa: E402  (bench/python/summarize.py)

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
IMPL_ORDER = [
    "greenlet", "stackful", "stackless", "raw_fcontext", "raw_fcontext_call",
    "boost_fiber_ctx", "coroutine2", "boost_fibers", "cxx20_minimal", "iterator",
    "python_greenlet", "python_generator", "green", "hub", "python_gevent",
]
SCENARIO_ORDER = [
    "switch_roundtrip", "switch_fp_flags", "gen_next", "gen_send", "yield_from", "nested_yield", "spawn_finish",
    "kill_suspended", "tree_walk", "pipeline", "pingpong_many", "memory_parked",
    "hub_sleep0", "hub_event_wake", "hub_queue_handoff", "hub_spawn_join", "hub_timers",
]
UNIT_OF = {
    "switch_roundtrip": "round trip", "switch_fp_flags": "round trip", "gen_next": "item", "gen_send": "item",
    "yield_from": "item", "nested_yield": "item", "spawn_finish": "unit",
    "kill_suspended": "unit", "tree_walk": "leaf", "pipeline": "line",
    "pingpong_many": "hand-off", "memory_parked": "unit",
    "hub_sleep0": "hand-off", "hub_event_wake": "wake-up", "hub_queue_handoff": "item",
    "hub_spawn_join": "unit", "hub_timers": "timer",
}
RAW = "switch_roundtrip/raw_fcontext"
CXX20 = "gen_next/cxx20_minimal"
# One colour per implementation in every line plot; green's own are red/orange
# and drawn thicker.
COLOR = {
    "greenlet": "#b2182b", "stackful": "#e41a1c", "stackless": "#ff7f00",
    "raw_fcontext": "#377eb8", "raw_fcontext_call": "#74a9cf", "boost_fiber_ctx": "#4daf4a",
    "coroutine2": "#984ea3", "boost_fibers": "#a65628", "cxx20_minimal": "#222222",
    "iterator": "#999999", "python_greenlet": "#f781bf", "python_generator": "#c9a400",
}
GREEN_IMPLS = ("greenlet", "stackful", "stackless")


def load_check():
    loader = importlib.machinery.SourceFileLoader("bench_check", os.path.join(HERE, "check"))
    spec = importlib.util.spec_from_loader("bench_check", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def parse_name(name):
    """'yield_from/stackful/depth:16' -> ('yield_from', 'stackful', 'depth:16')."""
    parts = name.split("/")
    return parts[0], parts[1] if len(parts) > 1 else "", "/".join(parts[2:])


def sort_key(name):
    scen, impl, arg = parse_name(name)
    s = SCENARIO_ORDER.index(scen) if scen in SCENARIO_ORDER else len(SCENARIO_ORDER)
    i = IMPL_ORDER.index(impl) if impl in IMPL_ORDER else len(IMPL_ORDER)
    nums = [int(x) for x in re.findall(r":(\d+)", arg)]
    return (s, scen, i, impl, nums)


def gbench_rows(doc):
    """Row -> dict(median_ns, cv, counters...) from a Google Benchmark JSON."""
    rows, singles = {}, {}
    if not doc:
        return rows
    for r in doc.get("benchmarks", []):
        name = r.get("run_name", r["name"])
        if r.get("error_occurred"):
            rows[name] = {"error": r.get("error_message", "error")}
            continue
        ns = r["cpu_time"] * TO_NS.get(r.get("time_unit", "ns"), 1.0)
        if r.get("run_type") == "aggregate":
            agg = r.get("aggregate_name")
            d = rows.setdefault(name, {})
            if agg == "median":
                d["median_ns"] = ns
                for k in ("rss_per_unit_kib", "unguarded_stacks"):
                    if k in r:
                        d[k] = r[k]
                d["repetitions"] = r.get("repetitions")
            elif agg == "cv":
                d["cv"] = r["cpu_time"]  # a fraction
        else:
            d = {"median_ns": ns, "repetitions": 1}
            for k in ("rss_per_unit_kib", "unguarded_stacks"):
                if k in r:
                    d[k] = r[k]
            singles.setdefault(name, d)
    for k, v in singles.items():
        rows.setdefault(k, v)
    return rows


def python_rows(doc):
    rows = {}
    if not doc or doc.get("context", {}).get("skipped"):
        return rows
    for r in doc.get("benchmarks", []):
        rows[r["name"]] = {"median_ns": r["median_ns"], "min_ns": r["min_ns"],
                           "max_ns": r["max_ns"], "repetitions": r["repetitions"]}
    return rows


def num(x):
    if x is None:
        return ""
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(x):
    if x is None:
        return ""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def source_state():
    """'commit abc1234 (working tree with uncommitted changes)' or ''."""
    try:
        head = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", HERE, "status", "--porcelain", "--", "..",
                                ":!build*", ":!docs"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"commit {head}" + (" plus uncommitted changes" if dirty else "")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# -------------------------------------------------------------------- plots


def gnuplot(out_dir, name, script, data):
    """Write plots/<name>.dat and .gp, run gnuplot; True if the PNG exists."""
    plots = os.path.join(out_dir, "plots")
    os.makedirs(plots, exist_ok=True)
    dat = os.path.join(plots, f"{name}.dat")
    gp = os.path.join(plots, f"{name}.gp")
    with open(dat, "w") as f:
        f.write(data)
    png = os.path.join(out_dir, f"{name}.png")
    head = (f'set terminal pngcairo size 1100,620 font "DejaVu Sans,11" noenhanced\n'
            f'set output "{png}"\n'
            f'datafile = "{dat}"\n'
            'set datafile missing "?"\n'
            'set grid ytics mytics lc rgb "#dddddd"\n'
            'set border 3\nset tics nomirror\n')
    with open(gp, "w") as f:
        f.write(head + script)
    try:
        subprocess.run(["gnuplot", gp], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        print(f"report.py: gnuplot failed on {gp}:\n{e.stderr}", file=sys.stderr)
        return False
    return os.path.exists(png)


def plot_per_item(out_dir, cell):
    scen = [("switch_roundtrip", "switch round trip"), ("gen_next", "gen next()"),
            ("gen_send", "gen send()"), ("tree_walk", "tree walk, per leaf"),
            ("pipeline", "pipeline, per line")]
    arg = {"tree_walk": "leaves:65536"}
    impls = [i for i in IMPL_ORDER if any(cell(s, i, arg.get(s, "")) for s, _ in scen)]
    if not impls:
        return False
    lines = ["impl " + " ".join(f'"{t}"' for _, t in scen)]
    for i in impls:
        vals = [cell(s, i, arg.get(s, "")) for s, _ in scen]
        lines.append(i + " " + " ".join(f"{v:.4g}" if v else "?" for v in vals))
    script = f"""
set title "Per-item cost of each implementation (CPU ns per round trip / item / leaf / line, median; log scale; no bar: not applicable)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.5:*]
set ylabel "ns per operation"
set xtics rotate by -30 left
set rmargin 10
set key top left
plot for [c=2:{len(scen) + 1}] datafile using c:xtic(1) title columnheader(c)
"""
    return gnuplot(out_dir, "per_item", script, "\n".join(lines) + "\n")


def plot_series(out_dir, name, title, scenario, argname, values, cell, ylabel, extra=None):
    """A log-log line plot of `scenario` against its argument, one line per
    implementation; `extra` adds (label, scenario, impl) lines, dashed."""
    series = []
    for i in IMPL_ORDER:
        pts = [(v, cell(scenario, i, f"{argname}:{v}")) for v in values]
        pts = [(v, y) for v, y in pts if y]
        if pts:
            series.append((i, pts, i, False))
    for label, scen2, i in extra or []:
        pts = [(v, cell(scen2, i, f"{argname}:{v}")) for v in values]
        pts = [(v, y) for v, y in pts if y]
        if pts:
            series.append((label, pts, i, True))
    if not series:
        return False
    blocks = []
    for label, pts, _, _ in series:
        blocks.append(f"# {label}\n" + "\n".join(f"{v} {y:.4g}" for v, y in pts))
    plots = []
    for k, (label, _, impl, dashed) in enumerate(series):
        lw = 3 if impl in GREEN_IMPLS else 1.5
        plots.append(f'datafile index {k} using 1:2 with linespoints lw {lw} '
                     f'lc rgb "{COLOR.get(impl, "#000000")}" dt {2 if dashed else 1} '
                     f'pt {k % 13 + 1} ps 1.2 title "{label}"')
    script = f"""
set title "{title}"
set logscale x 2
set logscale y
set xrange [{values[0] / 1.3}:{values[-1] * 1.3}]
set xlabel "{argname}"
set ylabel "{ylabel}"
set xtics ({", ".join(f'"{v}" {v}' for v in values)})
set key outside right top
plot {", ".join(plots)}
"""
    return gnuplot(out_dir, name, script, "\n\n\n".join(blocks) + "\n")


def plot_memory(out_dir, memory):
    impls = [i for i in IMPL_ORDER
             if any(memory.get(f"memory_parked/{i}/n:{n}", {}).get("rss_per_unit_kib")
                    for n in (10000, 100000))]
    if not impls:
        return False
    lines = ['impl "n = 10,000" "n = 100,000"']
    for i in impls:
        vals = [memory.get(f"memory_parked/{i}/n:{n}", {}).get("rss_per_unit_kib")
                for n in (10000, 100000)]
        lines.append(i + " " + " ".join(f"{v:.4g}" if v else "?" for v in vals))
    script = """
set title "RSS per parked unit (64 KiB stacks, 1 KiB touched; KiB, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.05:*]
set ylabel "KiB per unit"
set xtics rotate by -30 left
set key top right
plot for [c=2:3] datafile using c:xtic(1) title columnheader(c)
"""
    return gnuplot(out_dir, "memory_parked", script, "\n".join(lines) + "\n")


# ------------------------------------------------------------------- report


def main(out_dir):
    timed = gbench_rows(read_json(os.path.join(out_dir, "green_bench.json")))
    memory = gbench_rows(read_json(os.path.join(out_dir, "green_bench_memory.json")))
    py_doc = read_json(os.path.join(out_dir, "python.json"))
    python = python_rows(py_doc)
    instr_doc = read_json(os.path.join(out_dir, "instr.json")) or {}
    instr = instr_doc.get("rows", {})
    info = read_json(os.path.join(out_dir, "run_info.json")) or {}
    ctx = (read_json(os.path.join(out_dir, "green_bench.json")) or
           read_json(os.path.join(out_dir, "green_bench_memory.json")) or {}).get("context", {})

    allrows = {**timed, **python}

    def value(name):
        return allrows.get(name, {}).get("median_ns")

    def cell(scen, impl, arg=""):
        return value(f"{scen}/{impl}" + (f"/{arg}" if arg else ""))

    raw, cxx = value(RAW), value(CXX20)
    out = []
    w = out.append
    w("# green benchmark report\n")
    date = info.get("started", ctx.get("date", ""))
    w(f"* **Date:** {date[:10]} (run {info.get('started', '?')} to {info.get('finished', '?')})")
    w(f"* **Machine:** {cpu_model()}, {info.get('nproc', ctx.get('num_cpus', '?'))} CPUs "
      f"({ctx.get('mhz_per_cpu', '?')} MHz nominal), {info.get('kernel', platform.system())}; "
      f"shared machine, load average {info.get('load_before', '?')} before and "
      f"{info.get('load_after', '?')} after the run")
    w(f"* **Compiler:** {ctx.get('green.compiler', info.get('compiler', '?'))}, "
      f"`{ctx.get('green.cxx_flags', '?')}` ({ctx.get('green.build_type', '?')}); "
      f"Boost {ctx.get('green.boost_version', '?')}; Google Benchmark "
      f"{ctx.get('green.benchmark_version', '?')} (Debian's build reports "
      f"\"{ctx.get('library_build_type', '?')}\"; the timed loops are inlined from its headers)")
    if py_doc and not py_doc.get("context", {}).get("skipped"):
        pc = py_doc["context"]
        w(f"* **Python baseline:** Python {pc.get('python')}, greenlet {pc.get('greenlet')} "
          f"({pc.get('executable')}), timeit with CPU time, median of {pc.get('repetitions')} "
          f"interleaved repetitions")
    elif py_doc:
        w(f"* **Python baseline:** skipped: {py_doc.get('context', {}).get('reason', '?')}")
    else:
        w("* **Python baseline:** not run")
    quick = " (BENCH_QUICK: a short run, numbers are indicative)" if info.get("quick") else ""
    w(f"* **Method:** one process, {info.get('repetitions', '?')} repetitions of every timed row "
      f"of at least {info.get('min_time', '?')} s each, randomly interleaved, pinned "
      f"({info.get('pinned', '?')}); CPU time, medians{quick}. memory_parked: each of "
      f"{info.get('memory_repetitions', '?')} repetitions per row in a fresh process. "
      "Stacks: 64 KiB "
      "for every stackful unit.")
    src = info.get("source") or source_state()
    if src:
        built = f", built {info['built']}" if info.get("built") else ""
        w(f"* **Source:** {src}{built}")
    if info.get("filter"):
        w(f"* **Rows:** only those matching `{info['filter']}`")
    w("")

    # Targets
    check = load_check()
    paths = [p for p in (os.path.join(out_dir, "green_bench.json"),
                         os.path.join(out_dir, "green_bench_memory.json"),
                         os.path.join(out_dir, "python.json")) if os.path.exists(p)]
    results = check.judge(check.load(paths)) if paths else []
    if results:
        targets = [r for r in results if r["result"] != "info"]
        met = sum(r["result"] == "PASS" for r in targets)
        w(f"## Targets (bench/check): {met} of {len(targets)} met\n")
        w("| target | rows | goal | measured | result |")
        w("|---|---|---:|---:|:---:|")
        for r in results:
            res = {"PASS": "PASS", "FAIL": "**FAIL**", "MISSING": "**MISSING**"}.get(
                r["result"], r["result"])
            w(f"| {r['what']} | `{r['name']}`<br>{r['detail']} | {r['goal']} | "
              f"{r['measured']} | {res} |")
        w("")
        w("Ratios are of median CPU times from the same run. The greenlet switch target is "
          "judged against the inline `raw_fcontext` round trip, as the issue states; "
          "`raw_fcontext_call` (each side's jump in a `noinline` function) shows how much of "
          "the gap any function-call switch API pays: after a stack switch the `ret` of that "
          "function mispredicts in the return-stack buffer.\n")

    # Main table
    w("## All timed rows\n")
    w(f"Median CPU time per operation (round trip, item, leaf, line, unit or hand-off: see "
      f"the unit column). Ratio columns: ÷ `{RAW}` "
      f"({num(raw) if raw else '?'} ns) and ÷ `{CXX20}` ({num(cxx) if cxx else '?'} ns). "
      "CV is the coefficient of variation over the repetitions (not computed for the "
      "Python rows). instr/op: callgrind "
      "instructions per operation (`make bench-instr`), independent of noise"
      + (f"; counted {instr_doc.get('date', '?')} on the build of {instr_doc.get('built', '?')}"
         if instr else ", not measured in this run")
      + ".\n")
    w("| row | per | median ns | CV | ÷ raw_fcontext RT | ÷ cxx20 item | instr/op |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for name in sorted(allrows, key=sort_key):
        scen, impl, arg = parse_name(name)
        if scen == "memory_parked":
            continue
        d = allrows[name]
        if "error" in d:
            w(f"| `{name}` | {UNIT_OF.get(scen, '')} | ERROR: {d['error']} | | | | |")
            continue
        v = d.get("median_ns")
        cv = d.get("cv")
        cv_s = f"{100 * cv:.1f}%" if cv is not None else "–"
        ins = instr.get(name)
        bold = impl in ("greenlet", "stackful", "stackless")
        label = f"**`{name}`**" if bold else f"`{name}`"
        w(f"| {label} | {UNIT_OF.get(scen, '')} | {num(v)} | {cv_s} | "
          f"{ratio(v / raw) if raw and v else ''} | {ratio(v / cxx) if cxx and v else ''} | "
          f"{num(ins) if ins is not None else ''} |")
    w("")
    w("Rows: `greenlet`, `stackful`, `stackless` are green (bold). Peers: `raw_fcontext` "
      "(bare `jump_fcontext`, the floor for anything on Boost.Context), `raw_fcontext_call` "
      "(the same inside a non-inlined function), `boost_fiber_ctx` (`boost::context::fiber`), "
      "`coroutine2` (Boost.Coroutine2), `boost_fibers` (Boost.Fiber with its scheduler), "
      "`cxx20_minimal` (the smallest C++20 coroutine generator), `iterator` (a hand-written "
      "state machine with an out-of-line `next()`), `python_greenlet` / `python_generator` "
      "(CPython). yield_from: green's generators chain d generators with PEP 380 delegation; "
      "the stackful peers have no delegation and yield from d nested calls (what "
      "`nested_yield` measures for green's stackful generator); `cxx20_minimal` and "
      "`iterator` forward each item through d levels; Python uses `yield from`.\n")

    # Memory table
    mem_names = sorted(memory, key=sort_key)
    if mem_names:
        w("## Memory per parked unit\n")
        w("Each repetition in a fresh process: n units created on a cold stack pool, each touched "
          "1 KiB of its stack and parked; RSS growth / n. Time: creating and parking one unit "
          "(mmap and page faults included). green gives guard pages to at most "
          "(vm.max_map_count - 4096) / 2 stacks (30,717 at the default 65,530) and carves the "
          "rest from slabs without guard pages, warning once on stderr.\n")
        w("| row | RSS KiB / unit | unguarded stacks | ns / unit (create + park) |")
        w("|---|---:|---:|---:|")
        for name in mem_names:
            d = memory[name]
            if "error" in d:
                w(f"| `{name}` | ERROR: {d['error']} | | |")
                continue
            ug = d.get("unguarded_stacks")
            w(f"| `{name}` | {d.get('rss_per_unit_kib', 0):.2f} | "
              f"{'' if ug is None else f'{ug:,.0f}'} | {num(d.get('median_ns'))} |")
        w("")

    # Plots
    w("## Plots\n")
    for png in ("per_item.png", "yield_from.png", "pingpong_many.png", "memory_parked.png"):
        if os.path.exists(os.path.join(out_dir, png)):
            os.remove(os.path.join(out_dir, png))  # no stale plot from an earlier run
    if shutil.which("gnuplot"):
        made = []
        if plot_per_item(out_dir, cell):
            made.append(("per_item.png", "Per-item cost of each implementation"))
        if plot_series(out_dir, "yield_from",
                       "yield_from/<impl>/depth:d: CPU ns per item against delegation depth (log-log)",
                       "yield_from", "depth", [1, 4, 16, 64], cell, "ns per item",
                       extra=[("stackful, nested calls (nested_yield)", "nested_yield",
                               "stackful")]):
            made.append(("yield_from.png", "yield_from cost against depth"))
        if plot_series(out_dir, "pingpong_many",
                       "pingpong_many/<impl>/n:N: CPU ns per hand-off against ring size (log-log)",
                       "pingpong_many", "n", [2, 100, 10000], cell, "ns per hand-off"):
            made.append(("pingpong_many.png", "pingpong_many cost against ring size"))
        if plot_memory(out_dir, memory):
            made.append(("memory_parked.png", "RSS per parked unit"))
        for png, alt in made:
            w(f"![{alt}]({png})\n")
        w("The scripts and data behind the plots are in `plots/`.\n")
    else:
        w("gnuplot was not found (`make bench-deps` installs gnuplot-nox): no plots.\n")

    # Matrix
    w("## Every row at a glance\n")
    w("CPU ns per operation (median); memory_parked: RSS KiB per parked unit.\n")
    cells, notes = {}, []
    for p in ("green_bench.json", "green_bench_memory.json", "python.json"):
        path = os.path.join(out_dir, p)
        if os.path.exists(path):
            try:
                summarize.load(path, cells, notes)
            except Exception as e:  # a partial file must not lose the report
                notes.append(f"{p}: {e}")
    impls = [i for i in IMPL_ORDER if any(k[1] == i for k in cells)]
    impls += [i for _, i in cells if i not in impls]
    impls = list(dict.fromkeys(impls))
    scen = sorted(dict.fromkeys(s for s, _ in cells), key=summarize.scenario_key)
    w("| scenario | " + " | ".join(impls) + " |")
    w("|---|" + "---:|" * len(impls))
    for s in scen:
        w(f"| {s} | " + " | ".join(cells.get((s, i), "") for i in impls) + " |")
    w("")
    w(f"Generated by bench/report.py on "
      f"{datetime.datetime.now().astimezone().isoformat(timespec='seconds')}.")
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
