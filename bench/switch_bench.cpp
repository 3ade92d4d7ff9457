// bench/switch_bench.cpp
//
// switch_roundtrip: one A -> B -> A round trip carrying an int (B returns it
// plus one). One iteration is one round trip; items_per_second counts one-way
// switches (two per iteration). greenlet: g.switch_(x) answered by
// parent.switch_(x + 1), the int carried in a green::value. raw_fcontext_call
// is raw_fcontext with each side's jump in an out-of-line function.
//
// switch_fp_flags: switch_roundtrip after the caller raised a floating-point
// exception flag (one inexact division) that the unit's saved state lacks,
// as any program doing double math between switches does. jump_fcontext
// reloads each context's MXCSR on every switch, and loading a value other
// than the one in the register drains the pipeline, so a switch built on it
// that does nothing about the sticky flags pays that on every switch from
// then on. green keeps the flags alike (lib/backend/context.hpp).
//
// pingpong_many/n:N: a token handed round-robin through N units, the calling
// thread being one of them. One iteration is one hand-off. Symmetric peers
// (raw_fcontext, boost_fiber_ctx) jump from unit to unit; boost_fibers goes
// through its scheduler (this_fiber::yield); greenlet switches straight to the
// next greenlet; asymmetric peers (coroutine2,
// cxx20_minimal) resume units 1..N-1 in turn from unit 0, so a hand-off there
// is a resume plus a suspend. n:2 is switch_roundtrip by another route.

#include <cfenv>

#include <benchmark/benchmark.h>

#include "support/green_variants.hpp"
#include "support/register.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

struct switch_roundtrip {
  static constexpr const char* name = "switch_roundtrip";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    typename Impl::echo echo;
    int x = echo.roundtrip(-1);  // starts the unit outside the timed region
    for (auto _ : state) x = echo.roundtrip(x);
    benchmark::DoNotOptimize(x);
    if (x != static_cast<int>(state.iterations())) state.SkipWithError("echo lost a value");
    state.SetItemsProcessed(2 * state.iterations());
  }
};

struct switch_fp_flags {
  static constexpr const char* name = "switch_fp_flags";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    std::feclearexcept(FE_ALL_EXCEPT);  // the unit starts without the flag...
    typename Impl::echo echo;
    int x = echo.roundtrip(-1);
    volatile double one = 1.0;
    volatile double third = one / 3.0;  // ...which the caller then raises
    benchmark::DoNotOptimize(third);
    if (!std::fetestexcept(FE_INEXACT)) state.SkipWithError("FE_INEXACT was not raised");
    for (auto _ : state) x = echo.roundtrip(x);
    benchmark::DoNotOptimize(x);
    if (x != static_cast<int>(state.iterations())) state.SkipWithError("echo lost a value");
    state.SetItemsProcessed(2 * state.iterations());
  }
};

struct pingpong_many {
  static constexpr const char* name = "pingpong_many";
  static void configure(benchmark::internal::Benchmark* b) {
    b->ArgName("n")->Arg(2)->Arg(100)->Arg(10000);
  }

  template <class Impl>
  static void run(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    typename Impl::ring ring(n);
    ring.round();  // starts every unit (first stack touch) outside the timed region
    while (state.KeepRunningBatch(n)) ring.round();
    if (ring.token() != state.iterations() + n) state.SkipWithError("a hand-off was lost");
    state.SetItemsProcessed(state.iterations());
  }
};

GREEN_BENCH_REGISTER(switch_roundtrip, greenlet);
GREEN_BENCH_REGISTER(switch_roundtrip, raw_fcontext);
GREEN_BENCH_REGISTER(switch_roundtrip, raw_fcontext_call);
GREEN_BENCH_REGISTER(switch_roundtrip, boost_fiber_ctx);
GREEN_BENCH_REGISTER(switch_roundtrip, coroutine2);
GREEN_BENCH_REGISTER(switch_roundtrip, boost_fibers);
GREEN_BENCH_REGISTER(switch_roundtrip, cxx20_minimal);

GREEN_BENCH_REGISTER(switch_fp_flags, greenlet);
GREEN_BENCH_REGISTER(switch_fp_flags, raw_fcontext);
GREEN_BENCH_REGISTER(switch_fp_flags, boost_fiber_ctx);
GREEN_BENCH_REGISTER(switch_fp_flags, coroutine2);
GREEN_BENCH_REGISTER(switch_fp_flags, cxx20_minimal);

GREEN_BENCH_REGISTER(pingpong_many, greenlet);
GREEN_BENCH_REGISTER(pingpong_many, raw_fcontext);
GREEN_BENCH_REGISTER(pingpong_many, boost_fiber_ctx);
GREEN_BENCH_REGISTER(pingpong_many, coroutine2);
GREEN_BENCH_REGISTER(pingpong_many, boost_fibers);
GREEN_BENCH_REGISTER(pingpong_many, cxx20_minimal);

}  // namespace
}  // namespace green_bench
