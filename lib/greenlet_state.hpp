// lib/greenlet_state.hpp: PRIVATE. What a greenlet is, inside: its machine
// context, stack, parent, function, the payload in flight, and the
// per-thread bookkeeping (current greenlet, main greenlet, trace function,
// deferred kills from other threads).
//
// Ownership:
//   * A greenlet_state is reference counted (atomic: handles may be copied
//     and dropped on any thread; but the count of a started, living greenlet
//     only goes down on its own thread, see release_foreign()). Handles, a child's parent link and
//     the thread (for its main greenlet) hold references. The running greenlet is NOT referenced by
//     the thread: if its last handle goes away while it runs, it is marked orphaned and killed as
//     soon as it switches out.
//   * Everything except `refs`, `status` and `thread` is touched only by the
//     owning thread.

#ifndef GREEN_LIB_GREENLET_STATE_HPP
#define GREEN_LIB_GREENLET_STATE_HPP

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/context.hpp"
#include "green/greenlet.hpp"
#include "stack_pool.hpp"

namespace green::detail {

struct greenlet_state;

enum class status : std::uint8_t { unstarted, active, dead };

// thread_record outlives its thread for as long as greenlets of that thread
// exist, so other threads can still ask "is your thread alive?".
struct thread_record {
  std::atomic<long> refs{1};
  std::atomic<bool> alive{true};
  // The greenlet running on that thread; read by other threads only to
  // refuse touching a greenlet that runs elsewhere.
  std::atomic<greenlet_state*> current{nullptr};
  std::mutex deleteme_mutex;
  // References to living greenlets of this thread dropped on other threads:
  // the owner drops them on its next API call (release_foreign()).
  std::vector<greenlet_state*> deleteme;
  // Parent links to this thread's greenlets dropped on other threads: the
  // owner drops them (see greenlet_state::local_links) on its next API call.
  std::vector<greenlet_state*> link_releases;
  // Unstarted greenlets listed in this thread's registry (G15.1) that were
  // reparented on another thread: the owner unlinks them, then drops the
  // reference each entry holds, on its next API call.
  std::vector<greenlet_state*> unlists;
  std::atomic<bool> has_deleteme{false};

  void retain() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

// registry_link is a greenlet's place in its thread's registry (G15): a
// circular, intrusive list whose head is thread_state::greenlets (started
// greenlets: linked by start(), unlinked when the stack goes) or
// thread_state::unstarted (linked at creation, unlinked by start() or the
// free). Touched only by the owning thread, never on a switch. Unlinked: both
// null.
struct registry_link {
  registry_link* prev;  // trivial: it shares a union with stack_options
  registry_link* next;
};

struct context_data;

struct greenlet_state {
  machine_context ctx;
  std::atomic<long> refs{1};
  std::atomic<status> state{status::unstarted};
  bool is_main = false;
  bool orphaned = false;  // last handle dropped while running; kill on switch-out
  bool counted = false;   // included in green::debug::live_greenlets()
  bool has_exc = false;   // in_exc is set: the fast path never touches exception_ptr
  bool draining = false;  // runs last_reference_gone()'s loop (see next_gone)
  // `ureg` is in the unstarted registry of parent->thread (G15.1): set at
  // creation when the parent link is local, cleared when it is unlinked or
  // handed to that thread to unlink (set_parent() on another thread). While
  // set, the parent link keeps that thread's record alive.
  bool listed = false;
  std::atomic<thread_record*> thread{nullptr};  // set when started (main: at creation)
  greenlet_state* parent = nullptr;             // strong reference; null only for main
  runnable* run = nullptr;                      // the function, until it starts
  bool run_inline = false;    // `run` lives in this state's allocation (not new'ed)
  bool cached_block = false;  // the allocation is kCachedBlock bytes (see thread_state)
  bool link_local = false;    // this greenlet's link to `parent` is one of its local_links
  // Parent links taken on this greenlet's own thread, counted without
  // atomics: together they hold ONE reference in `refs`, taken when the
  // count leaves 0 and dropped when it returns to 0. Only the owning thread
  // touches it while that thread lives; after it exits, other threads touch
  // it under the thread record's deleteme_mutex. A main greenlet's count
  // starts at 1 (held by its thread), so spawning and dropping children of
  // main costs no atomic operation at all.
  std::uint32_t local_links = 0;
  // What start() needs and what only a started greenlet has share their
  // bytes (a state must fit kCachedBlock): the stack options, read once by
  // start(), and from then on the greenlet's place in its thread's registry
  // (G15), which is meaningful only while `stack` is set or for a main greenlet.
  union {
    stack_options stack_opts{};
    registry_link reg;
  };
  // An unstarted greenlet's place in its thread's registry, meaningful only
  // while `listed` (or queued in thread_record::unlists). Apart from `reg`: a greenlet reparented
  // and started on another thread may still be in its first thread's list until that thread unlinks
  // it.
  registry_link ureg{nullptr, nullptr};
  stack_block stack;

  union {
    // The payload in flight to this greenlet: a pointer to a value that
    // lives on the sender's (suspended or dying) stack, set right before a
    // switch into it and taken on arrival.
    value* in_value = nullptr;
    // The thread's queue of greenlets whose last reference went while a
    // greenlet was draining (last_reference_gone()). A greenlet is queued
    // only with no reference left, when nothing can be switching into it,
    // so it shares its bytes with in_value.
    greenlet_state* next_gone;
  };
  std::exception_ptr in_exc;  // a pending exception for this greenlet

  std::shared_ptr<context_data> gr_context;
  // A handle that holds no reference: what current() and trace functions
  // borrow. drop_self() empties it before the state is deleted.
  greenlet self{this};
  std::uint64_t id = 0;
  char name[32] = {};

  static greenlet_state* of(machine_context* c) noexcept {
    return reinterpret_cast<greenlet_state*>(c);  // ctx is the first member
  }
  void drop_self() noexcept { self.state_ = nullptr; }
  // destroy_run() destroys the function (its captures' destructors run).
  void destroy_run() noexcept {
    runnable* r = std::exchange(run, nullptr);
    if (r == nullptr) return;
    if (run_inline) {
      r->~runnable();
    } else {
      delete r;
    }
    run_inline = false;
  }
  ~greenlet_state() { destroy_run(); }
  bool started() const noexcept {
    return state.load(std::memory_order_relaxed) != status::unstarted;
  }
};

static_assert(std::is_standard_layout_v<machine_context>);

// A state with a function of up to 64 bytes fits a cached block: 320 bytes,
// more with the sanitizers' fields in machine_context.
inline constexpr std::size_t kCachedBlock = (sizeof(greenlet_state) + 64 + 63) / 64 * 64;
inline constexpr std::size_t kCachedBlocks = 64;
#if !defined(GREEN_ASAN) && !defined(GREEN_TSAN)
static_assert(kCachedBlock == 320, "greenlet_state grew: check memory_parked's KiB per greenlet");
#endif

void retain(greenlet_state* g) noexcept;
void release(greenlet_state* g) noexcept;
// allocate_state() makes a state and constructs its function in the same block.
greenlet_state* allocate_state(const runnable_factory* fn);
void free_state(greenlet_state* s) noexcept;

// thread_state is the calling thread's green runtime. It is created on first
// use and destroyed when the thread exits.
struct thread_state {
  thread_record* rec = nullptr;
  greenlet_state* main = nullptr;
  greenlet_state* current = nullptr;
  bool tracing = false;  // trace is non-empty: one byte tested on every switch
  trace_function trace;
  stack_pool pool;
  void* altstack = nullptr;
  // Greenlets that caught the kill and switched away with no handle left
  // (G10.4): they can never run again, so they are kept here (reachable,
  // one reference each) and dropped unrun when the thread exits.
  std::vector<greenlet_state*> zombies;
  // Freed state allocations of kCachedBlock bytes, reused by the next spawn
  // on this thread: a spawn then costs no malloc/free pair (about 120
  // instructions). States freed on other threads go back to the heap.
  std::vector<void*> free_blocks;
  // No cache under ASan or valgrind: they must see every use after free.
  std::size_t free_blocks_limit = under_checker() ? 0 : kCachedBlocks;
  // The debug registry (G15, registry.cpp): this thread's started greenlets
  // and its main greenlet, its unstarted greenlets, the thread's id as debuggers know it, and the
  // process-wide list of thread_states (green_debug_threads).
  registry_link greenlets{&greenlets, &greenlets};
  registry_link unstarted{&unstarted, &unstarted};  // see greenlet_state::listed
  long tid = 0;
  thread_state* debug_prev = nullptr;
  thread_state* debug_next = nullptr;

  thread_state();
  ~thread_state();

  // get() returns this thread's state, creating it on first use, and runs
  // kills deferred by other threads.
  static thread_state& get();
  static thread_state& get_slow();
  void process_deleteme();
};

// registry_add() links a greenlet that has just got its stack (or a thread's
// main greenlet) into its thread's registry; registry_remove() unlinks one
// that has a stack, if still linked (unregister_thread() unlinks them all
// when the thread exits). Owning thread only.
inline void registry_insert(registry_link* head, registry_link* r) noexcept {
  r->prev = head;
  r->next = head->next;
  head->next->prev = r;
  head->next = r;
}
inline void registry_add(thread_state& ts, greenlet_state* g) noexcept {
  registry_insert(&ts.greenlets, &g->reg);
}
// registry_unlink() is registry_remove() for a greenlet known to be linked
// whose stack goes right after, so nothing reads its link again: the end of
// a greenlet, on every spawn's path.
inline void registry_unlink(greenlet_state* g) noexcept {
  g->reg.prev->next = g->reg.next;
  g->reg.next->prev = g->reg.prev;
}
inline void registry_remove(greenlet_state* g) noexcept {
  if (g->reg.next == nullptr) return;
  registry_unlink(g);
  g->reg = {};
}
// unlist() takes an unstarted greenlet out of its thread's registry, on that
// thread (or anywhere once unregister_thread() has unlinked them all).
inline void unlist(greenlet_state* g) noexcept {
  g->listed = false;
  if (g->ureg.next == nullptr) return;
  g->ureg.prev->next = g->ureg.next;
  g->ureg.next->prev = g->ureg.prev;
  g->ureg = {nullptr, nullptr};
}
// unlist_to_start() is unlist() for start(), on the listing thread, which is
// alive: the link is set, and is read again only if the greenlet is listed.
inline void unlist_to_start(greenlet_state* g) noexcept {
  g->listed = false;
  g->ureg.prev->next = g->ureg.next;
  g->ureg.next->prev = g->ureg.prev;
}

// The calling thread's state, or null if it has none (yet, or any more).
// constinit: other files then read it directly, not through a TLS init
// wrapper call (which gives the switch's hot path a frame).
extern thread_local constinit thread_state* tls_state [[gnu::tls_model("initial-exec")]];

inline thread_state& thread_state::get() {
  thread_state* ts = tls_state;
  if (__builtin_expect(ts == nullptr || ts->rec->has_deleteme.load(std::memory_order_relaxed), 0)) {
    return get_slow();
  }
  return *ts;
}

}  // namespace green::detail

#endif  // GREEN_LIB_GREENLET_STATE_HPP
