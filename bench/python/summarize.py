#!/usr/bin/env python3
"""Print green_bench and bench_greenlet.py results as one Markdown table.

  summarize.py build/bench/green_bench.json [more.json ...]

Each Google Benchmark file contributes its median aggregates (or the single
run when there was one repetition); a bench_greenlet.py file contributes its
median_ns. Rows are <scenario>[/<arg>:<n>], columns are implementations.
Times are CPU nanoseconds per operation (per round trip, item, unit or
hand-off; see the scenario files); memory_parked shows rss_per_unit_kib.
Standard library only.
"""

import json
import sys

# Column order; tokens not listed here follow in order of appearance.
IMPL_ORDER = [
    "greenlet", "stackful", "stackless",
    "raw_fcontext", "raw_fcontext_call", "boost_fiber_ctx", "coroutine2", "boost_fibers",
    "cxx20_minimal", "iterator", "python_greenlet", "python_generator",
    "green", "hub", "python_gevent",
]
SCENARIO_ORDER = [
    "switch_roundtrip", "gen_next", "gen_send", "yield_from", "nested_yield", "spawn_finish",
    "kill_suspended", "tree_walk", "pipeline", "pingpong_many", "memory_parked",
    "hub_sleep0", "hub_event_wake", "hub_queue_handoff", "hub_spawn_join", "hub_timers",
]
TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def split(name):
    """'yield_from/cxx20_minimal/depth:16' -> ('yield_from/depth:16', 'cxx20_minimal')."""
    parts = name.split("/")
    return "/".join([parts[0]] + parts[2:]), parts[1]


def scenario_key(s):
    parts = s.split("/")
    rank = SCENARIO_ORDER.index(parts[0]) if parts[0] in SCENARIO_ORDER else len(SCENARIO_ORDER)
    args = [int(p.split(":")[1]) if ":" in p and p.split(":")[1].isdigit() else 0
            for p in parts[1:]]
    return (rank, parts[0], args)


def load(path, cells, notes):
    with open(path) as f:
        doc = json.load(f)
    ctx = doc.get("context", {})
    if ctx.get("skipped"):
        notes.append(f"{path}: skipped: {ctx.get('reason', '')}")
        return
    rows = doc.get("benchmarks", [])
    if "median_ns" in (rows[0] if rows else {}):  # bench_greenlet.py
        for r in rows:
            cells[split(r["name"])] = f"{r['median_ns']:.1f}"
        notes.append(f"{path}: Python {ctx.get('python')}, greenlet {ctx.get('greenlet')}, "
                     f"median of {ctx.get('repetitions')}")
        return
    medians = {}
    singles = {}
    for r in rows:
        if r.get("error_occurred"):
            cells[split(r["run_name"])] = "ERROR"
            continue
        if r.get("run_type") == "aggregate":
            if r.get("aggregate_name") == "median":
                medians[r["run_name"]] = r
        else:
            singles.setdefault(r["run_name"], r)
    for run_name, r in {**singles, **medians}.items():
        if "rss_per_unit_kib" in r:
            value = f"{r['rss_per_unit_kib']:.2f} KiB"
        else:
            value = f"{r['cpu_time'] * TO_NS[r.get('time_unit', 'ns')]:.2f}"
        cells[split(run_name)] = value
    keys = ("green.compiler", "green.cxx_flags", "green.boost_version", "green.stack_size")
    notes.append(f"{path}: " + ", ".join(str(ctx.get(k)) for k in keys) +
                 f", {ctx.get('num_cpus')} CPUs, "
                 f"{'medians' if medians else 'single runs'}")


def main(paths):
    cells, notes = {}, []
    for p in paths:
        try:
            load(p, cells, notes)
        except FileNotFoundError:
            notes.append(f"{p}: missing")
    impls = [i for i in IMPL_ORDER if any(k[1] == i for k in cells)]
    impls += [i for _, i in cells if i not in impls]
    impls = list(dict.fromkeys(impls))
    scenarios = sorted(dict.fromkeys(s for s, _ in cells), key=scenario_key)
    print("| scenario | " + " | ".join(impls) + " |")
    print("|---|" + "---:|" * len(impls))
    for s in scenarios:
        print(f"| {s} | " + " | ".join(cells.get((s, i), "") for i in impls) + " |")
    print()
    print("CPU ns per operation (median); memory_parked: RSS KiB per parked unit.")
    for n in notes:
        print(f"- {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
