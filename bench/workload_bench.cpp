// bench/workload_bench.cpp
//
// tree_walk/leaves:L: every leaf of a complete binary tree with L leaves,
//   yielded by recursion. Stackful (green's and the peers): one generator, a
//   recursive function yielding from the leaves. stackless (green): one
//   generator per node, delegating to its children with yield_from.
//   cxx20_minimal: one generator per node, each re-yielding its children's
//   items. iterator: an explicit-stack walk.
// pipeline: source -> parse -> filter -> map -> sink over 1,000,000 text
//   lines, each stage a lazy generator pulling from the previous one and the
//   sink being the benchmark loop; filter drops about a third.
// One pass is the whole tree or all lines, run with KeepRunningBatch(items):
// one iteration is one item (leaf, or source line), and the seconds_per_item
// counter says the same in CPU time. Creating the generators is inside the
// pass.

#include <map>

#include <benchmark/benchmark.h>

#include "support/green_variants.hpp"
#include "support/register.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

const tree& tree_with(int leaves) {
  static std::map<int, tree> trees;
  auto it = trees.find(leaves);
  if (it == trees.end()) it = trees.emplace(leaves, make_tree(leaves)).first;
  return it->second;
}

struct tree_walk {
  static constexpr const char* name = "tree_walk";
  static void configure(benchmark::internal::Benchmark* b) { b->ArgName("leaves")->Arg(65536); }

  template <class Impl>
  static void run(benchmark::State& state) {
    const tree& t = tree_with(static_cast<int>(state.range(0)));
    bool ok = true;
    while (state.KeepRunningBatch(t.leaves)) {
      auto gen = Impl::make_tree_walk(t);
      long long sum = 0;
      while (const int* leaf = gen.next()) sum += *leaf;
      ok &= sum == t.leaf_sum;
    }
    if (!ok) state.SkipWithError("wrong leaves");
    state.SetItemsProcessed(state.iterations());
    state.counters["seconds_per_item"] = seconds_per(static_cast<double>(state.iterations()));
  }
};

struct pipeline {
  static constexpr const char* name = "pipeline";
  static void configure(benchmark::internal::Benchmark*) {}

  template <class Impl>
  static void run(benchmark::State& state) {
    const pipeline_input& in = pipeline_data();
    bool ok = true;
    while (state.KeepRunningBatch(in.items)) {
      typename Impl::pipeline p(in.text);
      long long sum = 0;
      while (const int* v = p.next()) sum += *v;
      ok &= sum == in.expected_sum;
    }
    if (!ok) state.SkipWithError("wrong sum");
    state.SetItemsProcessed(state.iterations());
    state.counters["seconds_per_item"] = seconds_per(static_cast<double>(state.iterations()));
  }
};

GREEN_BENCH_REGISTER(tree_walk, stackful);
GREEN_BENCH_REGISTER(tree_walk, stackless);
GREEN_BENCH_REGISTER(tree_walk, raw_fcontext);
GREEN_BENCH_REGISTER(tree_walk, boost_fiber_ctx);
GREEN_BENCH_REGISTER(tree_walk, coroutine2);
GREEN_BENCH_REGISTER(tree_walk, cxx20_minimal);
GREEN_BENCH_REGISTER(tree_walk, iterator);

GREEN_BENCH_REGISTER(pipeline, stackful);
GREEN_BENCH_REGISTER(pipeline, stackless);
GREEN_BENCH_REGISTER(pipeline, raw_fcontext);
GREEN_BENCH_REGISTER(pipeline, boost_fiber_ctx);
GREEN_BENCH_REGISTER(pipeline, coroutine2);
GREEN_BENCH_REGISTER(pipeline, cxx20_minimal);
GREEN_BENCH_REGISTER(pipeline, iterator);

}  // namespace
}  // namespace green_bench
