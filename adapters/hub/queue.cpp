// Queues and channels (docs/semantics.md H6): the waiting getters and
// putters and the hand-offs between them, for every item type.
//
// A queue's items stay in its buffer until a getter runs: put() stores the
// item and schedules an "unlock" callback in the hub, which switches to the
// first waiting getter at once (resume_now), and that getter takes the item
// itself. A getter killed or timed out before the unlock reaches it was
// already woken, so the unlock skips it and the item waits for the next one
// (H6.4). Blocked putters keep their item on their own stack until the unlock
// moves it into the buffer and switches to them in the same step.

#include <algorithm>
#include <string>
#include <utility>

#include "green/hub/queue.hpp"
#include "hub_state.hpp"

namespace green::detail {

struct queue_waiter {
  wait_slot slot;
  void* item = nullptr;  // a putter's T, or a channel getter's std::optional<T>
};

namespace {

// pop_live() removes and returns the first waiter not yet woken; woken ones
// (killed, timed out) are dropped on the way: their cleanup no longer finds
// them, which it allows.
queue_waiter* pop_live(std::deque<queue_waiter*>& list) {
  while (!list.empty()) {
    queue_waiter* w = list.front();
    list.pop_front();
    if (!w->slot.woken) return w;
  }
  return nullptr;
}

queue_waiter* front_live(std::deque<queue_waiter*>& list) {
  while (!list.empty() && list.front()->slot.woken) list.pop_front();
  return list.empty() ? nullptr : list.front();
}

std::ptrdiff_t count_live(const std::deque<queue_waiter*>& list) {
  return std::count_if(list.begin(), list.end(),
                       [](const queue_waiter* w) { return !w->slot.woken; });
}

}  // namespace

queue_core::queue_core(std::size_t maxsize, bool channel)
    : owner_(&get_hub().state()),
      maxsize_(maxsize),
      all_done_(std::make_shared<event_core>(owner_)),
      channel_(channel) {
  all_done_->flag = true;
}

queue_core::~queue_core() = default;

void queue_core::check() const { check_owner(owner_, channel_ ? "this channel" : "this queue"); }

void queue_core::check_timeout(std::optional<duration> timeout, const char* op) const {
  if (timeout && *timeout < duration::zero()) {
    throw value_error(std::string("green: ") + name() + " " + op +
                      ": the timeout is negative; pass zero or more, or nullopt to wait "
                      "forever. gevent: ValueError(\"'timeout' must be a non-negative number\")");
  }
}

void queue_core::throw_empty(const char* op) const {
  throw queue_empty(std::string("green: ") + name() + " " + op +
                    (channel_ ? ": no putter handed over an item (none was waiting, or none "
                                "came in time). gevent: queue.Empty"
                              : ": the queue is empty (no item came in time, or the call could "
                                "not wait). gevent: queue.Empty"));
}

void queue_core::throw_full(const char* op) const {
  throw queue_full(std::string("green: ") + name() + " " + op +
                   (channel_ ? ": no getter took the item (none was waiting, or none came in "
                               "time). gevent: queue.Full"
                             : ": the queue is full (no slot came free in time, or the call "
                               "could not wait). gevent: queue.Full"));
}

namespace {
queue_shut_down shut_down_error(const std::string& what) {
  const bool put = what.size() >= 3 && what.compare(what.size() - 3, 3, "put") == 0;
  return queue_shut_down("green: " + what + ": it was shut down (shutdown()); " +
                         (put ? "it takes no more items" : "no more items will come") +
                         ". gevent: queue.ShutDown");
}
}  // namespace

void queue_core::throw_shut_down(const char* op) const {
  throw shut_down_error(std::string(name()) + " " + op);
}

void queue_core::store(void* item) {
  push(item);
  ++unfinished_;
  all_done_->flag = false;
}

bool queue_core::store_from(queue_waiter& putter) {
  try {
    store(putter.item);
  } catch (...) {
    // The item could not be stored (its move threw): the put fails with that.
    owner_->wake(putter.slot, std::current_exception(), false);
    return false;
  }
  return true;
}

bool queue_core::wait_in(std::deque<queue_waiter*>& list, void* item,
                         std::optional<duration> timeout, const char* what) {
  hub_state& h = *owner_;
  // The queue object may be destroyed while this greenlet waits (H6.8).
  std::shared_ptr<queue_core> keep = shared_from_this();
  queue_waiter w;
  w.item = item;
  w.slot.what = what;
  w.slot.object = facade_;
  std::uint64_t timer = 0;
  struct cleanup {
    std::deque<queue_waiter*>& list;
    hub_state& h;
    queue_waiter& w;
    std::uint64_t& timer;
    ~cleanup() {
      auto it = std::find(list.begin(), list.end(), &w);
      if (it != list.end()) list.erase(it);
      if (timer != 0) h.cancel_timer(timer);
    }
  } guard{list, h, w, timer};
  std::deque<queue_waiter*>& other = &list == &getters_ ? putters_ : getters_;
  h.block(w.slot, [&] {
    list.push_back(&w);
    if (!other.empty()) schedule_unlock();
    if (timeout) {
      timer = h.add_timer(h.now() + *timeout, [&h, &w] { h.wake(w.slot, nullptr, false); });
    }
  });
  return w.slot.result;
}

void queue_core::schedule_unlock() {
  if (unlock_scheduled_) return;
  unlock_scheduled_ = true;
  owner_->schedule([keep = shared_from_this()] { keep->unlock(); });
}

void queue_core::unlock() {
  // Cleared first: a put or get made by a waiter resumed below schedules
  // another pass (gevent's callback is no longer pending once it runs).
  unlock_scheduled_ = false;
  if (channel_) {
    channel_unlock();
  } else {
    queue_unlock();
  }
}

void queue_core::queue_unlock() {
  hub_state& h = *owner_;
  // H6.2: FIFO on both sides; each waiter runs at once, until it blocks.
  for (;;) {
    bool again = false;
    if (!putters_.empty() && has_room()) {
      again = true;
      queue_waiter* p = pop_live(putters_);
      if (p != nullptr && store_from(*p)) h.resume_now(p->slot);
    }
    if (!getters_.empty() && count() > 0) {
      again = true;
      // A getter killed meanwhile was woken already: resume_now() refuses it
      // and the item stays for the next one (H6.4).
      queue_waiter* g = getters_.front();
      getters_.pop_front();
      h.resume_now(g->slot);
    }
    if (!again) break;
  }
  if (shut_ && count() == 0) fail_shut_down(getters_);
}

void queue_core::channel_unlock() {
  hub_state& h = *owner_;
  for (;;) {
    queue_waiter* g = front_live(getters_);
    queue_waiter* p = front_live(putters_);
    if (g == nullptr || p == nullptr) return;
    getters_.pop_front();
    putters_.pop_front();
    try {
      deliver(p->item, g->item);
    } catch (...) {
      getters_.push_front(g);
      h.wake(p->slot, std::current_exception(), false);
      continue;
    }
    // The putter's wake-up is queued before the getter runs, so a kill aimed
    // at the putter meanwhile lands at its next blocking point and its put()
    // reports the delivery (H6.4); it runs after the getter, as in gevent.
    h.wake(p->slot, nullptr, true);
    h.resume_now(g->slot);
  }
}

void queue_core::put(void* item, bool block, std::optional<duration> timeout) {
  check();
  if (shut_) throw_shut_down("put");
  if (has_room()) {
    store(item);
    if (!getters_.empty()) schedule_unlock();
    return;
  }
  hub_state& h = *owner_;
  if (greenlet::current() == h.hub_g) {
    // H6.5: the hub cannot wait; running waiting getters may make room.
    std::shared_ptr<queue_core> keep = shared_from_this();
    while (!has_room() && count() > 0) {
      queue_waiter* g = pop_live(getters_);
      if (g == nullptr) break;
      h.resume_now(g->slot);
    }
    if (shut_) throw_shut_down("put");
    if (!has_room()) throw_full("put");
    store(item);
    if (!getters_.empty()) schedule_unlock();
    return;
  }
  if (!block) throw_full("put");
  check_timeout(timeout, "put");
  if (!wait_in(putters_, item, timeout, "queue put")) throw_full("put");
}

void queue_core::begin_get(bool block, std::optional<duration> timeout, bool peek) {
  check();
  if (count() > 0) return;
  const char* op = peek ? "peek" : "get";
  if (shut_) throw_shut_down(op);
  hub_state& h = *owner_;
  if (greenlet::current() == h.hub_g) {
    // H6.5: take a waiting putter's item (it runs at once) rather than wait.
    std::shared_ptr<queue_core> keep = shared_from_this();
    while (queue_waiter* p = pop_live(putters_)) {
      if (store_from(*p)) h.resume_now(p->slot);
      if (count() > 0) return;
    }
    throw_empty(op);
  }
  if (!block) throw_empty(op);
  check_timeout(timeout, op);
  std::optional<time_point> deadline;
  if (timeout) deadline = h.now() + *timeout;
  for (;;) {
    if (!wait_in(getters_, nullptr, timeout, peek ? "queue peek" : "queue get")) {
      throw_empty(op);
    }
    if (count() > 0) return;
    // Not reached as the unlock works today (it switches to a getter only
    // with an item there, and nothing runs in between); wait again rather
    // than return with nothing.
    if (shut_) throw_shut_down(op);
    if (deadline) timeout = std::max(*deadline - h.now(), duration::zero());
  }
}

bool queue_core::full() const {
  check();
  return maxsize_ != 0 && count() >= maxsize_;
}

void queue_core::task_done() {
  check();
  if (unfinished_ == 0) {
    throw value_error(
        "green: queue task_done() called too many times: more often than items were put into "
        "the queue; call it once for each item taken with get(). gevent: ValueError");
  }
  if (--unfinished_ == 0) event_set(*all_done_);
}

bool queue_core::join(std::optional<duration> timeout) {
  check();
  std::shared_ptr<queue_core> keep = shared_from_this();  // H6.8, as wait_in()
  return event_wait(*all_done_, timeout, facade_, "queue join");
}

std::size_t queue_core::unfinished_tasks() const {
  check();
  return unfinished_;
}

void queue_core::channel_put(void* item, bool block, std::optional<duration> timeout) {
  check();
  if (shut_) throw_shut_down("put");
  hub_state& h = *owner_;
  const bool in_hub = greenlet::current() == h.hub_g;
  if (in_hub || !block) {
    // H6.10: without waiting, only to a getter that waits now.
    queue_waiter* g = pop_live(getters_);
    if (g == nullptr) throw_full("put");
    try {
      deliver(item, g->item);
    } catch (...) {
      getters_.push_front(g);
      throw;
    }
    if (in_hub) {
      h.resume_now(g->slot);
    } else {
      h.wake(g->slot, nullptr, true);
    }
    return;
  }
  check_timeout(timeout, "put");
  if (!wait_in(putters_, item, timeout, "channel put")) throw_full("put");
}

void queue_core::channel_get(void* out, bool block, std::optional<duration> timeout) {
  check();
  if (shut_) throw_shut_down("get");
  hub_state& h = *owner_;
  if (!block || greenlet::current() == h.hub_g) {
    queue_waiter* p = pop_live(putters_);
    if (p == nullptr) throw_empty("get");
    try {
      deliver(p->item, out);
    } catch (...) {
      putters_.push_front(p);
      throw;
    }
    h.wake(p->slot, nullptr, true);
    return;
  }
  check_timeout(timeout, "get");
  if (!wait_in(getters_, out, timeout, "channel get")) throw_empty("get");
}

std::ptrdiff_t queue_core::balance() const {
  check();
  return count_live(putters_) - count_live(getters_);
}

bool queue_core::has_getter() const {
  check();
  return count_live(getters_) > 0;
}

bool queue_core::has_putter() const {
  check();
  return count_live(putters_) > 0;
}

void queue_core::shutdown(bool immediate) {
  check();
  shut_ = true;
  if (immediate) {
    while (count() > 0) {
      discard_one();
      if (unfinished_ > 0 && --unfinished_ == 0) event_set(*all_done_);
    }
  }
  // H6.7: waiting putters are woken with queue_shut_down at once; waiting
  // getters too if nothing is left, else the unlock serves them the items
  // left first (a get fails only once the queue is drained).
  if (count() > 0) {
    if (!getters_.empty()) schedule_unlock();
  } else {
    fail_shut_down(getters_);
  }
  fail_shut_down(putters_);
}

void queue_core::fail_shut_down(std::deque<queue_waiter*>& list) {
  for (queue_waiter* w : list) {
    if (w->slot.woken) continue;
    std::exception_ptr ex;
    try {
      ex = std::make_exception_ptr(shut_down_error(w->slot.what));
    } catch (...) {
      ex = std::current_exception();
    }
    owner_->wake(w->slot, std::move(ex));
  }
  list.clear();
}

bool queue_core::is_shut_down() const {
  check();
  return shut_;
}

void queue_core::facade_destroyed() noexcept {
  // Only the owning thread may touch the waiters; destroyed elsewhere (or
  // after its hub), there is nobody this thread could wake.
  if (current_hub() != owner_) return;
  hub_state& h = *owner_;
  auto fail = [&](wait_slot& s) {
    if (s.woken) return;
    std::exception_ptr ex;
    try {
      ex = std::make_exception_ptr(
          error(std::string("green: ") + s.what + ": the " + name() +
                " was destroyed while this greenlet waited on it; keep a " + name() +
                " alive until no greenlet waits on it (join or kill its users first)"));
    } catch (...) {
      ex = std::current_exception();
    }
    h.wake(s, std::move(ex));
  };
  // H6.8: each waiter resumes with green::error; its own `keep` holds this
  // core until it has left the queue's code.
  for (auto* list : {&getters_, &putters_}) {
    for (queue_waiter* w : *list) fail(w->slot);
    list->clear();
  }
  for (wait_slot* s : all_done_->waiters) fail(*s);
  facade_ = nullptr;
}

}  // namespace green::detail
