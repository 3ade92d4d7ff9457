// bench/support/green_hub_variants.hpp
//
// Policies for the hub's rows (bench/hub_bench.cpp), with the members
// variants.hpp lists for the hub_* scenarios:
//   * hub_green, rows ".../green" (green::hub, green/hub.hpp): hub_sleep0, hub_event_wake,
//     hub_queue_handoff (once green/hub/queue.hpp exists), hub_spawn_join,
//     hub_timers. The calling thread's main greenlet is one of the units;
//     the others are spawned tasks on the thread's hub (created on first
//     use, real clock), each with the default stack size a spawned task gets.
//   * hub_parked, rows "memory_parked/hub/...": spawned tasks parked on one green::event.
// Every unit of a row ends before the row does (joined, or killed and
// joined), so no row leaves work in the hub for the next one.

#ifndef GREEN_BENCH_GREEN_HUB_VARIANTS_HPP
#define GREEN_BENCH_GREEN_HUB_VARIANTS_HPP

#include <cstddef>
#include <vector>

#include "green/hub.hpp"
#include "green/stack.hpp"
#include "support/common.hpp"
#include "support/green_variants.hpp"

#if __has_include("green/hub/queue.hpp")
#include "green/hub/queue.hpp"
#define GREEN_BENCH_HAS_HUB_QUEUE 1
#else
#define GREEN_BENCH_HAS_HUB_QUEUE 0
#endif

namespace green_bench {
namespace green_hub_impl {

// sleep_pair: main and one task take turns with green::sleep(0).
class sleep_pair {
 public:
  sleep_pair()
      : worker_(green::spawn([this] {
          while (!stop_) {
            ++turns_;
            green::sleep();
          }
        })) {}
  sleep_pair(const sleep_pair&) = delete;
  sleep_pair& operator=(const sleep_pair&) = delete;
  ~sleep_pair() {
    stop_ = true;
    worker_.join();
  }
  // turn(): two hand-offs, main -> worker -> main.
  void turn() { green::sleep(); }
  long long turns() const noexcept { return turns_; }

 private:
  bool stop_ = false;
  long long turns_ = 0;
  green::task<void> worker_;
};

// event_pair: main sets `ping` and waits on `pong`; the task waits on `ping`
// and sets `pong`. Each side alternates between two pairs of events, so that
// no wait() is made on an event whose waiters are still being woken (that
// wait would join the pass, which is not what this row measures).
class event_pair {
 public:
  event_pair()
      : worker_(green::spawn([this] {
          for (int k = 0;; k ^= 1) {
            ping_[k].wait();
            ping_[k].clear();
            if (stop_) return;
            ++wakes_;
            pong_[k].set();
          }
        })) {}
  event_pair(const event_pair&) = delete;
  event_pair& operator=(const event_pair&) = delete;
  ~event_pair() {
    stop_ = true;
    ping_[k_].set();
    worker_.join();
  }
  // round(): two wake-ups, the task's and main's.
  void round() {
    ping_[k_].set();
    pong_[k_].wait();
    pong_[k_].clear();
    k_ ^= 1;
  }
  long long wakes() const noexcept { return wakes_; }

 private:
  bool stop_ = false;
  int k_ = 0;
  long long wakes_ = 0;
  green::event ping_[2], pong_[2];
  green::task<void> worker_;
};

#if GREEN_BENCH_HAS_HUB_QUEUE
// queue_pair: a task puts 0, 1, 2, ... into a queue of one; main gets.
class queue_pair {
 public:
  queue_pair()
      : worker_(green::spawn([this] {
          for (int i = 0;; ++i) q_.put(i);
        })) {}
  queue_pair(const queue_pair&) = delete;
  queue_pair& operator=(const queue_pair&) = delete;
  ~queue_pair() { worker_.kill(); }  // greenlet_exit at its put; joined
  int get() { return q_.get(); }

 private:
  green::queue<int> q_{1};
  green::task<void> worker_;
};
#endif

// spawn_joiner: spawn a task that counts, join it.
class spawn_joiner {
 public:
  void run() {
    green::task<void> t = green::spawn([this] { ++count_; });
    t.join();
  }
  long long count() const noexcept { return count_; }

 private:
  long long count_ = 0;
};

// timers(n): n tasks, task i sleeping timer_delay(i, n), all joined.
inline long timers(int n) {
  long fired = 0;
  std::vector<green::task<void>> units;
  units.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    units.push_back(green::spawn([&fired, d = timer_delay(i, n)] {
      green::sleep(d);
      ++fired;
    }));
  }
  for (auto& u : units) u.join();
  return fired;
}

// park_set: n tasks, each touched 1 KiB of stack and waits on one event.
class park_set {
 public:
  explicit park_set(long n) {
    units_.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      units_.push_back(green::spawn([this] {
        touch_stack();
        release_.wait();
      }));
    }
    green::sleep();  // they start in order, each runs until it waits
  }
  park_set(const park_set&) = delete;
  park_set& operator=(const park_set&) = delete;
  ~park_set() {
    release_.set();
    for (auto& u : units_) u.join();
  }

 private:
  green::event release_;
  std::vector<green::task<void>> units_;
};

}  // namespace green_hub_impl

// The policies (the members variants.hpp lists).
// (Not named `green`: inside namespace green_bench that would hide ::green.)
struct hub_green {
  static constexpr const char* name = "green";
  using sleep_pair = green_hub_impl::sleep_pair;
  using event_pair = green_hub_impl::event_pair;
#if GREEN_BENCH_HAS_HUB_QUEUE
  using queue_pair = green_hub_impl::queue_pair;
#endif
  using spawn_joiner = green_hub_impl::spawn_joiner;
  static long timers(int n) { return green_hub_impl::timers(n); }
};

struct hub_parked {
  static constexpr const char* name = "hub";
  using park_set = green_hub_impl::park_set;
  static void release_caches() { greenlet::release_caches(); }
  static std::size_t unguarded_stacks() { return green_impl::unguarded_stacks(); }
};

}  // namespace green_bench

#endif  // GREEN_BENCH_GREEN_HUB_VARIANTS_HPP
