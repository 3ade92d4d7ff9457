// bench/instr_main.cpp
//
// green_instr: instructions per operation for the key rows of green_bench,
// counted by callgrind, a figure that does not move with the machine's load.
// bench/instr.sh (make bench-instr) runs it as
//
//   valgrind --tool=callgrind --collect-atstart=no green_instr
//
// For each row: the same policy and loop as the green_bench scenario, set up
// and warmed up uncounted; then the counters are zeroed, collection is
// switched on for `ops` operations only, and the counts are dumped under the
// row's name (CALLGRIND_DUMP_STATS_AT). instr.sh divides each dump's total by
// the ops printed here. The counts include the loop itself (about 3
// instructions per operation). Without valgrind the client requests do
// nothing and the program just runs the loops (the CTest smoke test does
// that, with --scale=0.01).
//
//   green_instr [--scale=F] [--filter=SUBSTRING] [--list]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(name) static_cast<void>(name)
#endif

#include "support/common.hpp"
#include "support/green_variants.hpp"
#include "support/variants.hpp"

namespace green_bench {
namespace {

template <class T>
void keep(const T& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

[[noreturn]] void fail(const std::string& row, const char* what) {
  std::fprintf(stderr, "green_instr: %s: %s\n", row.c_str(), what);
  std::exit(1);
}

// counted_region runs `body` with collection on, then dumps the counts as `row`.
struct counted_region {
  std::string row;
  long ops;
  template <class F>
  void run(F&& body) {
    CALLGRIND_ZERO_STATS;
    CALLGRIND_TOGGLE_COLLECT;
    body();
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(row.c_str());
    std::printf("%s %ld\n", row.c_str(), ops);
    std::fflush(stdout);
  }
};

long long triangle(long long n) { return n * (n - 1) / 2; }

template <class Impl>
void switch_roundtrip(const std::string& row, long ops) {
  typename Impl::echo echo;
  int x = echo.roundtrip(-1);
  for (int i = 0; i < 1000; ++i) x = echo.roundtrip(x);
  const int start = x;
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) x = echo.roundtrip(x);
  });
  if (x != start + ops) fail(row, "echo lost a value");
}

template <class Impl>
void gen_next(const std::string& row, long ops) {
  auto gen = Impl::make_counter();
  long long sum = 0;
  for (int i = 0; i < 1000; ++i) sum += *gen.next();
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) sum += *gen.next();
  });
  keep(sum);
  if (sum != triangle(ops + 1000)) fail(row, "wrong items");
}

template <class Impl>
void gen_send(const std::string& row, long ops) {
  auto gen = Impl::make_accumulator();
  gen.next();
  const int one = 1;
  int total = 0;
  for (int i = 0; i < 1000; ++i) total = *gen.send(one);
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) total = *gen.send(one);
  });
  keep(total);
  if (total != 1000 + ops) fail(row, "wrong total");
}

template <class Impl, bool Nested = false>
void chain(const std::string& row, long ops, int depth) {
  auto gen = [&] {
    if constexpr (Nested) {
      return Impl::make_nested(depth);
    } else {
      return Impl::make_chain(depth);
    }
  }();
  long long sum = 0;
  for (int i = 0; i < 1000; ++i) sum += *gen.next();
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) sum += *gen.next();
  });
  keep(sum);
  if (sum != triangle(ops + 1000)) fail(row, "wrong items");
}

template <class Impl>
void tree_walk(const std::string& row, const tree& t) {
  long long sum = 0;
  counted_region{row, t.leaves}.run([&] {
    auto gen = Impl::make_tree_walk(t);
    while (const int* leaf = gen.next()) sum += *leaf;
  });
  if (sum != t.leaf_sum) fail(row, "wrong leaves");
}

template <class Impl>
void pipeline(const std::string& row, const pipeline_input& in) {
  long long sum = 0;
  counted_region{row, in.items}.run([&] {
    typename Impl::pipeline p(in.text);
    while (const int* v = p.next()) sum += *v;
  });
  if (sum != in.expected_sum) fail(row, "wrong sum");
}

template <class Impl>
void spawn_finish(const std::string& row, long ops) {
  typename Impl::spawner spawner;
  int x = spawner.run(0) - 1;
  for (int i = 0; i < 100; ++i) x = spawner.run(x);
  const int start = x;
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) x = spawner.run(x);
  });
  if (x != start + ops) fail(row, "unit did not run");
}

template <class Impl>
void kill_suspended(const std::string& row, long ops) {
  constexpr int kBatch = 256;  // as green_bench: within green's stack pool limit
  const long batches = (ops + kBatch - 1) / kBatch;
  int destroyed = 0;
  std::vector<typename Impl::parked> units;
  units.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) units.push_back(Impl::make_parked(&destroyed));
  units.clear();  // warm-up
  destroyed = 0;
  counted_region{row, batches * kBatch}.run([&] {
    for (long b = 0; b < batches; ++b) {
      CALLGRIND_TOGGLE_COLLECT;  // making the units is not counted
      for (int i = 0; i < kBatch; ++i) units.push_back(Impl::make_parked(&destroyed));
      CALLGRIND_TOGGLE_COLLECT;
      units.clear();
    }
  });
  if (destroyed != batches * kBatch) fail(row, "destructors on the killed stack did not run");
}

template <class Impl>
void pingpong_many(const std::string& row, long ops, int n) {
  typename Impl::ring ring(n);
  ring.round();
  for (int i = 0; i < 10; ++i) ring.round();
  const long rounds = (ops + n - 1) / n;
  counted_region{row, rounds * n}.run([&] {
    for (long i = 0; i < rounds; ++i) ring.round();
  });
  if (ring.token() != (rounds + 11) * n) fail(row, "a hand-off was lost");
}

// The hub rows: the loops of bench/hub_bench.cpp.
template <class Impl>
void hub_sleep0(const std::string& row, long ops) {
  typename Impl::sleep_pair pair;
  for (int i = 0; i < 1000; ++i) pair.turn();
  const long turns = (ops + 1) / 2;
  counted_region{row, 2 * turns}.run([&] {
    for (long i = 0; i < turns; ++i) pair.turn();
  });
  if (pair.turns() != turns + 1000) fail(row, "a turn was lost");
}

template <class Impl>
void hub_event_wake(const std::string& row, long ops) {
  typename Impl::event_pair pair;
  for (int i = 0; i < 1000; ++i) pair.round();
  const long rounds = (ops + 1) / 2;
  counted_region{row, 2 * rounds}.run([&] {
    for (long i = 0; i < rounds; ++i) pair.round();
  });
  if (pair.wakes() != rounds + 1000) fail(row, "a wake-up was lost");
}

template <class Impl>
void hub_queue_handoff(const std::string& row, long ops) {
  typename Impl::queue_pair q;
  int expected = 0;
  bool in_order = true;
  for (int i = 0; i < 1000; ++i) in_order &= q.get() == expected++;
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) in_order &= q.get() == expected++;
  });
  if (!in_order) fail(row, "items out of order");
}

template <class Impl>
void hub_spawn_join(const std::string& row, long ops) {
  typename Impl::spawn_joiner s;
  for (int i = 0; i < 100; ++i) s.run();
  counted_region{row, ops}.run([&] {
    for (long i = 0; i < ops; ++i) s.run();
  });
  if (s.count() != ops + 100) fail(row, "a unit did not run");
}

template <class Impl>
void hub_timers(const std::string& row, int n) {
  long fired = Impl::timers(n);  // warm-up
  counted_region{row, n}.run([&] { fired += Impl::timers(n); });
  if (fired != 2L * n) fail(row, "a timer did not fire");
}

// The tree of tree_walk (the row keeps its name; --scale below 1 walks a
// small tree) and the pipeline's input (100,000 lines: the per-line count
// does not depend on the length).
const tree& walk_tree(double scale) {
  static const tree big = make_tree(65536);
  static const tree small = make_tree(1024);
  return scale < 1 ? small : big;
}
const pipeline_input& pipeline_text(double scale) {
  static const pipeline_input big = make_pipeline_input(100000);
  static const pipeline_input small = make_pipeline_input(1000);
  return scale < 1 ? small : big;
}

struct row {
  std::string name;
  std::function<void(const std::string&, double)> run;
};

long scaled(long n, double scale) {
  long v = static_cast<long>(static_cast<double>(n) * scale);
  return v < 1 ? 1 : v;
}

std::vector<row> rows() {
  std::vector<row> r;
  auto add = [&](std::string name, std::function<void(const std::string&, double)> f) {
    r.push_back({std::move(name), std::move(f)});
  };
  constexpr long kSwitch = 100000, kSpawn = 10000, kKill = 2560, kDeep = 20000;

#define GREEN_INSTR_SWITCH(impl) \
  add("switch_roundtrip/" #impl, \
      [](const std::string& n, double s) { switch_roundtrip<impl>(n, scaled(kSwitch, s)); })
  GREEN_INSTR_SWITCH(greenlet);
  GREEN_INSTR_SWITCH(raw_fcontext);
  GREEN_INSTR_SWITCH(raw_fcontext_call);
  GREEN_INSTR_SWITCH(boost_fiber_ctx);
  GREEN_INSTR_SWITCH(coroutine2);
  GREEN_INSTR_SWITCH(boost_fibers);
  GREEN_INSTR_SWITCH(cxx20_minimal);

#define GREEN_INSTR_GEN(impl)                                                                    \
  add("gen_next/" #impl,                                                                         \
      [](const std::string& n, double s) { gen_next<impl>(n, scaled(kSwitch, s)); });            \
  add("gen_send/" #impl,                                                                         \
      [](const std::string& n, double s) { gen_send<impl>(n, scaled(kSwitch, s)); });            \
  for (int d : {1, 64})                                                                          \
    add("yield_from/" #impl "/depth:" + std::to_string(d), [d](const std::string& n, double s) { \
      chain<impl>(n, scaled(d > 16 ? kDeep : kSwitch, s), d);                                    \
    });                                                                                          \
  add("tree_walk/" #impl "/leaves:65536",                                                        \
      [](const std::string& n, double s) { tree_walk<impl>(n, walk_tree(s)); });                 \
  add("pipeline/" #impl,                                                                         \
      [](const std::string& n, double s) { pipeline<impl>(n, pipeline_text(s)); })

  GREEN_INSTR_GEN(stackful);
  GREEN_INSTR_GEN(stackless);
  GREEN_INSTR_GEN(raw_fcontext);
  GREEN_INSTR_GEN(boost_fiber_ctx);
  GREEN_INSTR_GEN(coroutine2);
  GREEN_INSTR_GEN(cxx20_minimal);
  GREEN_INSTR_GEN(iterator);
  for (int d : {1, 64})
    add("nested_yield/stackful/depth:" + std::to_string(d),
        [d](const std::string& n, double s) { chain<stackful, true>(n, scaled(kSwitch, s), d); });

#define GREEN_INSTR_SPAWN(impl) \
  add("spawn_finish/" #impl,    \
      [](const std::string& n, double s) { spawn_finish<impl>(n, scaled(kSpawn, s)); })
  GREEN_INSTR_SPAWN(greenlet);
  GREEN_INSTR_SPAWN(stackful);
  GREEN_INSTR_SPAWN(stackless);
  GREEN_INSTR_SPAWN(raw_fcontext);
  GREEN_INSTR_SPAWN(boost_fiber_ctx);
  GREEN_INSTR_SPAWN(cxx20_minimal);

#define GREEN_INSTR_KILL(impl) \
  add("kill_suspended/" #impl, \
      [](const std::string& n, double s) { kill_suspended<impl>(n, scaled(kKill, s)); })
  GREEN_INSTR_KILL(greenlet);
  GREEN_INSTR_KILL(stackful);
  GREEN_INSTR_KILL(stackless);
  GREEN_INSTR_KILL(raw_fcontext);
  GREEN_INSTR_KILL(boost_fiber_ctx);
  GREEN_INSTR_KILL(cxx20_minimal);

#define GREEN_INSTR_RING(impl)         \
  add("pingpong_many/" #impl "/n:100", \
      [](const std::string& n, double s) { pingpong_many<impl>(n, scaled(kSwitch, s), 100); })
  GREEN_INSTR_RING(greenlet);
  GREEN_INSTR_RING(raw_fcontext);
  GREEN_INSTR_RING(boost_fiber_ctx);
  GREEN_INSTR_RING(cxx20_minimal);

#define GREEN_INSTR_HUB(impl, label)                                                        \
  add("hub_sleep0/" label,                                                                  \
      [](const std::string& n, double s) { hub_sleep0<impl>(n, scaled(kSwitch, s)); });     \
  add("hub_event_wake/" label,                                                              \
      [](const std::string& n, double s) { hub_event_wake<impl>(n, scaled(kSwitch, s)); }); \
  add("hub_spawn_join/" label,                                                              \
      [](const std::string& n, double s) { hub_spawn_join<impl>(n, scaled(kSpawn, s)); });  \
  add("hub_timers/" label "/n:1000",                                                        \
      [](const std::string& n, double s) { hub_timers<impl>(n, s < 1 ? 100 : 1000); })
  GREEN_INSTR_HUB(hub_green, "green");
  GREEN_INSTR_HUB(boost_fibers, "boost_fibers");
#if GREEN_BENCH_HAS_HUB_QUEUE
  add("hub_queue_handoff/green",
      [](const std::string& n, double s) { hub_queue_handoff<hub_green>(n, scaled(kSwitch, s)); });
#endif
  add("hub_queue_handoff/boost_fibers", [](const std::string& n, double s) {
    hub_queue_handoff<boost_fibers>(n, scaled(kSwitch, s));
  });
  return r;
}

}  // namespace
}  // namespace green_bench

int main(int argc, char** argv) {
  double scale = 1.0;
  std::string filter;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--scale=", 8) == 0) {
      scale = std::atof(argv[i] + 8);
    } else if (std::strncmp(argv[i], "--filter=", 9) == 0) {
      filter = argv[i] + 9;
    } else if (std::strcmp(argv[i], "--list") == 0) {
      list = true;
    } else {
      std::fprintf(stderr, "usage: green_instr [--scale=F] [--filter=SUBSTRING] [--list]\n");
      return 2;
    }
  }
  for (const auto& r : green_bench::rows()) {
    if (!filter.empty() && r.name.find(filter) == std::string::npos) continue;
    if (list) {
      std::printf("%s\n", r.name.c_str());
      continue;
    }
    r.run(r.name, scale);
  }
  return 0;
}
