// green/hub/hub.hpp
//
// The hub: gevent's event loop, one per thread, created on first use. It is a
// greenlet (a child of the thread's main greenlet) that runs a loop: a FIFO
// ready queue of greenlets to resume and callbacks to run, its own timer
// heap, and an I/O context that it enters only when nothing is runnable.
// "Blocking" means switching to the hub; whatever wakes a greenlet puts it on
// the ready queue.
//
//   green::spawn([] { green::sleep(std::chrono::seconds(1)); });
//   green::sleep(std::chrono::seconds(2));  // main blocks: the hub runs
//
// Rules (docs/semantics.md, section H):
//   * Starts, sleep(0) and wake-ups are FIFO; sleep(0) is round robin; idle()
//     runs once nothing else is runnable (H1).
//   * Blocking from inside the hub (a rawlink callback, a hub callback)
//     throws blocking_switch_out_error (H1.5).
//   * When a greenlet blocks and nothing can ever wake it, loop_exit is
//     thrown in the main greenlet with a report of who waits on what (H2).
//   * A hub can run on a virtual clock: when only timers remain, time jumps
//     to the next deadline (H1.8).

#ifndef GREEN_HUB_HUB_HPP
#define GREEN_HUB_HUB_HPP

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/greenlet.hpp"

namespace green {

// Durations and deadlines of the hub. A timeout parameter is a
// std::optional<duration>: nothing (the default) waits forever, as Python's
// None. Any std::chrono duration converts to it.
using duration = std::chrono::nanoseconds;
using time_point = std::chrono::steady_clock::time_point;

// blocking_switch_out_error: code running in the hub itself (a rawlink
// callback, a hub callback) tried to block. gevent: BlockingSwitchOutError.
class GREEN_API blocking_switch_out_error : public error {
 public:
  using error::error;
};

// One line of a loop_exit report: a greenlet that can never be woken.
struct waiting_greenlet {
  std::uint64_t id = 0;  // greenlet id
  std::string name;      // greenlet name ("main" for the main greenlet)
  bool is_main = false;
  std::string waits_on;    // "event 0x...", "join of task #4 'worker'", ...
  std::string spawned_at;  // "file.cpp:42" for a spawned greenlet, else empty
};

// loop_exit is thrown in the main greenlet when a greenlet blocks and nothing
// can ever wake it: no greenlet is runnable, no timer is pending and no I/O
// or other thread can deliver anything. gevent: LoopExit("This operation
// would block forever"), an Exception; here a green::error (a misuse report,
// catchable as std::exception), and what() includes the report.
class GREEN_API loop_exit : public error {
 public:
  loop_exit(const std::string& report, std::vector<waiting_greenlet> waiting);
  // report() is the text naming each waiting greenlet, one per line.
  const std::string& report() const noexcept { return *report_; }
  const std::vector<waiting_greenlet>& waiting() const noexcept { return *waiting_; }

 private:
  std::shared_ptr<const std::string> report_;
  std::shared_ptr<const std::vector<waiting_greenlet>> waiting_;
};

// What the error handler is told about an exception that escaped a spawned
// greenlet. gevent: hub.handle_error / print_exception.
struct failure_report {
  std::uint64_t greenlet_id = 0;
  std::string greenlet_name;
  std::string spawned_at;
  std::string type;  // demangled type of the exception
  std::string what;  // what() for a std::exception, else empty
  std::exception_ptr exception;
};
using error_handler = std::function<void(const failure_report&)>;

struct hub_options {
  // virtual_clock: time stands still while anything is runnable and jumps to
  // the next deadline when only timers remain (trio's MockClock autojump).
  bool virtual_clock = false;
};

namespace detail {
struct hub_state;
}

// hub is the calling thread's loop. Get it with get_hub().
class GREEN_API hub {
 public:
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  // now() is the hub's clock: steady_clock, or the virtual clock.
  time_point now() const noexcept;
  bool virtual_clock() const noexcept;
  // live_tasks() counts spawned greenlets that have not finished.
  std::size_t live_tasks() const noexcept;
  // idle_now() is true when nothing is runnable, no timer is pending and no
  // socket waits for I/O (H13.7).
  bool idle_now() const noexcept;
  // the hub's own greenlet.
  const greenlet& hub_greenlet() const noexcept;

  // set_error_handler() replaces what is told about an exception escaping a
  // spawned greenlet (the default prints one line to stderr) and returns the
  // previous handler; an empty handler restores the default.
  error_handler set_error_handler(error_handler h);

  // run_callback() runs `fn` in the hub, after what is already queued.
  // `fn` must not block. gevent: loop.run_callback.
  void run_callback(std::function<void()> fn);

  detail::hub_state& state() const noexcept { return *state_; }

 private:
  friend struct detail::hub_state;
  explicit hub(detail::hub_state* s) noexcept : state_(s) {}
  detail::hub_state* state_;
};

// get_hub() is the calling thread's hub, created on first use.
// Throws: green::error once the thread's green state is gone.
GREEN_API hub& get_hub();
// make_hub() creates the calling thread's hub with options.
// Throws: green::error if this thread already has a hub.
GREEN_API hub& make_hub(hub_options options);
// has_hub() is true if the calling thread has a hub.
GREEN_API bool has_hub() noexcept;
// destroy_hub() kills every spawned greenlet of this thread (greenlet_exit,
// their destructors run) and destroys the hub; the next get_hub() makes a
// new one. gevent: hub.destroy().
// Throws: green::error when called from a spawned greenlet or the hub.
GREEN_API void destroy_hub();

// sleep() blocks the current greenlet for `d`; sleep() or sleep(0) yields to
// every other runnable greenlet and comes back (round robin).
GREEN_API void sleep(duration d = duration::zero());
// idle() blocks until nothing else is runnable. gevent: gevent.idle().
GREEN_API void idle();

}  // namespace green

#endif  // GREEN_HUB_HUB_HPP
