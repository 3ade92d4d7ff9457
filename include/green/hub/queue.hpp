// green/hub/queue.hpp
//
// Queues between greenlets, gevent.queue: queue<T> (FIFO), lifo_queue<T>
// (stack order), priority_queue<T, Compare> (lowest first, as Python's heapq)
// and channel<T> (a rendezvous: put waits until a getter has the item).
//
//   green::queue<std::string> jobs(2);  // bounded: put() blocks while 2 wait
//   auto worker = green::spawn([&] {
//     for (std::string& job : jobs) {  // ends once jobs is shut down and drained
//       handle(job);
//       jobs.task_done();
//     }
//   });
//   jobs.put("a");
//   jobs.put("b");
//   jobs.join();      // every item taken and marked done
//   jobs.shutdown();  // the worker's loop ends
//   worker.join();
//
// Rules (docs/semantics.md, H6):
//   * maxsize 0 means unbounded, as gevent's Queue(0) and Queue(None) (H6.1).
//   * Blocked getters and putters are served FIFO; get() raises queue_empty
//     and put() queue_full when they cannot finish in time or must not block
//     (H6.2, H6.3). An item is never lost or duplicated when a waiter is
//     killed or times out (H6.4).
//   * From the hub (a rawlink or hub callback) get/put never block: they hand
//     off to waiting greenlets or throw queue_empty/queue_full (H6.5).
//   * Every queue is joinable: task_done() and join() (H6.6). shutdown() wakes
//     every waiter with queue_shut_down, and a range-for over a queue ends
//     there (H6.7).
//   * A queue destroyed while greenlets wait on it wakes each of them with a
//     green::error (H6.8); a queue belongs to its thread's hub (H6.9).
//   * channel<T>: qsize() is 0, balance() = waiting putters - getters (H6.10).

#ifndef GREEN_HUB_QUEUE_HPP
#define GREEN_HUB_QUEUE_HPP

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"

namespace green {

// queue_empty: get() or peek() found no item and could not wait for one
// (block = false, called from the hub, or the timeout passed).
// queue_full: put() found no free slot (or, on a channel, no getter) and could
// not wait for one. queue_shut_down: the queue was shut down (shutdown()).
// They report normal outcomes, not misuse, so they are not green::error;
// like Python's queue.Empty, queue.Full and queue.ShutDown (Exception
// subclasses) they derive from std::exception (through std::runtime_error).
class GREEN_API queue_empty : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class GREEN_API queue_full : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class GREEN_API queue_shut_down : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

struct event_core;
struct queue_waiter;

// queue_core: what every queue and channel does without knowing T: the
// waiting getters and putters, the hand-offs between them, timeouts,
// shutdown, task counting. queue_state/channel_state hold the items.
class GREEN_API queue_core : public std::enable_shared_from_this<queue_core> {
 public:
  queue_core(std::size_t maxsize, bool channel);
  queue_core(const queue_core&) = delete;
  queue_core& operator=(const queue_core&) = delete;
  virtual ~queue_core();

  // The typed storage. push() moves *static_cast<T*>(item) in; deliver()
  // moves *static_cast<T*>(from) into *static_cast<std::optional<T>*>(to).
  virtual std::size_t count() const noexcept = 0;
  virtual void push(void* item) = 0;
  virtual void discard_one() = 0;
  virtual void deliver(void* from, void* to) = 0;

  void set_facade(const void* facade) noexcept { facade_ = facade; }
  // check() throws green::error unless called on the owning hub's thread.
  void check() const;

  // Queues. put() stores the item (moving from it only on success) or waits.
  void put(void* item, bool block, std::optional<duration> timeout);
  // begin_get() returns once an item can be taken or peeked at; after taking
  // one the caller calls end_get() (a putter may now have room).
  void begin_get(bool block, std::optional<duration> timeout, bool peek);
  void end_get() {
    if (!putters_.empty()) schedule_unlock();
  }
  bool full() const;
  std::size_t maxsize() const noexcept { return maxsize_; }
  void task_done();
  bool join(std::optional<duration> timeout);
  std::size_t unfinished_tasks() const;

  // Channels.
  void channel_put(void* item, bool block, std::optional<duration> timeout);
  void channel_get(void* out, bool block, std::optional<duration> timeout);
  std::ptrdiff_t balance() const;
  bool has_getter() const;
  bool has_putter() const;

  void shutdown(bool immediate);
  bool is_shut_down() const;
  // facade_destroyed(): the queue object is gone; its waiters get an error.
  void facade_destroyed() noexcept;

 private:
  bool has_room() const noexcept { return maxsize_ == 0 || count() < maxsize_; }
  void store(void* item);
  bool store_from(queue_waiter& putter);
  bool wait_in(std::deque<queue_waiter*>& list, void* item, std::optional<duration> timeout,
               const char* what);
  void schedule_unlock();
  void unlock();
  void queue_unlock();
  void channel_unlock();
  void fail_shut_down(std::deque<queue_waiter*>& list);
  [[noreturn]] void throw_empty(const char* op) const;
  [[noreturn]] void throw_full(const char* op) const;
  [[noreturn]] void throw_shut_down(const char* op) const;
  void check_timeout(std::optional<duration> timeout, const char* op) const;
  const char* name() const noexcept { return channel_ ? "channel" : "queue"; }

  hub_state* owner_;
  const void* facade_ = nullptr;
  std::size_t maxsize_;  // 0: unbounded
  std::size_t unfinished_ = 0;
  std::shared_ptr<event_core> all_done_;  // set while unfinished_ == 0
  std::deque<queue_waiter*> getters_;
  std::deque<queue_waiter*> putters_;
  bool channel_;
  bool shut_ = false;
  bool unlock_scheduled_ = false;
};

template <class T>
struct fifo_buffer {
  std::deque<T> items;
  std::size_t size() const noexcept { return items.size(); }
  void push(T&& v) { items.push_back(std::move(v)); }
  const T& next() const { return items.front(); }
  T take() {
    T v = std::move(items.front());
    items.pop_front();
    return v;
  }
};

template <class T>
struct lifo_buffer {
  std::vector<T> items;
  std::size_t size() const noexcept { return items.size(); }
  void push(T&& v) { items.push_back(std::move(v)); }
  const T& next() const { return items.back(); }
  T take() {
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

// heap_buffer: the std heap algorithms keep the greatest on top; comparing
// with the arguments swapped keeps the lowest there (heapq's order).
template <class T, class Compare>
struct heap_buffer {
  explicit heap_buffer(Compare c = Compare()) : comp(std::move(c)) {}
  std::vector<T> items;
  Compare comp;
  auto later() {
    return [this](const T& a, const T& b) { return comp(b, a); };
  }
  std::size_t size() const noexcept { return items.size(); }
  void push(T&& v) {
    items.push_back(std::move(v));
    std::push_heap(items.begin(), items.end(), later());
  }
  const T& next() const { return items.front(); }
  T take() {
    std::pop_heap(items.begin(), items.end(), later());
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

template <class T, class Buffer>
class queue_state final : public queue_core {
 public:
  template <class... A>
  explicit queue_state(std::size_t maxsize, A&&... a)
      : queue_core(maxsize, false), buf(std::forward<A>(a)...) {}
  std::size_t count() const noexcept override { return buf.size(); }
  void push(void* item) override { buf.push(std::move(*static_cast<T*>(item))); }
  void discard_one() override { (void)buf.take(); }
  void deliver(void*, void*) override {}
  Buffer buf;
};

template <class T>
class channel_state final : public queue_core {
 public:
  channel_state() : queue_core(0, true) {}
  std::size_t count() const noexcept override { return 0; }
  void push(void*) override {}
  void discard_one() override {}
  void deliver(void* from, void* to) override {
    static_cast<std::optional<T>*>(to)->emplace(std::move(*static_cast<T*>(from)));
  }
};

// take_iterator: a range-for over a queue or channel calls get() until it
// throws queue_shut_down (the queue was shut down and is drained).
template <class Q, class T>
class take_iterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  using pointer = T*;
  using reference = T&;

  take_iterator() = default;
  explicit take_iterator(Q* q) : q_(q) { next(); }
  T& operator*() const { return *cur_; }
  T* operator->() const { return &*cur_; }
  take_iterator& operator++() {
    next();
    return *this;
  }
  void operator++(int) { next(); }
  friend bool operator==(const take_iterator& it, std::default_sentinel_t) noexcept {
    return !it.cur_;
  }

 private:
  void next() {
    try {
      cur_.emplace(q_->get());
    } catch (const queue_shut_down&) {
      cur_.reset();
    }
  }
  Q* q_ = nullptr;
  mutable std::optional<T> cur_;
};

// basic_queue: the API of queue, lifo_queue and priority_queue.
template <class T, class Buffer>
class basic_queue {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && std::is_move_constructible_v<T>,
                "green queues hold movable object types");
  using state = queue_state<T, Buffer>;

 public:
  using value_type = T;
  using iterator = take_iterator<basic_queue, T>;

  basic_queue(const basic_queue&) = delete;
  basic_queue& operator=(const basic_queue&) = delete;
  ~basic_queue() { s_->facade_destroyed(); }

  // put() stores the item, waiting up to `timeout` for a free slot (forever
  // if nullopt; not at all if !block). The rvalue form moves from `item` only
  // if it was stored: after an exception the caller still has it.
  // Throws: queue_full if there is no free slot in time (or !block, or from
  //         the hub); queue_shut_down after shutdown(); green::value_error for
  //         a negative timeout when it has to wait; a timeout or kill aimed at
  //         the caller; green::error from another thread, or if the queue is
  //         destroyed while it waits.
  void put(T&& item, bool block = true, std::optional<duration> timeout = std::nullopt) {
    s_->put(&item, block, timeout);
  }
  void put(T&& item, std::optional<duration> timeout) { put(std::move(item), true, timeout); }
  void put(const T& item, bool block = true,
           std::optional<duration> timeout = std::nullopt) requires std::copy_constructible<T> {
    T copy(item);
    put(std::move(copy), block, timeout);
  }
  void put(const T& item, std::optional<duration> timeout) requires std::copy_constructible<T> {
    put(item, true, timeout);
  }
  void put_nowait(T&& item) { put(std::move(item), false); }
  void put_nowait(const T& item) requires std::copy_constructible<T> { put(item, false); }

  // get() removes and returns the next item, waiting up to `timeout`.
  // Throws: queue_empty if none came in time (or !block, or from the hub with
  //         no putter to take one from); queue_shut_down once shut down and
  //         drained; the rest as put().
  T get(bool block = true, std::optional<duration> timeout = std::nullopt) {
    s_->begin_get(block, timeout, false);
    T v = s_->buf.take();
    s_->end_get();
    return v;
  }
  T get(std::optional<duration> timeout) { return get(true, timeout); }
  T get_nowait() { return get(false); }

  // peek() returns a copy of the next item without removing it; it waits as
  // get() does.
  T peek(bool block = true,
         std::optional<duration> timeout = std::nullopt) requires std::copy_constructible<T> {
    s_->begin_get(block, timeout, true);
    return s_->buf.next();
  }
  T peek(std::optional<duration> timeout) requires std::copy_constructible<T> {
    return peek(true, timeout);
  }
  T peek_nowait() requires std::copy_constructible<T> { return peek(false); }

  std::size_t qsize() const {
    s_->check();
    return s_->count();
  }
  std::size_t size() const { return qsize(); }
  bool empty() const { return qsize() == 0; }
  // full() is true when a put() would have to wait; never for maxsize 0.
  bool full() const { return s_->full(); }
  // maxsize() is the bound given at construction; 0 means unbounded.
  std::size_t maxsize() const noexcept { return s_->maxsize(); }

  // task_done() marks one item taken with get() as processed; join() waits
  // until every item ever put has been marked so (true), or `timeout` passed
  // (false; it never throws on timeout).
  // Throws: task_done(): green::value_error if called more times than items
  //         were put. join(): blocking_switch_out_error from the hub.
  void task_done() { s_->task_done(); }
  bool join(std::optional<duration> timeout = std::nullopt) { return s_->join(timeout); }
  std::size_t unfinished_tasks() const { return s_->unfinished_tasks(); }

  // shutdown() makes later put() calls throw queue_shut_down; get() still
  // returns what is left, then throws it. Waiting putters are woken with
  // queue_shut_down (their items are not stored); waiting getters get the
  // items left, then queue_shut_down. With `immediate`, the items left are
  // dropped first (each counts as task_done()).
  void shutdown(bool immediate = false) { s_->shutdown(immediate); }
  bool is_shut_down() const { return s_->is_shut_down(); }

  // A range-for takes items with get() until the queue is shut down and
  // drained. begin() already waits for the first item.
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 protected:
  template <class... A>
  explicit basic_queue(std::size_t maxsize, A&&... a)
      : s_(std::make_shared<state>(maxsize, std::forward<A>(a)...)) {
    s_->set_facade(this);
  }

 private:
  std::shared_ptr<state> s_;
};

}  // namespace detail

// queue<T>: FIFO order. maxsize 0 (the default) is unbounded, as gevent's
// Queue() and Queue(0); a huge maxsize allocates nothing up front. Joinable
// (task_done/join), as gevent 25's Queue and older JoinableQueue.
// gevent: Queue, JoinableQueue.
template <class T>
class queue : public detail::basic_queue<T, detail::fifo_buffer<T>> {
 public:
  explicit queue(std::size_t maxsize = 0)
      : detail::basic_queue<T, detail::fifo_buffer<T>>(maxsize) {}
};

// lifo_queue<T>: the most recently put item comes out first. gevent: LifoQueue.
template <class T>
class lifo_queue : public detail::basic_queue<T, detail::lifo_buffer<T>> {
 public:
  explicit lifo_queue(std::size_t maxsize = 0)
      : detail::basic_queue<T, detail::lifo_buffer<T>>(maxsize) {}
};

// priority_queue<T, Compare>: the lowest item comes out first (Python's heapq
// order), "lowest" by `comp`: with std::greater, the greatest first. Items
// that compare equal come out in no particular order. gevent: PriorityQueue.
template <class T, class Compare = std::less<T>>
class priority_queue : public detail::basic_queue<T, detail::heap_buffer<T, Compare>> {
 public:
  explicit priority_queue(std::size_t maxsize = 0, Compare comp = Compare())
      : detail::basic_queue<T, detail::heap_buffer<T, Compare>>(maxsize, std::move(comp)) {}
};

// channel<T>: a rendezvous with no buffer. A blocking put() returns once a
// getter has the item (the getter runs first); put_nowait() succeeds only if
// a getter is waiting, get_nowait() only if a putter is. gevent: Channel.
template <class T>
class channel {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && std::is_move_constructible_v<T>,
                "green channels carry movable object types");

 public:
  using value_type = T;
  using iterator = detail::take_iterator<channel, T>;

  channel() : s_(std::make_shared<detail::channel_state<T>>()) { s_->set_facade(this); }
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  ~channel() { s_->facade_destroyed(); }

  // put() waits up to `timeout` until a getter takes the item; it moves from
  // `item` only if it was taken.
  // Throws: queue_full if no getter took it in time (with !block or from the
  //         hub: if no getter was waiting); the rest as queue::put().
  void put(T&& item, bool block = true, std::optional<duration> timeout = std::nullopt) {
    s_->channel_put(&item, block, timeout);
  }
  void put(T&& item, std::optional<duration> timeout) { put(std::move(item), true, timeout); }
  void put(const T& item, bool block = true,
           std::optional<duration> timeout = std::nullopt) requires std::copy_constructible<T> {
    T copy(item);
    put(std::move(copy), block, timeout);
  }
  void put(const T& item, std::optional<duration> timeout) requires std::copy_constructible<T> {
    put(item, true, timeout);
  }
  void put_nowait(T&& item) { put(std::move(item), false); }
  void put_nowait(const T& item) requires std::copy_constructible<T> { put(item, false); }

  // get() waits up to `timeout` for a putter's item.
  // Throws: queue_empty if none came in time (with !block or from the hub:
  //         if no putter was waiting); the rest as queue::get().
  T get(bool block = true, std::optional<duration> timeout = std::nullopt) {
    std::optional<T> out;
    s_->channel_get(&out, block, timeout);
    return std::move(*out);
  }
  T get(std::optional<duration> timeout) { return get(true, timeout); }
  T get_nowait() { return get(false); }

  // qsize() is always 0 (nothing is buffered). full() is true when no getter
  // waits (put_nowait would throw queue_full), empty() when no putter waits.
  std::size_t qsize() const {
    s_->check();
    return 0;
  }
  std::size_t size() const { return qsize(); }
  bool full() const { return !s_->has_getter(); }
  bool empty() const { return !s_->has_putter(); }
  // balance() is the number of waiting putters minus waiting getters.
  std::ptrdiff_t balance() const { return s_->balance(); }

  // shutdown() wakes every waiter with queue_shut_down; later put() and get()
  // throw it. A range-for over a channel ends there.
  void shutdown() { s_->shutdown(false); }
  bool is_shut_down() const { return s_->is_shut_down(); }
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::shared_ptr<detail::channel_state<T>> s_;
};

}  // namespace green

#endif  // GREEN_HUB_QUEUE_HPP
