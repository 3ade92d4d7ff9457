#!/usr/bin/env python3
"""gdb_greenlets: lib/gdb/green_gdb.py against gdb_target (docs/semantics.md
G15), first in the live process, then in a core file that the first gdb run
saves with gcore. The live run loads the extension the way users get it
without a `source` line (libgreen's .debug_gdb_scripts section); the core run
sources the file, with auto-loading off. Exits 77 (CTest skip) only when the
kernel forbids ptrace."""

import argparse
import os
import re
import subprocess
import sys

SKIP = 77


def run_gdb(gdb, args, timeout=60):
    cmd = [gdb, "-batch", "-nx", "-iex", "set debuginfod enabled off", "-iex",
           "set disable-randomization off", "-iex", "set pagination off"] + args
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    return proc.stdout


def sections(out):
    """Splits gdb's output at the `echo @@name` markers."""
    parts = {}
    name = "preamble"
    for line in out.splitlines():
        m = re.match(r"^@@(\S+)$", line)
        if m:
            name = m.group(1)
            parts[name] = []
        else:
            parts.setdefault(name, []).append(line)
    return {k: "\n".join(v) for k, v in parts.items()}


def commands(steps):
    args = []
    for name, cmd in steps:
        args += ["-ex", "echo @@%s\\n" % name, "-ex", cmd]
    return args


STEPS = [
    ("info", "info greenlets"),
    ("bt_worker", "greenlet bt worker"),
    ("bt_gen", "greenlet bt gen"),
    ("bt_remote", "greenlet bt remote"),
    ("bt_all", "greenlet bt all"),
    ("frame", "greenlet frame worker"),
    ("frame_fn", "greenlet frame worker worker_level2"),
    ("locals", "info locals"),
    ("print", "p marker"),
    ("off", "greenlet frame off"),
    ("bt_real", "bt"),
    ("bt_idle", "greenlet bt idle"),
]


class Checker:
    def __init__(self, label, out):
        self.label = label
        self.out = out
        self.parts = sections(out)
        self.failures = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)

    def part(self, name):
        return self.parts.get(name, "")

    def frames(self, name):
        """Function names of the frames in section `name`, in order."""
        return re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?([\w:~<>]+)", self.part(name), re.M)

    def run(self):
        info = self.part("info")
        rows = {}
        for line in info.splitlines()[1:]:
            # mark, id, thread, lwp, state, parent, used/size, name
            cols = line[1:].split()
            if len(cols) == 7:
                rows.setdefault(cols[-1], []).append(cols)
        for name, state in (("worker", "suspended"), ("gen", "suspended"),
                            ("remote", "suspended"), ("reporter", "current")):
            got = [r[3] for r in rows.get(name, [])]
            self.check(got == [state], "info greenlets: %s should be listed once, %s; got %s"
                       % (name, state, got))
        mains = sorted(r[3] for r in rows.get("main", []))
        self.check(mains == ["current", "suspended"],
                   "info greenlets: the two threads' main greenlets, one running (thread 2 "
                   "waits on it) and one suspended; got %s" % mains)
        idle = [(r[3], r[5]) for r in rows.get("idle", [])]
        self.check(idle == [("unstarted", "-")],
                   "info greenlets: the unstarted greenlet idle is listed once, unstarted, with no "
                   "stack; got %s" % idle)
        threads = {r[1] for rs in rows.values() for r in rs}
        self.check(len(threads) == 2, "info greenlets: greenlets of 2 threads; got %s" % threads)
        used = [r[5] for r in rows.get("worker", [])]
        self.check(bool(used) and re.match(r"^\d+/\d+$", used[0]) is not None,
                   "info greenlets: worker's stack used/size; got %s" % used)

        worker = self.frames("bt_worker")
        self.check(worker[:1] != [] and "worker_level2" in worker and "worker_level1" in worker
                   and worker.index("worker_level2") < worker.index("worker_level1"),
                   "greenlet bt worker: worker_level2 then worker_level1; got %s" % worker)
        self.check(re.search(r"^#0\s", self.part("bt_worker"), re.M) is not None,
                   "greenlet bt worker: frames numbered from #0")
        self.check(re.search(r"worker_level2 \(.*\) at \S*gdb_target\.cpp:\d+",
                             self.part("bt_worker")) is not None,
                   "greenlet bt worker: a source line for worker_level2")
        self.check("gen_inner" in self.frames("bt_gen"),
                   "greenlet bt gen: gen_inner; got %s" % self.frames("bt_gen"))
        self.check("remote_wait" in self.frames("bt_remote"),
                   "greenlet bt remote: remote_wait; got %s" % self.frames("bt_remote"))
        self.check(re.search(r"\bmain \(\) at \S*gdb_target\.cpp", self.part("bt_all")) is not None,
                   "greenlet bt all: thread 1's suspended main greenlet is in main()")
        self.check(re.search(r"= 4242\b", self.part("print")) is not None,
                   "p marker in worker_level2 of the selected greenlet: 4242; got %r"
                   % self.part("print"))
        self.check(re.search(r"^marker = 4242$", self.part("locals"), re.M) is not None,
                   "info locals in worker_level2 of the selected greenlet: marker = 4242")
        self.check(self.frames("bt_real")[:1] == ["ready_for_gdb"],
                   "greenlet frame off: bt is the thread's own again (ready_for_gdb); got %s"
                   % self.frames("bt_real"))
        self.check("has not started" in self.part("bt_idle"),
                   "greenlet bt idle: says it has not started (no frames)")
        self.check("Traceback" not in self.out and "Python Exception" not in self.out,
                   "no Python error in the extension")
        return self.failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gdb", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    core = os.path.join(a.workdir, "gdb_target.core")
    if os.path.exists(core):
        os.remove(core)
    try:
        subprocess.run([a.gdb, "--version"], stdout=subprocess.DEVNULL, check=True)
    except (OSError, subprocess.CalledProcessError):
        print("gdb_greenlets: FAILED: cannot run gdb (%s); `make deps` installs it" % a.gdb)
        return 1

    live = run_gdb(a.gdb, ["-iex", "add-auto-load-safe-path " + a.program,
                           "-ex", "break ready_for_gdb", "-ex", "run"] + commands(STEPS) +
                   ["-ex", "echo @@gcore\\n", "-ex", "gcore " + core, "-ex", "kill",
                    a.program])
    if "ready_for_gdb ()" not in sections(live).get("preamble", "") and re.search(
            r"ptrace|Operation not permitted|Could not trace", live):
        print(live)
        print("gdb_greenlets: SKIPPED: the kernel forbids ptrace here (gdb cannot run the test "
              "program); the gdb extension was not tested")
        return SKIP
    failures = ["live: " + f for f in Checker("live", live).run()]
    if not os.path.exists(core):
        failures.append("gcore saved no core file")
    else:
        dead = run_gdb(a.gdb, ["-iex", "set auto-load python-scripts off", "-x", a.script,
                               "-ex", "echo @@loaded\\n"] + commands(STEPS) + [a.program, core])
        failures += ["core: " + f for f in Checker("core", dead).run()]
        if failures:
            print("---- gdb on the core file ----\n" + dead)
        os.remove(core)
    if failures:
        print("---- gdb on the live process ----\n" + live)
        for f in failures:
            print("FAILED: " + f)
        return 1
    print(sections(live).get("info", ""))
    print("gdb_greenlets: live and core checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
