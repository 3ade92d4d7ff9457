// bench/support/coroutine_bodies.hpp
//
// The coroutine bodies the two stackless rows share, written once:
// cxx20_minimal (peer_cxx20_minimal.hpp) and green's stackless
// (green_variants.hpp) run the same code and differ only in the generator
// type, Gen<Y, S> (yielding Y, sent S; void: nothing is sent). Bodies that
// consume another generator (yield_from, tree_walk, the pipeline's later
// stages) are not here: cxx20_minimal re-yields item by item where green's
// stackless delegates with yield_from() or pulls with range-for.

#ifndef GREEN_BENCH_COROUTINE_BODIES_HPP
#define GREEN_BENCH_COROUTINE_BODIES_HPP

#include <cstddef>
#include <string_view>

#include "support/common.hpp"

namespace green_bench {

template <template <class, class> class Gen>
struct coroutine_bodies {
  // gen_next: 0, 1, 2, ...
  static Gen<int, void> counter() {
    for (int i = 0;; ++i) co_yield i;
  }

  // gen_send: the running total of what is sent.
  static Gen<int, int> accumulator() {
    int total = 0;
    // Two statements: in a template, GCC 12 cannot type `total += co_yield
    // total` ("insufficient contextual information").
    for (;;) {
      const int sent = co_yield total;
      total += sent;
    }
  }

  // pipeline: the first stage, the text's lines.
  static Gen<std::string_view, void> source_stage(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) co_yield next_line(text, pos);
  }

  // spawn_finish: a unit that runs to its end at its first resume.
  static Gen<int, void> oneshot(int x, int* out) {
    *out = x + 1;
    co_return;
  }

  // kill_suspended: holds a counted across its suspension.
  static Gen<int, void> parked_body(int* destroyed) {
    counted guard(destroyed);
    co_yield 0;
  }

  // memory_parked: a parked unit (it has no stack of its own to touch).
  static Gen<int, void> parked_unit() {
    touch_stack();  // runs on the resumer's stack
    co_yield 0;
  }
};

}  // namespace green_bench

#endif  // GREEN_BENCH_COROUTINE_BODIES_HPP
