// group, pool and the imap machinery (docs/semantics.md H9).

#include "green/hub/pool.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "hub_state.hpp"

namespace green {

namespace detail {

struct group_member {
  task_base t;
  std::uint64_t link = 0;  // the rawlink that discards it
  bool dying = false;      // kill() already threw into it
};

struct group_core : std::enable_shared_from_this<group_core> {
  explicit group_core(hub_state* h, std::optional<std::size_t> n)
      : owner(h), size(n), permits(n.value_or(0)), empty(std::make_shared<event_core>(h)) {
    empty->flag = true;  // gevent: a new group is empty, so join() returns at once
  }
  hub_state* owner;
  std::optional<std::size_t> size;  // nothing: unbounded
  // Free slots not handed to anyone. A slot released while spawners wait
  // goes straight to the first of them (FIFO), never through this count.
  std::size_t permits;
  std::list<group_member> members;
  std::unordered_map<const task_core*, std::list<group_member>::iterator> index;
  std::unordered_set<const greenlet_state*> greenlets;  // members' greenlets, for apply()
  std::deque<wait_slot*> acquirers;
  std::deque<wait_slot*> watchers;  // wait_available()
  std::shared_ptr<event_core> empty;
};

namespace {

void remove_slot(std::deque<wait_slot*>& q, wait_slot* s) {
  auto it = std::find(q.begin(), q.end(), s);
  if (it != q.end()) q.erase(it);
}

// Wait on one of the core's waiter lists with an optional timeout; the
// cleanup takes the slot off the list and cancels the timer whatever ends
// the wait (a hand-over, the timer, a kill or timeout thrown in).
bool wait_on(group_core& c, std::deque<wait_slot*>& q, std::optional<duration> timeout,
             const char* what) {
  hub_state& h = *c.owner;
  // Kept alive while blocked: the group object may be destroyed meanwhile.
  std::shared_ptr<group_core> keep = c.shared_from_this();
  wait_slot s;
  s.what = what;
  s.object = &c;
  std::uint64_t timer = 0;
  struct cleanup {
    std::deque<wait_slot*>& q;
    hub_state& h;
    wait_slot& s;
    std::uint64_t& timer;
    ~cleanup() {
      remove_slot(q, &s);
      if (timer != 0) h.cancel_timer(timer);
    }
  } guard{q, h, s, timer};
  h.block(s, [&] {
    q.push_back(&s);
    if (timeout) timer = h.add_timer(h.now() + *timeout, [&h, &s] { h.wake(s, nullptr, false); });
  });
  return s.result;
}

void discard_member(group_core& c, const task_core* t, bool unlink) {
  auto it = c.index.find(t);
  if (it == c.index.end()) return;
  group_member m = std::move(*it->second);
  c.members.erase(it->second);
  c.index.erase(it);
  if (m.t.native_handle()->g.native_handle() != nullptr)
    c.greenlets.erase(m.t.native_handle()->g.native_handle());
  if (unlink) m.t.unlink(m.link);
  group_release(c);
  if (c.members.empty()) event_set(*c.empty);
}

[[noreturn]] void throw_size_zero(const char* what) {
  throw error(std::string("green: ") + what +
              " on a pool of size 0, which can never run anything: it would wait forever. Give "
              "the pool a size of at least 1, or pass a timeout (gevent: Pool(0) blocks forever, "
              "then LoopExit)");
}

}  // namespace

std::shared_ptr<group_core> make_group_core(std::optional<std::size_t> size) {
  return std::make_shared<group_core>(&get_hub().state(), size);
}

void group_check(const group_core& c) { check_owner(c.owner, "this group or pool"); }

bool group_acquire(group_core& c, bool block, std::optional<duration> timeout) {
  if (!c.size) return true;
  if (c.permits > 0) {
    --c.permits;
    return true;
  }
  if (!block) return false;
  if (*c.size == 0 && !timeout) throw_size_zero("a blocking spawn or add");
  if (timeout && *timeout <= duration::zero()) return false;
  // H9.3: FIFO among blocked spawners; true means a slot was handed over.
  return wait_on(c, c.acquirers, timeout, "pool slot");
}

void group_release(group_core& c) noexcept {
  if (!c.size) return;
  // A waiter already woken by something else (a kill, its timer) cannot
  // take the slot: pass it on, so none is lost.
  while (!c.acquirers.empty()) {
    wait_slot* s = c.acquirers.front();
    c.acquirers.pop_front();
    if (c.owner->wake(*s, nullptr, true)) return;
  }
  ++c.permits;
  while (!c.watchers.empty()) {
    wait_slot* s = c.watchers.front();
    c.watchers.pop_front();
    c.owner->wake(*s, nullptr, true);
  }
}

void group_add_held(group_core& c, const task_base& t) {
  const task_core* key = t.native_handle();
  c.members.push_back(group_member{t, 0, false});
  auto pos = std::prev(c.members.end());
  try {
    std::weak_ptr<group_core> weak = c.shared_from_this();
    // H9.1: a member leaves once finished, when its links run (gevent
    // rawlinks _discard_greenlet).
    pos->link = t.rawlink([weak](const task_base& f) {
      if (auto g = weak.lock()) discard_member(*g, f.native_handle(), false);
    });
  } catch (...) {
    c.members.erase(pos);
    throw;
  }
  c.index.emplace(key, pos);
  if (key->g.native_handle() != nullptr) c.greenlets.insert(key->g.native_handle());
  c.empty->flag = false;
}

bool group_contains(const group_core& c, const task_base& t) noexcept {
  return t && c.index.count(t.native_handle()) != 0;
}

bool group_current_is_member(const group_core& c) noexcept {
  return c.greenlets.count(greenlet::current().native_handle()) != 0;
}

void throw_bad_maxsize() {
  throw value_error(
      "green: imap maxsize must be at least 1 (0 could never hold a result); pass nothing for "
      "no bound. gevent: maxsize=0 would block forever");
}

// ---- imap ----

struct imap_item {
  task_base t;
  std::uint64_t link = 0;
  bool finished = false;
};

struct imap_core {
  imap_core(std::shared_ptr<group_core> g, bool ord, std::optional<std::size_t> max)
      : grp(std::move(g)), ordered(ord), maxsize(max) {}
  std::shared_ptr<group_core> grp;
  bool ordered;
  std::optional<std::size_t> maxsize;
  std::size_t spawned = 0;                 // items spawned so far (the next item's index)
  std::size_t next_index = 0;              // ordered: the index to yield next
  std::map<std::size_t, imap_item> items;  // spawned, not yet consumed
  std::deque<std::size_t> done_order;      // unordered: finished, in completion order
  bool input_done = false;
  bool abandoned = false;
  std::exception_ptr input_error;
  task_base producer;
  wait_slot* consumer = nullptr;
  wait_slot* budget_waiter = nullptr;
};

namespace {
void wake_ptr(hub_state& h, wait_slot*& s) {
  if (s != nullptr) h.wake(*std::exchange(s, nullptr), nullptr, true);
}

// One blocked greenlet per role (the consumer, the producer): the slot
// pointer is the waiter list.
void block_as(imap_core& c, wait_slot*& role, const char* what) {
  hub_state& h = *c.grp->owner;
  wait_slot s;
  s.what = what;
  s.object = &c;
  struct cleanup {
    wait_slot*& role;
    wait_slot& s;
    ~cleanup() {
      if (role == &s) role = nullptr;
    }
  } guard{role, s};
  h.block(s, [&] { role = &s; });
}
}  // namespace

std::shared_ptr<imap_core> make_imap_core(std::shared_ptr<group_core> g, bool ordered,
                                          std::optional<std::size_t> maxsize) {
  return std::make_shared<imap_core>(std::move(g), ordered, maxsize);
}

const std::shared_ptr<group_core>& imap_group(imap_core& c) noexcept { return c.grp; }
void imap_set_producer(imap_core& c, task_base p) { c.producer = std::move(p); }

bool imap_wait_budget(imap_core& c) {
  // H9.5: at most maxsize items spawned and not yet consumed.
  while (!c.abandoned && c.maxsize && c.items.size() >= *c.maxsize)
    block_as(c, c.budget_waiter, "imap buffer space");
  return !c.abandoned;
}

void imap_track(const std::shared_ptr<imap_core>& c, const task_base& t) {
  if (c->abandoned) {
    t.kill(nullptr, false);  // spawned after the consumer left: not wanted
    return;
  }
  const std::size_t idx = c->spawned++;
  imap_item& it = c->items[idx];
  it.t = t;
  std::weak_ptr<imap_core> weak = c;
  it.link = t.rawlink([weak, idx](const task_base&) {
    auto k = weak.lock();
    if (!k) return;
    auto f = k->items.find(idx);
    if (f == k->items.end()) return;
    f->second.finished = true;
    if (!k->ordered) k->done_order.push_back(idx);
    wake_ptr(*k->grp->owner, k->consumer);
  });
}

void imap_input_end(imap_core& c, std::exception_ptr error) noexcept {
  c.input_done = true;
  if (error && !c.input_error) c.input_error = std::move(error);
  wake_ptr(*c.grp->owner, c.consumer);
}

bool imap_next(imap_core& c, task_base& out) {
  check_owner(c.grp->owner, "this imap");
  for (;;) {
    std::optional<std::size_t> idx;
    if (c.ordered) {
      auto f = c.items.find(c.next_index);
      if (f != c.items.end() && f->second.finished) idx = c.next_index;
    } else if (!c.done_order.empty()) {
      idx = c.done_order.front();
      c.done_order.pop_front();
    }
    if (idx) {
      auto f = c.items.find(*idx);
      out = std::move(f->second.t);
      c.items.erase(f);
      if (c.ordered) ++c.next_index;
      wake_ptr(*c.grp->owner, c.budget_waiter);
      return true;
    }
    if (c.input_done && c.items.empty()) {
      // A failure of the input range itself comes after every result that
      // was spawned before it, then the range ends.
      if (c.input_error) std::rethrow_exception(std::exchange(c.input_error, nullptr));
      return false;
    }
    if (c.consumer != nullptr) {
      throw error(
          "green: another greenlet is already waiting on this imap; an imap has one consumer at "
          "a time (hand the results on to others, or give each its own imap)");
    }
    block_as(c, c.consumer, "imap result");
  }
}

void imap_abandon(imap_core& c) noexcept {
  // H9.6: kill without waiting what is still running; the tasks unwind at
  // their blocking points and leave the pool. A task finished but not
  // consumed just drops its value.
  c.abandoned = true;
  if (current_hub() != c.grp->owner) return;  // the hub is gone: so are the tasks
  if (c.producer) c.producer.kill(nullptr, false);
  for (auto& [i, item] : c.items) {
    item.t.unlink(item.link);
    if (!item.finished) item.t.kill(nullptr, false);
  }
  c.items.clear();
  c.done_order.clear();
}

}  // namespace detail

// ---- group ----

group::group(std::optional<std::size_t> size) : core_(detail::make_group_core(size)) {}
group::~group() = default;

void group::add(const task_base& t, bool block, std::optional<duration> timeout) {
  // Only `keep` after the wait: this group may be destroyed meanwhile.
  std::shared_ptr<detail::group_core> keep = core_;
  detail::group_check(*keep);
  if (!t) throw error("green: cannot add an empty task handle to a group or pool");
  detail::check_owner(t.native_handle()->owner, "this task");
  if (detail::group_contains(*keep, t)) return;
  if (!detail::group_acquire(*keep, block, timeout)) {
    throw pool_full("green: the pool is full: no slot became free " +
                    std::string(block ? "within the timeout" : "(non-blocking add)") +
                    "; wait_available() first, or use a bigger pool. gevent: PoolFull");
  }
  try {
    detail::group_add_held(*keep, t);
  } catch (...) {
    detail::group_release(*keep);
    throw;
  }
}

void group::discard(const task_base& t) {
  detail::group_check(*core_);
  if (!t) return;
  detail::discard_member(*core_, t.native_handle(), true);
}

bool group::contains(const task_base& t) const noexcept {
  return detail::group_contains(*core_, t);
}
std::size_t group::size() const noexcept { return core_->members.size(); }

std::vector<task_base> group::members() const {
  std::vector<task_base> out;
  out.reserve(core_->members.size());
  for (const auto& m : core_->members) out.push_back(m.t);
  return out;
}

bool group::join(std::optional<duration> timeout, bool raise_error) {
  detail::group_check(*core_);
  std::shared_ptr<detail::group_core> keep = core_;
  std::vector<task_base> snapshot;
  if (raise_error) snapshot = members();
  const bool emptied = detail::event_wait(*keep->empty, timeout, keep.get(), "group join");
  for (const auto& t : snapshot)
    if (auto e = t.exception()) std::rethrow_exception(e);
  return emptied;
}

void group::kill(std::exception_ptr ex, bool block, std::optional<duration> timeout) {
  detail::group_check(*core_);
  std::shared_ptr<detail::group_core> keep = core_;
  detail::hub_state& h = *keep->owner;
  const bool can_block = block && greenlet::current() != h.hub_g;
  std::optional<time_point> deadline;
  if (timeout) deadline = h.now() + *timeout;
  while (!keep->members.empty()) {
    // H9.2: members added while we wait are killed in the next round.
    for (const task_base& t : members()) {
      auto it = keep->index.find(t.native_handle());
      if (it == keep->index.end() || it->second->dying) continue;
      it->second->dying = true;
      t.kill(ex, false);
    }
    if (!can_block) return;
    std::optional<duration> left;
    if (deadline) left = std::max(duration::zero(), *deadline - h.now());
    if (!detail::event_wait(*keep->empty, left, keep.get(), "group kill")) return;
  }
}

void group::killone(const task_base& t, std::exception_ptr ex, bool block,
                    std::optional<duration> timeout) {
  detail::group_check(*core_);
  auto it = core_->index.find(t.native_handle());
  if (it == core_->index.end() || it->second->dying) return;
  it->second->dying = true;
  t.kill(ex, false);
  if (block && greenlet::current() != core_->owner->hub_g) t.join(timeout);
}

// ---- pool ----

namespace {
std::optional<std::size_t> checked_size(std::optional<std::ptrdiff_t> n) {
  if (!n) return std::nullopt;
  if (*n < 0) {
    throw value_error("green: a pool's size must not be negative (got " + std::to_string(*n) +
                      "); pass nothing for an unbounded pool. gevent: ValueError");
  }
  return static_cast<std::size_t>(*n);
}
}  // namespace

pool::pool(std::optional<std::ptrdiff_t> size) : group(checked_size(size)) {}

std::optional<std::size_t> pool::capacity() const noexcept { return core_->size; }

std::size_t pool::free_count() const noexcept {
  if (!core_->size) return std::numeric_limits<std::size_t>::max();
  return core_->permits;
}

std::size_t pool::wait_available(std::optional<duration> timeout) {
  detail::group_check(*core_);
  std::shared_ptr<detail::group_core> keep = core_;
  if (free_count() > 0) return free_count();
  if (*keep->size == 0 && !timeout) detail::throw_size_zero("wait_available()");
  if (timeout && *timeout <= duration::zero()) return 0;
  detail::wait_on(*keep, keep->watchers, timeout, "pool wait_available");
  return free_count();
}

}  // namespace green
