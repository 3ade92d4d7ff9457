// green/debug.hpp
//
// Introspection for tests and diagnostics: how many greenlets exist, and the
// guard pages of stacks. Every test in green's suite checks that the number
// of greenlets is the same before and after it ran, so a leaked greenlet (and
// the stack it pins) fails the test.
//
//   green::debug::set_counting(true);   // before creating the greenlets
//   std::size_t before = green::debug::live_greenlets();
//   run_workload();
//   assert(green::debug::live_greenlets() == before);

#ifndef GREEN_DEBUG_HPP
#define GREEN_DEBUG_HPP

#include <cstddef>

#include "green/config.hpp"

namespace green::debug {

// set_counting() turns counting on or off for greenlets created from now on.
// It is off by default because it costs two atomic operations per greenlet.
GREEN_API void set_counting(bool on) noexcept;

// live_greenlets() counts greenlets (not main greenlets) created while
// counting was on that still exist in the process, whatever their state.
GREEN_API std::size_t live_greenlets() noexcept;

// live_main_greenlets() counts main greenlets that still exist: one per
// thread that uses green, plus those of exited threads that something still
// references (a handle, or a greenlet whose parent chain leads there). Always
// on.
GREEN_API std::size_t live_main_greenlets() noexcept;

// For green's own tests, not for production: the guard-page budget, how many
// stacks with a guard page may be mapped at once in the process (pooled ones
// included). By default it is read from vm.max_map_count (README "Stacks");
// a test lowers it to reach it with a few stacks, and restores it.
GREEN_API std::size_t guard_page_budget() noexcept;
GREEN_API void set_guard_page_budget(std::size_t stacks) noexcept;

// guarded_stacks() counts the stacks with a guard page mapped now, in the
// whole process, pooled ones included.
GREEN_API std::size_t guarded_stacks() noexcept;

// current_stack_guarded() is true when the calling greenlet runs on a stack
// with a guard page below it; false on a main greenlet.
GREEN_API bool current_stack_guarded() noexcept;

// registered_greenlets() counts the calling thread's entries in the
// registry that debuggers read (docs/semantics.md G15, README "Debugging
// with gdb"): its main greenlet, each of its greenlets that has a stack
// (started and not finished), and the unstarted greenlets it lists (G15.1).
// 0 on a thread that has not used green.
GREEN_API std::size_t registered_greenlets() noexcept;

// registered_threads() counts the threads whose green runtime exists (the
// process-wide list debuggers walk).
GREEN_API std::size_t registered_threads() noexcept;

}  // namespace green::debug

#endif  // GREEN_DEBUG_HPP
