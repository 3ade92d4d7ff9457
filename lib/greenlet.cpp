// The greenlet runtime: how a switch picks its target (greenlet's g_switch
// loop), how a greenlet starts and ends (the trampoline), and how a greenlet
// whose last handle goes away is killed (spec 1.14).
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

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "greenlet_state.hpp"

namespace green {
namespace detail {

thread_local thread_state* tls_state [[gnu::tls_model("initial-exec")]] = nullptr;

namespace {

thread_local bool tls_torn_down = false;

struct thread_state_owner {
  thread_state* state = nullptr;
  ~thread_state_owner() { delete state; }
};
thread_local thread_state_owner tls_owner;

std::atomic<std::uint64_t> g_next_id{1};
// green::debug's count of live greenlet states. Counting costs two atomic
// read-modify-writes per greenlet (about 12 ns here), so it is off unless a
// test or a user turns it on.
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_live{0};
// Main greenlets are always counted: one atomic operation per thread.
std::atomic<std::size_t> g_live_mains{0};

// Ids come from per-thread batches: one atomic operation per 1024 greenlets.
std::uint64_t next_id() noexcept {
  constexpr std::uint64_t kBatch = 1024;
  static thread_local std::uint64_t next [[gnu::tls_model("initial-exec")]] = 0;
  static thread_local std::uint64_t end [[gnu::tls_model("initial-exec")]] = 0;
  if (next == end) {
    next = g_next_id.fetch_add(kBatch, std::memory_order_relaxed);
    end = next + kBatch;
  }
  return next++;
}

std::mutex g_hook_mutex;
unraisable_hook g_unraisable;

const char* kKillMessage = "Killing the greenlet because all references have vanished.";
// How often a greenlet killed on its last handle that keeps switching away
// while it unwinds is resumed before it is given up (kept as a zombie).
constexpr int kMaxUnwindResumes = 1000;

std::string describe(const greenlet_state* g) {
  std::string s = "greenlet #" + std::to_string(g->id);
  if (g->name[0] != '\0') s += " '" + std::string(g->name) + "'";
  return s;
}

std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return std::string(ex.what());
  } catch (const greenlet_exit& ex) {
    return "green::greenlet_exit(" + ex.message() + ")";
  } catch (const generator_exit&) {
    return "green::generator_exit";
  } catch (...) {
    return "an exception of a type not derived from std::exception";
  }
}

void report_unraisable(std::exception_ptr e, greenlet_state* g) noexcept {
  green::report_unraisable(std::move(e), g->self, ("killing " + describe(g)).c_str());
}

// exit_value() is the value a greenlet_exit turns into (spec 1.5, 1.6), or
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

thread_record* lineage_owner(greenlet_state* g) noexcept {
  for (; g != nullptr; g = g->parent) {
    if (thread_record* t = g->thread.load(std::memory_order_acquire)) return t;
  }
  return nullptr;
}

// queue_to_owner() hands `g` to `list` of its owner thread's record, which
// that thread works through at its next green call (process_deleteme()).
// False, and nothing queued, if the owner has exited.
bool queue_to_owner(thread_record* owner, std::vector<greenlet_state*> thread_record::*list,
                    greenlet_state* g) noexcept {
  std::lock_guard<std::mutex> lock(owner->deleteme_mutex);
  if (!owner->alive.load(std::memory_order_relaxed)) return false;
  (owner->*list).push_back(g);
  owner->has_deleteme.store(true, std::memory_order_release);
  return true;
}

// Parent links (see greenlet_state::local_links). Every spawn takes a link
// to its parent and every destruction drops one; as atomic read-modify-writes
// on the parent's count they were the largest single cost of a spawn (about
// 15 ns of 90 here), because every spawned greenlet shares one parent.
//
// acquire_link() takes a link to `p` for a new child and says whether it is
// a local one.
bool acquire_link(greenlet_state* p) noexcept {
  thread_state* ts = tls_state;
  if (ts != nullptr && p->thread.load(std::memory_order_relaxed) == ts->rec) {
    if (p->local_links++ == 0) retain(p);
    return true;
  }
  retain(p);  // p is unstarted or belongs to another thread
  return false;
}

// drop_local_link_after_exit() drops a local link to `p`, whose thread has
// exited (or is exiting), under the record's mutex.
void drop_local_link_after_exit(thread_record* owner, greenlet_state* p) noexcept {
  std::unique_lock<std::mutex> lock(owner->deleteme_mutex);
  const bool last = --p->local_links == 0;
  lock.unlock();
  if (last) release(p);
}

// release_link() drops a child's link to `p`, on any thread.
void release_link(greenlet_state* p, bool local) noexcept {
  if (!local) {
    release(p);
    return;
  }
  thread_record* owner = p->thread.load(std::memory_order_relaxed);
  thread_state* ts = tls_state;
  if (__builtin_expect(ts != nullptr && ts->rec == owner, 1)) {
    if (--p->local_links == 0) release(p);
    return;
  }
  // The owner may be counting right now: it drops the link itself.
  if (queue_to_owner(owner, &thread_record::link_releases, p)) return;
  drop_local_link_after_exit(owner, p);
}

[[noreturn]] void throw_wrong_thread(greenlet_state* g, thread_record* owner, const char* what) {
  if (owner != nullptr && !owner->alive.load(std::memory_order_acquire)) {
    throw greenlet_error(
        "cannot " + std::string(what) + " " + describe(g) +
        ": it belongs to a different thread, which has exited. Its greenlets are dead "
        "(Python: greenlet.error: cannot switch to a different thread (which happens to "
        "have exited))");
  }
  throw greenlet_error(
      "cannot " + std::string(what) + " " + describe(g) +
      ": it belongs to a different thread. A greenlet only runs on the thread that "
      "started it; hand the work to that thread instead (Python: greenlet.error: cannot "
      "switch to a different thread)");
}

void check_switch_allowed(thread_state& ts, greenlet_state* target) {
  thread_record* owner = target->thread.load(std::memory_order_acquire);
  if (__builtin_expect(owner == ts.rec, 1)) return;
  if (owner == nullptr) owner = lineage_owner(target);
  if (owner != ts.rec) throw_wrong_thread(target, owner, "switch to");
}

[[noreturn]] void throw_empty_handle() {
  throw error("operation on an empty green::greenlet handle (it was moved from)");
}

void destroy_state(greenlet_state* g) noexcept;
void last_reference_gone(greenlet_state* g) noexcept;
value do_switch(thread_state& ts, greenlet_state* target, value* payload, std::exception_ptr* exc);
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
}

void call_trace(thread_state& ts, trace_event ev, greenlet_state* from, greenlet_state* to,
                std::exception_ptr& pending) noexcept {
  trace_function fn = ts.trace;  // a copy: the callback may call settrace()
  try {
    fn(ev, from->self, to->self);
  } catch (...) {
    // Spec 1.15: a failing tracer is removed and its error replaces whatever
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

// do_switch() is greenlet's g_switch: pick the real target, start it if
// needed, deliver the payload (or the exception *exc) and jump.
[[gnu::noinline]] value do_switch(thread_state& ts, greenlet_state* target, value* payload,
                                  std::exception_ptr* exc) {
  check_switch_allowed(ts, target);
  greenlet_state* self = ts.current;
  greenlet_state* t = target;
  value converted;
  if (__builtin_expect(t->state.load(std::memory_order_relaxed) == status::dead, 0)) {
    // Spec 1.6: a greenlet_exit aimed at a dead greenlet is a value.
    if (exc != nullptr) {
      if (std::optional<value> v = exit_value(*exc)) {
        converted = std::move(*v);
        payload = &converted;
        exc = nullptr;
      }
    }
    // Spec 1.4: a dead target passes the payload to its parent chain. The
    // main greenlet never dies while its thread runs, so this ends.
    do {
      t = t->parent;
    } while (t->state.load(std::memory_order_relaxed) == status::dead);
  }
  if (__builtin_expect(t == self, 0)) {
    // Spec 1.4: switching to yourself delivers at once (and is traced).
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

// finish() sends a dead greenlet's result up its parent chain (spec 1.5):
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
    // because an exception was thrown in before the start (spec 1.5, 1.6).
    struct run_guard {
      greenlet_state* g;
      ~run_guard() { g->destroy_run(); }
    } guard{self};
    value args = arrive(ts, self, greenlet_state::of(from_ctx));
    result = ::new (result_bytes) value(self->run->invoke(std::move(args)));
  } catch (const greenlet_exit& ex) {
    // Spec 1.5: an escaping greenlet_exit is a value. (Nothing after the
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

void kill_on_last_handle(thread_state& ts, greenlet_state* g) noexcept {
  // Spec 1.14: resurrect for the duration, make the freeing greenlet the
  // parent, throw greenlet_exit in, then look at the outcome.
  g->refs.store(1, std::memory_order_relaxed);
  greenlet_state* old_parent = g->parent;
  const bool old_local = g->link_local;
  g->parent = ts.current;
  g->link_local = acquire_link(ts.current);
  try {
    std::exception_ptr exit = std::make_exception_ptr(greenlet_exit(kKillMessage));
    do_switch(ts, g, nullptr, &exit);
  } catch (...) {
    report_unraisable(std::current_exception(), g);
  }
  // A destructor (or a handler) that runs while greenlet_exit unwinds g
  // switched away. Nothing else holds g, so nothing else could resume it,
  // and its stack, with the exception objects in flight on it, would be
  // dropped half unwound. Resume it until it has finished unwinding; its
  // switch returns an empty value.
  for (int resumes = 0; g->state.load(std::memory_order_relaxed) == status::active &&
                        g->refs.load(std::memory_order_acquire) == 1 && g->ctx.unwinding();
       ++resumes) {
    if (resumes == 0 || resumes == kMaxUnwindResumes) {
      std::fprintf(stderr,
                   resumes == 0
                       ? "green: %s switched away while greenlet_exit was unwinding it (a "
                         "destructor or handler switched during the kill); no handle to it is "
                         "left, so it is resumed, with an empty value, until it has unwound. Do "
                         "not switch away from a greenlet that is being killed.\n"
                       : "green: %s still switches away while unwinding after %d resumes; it is "
                         "kept, with its stack, until its thread exits.\n",
                   describe(g).c_str(), resumes);
    }
    if (resumes == kMaxUnwindResumes) break;
    try {
      do_switch(ts, g, nullptr, nullptr);
    } catch (...) {
      report_unraisable(std::current_exception(), g);
    }
  }
  // g may have reparented itself while dying: drop whatever link it has now.
  release_link(g->parent, g->link_local);
  g->parent = old_parent;
  g->link_local = old_local;
  if (g->state.load(std::memory_order_relaxed) == status::active &&
      g->refs.load(std::memory_order_acquire) == 1) {
    if (g->ctx.unwinding()) {  // reported above
      ts.zombies.push_back(g);
      return;
    }
    std::fprintf(stderr,
                 "green: greenlet_exit did not kill %s: it caught the exit and switched away "
                 "without keeping a handle to itself, so it can never be resumed. It is kept, "
                 "with its stack, until its thread exits. Let greenlet_exit propagate, or "
                 "return after cleaning up.\n",
                 describe(g).c_str());
    ts.zombies.push_back(g);  // keeps the reference; dropped unrun at thread exit
    return;
  }
  release(g);
}

// dispose() is what happens to a greenlet whose last reference went: it is
// freed, or killed first (spec 1.13, 1.14).
void dispose(greenlet_state* g) noexcept {
  if (g->state.load(std::memory_order_acquire) != status::active || g->is_main) {
    destroy_state(g);
    return;
  }
  thread_record* owner = g->thread.load(std::memory_order_acquire);
  if (!owner->alive.load(std::memory_order_acquire)) {
    destroy_state(g);  // spec 1.13: a dead thread's greenlets are dropped unrun
    return;
  }
  thread_state* ts = tls_state;
  if (ts == nullptr || ts->rec != owner) {
    // Spec 1.13: killed on its own thread, at that thread's next green call.
    // release() makes the last decrement of a living greenlet on its own
    // thread, so this is only a safety net: the reference comes back, and
    // the owner drops it as a deferred release.
    g->refs.store(1, std::memory_order_relaxed);
    if (!queue_to_owner(owner, &thread_record::deleteme, g)) destroy_state(g);
    return;
  }
  if (g == ts->current) {
    g->orphaned = true;  // killed by whoever it switches to next (arrive())
    return;
  }
  kill_on_last_handle(*ts, g);
}

// The queue of greenlets whose last reference went while a drain ran, one
// per thread; `tls_draining` marks the drain when the thread has no green
// state (another thread, or this one exiting: nothing switches then).
thread_local greenlet_state* tls_gone = nullptr;
thread_local bool tls_draining = false;

// last_reference_gone() disposes of `g`. Freeing a greenlet drops its
// parent link, which can be the parent's last reference, and so on up a
// chain of any length; a kill is the same, one level further. Done by
// recursion, that took stack in proportion to the chain (at -O0, 100,000
// links overflowed main's stack and 600 a 128 KiB greenlet's), and only
// tail calls made it fit. So the first call on a stack becomes the drain:
// greenlets whose last reference goes while it works, on that stack, are
// queued and disposed of by its loop, one after another. Code that runs on
// another greenlet's stack meanwhile (a victim's destructors during a
// kill) drains on its own, from the same queue: whichever drain looks next
// takes an entry, and a drain that queued one looks before it ends.
void last_reference_gone(greenlet_state* g) noexcept {
  thread_state* ts = tls_state;
  bool& draining = ts != nullptr ? ts->current->draining : tls_draining;
  if (draining) {
    g->next_gone = std::exchange(tls_gone, g);
    return;
  }
  draining = true;
  for (;;) {
    dispose(g);
    if (tls_gone == nullptr) break;
    g = std::exchange(tls_gone, tls_gone->next_gone);
    g->next_gone = nullptr;
  }
  draining = false;
}

void destroy_state(greenlet_state* g) noexcept {
  thread_record* owner = g->thread.load(std::memory_order_acquire);
  g->ctx.retire();
  if (g->stack) {
    thread_state* ts = tls_state;
    if (g->ctx.running_on()) {
      // std::exit() was called on this greenlet's stack: its thread's green
      // state is gone, and a static handle to it is being destroyed. Never
      // unmap the stack we run on; the process is ending, so it is leaked.
      g->stack = stack_block{};
    } else if (ts != nullptr && ts->rec == owner) {
      ts->pool.release(g->stack);
    } else {
      unmap_stack(g->stack);
    }
  }
  greenlet_state* parent = g->parent;
  const bool link_local = g->link_local;
  if (g->counted) g_live.fetch_sub(1, std::memory_order_relaxed);
  g->drop_self();
  const bool is_main = g->is_main;
  if (is_main) g_live_mains.fetch_sub(1, std::memory_order_relaxed);
  free_state(g);
  if (parent != nullptr) release_link(parent, link_local);
  if (is_main) owner->release();  // see start(): only main references the record
}

}  // namespace

// A greenlet's state and its function share one allocation:
// [greenlet_state][padding][runnable_impl<F>].
constexpr std::size_t kFnOffset = (sizeof(greenlet_state) + alignof(std::max_align_t) - 1) /
                                  alignof(std::max_align_t) * alignof(std::max_align_t);

greenlet_state* allocate_state(const runnable_factory* fn) {
  const bool inline_fn = fn != nullptr && fn->align <= alignof(std::max_align_t);
  const std::size_t bytes = inline_fn ? kFnOffset + fn->size : sizeof(greenlet_state);
  void* block = nullptr;
  thread_state* ts = tls_state;
  const bool cached_size = bytes <= kCachedBlock;
  if (cached_size && ts != nullptr && !ts->free_blocks.empty()) {
    block = ts->free_blocks.back();
    ts->free_blocks.pop_back();
  } else {
    block = ::operator new(cached_size ? kCachedBlock : bytes);
  }
  auto* s = ::new (block) greenlet_state;
  s->cached_block = cached_size;
  if (fn == nullptr) return s;
  try {
    if (inline_fn) {
      s->run = fn->construct(static_cast<char*>(block) + kFnOffset, fn->fn);
      s->run_inline = true;
    } else {
      void* mem = ::operator new(fn->size, std::align_val_t(fn->align));
      try {
        s->run = fn->construct(mem, fn->fn);
      } catch (...) {
        ::operator delete(mem, std::align_val_t(fn->align));
        throw;
      }
      // Over-aligned functions are rare; they are deleted with the matching operator.
      s->run_inline = false;
    }
  } catch (...) {
    free_state(s);
    throw;
  }
  return s;
}

void free_state(greenlet_state* s) noexcept {
  const bool cached_size = s->cached_block;
  s->~greenlet_state();
  thread_state* ts = tls_state;
  if (cached_size && ts != nullptr && ts->free_blocks.size() < ts->free_blocks_limit) {
    ts->free_blocks.push_back(s);  // capacity reserved: never throws
    return;
  }
  ::operator delete(static_cast<void*>(s));
}

void retain(greenlet_state* g) noexcept { g->refs.fetch_add(1, std::memory_order_relaxed); }

namespace {

// release_foreign() drops a reference to a started greenlet from a thread
// other than its own. Its own thread makes the decrement, at its next green
// call. For a living greenlet: only code on that thread can copy the
// borrowed handle that getcurrent() returns, so a count that reaches zero
// there can never be revived by such a copy afterwards. (Decrementing here,
// a copy made in the greenlet between this drop and the owner's next green
// call made a handle to a greenlet the owner then freed.) For a dead one:
// its thread may still be taking its result off its stack.
[[gnu::noinline]] void release_foreign(greenlet_state* g, thread_record* owner) noexcept {
  if (queue_to_owner(owner, &thread_record::deleteme, g)) return;
  // Its thread has exited: nothing can copy a borrowed handle any more.
  if (g->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) last_reference_gone(g);
}

}  // namespace

void release(greenlet_state* g) noexcept {
  // Acquire: a greenlet seen active has its `thread` set (start() stores it
  // first), also when another thread is starting it right now.
  const status st = g->state.load(std::memory_order_acquire);
  // The sole reference to a greenlet that cannot run (dead or unstarted)
  // needs no atomic decrement: no other handle exists to copy it from, and
  // nothing runs on it that could copy its borrowed current() handle. This
  // saves a locked instruction on every spawn. A running or suspended one
  // takes the ordinary path: its own code may copy current() at any time.
  if (st != status::active) {
    // A dead greenlet's own thread may still be using it: the receiver of
    // its result moves the value off its stack, then gives the stack back,
    // then traces. Only that thread frees it (queued), unless it exited.
    if (st == status::dead) {
      thread_record* owner = g->thread.load(std::memory_order_relaxed);
      thread_state* ts = tls_state;
      if (__builtin_expect(ts == nullptr || ts->rec != owner, 0)) {
        release_foreign(g, owner);
        return;
      }
    }
    if (g->refs.load(std::memory_order_acquire) == 1) {
      last_reference_gone(g);
      return;
    }
  } else {
    thread_record* owner = g->thread.load(std::memory_order_relaxed);
    thread_state* ts = tls_state;
    if (__builtin_expect(ts == nullptr || ts->rec != owner, 0)) {
      release_foreign(g, owner);
      return;
    }
  }
  if (g->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) last_reference_gone(g);
}

runnable::~runnable() = default;

thread_state::thread_state() {
  machine_context::init_thread();
  free_blocks.reserve(free_blocks_limit);
  rec = new thread_record;
  main = new greenlet_state;
  main->is_main = true;
  g_live_mains.fetch_add(1, std::memory_order_relaxed);
  // The thread's own local link (see greenlet_state::local_links) and the
  // reference it holds in refs, besides the thread's reference to main.
  main->local_links = 1;
  main->refs.store(2, std::memory_order_relaxed);
  main->id = next_id();
  std::strcpy(main->name, "main");
  rec->retain();
  main->thread.store(rec, std::memory_order_release);
  main->state.store(status::active, std::memory_order_release);
  current = main;
  rec->current.store(main, std::memory_order_relaxed);
  altstack = make_signal_altstack();
}

thread_state::~thread_state() {
  // Kill what other threads dropped while this thread can still run it.
  process_deleteme();
  std::vector<greenlet_state*> late;
  std::vector<greenlet_state*> late_links;
  {
    std::lock_guard<std::mutex> lock(rec->deleteme_mutex);
    rec->alive.store(false, std::memory_order_release);
    late.swap(rec->deleteme);
    late_links.swap(rec->link_releases);
    rec->has_deleteme.store(false, std::memory_order_relaxed);
  }
  // From here on, local links to this thread's greenlets are counted under
  // the record's mutex, by this thread and others alike.
  tls_state = nullptr;
  tls_torn_down = true;
  for (greenlet_state* g : late_links) drop_local_link_after_exit(rec, g);
  // Releases that came too late to run anything: the thread no longer
  // lives, so a last one frees its greenlet unrun (spec 1.13).
  for (greenlet_state* g : late) release(g);
  // The thread is no longer alive, so releasing these frees them unrun.
  for (greenlet_state* g : zombies) release(g);
  zombies.clear();
  trace = nullptr;
  rec->current.store(nullptr, std::memory_order_relaxed);
  drop_local_link_after_exit(rec, main);
  release(main);
  for (void* b : free_blocks) ::operator delete(b);
  free_signal_altstack(altstack);
  rec->release();
}

[[gnu::noinline]] thread_state& thread_state::get_slow() {
  thread_state* ts = tls_state;
  if (ts == nullptr) {
    if (tls_torn_down) {
      throw runtime_error(
          "green was used on a thread after its green state was destroyed (from a thread_local "
          "or static destructor that ran after thread exit began); create and switch greenlets "
          "before the thread starts exiting");
    }
    ts = new thread_state;
    tls_owner.state = ts;
    tls_state = ts;
  }
  if (ts->rec->has_deleteme.load(std::memory_order_relaxed)) ts->process_deleteme();
  return *ts;
}

void thread_state::process_deleteme() {
  std::vector<greenlet_state*> victims;
  std::vector<greenlet_state*> links;
  {
    std::lock_guard<std::mutex> lock(rec->deleteme_mutex);
    victims.swap(rec->deleteme);
    links.swap(rec->link_releases);
    rec->has_deleteme.store(false, std::memory_order_relaxed);
  }
  for (greenlet_state* p : links) release_link(p, true);
  // References other threads dropped (release_foreign()): the last one
  // kills the greenlet here, on its own thread (spec 1.13).
  for (greenlet_state* g : victims) release(g);
}

}  // namespace detail

using detail::greenlet_state;
using detail::status;
using detail::thread_state;

greenlet::greenlet()
    : greenlet(static_cast<const detail::runnable_factory*>(nullptr), nullptr, {}) {}

greenlet::greenlet(const detail::runnable_factory* fn, const greenlet* parent, stack_options stack)
    : state_(nullptr) {
  thread_state& ts = thread_state::get();
  greenlet_state* p = ts.current;
  if (parent != nullptr) {
    if (parent->state_ == nullptr) detail::throw_empty_handle();
    p = parent->state_;
  }
  greenlet_state* s = detail::allocate_state(fn);
  s->stack_opts = stack;
  s->id = detail::next_id();
  if (detail::g_counting.load(std::memory_order_relaxed)) {
    s->counted = true;
    detail::g_live.fetch_add(1, std::memory_order_relaxed);
  }
  s->link_local = detail::acquire_link(p);
  s->parent = p;
  state_ = s;
}

greenlet::greenlet(const greenlet& other) noexcept : state_(other.state_) {
  if (state_ != nullptr) detail::retain(state_);
}

greenlet& greenlet::operator=(const greenlet& other) noexcept {
  if (other.state_ != nullptr) detail::retain(other.state_);
  greenlet_state* old = std::exchange(state_, other.state_);
  if (old != nullptr) detail::release(old);
  return *this;
}

greenlet& greenlet::operator=(greenlet&& other) noexcept {
  if (this != &other) {
    greenlet_state* old = std::exchange(state_, std::exchange(other.state_, nullptr));
    if (old != nullptr) detail::release(old);
  }
  return *this;
}

greenlet::~greenlet() {
  if (state_ != nullptr) detail::release(state_);
}

greenlet greenlet::from_native(detail::greenlet_state* s) noexcept {
  detail::retain(s);
  return greenlet(s);
}

const greenlet& greenlet::current() { return thread_state::get().current->self; }

const greenlet& getcurrent() { return greenlet::current(); }

const greenlet& getmain() { return thread_state::get().main->self; }

bool thread_state_alive() noexcept {
  return detail::tls_state != nullptr || !detail::tls_torn_down;
}

value greenlet::throw_() const { return throw_(std::make_exception_ptr(greenlet_exit{})); }

value greenlet::throw_(std::exception_ptr ex) const {
  if (state_ == nullptr) detail::throw_empty_handle();
  if (!ex) {
    throw type_error(
        "throw_(): the exception_ptr is empty; pass an exception object or a non-empty "
        "std::exception_ptr (Python: TypeError: exceptions must be classes, or instances)");
  }
  return detail::do_switch(thread_state::get(), state_, nullptr, &ex);
}

std::optional<greenlet> greenlet::parent() const {
  if (state_ == nullptr) detail::throw_empty_handle();
  if (state_->parent == nullptr) return std::nullopt;
  return from_native(state_->parent);
}

void greenlet::set_parent(const greenlet& p) const {
  if (state_ == nullptr || p.state_ == nullptr) {
    throw type_error(
        "set_parent(): empty greenlet handle; a parent must be a greenlet (Python: "
        "TypeError: Expected any type of greenlet)");
  }
  if (state_->is_main) {
    throw attribute_error(
        "set_parent(): cannot set the parent of a main greenlet (Python: "
        "AttributeError: cannot set the parent of a main greenlet)");
  }
  for (greenlet_state* g = p.state_; g != nullptr; g = g->parent) {
    if (g == state_) {
      throw value_error("set_parent(): cyclic parent chain: " + detail::describe(state_) +
                        " would become its own ancestor (Python: ValueError: cyclic parent chain)");
    }
  }
  if (state_->started()) {
    detail::thread_record* mine = state_->thread.load(std::memory_order_acquire);
    detail::thread_state* ts = detail::tls_state;
    if (ts == nullptr || ts->rec != mine) {
      throw greenlet_error("set_parent(): " + detail::describe(state_) +
                           " belongs to a different thread; reparent it from its own thread");
    }
    if (detail::lineage_owner(p.state_) != mine) {
      throw value_error(
          "set_parent(): parent cannot be on a different thread: " + detail::describe(state_) +
          " has started on this thread and " + detail::describe(p.state_) +
          " belongs to another (Python: ValueError: parent cannot be on a different "
          "thread)");
    }
  }
  const bool local = detail::acquire_link(p.state_);
  greenlet_state* old = std::exchange(state_->parent, p.state_);
  const bool old_local = std::exchange(state_->link_local, local);
  detail::release_link(old, old_local);
}

void greenlet::set_runnable(std::unique_ptr<detail::runnable> fn) const {
  if (state_ == nullptr) detail::throw_empty_handle();
  if (state_->is_main) {
    throw attribute_error(
        "set_run(): a main greenlet has no function (Python: AttributeError: Main "
        "greenlets do not have a run attribute)");
  }
  if (state_->started()) {
    throw attribute_error("set_run(): run cannot be set after the start of the greenlet (" +
                          detail::describe(state_) + ")");
  }
  state_->destroy_run();
  state_->run = fn.release();
}

bool greenlet::has_run() const {
  if (state_ == nullptr) detail::throw_empty_handle();
  return state_->run != nullptr && !state_->started();
}

bool greenlet::started() const noexcept { return state_ != nullptr && state_->started(); }

bool greenlet::dead() const noexcept {
  if (state_ == nullptr) return false;
  status st = state_->state.load(std::memory_order_acquire);
  if (st == status::dead) return true;
  if (st == status::unstarted) return false;
  detail::thread_record* t = state_->thread.load(std::memory_order_acquire);
  return t != nullptr && !t->alive.load(std::memory_order_acquire);
}

greenlet::operator bool() const noexcept {
  return state_ != nullptr && state_->state.load(std::memory_order_acquire) == status::active &&
         !dead();
}

bool greenlet::is_main() const noexcept { return state_ != nullptr && state_->is_main; }

std::uint64_t greenlet::id() const noexcept { return state_ == nullptr ? 0 : state_->id; }

void greenlet::set_name(std::string_view name) const {
  if (state_ == nullptr) detail::throw_empty_handle();
  std::size_t n = std::min(name.size(), sizeof(state_->name) - 1);
  std::memcpy(state_->name, name.data(), n);
  state_->name[n] = '\0';
}

std::string greenlet::name() const {
  if (state_ == nullptr) detail::throw_empty_handle();
  return state_->name;
}

trace_function settrace(trace_function fn) {
  thread_state& ts = thread_state::get();
  trace_function old = std::move(ts.trace);
  ts.trace = std::move(fn);
  ts.tracing = static_cast<bool>(ts.trace);
  return old;
}

trace_function gettrace() { return thread_state::get().trace; }

unraisable_hook set_unraisable_hook(unraisable_hook hook) {
  std::lock_guard<std::mutex> lock(detail::g_hook_mutex);
  return std::exchange(detail::g_unraisable, std::move(hook));
}

void report_unraisable(std::exception_ptr ex, const greenlet& where, const char* context) noexcept {
  try {
    unraisable_hook hook;
    {
      std::lock_guard<std::mutex> lock(detail::g_hook_mutex);
      hook = detail::g_unraisable;
    }
    if (hook) {
      hook(ex, where);
      return;
    }
    std::fprintf(stderr, "green: exception ignored while %s: %s\n",
                 context != nullptr ? context : "running a destructor",
                 detail::describe_exception(ex).c_str());
  } catch (...) {
    std::fprintf(stderr, "green: the unraisable hook threw; exception ignored\n");
  }
}

std::size_t debug::live_greenlets() noexcept {
  return detail::g_live.load(std::memory_order_relaxed);
}

std::size_t debug::live_main_greenlets() noexcept {
  return detail::g_live_mains.load(std::memory_order_relaxed);
}

bool debug::current_stack_guarded() noexcept {
  detail::thread_state* ts = detail::tls_state;
  return ts != nullptr && ts->current != nullptr && ts->current->stack.guard != 0;
}

void debug::set_counting(bool on) noexcept {
  detail::g_counting.store(on, std::memory_order_relaxed);
}

stack_stats get_stack_stats() noexcept {
  detail::thread_state* ts = detail::tls_state;
  return ts == nullptr ? stack_stats{} : ts->pool.stats();
}

void set_stack_pool_limit(std::size_t stacks) { thread_state::get().pool.set_limit(stacks); }

namespace detail {
// Used by context.cpp: the greenlet whose context get()/set() reads.
greenlet_state* current_state() { return thread_state::get().current; }

// A greenlet's context is a plain shared_ptr that its thread reads and
// replaces without a lock (every context_var get()/set() in the greenlet),
// so another thread may touch it only once that thread has exited. Refusing
// only while the greenlet runs would be check-then-act: it can be switched
// in right after the check. An unstarted greenlet belongs to the thread it
// will start on, its parent's: that thread can start it at any time, also
// without this handle (a child finishing into it).
void check_context_access(greenlet_state* g, const char* verb) {
  thread_record* owner = lineage_owner(g);
  thread_state* ts = tls_state;
  if (owner == nullptr || (ts != nullptr && ts->rec == owner)) return;
  if (!owner->alive.load(std::memory_order_acquire)) return;
  throw value_error(std::string("cannot ") + verb + " context of " + describe(g) +
                    ": it belongs to a different thread (an unstarted greenlet: to its parent's, "
                    "where it will start). A greenlet's context can be read or set only on that "
                    "thread, or after that thread has exited; hand the work to that thread (Python "
                    "allows it while the greenlet is not running, and raises ValueError: cannot " +
                    verb + " context of a greenlet that is running in a different thread)");
}
}  // namespace detail

}  // namespace green
