// green/hub/monitor.hpp
//
// Observing a hub: the monitor thread, which reports a greenlet that holds
// the hub's thread too long without switching (gevent's monitor thread and
// max_blocking_time), and run_info(), a description of the live greenlets of
// this thread's hub and of what each is doing (gevent.util.format_run_info).
//
//   green::start_monitor(std::chrono::milliseconds(100));  // reports to stderr
//   ...
//   std::cout << green::run_info();  // main, the hub, each task and its state
//   green::stop_monitor();
//
// Rules (docs/semantics.md, H12): a greenlet that runs without switching for
// longer than the threshold is reported once per such episode, with its name
// and a backtrace of where it runs (H12.1); the report goes to a replaceable
// handler, called on the monitor thread (H12.2); the monitor stops with the
// hub (H12.3); run_info() lists main, the hub and every unfinished task with
// its state (H12.4).

#ifndef GREEN_HUB_MONITOR_HPP
#define GREEN_HUB_MONITOR_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"

namespace green {

// blocking_report: what the monitor found. gevent: the "appears to be
// blocked" report and the EventLoopBlocked event.
struct blocking_report {
  std::uint64_t greenlet_id = 0;
  std::string greenlet_name;  // "main" for the main greenlet
  bool is_main = false;
  duration blocked_for{};  // since its last switch, when the report was made
  duration threshold{};
  // Where it runs, innermost frame first, as backtrace_symbols() names them
  // (names of functions not exported from their binary need -rdynamic or
  // addr2line); empty if the hub's thread did not take the signal in time.
  std::vector<std::string> backtrace;
  // text() is the report as the default handler prints it.
  GREEN_API std::string text() const;
};
using blocking_handler = std::function<void(const blocking_report&)>;

// start_monitor() starts the monitor thread of the calling thread's hub. It
// wakes every max_blocking_time / 2; when the thread's current greenlet (not
// the hub) has not switched for max_blocking_time of real time (also on a
// virtual clock hub), it interrupts the thread (SIGURG) for a backtrace and
// calls `handler` (on the monitor thread; empty: print text() to stderr).
// The monitor watches switches through a trace function (settrace), chained
// to the one installed before; installing another one afterwards that does
// not chain blinds it. gevent: GEVENT_MONITOR_THREAD_ENABLE, max_blocking_time.
// Throws: green::error if this hub's monitor is running already;
//         green::value_error if max_blocking_time is not positive.
GREEN_API void start_monitor(duration max_blocking_time = std::chrono::milliseconds(100),
                             blocking_handler handler = {});
// stop_monitor() stops and joins the monitor of this thread's hub (nothing if
// there is none). destroy_hub() does it too.
GREEN_API void stop_monitor();
// monitor_running() is true while this thread's hub has a monitor.
GREEN_API bool monitor_running() noexcept;

// One greenlet in run_info_entries().
struct greenlet_info {
  enum class kind : std::uint8_t { main, hub, task };
  kind role = kind::task;
  std::uint64_t id = 0;
  std::string name;
  std::uint64_t parent_id = 0;  // 0 for the main greenlet
  // "running", "unstarted", "blocked on <what>", "runnable (woken from
  // <what>)", "suspended" (switched away outside the hub), and for the hub
  // "in its loop (N ready, M timers)".
  std::string state;
  std::string spawned_at;  // "file.cpp:42" for a task, else empty
};

// run_info_entries() describes this thread's main greenlet, its hub and the
// hub's unfinished tasks (by id). Without a hub: main only (none is created).
// gevent: GreenletTree.
GREEN_API std::vector<greenlet_info> run_info_entries();
// run_info() is the same as an indented tree, one greenlet a line, children
// under their parent. gevent: gevent.util.format_run_info().
GREEN_API std::string run_info();

}  // namespace green

#endif  // GREEN_HUB_MONITOR_HPP
