// bench/support/green_variants.hpp
//
// Policies for green's own rows, with the same members as the peers in
// variants.hpp (see the table there):
//   * greenlet (green::greenlet, green::core): switch_roundtrip, spawn_finish,
//     kill_suspended, pingpong_many, memory_parked.
//   * stackful (green::generator): gen_next, gen_send, tree_walk, pipeline
//     through stackful_workloads like the stackful peers; yield_from is a
//     chain of yielder::yield_from() delegations (PEP 380, O(1) per item),
//     nested_yield is nested calls; spawn_finish, kill_suspended (the
//     destructor close()s: generator_exit thrown at the yield) and
//     memory_parked.
//   * stackless (green::stackless::generator): the coroutine bodies of
//     peer_cxx20_minimal.hpp with the return type swapped (the ones written
//     once in coroutine_bodies.hpp, and the same shapes here), except that
//     yield_from and tree_walk delegate with `co_yield yield_from(sub)`
//     where cxx20_minimal re-yields item by item.
// Every greenlet gets a 64 KiB stack (stack_options{.size = stack_size}) and
// green's default guard policy (fallback: past the guard-page budget, stacks
// are carved from slabs without guard pages; memory_parked counts them).
// Generators are consumed with next() (which moves the value out, and throws
// stop_iteration once at the end) or, where a unit runs to its end, with
// range-for, which ends without a throw.

#ifndef GREEN_BENCH_GREEN_VARIANTS_HPP
#define GREEN_BENCH_GREEN_VARIANTS_HPP

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/generator.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "green/stackless.hpp"
#include "support/common.hpp"
#include "support/coroutine_bodies.hpp"
#include "support/stackful_workloads.hpp"

namespace green_bench {
namespace green_impl {

inline green::stack_options stack_opts() { return green::stack_options{.size = stack_size}; }

// echo: a greenlet answering each switch with the value plus one.
class echo {
 public:
  echo()
      : g_(
            [](int v) -> int {
              const green::greenlet parent = *green::getcurrent().parent();
              for (;;) v = green::value_cast<int>(parent.switch_(v + 1));
            },
            stack_opts()) {}
  int roundtrip(int x) { return green::value_cast<int>(g_.switch_(x)); }

 private:
  green::greenlet g_;  // killed (greenlet_exit) when the echo goes away
};

class spawner {
 public:
  int run(int x) {
    green::greenlet g([](int v) { return v + 1; }, stack_opts());
    return green::value_cast<int>(g.switch_(x));
  }
};

using parked = green::greenlet;

inline parked make_parked(int* destroyed) {
  green::greenlet g(
      [destroyed] {
        counted guard(destroyed);
        green::getcurrent().parent()->switch_();
      },
      stack_opts());
  g.switch_();
  return g;
}

// ring: the calling greenlet is unit 0; unit i switches straight to unit
// i + 1, the last one back to unit 0. Dropping the ring kills the units.
class ring {
 public:
  explicit ring(int n) {
    units_.reserve(static_cast<std::size_t>(n));
    units_.push_back(green::getcurrent());
    for (int i = 1; i < n; ++i) {
      units_.emplace_back(
          [this, i, n] {
            const green::greenlet& next = units_[static_cast<std::size_t>(i + 1 == n ? 0 : i + 1)];
            for (;;) {
              ++token_;
              next.switch_();
            }
          },
          stack_opts());
    }
  }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;

  void round() {
    ++token_;
    units_[1].switch_();
  }
  long long token() const noexcept { return token_; }

 private:
  long long token_ = 0;
  std::vector<green::greenlet> units_;
};

class park_set {
 public:
  explicit park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.emplace_back(
          [] {
            touch_stack();
            green::getcurrent().parent()->switch_();
          },
          stack_opts());
      units_.back().switch_();
    }
  }
  ~park_set() {
    for (auto& u : units_) u.switch_();  // run each to its end
  }

 private:
  std::vector<green::greenlet> units_;
};

inline std::size_t unguarded_stacks() { return green::get_stack_stats().unguarded; }

// pull_adapter<Gen, Y, S> adapts a green generator (stackful or stackless,
// same API) to what the workloads call: next() gives a pointer to the value,
// or null at the end; send() the same for a sent value.
template <class Gen, class Y, class S>
class pull_adapter {
 public:
  explicit pull_adapter(Gen g) : g_(std::move(g)) {}
  const Y* next() {
    try {
      value_ = g_.next();
    } catch (const green::stop_iteration&) {
      return nullptr;
    }
    return &value_;
  }
  template <class T = S>
  requires(!std::is_void_v<T>) const Y* send(const T& s) {
    value_ = g_.send(s);
    return &value_;
  }

 private:
  Gen g_;
  Y value_{};
};

// stackful_generator adapts green::generator<Y, S> to what stackful_workloads
// expects: next() returns an address (nullptr at the end, where green throws
// stop_iteration once). The value is moved out of the generator, as
// green::generator::next() does, into a slot here.
template <class Y, class S = void>
class stackful_generator : public pull_adapter<green::generator<Y, S>, Y, S> {
 public:
  template <class Body>
  requires std::is_invocable_v < Body&, green::yielder<Y, S>
  & > explicit stackful_generator(Body body)
      : pull_adapter<green::generator<Y, S>, Y, S>(
            green::generator<Y, S>(std::move(body), stack_opts())) {}
  explicit stackful_generator(green::generator<Y, S> g)
      : pull_adapter<green::generator<Y, S>, Y, S>(std::move(g)) {}
};

// ---------------------------------------------------- stackful generator rows

// pep380_chain(0) produces 0, 1, 2, ...; pep380_chain(d) delegates to
// pep380_chain(d - 1) with yielder::yield_from. The consumer resumes the
// innermost generator directly: O(1) per item whatever d.
inline green::generator<int> pep380_chain(int depth) {
  if (depth == 0) {
    return green::generator<int>(
        [](green::yielder<int>& y) {
          for (int i = 0;; ++i) y.yield(i);
        },
        stack_opts());
  }
  return green::generator<int>(
      [depth](green::yielder<int>& y) { y.yield_from(pep380_chain(depth - 1)); }, stack_opts());
}

// generator_spawner: a generator whose body computes x + 1 and returns,
// run to its end by range-for (no stop_iteration thrown).
class generator_spawner {
 public:
  int run(int x) {
    int out = 0;
    {
      green::generator<int> g([&out, x](green::yielder<int>&) { out = x + 1; }, stack_opts());
      for (int v : g) static_cast<void>(v);
    }
    return out;
  }
};

inline green::generator<int> make_parked_generator(int* destroyed) {
  green::generator<int> g(
      [destroyed](green::yielder<int>& y) {
        counted guard(destroyed);
        y.yield(0);
      },
      stack_opts());
  g.next();  // suspended inside, guard alive
  return g;
}

class generator_park_set {
 public:
  explicit generator_park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.emplace_back(
          [](green::yielder<int>& y) {
            touch_stack();
            y.yield(0);
          },
          stack_opts());
      units_.back().next();
    }
  }
  ~generator_park_set() {
    for (auto& u : units_) static_cast<void>(u.begin());  // run each to its end
  }

 private:
  std::vector<green::generator<int>> units_;
};

// --------------------------------------------------- stackless generator rows

namespace sl {

template <class Y, class S = void>
using gen = green::stackless::generator<Y, S>;
using green::stackless::yield_from;
// The bodies cxx20_minimal runs too: counter(), accumulator(),
// source_stage(), oneshot(), parked_body(), parked_unit().
using bodies = coroutine_bodies<gen>;

// Clang's -Winfinite-recursion misreads coroutines: calling chain() only
// creates a suspended frame, it does not recurse.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winfinite-recursion"
#endif
// chain(0) is the producer; chain(d) delegates to chain(d - 1) (PEP 380).
inline gen<int> chain(int depth) {
  if (depth == 0) {
    for (int i = 0;; ++i) co_yield i;
  } else {
    co_yield yield_from(chain(depth - 1));
  }
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

// walk: one generator per node, delegating to its children.
inline gen<int> walk(const tree_node* n) {
  if (!n->left) {
    co_yield n->value;
    co_return;
  }
  co_yield yield_from(walk(n->left));
  co_yield yield_from(walk(n->right));
}

// The pipeline stages own their upstream generator and pull with range-for;
// the first is bodies::source_stage().
inline gen<int> parse_stage(gen<std::string_view> up) {
  int v = 0;
  for (std::string_view line : up)
    if (parse_line(line, v)) co_yield v;
}
inline gen<int> filter_stage(gen<int> up) {
  for (int v : up)
    if (keep(v)) co_yield v;
}
inline gen<int> map_stage(gen<int> up) {
  for (int v : up) co_yield transform(v);
}

}  // namespace sl

// stackless_generator: the same adapter as stackful_generator, for a
// green::stackless::generator made by a coroutine.
template <class Y, class S = void>
class stackless_generator : public pull_adapter<sl::gen<Y, S>, Y, S> {
 public:
  explicit stackless_generator(sl::gen<Y, S> g) : pull_adapter<sl::gen<Y, S>, Y, S>(std::move(g)) {}
};

class stackless_pipeline {
 public:
  explicit stackless_pipeline(std::string_view text)
      : last_(sl::map_stage(sl::filter_stage(sl::parse_stage(sl::bodies::source_stage(text))))) {}
  const int* next() { return last_.next(); }

 private:
  stackless_generator<int> last_;
};

class stackless_spawner {
 public:
  int run(int x) {
    int out = 0;
    {
      auto g = sl::bodies::oneshot(x, &out);
      for (int v : g) static_cast<void>(v);
    }
    return out;
  }
};

inline sl::gen<int> make_parked_stackless(int* destroyed) {
  auto g = sl::bodies::parked_body(destroyed);
  g.next();
  return g;
}

class stackless_park_set {
 public:
  explicit stackless_park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.push_back(sl::bodies::parked_unit());
      units_.back().next();
    }
  }
  ~stackless_park_set() {
    for (auto& u : units_) static_cast<void>(u.begin());  // run each to its end
  }

 private:
  std::vector<sl::gen<int>> units_;
};

}  // namespace green_impl

// greenlet: green::greenlet, symmetric switches carrying a green::value.
struct greenlet {
  static constexpr const char* name = "greenlet";
  using echo = green_impl::echo;
  using spawner = green_impl::spawner;
  using parked = green_impl::parked;
  static parked make_parked(int* destroyed) { return green_impl::make_parked(destroyed); }
  using ring = green_impl::ring;
  using park_set = green_impl::park_set;
  // release_caches() empties green's stack pool before memory_parked reads
  // RSS, so pooled (already resident) stacks are not reused for free.
  static void release_caches() {
    green::set_stack_pool_limit(0);
    green::set_stack_pool_limit(256);  // green's documented default
  }
  // unguarded_stacks(): stacks this thread created without a guard page so
  // far (memory_parked reports how many of a pass's units got one).
  static std::size_t unguarded_stacks() { return green_impl::unguarded_stacks(); }
};

// stackful: green::generator, the same bodies as the stackful peers, except
// yield_from (PEP 380 delegation; nested_yield has the nested calls).
struct stackful : stackful_workloads<green_impl::stackful_generator> {
  static constexpr const char* name = "stackful";
  static green_impl::stackful_generator<int> make_chain(int depth) {
    return green_impl::stackful_generator<int>(green_impl::pep380_chain(depth));
  }
  using spawner = green_impl::generator_spawner;
  using parked = green::generator<int>;
  static parked make_parked(int* destroyed) { return green_impl::make_parked_generator(destroyed); }
  using park_set = green_impl::generator_park_set;
  static void release_caches() { greenlet::release_caches(); }
  static std::size_t unguarded_stacks() { return green_impl::unguarded_stacks(); }
};

// stackless: green::stackless::generator (C++20 coroutines, one heap frame
// per generator).
struct stackless {
  static constexpr const char* name = "stackless";
  static green_impl::stackless_generator<int> make_counter() {
    return green_impl::stackless_generator<int>(green_impl::sl::bodies::counter());
  }
  static green_impl::stackless_generator<int, int> make_accumulator() {
    return green_impl::stackless_generator<int, int>(green_impl::sl::bodies::accumulator());
  }
  static green_impl::stackless_generator<int> make_chain(int depth) {
    return green_impl::stackless_generator<int>(green_impl::sl::chain(depth));
  }
  static green_impl::stackless_generator<int> make_tree_walk(const tree& t) {
    return green_impl::stackless_generator<int>(green_impl::sl::walk(t.root()));
  }
  using pipeline = green_impl::stackless_pipeline;
  using spawner = green_impl::stackless_spawner;
  using parked = green_impl::sl::gen<int>;
  static parked make_parked(int* destroyed) { return green_impl::make_parked_stackless(destroyed); }
  using park_set = green_impl::stackless_park_set;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_GREEN_VARIANTS_HPP
