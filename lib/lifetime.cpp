// Lifetime: handles and reference counts, parent links, what happens when
// the last reference to a greenlet goes (freed, or killed first), and the
// allocation of greenlet states.
//
// Who frees what: a greenlet is freed, or killed, by its own thread. A
// reference dropped on another thread is queued to the owner and released
// at its next green call (release_foreign()); once the owner has exited,
// its greenlets are freed unrun wherever their last reference goes.

#include <cstdio>
#include <mutex>
#include <utility>

#include "green/greenlet.hpp"
#include "runtime.hpp"

namespace green {
namespace detail {

namespace {

const char* kKillMessage = "Killing the greenlet because all references have vanished.";
// How often a greenlet killed on its last handle that keeps switching away
// while it unwinds is resumed before it is given up (kept as a zombie).
constexpr int kMaxUnwindResumes = 1000;

void destroy_state(greenlet_state* g) noexcept;
void last_reference_gone(greenlet_state* g) noexcept;

}  // namespace

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

// move_out_of_registry() is set_parent()'s part in G15.1: `g` is unstarted
// and listed by the thread of `old_parent`, which it has just left (its link
// to it is not dropped yet, so that thread's record is alive). It stays
// listed if its new parent is of the same thread, and that thread is this
// one; otherwise it leaves the list, unlinked here on that thread, or by
// that thread at its next green call (the queued entry holds a reference,
// so the state outlives its link). It is listed again when it starts.
void move_out_of_registry(greenlet_state* g, greenlet_state* old_parent) noexcept {
  thread_record* owner = old_parent->thread.load(std::memory_order_acquire);
  thread_state* ts = tls_state;
  if (ts != nullptr && ts->rec == owner) {
    if (g->link_local) return;  // the new parent is of this thread too
    unlist(g);
    return;
  }
  g->listed = false;
  retain(g);
  if (queue_to_owner(owner, &thread_record::unlists, g)) return;
  release(g);  // the owner has exited: unregister_thread() unlinked it
}

namespace {

// Out of line: a kill is rare, and inlined into last_reference_gone() its frame
// would be paid by every free.
[[gnu::noinline]] void kill_on_last_handle(thread_state& ts, greenlet_state* g) noexcept {
  // G10.2, G10.3: resurrect for the duration, make the freeing greenlet the
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
  for (int resumes = 0;
       resumes < kMaxUnwindResumes && g->state.load(std::memory_order_relaxed) == status::active &&
       g->refs.load(std::memory_order_acquire) == 1 && g->ctx.unwinding();
       ++resumes) {
    if (resumes == 0) {
      std::fprintf(stderr,
                   "green: %s switched away while greenlet_exit was unwinding it (a destructor "
                   "or handler switched during the kill); no handle to it is left, so it is "
                   "resumed, with an empty value, until it has unwound. Do not switch away from "
                   "a greenlet that is being killed.\n",
                   describe(g).c_str());
    }
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
    if (g->ctx.unwinding()) {
      std::fprintf(stderr,
                   "green: %s still switches away while unwinding after %d resumes; it is "
                   "kept, with its stack, until its thread exits.\n",
                   describe(g).c_str(), kMaxUnwindResumes);
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
// freed, or killed first (G9.3-G9.5, G10).
[[gnu::noinline]] void dispose_active(greenlet_state* g) noexcept;

[[gnu::noinline]] void dispose_listed(greenlet_state* g) noexcept;

inline void dispose(greenlet_state* g) noexcept {
  if (g->state.load(std::memory_order_acquire) != status::active || g->is_main) {
    if (__builtin_expect(g->listed, 0)) {
      dispose_listed(g);
    } else {
      destroy_state(g);
    }
  } else {
    dispose_active(g);
  }
}

// dispose_listed() is dispose() for an unstarted greenlet in its thread's
// registry (G15.1): only that thread may unlink it. Elsewhere its function
// goes here, as for any unstarted greenlet (G9), and the rest is queued to
// the owner, which unlinks and frees it at its next green call; if the owner
// has exited, unregister_thread() unlinked it already.
void dispose_listed(greenlet_state* g) noexcept {
  // The parent link is local to the owner: it keeps the record alive.
  thread_record* owner = g->parent->thread.load(std::memory_order_acquire);
  thread_state* ts = tls_state;
  if (ts == nullptr || ts->rec != owner) {
    g->destroy_run();
    g->refs.store(1, std::memory_order_relaxed);
    if (queue_to_owner(owner, &thread_record::deleteme, g)) return;
  }
  unlist(g);
  destroy_state(g);
}

// dispose_active() is dispose() for a started, living greenlet: out of line,
// so that the common free (a finished greenlet) pays for none of it.
void dispose_active(greenlet_state* g) noexcept {
  thread_record* owner = g->thread.load(std::memory_order_acquire);
  if (!owner->alive.load(std::memory_order_acquire)) {
    destroy_state(g);  // G9.3: a dead thread's greenlets are dropped unrun
    return;
  }
  thread_state* ts = tls_state;
  if (ts == nullptr || ts->rec != owner) {
    // G9.5: killed on its own thread, at that thread's next green call.
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
  // std::exit() was called on this greenlet's stack: its thread's green
  // state is gone, and a static handle to it is being destroyed. Never unmap
  // the stack we run on, nor retire the context we run in (under TSan that
  // destroys the running fiber); the process is ending, so both are leaked.
  const bool running_here = g->stack && g->ctx.running_on();
  // Linked only while its own thread lives and runs this (other threads free
  // a thread's greenlets only after unregister_thread() unlinked them all).
  if (g->stack) registry_remove(g);  // an unstarted one is unlisted by dispose_listed()
  if (!running_here) g->ctx.retire();
  if (g->stack) {
    thread_state* ts = tls_state;
    if (running_here) {
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
  // G15.1: listed as unstarted by its thread, which is its parent's (the
  // usual case); with a parent elsewhere or unstarted, listed once started.
  s->listed = s->link_local;
  if (s->link_local) detail::registry_insert(&ts.unstarted, &s->ureg);
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

const greenlet& greenlet::borrow_native(detail::greenlet_state* s) noexcept { return s->self; }

}  // namespace green
