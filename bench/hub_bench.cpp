// bench/hub_bench.cpp
//
// The hub's rows: green's hub (policy hub_green, rows ".../green") against
// Boost.Fiber's round_robin scheduler (boost_fibers), on the calling thread;
// gevent's rows (python_gevent) come from bench/python/bench_greenlet.py.
// One iteration is one operation:
//
// hub_sleep0: two units take turns with sleep(0) (Boost.Fiber: yield());
// one iteration is one hand-off.
//
// hub_event_wake: two units wake each other through events (set, then wait,
// then clear; Boost.Fiber: a condition_variable, its mutex and a flag); one
// iteration is one wake-up: an event set and its waiter running. Both sides
// alternate between two pairs of events, so no wait() lands on an event
// whose waiters are still being woken.
//
// hub_queue_handoff: a producer unit puts 0, 1, 2, ... into a queue that
// holds one item (green::queue<int>(1); Boost.Fiber: buffered_channel of
// capacity 2, which holds one), main gets; one iteration is one item.
//
// hub_spawn_join: spawn a unit running a function that only counts, join it;
// one iteration is one unit.
//
// hub_timers/n:N: spawn N units, unit i sleeping timer_delay(i, N) (1 .. N
// microseconds, each once, scattered), join them all; one iteration is one
// timer, spawn and join included. The clock is the real one (no virtual
// clock: the peers have none), and the time reported is CPU time, as in every
// row: the wall time the loop waits for the next deadline is not counted;
// the system calls it makes to wait are.
//
// memory_parked/hub is in memory_bench.cpp (tasks parked on one event).

#include <benchmark/benchmark.h>

#include "support/register.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

struct hub_sleep0 {
  static constexpr const char* name = "hub_sleep0";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    typename Impl::sleep_pair pair;
    pair.turn();  // starts the other unit outside the timed region
    while (state.KeepRunningBatch(2)) pair.turn();
    if (pair.turns() != state.iterations() / 2 + 1) state.SkipWithError("a turn was lost");
    state.SetItemsProcessed(state.iterations());
  }
};

struct hub_event_wake {
  static constexpr const char* name = "hub_event_wake";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    typename Impl::event_pair pair;
    pair.round();
    while (state.KeepRunningBatch(2)) pair.round();
    if (pair.wakes() != state.iterations() / 2 + 1) state.SkipWithError("a wake-up was lost");
    state.SetItemsProcessed(state.iterations());
  }
};

struct hub_queue_handoff {
  static constexpr const char* name = "hub_queue_handoff";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    typename Impl::queue_pair q;
    int expected = 0;
    bool in_order = q.get() == expected++;
    for (auto _ : state) in_order &= q.get() == expected++;
    if (!in_order) state.SkipWithError("items out of order");
    state.SetItemsProcessed(state.iterations());
  }
};

struct hub_spawn_join {
  static constexpr const char* name = "hub_spawn_join";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    typename Impl::spawn_joiner s;
    s.run();  // warms the stack pool
    for (auto _ : state) s.run();
    if (s.count() != state.iterations() + 1) state.SkipWithError("a unit did not run");
    state.SetItemsProcessed(state.iterations());
  }
};

struct hub_timers {
  static constexpr const char* name = "hub_timers";
  static void configure(benchmark::internal::Benchmark* b) {
    b->ArgName("n")->Arg(1000)->Arg(100000);
  }

  template <class Impl>
  static void run(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    long fired = 0;
    while (state.KeepRunningBatch(n)) fired += Impl::timers(n);
    if (fired != state.iterations()) state.SkipWithError("a timer did not fire");
    state.SetItemsProcessed(state.iterations());
  }
};

GREEN_BENCH_REGISTER(hub_sleep0, hub_green);
GREEN_BENCH_REGISTER(hub_sleep0, boost_fibers);

GREEN_BENCH_REGISTER(hub_event_wake, hub_green);
GREEN_BENCH_REGISTER(hub_event_wake, boost_fibers);

// green's row once green/hub/queue.hpp exists (it is written separately).
#if GREEN_BENCH_HAS_HUB_QUEUE
GREEN_BENCH_REGISTER(hub_queue_handoff, hub_green);
#endif
GREEN_BENCH_REGISTER(hub_queue_handoff, boost_fibers);

GREEN_BENCH_REGISTER(hub_spawn_join, hub_green);
GREEN_BENCH_REGISTER(hub_spawn_join, boost_fibers);

GREEN_BENCH_REGISTER(hub_timers, hub_green);
GREEN_BENCH_REGISTER(hub_timers, boost_fibers);

}  // namespace
}  // namespace green_bench
