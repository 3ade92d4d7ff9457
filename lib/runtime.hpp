// lib/runtime.hpp: PRIVATE. What the rooms of lib/ ask of each other, beyond
// greenlet_state.hpp's data: one declaration per function, grouped by the
// file that defines it.
//
//   switch.cpp        switching: start, switch_out/switch_in, do_switch, the
//                     end of a greenlet (entry, finish)
//   lifetime.cpp      handles, references, parent links, kills on the last
//                     handle, freeing
//   thread_state.cpp  the per-thread runtime, getcurrent(), getmain()
//   greenlet.cpp      the public members of greenlet that are not above
//   hooks.cpp         tracing, the unraisable hook, green::debug's counters
//   errors.cpp        descriptions and the errors thrown from several rooms
//   stack.cpp         the public stack API (stack_pool.cpp: the pool itself)
//   context.cpp       greenlet-local contexts
//   overflow.cpp      the stack overflow reporter (overflow.hpp)
//   registry.cpp      the debug registry gdb reads (lib/gdb/green_gdb.py)

#ifndef GREEN_LIB_RUNTIME_HPP
#define GREEN_LIB_RUNTIME_HPP

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "greenlet_state.hpp"

namespace green::detail {

// --- switch.cpp
// do_switch() is greenlet's g_switch: pick the real target (a dead one
// passes to its parent chain), start it if needed, deliver the payload or
// the exception *exc, and jump. Returns what arrives when something
// switches back.
value do_switch(thread_state& ts, greenlet_state* target, value* payload, std::exception_ptr* exc);

// --- lifetime.cpp
// queue_to_owner() hands `g` to `list` of its owner thread's record, which
// that thread works through at its next green call (process_deleteme()).
// False, and nothing queued, if the owner has exited.
bool queue_to_owner(thread_record* owner, std::vector<greenlet_state*> thread_record::*list,
                    greenlet_state* g) noexcept;
// Parent links (greenlet_state::local_links): acquire_link() takes one for
// a new child and says whether it is local; release_link() drops one, on
// any thread; drop_local_link_after_exit() drops a local one of a thread
// that has exited (or is exiting).
bool acquire_link(greenlet_state* p) noexcept;
void release_link(greenlet_state* p, bool local) noexcept;
void drop_local_link_after_exit(thread_record* owner, greenlet_state* p) noexcept;
// move_out_of_registry() takes an unstarted greenlet that set_parent() has
// moved away from `old_parent` out of the registry of old_parent's thread
// (G15.1), unless its new parent is of the same thread.
void move_out_of_registry(greenlet_state* g, greenlet_state* old_parent) noexcept;

// --- hooks.cpp
// green::debug's count of live greenlet states (off unless turned on: two
// atomic read-modify-writes per greenlet), and of main greenlets (always).
extern std::atomic<bool> g_counting;
extern std::atomic<std::size_t> g_live;
extern std::atomic<std::size_t> g_live_mains;
std::string describe_exception(const std::exception_ptr& e);
// report_unraisable() reports an error that escaped the kill of `g`.
void report_unraisable(std::exception_ptr e, greenlet_state* g) noexcept;

// --- errors.cpp
// describe() names a greenlet in messages: "greenlet #12 'worker'".
std::string describe(const greenlet_state* g);
[[noreturn]] void throw_wrong_thread(greenlet_state* g, thread_record* owner, const char* what);
[[noreturn]] void throw_empty_handle();

// --- thread_state.cpp
// Ids come from per-thread batches: one atomic operation per 1024 greenlets.
// Inline: every spawn takes one, and a call into another file would cost more
// than the id.
extern std::atomic<std::uint64_t> g_next_id;
inline thread_local std::uint64_t tls_next_id [[gnu::tls_model("initial-exec")]] = 0;
inline thread_local std::uint64_t tls_end_id [[gnu::tls_model("initial-exec")]] = 0;
inline std::uint64_t next_id() noexcept {
  constexpr std::uint64_t kBatch = 1024;
  if (tls_next_id == tls_end_id) {
    tls_next_id = g_next_id.fetch_add(kBatch, std::memory_order_relaxed);
    tls_end_id = tls_next_id + kBatch;
  }
  return tls_next_id++;
}

// --- registry.cpp
// register_thread() puts a new thread_state on the process-wide list that
// debuggers read (green_debug_threads); unregister_thread() takes it off and
// unlinks every greenlet still in its registry (G15).
void register_thread(thread_state* ts) noexcept;
void unregister_thread(thread_state* ts) noexcept;

// --- here
// lineage_owner() is the thread a greenlet belongs to: its own once
// started, else the first started ancestor's (the thread it will start on).
inline thread_record* lineage_owner(greenlet_state* g) noexcept {
  for (; g != nullptr; g = g->parent) {
    if (thread_record* t = g->thread.load(std::memory_order_acquire)) return t;
  }
  return nullptr;
}

}  // namespace green::detail

#endif  // GREEN_LIB_RUNTIME_HPP
