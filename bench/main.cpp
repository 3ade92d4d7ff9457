// bench/main.cpp
//
// green_bench's main: Google Benchmark's, plus the build context every JSON
// report carries (compiler, flags, Boost, stack size), so numbers can be
// compared only with numbers built alike.

#include <string>

#include <benchmark/benchmark.h>
#include <boost/version.hpp>

#include "green_bench_build_info.hpp"
#include "support/common.hpp"

namespace {

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string boost_version() {
  return std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
         "." + std::to_string(BOOST_VERSION % 100);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("green.compiler", compiler());
  benchmark::AddCustomContext("green.build_type", GREEN_BENCH_BUILD_TYPE);
  benchmark::AddCustomContext("green.cxx_flags", GREEN_BENCH_CXX_FLAGS);
  benchmark::AddCustomContext("green.boost_version", boost_version());
  benchmark::AddCustomContext("green.benchmark_version", GREEN_BENCH_BENCHMARK_VERSION);
  benchmark::AddCustomContext("green.stack_size", std::to_string(green_bench::stack_size));
  benchmark::AddCustomContext("green.stack_allocators",
                              "raw_fcontext: mmap, no guard, pooled; boost_fiber_ctx, coroutine2, "
                              "boost_fibers: pooled_fixedsize_stack");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
