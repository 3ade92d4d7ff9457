// hub_state.hpp (private to adapters/hub): the hub's loop state, shared by
// the hub, task, timeout, event and async_result sources.

#ifndef GREEN_ADAPTERS_HUB_STATE_HPP
#define GREEN_ADAPTERS_HUB_STATE_HPP

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
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
#include <unordered_set>
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
  bool in_pass = false;   // woken by an event's direct pass (event_set())
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

// A greenlet's record lives while it is blocked or has throws pending. Those
// of the main greenlet and of tasks stay between waits (`keep`; a task's goes
// when it finishes), so that a wait costs no insertion and erasure. (A
// vector, not a deque: an empty deque allocates.)
struct greenlet_record {
  wait_slot* slot = nullptr;
  std::vector<pending_throw> pending;
  bool keep = false;
};

// A ready-queue entry: resume the greenlet of a slot (if that wait is still
// the one the serial names); or, with no greenlet, start a task (serial
// start_item) or notify its links (notify_item); or, with neither, run the
// next callback of hub_state::callbacks in the hub. Trivially copyable, so
// that queueing a wake-up is a store into a ring, and a spawn allocates no
// callback.
struct ready_item {
  greenlet_state* g = nullptr;
  std::uint64_t serial = 0;
  task_core* task = nullptr;
  static constexpr std::uint64_t start_item = 0, notify_item = 1;
};

// live_list: the hub's unfinished tasks, in spawn order, intrusive (links
// and the reference that holds each are members of task_core), so that a
// spawn allocates no node.
class live_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  void add(const std::shared_ptr<task_core>& t) {
    t->live_keep = t;
    t->live_prev = tail_;
    t->live_next = nullptr;
    (tail_ != nullptr ? tail_->live_next : head_) = t.get();
    tail_ = t.get();
    ++size_;
  }
  bool contains(const task_core* t) const noexcept { return t->live_keep != nullptr; }
  // remove() unlinks `t` and returns the reference the list held (empty if
  // `t` was not listed).
  std::shared_ptr<task_core> remove(task_core* t) noexcept {
    if (!contains(t)) return nullptr;
    (t->live_prev != nullptr ? t->live_prev->live_next : head_) = t->live_next;
    (t->live_next != nullptr ? t->live_next->live_prev : tail_) = t->live_prev;
    t->live_prev = t->live_next = nullptr;
    --size_;
    return std::move(t->live_keep);
  }
  template <class F>
  void for_each(F&& f) const {
    for (task_core* t = head_; t != nullptr; t = t->live_next) f(t);
  }
  std::vector<std::shared_ptr<task_core>> snapshot() const {
    std::vector<std::shared_ptr<task_core>> v;
    v.reserve(size_);
    for_each([&](task_core* t) { v.push_back(t->live_keep); });
    return v;
  }
  void clear() noexcept {
    while (head_ != nullptr) remove(head_);
  }

 private:
  task_core* head_ = nullptr;
  task_core* tail_ = nullptr;
  std::size_t size_ = 0;
};

// ring: a FIFO in one power-of-two array that grows when full; no
// allocation per item.
template <class T>
class ring {
 public:
  bool empty() const noexcept { return head_ == tail_; }
  std::size_t size() const noexcept { return tail_ - head_; }
  void push_back(const T& v) {
    if (__builtin_expect(size() == buf_.size(), 0)) grow();
    buf_[tail_++ & (buf_.size() - 1)] = v;
  }
  // front() and pop_front(): only when not empty.
  const T& front() const noexcept { return buf_[head_ & (buf_.size() - 1)]; }
  T pop_front() noexcept { return buf_[head_++ & (buf_.size() - 1)]; }
  void clear() noexcept { head_ = tail_ = 0; }

 private:
  [[gnu::noinline]] void grow() {
    std::vector<T> b(buf_.empty() ? 64 : 2 * buf_.size());
    for (std::size_t i = head_; i != tail_; ++i) b[i - head_] = buf_[i & (buf_.size() - 1)];
    tail_ -= head_;
    head_ = 0;
    buf_.swap(b);
  }
  std::vector<T> buf_;
  std::size_t head_ = 0, tail_ = 0;
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

struct event_core;

// io_object: an I/O object (a socket) that holds an Asio object of the
// hub's io_context; hub_gone() drops it before the io_context goes.
struct io_object {
  virtual void hub_gone() noexcept = 0;

 protected:
  ~io_object() = default;
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
  // wake_ready(): wake(s) with no exception, inline for sleep's hot path.
  bool wake_ready(wait_slot& s) {
    if (s.woken) return false;
    s.woken = true;
    s.result = true;
    ready.push_back(ready_item{s.g, s.serial});
    return true;
  }
  void schedule(std::function<void()> fn) {
    callbacks.push_back(std::move(fn));
    ready.push_back(ready_item{});
  }
  // queue_task_item() queues a task's start or link notification; the core
  // is held until the item runs (or the ready queue is discarded).
  void queue_task_item(const std::shared_ptr<task_core>& t, std::uint64_t kind) {
    ready.push_back(ready_item{nullptr, kind, t.get()});
    if (t->queued++ == 0) t->queued_keep = t;
  }
  void run_task_item(const ready_item& item);
  void discard_ready() noexcept;
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
  void resume_guarded(greenlet_state* g);
  // suspend(): the blocking greenlet's way out. While the hub is parked in
  // its ready batch, the next greenlet of that batch is switched to
  // directly, as the hub would do next, saving the trip through the hub;
  // otherwise (a callback is next, the batch is done, or the hub is running
  // a callback that resumed this greenlet) it switches to the hub.
  void suspend(greenlet_state* self);
  bool resumable(const ready_item& item) const;
  // keeps_record(): the main greenlet's and tasks' records stay between waits.
  bool keeps_record(greenlet_state* g) const;

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
  // Asio waits of sockets not yet completed (H13.7): the loop polls the
  // io_context between batches while there are any, and does not raise
  // loop_exit. Only the hub's thread touches it.
  int io_pending = 0;
  std::unordered_set<io_object*> io_objects;
  // polls(): whether something can arrive through the io_context.
  bool polls() const noexcept {
    return io_pending > 0 || external_waits.load(std::memory_order_relaxed) > 0;
  }

  ring<ready_item> ready;
  std::deque<std::function<void()>> callbacks;  // one per callback entry of `ready`
  ring<ready_item> idlers;
  std::deque<std::shared_ptr<event_core>> notifying_events;  // see event_set()
  std::size_t batch_left = 0;    // items of the current ready batch not yet run
  bool parked_in_batch = false;  // the hub waits in resume_guarded() of its batch
  std::vector<timer_entry> timer_heap;
  std::unordered_map<std::uint64_t, std::function<void()>> timers;  // live timers
  std::uint64_t next_timer = 1;
  std::uint64_t next_serial = 1;
  time_point virtual_now{};
  std::unordered_map<greenlet_state*, greenlet_record> records;
  // A direct-mapped cache in front of `records` (a lookup there divides by a
  // prime; a hand-off makes two). An entry always names a live record:
  // erase records only through erase_record().
  struct cached_record {
    greenlet_state* g = nullptr;
    greenlet_record* rec = nullptr;
  };
  mutable std::array<cached_record, 64> record_cache{};
  static std::size_t cache_index(const greenlet_state* g) noexcept {
    return (reinterpret_cast<std::uintptr_t>(g) >> 6) & 63;
  }
  greenlet_record* find_record(greenlet_state* g) const noexcept {
    cached_record& c = record_cache[cache_index(g)];
    if (c.g == g) return c.rec;
    auto it = records.find(g);
    if (it == records.end()) return nullptr;
    c = cached_record{g, const_cast<greenlet_record*>(&it->second)};
    return c.rec;
  }
  void erase_record(greenlet_state* g) noexcept {
    cached_record& c = record_cache[cache_index(g)];
    if (c.g == g) c = cached_record{};
    records.erase(g);
  }
  live_list live;
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
  bool notify_scheduled = false;  // a pass of wake-ups is under way
  std::size_t pass_left = 0;      // waiters of a direct pass not yet resumed
  std::deque<wait_slot*> waiters;
  observer_list observers;  // notified after the waiters
};
void event_set(event_core& e);
// end_pass() closes a pass of wake-ups, and starts the next if waiters
// queued behind it while the flag stayed set.
void end_pass(event_core& e);
bool event_wait(event_core& e, std::optional<duration> timeout, const void* object,
                const char* what);

// The calling thread's hub, or null.
hub_state* current_hub() noexcept;
hub_state& hub_for_use(const char* what);
// check_owner() throws green::error when `owner` is not the calling thread's hub.
void check_owner(const hub_state* owner, const char* what);

template <class Arm>
void hub_state::block(wait_slot& s, Arm&& arm) {
  const greenlet& cur = greenlet::current();
  if (cur == hub_g || destroying || std::this_thread::get_id() != thread) check_can_block(s.what);
  greenlet_state* self = cur.native_handle();
  greenlet_record* found = find_record(self);
  if (found == nullptr) {
    found = &records[self];
    found->keep = keeps_record(self);
  }
  // Stable while blocked: a record is erased only when it has no slot.
  greenlet_record& rec = *found;
  s.g = self;
  s.serial = next_serial++;
  s.woken = false;
  rec.slot = &s;
  struct unregister {
    hub_state* h;
    greenlet_state* self;
    greenlet_record& rec;
    ~unregister() {
      rec.slot = nullptr;
      if (!rec.keep && rec.pending.empty()) h->erase_record(self);
    }
  } guard{this, self, rec};
  if (!rec.pending.empty()) {
    pending_throw p = std::move(rec.pending.front());
    rec.pending.erase(rec.pending.begin());
    wake(s, std::move(p.ex));
  } else {
    arm();
  }
  suspend(self);
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
