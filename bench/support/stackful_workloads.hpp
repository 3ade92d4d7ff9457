// bench/support/stackful_workloads.hpp
//
// stackful_workloads<G> writes the generator scenarios once for any stackful
// generator template G<Y, S>, so raw_fcontext, boost_fiber_ctx and coroutine2
// (and later green's stackful generator) run the same bodies. G must offer:
//   G<Y, S>(body)   body(y) is called with a yielder; y.yield(const Y&)
//                   suspends and returns the sent S (nothing when S is void)
//   const Y* next() the address of the next value; nullptr once body returned
//   const Y* send(const S&)
// A stackful body can yield from any call depth, so nested_yield (and the
// peers' yield_from) at depth d is d nested calls above the producer, and
// tree_walk is plain recursion.

#ifndef GREEN_BENCH_STACKFUL_WORKLOADS_HPP
#define GREEN_BENCH_STACKFUL_WORKLOADS_HPP

#include <cstddef>
#include <string_view>

#include "support/common.hpp"

namespace green_bench {

// produce() yields 0, 1, 2, ... forever.
template <class Yielder>
[[gnu::noinline]] void produce(Yielder& y) {
  for (int i = 0;; ++i) y.yield(i);
}

// delegate() yields produce()'s items from `depth` calls further down. GCC
// sees that produce() never returns and calls the recursion infinite; it ends
// at depth 0, and only unwinding leaves it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
template <class Yielder>
[[gnu::noinline]] int delegate(int depth, Yielder& y) {
  if (depth == 0) {
    produce(y);
    return 0;
  }
  return delegate(depth - 1, y) + 1;  // not a tail call: the frames stay
}
#pragma GCC diagnostic pop

// walk() yields the leaves under `n` by recursion.
template <class Yielder>
[[gnu::noinline]] void walk(const tree_node* n, Yielder& y) {
  if (!n->left) {
    y.yield(n->value);
    return;
  }
  walk(n->left, y);
  walk(n->right, y);
}

template <template <class, class> class G>
struct stackful_workloads {
  static G<int, void> make_counter() {
    return G<int, void>([](auto& y) {
      for (int i = 0;; ++i) y.yield(i);
    });
  }

  static G<int, int> make_accumulator() {
    return G<int, int>([](auto& y) {
      int total = 0;
      for (;;) total += y.yield(total);
    });
  }

  // make_nested(d): one generator whose producer yields from d nested calls
  // (scenario nested_yield).
  static G<int, void> make_nested(int depth) {
    return G<int, void>([depth](auto& y) { delegate(depth, y); });
  }

  // make_chain(d) (scenario yield_from): a stackful peer has no generator
  // delegation, so its way to yield from d levels down is d nested calls.
  // green's stackful policy hides this with a chain of d yielder::yield_from
  // delegations (PEP 380).
  static G<int, void> make_chain(int depth) { return make_nested(depth); }

  static G<int, void> make_tree_walk(const tree& t) {
    return G<int, void>([root = t.root()](auto& y) { walk(root, y); });
  }

  // pipeline: four generators, each pulling from the one before.
  class pipeline {
   public:
    explicit pipeline(std::string_view text)
        : source_([text](auto& y) {
            for (std::size_t pos = 0; pos < text.size();) y.yield(next_line(text, pos));
          }),
          parse_([this](auto& y) {
            int v = 0;
            while (const std::string_view* line = source_.next())
              if (parse_line(*line, v)) y.yield(v);
          }),
          filter_([this](auto& y) {
            while (const int* p = parse_.next())
              if (keep(*p)) y.yield(*p);
          }),
          map_([this](auto& y) {
            while (const int* p = filter_.next()) y.yield(transform(*p));
          }) {}
    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;
    const int* next() { return map_.next(); }

   private:
    G<std::string_view, void> source_;
    G<int, void> parse_;
    G<int, void> filter_;
    G<int, void> map_;
  };
};

}  // namespace green_bench

#endif  // GREEN_BENCH_STACKFUL_WORKLOADS_HPP
