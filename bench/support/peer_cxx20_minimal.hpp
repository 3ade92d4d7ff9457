// bench/support/peer_cxx20_minimal.hpp
//
// cxx20_minimal: C++20 coroutines through cxx20_generator (one heap frame per
// coroutine, value by address). A stackless coroutine can only suspend in its
// own body, so everything that a stackful unit does by calling a function
// that yields is done here by a nested generator that re-yields each item:
//   * yield_from at depth d is d generators re-yielding a producer's items:
//     O(d) resumes per item, by design of the comparison.
//   * tree_walk is one generator per tree node, each re-yielding its children.
// Coroutines resume only their caller, so ring goes through the calling
// thread, like coroutine2. Destroying a suspended coroutine is
// coroutine_handle::destroy(): no exception.

#ifndef GREEN_BENCH_PEER_CXX20_MINIMAL_HPP
#define GREEN_BENCH_PEER_CXX20_MINIMAL_HPP

#include <cstddef>
#include <string_view>
#include <vector>

#include "support/common.hpp"
#include "support/coroutine_bodies.hpp"
#include "support/cxx20_generator.hpp"

namespace green_bench {
namespace cxx20 {

template <class Y, class S = void>
using generator = cxx20_generator<Y, S>;
// The bodies green's stackless row runs too.
using bodies = coroutine_bodies<generator>;

// ------------------------------------------------------------- switch_roundtrip

inline generator<int, int> echo_body() {
  int v = 0;
  for (;;) v = co_yield v + 1;
}

class echo {
 public:
  echo() : g_(echo_body()) { g_.next(); }
  int roundtrip(int x) { return *g_.send(x); }

 private:
  generator<int, int> g_;
};

// gen_next / gen_send: bodies::counter(), bodies::accumulator().

// ---------------------------------------------------------------- yield_from

// Clang's -Winfinite-recursion misreads coroutines: calling chain() only
// creates a suspended frame, it does not recurse.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winfinite-recursion"
#endif
// chain(0) is the producer; chain(d) re-yields every item of chain(d - 1).
inline generator<int> chain(int depth) {
  if (depth == 0) {
    for (int i = 0;; ++i) co_yield i;
  } else {
    auto inner = chain(depth - 1);
    for (;;) co_yield *inner.next();
  }
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

// ----------------------------------------------------------------- tree_walk

inline generator<int> walk(const tree_node* n) {
  if (!n->left) {
    co_yield n->value;
    co_return;
  }
  for (auto g = walk(n->left); const int* p = g.next();) co_yield *p;
  for (auto g = walk(n->right); const int* p = g.next();) co_yield *p;
}

// ----------------------------------------------------------------- pipeline

// Each stage owns its upstream generator (moved into its frame). The first
// is bodies::source_stage().
inline generator<int> parse_stage(generator<std::string_view> up) {
  int v = 0;
  while (const std::string_view* line = up.next())
    if (parse_line(*line, v)) co_yield v;
}
inline generator<int> filter_stage(generator<int> up) {
  while (const int* p = up.next())
    if (keep(*p)) co_yield *p;
}
inline generator<int> map_stage(generator<int> up) {
  while (const int* p = up.next()) co_yield transform(*p);
}

class pipeline {
 public:
  explicit pipeline(std::string_view text)
      : last_(map_stage(filter_stage(parse_stage(bodies::source_stage(text))))) {}
  const int* next() { return last_.next(); }

 private:
  generator<int> last_;
};

// ----------------------------------------------------- spawn_finish / kill

class spawner {
 public:
  int run(int x) {
    int out = 0;
    {
      auto g = bodies::oneshot(x, &out);
      g.next();  // runs to the end
    }
    return out;
  }
};

using parked = generator<int>;

inline parked make_parked(int* destroyed) {
  auto g = bodies::parked_body(destroyed);
  g.next();
  return g;
}

// ------------------------------------------------------------------ pingpong_many

inline generator<int> ring_unit(long long* token) {
  for (;;) {
    ++*token;
    co_yield 0;
  }
}

// ring: the calling thread is unit 0 and resumes units 1..n-1 in turn.
class ring {
 public:
  explicit ring(int n) {
    units_.reserve(static_cast<std::size_t>(n - 1));
    for (int i = 1; i < n; ++i) units_.push_back(ring_unit(&token_));
  }
  void round() {
    ++token_;
    for (auto& u : units_) u.next();
  }
  long long token() const noexcept { return token_; }

 private:
  long long token_ = 0;
  std::vector<generator<int>> units_;
};

// ----------------------------------------------------------------- memory_parked

class park_set {
 public:
  explicit park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.push_back(bodies::parked_unit());
      units_.back().next();
    }
  }

 private:
  std::vector<generator<int>> units_;
};

}  // namespace cxx20

// The policy (the members variants.hpp lists).
struct cxx20_minimal {
  static constexpr const char* name = "cxx20_minimal";
  using echo = cxx20::echo;
  static cxx20::generator<int> make_counter() { return cxx20::bodies::counter(); }
  static cxx20::generator<int, int> make_accumulator() { return cxx20::bodies::accumulator(); }
  static cxx20::generator<int> make_chain(int depth) { return cxx20::chain(depth); }
  static cxx20::generator<int> make_tree_walk(const tree& t) { return cxx20::walk(t.root()); }
  using pipeline = cxx20::pipeline;
  using spawner = cxx20::spawner;
  using parked = cxx20::parked;
  static parked make_parked(int* destroyed) { return cxx20::make_parked(destroyed); }
  using ring = cxx20::ring;
  using park_set = cxx20::park_set;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_CXX20_MINIMAL_HPP
