// bench/support/peer_coroutine2.hpp
//
// coroutine2: Boost.Coroutine2 asymmetric coroutines on
// pooled_fixedsize_stack, 64 KiB. A pull_type starts running in its
// constructor (up to the first sink call); values come out through the
// pull_type (by address, pull_type<const Y*>) and go in through memory both
// sides share. Destroying an unfinished coroutine is forced_unwind (a throw).
// Coroutines can only return to their resumer, so ring goes through the
// calling thread: every hand-off is a resume plus a suspend.

#ifndef GREEN_BENCH_PEER_COROUTINE2_HPP
#define GREEN_BENCH_PEER_COROUTINE2_HPP

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

// GCC 12 at -O3 reports a maybe-uninitialized read inside Coroutine2's
// control block (boost/coroutine2/detail/state.hpp) once it is inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/coroutine2/coroutine.hpp>
#include <boost/coroutine2/pooled_fixedsize_stack.hpp>
#pragma GCC diagnostic pop

#include "support/common.hpp"
#include "support/stackful_workloads.hpp"

namespace green_bench {
namespace coro2 {

template <class T>
using coro = boost::coroutines2::coroutine<T>;
using boost::coroutines2::pooled_fixedsize_stack;

inline pooled_fixedsize_stack default_pool() {
  thread_local pooled_fixedsize_stack pool(stack_size);
  return pool;
}

// ------------------------------------------------------------- switch_roundtrip

class echo {
 public:
  echo()
      : p_(default_pool(), [this](coro<int>::push_type& sink) {
          for (;;) sink(in_ + 1);
        }) {}
  echo(const echo&) = delete;
  echo& operator=(const echo&) = delete;

  int roundtrip(int x) {
    in_ = x;
    p_();
    return p_.get();
  }

 private:
  int in_ = 0;
  coro<int>::pull_type p_;  // last: it runs in its constructor and reads in_
};

// ----------------------------------------------------------------- spawn_finish

class spawner {
 public:
  int run(int x) {
    int out = 0;
    // Runs to the end in the constructor; the destructor frees the stack.
    coro<void>::pull_type p(pool_, [&out, x](coro<void>::push_type&) { out = x + 1; });
    return out;
  }

 private:
  pooled_fixedsize_stack pool_{stack_size};
};

// --------------------------------------------------------------- kill_suspended

using parked = coro<void>::pull_type;

inline parked make_parked(int* destroyed) {
  return parked(default_pool(), [destroyed](coro<void>::push_type& sink) {
    counted guard(destroyed);
    sink();
  });
}

// -------------------------------------------------------------------- generator

// generator: next() returns the address of the yielded value, or nullptr once
// the body returned. The body runs up to its first yield at construction;
// next() returns that value first. Not movable (the body points at it).
template <class Y, class S = void>
class generator {
  using sent_type = std::conditional_t<std::is_void_v<S>, int, S>;
  using pull = typename coro<const Y*>::pull_type;
  using push = typename coro<const Y*>::push_type;

 public:
  class yielder {
   public:
    yielder(generator* g, push* sink) noexcept : g_(g), sink_(sink) {}
    yielder(const yielder&) = delete;
    yielder& operator=(const yielder&) = delete;
    S yield(const Y& v) {
      (*sink_)(std::addressof(v));
      if constexpr (!std::is_void_v<S>) return *g_->in_;
    }

   private:
    generator* g_;
    push* sink_;
  };

  template <class Body>
  explicit generator(Body body, pooled_fixedsize_stack alloc = default_pool())
      : p_(std::move(alloc), [this, body = std::move(body)](push& sink) mutable {
          yielder y(this, &sink);
          body(y);
        }) {}
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;

  const Y* next() {
    if (started_)
      p_();
    else
      started_ = true;
    return p_ ? p_.get() : nullptr;
  }
  template <class T = S>
  requires(!std::is_void_v<T>) const Y* send(const T& s) {
    in_ = std::addressof(s);
    return next();
  }

 private:
  bool started_ = false;
  const sent_type* in_ = nullptr;
  pull p_;  // last: constructed (and run) after the fields above
};

// ------------------------------------------------------------------ pingpong_many

// ring: the calling thread is unit 0 and resumes units 1..n-1 in turn.
class ring {
 public:
  explicit ring(int n) {
    units_.reserve(static_cast<std::size_t>(n - 1));
    for (int i = 1; i < n; ++i) {
      units_.emplace_back(default_pool(), [this](coro<void>::push_type& sink) {
        sink();  // constructed: wait for the first round
        while (!stop_) {
          ++token_;
          sink();
        }
      });
    }
  }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    stop_ = true;
    for (auto& u : units_) u();  // each runs to its end
  }

  void round() {
    ++token_;
    for (auto& u : units_) u();
  }
  long long token() const noexcept { return token_; }

 private:
  bool stop_ = false;
  long long token_ = 0;
  std::vector<coro<void>::pull_type> units_;
};

// ----------------------------------------------------------------- memory_parked

class park_set {
 public:
  explicit park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.emplace_back(alloc_, [](coro<void>::push_type& sink) {
        touch_stack();
        sink();
      });
    }
  }
  ~park_set() {
    for (auto& u : units_) u();  // run each to its end
  }

 private:
  pooled_fixedsize_stack alloc_{stack_size};  // fresh pool, freed after the units
  std::vector<coro<void>::pull_type> units_;
};

}  // namespace coro2

// The policy (the members variants.hpp lists).
struct coroutine2 : stackful_workloads<coro2::generator> {
  static constexpr const char* name = "coroutine2";
  using echo = coro2::echo;
  using spawner = coro2::spawner;
  using parked = coro2::parked;
  static parked make_parked(int* destroyed) { return coro2::make_parked(destroyed); }
  using ring = coro2::ring;
  using park_set = coro2::park_set;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_COROUTINE2_HPP
