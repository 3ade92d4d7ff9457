// The monitor thread: docs/semantics.md H12.1-H12.3, following gevent's
// monitor thread (src/gevent/_monitor.py; src/gevent/tests/test__monitor.py,
// which checks that a greenlet that does not switch is reported and a hub
// that switches is not). The only timing the cases rely on: a greenlet that
// spins (without switching) until the report arrives is reported, and a
// program that switches every few microseconds is not reported with a
// threshold of half a second.
#define BOOST_TEST_MODULE hub_monitor
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"
#include "support/sanitizers.hpp"

using namespace std::chrono_literals;

namespace {

// Collects the reports, which arrive on the monitor thread.
struct collector {
  std::mutex m;
  std::vector<green::blocking_report> reports;
  std::atomic<int> count{0};
  green::blocking_handler handler() {
    return [this](const green::blocking_report& r) {
      std::lock_guard<std::mutex> g(m);
      reports.push_back(r);
      ++count;
    };
  }
  std::vector<green::blocking_report> about(std::uint64_t id) {
    std::lock_guard<std::mutex> g(m);
    std::vector<green::blocking_report> out;
    for (auto& r : reports)
      if (r.greenlet_id == id) out.push_back(r);
    return out;
  }
};

// Spins on the real clock, without switching, until `c` has a report (at
// most `cap`), then for `after` more.
void spin_until_reported(collector& c, std::chrono::milliseconds after,
                         std::chrono::seconds cap = 20s) {
  const auto give_up = std::chrono::steady_clock::now() + cap;
  while (c.count.load() == 0 && std::chrono::steady_clock::now() < give_up) {
  }
  const auto end = std::chrono::steady_clock::now() + after;
  while (std::chrono::steady_clock::now() < end) {
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_monitor, green::test::hub_check)

// H12.1, H12.2: reported once, with its name, id and where it runs.
BOOST_AUTO_TEST_CASE(a_greenlet_spinning_past_the_threshold_is_reported_once_with_its_name) {
  collector c;
  green::start_monitor(20ms, c.handler());
  BOOST_CHECK(green::monitor_running());
  auto spinner = green::spawn([&] { spin_until_reported(c, 200ms); });
  spinner.set_name("spinner");
  spinner.join();
  green::stop_monitor();
  BOOST_CHECK(!green::monitor_running());
  auto mine = c.about(spinner.greenlet_().id());
  BOOST_REQUIRE_EQUAL(mine.size(), 1u);  // one episode, one report
  const auto& r = mine.front();
  BOOST_CHECK_EQUAL(r.greenlet_name, "spinner");
  BOOST_CHECK(!r.is_main);
  BOOST_CHECK(r.blocked_for >= 20ms);
  BOOST_CHECK(r.threshold == 20ms);
  if (!green::test::under_tsan) {
    // ThreadSanitizer may hold a signal back until the thread makes a call
    // it intercepts; a busy loop makes none.
    BOOST_CHECK(!r.backtrace.empty());
  }
  const std::string text = r.text();
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK(text.find("'spinner'") != std::string::npos);
  BOOST_CHECK(text.find("max_blocking_time 20 ms") != std::string::npos);
}

// H12.1: main holding the thread outside the hub counts too, and a second
// episode gets a second report.
BOOST_AUTO_TEST_CASE(main_blocking_the_thread_is_reported_as_main_once_per_episode) {
  collector c;
  green::start_monitor(20ms, c.handler());
  spin_until_reported(c, 100ms);
  green::sleep();  // a switch ends the episode
  const int first = c.count.load();
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (c.count.load() == first && std::chrono::steady_clock::now() < give_up) {
  }
  green::stop_monitor();
  auto mine = c.about(green::getmain().id());
  BOOST_REQUIRE_GE(mine.size(), 2u);
  BOOST_CHECK(mine[0].is_main);
  BOOST_CHECK_EQUAL(mine[0].greenlet_name, "main");
}

// H12.1: a hub waiting for another thread is not a greenlet holding it.
BOOST_AUTO_TEST_CASE(a_hub_waiting_for_another_thread_is_not_reported) {
  collector c;
  green::async_result<int> r;
  std::thread other([&] {
    std::this_thread::sleep_for(600ms);
    r.set(1);
  });
  // Started just before main switches to the hub, with a threshold that the
  // few steps in between cannot reach even under valgrind.
  green::start_monitor(100ms, c.handler());
  BOOST_CHECK_EQUAL(r.get(), 1);
  green::stop_monitor();
  other.join();
  BOOST_CHECK_EQUAL(c.about(green::getmain().id()).size(), 0u);
  BOOST_CHECK_EQUAL(c.about(green::get_hub().hub_greenlet().id()).size(), 0u);
}

// H12.1: greenlets that switch often are never reported.
BOOST_AUTO_TEST_CASE(a_well_behaved_program_is_not_reported) {
  collector c;
  green::start_monitor(500ms, c.handler());
  const auto end = std::chrono::steady_clock::now() + 1200ms;
  std::vector<green::task_base> ts;
  for (int i = 0; i < 20; ++i) {
    ts.push_back(green::spawn([end] {
      while (std::chrono::steady_clock::now() < end) green::sleep();
    }));
  }
  green::joinall(ts);
  green::stop_monitor();
  BOOST_CHECK_EQUAL(c.count.load(), 0);
}

// H12.3: destroy_hub() stops the monitor and removes its trace function.
BOOST_AUTO_TEST_CASE(the_monitor_stops_with_the_hub) {
  collector c;
  green::start_monitor(20ms, c.handler());
  BOOST_CHECK(static_cast<bool>(green::gettrace()));
  green::destroy_hub();
  BOOST_CHECK(!static_cast<bool>(green::gettrace()));
  BOOST_CHECK(!green::monitor_running());  // the new hub has none
}

// H12.3: a thread that exits with its monitor running stops it with its hub.
BOOST_AUTO_TEST_CASE(a_thread_exiting_with_its_monitor_running_stops_it) {
  bool running = false;
  std::thread other([&] {
    green::start_monitor(1s);
    green::sleep();
    running = green::monitor_running();
  });
  other.join();
  BOOST_CHECK(running);
}

// H12.1: the trace function installed before the monitor still sees every
// switch, and is back once the monitor stops.
BOOST_AUTO_TEST_CASE(the_monitor_chains_to_the_trace_function_installed_before) {
  int seen = 0;
  green::settrace(
      [&](green::trace_event, const green::greenlet&, const green::greenlet&) { ++seen; });
  green::start_monitor(1s);
  green::sleep();
  BOOST_CHECK(seen > 0);
  green::stop_monitor();
  const int before = seen;
  // A task makes real switches (a lone sleep(0) whose own wake-up is next
  // in the hub's batch returns without switching, H1.2).
  green::spawn([] {}).join();
  BOOST_CHECK(seen > before);
  green::settrace({});
}

// Misuse.
BOOST_AUTO_TEST_CASE(starting_a_second_monitor_or_a_zero_threshold_is_an_error) {
  BOOST_CHECK_THROW(green::start_monitor(0ms), green::value_error);
  BOOST_CHECK(!green::monitor_running());
  green::stop_monitor();  // none: nothing happens
  green::start_monitor(1s);
  BOOST_CHECK_THROW(green::start_monitor(1s), green::error);
  green::stop_monitor();
  BOOST_CHECK(!static_cast<bool>(green::gettrace()));
}

BOOST_AUTO_TEST_SUITE_END()
