// bench/support/variants.hpp
//
// The implementation policies, listed. Each scenario body is a template on
// one of these; a row is "<scenario>/<policy>::name". A policy provides what the
// scenarios it is registered for use (a missing member is a compile error at
// the registration line):
//
//   switch_roundtrip  echo            int roundtrip(int x), returns x + 1
//   gen_next          make_counter()  next() -> const int*: 0, 1, 2, ...
//   gen_send          make_accumulator()
//                                     next() once, then send(const int&) ->
//                                     const int*: the running total
//   yield_from        make_chain(d)   next() -> const int*: 0, 1, 2, ...
//                                     produced d delegation levels down
//   nested_yield      make_nested(d)  the same, yielded from d nested calls
//                                     inside one generator (stackful only)
//   tree_walk         make_tree_walk(const tree&)
//                                     next() -> const int*: each leaf, then nullptr
//   pipeline          pipeline(std::string_view text)
//                                     next() -> const int*: the map stage's
//                                     output, then nullptr
//   spawn_finish      spawner         int run(int x): create, run to end,
//                                     destroy a unit computing x + 1
//   kill_suspended    parked, make_parked(int* destroyed)
//                                     a movable handle to a started unit that
//                                     holds a counted(destroyed) across its
//                                     suspension
//   pingpong_many     ring(int n)     round(): the token passes through all n
//                                     units once (n hand-offs); token() counts
//                                     hand-offs
//   memory_parked     park_set(long n) n units, each touched 1 KiB of stack
//                                     (touch_stack()) and parked; optional
//                                     static release_caches(), called before
//                                     the first RSS reading
//   hub_sleep0        sleep_pair      turn(): two hand-offs by sleep(0) or
//                                     yield() (main -> other unit -> main);
//                                     turns() counts the other unit's turns
//   hub_event_wake    event_pair      round(): two wake-ups (main wakes the
//                                     other unit, which wakes main); wakes()
//                                     counts the other unit's
//   hub_queue_handoff queue_pair      get() -> int: from a producer unit
//                                     putting 0, 1, 2, ... into a queue that
//                                     holds one item
//   hub_spawn_join    spawn_joiner    run(): spawn a unit that increments
//                                     count(), join it
//   hub_timers        timers(int n)   n units, unit i sleeping timer_delay(i,
//                                     n), all joined; returns how many woke
//
// Generators return the address of their value (valid until the next call),
// so no row pays for copies the others do not.

#ifndef GREEN_BENCH_VARIANTS_HPP
#define GREEN_BENCH_VARIANTS_HPP

// Every policy, each defined at the end of its implementation's header:
//   green_variants.hpp        greenlet, stackful, stackless (green's rows)
//   green_hub_variants.hpp    hub_green, hub_parked (green's hub rows)
//   peer_raw_fcontext.hpp     raw_fcontext, raw_fcontext_call
//   peer_boost_fiber_ctx.hpp  boost_fiber_ctx
//   peer_coroutine2.hpp       coroutine2
//   peer_boost_fibers.hpp     boost_fibers
//   peer_cxx20_minimal.hpp    cxx20_minimal
//   peer_iterator.hpp         iterator
#include "support/green_hub_variants.hpp"
#include "support/green_variants.hpp"
#include "support/peer_boost_fiber_ctx.hpp"
#include "support/peer_boost_fibers.hpp"
#include "support/peer_coroutine2.hpp"
#include "support/peer_cxx20_minimal.hpp"
#include "support/peer_iterator.hpp"
#include "support/peer_raw_fcontext.hpp"

#endif  // GREEN_BENCH_VARIANTS_HPP
