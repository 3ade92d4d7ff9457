#!/usr/bin/python3
"""Python reference rows for green_bench: greenlet, plain generators, gevent.

Runs the green_bench scenarios that Python can express, with timeit, and
prints one JSON document on stdout:

  {"context": {...}, "benchmarks": [{"name": "gen_next/python_generator",
                                     "median_ns": 48.1, ...}, ...]}

Row names follow green_bench: <scenario>/python_greenlet,
<scenario>/python_generator and, for the hub_* scenarios (bench/hub_bench.cpp),
<scenario>/python_gevent, with /<arg>:<n> where the scenario has one.
median_ns is the median over the repetitions of the CPU time per operation
(one round trip, item, unit or hand-off, as in green_bench). Repetitions of all
rows are interleaved in random order, as green_bench does.

Run it with the Debian interpreter, which has python3-greenlet and
python3-gevent (make bench-deps):
  /usr/bin/python3 bench/python/bench_greenlet.py [--quick]
If greenlet cannot be imported, the output says so ("skipped") and the exit
status is 0; without gevent only the python_gevent rows are left out (the
context says why).
"""

import argparse
import datetime
import gc
import json
import platform
import random
import statistics
import sys
import time
import timeit

DEPTHS = (1, 4, 16, 64)
RING_SIZES = (2, 100, 10000)
TREE_LEAVES = 65536


class Case:
    """One row: make_timer(number) returns a timeit.Timer whose timeit(number)
    performs number * ops operations."""

    def __init__(self, name, make_timer, ops=1, number=None, what=""):
        self.name = name
        self.make_timer = make_timer
        self.ops = ops
        self.number = number  # None: calibrated
        self.what = what
        self.samples = []

    def measure(self):
        timer = self.make_timer(self.number)
        seconds = timer.timeit(self.number)
        self.samples.append(seconds * 1e9 / (self.number * self.ops))

    def calibrate(self, target):
        if self.number is not None:
            return
        number = 1
        while True:
            seconds = self.make_timer(number).timeit(number)
            if seconds >= target / 5 or number >= 1 << 26:
                break
            number *= 4 if seconds < target / 50 else 2
        self.number = max(1, int(number * target / max(seconds, 1e-9)))


def timer(stmt, setup="pass", names=None):
    # CPU time of the process, like green_bench's cpu_time column: on a shared
    # machine it leaves out the time other processes run.
    return timeit.Timer(stmt, setup=setup, timer=time.process_time, globals=names)


def fixed(stmt, setup="pass", **names):
    """A make_timer for a statement whose state does not depend on number."""
    return lambda number: timer(stmt, setup, names)


class Scoped:
    """A timer (for Case.make_timer) around a loop with its own setup and
    teardown: run(number) sets up, calls loop(number) between two readings of
    the CPU clock (gc disabled, as timeit does), tears down, and returns the
    seconds. Used by the gevent rows, whose greenlets must not outlive a
    repetition (a leftover runnable greenlet would run inside other rows)."""

    def __init__(self, run):
        self.run = run

    def timeit(self, number):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self.run(number)
        finally:
            if enabled:
                gc.enable()


# ---------------------------------------------------------------- workloads


def make_tree(leaves):
    """A complete binary tree as nested (left, right) tuples; leaves are ints,
    with the same values as green_bench's make_tree()."""
    state = {"value": 0, "sum": 0}

    def build(n):
        if n == 1:
            v = state["value"]
            state["sum"] += v
            state["value"] = (v * 7 + 3) & 0xFFFF
            return v
        left = build(n // 2)
        return (left, build(n // 2))

    root = build(leaves)
    return root, state["sum"]


def make_pipeline_text(items):
    """The same lines as green_bench's make_pipeline_input()."""
    x = 12345
    lines = []
    expected = 0
    for _ in range(items):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        v = x >> 12
        lines.append(str(v))
        if v % 3:
            expected += 2 * v + 1
    return "\n".join(lines) + "\n", expected


def build_cases(greenlet_mod, quick):
    greenlet = greenlet_mod.greenlet
    main = greenlet_mod.getcurrent()
    cases = []

    # switch_roundtrip: main -> other -> main carrying an int.
    def echo_body(v):
        sw = main.switch
        while True:
            v = sw(v + 1)

    g_echo = greenlet(echo_body)
    g_echo.switch(0)
    cases.append(Case("switch_roundtrip/python_greenlet",
                      fixed("sw(1)", "sw = g.switch", g=g_echo),
                      what="g.switch(x); g answers main.switch(x + 1)"))

    def echo_gen():
        v = 0
        while True:
            v = yield v + 1

    e = echo_gen()
    next(e)
    cases.append(Case("switch_roundtrip/python_generator",
                      fixed("send(1)", "send = e.send", e=e),
                      what="gen.send(x) answered by yield x + 1"))

    # gen_next
    def counter_body():
        sw = main.switch
        i = 0
        while True:
            sw(i)
            i += 1

    cases.append(Case("gen_next/python_greenlet",
                      fixed("sw()", "sw = g.switch", g=greenlet(counter_body)),
                      what="greenlet yielding via parent.switch(i)"))

    def counter_gen():
        i = 0
        while True:
            yield i
            i += 1

    cases.append(Case("gen_next/python_generator",
                      fixed("nx()", "nx = it.__next__", it=counter_gen()),
                      what="next(it) on an endless counter"))

    # gen_send
    def acc_body():
        sw = main.switch
        total = 0
        while True:
            total += sw(total)

    g_acc = greenlet(acc_body)
    g_acc.switch()
    cases.append(Case("gen_send/python_greenlet",
                      fixed("sw(1)", "sw = g.switch", g=g_acc),
                      what="g.switch(1) into a running total"))

    def acc_gen():
        total = 0
        while True:
            total += yield total

    a = acc_gen()
    next(a)
    cases.append(Case("gen_send/python_generator",
                      fixed("send(1)", "send = a.send", a=a),
                      what="gen.send(1) into a running total"))

    # yield_from/depth:D
    def nest(d, sw):
        if d == 0:
            i = 0
            while True:
                sw(i)
                i += 1
        nest(d - 1, sw)

    def chain(d):
        if d == 0:
            i = 0
            while True:
                yield i
                i += 1
        else:
            yield from chain(d - 1)

    for d in DEPTHS:
        g_nest = greenlet(lambda d=d: nest(d, main.switch))
        cases.append(Case(f"yield_from/python_greenlet/depth:{d}",
                          fixed("sw()", "sw = g.switch", g=g_nest),
                          what="switch to main from d nested calls"))
        cases.append(Case(f"yield_from/python_generator/depth:{d}",
                          fixed("nx()", "nx = it.__next__", it=chain(d)),
                          what="d levels of yield from above a producer"))

    # spawn_finish
    def finish(x):
        return x + 1

    cases.append(Case("spawn_finish/python_greenlet",
                      fixed("G(f).switch(1)", G=greenlet, f=finish),
                      what="greenlet(f).switch(x), f returns, greenlet freed"))

    def oneshot(out, x):
        out[0] = x + 1
        return
        yield  # makes this a generator function

    cases.append(Case("spawn_finish/python_generator",
                      fixed("nx(gen(o, 1), None)", "o = [0]", nx=next, gen=oneshot),
                      what="generator created, run to its end, freed"))

    # kill_suspended: units are made in the (untimed) setup; the statement
    # drops one, which kills it (GreenletExit / GeneratorExit, finally runs).
    killed = [0]

    def parked_body():
        try:
            main.switch()
        finally:
            killed[0] += 1

    def make_parked_greenlets(n):
        units = [greenlet(parked_body) for _ in range(n)]
        for u in units:
            u.switch()
        return units

    def parked_gen():
        try:
            yield 0
        finally:
            killed[0] += 1

    def make_parked_gens(n):
        units = [parked_gen() for _ in range(n)]
        for u in units:
            next(u)
        return units

    kill_number = 500 if quick else 2000
    cases.append(Case("kill_suspended/python_greenlet",
                      lambda number: timer("pop()", f"pop = make({number}).pop",
                                           {"make": make_parked_greenlets}),
                      number=kill_number, what="last reference to a suspended greenlet dropped"))
    cases.append(Case("kill_suspended/python_generator",
                      lambda number: timer("pop()", f"pop = make({number}).pop",
                                           {"make": make_parked_gens}),
                      number=kill_number, what="last reference to a suspended generator dropped"))

    # tree_walk/leaves:65536
    root, leaf_sum = make_tree(TREE_LEAVES)

    def walk_g(n, sw):
        if n.__class__ is int:
            sw(n)
        else:
            walk_g(n[0], sw)
            walk_g(n[1], sw)

    def tree_pass_greenlet():
        g = greenlet(lambda: walk_g(root, main.switch))
        sw = g.switch
        total = 0
        v = sw()
        while v is not None:
            total += v
            v = sw()
        assert total == leaf_sum
        return total

    def walk_gen(n):
        if n.__class__ is int:
            yield n
        else:
            yield from walk_gen(n[0])
            yield from walk_gen(n[1])

    def tree_pass_generator():
        total = 0
        for v in walk_gen(root):
            total += v
        assert total == leaf_sum
        return total

    cases.append(Case(f"tree_walk/python_greenlet/leaves:{TREE_LEAVES}",
                      fixed("f()", f=tree_pass_greenlet), ops=TREE_LEAVES, number=1,
                      what="recursive function switching each leaf to main"))
    cases.append(Case(f"tree_walk/python_generator/leaves:{TREE_LEAVES}",
                      fixed("f()", f=tree_pass_generator), ops=TREE_LEAVES, number=1,
                      what="recursive generators with yield from"))

    # pipeline: source -> parse -> filter -> map -> sink
    items = 100_000 if quick else 1_000_000
    text, expected = make_pipeline_text(items)

    def pipeline_pass_generator():
        def source():
            pos, n, find = 0, len(text), text.find
            while pos < n:
                nl = find("\n", pos)
                yield text[pos:nl]
                pos = nl + 1

        def parse(up):
            for line in up:
                yield int(line)

        def filt(up):
            for v in up:
                if v % 3:
                    yield v

        def mapper(up):
            for v in up:
                yield 2 * v + 1

        total = 0
        for v in mapper(filt(parse(source()))):
            total += v
        assert total == expected
        return total

    def pipeline_pass_greenlet():
        # Each stage is a greenlet whose parent is its consumer; it pulls by
        # switching to its upstream and yields by switching to its consumer.
        cur = greenlet_mod.getcurrent()
        m = greenlet(None, cur)
        f = greenlet(None, m)
        p = greenlet(None, f)
        s = greenlet(None, p)

        def src():
            y = p.switch
            pos, n, find = 0, len(text), text.find
            while pos < n:
                nl = find("\n", pos)
                y(text[pos:nl])
                pos = nl + 1

        def prs():
            pull, y = s.switch, f.switch
            v = pull()
            while v is not None:
                y(int(v))
                v = pull()

        def flt():
            pull, y = p.switch, m.switch
            v = pull()
            while v is not None:
                if v % 3:
                    y(v)
                v = pull()

        def mp():
            pull, y = f.switch, cur.switch
            v = pull()
            while v is not None:
                y(2 * v + 1)
                v = pull()

        s.run, p.run, f.run, m.run = src, prs, flt, mp
        total = 0
        v = m.switch()
        while v is not None:
            total += v
            v = m.switch()
        assert total == expected
        return total

    cases.append(Case("pipeline/python_greenlet", fixed("f()", f=pipeline_pass_greenlet),
                      ops=items, number=1, what=f"{items} lines, one greenlet per stage"))
    cases.append(Case("pipeline/python_generator", fixed("f()", f=pipeline_pass_generator),
                      ops=items, number=1, what=f"{items} lines, one generator per stage"))

    # pingpong_many/n:N: main is unit 0.
    for n in RING_SIZES:
        ring = [main] + [greenlet(None) for _ in range(n - 1)]
        for i in range(1, n):
            nxt = ring[(i + 1) % n]

            def unit(nxt=nxt):
                main.switch()  # started: park until the first round
                sw = nxt.switch
                while True:
                    sw()

            ring[i].run = unit
            # Start each unit from main, so none inherits another's recursion
            # depth (a greenlet starts at its starter's depth).
            ring[i].switch()
        cases.append(Case(f"pingpong_many/python_greenlet/n:{n}",
                          fixed("first()", "first = r1.switch", r1=ring[1]), ops=n,
                          what="ring of greenlets, each switching to the next"))

        def ring_gen():
            while True:
                yield

        nexts = [ring_gen().__next__ for _ in range(n - 1)]
        cases.append(Case(f"pingpong_many/python_generator/n:{n}",
                          fixed("for nx in nexts: nx()", nexts=nexts), ops=n,
                          what="main resumes n-1 generators in turn"))

    return cases


# --------------------------------------------------------------- gevent rows

TIMER_COUNTS = (1000, 100000)


def timer_delay(i, n):
    """Seconds unit i of n sleeps: as green_bench's timer_delay()."""
    return (1 + (i * 7919) % n) * 1e-6


def build_gevent_cases(gevent):
    """The hub_* scenarios of bench/hub_bench.cpp on gevent: main is one of
    the units, as in green's and Boost.Fiber's rows."""
    from gevent.event import Event
    from gevent.queue import Queue

    sleep, spawn, clock = gevent.sleep, gevent.spawn, time.process_time
    cases = []

    def sleep0(number):
        state = {"stop": False, "turns": 0}

        def worker():
            while not state["stop"]:
                state["turns"] += 1
                sleep(0)

        g = spawn(worker)
        sleep(0)
        t0 = clock()
        for _ in range(number):
            sleep(0)
        t1 = clock()
        state["stop"] = True
        g.join()
        assert state["turns"] == number + 1
        return t1 - t0

    cases.append(Case("hub_sleep0/python_gevent", lambda number: Scoped(sleep0), ops=2,
                      what="two greenlets taking turns with gevent.sleep(0), per hand-off"))

    def event_wake(number):
        ping, pong = (Event(), Event()), (Event(), Event())
        state = {"stop": False, "wakes": 0}

        def worker():
            k = 0
            while True:
                ping[k].wait()
                ping[k].clear()
                if state["stop"]:
                    return
                state["wakes"] += 1
                pong[k].set()
                k ^= 1

        g = spawn(worker)
        k = 0

        def round_():
            nonlocal k
            ping[k].set()
            pong[k].wait()
            pong[k].clear()
            k ^= 1

        round_()
        t0 = clock()
        for _ in range(number):
            round_()
        t1 = clock()
        state["stop"] = True
        ping[k].set()
        g.join()
        assert state["wakes"] == number + 1
        return t1 - t0

    cases.append(Case("hub_event_wake/python_gevent", lambda number: Scoped(event_wake), ops=2,
                      what="Event.set(), the waiter runs (two greenlets, alternating events)"))

    def queue_handoff(number):
        q = Queue(maxsize=1)

        def producer():
            i = 0
            while True:
                q.put(i)
                i += 1

        g = spawn(producer)
        get = q.get
        ok = get() == 0
        t0 = clock()
        for i in range(1, number + 1):
            ok &= get() == i
        t1 = clock()
        g.kill()
        assert ok
        return t1 - t0

    cases.append(Case("hub_queue_handoff/python_gevent", lambda number: Scoped(queue_handoff),
                      what="producer greenlet put()s into Queue(maxsize=1), main get()s"))

    def spawn_join(number):
        count = [0]

        def body():
            count[0] += 1

        spawn(body).join()
        t0 = clock()
        for _ in range(number):
            spawn(body).join()
        t1 = clock()
        assert count[0] == number + 1
        return t1 - t0

    cases.append(Case("hub_spawn_join/python_gevent", lambda number: Scoped(spawn_join),
                      what="gevent.spawn(f).join() of a function that only counts"))

    for n in TIMER_COUNTS:
        def timers(number, n=n):
            fired = [0]

            def body(d):
                sleep(d)
                fired[0] += 1

            t0 = clock()
            for _ in range(number):
                units = [spawn(body, timer_delay(i, n)) for i in range(n)]
                for u in units:
                    u.join()
            t1 = clock()
            assert fired[0] == number * n
            return t1 - t0

        cases.append(Case(f"hub_timers/python_gevent/n:{n}",
                          lambda number, f=timers: Scoped(f), ops=n, number=1,
                          what="n greenlets sleeping 1..n us (scattered), all joined; per timer"))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=15)
    parser.add_argument("--target", type=float, default=0.05,
                        help="seconds per repetition of a calibrated row")
    parser.add_argument("--quick", action="store_true",
                        help="3 repetitions, 0.01 s, 100k pipeline items")
    parser.add_argument("--filter", default="", help="only rows whose name contains this")
    args = parser.parse_args()
    if args.quick:
        args.repetitions, args.target = 3, 0.01

    context = {
        "executable": sys.executable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "repetitions": args.repetitions,
        "timer": "timeit with time.process_time (CPU time), gc disabled while timing",
        "statistic": "median of repetitions, ns per operation",
    }
    try:
        import greenlet as greenlet_mod
    except ImportError as exc:
        context["skipped"] = True
        context["reason"] = f"cannot import greenlet: {exc} (run with /usr/bin/python3)"
        print(json.dumps({"context": context, "benchmarks": []}, indent=1))
        return 0
    context["greenlet"] = getattr(greenlet_mod, "__version__", "unknown")

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    cases = build_cases(greenlet_mod, args.quick)
    try:
        import gevent
    except ImportError as exc:
        context["gevent"] = f"not available ({exc}); python_gevent rows left out (make bench-deps)"
    else:
        context["gevent"] = gevent.__version__
        context["gevent_loop"] = type(gevent.get_hub().loop).__module__
        cases += build_gevent_cases(gevent)
    cases = [c for c in cases if args.filter in c.name]
    for c in cases:
        c.calibrate(args.target)
    rng = random.Random(1)
    for _ in range(args.repetitions):
        rng.shuffle(cases)
        for c in cases:
            c.measure()
        gc.collect()

    rows = []
    for c in sorted(cases, key=lambda c: c.name):
        rows.append({
            "name": c.name,
            "median_ns": round(statistics.median(c.samples), 3),
            "min_ns": round(min(c.samples), 3),
            "max_ns": round(max(c.samples), 3),
            "repetitions": len(c.samples),
            "operations_per_repetition": c.number * c.ops,
            "what": c.what,
        })
    print(json.dumps({"context": context, "benchmarks": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
