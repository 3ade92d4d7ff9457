# green_gdb.py: gdb commands that show green's greenlets, suspended ones
# included, in a live process or a core file (docs/semantics.md G15).
#
#   info greenlets            every greenlet of every thread, one a line
#   greenlet bt ID [full]     the backtrace of suspended greenlet ID (or NAME)
#   greenlet bt all           the backtraces of every suspended greenlet
#   greenlet frame ID [N|FN]  select its frames: frame/up/down/info locals/p
#                             then work on it; its frame N is gdb's N+1
#   greenlet frame off        back to the thread's real frames
#
# Loaded by gdb from libgreen's .debug_gdb_scripts section (when the program
# is in gdb's auto-load safe-path), or by hand:
#   (gdb) source /usr/share/green/gdb/green_gdb.py
#
# How it works: libgreen keeps, per thread, a list of its greenlets that have
# a stack (green_debug_threads -> thread_state::greenlets) and one of those
# not started yet (thread_state::unstarted). A suspended
# greenlet's registers are on its own stack, where Boost.Context's
# jump_fcontext saved them; green_debug_layout says where. While a greenlet
# is selected, an unwinder makes the thread's innermost frame (#0, where the
# thread really is) unwind into those registers, so gdb's frame #1 is the
# greenlet's innermost frame and everything above follows from the debug
# information, as for any thread.

import re
import struct

import gdb
import gdb.unwinder

_LAYOUT_VERSION = 2
_REGS = ("r12", "r13", "r14", "r15", "rbx", "rbp")


class _Greenlet:
    pass


def _u64(addr):
    data = gdb.selected_inferior().read_memory(addr, 8)
    return struct.unpack("<Q", bytes(data))[0]


def _layout():
    try:
        lay = gdb.parse_and_eval("green_debug_layout")
    except gdb.error:
        raise gdb.GdbError("no green in this program (symbol green_debug_layout not found)")
    if int(lay["version"]) != _LAYOUT_VERSION:
        raise gdb.GdbError(
            "this program's green has registry layout %d, this script knows %d: "
            "use the green_gdb.py installed with that green" % (int(lay["version"]), _LAYOUT_VERSION))
    frame = lay["frame"]
    return {name: int(frame[name]) for name in _REGS + ("rip", "size")}


def _gdb_threads():
    return {t.ptid[1]: t for t in gdb.selected_inferior().threads()}


def _thread_sp(thread):
    """The real stack pointer of `thread` (no greenlet selected on it)."""
    old = gdb.selected_thread()
    try:
        thread.switch()
        return int(gdb.newest_frame().read_register("rsp"))
    finally:
        if old is not None:
            old.switch()


def _greenlets():
    """Every greenlet in the registry, thread by thread, newest first."""
    layout = _layout()
    try:
        ts = gdb.parse_and_eval("green_debug_threads")
    except gdb.error:
        raise gdb.GdbError("no green in this program (symbol green_debug_threads not found)")
    gs_type = gdb.lookup_type("green::detail::greenlet_state")
    # `reg` sits in an anonymous union: ask for its address in a state at 0.
    reg_off = int(gdb.Value(0).cast(gs_type.pointer())["reg"].address)
    ureg_off = int(gdb.Value(0).cast(gs_type.pointer())["ureg"].address)
    char_p = gdb.lookup_type("char").pointer()
    threads = _gdb_threads()
    result = []
    seen_threads = 0
    while int(ts) != 0 and seen_threads < 100000:
        seen_threads += 1
        tid = int(ts["tid"])
        current = int(ts["current"])
        thread = threads.get(tid)
        for g in _listed(ts, "greenlets", reg_off, gs_type, char_p, 10000000):
            status = int(g["state"]["_M_i"])
            gr = _Greenlet()
            gr.ptr = int(g)
            gr.id = int(g["id"])
            gr.name = g["name"].string(length=32).split("\0")[0]
            gr.thread = thread
            gr.tid = tid
            gr.is_main = bool(g["is_main"])
            parent = g["parent"]
            gr.parent = int(parent["id"]) if int(parent) != 0 else None
            ctx = g["ctx"]
            gr.fctx = int(ctx["fctx_"])
            gr.stack_lo = int(ctx["stack_bottom_"])
            gr.stack_size = int(ctx["stack_size_"])
            gr.finished = status == 2
            if gr.ptr == current:
                gr.state = "current"
            elif status == 2 or int(ctx["eh_"]["uncaught_exceptions"]) != 0:
                gr.state = "dying"  # finished, or switched away while unwinding
            else:
                gr.state = "suspended"
            gr.layout = layout
            result.append(gr)
        # Unstarted: no stack, no context. An entry whose greenlet has
        # started meanwhile (on another thread, after a set_parent() there)
        # waits for this thread to unlink it; its other list shows it.
        for g in _listed(ts, "unstarted", ureg_off, gs_type, char_p, 10000000):
            if int(g["state"]["_M_i"]) != 0:
                continue
            gr = _Greenlet()
            gr.ptr = int(g)
            gr.id = int(g["id"])
            gr.name = g["name"].string(length=32).split("\0")[0]
            gr.thread = thread
            gr.tid = tid
            gr.is_main = False
            parent = g["parent"]
            gr.parent = int(parent["id"]) if int(parent) != 0 else None
            gr.fctx = 0
            gr.stack_lo = 0
            gr.stack_size = 0
            gr.finished = False
            gr.state = "unstarted"
            gr.layout = layout
            result.append(gr)
        ts = ts["debug_next"]
    return result


def _listed(ts, head_name, off, gs_type, char_p, limit):
    """The greenlet_states on thread_state `ts`'s registry list `head_name`,
    whose links are `off` bytes into each state."""
    head = int(ts[head_name].address)
    link = ts[head_name]["next"]
    count = 0
    while int(link) != head and count < limit:
        count += 1
        yield (link.cast(char_p) - off).cast(gs_type.pointer())
        link = link["next"]


def _find(key):
    """The greenlet whose id, or else whose name, is `key`."""
    gs = _greenlets()
    try:
        gid = int(key, 0)
        match = [g for g in gs if g.id == gid]
    except ValueError:
        match = [g for g in gs if g.name == key]
        if len(match) > 1:
            raise gdb.GdbError("%d greenlets are named '%s': give an id (see `info greenlets`)" %
                               (len(match), key))
    if not match:
        raise gdb.GdbError("no greenlet %s (see `info greenlets`)" % key)
    return match[0]


class _Unwinder(gdb.unwinder.Unwinder):
    """Unwinds the innermost frame of the selected greenlet's thread into the
    registers its last switch saved."""

    def __init__(self):
        super().__init__("green greenlets")
        self.selected = None  # (gdb global thread number, greenlet)

    def __call__(self, pending_frame):
        sel = self.selected
        if sel is None or pending_frame.level() != 0:
            return None
        thread = gdb.selected_thread()
        if thread is None or thread.global_num != sel[0]:
            return None
        g = sel[1]
        lay = g.layout
        u64 = gdb.lookup_type("unsigned long")

        class FrameId:
            def __init__(self, sp, pc):
                self.sp = sp
                self.pc = pc

        info = pending_frame.create_unwind_info(
            FrameId(pending_frame.read_register("rsp"), pending_frame.read_register("rip")))
        for name in _REGS:
            info.add_saved_register(name, gdb.Value(_u64(g.fctx + lay[name])).cast(u64))
        info.add_saved_register("rip", gdb.Value(_u64(g.fctx + lay["rip"])).cast(u64))
        info.add_saved_register("rsp", gdb.Value(g.fctx + lay["size"]).cast(u64))
        return info


def _unwinder():
    return getattr(gdb, "_green_unwinder", None)


def _select(g):
    if g.thread is None:
        raise gdb.GdbError("greenlet %d's thread (LWP %d) is not known to gdb" % (g.id, g.tid))
    if g.state == "unstarted":
        raise gdb.GdbError("greenlet %d has not started: it has no stack and no frames yet" % g.id)
    if g.state == "current":
        raise gdb.GdbError("greenlet %d is running on thread %d: its frames are the thread's own "
                           "(`thread %d`, then `bt`)" % (g.id, g.thread.num, g.thread.num))
    if g.finished:
        raise gdb.GdbError("greenlet %d has finished (its stack is about to be given back): it "
                           "has no frames to show" % g.id)
    if g.fctx == 0:
        raise gdb.GdbError("greenlet %d has no saved context" % g.id)
    if g.layout["size"] == 0:
        raise gdb.GdbError("green does not know where a switch saves registers on this platform "
                           "(only x86-64 System V): no backtraces of suspended greenlets")
    g.thread.switch()
    _unwinder().selected = (g.thread.global_num, g)
    gdb.invalidate_cached_frames()


def _deselect():
    u = _unwinder()
    if u is not None and u.selected is not None:
        u.selected = None
        gdb.invalidate_cached_frames()


def _describe(g):
    name = " '%s'" % g.name if g.name else ""
    return "greenlet %d%s" % (g.id, name)


class InfoGreenlets(gdb.Command):
    """List every greenlet of every thread: id, thread, state, parent, stack
used/size, name. `*` marks each thread's running greenlet. Greenlets not yet
started are listed as unstarted, with no stack (docs/semantics.md G15)."""

    def __init__(self):
        super().__init__("info greenlets", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        gs = _greenlets()
        sel = _unwinder().selected if _unwinder() else None
        print("  %-6s %-6s %-8s %-10s %-7s %-16s %s" % ("Id", "Thread", "LWP", "State", "Parent",
                                                     "Stack used/size", "Name"))
        for g in gs:
            thread = str(g.thread.num) if g.thread else "?"
            stack = "-"
            if g.stack_size:
                top = g.stack_lo + g.stack_size
                sp = None
                if g.state == "current" and g.thread is not None:
                    sp = _thread_sp(g.thread)  # frame #0 is real, selection or not
                elif g.fctx and g.layout["size"]:
                    sp = g.fctx + g.layout["size"]
                if sp is not None and g.stack_lo <= sp <= top:
                    stack = "%d/%d" % (top - sp, g.stack_size)
                else:
                    stack = "?/%d" % g.stack_size
            mark = "*" if g.state == "current" else " "
            if sel is not None and sel[1].ptr == g.ptr:
                mark = ">"
            parent = str(g.parent) if g.parent is not None else "-"
            print("%s %-6d %-6s %-8d %-10s %-7s %-16s %s" % (mark, g.id, thread, g.tid, g.state,
                                                           parent, stack, g.name))


class GreenletPrefix(gdb.Command):
    """Commands for green's greenlets: greenlet bt, greenlet frame (and
`info greenlets`)."""

    def __init__(self):
        super().__init__("greenlet", gdb.COMMAND_STACK, prefix=True)


_FRAME_LINE = re.compile(r"^#(\d+)(\s+)")


def _renumbered_bt(full):
    text = gdb.execute("bt full" if full else "bt", to_string=True)
    out = []
    started = False
    trampoline_seen = False
    for line in text.splitlines():
        m = _FRAME_LINE.match(line)
        if m:
            level = int(m.group(1))
            if level == 0:
                continue
            started = True
            number = "#%d" % (level - 1)
            line = number + " " * max(1, len(m.group(0)) - len(number)) + line[m.end():]
        elif not started:
            continue  # frame #0's locals (bt full)
        if m and trampoline_seen:
            break  # below a greenlet's first frame: Boost's make_fcontext, then nothing
        if m and "machine_context::trampoline" in line:
            trampoline_seen = True
        out.append(line)
    return "\n".join(out)


def _with_selection(g, fn):
    old_thread = gdb.selected_thread()
    u = _unwinder()
    old_sel = u.selected
    try:
        _select(g)
        return fn()
    finally:
        u.selected = old_sel
        gdb.invalidate_cached_frames()
        if old_thread is not None and old_thread.is_valid():
            old_thread.switch()


class GreenletBt(gdb.Command):
    """greenlet bt ID [full]: the backtrace of suspended greenlet ID, as if it
ran: #0 is where it switched away. greenlet bt all: every suspended one."""

    def __init__(self):
        super().__init__("greenlet bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        if not args:
            raise gdb.GdbError("usage: greenlet bt ID [full] | greenlet bt all [full]")
        full = len(args) > 1 and args[1] == "full"
        if args[0] == "all":
            for g in _greenlets():
                print("\n%s (thread %s, %s):" % (_describe(g), g.thread.num if g.thread else "?",
                                                g.state))
                if g.state == "current":
                    print("  running: see `thread %s` then `bt`" %
                          (g.thread.num if g.thread else "?"))
                    continue
                if g.state == "unstarted":
                    print("  not started: no frames yet")
                    continue
                print(_with_selection(g, lambda: _renumbered_bt(full)))
            return
        g = _find(args[0])
        print(_with_selection(g, lambda: _renumbered_bt(full)))


class GreenletFrame(gdb.Command):
    """greenlet frame ID [N | FUNCTION]: select suspended greenlet ID's thread
and its frame N (default 0, where it switched away), or its innermost frame
in FUNCTION. gdb numbers its frames from 1
while a greenlet is selected (#0 is where the thread really is), so `frame
N+1`, `up`, `down`, `info locals` and `p` then work on the greenlet.
greenlet frame off: back to the thread's own frames."""

    def __init__(self):
        super().__init__("greenlet frame", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        if not args:
            raise gdb.GdbError("usage: greenlet frame ID [N] | greenlet frame off")
        if args[0] == "off":
            _deselect()
            gdb.execute("frame 0")
            return
        g = _find(args[0])
        where = args[1] if len(args) > 1 else "0"
        _select(g)
        level = None
        if where.isdigit():
            level = int(where) + 1
        else:
            frame, n = gdb.newest_frame().older(), 1
            while frame is not None:
                name = frame.name() or ""
                if name == where or name.endswith("::" + where):
                    level = n
                    break
                frame, n = frame.older(), n + 1
            if level is None:
                _deselect()
                raise gdb.GdbError("%s has no frame in a function named %s" % (_describe(g), where))
        print("[%s on thread %d; its frame %d is gdb's frame %d; `greenlet frame off` to leave]" %
              (_describe(g), g.thread.num, level - 1, level))
        gdb.execute("frame %d" % level)


def _on_resume(event):
    # Saved contexts change once the program runs: forget the selection.
    u = _unwinder()
    if u is not None:
        u.selected = None


def _register():
    old = getattr(gdb, "_green_resume_handler", None)
    if old is not None:
        gdb.events.cont.disconnect(old)
    gdb._green_unwinder = _Unwinder()
    gdb.unwinder.register_unwinder(None, gdb._green_unwinder, replace=True)
    gdb._green_resume_handler = _on_resume
    gdb.events.cont.connect(_on_resume)
    InfoGreenlets()
    GreenletPrefix()
    GreenletBt()
    GreenletFrame()


_register()
