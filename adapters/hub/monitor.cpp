// The monitor thread and run_info() (docs/semantics.md H12).

#include "green/hub/monitor.hpp"

#include <cxxabi.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "hub_state.hpp"

namespace green {

namespace detail {

namespace {

// ---- the backtrace of another thread ----
//
// The monitor asks the hub's thread for its backtrace by sending it SIGURG
// (ignored by default, so a stray one is harmless) and waits for the handler
// to fill a preallocated buffer. The handler only calls backtrace(), which is
// not formally async-signal-safe, but glibc's is in practice once libgcc's
// unwinder is loaded (start_monitor() calls it once first, so the handler
// never allocates); it takes the loader's lock to find the unwind tables, so
// it could deadlock only if the signal interrupted dlopen() itself, and then
// the monitor gives up waiting and reports without a backtrace. Symbols are
// looked up on the monitor thread. One capture at a time, process-wide,
// because the handler is.

constexpr int capture_signal = SIGURG;
constexpr int max_frames = 64;
enum : int { capture_idle, capture_requested, capture_running, capture_done };

std::mutex capture_mutex;
std::atomic<int> capture_state{capture_idle};
pthread_t capture_target;  // written before capture_requested is published
void* capture_frames[max_frames];
int capture_count = 0;
struct sigaction previous_action;
std::once_flag install_once;

void on_signal(int sig, siginfo_t* info, void* uc) {
  if (capture_state.load(std::memory_order_acquire) == capture_requested &&
      pthread_equal(pthread_self(), capture_target)) {
    int expected = capture_requested;
    if (capture_state.compare_exchange_strong(expected, capture_running,
                                              std::memory_order_acq_rel)) {
      const int saved = errno;
      capture_count = ::backtrace(capture_frames, max_frames);
      errno = saved;
      capture_state.store(capture_done, std::memory_order_release);
      return;
    }
  }
  // Not ours: whoever handled SIGURG before us gets it.
  if ((previous_action.sa_flags & SA_SIGINFO) != 0) {
    if (previous_action.sa_sigaction != nullptr) previous_action.sa_sigaction(sig, info, uc);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN &&
             previous_action.sa_handler != nullptr) {
    previous_action.sa_handler(sig);
  }
}

void install_handler() {
  std::call_once(install_once, [] {
    void* warm[2];
    ::backtrace(warm, 2);  // loads the unwinder outside the handler
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(capture_signal, &sa, &previous_action);
  });
}

std::string demangle_frame(const char* line) {
  // "binary(mangled+0x12) [0x...]": demangle the part between '(' and '+'.
  std::string s = line;
  const auto open = s.find('(');
  const auto plus = s.find('+', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || plus == std::string::npos || plus == open + 1) return s;
  const std::string mangled = s.substr(open + 1, plus - open - 1);
  int status = 0;
  char* d = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status == 0 && d != nullptr) s = s.substr(0, open + 1) + d + s.substr(plus);
  std::free(d);
  return s;
}

std::vector<std::string> capture_backtrace(pthread_t target, std::chrono::milliseconds patience) {
  std::lock_guard<std::mutex> g(capture_mutex);
  capture_target = target;
  capture_state.store(capture_requested, std::memory_order_release);
  if (pthread_kill(target, capture_signal) != 0) {
    capture_state.store(capture_idle, std::memory_order_relaxed);
    return {};
  }
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const int s = capture_state.load(std::memory_order_acquire);
    if (s == capture_done) break;
    if (std::chrono::steady_clock::now() - start > patience) {
      int expected = capture_requested;
      if (capture_state.compare_exchange_strong(expected, capture_idle,
                                                std::memory_order_acq_rel)) {
        return {};  // not taken (a sanitizer may defer signals): none
      }
      // The handler is running: it is short, wait for it.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::vector<std::string> out;
  // Frame 0 is the handler and frame 1 the kernel's signal return
  // trampoline: the interrupted code starts at frame 2.
  const int skip = capture_count > 2 ? 2 : 0;
  if (char** names = ::backtrace_symbols(capture_frames + skip, capture_count - skip)) {
    for (int i = 0; i < capture_count - skip; ++i) out.push_back(demangle_frame(names[i]));
    std::free(names);
  }
  capture_state.store(capture_idle, std::memory_order_release);
  return out;
}

// ---- the monitor ----

struct monitor_core {
  // Written by the trace function on the hub's thread at every switch, read
  // by the monitor thread.
  std::mutex m;
  std::uint64_t switches = 0;
  std::uint64_t current_id = 0;
  char current_name[32] = {};
  bool current_is_main = false;
  bool in_hub = false;
  std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();

  std::uint64_t hub_id = 0;
  pthread_t target = pthread_self();
  duration threshold{};
  blocking_handler handler;

  std::mutex stop_m;
  std::condition_variable stop_cv;
  bool stop = false;
  std::thread thread;
  bool trace_installed = false;

  void on_switch(const greenlet& target_g) {
    std::string name = target_g.is_main() ? std::string("main") : target_g.name();
    std::lock_guard<std::mutex> g(m);
    ++switches;
    current_id = target_g.id();
    current_is_main = target_g.is_main();
    in_hub = current_id == hub_id;
    const std::size_t n = std::min(name.size(), sizeof current_name - 1);
    std::memcpy(current_name, name.data(), n);
    current_name[n] = '\0';
    since = std::chrono::steady_clock::now();
  }

  void run() {
    const auto period = std::max<duration>(threshold / 2, std::chrono::milliseconds(1));
    std::uint64_t reported_for = ~std::uint64_t{0};
    std::unique_lock<std::mutex> lk(stop_m);
    while (!stop) {
      stop_cv.wait_for(lk, period);
      if (stop) break;
      blocking_report r;
      std::uint64_t episode = 0;
      {
        std::lock_guard<std::mutex> g(m);
        const auto held = std::chrono::steady_clock::now() - since;
        // H12.1: the hub's own greenlet waiting for work is not blocking;
        // one report per episode (the switch count names it).
        if (in_hub || held < threshold || reported_for == switches) continue;
        episode = switches;
        r.greenlet_id = current_id;
        r.greenlet_name = current_name;
        r.is_main = current_is_main;
        r.blocked_for = std::chrono::duration_cast<duration>(held);
        r.threshold = threshold;
      }
      reported_for = episode;
      lk.unlock();
      r.backtrace = capture_backtrace(
          target, std::max(std::chrono::milliseconds(200),
                           std::chrono::duration_cast<std::chrono::milliseconds>(threshold)));
      try {
        if (handler) {
          handler(r);
        } else {
          std::fputs(r.text().c_str(), stderr);
        }
      } catch (...) {
        std::fputs("green: the monitor's report handler threw; the report is dropped\n", stderr);
      }
      lk.lock();
    }
  }

  void halt() noexcept {
    {
      std::lock_guard<std::mutex> g(stop_m);
      stop = true;
    }
    stop_cv.notify_all();
    if (thread.joinable()) thread.join();
  }

  ~monitor_core();
};

// The trace function: records each switch for the monitor, then calls the
// trace function that was installed before. It holds the monitor weakly: one
// left installed by a later settrace() that chained to it does nothing more.
struct monitor_trace {
  std::weak_ptr<monitor_core> core;
  const monitor_core* owner;
  trace_function previous;
  void operator()(trace_event ev, const greenlet& origin, const greenlet& target) const {
    if (auto c = core.lock()) c->on_switch(target);
    if (previous) previous(ev, origin, target);
  }
};

monitor_core::~monitor_core() {
  halt();
  // H12.3: the trace function goes with the monitor (also when the hub is
  // destroyed), unless another one was installed over it.
  if (trace_installed && thread_state_alive() && pthread_equal(pthread_self(), target)) {
    try {
      trace_function cur = gettrace();
      if (const auto* t = cur.target<monitor_trace>(); t != nullptr && t->owner == this) {
        settrace(t->previous);
      }
    } catch (...) {
      // Tracing stays as it is; the installed function does nothing more.
    }
  }
}

void remove_monitor(hub_state& h) { h.monitor.reset(); }

}  // namespace

}  // namespace detail

std::string blocking_report::text() const {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  std::ostringstream o;
  o << "green: the hub was blocked for " << duration_cast<milliseconds>(blocked_for).count()
    << " ms (max_blocking_time " << duration_cast<milliseconds>(threshold).count()
    << " ms) by greenlet #" << greenlet_id << " '" << greenlet_name
    << "', which has not switched since; ";
  if (backtrace.empty()) {
    o << "no backtrace (the thread did not take the signal in time)\n";
  } else {
    o << "it runs at:\n";
    for (const auto& f : backtrace) o << "    " << f << "\n";
  }
  return o.str();
}

void start_monitor(duration max_blocking_time, blocking_handler handler) {
  detail::hub_state& h = get_hub().state();
  if (max_blocking_time <= duration::zero()) {
    throw value_error("green: start_monitor() needs a positive max_blocking_time (gevent: 0.1 s)");
  }
  if (h.monitor) {
    throw error(
        "green: this hub's monitor is running already; stop_monitor() first to change its "
        "threshold or handler");
  }
  detail::install_handler();
  auto core = std::make_shared<detail::monitor_core>();
  core->hub_id = h.hub_g.id();
  core->threshold = max_blocking_time;
  core->handler = std::move(handler);
  core->on_switch(greenlet::current());
  {
    std::lock_guard<std::mutex> g(core->m);
    core->switches = 0;
  }
  trace_function previous = gettrace();
  settrace(detail::monitor_trace{core, core.get(), std::move(previous)});
  core->trace_installed = true;
  h.monitor = core;
  try {
    core->thread = std::thread([c = core.get()] { c->run(); });
  } catch (...) {
    detail::remove_monitor(h);
    throw;
  }
}

void stop_monitor() {
  if (detail::hub_state* h = detail::current_hub()) detail::remove_monitor(*h);
}

bool monitor_running() noexcept {
  detail::hub_state* h = detail::current_hub();
  return h != nullptr && h->monitor != nullptr;
}

// ---- run_info ----

std::vector<greenlet_info> run_info_entries() {
  std::vector<greenlet_info> out;
  const greenlet& cur = greenlet::current();
  const greenlet& main = getmain();
  detail::hub_state* h = detail::current_hub();
  auto state_of = [&](const greenlet& g) -> std::string {
    if (g == cur) return "running";
    if (h != nullptr) {
      auto it = h->records.find(g.native_handle());
      if (it != h->records.end() && it->second.slot != nullptr) {
        const detail::wait_slot& s = *it->second.slot;
        return (s.woken ? "runnable (woken from " : "blocked on ") + h->describe_wait(s) +
               (s.woken ? ")" : "");
      }
    }
    return "suspended";
  };
  out.push_back(greenlet_info{greenlet_info::kind::main, main.id(), "main", 0, state_of(main), ""});
  if (h == nullptr) return out;
  std::ostringstream hs;
  if (h->hub_g == cur) {
    hs << "running";
  } else if (!h->hub_g.started()) {
    hs << "unstarted";
  } else {
    hs << "in its loop (" << h->ready.size() << " ready, " << h->timers.size() << " timers)";
  }
  auto parent_id = [](const greenlet& g) -> std::uint64_t {
    auto p = g.parent();
    return p ? p->id() : 0;
  };
  out.push_back(greenlet_info{greenlet_info::kind::hub, h->hub_g.id(), h->hub_g.name(),
                              parent_id(h->hub_g), hs.str(), ""});
  std::vector<detail::task_core*> tasks;
  h->live.for_each([&](detail::task_core* t) { tasks.push_back(t); });
  std::sort(tasks.begin(), tasks.end(),
            [](const detail::task_core* a, const detail::task_core* b) { return a->id < b->id; });
  for (detail::task_core* t : tasks) {
    greenlet_info i;
    i.role = greenlet_info::kind::task;
    i.id = t->g.id();
    i.name = t->g.name();
    i.parent_id = parent_id(t->g);
    if (t->done) {
      i.state = "finished";
    } else if (!t->started) {
      i.state = "unstarted";
    } else {
      i.state = state_of(t->g);
    }
    i.spawned_at = std::string(t->where.file) + ":" + std::to_string(t->where.line);
    out.push_back(std::move(i));
  }
  return out;
}

std::string run_info() {
  const std::vector<greenlet_info> all = run_info_entries();
  // Children under their parent, in the order listed; one whose parent is
  // not listed goes under main.
  std::multimap<std::uint64_t, const greenlet_info*> children;
  const std::uint64_t main_id = all.front().id;
  for (std::size_t i = 1; i < all.size(); ++i) {
    std::uint64_t p = all[i].parent_id;
    const bool listed =
        std::any_of(all.begin(), all.end(), [&](const greenlet_info& x) { return x.id == p; });
    children.emplace(listed ? p : main_id, &all[i]);
  }
  std::ostringstream o;
  auto line = [&](auto&& self, const greenlet_info& g, int depth) -> void {
    static const char* const kinds[] = {"main", "hub", "task"};
    o << std::string(static_cast<std::size_t>(depth) * 2, ' ') << "+--- "
      << kinds[static_cast<int>(g.role)] << " #" << g.id << " '" << g.name << "': " << g.state;
    if (!g.spawned_at.empty()) o << " (spawned at " << g.spawned_at << ")";
    o << "\n";
    auto [b, e] = children.equal_range(g.id);
    for (auto it = b; it != e; ++it) self(self, *it->second, depth + 1);
  };
  line(line, all.front(), 0);
  return o.str();
}

}  // namespace green
