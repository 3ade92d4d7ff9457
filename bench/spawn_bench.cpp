// bench/spawn_bench.cpp
//
// spawn_finish: create a unit, run it to its end (it computes x + 1), destroy
// it, with the stack pool already warm. One iteration is one unit.
//
// kill_suspended: destroy a unit that is suspended in the middle of its body
// holding an object whose destructor must run. Units are made in batches of
// kBatch (256) outside the timed region; one iteration is one destruction.
// Stackful peers unwind the stack by throwing at the suspension point
// (Boost's forced_unwind; raw_fcontext throws its own tag the same way);
// cxx20_minimal destroys the frame. green: a greenlet is killed with
// greenlet_exit, a generator (stackful or stackless) is close()d:
// generator_exit thrown at its yield, as Python does.
// green's stackful and stackless spawn_finish rows are generators whose body
// returns at once, run to the end by range-for.

#include <vector>

#include <benchmark/benchmark.h>

#include "support/green_variants.hpp"
#include "support/register.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

struct spawn_finish {
  static constexpr const char* name = "spawn_finish";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    typename Impl::spawner spawner;
    int x = spawner.run(0) - 1;  // warms the pool
    for (auto _ : state) x = spawner.run(x);
    benchmark::DoNotOptimize(x);
    if (x != static_cast<int>(state.iterations())) state.SkipWithError("unit did not run");
    state.SetItemsProcessed(state.iterations());
  }
};

struct kill_suspended {
  static constexpr const char* name = "kill_suspended";
  static void configure(benchmark::internal::Benchmark*) {}
  // At most green's default stack pool limit (256), so no row's kill pays
  // for returning a stack to the system. The PauseTiming/ResumeTiming
  // overhead (a CPU-clock system call, about 0.5-1 us here) is spread over
  // the batch: a few ns per iteration, visible only in cxx20_minimal's row.
  static constexpr int kBatch = 256;

  template <class Impl>
  static void run(benchmark::State& state) {
    int destroyed = 0;
    std::vector<typename Impl::parked> units;
    units.reserve(kBatch);
    while (state.KeepRunningBatch(kBatch)) {
      state.PauseTiming();
      for (int i = 0; i < kBatch; ++i) units.push_back(Impl::make_parked(&destroyed));
      state.ResumeTiming();
      units.clear();
    }
    if (destroyed != static_cast<int>(state.iterations()))
      state.SkipWithError("destructors on the killed stack did not run");
    state.SetItemsProcessed(state.iterations());
  }
};

GREEN_BENCH_REGISTER(spawn_finish, greenlet);
GREEN_BENCH_REGISTER(spawn_finish, stackful);
GREEN_BENCH_REGISTER(spawn_finish, stackless);
GREEN_BENCH_REGISTER(spawn_finish, raw_fcontext);
GREEN_BENCH_REGISTER(spawn_finish, boost_fiber_ctx);
GREEN_BENCH_REGISTER(spawn_finish, coroutine2);
GREEN_BENCH_REGISTER(spawn_finish, boost_fibers);
GREEN_BENCH_REGISTER(spawn_finish, cxx20_minimal);

GREEN_BENCH_REGISTER(kill_suspended, greenlet);
GREEN_BENCH_REGISTER(kill_suspended, stackful);
GREEN_BENCH_REGISTER(kill_suspended, stackless);
GREEN_BENCH_REGISTER(kill_suspended, raw_fcontext);
GREEN_BENCH_REGISTER(kill_suspended, boost_fiber_ctx);
GREEN_BENCH_REGISTER(kill_suspended, coroutine2);
GREEN_BENCH_REGISTER(kill_suspended, cxx20_minimal);

}  // namespace
}  // namespace green_bench
