// hub_state.hpp (private to adapters/hub): the hub's loop state, shared by
// the hub, task, timeout, event and async_result sources.

#ifndef GREEN_ADAPTERS_HUB_STATE_HPP
#define GREEN_ADAPTERS_HUB_STATE_HPP

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "green/hub/async_result.hpp"
#include "green/hub/event.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/task.hpp"
#include "green/hub/timeout.hpp"

namespace green::detail {

// wait_slot: one blocked greenlet's wait, on its own stack for the duration
// of the block. Exactly one wake-up is delivered per slot (`woken`).
struct wait_slot {
  greenlet_state* g = nullptr;
  std::uint64_t serial = 0;
  bool woken = false;
  bool result = false;    // what the waker reports (event set, task done)
  std::exception_ptr ex;  // thrown at the blocking point when resumed
  const char* what = "";  // for the loop_exit report
  const void* object = nullptr;
  const task_core* joined = nullptr;
  time_point deadline{};  // for a sleep
};

// A throw (a kill, an expired timeout) aimed at a greenlet whose resume was
// already scheduled: it lands at its next blocking point.
struct pending_throw {
  std::exception_ptr ex;
  const void* owner;  // the timeout_core that threw it; null for a kill
};

struct greenlet_record {
  wait_slot* slot = nullptr;
  std::deque<pending_throw> pending;
};

// A ready-queue entry: resume the greenlet of a slot (if that wait is still
// the one the serial names) or run a callback in the hub.
struct ready_item {
  greenlet_state* g = nullptr;
  std::uint64_t serial = 0;
  std::function<void()> fn;
};

struct timer_entry {
  time_point deadline;
  std::uint64_t id;  // also the FIFO order among equal deadlines
  bool operator>(const timer_entry& o) const noexcept {
    return deadline != o.deadline ? deadline > o.deadline : id > o.id;
  }
};

// remote_hub: what other threads may reach: the io_context to post to, while
// the hub lives.
struct remote_hub {
  std::mutex mtx;
  boost::asio::io_context* io = nullptr;  // null once the hub is gone
};

struct hub_state {
  hub_state(hub_options opts, boost::asio::io_context* user_io);
  ~hub_state();
  // shutdown() kills the unfinished tasks and stops the hub greenlet.
  void shutdown() noexcept;

  // Blocking: the current greenlet waits on `s` until one wake-up. `arm` runs
  // once the slot is registered (it may wake the slot at once).
  template <class Arm>
  void block(wait_slot& s, Arm&& arm);
  void block(wait_slot& s) {
    block(s, [] {});
  }
  void check_can_block(const char* what) const;

  // Waking. wake() queues the resume; resume_now() switches to the waiter
  // at once (only from the hub: links and event notification, so that the
  // waiters run in order between other links).
  bool wake(wait_slot& s, std::exception_ptr ex = nullptr, bool result = true);
  bool resume_now(wait_slot& s, bool result = true);
  void schedule(std::function<void()> fn) {
    ready.push_back(ready_item{nullptr, 0, std::move(fn)});
  }
  // throw_to() throws `ex` into a blocked greenlet, or keeps it for its next
  // blocking point.
  void throw_to(greenlet_state* g, std::exception_ptr ex, const void* owner);
  void drop_pending(greenlet_state* g, const void* owner) noexcept;

  // Timers: add returns an id; cancel is O(1) (lazy removal).
  std::uint64_t add_timer(time_point deadline, std::function<void()> fn);
  void cancel_timer(std::uint64_t id) noexcept;

  time_point now() const noexcept {
    return opts.virtual_clock ? virtual_now : std::chrono::steady_clock::now();
  }

  // The loop.
  void run_loop();
  void run_ready_batch();
  void fire_due_timers();
  void wait_for_work();
  void deliver_loop_exit();
  std::string describe_wait(const wait_slot& s) const;
  void report_failure(const task_core* t, std::exception_ptr ex) noexcept;
  void run_callback_guarded(std::function<void()>& fn);

  // Tasks.
  void task_body(task_core& t);
  void finish_task(task_core& t);
  void notify_links(task_core& t);
  void start_now(const std::shared_ptr<task_core>& t);

  hub_options opts;
  hub facade{this};
  std::thread::id thread = std::this_thread::get_id();
  greenlet hub_g;
  std::unique_ptr<boost::asio::io_context> own_io;
  boost::asio::io_context* io;
  std::optional<boost::asio::steady_timer> wake_timer;
  std::shared_ptr<remote_hub> remote = std::make_shared<remote_hub>();
  std::atomic<int> external_waits{0};

  std::deque<ready_item> ready;
  std::deque<ready_item> idlers;
  std::vector<timer_entry> timer_heap;
  std::unordered_map<std::uint64_t, std::function<void()>> timers;  // live timers
  std::uint64_t next_timer = 1;
  std::uint64_t next_serial = 1;
  time_point virtual_now{};
  std::unordered_map<greenlet_state*, greenlet_record> records;
  std::unordered_map<task_core*, std::shared_ptr<task_core>> live;
  std::uint64_t next_task_id = 1;
  error_handler on_error;
  bool destroying = false;
  // The thread pool and the monitor of this hub (threadpool.cpp,
  // monitor.cpp), type-erased so this header needs neither. Declared last:
  // destroyed first, once the tasks were killed and while the rest of the
  // hub still exists (the monitor is stopped before the pool's workers are
  // joined).
  std::shared_ptr<void> default_pool;
  std::shared_ptr<void> monitor;
};

// observer_list: internal callbacks run (in the hub or by the notifier,
// never blocking) each time an object becomes ready; wait() and iwait()
// observe events, async_results and semaphores through it (H8).
struct observer_list {
  struct entry {
    std::uint64_t id;
    std::function<void()> fn;
  };
  std::vector<entry> entries;
  std::uint64_t next_id = 1;
  std::uint64_t add(std::function<void()> fn);
  void remove(std::uint64_t id) noexcept;
  // fire() calls those present when it starts, in registration order; one
  // removed meanwhile is skipped (each call runs a copy, so a callback may
  // remove itself).
  void fire();
};

// event_core: the flag and FIFO waiters of an event (and of an
// async_result's waiting side).
struct event_core : std::enable_shared_from_this<event_core> {
  explicit event_core(hub_state* h) noexcept : owner(h) {}
  hub_state* owner;
  bool flag = false;
  bool notify_scheduled = false;
  std::deque<wait_slot*> waiters;
  observer_list observers;  // notified after the waiters
};
void event_set(event_core& e);
bool event_wait(event_core& e, std::optional<duration> timeout, const void* object,
                const char* what);

// The calling thread's hub, or null.
hub_state* current_hub() noexcept;
hub_state& hub_for_use(const char* what);
// check_owner() throws green::error when `owner` is not the calling thread's hub.
void check_owner(const hub_state* owner, const char* what);

template <class Arm>
void hub_state::block(wait_slot& s, Arm&& arm) {
  check_can_block(s.what);
  greenlet_state* self = greenlet::current().native_handle();
  greenlet_record& rec = records[self];
  s.g = self;
  s.serial = next_serial++;
  s.woken = false;
  rec.slot = &s;
  struct unregister {
    hub_state* h;
    greenlet_state* self;
    ~unregister() {
      auto it = h->records.find(self);
      if (it == h->records.end()) return;
      it->second.slot = nullptr;
      if (it->second.pending.empty()) h->records.erase(it);
    }
  } guard{this, self};
  if (!rec.pending.empty()) {
    pending_throw p = std::move(rec.pending.front());
    rec.pending.pop_front();
    wake(s, std::move(p.ex));
  } else {
    arm();
  }
  hub_g.switch_();
  if (!s.woken) {
    throw error(
        "green: a greenlet blocked in the hub was resumed by a switch that did not come from the "
        "hub; resume waiting greenlets only through hub primitives (event::set, kill, ...). "
        "gevent: InvalidSwitchError");
  }
  if (s.ex) std::rethrow_exception(std::exchange(s.ex, nullptr));
}

}  // namespace green::detail

#endif  // GREEN_ADAPTERS_HUB_STATE_HPP
