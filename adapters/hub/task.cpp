// Spawned greenlets (docs/semantics.md H3): start, finish, links, join, get,
// kill, joinall, killall.

#include <algorithm>
#include <utility>

#include "hub_state.hpp"

namespace green {

namespace detail {

// local.cpp: a dead task's greenlet-local values are released (H10.2).
void release_greenlet_locals(std::uint64_t gid) noexcept;

task_core::task_core(spawn_site w) noexcept : where(w) {}
task_core::~task_core() = default;

namespace {

// set_task_name() names a task's greenlet "<prefix><id>", formatted without a stream or to_string:
// it is part of every spawn.
void set_task_name(greenlet& g, std::string_view prefix, std::uint64_t id) {
  char buf[48];
  std::size_t n = prefix.copy(buf, 24);
  char digits[20];
  std::size_t k = 0;
  do {
    digits[k++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id != 0);
  while (k > 0) buf[n++] = digits[--k];
  g.set_name(std::string_view(buf, n));
}

}  // namespace

void start_task(const std::shared_ptr<task_core>& core, std::optional<duration> delay) {
  hub_state& h = get_hub().state();
  core->owner = &h;
  core->id = h.next_task_id++;
  task_core* raw = core.get();
  core->g = greenlet([&h, raw] { h.task_body(*raw); }, h.hub_g);
  set_task_name(core->g, "task-", core->id);
  h.live.add(core);
  if (delay && *delay > duration::zero()) {
    std::weak_ptr<task_core> weak = core;
    core->start_timer = h.add_timer(h.now() + *delay, [&h, weak] {
      if (auto t = weak.lock()) h.queue_task_item(t, ready_item::start_item);
    });
  } else {
    h.queue_task_item(core, ready_item::start_item);  // H3.1: FIFO, once the spawner yields
  }
}

}  // namespace detail

namespace detail {

void hub_state::start_now(const std::shared_ptr<task_core>& t) {
  greenlet g = t->g;
  g.switch_();
}

void hub_state::task_body(task_core& t) {
  t.started = true;
  try {
    t.invoke();
    t.result = task_core::outcome::value;
  } catch (const greenlet_exit&) {
    // A kill with greenlet_exit is a successful end (H3.7).
    t.result = task_core::outcome::exited;
    t.error = std::current_exception();
  } catch (...) {
    t.result = task_core::outcome::failed;
    t.error = std::current_exception();
    report_failure(&t, t.error);  // H3.9: reported, not propagated
  }
  release_greenlet_locals(t.g.id());
  finish_task(t);
}

void hub_state::finish_task(task_core& t) {
  t.done = true;
  if (t.start_timer != 0) cancel_timer(t.start_timer);
  std::shared_ptr<task_core> keep = live.remove(&t);
  if (!keep) keep = t.shared_from_this();
  if (t.g.native_handle() != nullptr) {
    auto r = records.find(t.g.native_handle());
    if (r != records.end() && r->second.slot == nullptr) erase_record(t.g.native_handle());
  }
  if (destroying || t.notify_scheduled) return;
  // With no link, nothing to notify (gevent schedules _notify_links only
  // when there are links; one added later schedules it itself), unless
  // `keep` is the last reference: the core (and the handle of the greenlet
  // this runs on) must then be released from the hub, once it has ended.
  if (t.links.empty() && keep.use_count() > 1) return;
  t.notify_scheduled = true;
  // Links fire from the hub after the greenlet is gone (gevent schedules
  // _notify_links); the queued item holds the task until then.
  queue_task_item(keep, ready_item::notify_item);
}

void hub_state::notify_links(task_core& t) {
  task_base self(t.shared_from_this());
  // H3.8: in registration order; links added meanwhile fire in this pass.
  while (!t.links.empty()) {
    task_link l = std::move(t.links.front());
    t.links.erase(t.links.begin());
    const bool ok = t.result != task_core::outcome::failed;
    switch (l.kind) {
      case link_kind::value:
        if (!ok) continue;
        break;
      case link_kind::exception:
        if (ok) continue;
        break;
      default:
        break;
    }
    if (l.kind == link_kind::raw || l.kind == link_kind::waiter) {
      std::function<void()> call = [&] { l.fn(self); };
      run_callback_guarded(call);
    } else {
      // link(): the callback runs in a new greenlet, started at once; it runs
      // until it blocks.
      auto fn = std::move(l.fn);
      auto core = make_task<void>(t.where, [fn, self] { fn(self); });
      core->owner = this;
      core->id = next_task_id++;
      task_core* raw = core.get();
      core->g = greenlet([this, raw] { task_body(*raw); }, hub_g);
      set_task_name(core->g, "link-of-task-", t.id);
      live.add(core);
      std::function<void()> run = [&] { start_now(core); };
      run_callback_guarded(run);
    }
  }
  t.notify_scheduled = false;
}

void wait_for_get(task_core& core, bool block, std::optional<duration> timeout) {
  task_base t(core.shared_from_this());
  if (!core.done) {
    if (!block || !t.join(timeout)) throw_detached_timeout();
  }
  if (core.result == task_core::outcome::failed) std::rethrow_exception(core.error);
}

void throw_exited_no_value(const task_core& core) {
  throw error("green: task '" + core.g.name() +
              "' was killed with greenlet_exit and has no value; check exited() (or "
              "successful() and value()) before get(). gevent returns the GreenletExit instance");
}

void throw_not_callable() {
  throw error("green: spawn() needs a callable, got an empty function; gevent: TypeError");
}

void throw_empty_task() {
  throw error(
      "green: this is an empty task handle (default-constructed or moved from); assign it "
      "what spawn() returns before using it");
}

}  // namespace detail

// H3.11: the queries of an empty handle answer "no"; everything else throws.
const std::shared_ptr<detail::task_core>& task_base::checked() const {
  if (!core_) detail::throw_empty_task();
  return core_;
}

bool task_base::ready() const noexcept { return core_ && core_->done; }
bool task_base::started() const noexcept { return core_ && core_->started; }
bool task_base::successful() const noexcept {
  return core_ && core_->done && core_->result != detail::task_core::outcome::failed;
}
bool task_base::exited() const noexcept {
  return core_ && core_->result == detail::task_core::outcome::exited;
}
std::exception_ptr task_base::exception() const noexcept {
  return core_ && core_->result == detail::task_core::outcome::failed ? core_->error : nullptr;
}
std::string task_base::name() const { return checked()->g.name(); }
void task_base::set_name(std::string_view n) const { checked()->g.set_name(n); }

std::uint64_t task_base::add_link(detail::link_kind kind, callback cb) const {
  checked();
  detail::check_owner(core_->owner, "this task");
  const std::uint64_t id = core_->next_link++;
  core_->links.push_back(detail::task_link{id, kind, std::move(cb)});
  if (core_->done && !core_->notify_scheduled) {
    // Links added after the end fire too (gevent), through the hub.
    core_->notify_scheduled = true;
    core_->owner->queue_task_item(core_, detail::ready_item::notify_item);
  }
  return id;
}
std::uint64_t task_base::link(callback cb) const {
  return add_link(detail::link_kind::any, std::move(cb));
}
std::uint64_t task_base::link_value(callback cb) const {
  return add_link(detail::link_kind::value, std::move(cb));
}
std::uint64_t task_base::link_exception(callback cb) const {
  return add_link(detail::link_kind::exception, std::move(cb));
}
std::uint64_t task_base::rawlink(callback cb) const {
  return add_link(detail::link_kind::raw, std::move(cb));
}
bool task_base::unlink(std::uint64_t id) const noexcept {
  // An empty handle, or another thread's task (whose links only its hub may
  // touch), has no link to remove.
  if (!core_ || detail::current_hub() != core_->owner) return false;
  auto& l = core_->links;
  auto it =
      std::find_if(l.begin(), l.end(), [id](const detail::task_link& x) { return x.id == id; });
  if (it == l.end()) return false;
  l.erase(it);
  return true;
}

bool task_base::join(std::optional<duration> timeout) const {
  // H3.11: `self` keeps the task, and is what the cleanup uses, also if this
  // handle is destroyed while the caller waits.
  const task_base self(checked());
  detail::task_core& core = *self.core_;
  detail::check_owner(core.owner, "this task");
  if (core.done) return true;
  detail::hub_state& h = *core.owner;
  if (greenlet::current() == core.g) {
    throw error(
        "green: a task cannot join itself (it would wait forever); gevent: the join "
        "would block forever");
  }
  detail::wait_slot s;
  s.what = "join of";
  s.joined = &core;
  std::uint64_t link = 0, timer = 0;
  struct cleanup {
    const task_base& t;
    detail::hub_state& h;
    std::uint64_t& link;
    std::uint64_t& timer;
    ~cleanup() {
      if (link != 0) t.unlink(link);
      if (timer != 0) h.cancel_timer(timer);
    }
  } guard{self, h, link, timer};
  h.block(s, [&] {
    // H3.8: the waiter is a link, so it wakes in registration order.
    link =
        self.add_link(detail::link_kind::waiter, [&h, &s](const task_base&) { h.resume_now(s); });
    if (timeout) timer = h.add_timer(h.now() + *timeout, [&h, &s] { h.wake(s, nullptr, false); });
  });
  return core.done;
}

void task_base::kill(std::exception_ptr ex, bool block, std::optional<duration> timeout) const {
  const std::shared_ptr<detail::task_core> keep = checked();  // H3.11, as in join()
  detail::task_core& c = *keep;
  // H1.9: a misuse, reported before anything of the task is read.
  detail::check_owner(c.owner, "this task");
  if (c.done) return;
  detail::hub_state& h = *c.owner;
  if (!ex) ex = std::make_exception_ptr(greenlet_exit());
  if (!c.started) {
    // H3.6: never runs; finished at once, links still fire.
    bool is_exit = false;
    try {
      std::rethrow_exception(ex);
    } catch (const greenlet_exit&) {
      is_exit = true;
    } catch (...) {
    }
    c.result = is_exit ? detail::task_core::outcome::exited : detail::task_core::outcome::failed;
    c.error = ex;
    h.finish_task(c);
    return;
  }
  // H3.5: delivered through the hub at its blocking point.
  detail::greenlet_state* target = c.g.native_handle();
  std::weak_ptr<detail::task_core> weak = keep;
  h.schedule([&h, weak, target, ex] {
    auto t = weak.lock();
    if (t && !t->done) h.throw_to(target, ex, nullptr);
  });
  if (!block || greenlet::current() == h.hub_g || greenlet::current() == c.g) return;
  // Nothing the target does reaches the caller (join never throws on its
  // account); what is aimed at the caller while it waits (a kill, a timeout)
  // propagates, as out of gevent's kill, so that it is never lost.
  task_base(keep).join(timeout);
}

std::vector<task_base> joinall(const std::vector<task_base>& tasks, std::optional<duration> timeout,
                               bool raise_error) {
  std::vector<task_base> done;
  for (const auto& t : tasks)
    if (t.ready()) done.push_back(t);
  std::size_t remaining = tasks.size() - done.size();
  if (remaining > 0) {
    detail::hub_state& h = get_hub().state();
    detail::wait_slot s;
    s.what = "joinall";
    std::vector<std::pair<task_base, std::uint64_t>> links;
    std::uint64_t timer = 0;
    struct cleanup {
      detail::hub_state& h;
      std::vector<std::pair<task_base, std::uint64_t>>& links;
      std::uint64_t& timer;
      ~cleanup() {
        for (auto& [t, id] : links) t.unlink(id);
        if (timer != 0) h.cancel_timer(timer);
      }
    } guard{h, links, timer};
    h.block(s, [&] {
      for (const auto& t : tasks) {
        if (t.ready()) continue;
        links.emplace_back(t, t.rawlink([&](const task_base& f) {
          done.push_back(f);
          if (--remaining == 0) h.wake(s);
        }));
      }
      if (timeout) timer = h.add_timer(h.now() + *timeout, [&h, &s] { h.wake(s, nullptr, false); });
    });
  }
  if (raise_error) {
    for (const auto& t : done)
      if (auto e = t.exception()) std::rethrow_exception(e);
  }
  return done;
}

void killall(const std::vector<task_base>& tasks, std::exception_ptr ex, bool block,
             std::optional<duration> timeout) {
  for (const auto& t : tasks) t.kill(ex, false);
  if (!block) return;
  auto done = joinall(tasks, timeout);
  if (done.size() != tasks.size()) detail::throw_detached_timeout();
}

}  // namespace green
