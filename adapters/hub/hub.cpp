// The hub's loop (docs/semantics.md H1, H2): a FIFO ready queue and a timer
// heap of its own, and the io_context only for real waits. Hand-offs
// (starts, sleep(0), wake-ups) never go through io_context::post: once an
// io_context owns a timer, every handler it runs costs an epoll_wait system
// call, and a zero-delay timer costs far more.

#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <typeinfo>
#include <utility>

#include "green/hub/asio.hpp"
#include "hub_state.hpp"

namespace green {

namespace detail {

namespace {

// The calling thread's hub. A plain pointer (no destructor to register); its
// owner is hub_owner below, which create() makes only after the thread's
// green state exists, so that at thread exit (thread_local destructors run
// in reverse order of construction) the hub goes first and can still kill
// its greenlets and release the thread's main greenlet (H1.7).
thread_local hub_state* tls_hub = nullptr;

struct hub_owner {
  std::unique_ptr<hub_state> hub;
  ~hub_owner() {
    // As before the pointer was split from its owner: current_hub() still
    // names the hub while it is destroyed at thread exit.
    hub.reset();
    tls_hub = nullptr;
  }
};
thread_local hub_owner tls_hub_owner;

std::string demangle(const char* name) {
  int status = 0;
  char* s = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && s != nullptr ? s : name;
  std::free(s);
  return out;
}

std::string location(const spawn_site& w) {
  return std::string(w.file) + ":" + std::to_string(w.line);
}

}  // namespace

hub_state* current_hub() noexcept { return tls_hub; }

hub_state& hub_for_use(const char*) { return get_hub().state(); }

void check_owner(const hub_state* owner, const char* what) {
  if (owner != nullptr && owner == tls_hub) return;
  throw error(std::string("green: ") + what +
              " belongs to the hub of another thread (or to a hub that was destroyed); use hub "
              "objects only on the thread that created them, and pass values between threads "
              "with async_result. gevent: objects are bound to one hub");
}

hub_state::hub_state(hub_options o, boost::asio::io_context* user_io) : opts(o), io(user_io) {
  if (io == nullptr) {
    own_io = std::make_unique<boost::asio::io_context>(1);
    io = own_io.get();
  }
  remote->io = io;
  hub_g = greenlet([this] { run_loop(); }, getmain());
  hub_g.set_name("hub");
}

hub_state::~hub_state() { shutdown(); }

void hub_state::shutdown() noexcept {
  if (destroying) return;
  destroying = true;
  {
    std::lock_guard<std::mutex> g(remote->mtx);
    remote->io = nullptr;
  }
  if (thread_state_alive()) {
    // Kill every unfinished task: the last handle to each greenlet goes, so
    // greenlet_exit unwinds it here, with the hub's state still intact for
    // the destructors that run.
    const greenlet& self = greenlet::current();
    for (int round = 0; round < 1000 && !live.empty(); ++round) {
      std::vector<std::shared_ptr<task_core>> tasks = live.snapshot();
      for (auto& t : tasks) {
        if (t->done) continue;
        if (!t->started || t->g.dead()) {
          t->done = true;
          t->result = task_core::outcome::exited;
          t->error = std::make_exception_ptr(greenlet_exit());
          live.remove(t.get());
          continue;
        }
        // Unwind it back to here (not to the hub) with greenlet_exit.
        try {
          t->g.set_parent(self);
          t->g.throw_();
        } catch (...) {
          report_unraisable(std::current_exception(), t->g, "killing a task with its hub");
        }
        live.remove(t.get());
      }
    }
    // Sockets drop their Asio objects while the io_context exists; their
    // descriptors stay open until they are closed or destroyed.
    for (io_object* o : io_objects) o->hub_gone();
    io_objects.clear();
    io_pending = 0;
    discard_ready();
    callbacks.clear();
    notifying_events.clear();
    idlers.clear();
    timers.clear();
    timer_heap.clear();
    if (hub_g.started() && !hub_g.dead()) {
      try {
        hub_g.set_parent(self);
        hub_g.throw_();
      } catch (...) {
        report_unraisable(std::current_exception(), hub_g, "stopping the hub");
      }
    }
  }
  discard_ready();
  live.clear();
  wake_timer.reset();
}

void hub_state::check_can_block(const char* what) const {
  if (std::this_thread::get_id() != thread) {
    throw error("green: blocking on another thread's hub; each thread has its own hub");
  }
  if (destroying) {
    throw error(std::string("green: ") + what +
                " while the hub is being destroyed (a greenlet caught greenlet_exit and waited "
                "again); let greenlet_exit propagate, or finish the work before destroy_hub()");
  }
  if (greenlet::current() == hub_g) {
    throw blocking_switch_out_error(
        std::string("green: ") + what +
        " would block the hub itself (called from a rawlink callback or a hub callback); the "
        "hub must never block. Use link() instead of rawlink() (it runs the callback in a new "
        "greenlet), or spawn a greenlet to do the waiting. gevent: BlockingSwitchOutError");
  }
}

bool hub_state::wake(wait_slot& s, std::exception_ptr ex, bool result) {
  if (s.woken) return false;
  s.woken = true;
  if (ex) s.ex = std::move(ex);  // a slot is woken once: s.ex is empty
  s.result = result;
  ready.push_back(ready_item{s.g, s.serial});
  return true;
}

bool hub_state::resume_now(wait_slot& s, bool result) {
  if (s.woken) return false;
  s.woken = true;
  s.result = result;
  greenlet::borrow_native(s.g).switch_();  // alive: it is blocked on `s`
  return true;
}

void hub_state::throw_to(greenlet_state* g, std::exception_ptr ex, const void* owner) {
  greenlet_record& rec = records[g];
  if (rec.slot != nullptr && !rec.slot->woken) {
    wake(*rec.slot, std::move(ex));
  } else {
    rec.pending.push_back(pending_throw{std::move(ex), owner});
  }
}

void hub_state::drop_pending(greenlet_state* g, const void* owner) noexcept {
  auto it = records.find(g);
  if (it == records.end()) return;
  auto& p = it->second.pending;
  p.erase(
      std::remove_if(p.begin(), p.end(), [&](const pending_throw& t) { return t.owner == owner; }),
      p.end());
  if (p.empty() && it->second.slot == nullptr) erase_record(g);
}

std::uint64_t hub_state::add_timer(time_point deadline, std::function<void()> fn) {
  const std::uint64_t id = next_timer++;
  timers.emplace(id, std::move(fn));
  timer_heap.push_back(timer_entry{deadline, id});
  std::push_heap(timer_heap.begin(), timer_heap.end(), std::greater<>());
  return id;
}

void hub_state::cancel_timer(std::uint64_t id) noexcept { timers.erase(id); }

void hub_state::run_loop() {
  for (;;) {
    run_ready_batch();
    fire_due_timers();
    if (!ready.empty()) continue;
    if (!idlers.empty()) {
      // idle() waiters run once nothing else is runnable (H1.4).
      while (!idlers.empty()) ready.push_back(idlers.pop_front());
      continue;
    }
    wait_for_work();
  }
}

void hub_state::run_callback_guarded(std::function<void()>& fn) {
  try {
    fn();
  } catch (const greenlet_exit&) {
    throw;  // the hub itself is being killed
  } catch (...) {
    // A hub callback that throws is reported and the loop goes on (H1.6).
    report_failure(nullptr, std::current_exception());
  }
}

void hub_state::resume_guarded(greenlet_state* g) {
  try {
    // Borrowed: a greenlet blocked in the hub lives (its wait holds its stack).
    greenlet::borrow_native(g).switch_();
  } catch (const greenlet_exit&) {
    throw;
  } catch (...) {
    report_failure(nullptr, std::current_exception());
  }
}

bool hub_state::keeps_record(greenlet_state* g) const {
  if (g == getmain().native_handle()) return true;
  std::optional<greenlet> p = greenlet::from_native(g).parent();
  return p && *p == hub_g;
}

bool hub_state::resumable(const ready_item& item) const {
  const greenlet_record* r = find_record(item.g);
  return r != nullptr && r->slot != nullptr &&
         r->slot->serial == item.serial;  // else that wait ended another way
}

void hub_state::suspend(greenlet_state* self) {
  if (parked_in_batch && batch_left == 0 && timers.empty() && !polls()) {
    // The hub's turn between two batches would find no timer to fire and
    // nothing to poll: begin its next batch here, as it would.
    batch_left = ready.size();
  }
  while (parked_in_batch && batch_left > 0 && !ready.empty() && ready.front().g != nullptr) {
    const ready_item item = ready.pop_front();
    --batch_left;
    if (!resumable(item)) continue;
    if (item.g == self) return;                 // its own wake-up is next: nothing to switch
    greenlet::borrow_native(item.g).switch_();  // alive: it is blocked here
    return;
  }
  hub_g.switch_();
}

void hub_state::run_ready_batch() {
  // Only what was queued when the batch began: what it queues runs in the
  // next turn, after the timers (sleep(0) cannot starve them). A greenlet
  // that blocks may take the next item itself (suspend()), in this order.
  batch_left = ready.size();
  while (batch_left > 0 && !ready.empty()) {
    --batch_left;
    const ready_item item = ready.pop_front();
    if (item.task != nullptr) {
      run_task_item(item);
      continue;
    }
    if (item.g == nullptr) {
      std::function<void()> fn = std::move(callbacks.front());
      callbacks.pop_front();
      run_callback_guarded(fn);
      continue;
    }
    if (!resumable(item)) continue;
    parked_in_batch = true;
    resume_guarded(item.g);
    parked_in_batch = false;
  }
  batch_left = 0;
  // Another thread may have posted a wake-up, a socket may be ready (H13.7):
  // take what is there without waiting. Once per batch, never per hand-off.
  if (io_pending > 0 ||
      (!opts.virtual_clock && external_waits.load(std::memory_order_relaxed) > 0)) {
    if (io->stopped()) io->restart();
    io->poll();
  }
}

void hub_state::discard_ready() noexcept {
  // A task item holds its core: drop those references with the items.
  while (!ready.empty()) {
    const ready_item item = ready.pop_front();
    if (item.task != nullptr && --item.task->queued == 0) item.task->queued_keep.reset();
  }
}

void hub_state::run_task_item(const ready_item& item) {
  std::shared_ptr<task_core> t = item.task->queued_keep;
  if (--t->queued == 0) t->queued_keep.reset();
  if (item.serial == ready_item::notify_item) {
    notify_links(*t);
    return;
  }
  if (t->done || t->started) return;
  // As for a resume: the hub waits in its batch while the task runs, so the
  // task's first block may switch to the next item itself.
  parked_in_batch = true;
  try {
    start_now(t);
  } catch (const greenlet_exit&) {
    parked_in_batch = false;
    throw;
  } catch (...) {
    report_failure(nullptr, std::current_exception());
  }
  parked_in_batch = false;
}

void hub_state::fire_due_timers() {
  if (timers.empty()) {
    timer_heap.clear();
    return;
  }
  const time_point t = now();
  while (!timer_heap.empty() && timer_heap.front().deadline <= t) {
    const std::uint64_t id = timer_heap.front().id;
    std::pop_heap(timer_heap.begin(), timer_heap.end(), std::greater<>());
    timer_heap.pop_back();
    auto it = timers.find(id);
    if (it == timers.end()) continue;  // cancelled
    std::function<void()> fn = std::move(it->second);
    timers.erase(it);
    run_callback_guarded(fn);
  }
}

void hub_state::wait_for_work() {
  // Drop cancelled timers at the top so the next deadline is a live one.
  while (!timer_heap.empty() && timers.count(timer_heap.front().id) == 0) {
    std::pop_heap(timer_heap.begin(), timer_heap.end(), std::greater<>());
    timer_heap.pop_back();
  }
  const bool externals = polls();
  if (io->stopped()) io->restart();
  if (!timer_heap.empty()) {
    const time_point deadline = timer_heap.front().deadline;
    if (opts.virtual_clock) {
      if (io_pending > 0 && ready.empty() && deadline > virtual_now) {
        // H13.8: socket I/O is real. Before the clock jumps, wait for it a
        // little in real time (what is already in the kernel, a peer thread
        // or process), at most as long as the jump would skip.
        constexpr duration grace = std::chrono::milliseconds(10);
        if (io->run_one_for(std::min<duration>(deadline - virtual_now, grace)) > 0) {
          if (io->stopped()) io->restart();
          io->poll();
          return;
        }
        if (io->stopped()) io->restart();
      } else if (externals) {
        io->poll();
      }
      if (ready.empty() && deadline > virtual_now) virtual_now = deadline;  // H1.8
      return;
    }
    if (deadline <= now()) return;
    if (!wake_timer) wake_timer.emplace(*io);
    bool fired = false;
    wake_timer->expires_at(deadline);
    wake_timer->async_wait([&fired](const boost::system::error_code&) { fired = true; });
    io->run_one();
    if (!fired) {
      wake_timer->cancel();
      // The aborted handler must run before `fired` goes out of scope.
      while (!fired && io->run_one() > 0) {
      }
    }
    if (io->stopped()) io->restart();
    io->poll();
    return;
  }
  if (externals) {
    auto guard = boost::asio::make_work_guard(*io);
    io->run_one();
    if (io->stopped()) io->restart();
    io->poll();
    return;
  }
  // No timer, no waiter another thread could wake: only the application's
  // own I/O (an io_context it passed in) can still deliver something.
  if (io->run_one() > 0) {
    if (io->stopped()) io->restart();
    io->poll();
    return;
  }
  if (io->stopped()) io->restart();
  deliver_loop_exit();
}

std::string hub_state::describe_wait(const wait_slot& s) const {
  std::ostringstream o;
  o << s.what;
  if (s.joined != nullptr) {
    o << " task #" << s.joined->id << " '" << s.joined->g.name() << "'";
  } else if (s.object != nullptr) {
    o << " " << s.object;
  }
  return o.str();
}

void hub_state::deliver_loop_exit() {
  // Nothing can ever wake anyone (H2.1): tell main, with who waits on what.
  std::vector<waiting_greenlet> waiting;
  const greenlet& main = getmain();
  auto slot_of = [&](greenlet_state* g) -> const wait_slot* {
    auto it = records.find(g);
    return it == records.end() ? nullptr : it->second.slot;
  };
  if (const wait_slot* s = slot_of(main.native_handle())) {
    waiting.push_back(waiting_greenlet{main.id(), "main", true, describe_wait(*s), ""});
  }
  std::vector<task_core*> tasks;
  live.for_each([&](task_core* t) { tasks.push_back(t); });
  std::sort(tasks.begin(), tasks.end(),
            [](const task_core* a, const task_core* b) { return a->id < b->id; });
  for (task_core* t : tasks) {
    const wait_slot* s = t->g.native_handle() ? slot_of(t->g.native_handle()) : nullptr;
    waiting.push_back(
        waiting_greenlet{t->g.id(), t->g.name(), false,
                         s ? describe_wait(*s) : std::string("nothing (suspended outside the hub)"),
                         location(t->where)});
  }
  std::ostringstream r;
  for (const auto& w : waiting) {
    r << "  " << (w.is_main ? std::string("main greenlet") : "task '" + w.name + "'")
      << " waits on " << w.waits_on;
    if (!w.spawned_at.empty()) r << " (spawned at " << w.spawned_at << ")";
    r << "\n";
  }
  std::exception_ptr ex = std::make_exception_ptr(loop_exit(r.str(), std::move(waiting)));
  greenlet_record& rec = records[main.native_handle()];
  if (rec.slot != nullptr && !rec.slot->woken) {
    wake(*rec.slot, ex);
    return;
  }
  if (rec.slot == nullptr && rec.pending.empty()) erase_record(main.native_handle());
  // Main is suspended outside the hub (in a switch of its own): raise there.
  main.throw_(ex);
}

void hub_state::report_failure(const task_core* t, std::exception_ptr ex) noexcept {
  try {
    failure_report r;
    if (t != nullptr) {
      r.greenlet_id = t->g.id();
      r.greenlet_name = t->g.name();
      r.spawned_at = location(t->where);
    } else {
      r.greenlet_name = "hub";
    }
    r.exception = ex;
    try {
      std::rethrow_exception(ex);
    } catch (const std::exception& e) {
      r.type = demangle(typeid(e).name());
      r.what = e.what();
    } catch (...) {
      const std::type_info* ti = abi::__cxa_current_exception_type();
      r.type = ti != nullptr ? demangle(ti->name()) : "unknown";
    }
    if (on_error) {
      on_error(r);
    } else {
      std::fprintf(stderr, "green: %s '%s'%s%s failed with %s%s%s\n",
                   t != nullptr ? "task" : "hub callback in", r.greenlet_name.c_str(),
                   r.spawned_at.empty() ? "" : " spawned at ", r.spawned_at.c_str(), r.type.c_str(),
                   r.what.empty() ? "" : ": ", r.what.c_str());
    }
  } catch (...) {
    std::fprintf(stderr, "green: the hub's error handler threw; the failure is dropped\n");
  }
}

}  // namespace detail

loop_exit::loop_exit(const std::string& report, std::vector<waiting_greenlet> waiting)
    : error(
          "green: this operation would block forever: every greenlet is waiting and nothing "
          "can wake any of them (no runnable greenlet, no timer, no I/O). Waiting:\n" +
          report),
      report_(std::make_shared<const std::string>(report)),
      waiting_(std::make_shared<const std::vector<waiting_greenlet>>(std::move(waiting))) {}

time_point hub::now() const noexcept { return state_->now(); }
bool hub::virtual_clock() const noexcept { return state_->opts.virtual_clock; }
std::size_t hub::live_tasks() const noexcept { return state_->live.size(); }
bool hub::idle_now() const noexcept {
  return state_->ready.empty() && state_->idlers.empty() && state_->timers.empty() &&
         state_->io_pending == 0;
}
const greenlet& hub::hub_greenlet() const noexcept { return state_->hub_g; }
error_handler hub::set_error_handler(error_handler h) {
  return std::exchange(state_->on_error, std::move(h));
}
void hub::run_callback(std::function<void()> fn) {
  detail::check_owner(state_, "this hub");
  state_->schedule(std::move(fn));
}

namespace {
hub& create(hub_options o, boost::asio::io_context* io) {
  if (detail::tls_hub) {
    throw error(
        "green: make_hub(): this thread already has a hub; call it before the first "
        "get_hub(), spawn() or sleep() of the thread, or destroy_hub() first");
  }
  if (!thread_state_alive()) {
    throw error(
        "green: the hub is used after this thread's green state was destroyed (thread "
        "exit); finish hub work before the thread ends");
  }
  static_cast<void>(greenlet::current());  // the thread's green state first (H1.7)
  auto h = std::make_unique<detail::hub_state>(o, io);
  detail::tls_hub = h.get();
  detail::tls_hub_owner.hub = std::move(h);
  return detail::tls_hub->facade;
}
}  // namespace

hub& get_hub() {
  if (detail::tls_hub) return detail::tls_hub->facade;
  return create(hub_options{}, nullptr);
}
hub& make_hub(hub_options options) { return create(options, nullptr); }
hub& make_hub(boost::asio::io_context& io, hub_options options) { return create(options, &io); }
boost::asio::io_context& io_context(hub& h) noexcept { return *h.state().io; }
bool has_hub() noexcept { return detail::tls_hub != nullptr; }

void destroy_hub() {
  if (!detail::tls_hub) return;
  const greenlet& cur = getcurrent();
  if (cur == detail::tls_hub->hub_g) {
    throw error(
        "green: destroy_hub() must be called outside the hub and outside spawned "
        "greenlets (from the main greenlet, once the work is done)");
  }
  bool from_task = false;
  detail::tls_hub->live.for_each([&](detail::task_core* t) { from_task |= t->g == cur; });
  if (from_task) {
    throw error("green: destroy_hub() called from a spawned greenlet; call it from main");
  }
  // Shut down while still installed: code that unwinds in the killed tasks
  // sees this hub (and gets an error if it tries to block), not a new one.
  detail::tls_hub->shutdown();
  // current_hub() is null while the hub is destroyed here, as reset() does.
  std::unique_ptr<detail::hub_state> gone = std::move(detail::tls_hub_owner.hub);
  detail::tls_hub = nullptr;
  gone.reset();
}

void sleep(duration d) {
  detail::hub_state& h = get_hub().state();
  detail::wait_slot s;
  if (d <= duration::zero()) {
    // Round robin (H1.2): requeue behind everything runnable now.
    s.what = "sleep(0)";
    h.block(s, [&] { h.wake_ready(s); });
    return;
  }
  s.what = "sleep";
  s.deadline = h.now() + d;
  std::uint64_t timer = 0;
  struct cancel {
    detail::hub_state& h;
    std::uint64_t& id;
    ~cancel() { h.cancel_timer(id); }
  } guard{h, timer};
  h.block(s, [&] { timer = h.add_timer(s.deadline, [&h, &s] { h.wake_ready(s); }); });
}

void idle() {
  detail::hub_state& h = get_hub().state();
  detail::wait_slot s;
  s.what = "idle";
  h.block(s, [&] {
    s.woken = true;
    h.idlers.push_back(detail::ready_item{s.g, s.serial});
  });
}

}  // namespace green
