// bench/memory_bench.cpp
//
// memory_parked/n:N: resident memory per parked unit. A pass creates N units
// on a fresh stack pool (64 KiB stacks); each unit touches 1 KiB of stack
// (touch_stack()) and parks. The rss_per_unit_kib counter is
// (RSS with the N units parked - RSS before) / N, from /proc/self/statm,
// averaged over passes. For cxx20_minimal the touch runs on the resumer's
// stack and only the coroutine frame (plus its malloc overhead) stays.
//
// Each pass releases what it mapped (own pool, unmapped or freed afterwards)
// and, before the first reading, calls Impl::release_caches() if the policy
// has one (green empties its thread's stack pool) and malloc_trim(0), so
// memory freed by earlier rows and passes is handed back to the kernel and
// cannot be reused for free. The RSS figures match a fresh process per row
// (bench/run.sh --memory-check). bench/run.sh still runs each row in a
// process of its own, for green's guard pages: green guards at most
// (vm.max_map_count - 4096) / 2 stacks per process and, once that budget is
// spent (the n:100000 rows), carves every later stack from slabs without a
// guard page, warning once on stderr. For greenlet and stackful the
// unguarded_stacks counter is how many of a pass's n stacks had no guard page.
//
// One iteration is one unit: the time column is the cost of creating and
// parking a unit with a cold pool (mmap and page faults included); tearing
// the units down is not timed.

#include <malloc.h>

#include <cstddef>
#include <exception>
#include <optional>

#include <benchmark/benchmark.h>

#include "support/green_variants.hpp"
#include "support/register.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

struct memory_parked {
  static constexpr const char* name = "memory_parked";
  static void configure(benchmark::internal::Benchmark* b) {
    b->ArgName("n")->Arg(10000)->Arg(100000);
  }

  template <class Impl>
  static void run(benchmark::State& state) {
    const long n = static_cast<long>(state.range(0));
    double kib_sum = 0;
    double unguarded_sum = 0;
    int passes = 0;
    std::optional<typename Impl::park_set> set;
    while (state.KeepRunningBatch(n)) {
      state.PauseTiming();
      if constexpr (requires { Impl::release_caches(); }) Impl::release_caches();
      ::malloc_trim(0);
      const double before = resident_kib();
      std::size_t unguarded_before = 0;
      if constexpr (requires { Impl::unguarded_stacks(); })
        unguarded_before = Impl::unguarded_stacks();
      state.ResumeTiming();
      try {
        set.emplace(n);
      } catch (const std::exception& e) {  // e.g. out of mappings: report, do not abort the run
        state.SkipWithError(e.what());
        break;
      }
      state.PauseTiming();
      const double after = resident_kib();
      if constexpr (requires { Impl::unguarded_stacks(); })
        unguarded_sum += static_cast<double>(Impl::unguarded_stacks() - unguarded_before);
      set.reset();
      state.ResumeTiming();
      kib_sum += (after - before) / static_cast<double>(n);
      ++passes;
    }
    if (passes > 0) {
      state.counters["rss_per_unit_kib"] = kib_sum / passes;
      if constexpr (requires { Impl::unguarded_stacks(); })
        state.counters["unguarded_stacks"] = unguarded_sum / passes;
    }
  }
};

// greenlet also at n:30000, just under green's guard-page budget
// ((vm.max_map_count - 4096) / 2 = 30717 stacks at the default 65530): every
// stack guarded. At n:100000 the stacks past the budget are carved from slabs
// without guard pages (green warns once on stderr); unguarded_stacks counts
// them.
GREEN_BENCH_REGISTER_WITH(memory_parked, greenlet, ->Arg(30000));
// hub: spawned tasks (the hub's default stack size) parked on one event.
GREEN_BENCH_REGISTER(memory_parked, hub_parked);
GREEN_BENCH_REGISTER(memory_parked, stackful);
GREEN_BENCH_REGISTER(memory_parked, stackless);
GREEN_BENCH_REGISTER(memory_parked, raw_fcontext);
GREEN_BENCH_REGISTER(memory_parked, boost_fiber_ctx);
GREEN_BENCH_REGISTER(memory_parked, coroutine2);
GREEN_BENCH_REGISTER(memory_parked, cxx20_minimal);

}  // namespace
}  // namespace green_bench
