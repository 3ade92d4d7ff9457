// wait() and iwait() (docs/semantics.md H8), on the links of tasks and the
// observer lists of events, async_results and semaphores.

#include <deque>
#include <utility>

#include "green/hub/wait.hpp"
#include "hub_state.hpp"
#include "semaphore_core.hpp"

namespace green {

namespace detail {

struct wait_access {
  static waitable::kind kind_of(const waitable& w) noexcept { return w.kind_; }
  static void* core_of(const waitable& w) noexcept { return w.core_.get(); }
  static iwait_state& state_of(iwait_range& r) noexcept { return *r.s_; }
};

namespace {

task_core& as_task(const waitable& w) { return *static_cast<task_core*>(wait_access::core_of(w)); }
event_core& as_event(const waitable& w) {
  return *static_cast<event_core*>(wait_access::core_of(w));
}
async_core& as_async(const waitable& w) {
  return *static_cast<async_core*>(wait_access::core_of(w));
}
semaphore_core& as_semaphore(const waitable& w) {
  return *static_cast<semaphore_core*>(wait_access::core_of(w));
}

const hub_state* owner_of(const waitable& w) {
  switch (wait_access::kind_of(w)) {
    case waitable::kind::task:
      return as_task(w).owner;
    case waitable::kind::event:
      return as_event(w).owner;
    case waitable::kind::async_result:
      return as_async(w).owner();
    case waitable::kind::semaphore:
      return as_semaphore(w).owner;
  }
  return nullptr;
}

}  // namespace

struct iwait_state {
  struct entry {
    waitable w;
    std::uint64_t link = 0;  // 0: not linked
    bool fired = false;
  };
  hub_state* h = nullptr;
  std::vector<entry> entries;
  std::deque<std::size_t> arrived;  // entries, in the order they became ready
  std::size_t limit = 0;
  std::size_t yielded = 0;
  std::optional<time_point> deadline;
  wait_slot* slot = nullptr;  // while a step blocks
  const char* what = "iwait";
  bool closed = false;
  bool timed_out = false;

  void on_ready(std::size_t i) {
    if (closed || entries[i].fired) return;
    entries[i].fired = true;
    arrived.push_back(i);
    if (slot == nullptr || slot->woken) return;
    // Like join, a waiter woken by a link or a notification in the hub runs
    // at once, so it returns between the links registered before and after
    // it; woken elsewhere (a release() in a greenlet) it is queued.
    if (greenlet::current() == h->hub_g) {
      h->resume_now(*slot);
    } else {
      h->wake(*slot);
    }
  }

  void link(std::size_t i, const std::shared_ptr<iwait_state>& self) {
    std::weak_ptr<iwait_state> weak = self;
    auto fire = [weak, i] {
      if (auto s = weak.lock()) s->on_ready(i);
    };
    const waitable& w = entries[i].w;
    switch (wait_access::kind_of(w)) {
      case waitable::kind::task:
        entries[i].link = w.task().rawlink([fire](const task_base&) { fire(); });
        break;
      case waitable::kind::event:
        entries[i].link = as_event(w).observers.add(fire);
        break;
      case waitable::kind::async_result:
        entries[i].link = as_async(w).waiting_side()->observers.add(fire);
        break;
      case waitable::kind::semaphore:
        entries[i].link = as_semaphore(w).observers.add(fire);
        break;
    }
  }

  void unlink_all() noexcept {
    for (auto& e : entries) {
      if (e.link == 0) continue;
      const std::uint64_t id = std::exchange(e.link, 0);
      switch (wait_access::kind_of(e.w)) {
        case waitable::kind::task:
          e.w.task().unlink(id);
          break;
        case waitable::kind::event:
          as_event(e.w).observers.remove(id);
          break;
        case waitable::kind::async_result:
          as_async(e.w).waiting_side()->observers.remove(id);
          break;
        case waitable::kind::semaphore:
          as_semaphore(e.w).observers.remove(id);
          break;
      }
    }
  }

  void close() noexcept {
    if (closed) return;
    closed = true;
    unlink_all();
  }

  // An unfinished async_result may be set by another thread: while one is
  // watched, the hub must not raise loop_exit (H5.3).
  bool watches_async() const noexcept {
    for (const auto& e : entries)
      if (!e.fired && wait_access::kind_of(e.w) == waitable::kind::async_result) return true;
    return false;
  }
};

}  // namespace detail

// ---- waitable ----

waitable::waitable(const task_base& t) : kind_(kind::task) {
  if (!t) {
    throw error("green: wait()/iwait() got an empty task handle; pass a task returned by spawn()");
  }
  core_ = t.native_handle()->shared_from_this();
}
waitable::waitable(const event& e) : kind_(kind::event), core_(e.core_) {}
waitable::waitable(const semaphore& s) : kind_(kind::semaphore), core_(s.core_) {}
waitable::waitable(std::shared_ptr<detail::async_core> c)
    : kind_(kind::async_result), core_(std::move(c)) {}

bool waitable::ready() const {
  switch (kind_) {
    case kind::task:
      return detail::as_task(*this).done;
    case kind::event:
      return detail::as_event(*this).flag;
    case kind::async_result:
      return detail::as_async(*this).ready();
    case kind::semaphore:
      return detail::as_semaphore(*this).counter > 0;
  }
  return false;
}

task_base waitable::task() const {
  if (kind_ != kind::task) return task_base();
  return task_base(std::static_pointer_cast<detail::task_core>(core_));
}

// ---- iwait_range ----

iwait_range::iwait_range(std::vector<waitable> objects, std::optional<duration> timeout,
                         std::optional<std::size_t> count)
    : s_(std::make_shared<detail::iwait_state>()) {
  detail::hub_state& h = get_hub().state();
  for (const auto& w : objects)
    detail::check_owner(detail::owner_of(w), "an object given to wait()/iwait()");
  s_->h = &h;
  s_->limit = count ? std::min(*count, objects.size()) : objects.size();
  if (timeout) s_->deadline = h.now() + std::max(*timeout, duration::zero());
  s_->entries.reserve(objects.size());
  for (auto& w : objects) s_->entries.push_back(detail::iwait_state::entry{std::move(w)});
  if (s_->limit == 0) {
    s_->closed = true;
    return;
  }
  // H8.1: those ready now come first, in argument order; the others are
  // linked and queue up as they become ready.
  for (std::size_t i = 0; i < s_->entries.size(); ++i) {
    if (s_->entries[i].w.ready()) {
      s_->entries[i].fired = true;
      s_->arrived.push_back(i);
    }
  }
  if (s_->arrived.size() >= s_->limit) return;
  struct unwind {
    detail::iwait_state& s;
    bool ok = false;
    ~unwind() {
      if (!ok) s.close();
    }
  } guard{*s_};
  for (std::size_t i = 0; i < s_->entries.size(); ++i)
    if (!s_->entries[i].fired) s_->link(i, s_);
  guard.ok = true;
}

iwait_range::iwait_range(iwait_range&&) noexcept = default;
iwait_range& iwait_range::operator=(iwait_range&& o) noexcept {
  if (this != &o) {
    close();
    s_ = std::move(o.s_);
  }
  return *this;
}
iwait_range::~iwait_range() { close(); }

void iwait_range::close() noexcept {
  if (s_) s_->close();
}
bool iwait_range::timed_out() const noexcept { return s_ && s_->timed_out; }

std::optional<waitable> iwait_range::next() {
  if (!s_) return std::nullopt;
  detail::iwait_state& s = *s_;
  detail::check_owner(s.h, "this iwait");
  if (s.closed || s.yielded >= s.limit) {
    s.close();
    return std::nullopt;
  }
  if (s.arrived.empty()) {
    detail::hub_state& h = *s.h;
    // H8.2: a deadline already passed ends it without yielding.
    if (s.deadline && h.now() >= *s.deadline) {
      s.timed_out = true;
      s.close();
      return std::nullopt;
    }
    detail::wait_slot slot;
    slot.what = s.what;
    slot.object = &s;
    std::uint64_t timer = 0;
    const bool external = s.watches_async();
    struct cleanup {
      detail::iwait_state& s;
      detail::hub_state& h;
      std::uint64_t& timer;
      bool external;
      ~cleanup() {
        s.slot = nullptr;
        if (timer != 0) h.cancel_timer(timer);
        if (external) h.external_waits.fetch_sub(1, std::memory_order_relaxed);
      }
    } guard{s, h, timer, external};
    if (external) h.external_waits.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<detail::iwait_state> keep = s_;  // a step may outlive a move
    h.block(slot, [&] {
      s.slot = &slot;
      if (s.deadline)
        timer = h.add_timer(*s.deadline, [&h, &slot] { h.wake(slot, nullptr, false); });
    });
    if (s.arrived.empty()) {
      s.timed_out = true;
      s.close();
      return std::nullopt;
    }
  }
  const std::size_t i = s.arrived.front();
  s.arrived.pop_front();
  ++s.yielded;
  waitable out = s.entries[i].w;
  if (s.yielded >= s.limit) s.close();
  return out;
}

iwait_range::iterator iwait_range::begin() {
  iterator it;
  it.range_ = this;
  it.current_ = next();
  return it;
}

std::vector<waitable> wait(std::vector<waitable> objects, std::optional<duration> timeout,
                           std::optional<std::size_t> count) {
  iwait_range r(std::move(objects), timeout, count);
  detail::wait_access::state_of(r).what = "wait";
  std::vector<waitable> out;
  while (auto w = r.next()) out.push_back(std::move(*w));
  return out;
}

}  // namespace green
