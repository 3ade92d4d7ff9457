// Switching: how a switch picks its target (greenlet's g_switch loop), how a
// greenlet starts and ends (the trampoline), and what arrives on the
// receiving side.
//
// Invariants worth knowing before touching this file:
//   * An exception never unwinds across machine_context::switch_to(). It is
//     caught where it was thrown (entry() or the throw_() caller), carried as
//     std::exception_ptr in greenlet_state::in_exc, and rethrown by arrive()
//     on the receiving stack.
//   * A value in flight (in_value) points into the sender's stack. The sender
//     may be dead and its stack is released in arrive(), so arrive() takes
//     the payload FIRST, then releases the stack.
//   * Anything that can run user code (trace function, kills) runs after the
//     payload was taken, because it may switch and overwrite in_value.

#include <cxxabi.h>

#include <cstdio>
#include <exception>
#include <optional>

#include "green/greenlet.hpp"
#include "overflow.hpp"
#include "runtime.hpp"

namespace green::detail {

namespace {

// exit_value() is the value a greenlet_exit turns into (G4.3, G5.6), or
// nothing if `e` holds another exception.
std::optional<value> exit_value(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const greenlet_exit& ex) {
    return value(ex);
  } catch (...) {
    return std::nullopt;
  }
}

void check_switch_allowed(thread_state& ts, greenlet_state* target) {
  thread_record* owner = target->thread.load(std::memory_order_acquire);
  if (__builtin_expect(owner == ts.rec, 1)) return;
  if (owner == nullptr) owner = lineage_owner(target);
  if (owner != ts.rec) throw_wrong_thread(target, owner, "switch to");
}

void entry(machine_context* self_ctx, machine_context* from_ctx) noexcept;

// start() gives an unstarted greenlet its stack, so the next jump runs entry().
// Throws before changing anything, so a failed start leaves it unstarted.
void start(thread_state& ts, greenlet_state* t) {
  if (!t->run) {
    throw attribute_error(describe(t) +
                          " has no function to run: create it with a callable, or call set_run() "
                          "before switching to it (Python: AttributeError: run)");
  }
  ts.pool.acquire(t->stack_opts, t->stack);
  if (t->stack.guard != 0) install_overflow_handler();
  // Stacks are page aligned, so the hot top frames of many greenlets would
  // map to the same L1 sets; staggering the top by 64-byte steps (at most
  // 960 bytes, inside the page that is touched anyway) avoids the aliasing.
  const std::size_t stagger = (t->id % 16) * 64;
  t->ctx.prepare(t->stack.top() - stagger, t->stack.usable() - stagger, &entry);
  // No reference on the thread record: a started greenlet's parent chain
  // always ends at its own thread's main greenlet (started greenlets only
  // take parents of their thread), and main holds the record.
  t->thread.store(ts.rec, std::memory_order_release);
  t->state.store(status::active, std::memory_order_release);
  // Listed as unstarted only by its lineage's thread, which starts it.
  if (t->listed) unlist_to_start(t);
  registry_add(ts, t);
}

void call_trace(thread_state& ts, trace_event ev, greenlet_state* from, greenlet_state* to,
                std::exception_ptr& pending) noexcept {
  trace_function fn = ts.trace;  // a copy: the callback may call settrace()
  try {
    fn(ev, from->self, to->self);
  } catch (...) {
    // G11.4: a failing tracer is removed and its error replaces whatever
    // was being delivered.
    ts.trace = nullptr;
    ts.tracing = false;
    pending = std::current_exception();
  }
}

// release_dead_stack() gives a dead greenlet's stack back to the pool, once
// nothing on it is needed any more.
inline void release_dead_stack(thread_state& ts, greenlet_state* dead) noexcept {
  if (dead->stack) {
    registry_unlink(dead);  // its thread lives: it runs this
    dead->ctx.retire();
    ts.pool.release(dead->stack);
  }
}

// arrive_slow() handles what a plain switch never needs: a pending
// exception, a dead or orphaned origin, a trace function.
[[gnu::noinline]] value arrive_slow(thread_state& ts, greenlet_state* self, greenlet_state* from,
                                    value* src) {
  // The end of a spawned greenlet: it only died, and returned a value.
  if (__builtin_expect(!(self->has_exc | from->orphaned | ts.tracing) && src != nullptr, 1)) {
    value v(std::move(*src));  // before the stack it lives on goes
    release_dead_stack(ts, from);
    return v;
  }
  value v;
  if (src != nullptr) v = std::move(*src);
  std::exception_ptr e;
  if (self->has_exc) {
    e = std::move(self->in_exc);
    self->in_exc = nullptr;
    self->has_exc = false;
  }
  // The payload is taken: now the origin's stack may go.
  if (from->state.load(std::memory_order_relaxed) == status::dead) release_dead_stack(ts, from);
  // An orphan (last handle dropped while it ran) is held by a temporary
  // reference until the tracer has seen it, then released, which kills it
  // if it is suspended and frees it if it is dead.
  const bool orphan = from->orphaned;
  if (orphan) {
    from->orphaned = false;
    retain(from);
  }
  if (ts.tracing) {
    call_trace(ts, e ? trace_event::throw_ : trace_event::switch_, from, self, e);
  }
  if (orphan) release(from);
  if (e) std::rethrow_exception(e);
  return v;
}

// plain_arrival() is true when a switch into `self` from `from` needs none
// of arrive_slow()'s work: the test on every switch's receiving side.
inline bool plain_arrival(const thread_state& ts, const greenlet_state* self,
                          const greenlet_state* from) noexcept {
  return __builtin_expect(!(self->has_exc | from->orphaned | ts.tracing |
                            (from->state.load(std::memory_order_relaxed) == status::dead)),
                          1);
}

// arrive() runs in `self` right after a switch into it, from `from`, and
// produces what its switch_() returns.
inline value arrive(thread_state& ts, greenlet_state* self, greenlet_state* from) {
  value* src = std::exchange(self->in_value, nullptr);
  if (!plain_arrival(ts, self, from)) return arrive_slow(ts, self, from, src);
  if (src == nullptr) return value();
  return value(std::move(*src));
}

void set_current(thread_state& ts, greenlet_state* g) noexcept {
  ts.current = g;
  ts.rec->current.store(g, std::memory_order_relaxed);
}

[[gnu::noinline]] switch_transfer switch_out_slow(greenlet_state* t, value* payload);

// switch_out_cold() is switch_out() for anything but a switch to a running
// greenlet. A function of its own (entered by a tail call), so that the hot
// path saves no registers for start()'s call.
[[gnu::noinline]] switch_transfer switch_out_cold(greenlet_state* t, value* payload) {
  thread_state* ts = tls_state;
  // A spawn's first switch: an unstarted greenlet whose parent runs on this
  // thread (so do_switch()'s checks pass) starts here with a tail jump, and
  // its end comes back through switch_in() like any other switch.
  if (__builtin_expect(t != nullptr && ts != nullptr, 1)) {
    thread_record* rec = ts->rec;
    if (__builtin_expect(
            t->state.load(std::memory_order_relaxed) == status::unstarted && t->parent != nullptr &&
                t->parent->thread.load(std::memory_order_relaxed) == rec && t->run != nullptr &&
                !rec->has_deleteme.load(std::memory_order_relaxed),
            1)) {
      start(*ts, t);  // may throw: nothing has changed yet
      greenlet_state* self = ts->current;
      t->in_value = payload;
      set_current(*ts, t);
      void* to_fctx = self->ctx.prepare_leave(t->ctx);
      return jump_as_transfer()(to_fctx, &self->ctx);
    }
  }
  return switch_out_slow(t, payload);
}

}  // namespace

// switch_out() is greenlet::switch_value()'s first half. Fast path: an
// active greenlet of this thread that is not the caller, no deferred kills
// pending; it ends in a tail jump (see prepare_leave()). Everything else goes through
// do_switch(), which finishes the whole switch here and leaves the result in
// *payload for switch_in().
switch_transfer switch_out(greenlet_state* t, value* payload) {
  thread_state* ts = tls_state;
  if (__builtin_expect(t != nullptr && ts != nullptr, 1)) {
    thread_record* rec = ts->rec;
    greenlet_state* self = ts->current;
    if (__builtin_expect(t->thread.load(std::memory_order_relaxed) == rec &&
                             t->state.load(std::memory_order_relaxed) == status::active &&
                             t != self && !rec->has_deleteme.load(std::memory_order_relaxed),
                         1)) {
      t->in_value = payload;
      set_current(*ts, t);
      void* to_fctx = self->ctx.prepare_leave(t->ctx);
      return jump_as_transfer()(to_fctx, &self->ctx);
    }
  }
  return switch_out_cold(t, payload);
}

namespace {
[[gnu::noinline]] switch_transfer switch_out_noting_slow(greenlet_state* t,
                                                         const greenlet** leaving) {
  *leaving = &greenlet::current();  // creates the thread's state, or throws
  return switch_out(t, nullptr);
}
}  // namespace

switch_transfer switch_out_noting(greenlet_state* t, const greenlet** leaving) {
  thread_state* ts = tls_state;
  if (__builtin_expect(ts == nullptr, 0)) return switch_out_noting_slow(t, leaving);
  *leaving = &ts->current->self;
  return switch_out(t, nullptr);  // tail calls: no `ret` crosses the stacks
}

namespace {
// The cold ends of switch_in(), out of line and entered by tail calls, so
// that its hot path needs no stack frame: a finished slow switch's result,
// and a payload whose move is not a copy of its bytes.
[[gnu::noinline]] value take_result(value* payload) { return std::move(*payload); }
[[gnu::noinline]] value take_payload(value* src) { return value(std::move(*src)); }
}  // namespace

value switch_in(switch_transfer t, value* payload) {
  if (__builtin_expect(t.fctx == nullptr, 0)) return take_result(payload);
  thread_state& ts = *tls_state;
  greenlet_state* self = ts.current;
  greenlet_state* from = greenlet_state::of(machine_context::arrived(t, &self->ctx));
  value* src = std::exchange(self->in_value, nullptr);
  if (!plain_arrival(ts, self, from)) return arrive_slow(ts, self, from, src);
  if (src == nullptr) return value();
  if (__builtin_expect(!value_access::moves_by_copy(*src), 0)) return take_payload(src);
  return value(std::move(*src));
}

void switch_in_void(switch_transfer t) {
  if (__builtin_expect(t.fctx == nullptr, 0)) return;
  thread_state& ts = *tls_state;
  greenlet_state* self = ts.current;
  greenlet_state* from = greenlet_state::of(machine_context::arrived(t, &self->ctx));
  value* src = std::exchange(self->in_value, nullptr);
  if (!plain_arrival(ts, self, from)) (void)arrive_slow(ts, self, from, src);
}

namespace {

switch_transfer switch_out_slow(greenlet_state* t, value* payload) {
  if (t == nullptr) throw_empty_handle();
  value result = do_switch(thread_state::get(), t, payload, nullptr);
  if (payload != nullptr) *payload = std::move(result);
  return switch_transfer{nullptr, nullptr};
}

}  // namespace

// do_switch(): see runtime.hpp.
[[gnu::noinline]] value do_switch(thread_state& ts, greenlet_state* target, value* payload,
                                  std::exception_ptr* exc) {
  check_switch_allowed(ts, target);
  greenlet_state* self = ts.current;
  greenlet_state* t = target;
  value converted;
  if (__builtin_expect(t->state.load(std::memory_order_relaxed) == status::dead, 0)) {
    // G5.6: a greenlet_exit aimed at a dead greenlet is a value.
    if (exc != nullptr) {
      if (std::optional<value> v = exit_value(*exc)) {
        converted = std::move(*v);
        payload = &converted;
        exc = nullptr;
      }
    }
    // G3.5: a dead target passes the payload to its parent chain. The
    // main greenlet never dies while its thread runs, so this ends.
    do {
      t = t->parent;
    } while (t->state.load(std::memory_order_relaxed) == status::dead);
  }
  if (__builtin_expect(t == self, 0)) {
    // G3.6: switching to yourself delivers at once (and is traced).
    value v;
    if (payload != nullptr) v = std::move(*payload);
    std::exception_ptr e;
    if (exc != nullptr) e = *exc;
    if (ts.tracing) call_trace(ts, e ? trace_event::throw_ : trace_event::switch_, self, self, e);
    if (e) std::rethrow_exception(e);
    return v;
  }
  if (__builtin_expect(t->state.load(std::memory_order_relaxed) == status::unstarted, 0)) {
    // check_switch_allowed() vetted `target`; a dead target's parent chain
    // may still lead to an unstarted greenlet of another thread.
    if (t != target) {
      thread_record* owner = lineage_owner(t);
      if (owner != ts.rec) throw_wrong_thread(t, owner, "start");
    }
    start(ts, t);
  }
  t->in_value = payload;
  if (__builtin_expect(exc != nullptr, 0)) {
    t->in_exc = std::move(*exc);
    t->has_exc = true;
  }
  set_current(ts, t);
  machine_context* from = self->ctx.switch_to(t->ctx);
  return arrive(ts, self, greenlet_state::of(from));
}

namespace {

// finish() sends a dead greenlet's result up its parent chain (G4.1, G4.4-G4.6):
// dead parents are skipped, an unstarted parent is started with the result,
// and a parent that cannot start passes the failure on to its own parent.
[[noreturn]] void finish(thread_state& ts, greenlet_state* self, value& result,
                         std::exception_ptr& err) noexcept {
  self->state.store(status::dead, std::memory_order_release);
  greenlet_state* p = self->parent;
  for (;;) {
    if (p == nullptr) {
      std::fprintf(stderr, "green: fatal: ran out of parent greenlets while finishing %s\n",
                   describe(self).c_str());
      std::abort();
    }
    status st = p->state.load(std::memory_order_relaxed);
    if (st == status::dead) {
      p = p->parent;
      continue;
    }
    if (st == status::unstarted) {
      try {
        if (lineage_owner(p) != ts.rec) throw_wrong_thread(p, lineage_owner(p), "start");
        start(ts, p);
      } catch (...) {
        err = std::current_exception();
        result.reset();
        p = p->parent;
        continue;
      }
    }
    break;
  }
  p->in_value = &result;
  if (err) {
    p->in_exc = std::move(err);
    p->has_exc = true;
  }
  set_current(ts, p);
  self->ctx.exit_to(p->ctx);
}

// entry() is the bottom frame of every greenlet stack.
void entry(machine_context* self_ctx, machine_context* from_ctx) noexcept {
  thread_state& ts = *tls_state;
  greenlet_state* self = greenlet_state::of(self_ctx);
  // The result is constructed in place by invoke()'s return (no default
  // construction, move assignment and temporary: about 25 instructions of
  // every spawn). It is never destroyed here: finish() does not return, and
  // the receiver moves the value out before this stack is released.
  alignas(value) unsigned char result_bytes[sizeof(value)];
  value* result = nullptr;
  std::exception_ptr err;
  try {
    // Python drops `run` when the greenlet dies: the callable's destructor
    // runs here, on the greenlet's own stack, also when it never ran
    // because an exception was thrown in before the start (G2.8, G5.4).
    struct run_guard {
      greenlet_state* g;
      ~run_guard() { g->destroy_run(); }
    } guard{self};
    value args = arrive(ts, self, greenlet_state::of(from_ctx));
    result = ::new (result_bytes) value(self->run->invoke(std::move(args)));
  } catch (const greenlet_exit& ex) {
    // G4.3: an escaping greenlet_exit is a value. (Nothing after the
    // result's construction can throw: destroy_run() is noexcept.)
    result = ::new (result_bytes) value(ex);
  } catch (abi::__forced_unwind&) {
    std::fprintf(stderr,
                 "green: fatal: pthread_exit() or thread cancellation inside %s; a greenlet "
                 "stack cannot be unwound past its bottom. Return to the main greenlet first.\n",
                 describe(self).c_str());
    std::abort();
  } catch (...) {
    result = ::new (result_bytes) value();
    err = std::current_exception();
  }
  finish(ts, self, *result, err);
}

}  // namespace

}  // namespace green::detail
