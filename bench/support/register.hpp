// bench/support/register.hpp
//
// A scenario is a struct with a name, the argument list every row of it
// gets, and one body templated on the implementation policy:
//
//   struct yield_from {
//     static constexpr const char* name = "yield_from";
//     static void configure(benchmark::internal::Benchmark* b) {
//       b->ArgName("depth")->Arg(1)->Arg(4)->Arg(16)->Arg(64);
//     }
//     template <class Impl> static void run(benchmark::State& state) { ... }
//   };
//   GREEN_BENCH_REGISTER(yield_from, cxx20_minimal);
//
// registers "yield_from/cxx20_minimal/depth:1" ... "/depth:64". The rows of
// one scenario share the loop and the arguments by construction; adding an
// implementation is one GREEN_BENCH_REGISTER line per scenario.
//
// No scenario uses Iterations(), MinTime() or UseRealTime(): each would add a
// suffix ("/iterations:1", ...) to the row name. One-shot workloads use
// KeepRunningBatch(items) instead, so a reported iteration is one item.

#ifndef GREEN_BENCH_REGISTER_HPP
#define GREEN_BENCH_REGISTER_HPP

#include <string>

#include <benchmark/benchmark.h>

namespace green_bench {

template <class Scenario, class Impl>
benchmark::internal::Benchmark* add() {
  const std::string row = std::string(Scenario::name) + "/" + Impl::name;
  benchmark::internal::Benchmark* b =
      benchmark::RegisterBenchmark(row.c_str(), &Scenario::template run<Impl>);
  Scenario::configure(b);
  return b;
}

// seconds_per(items) is a counter holding CPU seconds per item when `items`
// items were processed in total (an inverted rate; the console prints it with
// an SI prefix, e.g. "18.1n").
inline benchmark::Counter seconds_per(double items) {
  return benchmark::Counter(items, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace green_bench

#define GREEN_BENCH_CAT_(a, b) a##b
#define GREEN_BENCH_CAT(a, b) GREEN_BENCH_CAT_(a, b)
#define GREEN_BENCH_REGISTER(scenario, impl)                                     \
  [[maybe_unused]] static benchmark::internal::Benchmark* const GREEN_BENCH_CAT( \
      green_bench_row_, __COUNTER__) = ::green_bench::add<scenario, impl>()

// GREEN_BENCH_REGISTER_WITH(memory_parked, greenlet, ->Arg(30000)): the same,
// with more configuration for this implementation's rows only.
#define GREEN_BENCH_REGISTER_WITH(scenario, impl, ...)                           \
  [[maybe_unused]] static benchmark::internal::Benchmark* const GREEN_BENCH_CAT( \
      green_bench_row_, __COUNTER__) = ::green_bench::add<scenario, impl>() __VA_ARGS__

#endif  // GREEN_BENCH_REGISTER_HPP
