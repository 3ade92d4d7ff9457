// bench/support/peer_boost_fibers.hpp
//
// boost_fibers: Boost.Fiber user-mode threads with the default round_robin
// scheduler, on pooled_fixedsize_stack, 64 KiB. The calling thread's main
// context is a fiber too. A switch is this_fiber::yield(): the scheduler
// queues the current fiber at the back and runs the front one. Values travel
// through shared memory. Boost.Fiber cannot kill a fiber, and has no
// generator, so it only appears in switch_roundtrip, spawn_finish and
// pingpong_many.

#ifndef GREEN_BENCH_PEER_BOOST_FIBERS_HPP
#define GREEN_BENCH_PEER_BOOST_FIBERS_HPP

#include <cstddef>
#include <memory>
#include <vector>

#include <boost/fiber/fiber.hpp>
#include <boost/fiber/operations.hpp>
#include <boost/fiber/pooled_fixedsize_stack.hpp>

#include "support/common.hpp"

namespace green_bench {
namespace fibers {

namespace bf = boost::fibers;

inline bf::pooled_fixedsize_stack default_pool() {
  thread_local bf::pooled_fixedsize_stack pool(stack_size);
  return pool;
}

// ------------------------------------------------------------- switch_roundtrip

// echo: main and one worker fiber yield to each other.
class echo {
 public:
  echo()
      : worker_(std::allocator_arg, default_pool(), [this] {
          while (!stop_) {
            ++slot_;
            boost::this_fiber::yield();
          }
        }) {}
  echo(const echo&) = delete;
  echo& operator=(const echo&) = delete;
  ~echo() {
    stop_ = true;
    worker_.join();
  }

  int roundtrip(int x) {
    slot_ = x;
    boost::this_fiber::yield();
    return slot_;
  }

 private:
  int slot_ = 0;
  bool stop_ = false;
  bf::fiber worker_;
};

// ----------------------------------------------------------------- spawn_finish

class spawner {
 public:
  int run(int x) {
    int out = 0;
    bf::fiber f(std::allocator_arg, pool_, [&out, x] { out = x + 1; });
    f.join();
    return out;
  }

 private:
  bf::pooled_fixedsize_stack pool_{stack_size};
};

// ------------------------------------------------------------------ pingpong_many

// ring: main plus n-1 worker fibers; round_robin runs them in order, so one
// yield by main lets every worker take the token once.
class ring {
 public:
  explicit ring(int n) {
    workers_.reserve(static_cast<std::size_t>(n - 1));
    for (int i = 1; i < n; ++i) {
      workers_.emplace_back(std::allocator_arg, default_pool(), [this] {
        boost::this_fiber::yield();  // started: wait for the first round
        while (!stop_) {
          ++token_;
          boost::this_fiber::yield();
        }
      });
    }
    boost::this_fiber::yield();  // start them all
  }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    stop_ = true;
    for (auto& w : workers_) w.join();
  }

  void round() {
    ++token_;
    boost::this_fiber::yield();
  }
  long long token() const noexcept { return token_; }

 private:
  bool stop_ = false;
  long long token_ = 0;
  std::vector<bf::fiber> workers_;
};

}  // namespace fibers

// The policy (the members variants.hpp lists).
struct boost_fibers {
  static constexpr const char* name = "boost_fibers";
  using echo = fibers::echo;
  using spawner = fibers::spawner;
  using ring = fibers::ring;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_BOOST_FIBERS_HPP
