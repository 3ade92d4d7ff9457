// Hooks and introspection: the trace function, the unraisable hook (errors
// that escape a kill or a destructor), and green::debug's counters.

#include <cstdio>
#include <mutex>
#include <string>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "runtime.hpp"

namespace green {
namespace detail {

// green::debug's count of live greenlet states. Counting costs two atomic
// read-modify-writes per greenlet (about 12 ns here), so it is off unless a
// test or a user turns it on.
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_live{0};
// Main greenlets are always counted: one atomic operation per thread.
std::atomic<std::size_t> g_live_mains{0};

namespace {
std::mutex g_hook_mutex;
unraisable_hook g_unraisable;

}  // namespace

std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return std::string(ex.what());
  } catch (const greenlet_exit& ex) {
    return "green::greenlet_exit(" + ex.message() + ")";
  } catch (const generator_exit&) {
    return "green::generator_exit";
  } catch (...) {
    return "an exception of a type not derived from std::exception";
  }
}

void report_unraisable(std::exception_ptr e, greenlet_state* g) noexcept {
  green::report_unraisable(std::move(e), g->self, ("killing " + describe(g)).c_str());
}

}  // namespace detail

using detail::thread_state;

trace_function settrace(trace_function fn) {
  thread_state& ts = thread_state::get();
  trace_function old = std::move(ts.trace);
  ts.trace = std::move(fn);
  ts.tracing = static_cast<bool>(ts.trace);
  return old;
}

trace_function gettrace() { return thread_state::get().trace; }

unraisable_hook set_unraisable_hook(unraisable_hook hook) {
  std::lock_guard<std::mutex> lock(detail::g_hook_mutex);
  return std::exchange(detail::g_unraisable, std::move(hook));
}

void report_unraisable(std::exception_ptr ex, const greenlet& where, const char* context) noexcept {
  try {
    unraisable_hook hook;
    {
      std::lock_guard<std::mutex> lock(detail::g_hook_mutex);
      hook = detail::g_unraisable;
    }
    if (hook) {
      hook(ex, where);
      return;
    }
    std::fprintf(stderr, "green: exception ignored while %s: %s\n",
                 context != nullptr ? context : "running a destructor",
                 detail::describe_exception(ex).c_str());
  } catch (...) {
    std::fprintf(stderr, "green: the unraisable hook threw; exception ignored\n");
  }
}

std::size_t debug::live_greenlets() noexcept {
  return detail::g_live.load(std::memory_order_relaxed);
}

std::size_t debug::live_main_greenlets() noexcept {
  return detail::g_live_mains.load(std::memory_order_relaxed);
}

void debug::set_counting(bool on) noexcept {
  detail::g_counting.store(on, std::memory_order_relaxed);
}

}  // namespace green
