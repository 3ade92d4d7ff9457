// bench/support/peer_boost_fibers.hpp
//
// boost_fibers: Boost.Fiber user-mode threads with the default round_robin
// scheduler, on pooled_fixedsize_stack, 64 KiB. The calling thread's main
// context is a fiber too. A switch is this_fiber::yield(): the scheduler
// queues the current fiber at the back and runs the front one. Values travel
// through shared memory. Boost.Fiber cannot kill a fiber, and has no
// generator, so it only appears in switch_roundtrip, spawn_finish,
// pingpong_many and the hub_* rows (bench/hub_bench.cpp), where it is the
// scheduler green's hub is compared with: yield() for sleep(0), a
// condition_variable (with its mutex and a flag) for an event, a
// buffered_channel of capacity 2 (it holds one item) for a queue of one,
// fiber + join for spawn + join, sleep_for for a timer.

#ifndef GREEN_BENCH_PEER_BOOST_FIBERS_HPP
#define GREEN_BENCH_PEER_BOOST_FIBERS_HPP

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/mutex.hpp>
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

// ------------------------------------------------------------------ hub_* rows

// sleep_pair: main and one fiber take turns with yield().
class sleep_pair {
 public:
  sleep_pair()
      : worker_(std::allocator_arg, default_pool(), [this] {
          while (!stop_) {
            ++turns_;
            boost::this_fiber::yield();
          }
        }) {}
  sleep_pair(const sleep_pair&) = delete;
  sleep_pair& operator=(const sleep_pair&) = delete;
  ~sleep_pair() {
    stop_ = true;
    worker_.join();
  }
  void turn() { boost::this_fiber::yield(); }
  long long turns() const noexcept { return turns_; }

 private:
  bool stop_ = false;
  long long turns_ = 0;
  bf::fiber worker_;
};

// flag_event: an event as Boost.Fiber users write one.
class flag_event {
 public:
  void set() {
    {
      std::lock_guard<bf::mutex> lk(m_);
      set_ = true;
    }
    cv_.notify_one();
  }
  void wait_and_clear() {
    std::unique_lock<bf::mutex> lk(m_);
    cv_.wait(lk, [this] { return set_; });
    set_ = false;
  }

 private:
  bf::mutex m_;
  bf::condition_variable cv_;
  bool set_ = false;
};

// event_pair: main sets `ping` and waits on `pong`; the fiber the reverse,
// alternating between two pairs as green's row does.
class event_pair {
 public:
  event_pair()
      : worker_(std::allocator_arg, default_pool(), [this] {
          for (int k = 0;; k ^= 1) {
            ping_[k].wait_and_clear();
            if (stop_) return;
            ++wakes_;
            pong_[k].set();
          }
        }) {}
  event_pair(const event_pair&) = delete;
  event_pair& operator=(const event_pair&) = delete;
  ~event_pair() {
    stop_ = true;
    ping_[k_].set();
    worker_.join();
  }
  void round() {
    ping_[k_].set();
    pong_[k_].wait_and_clear();
    k_ ^= 1;
  }
  long long wakes() const noexcept { return wakes_; }

 private:
  bool stop_ = false;
  int k_ = 0;
  long long wakes_ = 0;
  flag_event ping_[2], pong_[2];
  bf::fiber worker_;
};

// queue_pair: a fiber pushes 0, 1, 2, ... into a channel holding one item.
class queue_pair {
 public:
  queue_pair()
      : worker_(std::allocator_arg, default_pool(), [this] {
          for (int i = 0; ch_.push(i) == bf::channel_op_status::success; ++i) {
          }
        }) {}
  queue_pair(const queue_pair&) = delete;
  queue_pair& operator=(const queue_pair&) = delete;
  ~queue_pair() {
    ch_.close();
    worker_.join();
  }
  int get() { return ch_.value_pop(); }

 private:
  bf::buffered_channel<int> ch_{2};  // capacity 2 holds one item
  bf::fiber worker_;
};

// spawn_joiner: a fiber that counts, joined.
class spawn_joiner {
 public:
  void run() {
    bf::fiber f(std::allocator_arg, pool_, [this] { ++count_; });
    f.join();
  }
  long long count() const noexcept { return count_; }

 private:
  long long count_ = 0;
  bf::pooled_fixedsize_stack pool_{stack_size};
};

// timers(n): n fibers, fiber i sleeping timer_delay(i, n), all joined.
inline long timers(int n) {
  long fired = 0;
  std::vector<bf::fiber> units;
  units.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    units.emplace_back(std::allocator_arg, default_pool(), [&fired, d = timer_delay(i, n)] {
      boost::this_fiber::sleep_for(d);
      ++fired;
    });
  }
  for (auto& u : units) u.join();
  return fired;
}

}  // namespace fibers

// The policy (the members variants.hpp lists).
struct boost_fibers {
  static constexpr const char* name = "boost_fibers";
  using echo = fibers::echo;
  using spawner = fibers::spawner;
  using ring = fibers::ring;
  using sleep_pair = fibers::sleep_pair;
  using event_pair = fibers::event_pair;
  using queue_pair = fibers::queue_pair;
  using spawn_joiner = fibers::spawn_joiner;
  static long timers(int n) { return fibers::timers(n); }
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_BOOST_FIBERS_HPP
