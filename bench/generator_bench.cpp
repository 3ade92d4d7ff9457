// bench/generator_bench.cpp
//
// gen_next: one item pulled from an endless counter generator.
// gen_send: one value sent into a running-total generator and the total read
//           back.
// yield_from/depth:D: one item pulled through D levels of delegation, each
//           implementation's own way: green's stackful and stackless
//           generators chain D generators with PEP 380 yield_from (the
//           consumer resumes the innermost one: O(1) per item); the stackful
//           peers have no delegation and yield from D nested calls (also
//           O(1)); cxx20_minimal and iterator stack D generators (or objects)
//           that each forward the inner one's item (O(D) per item).
// nested_yield/depth:D: one generator whose producer yields from D nested
//           function calls, the thing only a stackful generator can do
//           (informational; for the stackful peers it is their yield_from).
// One iteration is one item.

#include <benchmark/benchmark.h>

#include "support/green_variants.hpp"
#include "support/register.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

// The sum 0 + 1 + ... + (n - 1), which the counter-like generators produce.
long long triangle(long long n) { return n * (n - 1) / 2; }

struct gen_next {
  static constexpr const char* name = "gen_next";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    auto gen = Impl::make_counter();
    long long sum = 0;
    for (auto _ : state) sum += *gen.next();
    benchmark::DoNotOptimize(sum);
    if (sum != triangle(state.iterations())) state.SkipWithError("wrong items");
    state.SetItemsProcessed(state.iterations());
  }
};

struct gen_send {
  static constexpr const char* name = "gen_send";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    auto gen = Impl::make_accumulator();
    gen.next();  // run the body to its first yield
    const int one = 1;
    int total = 0;
    for (auto _ : state) total = *gen.send(one);
    benchmark::DoNotOptimize(total);
    if (total != static_cast<int>(state.iterations())) state.SkipWithError("wrong total");
    state.SetItemsProcessed(state.iterations());
  }
};

struct yield_from {
  static constexpr const char* name = "yield_from";
  static void configure(benchmark::internal::Benchmark* b) {
    b->ArgName("depth")->Arg(1)->Arg(4)->Arg(16)->Arg(64);
  }

  template <class Impl>
  static void run(benchmark::State& state) {
    auto gen = Impl::make_chain(static_cast<int>(state.range(0)));
    long long sum = 0;
    for (auto _ : state) sum += *gen.next();
    benchmark::DoNotOptimize(sum);
    if (sum != triangle(state.iterations())) state.SkipWithError("wrong items");
    state.SetItemsProcessed(state.iterations());
  }
};

struct nested_yield {
  static constexpr const char* name = "nested_yield";
  static void configure(benchmark::internal::Benchmark* b) {
    b->ArgName("depth")->Arg(1)->Arg(4)->Arg(16)->Arg(64);
  }

  template <class Impl>
  static void run(benchmark::State& state) {
    auto gen = Impl::make_nested(static_cast<int>(state.range(0)));
    long long sum = 0;
    for (auto _ : state) sum += *gen.next();
    benchmark::DoNotOptimize(sum);
    if (sum != triangle(state.iterations())) state.SkipWithError("wrong items");
    state.SetItemsProcessed(state.iterations());
  }
};

GREEN_BENCH_REGISTER(gen_next, stackful);
GREEN_BENCH_REGISTER(gen_next, stackless);
GREEN_BENCH_REGISTER(gen_next, raw_fcontext);
GREEN_BENCH_REGISTER(gen_next, boost_fiber_ctx);
GREEN_BENCH_REGISTER(gen_next, coroutine2);
GREEN_BENCH_REGISTER(gen_next, cxx20_minimal);
GREEN_BENCH_REGISTER(gen_next, iterator);

GREEN_BENCH_REGISTER(gen_send, stackful);
GREEN_BENCH_REGISTER(gen_send, stackless);
GREEN_BENCH_REGISTER(gen_send, raw_fcontext);
GREEN_BENCH_REGISTER(gen_send, boost_fiber_ctx);
GREEN_BENCH_REGISTER(gen_send, coroutine2);
GREEN_BENCH_REGISTER(gen_send, cxx20_minimal);
GREEN_BENCH_REGISTER(gen_send, iterator);

GREEN_BENCH_REGISTER(yield_from, stackful);
GREEN_BENCH_REGISTER(yield_from, stackless);
GREEN_BENCH_REGISTER(yield_from, raw_fcontext);
GREEN_BENCH_REGISTER(yield_from, boost_fiber_ctx);
GREEN_BENCH_REGISTER(yield_from, coroutine2);
GREEN_BENCH_REGISTER(yield_from, cxx20_minimal);
GREEN_BENCH_REGISTER(yield_from, iterator);

GREEN_BENCH_REGISTER(nested_yield, stackful);
GREEN_BENCH_REGISTER(nested_yield, raw_fcontext);

}  // namespace
}  // namespace green_bench
