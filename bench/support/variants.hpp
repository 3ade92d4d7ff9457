// bench/support/variants.hpp
//
// The implementation policies. Each scenario body is a template on one of
// these; a row is "<scenario>/<policy>::name". A policy provides what the
// scenarios it is registered for use (a missing member is a compile error at
// the registration line):
//
//   switch_roundtrip  echo            int roundtrip(int x), returns x + 1
//   gen_next          make_counter()  next() -> const int*: 0, 1, 2, ...
//   gen_send          make_accumulator()
//                                     next() once, then send(const int&) ->
//                                     const int*: the running total
//   yield_from        make_chain(d)   next() -> const int*: 0, 1, 2, ...
//                                     produced d delegation levels down
//   nested_yield      make_nested(d)  the same, yielded from d nested calls
//                                     inside one generator (stackful only)
//   tree_walk         make_tree_walk(const tree&)
//                                     next() -> const int*: each leaf, then nullptr
//   pipeline          pipeline(std::string_view text)
//                                     next() -> const int*: the map stage's
//                                     output, then nullptr
//   spawn_finish      spawner         int run(int x): create, run to end,
//                                     destroy a unit computing x + 1
//   kill_suspended    parked, make_parked(int* destroyed)
//                                     a movable handle to a started unit that
//                                     holds a counted(destroyed) across its
//                                     suspension
//   pingpong_many     ring(int n)     round(): the token passes through all n
//                                     units once (n hand-offs); token() counts
//                                     hand-offs
//   memory_parked     park_set(long n) n units, each touched 1 KiB of stack
//                                     (touch_stack()) and parked; optional
//                                     static release_caches(), called before
//                                     the first RSS reading
//
// Generators return the address of their value (valid until the next call),
// so no row pays for copies the others do not.

#ifndef GREEN_BENCH_VARIANTS_HPP
#define GREEN_BENCH_VARIANTS_HPP

#include <string_view>

#include "support/common.hpp"
#include "support/peer_boost_fiber_ctx.hpp"
#include "support/peer_boost_fibers.hpp"
#include "support/peer_coroutine2.hpp"
#include "support/peer_cxx20_minimal.hpp"
#include "support/peer_iterator.hpp"
#include "support/peer_raw_fcontext.hpp"
#include "support/stackful_workloads.hpp"

namespace green_bench {

struct raw_fcontext : stackful_workloads<raw::generator> {
  static constexpr const char* name = "raw_fcontext";
  using echo = raw::echo;
  using spawner = raw::spawner;
  using parked = raw::parked;
  static parked make_parked(int* destroyed) { return raw::make_parked(destroyed); }
  using ring = raw::ring;
  using park_set = raw::park_set;
};

// raw_fcontext_call: raw_fcontext's switch_roundtrip with each side's jump in
// a [[gnu::noinline]] function (informational: what any switch API pays for
// being a function call after a stack switch).
struct raw_fcontext_call {
  static constexpr const char* name = "raw_fcontext_call";
  using echo = raw::echo_call;
};

struct boost_fiber_ctx : stackful_workloads<fiber_ctx::generator> {
  static constexpr const char* name = "boost_fiber_ctx";
  using echo = fiber_ctx::echo;
  using spawner = fiber_ctx::spawner;
  using parked = fiber_ctx::parked;
  static parked make_parked(int* destroyed) { return fiber_ctx::make_parked(destroyed); }
  using ring = fiber_ctx::ring;
  using park_set = fiber_ctx::park_set;
};

struct coroutine2 : stackful_workloads<coro2::generator> {
  static constexpr const char* name = "coroutine2";
  using echo = coro2::echo;
  using spawner = coro2::spawner;
  using parked = coro2::parked;
  static parked make_parked(int* destroyed) { return coro2::make_parked(destroyed); }
  using ring = coro2::ring;
  using park_set = coro2::park_set;
};

struct boost_fibers {
  static constexpr const char* name = "boost_fibers";
  using echo = fibers::echo;
  using spawner = fibers::spawner;
  using ring = fibers::ring;
};

struct cxx20_minimal {
  static constexpr const char* name = "cxx20_minimal";
  using echo = cxx20::echo;
  static cxx20::generator<int> make_counter() { return cxx20::counter(); }
  static cxx20::generator<int, int> make_accumulator() { return cxx20::accumulator(); }
  static cxx20::generator<int> make_chain(int depth) { return cxx20::chain(depth); }
  static cxx20::generator<int> make_tree_walk(const tree& t) { return cxx20::walk(t.root()); }
  using pipeline = cxx20::pipeline;
  using spawner = cxx20::spawner;
  using parked = cxx20::parked;
  static parked make_parked(int* destroyed) { return cxx20::make_parked(destroyed); }
  using ring = cxx20::ring;
  using park_set = cxx20::park_set;
};

struct iterator {
  static constexpr const char* name = "iterator";
  static iter::counter make_counter() { return {}; }
  static iter::accumulator make_accumulator() { return {}; }
  static iter::chain make_chain(int depth) { return iter::chain(depth); }
  static iter::tree_walk make_tree_walk(const tree& t) { return iter::tree_walk(t.root()); }
  using pipeline = iter::pipeline;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_VARIANTS_HPP
