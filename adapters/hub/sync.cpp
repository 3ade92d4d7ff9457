// timeout, event and async_result (docs/semantics.md H4, H5).

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include "hub_state.hpp"

namespace green {

namespace detail {

struct timeout_core {
  hub_state* h = nullptr;
  greenlet_state* target = nullptr;
  // H4.6: held while armed, so that the target's address is not reused by
  // another greenlet before the expiry is delivered or dropped.
  std::optional<greenlet> target_ref;
  std::uint64_t timer = 0;
  std::optional<duration> length;
  std::exception_ptr custom;
  bool expired = false;
};

void throw_detached_timeout() { throw timeout::detached(); }

std::uint64_t observer_list::add(std::function<void()> fn) {
  const std::uint64_t id = next_id++;
  entries.push_back(entry{id, std::move(fn)});
  return id;
}

void observer_list::remove(std::uint64_t id) noexcept {
  auto it =
      std::find_if(entries.begin(), entries.end(), [id](const entry& x) { return x.id == id; });
  if (it != entries.end()) entries.erase(it);
}

void observer_list::fire() {
  if (entries.empty()) return;
  std::vector<std::uint64_t> ids;
  ids.reserve(entries.size());
  for (const auto& x : entries) ids.push_back(x.id);
  for (std::uint64_t id : ids) {
    auto it =
        std::find_if(entries.begin(), entries.end(), [id](const entry& x) { return x.id == id; });
    if (it == entries.end()) continue;
    std::function<void()> fn = it->fn;
    fn();
  }
}

void event_set(event_core& e) {
  e.flag = true;
  if ((e.waiters.empty() && e.observers.entries.empty()) || e.notify_scheduled) return;
  e.notify_scheduled = true;
  hub_state& h = *e.owner;
  if (e.observers.entries.empty()) {
    // H5.1, the direct pass: the waiters present now go into the ready
    // queue, FIFO, where the hub's notification callback would have gone,
    // and each runs until it blocks, as it would have from that callback.
    // A blocking greenlet then switches to the next of them itself
    // (hub_state::suspend()): one switch per wake-up instead of two through
    // the hub. The pass ends when the last of them has resumed
    // (event_wait()); a wait() meanwhile queues behind it.
    // One woken already (a kill, a timeout) resumes with that instead, and is
    // not part of the pass.
    e.pass_left = 0;
    while (!e.waiters.empty()) {
      wait_slot* s = e.waiters.front();
      e.waiters.pop_front();
      if (h.wake_ready(*s)) {
        s->in_pass = true;
        ++e.pass_left;
      }
    }
    if (e.pass_left == 0) end_pass(e);
    return;
  }
  // With observers (wait()/iwait() on this event), the pass runs in the hub,
  // which fires the observers after the waiters. The hub keeps the event
  // alive until the callback runs (one keep per callback, both FIFO), so the
  // callback holds only a pointer and scheduling it allocates nothing.
  h.notifying_events.push_back(e.shared_from_this());
  h.schedule([&h] {
    const std::shared_ptr<event_core> keep = std::move(h.notifying_events.front());
    h.notifying_events.pop_front();
    event_core& ev = *keep;
    // Only the waiters present now: one that waits again meanwhile (after a
    // clear(), say) waits for the next set (H5.1).
    for (std::size_t n = ev.waiters.size(); n > 0 && !ev.waiters.empty(); --n) {
      wait_slot* s = ev.waiters.front();
      ev.waiters.pop_front();
      ev.owner->resume_now(*s, true);
    }
    ev.observers.fire();
    end_pass(ev);
  });
}

void end_pass(event_core& e) {
  e.notify_scheduled = false;
  // Those that queued behind the pass while the flag stayed set get a pass
  // of their own.
  if (e.flag && !e.waiters.empty()) event_set(e);
}

bool event_wait(event_core& e, std::optional<duration> timeout, const void* object,
                const char* what) {
  check_owner(e.owner, what);
  if (e.flag && !e.notify_scheduled) return true;
  // H5.4: the waiter's cleanup touches `e` after the owner may have destroyed
  // the event; the core lives until the last waiter is gone.
  std::shared_ptr<event_core> keep = e.shared_from_this();
  hub_state& h = *e.owner;
  wait_slot s;
  s.what = what;
  s.object = object;
  std::uint64_t timer = 0;
  struct cleanup {
    event_core& e;
    hub_state& h;
    wait_slot& s;
    std::uint64_t& timer;
    ~cleanup() {
      auto it = std::find(e.waiters.begin(), e.waiters.end(), &s);
      if (it != e.waiters.end()) e.waiters.erase(it);
      if (timer != 0) h.cancel_timer(timer);
    }
  } guard{e, h, s, timer};
  h.block(s, [&] {
    e.waiters.push_back(&s);
    if (timeout) timer = h.add_timer(h.now() + *timeout, [&h, &s] { h.wake(s, nullptr, false); });
  });
  if (s.in_pass && --e.pass_left == 0) end_pass(e);
  return s.result;
}

}  // namespace detail

// ---- timeout ----

timeout::timeout(std::optional<duration> d) : timeout(d, std::exception_ptr()) {}

timeout::timeout(std::optional<duration> d, std::exception_ptr ex)
    : core_(std::make_shared<detail::timeout_core>()), owner_(true) {
  core_->length = d;
  core_->custom = std::move(ex);
  if (!d) return;  // never fires (gevent: Timeout(None))
  detail::hub_state& h = get_hub().state();
  if (greenlet::current() == h.hub_g) {
    throw error(
        "green: a timeout cannot be started in the hub (a rawlink or hub callback), "
        "which never blocks; start it in the greenlet that waits");
  }
  core_->h = &h;
  core_->target_ref = greenlet::current();
  core_->target = core_->target_ref->native_handle();
  std::weak_ptr<detail::timeout_core> weak = core_;
  core_->timer = h.add_timer(h.now() + std::max(*d, duration::zero()), [weak] {
    auto c = weak.lock();
    if (!c) return;
    c->timer = 0;
    c->expired = true;
    std::optional<greenlet> target = std::exchange(c->target_ref, std::nullopt);
    if (!target || target->dead()) return;  // H4.6: its greenlet is gone
    std::exception_ptr ex = c->custom;
    if (!ex) {
      timeout signal;
      signal.core_ = c;
      ex = std::make_exception_ptr(signal);
    }
    // H4.2: thrown at the blocking point, or at the next one if the
    // greenlet's resume is already queued.
    c->h->throw_to(c->target, std::move(ex), c.get());
  });
}

timeout::timeout(const timeout& other) noexcept : core_(other.core_), owner_(false) {}

timeout::~timeout() {
  if (!owner_ || !core_ || core_->h == nullptr) return;
  if (detail::current_hub() != core_->h) return;  // the hub is gone
  cancel();
  core_->h->drop_pending(core_->target, core_.get());
}

void timeout::cancel() noexcept {
  if (!core_ || core_->h == nullptr || core_->timer == 0) return;
  if (detail::current_hub() == core_->h) {
    core_->h->cancel_timer(core_->timer);
    core_->target_ref.reset();
  }
  core_->timer = 0;
}
bool timeout::pending() const noexcept { return core_ && core_->timer != 0; }
bool timeout::expired() const noexcept { return core_ && core_->expired; }
std::optional<duration> timeout::length() const noexcept {
  return core_ ? core_->length : std::nullopt;
}
timeout timeout::detached() { return timeout(); }

// ---- event ----

event::event() : core_(std::make_shared<detail::event_core>(&get_hub().state())) {}
event::~event() {
  detail::event_core& e = *core_;
  // H5.4: a wake-up set() already queued is delivered (it holds the core);
  // the others would wait on an event that can no longer be set.
  if (e.notify_scheduled || e.waiters.empty() || detail::current_hub() != e.owner) return;
  auto gone = std::make_exception_ptr(
      error("green: the event this greenlet waited on was destroyed while it waited; keep an event "
            "alive until its waiters are done, or set() it before destroying it"));
  while (!e.waiters.empty()) {
    detail::wait_slot* s = e.waiters.front();
    e.waiters.pop_front();
    e.owner->wake(*s, gone);
  }
}
void event::set() {
  detail::check_owner(core_->owner, "this event");
  detail::event_set(*core_);
}
void event::clear() {
  detail::check_owner(core_->owner, "this event");
  core_->flag = false;
}
bool event::is_set() const noexcept { return core_->flag; }
bool event::wait(std::optional<duration> timeout) {
  return detail::event_wait(*core_, timeout, this, "event");
}

// ---- async_result ----

namespace detail {

async_core::async_core()
    : owner_(&get_hub().state()), event_(std::make_shared<event_core>(owner_)) {
  remote_ = owner_->remote;
}
async_core::~async_core() = default;

std::unique_lock<std::mutex> async_core::begin_set() {
  std::unique_lock<std::mutex> lock(mtx);
  if (set_) {
    throw green::error(
        "green: async_result is set once; it was already set (create a new one for "
        "the next value)");
  }
  return lock;
}

void async_core::publish(std::unique_lock<std::mutex> lock) {
  set_ = true;
  lock.unlock();
  if (current_hub() == owner_) {
    notify_local();
    return;
  }
  // H5.2: from another thread, the wake-up is posted to the owning hub's
  // io_context (thread safe); dropped if that hub is gone.
  std::lock_guard<std::mutex> g(remote_->mtx);
  if (remote_->io != nullptr) {
    boost::asio::post(*remote_->io, [self = shared_from_this()] { self->notify_local(); });
  }
}

void async_core::notify_local() { event_set(*event_); }

bool async_core::wait(std::optional<duration> timeout) {
  check_owner(owner_, "this async_result");
  if (ready()) return true;
  // H5.3: another thread may set it: the hub must not raise loop_exit.
  owner_->external_waits.fetch_add(1, std::memory_order_relaxed);
  struct dec {
    hub_state* h;
    ~dec() { h->external_waits.fetch_sub(1, std::memory_order_relaxed); }
  } guard{owner_};
  event_wait(*event_, timeout, this, "async_result");
  return ready();
}

bool async_core::ready() const noexcept {
  std::lock_guard<std::mutex> g(mtx);
  return set_;
}
std::exception_ptr async_core::exception() const {
  std::lock_guard<std::mutex> g(mtx);
  return error;
}

}  // namespace detail

}  // namespace green
