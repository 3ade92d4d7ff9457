// semaphore, bounded_semaphore and rlock (docs/semantics.md H7).

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "green/hub/lock.hpp"
#include "green/hub/semaphore.hpp"
#include "semaphore_core.hpp"

namespace green {

namespace detail {

namespace {

// H7.2: permits go to the waiters in arrival order, straight into their
// hands, so a greenlet that calls acquire() later cannot overtake them. A
// watcher (wait()) is woken while a permit is free but takes none.
void sem_dispatch(semaphore_core& c) {
  for (auto it = c.waiters.begin(); it != c.waiters.end() && c.counter > 0;) {
    sem_waiter* w = *it;
    if (w->slot->woken) {  // leaving (killed, timed out): its cleanup unlinks it
      ++it;
      continue;
    }
    if (w->takes) {
      --c.counter;
      w->granted = true;
    }
    it = c.waiters.erase(it);
    c.owner->wake(*w->slot, nullptr, true);
  }
  if (c.counter > 0) c.observers.fire();
}

[[noreturn]] void throw_destroyed(const char* what) {
  throw error(std::string("green: the semaphore or rlock was destroyed while this greenlet waited "
                          "in ") +
              what +
              "; keep it alive until no greenlet waits on it (gevent keeps it alive through "
              "the waiters' references)");
}

std::ptrdiff_t sem_wait(const std::shared_ptr<semaphore_core>& state,
                        std::optional<duration> timeout, const void* object) {
  semaphore_core& c = *state;
  check_owner(c.owner, "this semaphore");
  if (c.counter > 0) return c.counter;
  // The semaphore may be destroyed while this waits (H7.5): hold the state.
  std::shared_ptr<semaphore_core> keep = state;
  hub_state& h = *c.owner;
  wait_slot s;
  s.what = "semaphore wait";
  s.object = object;
  sem_waiter w{&s, false};
  std::uint64_t timer = 0;
  struct cleanup {
    semaphore_core& c;
    hub_state& h;
    sem_waiter& w;
    std::uint64_t& timer;
    ~cleanup() {
      auto it = std::find(c.waiters.begin(), c.waiters.end(), &w);
      if (it != c.waiters.end()) c.waiters.erase(it);
      if (timer != 0) h.cancel_timer(timer);
    }
  } guard{c, h, w, timer};
  h.block(s, [&] {
    c.waiters.push_back(&w);
    if (timeout) timer = h.add_timer(h.now() + *timeout, [&h, &s] { h.wake(s, nullptr, false); });
  });
  if (c.destroyed) throw_destroyed("semaphore wait");
  return c.counter;
}

}  // namespace

bool sem_acquire(const std::shared_ptr<semaphore_core>& state, bool block,
                 std::optional<duration> timeout, const void* object, const char* what,
                 const char* name) {
  semaphore_core& c = *state;
  check_owner(c.owner, name);
  // A free permit means nobody waits to take one (they are handed over).
  if (c.counter > 0) {
    --c.counter;
    return true;
  }
  if (!block) return false;
  // The semaphore may be destroyed while this waits (H7.5): hold the state.
  std::shared_ptr<semaphore_core> keep = state;
  hub_state& h = *c.owner;
  wait_slot s;
  s.what = what;
  s.object = object;
  sem_waiter w{&s, true};
  std::uint64_t timer = 0;
  bool returned = false;
  struct cleanup {
    semaphore_core& c;
    hub_state& h;
    sem_waiter& w;
    std::uint64_t& timer;
    bool& returned;
    ~cleanup() {
      auto it = std::find(c.waiters.begin(), c.waiters.end(), &w);
      if (it != c.waiters.end()) c.waiters.erase(it);
      if (timer != 0) h.cancel_timer(timer);
      if (w.granted && !returned && !c.destroyed) {
        // H7.2: handed a permit but leaving by an exception before it could
        // return it: pass it on.
        ++c.counter;
        sem_dispatch(c);
      }
    }
  } guard{c, h, w, timer, returned};
  h.block(s, [&] {
    c.waiters.push_back(&w);
    if (timeout) timer = h.add_timer(h.now() + *timeout, [&h, &s] { h.wake(s, nullptr, false); });
  });
  returned = true;
  if (c.destroyed) throw_destroyed(what);
  return w.granted;
}

void sem_release(semaphore_core& c, const char* what) {
  check_owner(c.owner, what);
  if (c.bound >= 0 && c.counter >= c.bound) {
    throw value_error(
        "green: semaphore released too many times (a bounded_semaphore cannot go above its "
        "initial value " +
        std::to_string(c.bound) +
        "); release only what was acquired. gevent: ValueError('Semaphore released too many "
        "times')");
  }
  if (c.counter == std::numeric_limits<std::ptrdiff_t>::max()) {
    throw value_error("green: semaphore counter overflow; release only what was acquired");
  }
  ++c.counter;
  sem_dispatch(c);
}

void sem_destroy(semaphore_core& c) noexcept {
  c.destroyed = true;
  // The hub is gone (its waiters with it) or this is another thread: nothing
  // to wake here.
  if (current_hub() != c.owner) return;
  std::deque<sem_waiter*> waiters = std::move(c.waiters);
  c.waiters.clear();
  for (sem_waiter* w : waiters) {
    try {
      throw_destroyed(w->slot->what);
    } catch (...) {
      c.owner->wake(*w->slot, std::current_exception());
    }
  }
}

// rlock_core: a binary semaphore plus the owning greenlet (by id: ids are
// never reused, so a dead owner cannot be mistaken for a new greenlet).
struct rlock_core {
  explicit rlock_core(hub_state* h) : sem(std::make_shared<semaphore_core>(h, 1, true)) {}
  std::shared_ptr<semaphore_core> sem;
  std::uint64_t owner = 0;
  std::size_t count = 0;
};

}  // namespace detail

// ---- semaphore ----

semaphore::semaphore(std::ptrdiff_t value) : semaphore(value, false) {}

semaphore::semaphore(std::ptrdiff_t value, bool bounded) {
  if (value < 0) {
    throw value_error("green: semaphore initial value must be >= 0, got " + std::to_string(value) +
                      ". gevent: ValueError");
  }
  core_ = std::make_shared<detail::semaphore_core>(&get_hub().state(), value, bounded);
}

semaphore::~semaphore() { detail::sem_destroy(*core_); }

bool semaphore::acquire(bool block, std::optional<duration> timeout) {
  return detail::sem_acquire(core_, block, timeout, this, "semaphore acquire", "this semaphore");
}
void semaphore::release() {
  // A waiter woken from here may destroy the semaphore before this returns.
  std::shared_ptr<detail::semaphore_core> keep = core_;
  detail::sem_release(*keep, "this semaphore");
}
std::ptrdiff_t semaphore::wait(std::optional<duration> timeout) {
  return detail::sem_wait(core_, timeout, this);
}
std::ptrdiff_t semaphore::counter() const noexcept { return core_->counter; }
std::size_t semaphore::waiting() const noexcept { return core_->waiters.size(); }

// ---- rlock ----

rlock::rlock() : core_(std::make_shared<detail::rlock_core>(&get_hub().state())) {}
rlock::~rlock() { detail::sem_destroy(*core_->sem); }

bool rlock::acquire(bool block, std::optional<duration> timeout) {
  std::shared_ptr<detail::rlock_core> keep = core_;
  detail::check_owner(keep->sem->owner, "this rlock");
  const std::uint64_t me = greenlet::current().id();
  if (keep->owner == me) {
    ++keep->count;
    return true;
  }
  if (!detail::sem_acquire(keep->sem, block, timeout, this, "rlock acquire", "this rlock")) {
    return false;
  }
  keep->owner = me;
  keep->count = 1;
  return true;
}

void rlock::release() {
  detail::check_owner(core_->sem->owner, "this rlock");
  if (core_->owner != greenlet::current().id() || core_->count == 0) {
    throw runtime_error(
        "green: cannot release an rlock the calling greenlet does not own (unlocked, or "
        "owned by another greenlet); release it from the greenlet that acquired it. gevent: "
        "RuntimeError('cannot release un-acquired lock')");
  }
  if (--core_->count > 0) return;
  core_->owner = 0;
  std::shared_ptr<detail::semaphore_core> keep = core_->sem;
  detail::sem_release(*keep, "this rlock");
}

bool rlock::locked() const noexcept { return core_->count > 0; }
bool rlock::is_owned() const {
  return core_->count > 0 && core_->owner == greenlet::current().id();
}
std::size_t rlock::count() const noexcept { return core_->count; }

}  // namespace green
