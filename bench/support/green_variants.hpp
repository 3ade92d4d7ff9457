// bench/support/green_variants.hpp
//
// Policies for green's own rows, with the same members as the peers in
// variants.hpp (see the table there):
//   * greenlet (green::greenlet, green::core): switch_roundtrip, spawn_finish,
//     kill_suspended, pingpong_many, memory_parked.
//   * stackful (green::generator): the generator scenarios, through
//     stackful_workloads like the stackful peers. yield_from is nested calls
//     here too; green's PEP 380 yielder::yield_from would be its own scenario.
//   * stackless (green::stackless::generator): to come with
//     green/stackless.hpp (the coroutine bodies of peer_cxx20_minimal.hpp with
//     the return type swapped).
// Every greenlet gets a 64 KiB stack (stack_options{.size = stack_size}) and
// green's default guard policy. Nothing here is registered yet: the
// GREEN_BENCH_REGISTER lines go in the scenario files.

#ifndef GREEN_BENCH_GREEN_VARIANTS_HPP
#define GREEN_BENCH_GREEN_VARIANTS_HPP

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/generator.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "support/common.hpp"
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

// stackful_generator adapts green::generator<Y, S> to what stackful_workloads
// expects: next() returns an address (nullptr at the end, where green throws
// stop_iteration once). The value is moved out of the generator, as
// green::generator::next() does, into a slot here.
template <class Y, class S = void>
class stackful_generator {
 public:
  template <class Body>
  explicit stackful_generator(Body body) : g_(std::move(body), stack_opts()) {}
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
  green::generator<Y, S> g_;
  Y value_{};
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
};

// stackful: green::generator, the same bodies as the stackful peers.
struct stackful : stackful_workloads<green_impl::stackful_generator> {
  static constexpr const char* name = "stackful";
};

}  // namespace green_bench

#endif  // GREEN_BENCH_GREEN_VARIANTS_HPP
