// bench/support/peer_boost_fiber_ctx.hpp
//
// boost_fiber_ctx: boost::context::fiber (callcc-style first-class
// continuations) on pooled_fixedsize_stack, 64 KiB. Values travel through
// memory the two sides share; the fiber only switches. Destroying a
// suspended fiber is Boost's forced_unwind: a C++ throw on the fiber's stack.
// ring is symmetric: each fiber resumes the next one directly.

#ifndef GREEN_BENCH_PEER_BOOST_FIBER_CTX_HPP
#define GREEN_BENCH_PEER_BOOST_FIBER_CTX_HPP

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>

#include "support/common.hpp"
#include "support/stackful_workloads.hpp"

namespace green_bench {
namespace fiber_ctx {

namespace ctx = boost::context;

// default_pool() is the warm pool of the calling thread (a shared handle).
inline ctx::pooled_fixedsize_stack default_pool() {
  thread_local ctx::pooled_fixedsize_stack pool(stack_size);
  return pool;
}

// ------------------------------------------------------------- switch_roundtrip

class echo {
 public:
  echo()
      : f_(std::allocator_arg, default_pool(), [this](ctx::fiber&& c) {
          for (;;) {
            ++slot_;
            c = std::move(c).resume();
          }
          return std::move(c);
        }) {}
  echo(const echo&) = delete;
  echo& operator=(const echo&) = delete;

  int roundtrip(int x) {
    slot_ = x;
    f_ = std::move(f_).resume();
    return slot_;
  }

 private:
  int slot_ = 0;
  ctx::fiber f_;  // last: unwound before slot_ goes away
};

// ----------------------------------------------------------------- spawn_finish

class spawner {
 public:
  int run(int x) {
    int out = 0;
    ctx::fiber f(std::allocator_arg, pool_, [&out, x](ctx::fiber&& c) {
      out = x + 1;
      return std::move(c);
    });
    std::move(f).resume();  // runs to the end; the stack goes back to the pool
    return out;
  }

 private:
  ctx::pooled_fixedsize_stack pool_{stack_size};
};

// --------------------------------------------------------------- kill_suspended

using parked = ctx::fiber;

inline parked make_parked(int* destroyed) {
  ctx::fiber f(std::allocator_arg, default_pool(), [destroyed](ctx::fiber&& c) {
    counted guard(destroyed);
    c = std::move(c).resume();
    return std::move(c);
  });
  return std::move(f).resume();  // suspended inside, guard alive
}

// -------------------------------------------------------------------- generator

// generator: lazily started; next() returns the address of the yielded value
// or nullptr once the body returned. Not movable (the fiber points at it).
template <class Y, class S = void>
class generator {
  using sent_type = std::conditional_t<std::is_void_v<S>, int, S>;

 public:
  class yielder {
   public:
    yielder(generator* g, ctx::fiber* caller) noexcept : g_(g), caller_(caller) {}
    yielder(const yielder&) = delete;
    yielder& operator=(const yielder&) = delete;
    S yield(const Y& v) {
      g_->out_ = std::addressof(v);
      *caller_ = std::move(*caller_).resume();
      if constexpr (!std::is_void_v<S>) return *g_->in_;
    }

   private:
    generator* g_;
    ctx::fiber* caller_;
  };

  template <class Body>
  explicit generator(Body body, ctx::pooled_fixedsize_stack alloc = default_pool())
      : f_(std::allocator_arg, std::move(alloc),
           [this, body = std::move(body)](ctx::fiber&& c) mutable {
             {
               yielder y(this, &c);
               body(y);
             }
             out_ = nullptr;
             return std::move(c);
           }) {}
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;

  const Y* next() {
    f_ = std::move(f_).resume();
    return out_;
  }
  template <class T = S>
  requires(!std::is_void_v<T>) const Y* send(const T& s) {
    in_ = std::addressof(s);
    return next();
  }

 private:
  const Y* out_ = nullptr;
  const sent_type* in_ = nullptr;
  ctx::fiber f_;  // last: an unfinished body is unwound first
};

// ------------------------------------------------------------------ pingpong_many

// ring: the calling thread is unit 0; units 1..n-1 are fibers. Each resumes
// the next one directly and keeps the continuation of the previous one.
class ring {
 public:
  explicit ring(int n) : n_(n), f_(static_cast<std::size_t>(n)) {
    for (int i = 1; i < n_; ++i) {
      f_[i] = ctx::fiber(std::allocator_arg, default_pool(),
                         [this](ctx::fiber&& prev) { return unit(std::move(prev)); });
    }
  }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    stop_ = true;
    round();  // every fiber passes control on and finishes
  }

  void round() {
    ++token_;
    current_ = 1;
    f_[n_ - 1] = std::move(f_[1]).resume();
  }
  long long token() const noexcept { return token_; }

 private:
  ctx::fiber unit(ctx::fiber&& prev) {
    const int self = current_;
    const int next = self + 1 == n_ ? 0 : self + 1;
    f_[self - 1] = std::move(prev);
    while (!stop_) {
      ++token_;
      current_ = next;
      f_[self - 1] = std::move(f_[next]).resume();
    }
    current_ = next;
    return std::move(f_[next]);
  }

  int n_;
  int current_ = 0;
  bool stop_ = false;
  long long token_ = 0;
  std::vector<ctx::fiber> f_;
};

// ----------------------------------------------------------------- memory_parked

class park_set {
 public:
  explicit park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      ctx::fiber f(std::allocator_arg, alloc_, [](ctx::fiber&& c) {
        touch_stack();
        c = std::move(c).resume();
        return std::move(c);
      });
      units_.push_back(std::move(f).resume());
    }
  }
  ~park_set() {
    for (auto& u : units_) u = std::move(u).resume();  // run each to its end
  }

 private:
  ctx::pooled_fixedsize_stack alloc_{stack_size};  // fresh pool, freed after the units
  std::vector<ctx::fiber> units_;
};

}  // namespace fiber_ctx

// The policy (the members variants.hpp lists).
struct boost_fiber_ctx : stackful_workloads<fiber_ctx::generator> {
  static constexpr const char* name = "boost_fiber_ctx";
  using echo = fiber_ctx::echo;
  using spawner = fiber_ctx::spawner;
  using parked = fiber_ctx::parked;
  static parked make_parked(int* destroyed) { return fiber_ctx::make_parked(destroyed); }
  using ring = fiber_ctx::ring;
  using park_set = fiber_ctx::park_set;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_BOOST_FIBER_CTX_HPP
