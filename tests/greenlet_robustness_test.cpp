// Robustness and re-entrancy: G2.7, G11.6 and G14.1-G14.4. G14.3 runs in
// forked children; fork() happens
// while this process has no other thread (no case here starts one outside a
// child).
#define BOOST_TEST_MODULE greenlet_robustness
#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "support/child_process.hpp"
#include "support/fixtures.hpp"
#include "support/sanitizers.hpp"

namespace {

using strings = std::vector<std::string>;
using results_t = std::vector<std::pair<std::string, std::string>>;

// A payload as Python's repr would show it in the RESULTS lists: an empty
// value is "()".
std::string show(const green::value& v) {
  if (!v.has_value()) return "()";
  if (const auto* s = v.get_if<std::string>()) return *s;
  if (const auto* i = v.get_if<int>()) return std::to_string(*i);
  return std::string("<") + v.type().name() + ">";
}

// check_results() compares a recorded (who, what) list with greenlet's
// RESULTS list entry by entry, so a mismatch names the first wrong entry.
void check_results(const results_t& results, const results_t& expected) {
  BOOST_TEST(results.size() == expected.size());
  for (std::size_t i = 0; i < std::min(results.size(), expected.size()); ++i) {
    BOOST_TEST_CONTEXT("entry " << i) {
      BOOST_TEST(results[i].first == expected[i].first);
      BOOST_TEST(results[i].second == expected[i].second);
    }
  }
}

using green::test::child_result;

// Runs `body` in a forked child that exits with suspended greenlets by design
// (G14.3); `body` ends the child itself (std::exit), else it exits 98.
child_result run_in_child(const std::function<void()>& body) {
  return green::test::run_in_child(
      [&body] {
        body();
        return 98;
      },
      /*leaks_by_design=*/true);
}

// Resident pages of this process (/proc/self/statm, second field).
long resident_pages() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_robustness, green::test::leak_check)

// ---------------------------------------------------------------------------
// G2.7 (test_recursive_startup). In Python the lookup of `run` is user
// code (a __getattribute__) that runs during the start, on the caller's
// stack, and can switch into the greenlet being started; the outer start then
// becomes a plain resume. In green, finding the function cannot run user
// code, so that exact situation cannot arise. What can: user code that runs
// as part of the start but before the body -- the conversion of the start
// payload into the function's typed parameter (value_cast moves it, on the
// new greenlet's stack). If that code switches away and the starter switches
// to the greenlet again, the second switch must resume the start in progress,
// not start the greenlet a second time.

namespace {
// A start argument whose move constructor switches to the parent once, when
// it runs in a non-main greenlet (the value_cast in the new greenlet).
struct startup_probe {
  int v;
  static inline bool armed = false;
  static inline strings* log = nullptr;
  explicit startup_probe(int x) : v(x) {}
  // noexcept(false): std::any stores it on the heap, so only value_cast
  // moves it, after the payload has fully arrived.
  startup_probe(startup_probe&& o) noexcept(false) : v(o.v) {
    if (armed && !green::getcurrent().is_main()) {
      armed = false;
      green::value back = green::getcurrent().parent()->switch_(std::string("start in progress"));
      log->push_back("probe resumed with " + show(back));
    }
  }
  startup_probe(const startup_probe& o) : v(o.v) {}
};
}  // namespace

BOOST_AUTO_TEST_CASE(switch_into_greenlet_whose_start_is_in_progress_resumes_it_once) {
  strings log;
  int body_runs = 0;
  startup_probe::log = &log;
  startup_probe::armed = true;
  green::greenlet g([&](startup_probe p) {
    ++body_runs;
    return p.v + 1;
  });
  green::value first = g.switch_(startup_probe(42));
  BOOST_TEST(show(first) == "start in progress");
  BOOST_TEST(g.started());
  BOOST_TEST(static_cast<bool>(g));
  BOOST_TEST(body_runs == 0);
  green::value second = g.switch_(99);
  startup_probe::armed = false;
  BOOST_TEST(green::value_cast<int>(second) == 43);
  BOOST_TEST(body_runs == 1);
  BOOST_TEST(g.dead());
  BOOST_TEST(log == (strings{"probe resumed with 99"}), boost::test_tools::per_element());
}

// G2.7, the nearest real thing: A's first action is to switch to B,
// and B switches back into A while A's start is still in progress (A has not
// returned from its first call yet). A resumes normally; nothing runs twice.
BOOST_AUTO_TEST_CASE(greenlet_switched_back_into_during_its_first_call_resumes_normally) {
  int a_runs = 0, b_runs = 0;
  green::greenlet a;
  green::greenlet b([&](int y) {
    ++b_runs;
    green::value back = a.switch_(y + 1);  // A is mid-start: resume it
    return green::value_cast<int>(back) * 10;
  });
  a.set_run([&](int x) {
    ++a_runs;
    green::value v = b.switch_(x);
    return green::value_cast<int>(v) + 1;
  });
  green::value r = a.switch_(41);
  BOOST_TEST(green::value_cast<int>(r) == 43);  // 41 -> b: 42 -> a: 43 -> main
  BOOST_TEST(a.dead());
  BOOST_TEST(static_cast<bool>(b));  // b is still suspended in a.switch_()
  BOOST_TEST(a_runs == 1);
  BOOST_TEST(b_runs == 1);
  // b resumes from a.switch_() with main's payload, then returns to main.
  BOOST_TEST(green::value_cast<int>(b.switch_(5)) == 50);
  BOOST_TEST(b.dead());
  BOOST_TEST(a_runs == 1);
  BOOST_TEST(b_runs == 1);
}

// ---------------------------------------------------------------------------
// G11.6, G14.4: a switch from a tracer in the middle of a switch must not lose
// payloads (G11.6: switching from inside the trace callback is legal).

namespace {
struct trace_guard {
  green::trace_function previous;
  explicit trace_guard(green::trace_function fn) : previous(green::settrace(std::move(fn))) {}
  ~trace_guard() { green::settrace(std::move(previous)); }
};

std::string event_name(green::trace_event ev) {
  return ev == green::trace_event::switch_ ? "switch" : "throw";
}
}  // namespace

// greenlet: test_greenlet.py::test_reentrant_switch_three_greenlets2
// (fail_switch_three_greenlets2.py): the exact RESULTS list. The tracer's
// first call (the start of g1) switches to g2; g1's start argument is still
// 'g1 from main' when g1 finally runs.
BOOST_AUTO_TEST_CASE(tracer_switching_during_start_keeps_start_payload) {
  results_t results;
  bool switch_to_g2 = true;
  green::greenlet g1, g2;
  g1.set_run([&](std::string arg) {
    results.emplace_back("g1 arg", arg);
    green::value from_parent = green::getcurrent().parent()->switch_(std::string("from g1_run"));
    results.emplace_back("g1 from parent", show(from_parent));
    return std::string("g1 done");
  });
  g2.set_run([&](std::string arg) {
    results.emplace_back("g2 arg", arg);
    green::value parent = green::getcurrent().parent()->switch_(std::string("from g2_run"));
    switch_to_g2 = false;
    results.emplace_back("g2 from parent", show(parent));
    return std::string("g2 done");
  });
  {
    trace_guard tracing([&](green::trace_event ev, const green::greenlet&, const green::greenlet&) {
      results.emplace_back("trace", event_name(ev));
      if (switch_to_g2) {
        switch_to_g2 = false;
        g2.switch_(std::string("g2 from tracefunc"));
      }
    });
    green::value x = g1.switch_(std::string("g1 from main"));
    results.emplace_back("main g1", show(x));
    x = g1.switch_(std::string("g2 from main"));
    results.emplace_back("main g2", show(x));
    x = g1.switch_(std::string("g1 from main 2"));
    results.emplace_back("main g1.2", show(x));
    x = g2.switch_();
    results.emplace_back("main g2.2", show(x));
  }
  const results_t expected = {{"trace", "switch"},
                              {"trace", "switch"},
                              {"g2 arg", "g2 from tracefunc"},
                              {"trace", "switch"},
                              {"main g1", "from g2_run"},
                              {"trace", "switch"},
                              {"g1 arg", "g1 from main"},
                              {"trace", "switch"},
                              {"main g2", "from g1_run"},
                              {"trace", "switch"},
                              {"g1 from parent", "g1 from main 2"},
                              {"trace", "switch"},
                              {"main g1.2", "g1 done"},
                              {"trace", "switch"},
                              {"g2 from parent", "()"},
                              {"trace", "switch"},
                              {"main g2.2", "g2 done"}};
  check_results(results, expected);
  BOOST_TEST(g1.dead());
  BOOST_TEST(g2.dead());
}

// greenlet: test_greenlet.py::test_reentrant_switch_two_greenlets
// (fail_switch_two_greenlets.py), with payloads added: the tracer running in
// main (after g1 switched to it) switches to g2, which switches into g1,
// which finishes. Main's pending switch still returns what g1 sent it, and
// the tracer's own switch returns g1's result.
BOOST_AUTO_TEST_CASE(tracer_switching_in_resumed_greenlet_keeps_both_payloads) {
  strings out;
  bool switch_to_g2 = false;
  green::greenlet g1, g2;
  g1.set_run([&] {
    out.push_back("In g1_run");
    switch_to_g2 = true;
    green::value back = green::getcurrent().parent()->switch_(std::string("g1 to parent"));
    out.push_back("Return to g1_run with " + show(back));
    out.push_back("Falling off end of g1_run");
    return std::string("g1 result");
  });
  g2.set_run([&] {
    g1.switch_(std::string("g2 to g1"));
    out.push_back("Falling off end of g2");
  });
  {
    trace_guard tracing([&](green::trace_event, const green::greenlet&, const green::greenlet&) {
      out.push_back("TRACE");
      if (switch_to_g2) {
        switch_to_g2 = false;
        green::value v = g2.switch_();
        out.push_back("tracer got " + show(v));
      }
      out.push_back("LEAVE TRACE");
    });
    green::value x = g1.switch_();
    out.push_back("main got " + show(x));
    out.push_back("Falling off end of main");
    x = g2.switch_();
    out.push_back("main got " + show(x));
  }
  const strings expected = {"TRACE",
                            "LEAVE TRACE",  // main -> g1 (start)
                            "In g1_run",
                            "TRACE",  // g1 -> main: the tracer, in main, switches to g2
                            "TRACE",
                            "LEAVE TRACE",  // main -> g2 (start)
                            "TRACE",
                            "LEAVE TRACE",  // g2 -> g1
                            "Return to g1_run with g2 to g1",
                            "Falling off end of g1_run",
                            "TRACE",
                            "LEAVE TRACE",  // g1 (dead) -> main, inside the first tracer call
                            "tracer got g1 result",
                            "LEAVE TRACE",
                            "main got g1 to parent",  // the payload of the interrupted switch
                            "Falling off end of main",
                            "TRACE",
                            "LEAVE TRACE",  // main -> g2 (resumed in g1.switch_())
                            "Falling off end of g2",
                            "TRACE",
                            "LEAVE TRACE",  // g2 (dead) -> main
                            "main got ()"};
  BOOST_TEST(out == expected, boost::test_tools::per_element());
  BOOST_TEST(g1.dead());
  BOOST_TEST(g2.dead());
}

// greenlet: test_greenlet.py::test_reentrant_switch_three_greenlets
// (fail_switch_three_greenlets.py): with a tracer installed, starting a
// function that takes no arguments with one is a clean error in the starter
// (Python: TypeError ... positional arguments), and the greenlet is dead.
BOOST_AUTO_TEST_CASE(start_with_wrong_arguments_under_tracer_raises_error_in_starter) {
  strings events;
  bool g1_ran = false;
  green::greenlet g1([&] { g1_ran = true; });
  std::string message;
  {
    trace_guard tracing([&](green::trace_event ev, const green::greenlet&, const green::greenlet&) {
      events.push_back(event_name(ev));
    });
    try {
      g1.switch_(1);
    } catch (const green::error& e) {
      message = e.what();
    }
  }
  BOOST_TEST(!g1_ran);
  BOOST_TEST(g1.dead());
  BOOST_TEST(message.find("takes no arguments") != std::string::npos);
  BOOST_TEST(events == (strings{"switch", "throw"}), boost::test_tools::per_element());
}

// greenlet: test_greenlet.py::test_reentrant_switch_run_callable_has_del
// (fail_clearing_run_switches.py). Python drops `run` before calling it and
// the callable's __del__ switches to main before the body runs; in green the
// function object is destroyed on the greenlet's stack right after it
// returns, before the greenlet dies. Either way a destructor switches away in
// the middle of the greenlet's start/finish, and nothing is lost: the body
// runs once and its result still reaches the parent when main resumes it.
namespace {
struct run_callable {
  results_t* results;
  green::greenlet main;
  bool armed = true;
  run_callable(results_t* r, green::greenlet m) : results(r), main(std::move(m)) {}
  run_callable(run_callable&& o) noexcept
      : results(o.results), main(o.main), armed(std::exchange(o.armed, false)) {}
  ~run_callable() {
    if (!armed) return;
    results->emplace_back("RunCallable", "destructor");
    green::value back = main.switch_(std::string("from RunCallable"));
    results->emplace_back("RunCallable resumed", show(back));
  }
  std::string operator()() const {
    results->emplace_back("run_func", "enter");
    return "run_func result";
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(function_destructor_switching_away_does_not_lose_result) {
  results_t results;
  green::greenlet g(run_callable(&results, green::getcurrent()));
  green::value x = g.switch_();
  results.emplace_back("main: g.switch()", show(x));
  BOOST_TEST(static_cast<bool>(g));  // suspended in the destructor, not dead
  x = g.switch_(std::string("resume"));
  results.emplace_back("main: g.switch() 2", show(x));
  const results_t expected = {{"run_func", "enter"},
                              {"RunCallable", "destructor"},
                              {"main: g.switch()", "from RunCallable"},
                              {"RunCallable resumed", "resume"},
                              {"main: g.switch() 2", "run_func result"}};
  check_results(results, expected);
  BOOST_TEST(g.dead());
}

// ---------------------------------------------------------------------------
// G14.1 (test_untracked_memory_doesnt_increase, greenlet #328): 10,000
// create + run-to-completion cycles do not grow resident memory beyond a
// small tolerance, and the stack statistics stay flat.

namespace {
constexpr long kRssTolerancePages = 64;  // 256 KiB with 4 KiB pages

void run_to_completion_cycle() {
  green::greenlet g([](int x) {
    green::value v = green::getcurrent().parent()->switch_(x + 1);
    return green::value_cast<int>(v) * 2;
  });
  int first = green::value_cast<int>(g.switch_(1));
  int second = green::value_cast<int>(g.switch_(first));
  if (second != 4 || !g.dead()) throw std::logic_error("cycle misbehaved");
}
}  // namespace

BOOST_AUTO_TEST_CASE(ten_thousand_run_to_completion_cycles_do_not_grow_memory) {
  for (int i = 0; i < 2000; ++i) run_to_completion_cycle();  // warm: pool, malloc
  const long rss0 = resident_pages();
  const green::stack_stats s0 = green::get_stack_stats();
  const std::size_t live0 = green::debug::live_greenlets();
  // Under ThreadSanitizer (no footprint check there) each greenlet costs a
  // TSan fiber: 1,000 cycles check the counts without taking minutes.
  for (int i = 0; i < green::test::many_fibers(); ++i) run_to_completion_cycle();
  const long rss1 = resident_pages();
  const green::stack_stats s1 = green::get_stack_stats();
  BOOST_TEST_MESSAGE("RSS pages before " << rss0 << ", after " << rss1);
  if (green::test::footprint_checks_apply()) BOOST_TEST(rss1 - rss0 <= kRssTolerancePages);
  BOOST_TEST(s1.mapped == s0.mapped);
  BOOST_TEST(s1.in_use == s0.in_use);
  BOOST_TEST(s1.pooled == s0.pooled);
  BOOST_TEST(green::debug::live_greenlets() == live0);
}

// G14.1 with the other ways a greenlet ends: an exception escaping to
// the parent, throw_() into a suspended greenlet, and a kill by dropping the
// last handle.
BOOST_AUTO_TEST_CASE(ten_thousand_throw_and_kill_cycles_do_not_grow_memory) {
  auto cycle = [] {
    green::greenlet raiser([] {
      green::getcurrent().parent()->switch_();
      throw std::runtime_error("escapes");
    });
    raiser.switch_();
    try {
      raiser.switch_();
    } catch (const std::runtime_error&) {
    }
    green::greenlet thrown_into([] { green::getcurrent().parent()->switch_(); });
    thrown_into.switch_();
    thrown_into.throw_();
    green::greenlet killed([] { green::getcurrent().parent()->switch_(); });
    killed.switch_();
  };  // `killed` is dropped while suspended
  for (int i = 0; i < 1000; ++i) cycle();
  const long rss0 = resident_pages();
  const green::stack_stats s0 = green::get_stack_stats();
  for (int i = 0; i < green::test::many_fibers(); ++i) cycle();
  const long rss1 = resident_pages();
  const green::stack_stats s1 = green::get_stack_stats();
  BOOST_TEST_MESSAGE("RSS pages before " << rss0 << ", after " << rss1);
  if (green::test::footprint_checks_apply()) BOOST_TEST(rss1 - rss0 <= kRssTolerancePages);
  BOOST_TEST(s1.mapped == s0.mapped);
  BOOST_TEST(s1.in_use == s0.in_use);
}

// ---------------------------------------------------------------------------
// G14.2 (test_arg_refs, test_kwarg_refs): after 100 switches passing
// the same arguments, their reference counts are back where they started.

// test_arg_refs: g = greenlet(lambda *args: getcurrent().parent.switch(*args));
// for _ in range(100): g.switch(*args). The first switch starts g, the second
// finishes it, the other 98 go to the dead g and are forwarded to main.
BOOST_AUTO_TEST_CASE(positional_payload_references_are_released_after_100_switches) {
  auto a = std::make_shared<int>(1);
  auto b = std::make_shared<std::string>("b");
  auto c = std::make_shared<double>(3.0);
  green::greenlet g([](green::value args) { return green::getcurrent().parent()->switch_(args); });
  for (int i = 0; i < 100; ++i) {
    green::value r = g.switch_(a, b, c);
    auto [ra, rb, rc] = green::value_cast<
        std::tuple<std::shared_ptr<int>, std::shared_ptr<std::string>, std::shared_ptr<double>>>(r);
    BOOST_TEST((ra == a && rb == b && rc == c));
  }
  BOOST_TEST(g.dead());
  BOOST_TEST(a.use_count() == 1);
  BOOST_TEST(b.use_count() == 1);
  BOOST_TEST(c.use_count() == 1);
}

// test_kwarg_refs: the same with keyword arguments.
BOOST_AUTO_TEST_CASE(keyword_payload_references_are_released_after_100_switches) {
  auto p = std::make_shared<int>(7);
  green::kwargs kw{{"p", green::value(p)}};
  BOOST_TEST(p.use_count() == 2);  // p and the copy in kw
  green::greenlet g(
      [](green::value kwargs) { return green::getcurrent().parent()->switch_(kwargs); });
  for (int i = 0; i < 100; ++i) {
    green::value r = g.switch_(kw);
    const auto got = green::value_cast<green::kwargs>(r);
    BOOST_TEST(green::value_cast<std::shared_ptr<int>>(got.at("p")) == p);
  }
  BOOST_TEST(p.use_count() == 2);
  kw.clear();
  BOOST_TEST(p.use_count() == 1);
}

// The same through a greenlet that stays suspended (100 resumptions of an
// echo loop), and through exceptions carried by throw_() and by a child
// that dies: nothing keeps a reference once the values are dropped.
BOOST_AUTO_TEST_CASE(payloads_carried_by_resumes_and_exceptions_are_released) {
  auto p = std::make_shared<int>(1);
  green::greenlet echo([](green::value v) {
    for (;;) v = green::getcurrent().parent()->switch_(std::move(v));
  });
  for (int i = 0; i < 100; ++i) {
    green::value r = echo.switch_(p);
    BOOST_TEST((green::value_cast<std::shared_ptr<int>>(r) == p));
  }
  BOOST_TEST(static_cast<bool>(echo));
  BOOST_TEST(p.use_count() == 1);

  struct carrying_error {
    std::shared_ptr<int> p;
  };
  green::greenlet catcher([] {
    for (int i = 0; i < 100; ++i) {
      try {
        green::getcurrent().parent()->switch_();
      } catch (const carrying_error&) {
      }
    }
  });
  catcher.switch_();
  for (int i = 0; i < 100; ++i) catcher.throw_(carrying_error{p});
  BOOST_TEST(catcher.dead());
  BOOST_TEST(p.use_count() == 1);

  for (int i = 0; i < 100; ++i) {
    green::greenlet dying([p] { throw carrying_error{p}; });
    try {
      dying.switch_();
    } catch (const carrying_error& e) {
      BOOST_TEST((e.p == p));
    }
  }
  BOOST_TEST(p.use_count() == 1);
  echo = green::greenlet();  // kill the echo loop
  BOOST_TEST(p.use_count() == 1);
}

// ---------------------------------------------------------------------------
// G14.3 (test_interpreter_shutdown.py): the process exits (std::exit)
// with 1, 10 and 50 suspended greenlets -- chains nested 10 deep, some
// suspended inside a catch block, some owned by threads that have exited and
// by threads still running -- and the exit status is 0.

namespace {
// test_deeply_nested_greenlets_at_shutdown: level(depth) starts level(depth +
// 1) and then switches to its parent; so the whole chain ends up suspended.
void level(int depth, int max_depth, bool in_catch) {
  std::optional<green::greenlet> g;  // a function-scope local, as in Python
  if (depth < max_depth) {
    g.emplace(level);
    g->switch_(depth + 1, max_depth, in_catch);
  }
  if (in_catch) {
    try {
      throw std::runtime_error("active while suspended");
    } catch (const std::runtime_error&) {
      green::getcurrent().parent()->switch_(std::string("depth-") + std::to_string(depth));
    }
  } else {
    green::getcurrent().parent()->switch_(std::string("depth-") + std::to_string(depth));
  }
}

// Starts `count` chains 10 deep; every other one suspended in a catch block.
void start_chains(std::vector<green::greenlet>& into, int count) {
  for (int i = 0; i < count; ++i) {
    into.emplace_back(level);
    green::value r = into.back().switch_(0, 10, i % 2 == 1);
    if (green::value_cast<std::string>(r) != "depth-0") std::abort();
  }
}

std::vector<green::greenlet>& static_handles() {
  static std::vector<green::greenlet> v;  // destroyed after thread_locals, at exit
  return v;
}

[[noreturn]] void exit_with_active_greenlets(int count) {
  std::vector<green::greenlet> on_stack;  // never destroyed: exit() does not unwind
  start_chains(on_stack, count);
  start_chains(static_handles(), count);
  // Threads that have exited, whose suspended greenlets are still referenced.
  static std::vector<green::greenlet> from_dead_threads;
  for (int t = 0; t < 2; ++t) {
    std::thread([count] {
      std::vector<green::greenlet> mine;
      start_chains(mine, count);
      static std::mutex m;
      std::lock_guard<std::mutex> lock(m);
      for (auto& g : mine) from_dead_threads.push_back(g);
    }).join();
  }
  // A thread still running (blocked) at exit, with suspended greenlets.
  int ready[2];
  int never[2];
  if (::pipe(ready) != 0 || ::pipe(never) != 0) std::abort();
  std::thread([count, r = ready[1], n = never[0]] {
    std::vector<green::greenlet> mine;
    start_chains(mine, count);
    char c = 1;
    if (::write(r, &c, 1) != 1) std::abort();
    if (::read(n, &c, 1) < 0) std::abort();  // blocks until the process exits
  }).detach();
  char c = 0;
  if (::read(ready[0], &c, 1) != 1) std::abort();
  std::printf("OK: %d chains x 5 owners at exit, live=%zu\n", count,
              green::debug::live_greenlets());
  std::fflush(stdout);
  std::exit(0);
}
}  // namespace

BOOST_AUTO_TEST_CASE(process_exit_with_suspended_greenlets_exits_cleanly) {
  for (int count : {1, 10, 50}) {
    BOOST_TEST_CONTEXT("count " << count) {
      child_result r = run_in_child([count] { exit_with_active_greenlets(count); });
      BOOST_TEST_MESSAGE("child stdout: " << r.out << "child stderr: " << r.err);
      BOOST_TEST(r.exited_ok(), "child status " << r.status);
      // 5 owners (a stack, a static, two exited threads, one running thread),
      // each with `count` chains of 11 greenlets, all alive at exit.
      BOOST_TEST(r.out.find("OK: " + std::to_string(count) + " chains x 5 owners at exit, live=" +
                            std::to_string(count * 5 * 11) + "\n") != std::string::npos);
      BOOST_TEST(r.err.find("fatal") == std::string::npos);
      BOOST_TEST(r.err.find("did not kill") == std::string::npos);
    }
  }
}

// test_active_greenlet_at_shutdown_no_crash / test_greenlet_with_traceback_
// at_shutdown: the simplest cases, each alone in its child.
BOOST_AUTO_TEST_CASE(process_exit_with_one_greenlet_suspended_in_catch_block_exits_cleanly) {
  child_result r = run_in_child([] {
    static green::greenlet g([] {
      try {
        throw std::runtime_error("test error");
      } catch (const std::runtime_error&) {
        green::getcurrent().parent()->switch_(std::string("suspended with exc"));
      }
      return std::string("done");
    });
    if (green::value_cast<std::string>(g.switch_()) != "suspended with exc") std::abort();
    std::printf("OK: greenlet with active exception at shutdown\n");
    std::fflush(stdout);
    std::exit(0);
  });
  BOOST_TEST(r.exited_ok(), "child status " << r.status << ", stderr: " << r.err);
  BOOST_TEST(r.out.find("OK: greenlet with active exception at shutdown") != std::string::npos);
}

// G2.6 (UnswitchableGreenlet, test_failed_to_switch_into_running):
// a start that fails (here: no stack can be mapped) is a clean green::error,
// the greenlet stays unstarted and untouched, and a later retry works.
BOOST_AUTO_TEST_CASE(failed_initial_start_leaves_greenlet_unstarted_and_retry_works) {
  const std::size_t original = green::default_stack_size();
  int runs = 0;
  green::greenlet g([&runs](int v) {
    ++runs;
    return v + 1;
  });
  // More than the 128 TiB of user address space x86-64 has: mmap must fail.
  green::set_default_stack_size(std::size_t{1} << 48);
  bool threw = false;
  std::string message;
  try {
    g.switch_(41);
  } catch (const green::error& e) {
    threw = true;
    message = e.what();
  }
  green::set_default_stack_size(original);
  BOOST_TEST(threw);
  BOOST_TEST(message.find("cannot map a greenlet stack") != std::string::npos, message);
  BOOST_TEST(!g.started());
  BOOST_TEST(!g.dead());
  BOOST_TEST(g.has_run());
  BOOST_TEST(runs == 0);
  BOOST_TEST(green::value_cast<int>(g.switch_(41)) == 42);  // the retry starts it
  BOOST_TEST(runs == 1);
  BOOST_TEST(g.dead());
}

// std::exit() called on a greenlet's stack destroys the thread's green
// state there, then static objects: a static handle to that very greenlet
// then drops the last reference to a greenlet of an exited thread. Its
// stack is the one everything runs on: it must not be unmapped (before the
// fix: SIGSEGV after munmap; ASan reported a stack overflow at exit).
BOOST_AUTO_TEST_CASE(exit_called_on_a_greenlet_stack_with_a_static_handle_to_it_is_clean) {
  auto r = green::test::run_in_child([] {
    static std::optional<green::greenlet> g;  // destroyed by exit()
    g.emplace([] { std::exit(0); });
    g->switch_();
    return 1;  // not reached
  });
  BOOST_TEST(r.exited_ok(), "status " << r.status << ", stderr: " << r.err);
}

BOOST_AUTO_TEST_SUITE_END()
