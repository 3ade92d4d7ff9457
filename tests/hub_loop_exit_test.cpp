// loop_exit, the hub's blocking rules and its clocks: docs/semantics.md H1,
// H2, following gevent's src/gevent/tests/test__hub.py (TestWaiterNotify,
// LoopExit cases) and the LoopExit fine point verified against gevent 22.10.
#define BOOST_TEST_MODULE hub_loop_exit
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(hub_loop_exit, green::test::hub_check)

// H2.1; gevent: Event().wait() in main raises LoopExit.
BOOST_AUTO_TEST_CASE(main_waiting_on_an_event_nobody_sets_gets_loop_exit) {
  green::event e;
  BOOST_CHECK_THROW(e.wait(), green::loop_exit);
}

// H2.2: the report names each waiting greenlet, what it waits on, and where
// it was spawned.
BOOST_AUTO_TEST_CASE(the_loop_exit_report_names_every_waiting_greenlet) {
  green::event never;
  auto stuck = green::spawn([&] { never.wait(); });
  stuck.set_name("stuck");
  auto joiner = green::spawn([&] { stuck.join(); });
  joiner.set_name("joiner");
  try {
    joiner.join();
    BOOST_ERROR("no loop_exit");
  } catch (const green::loop_exit& e) {
    const auto& w = e.waiting();
    BOOST_REQUIRE_EQUAL(w.size(), 3u);
    BOOST_CHECK(w[0].is_main);
    BOOST_CHECK(w[0].waits_on.find("join of task #") != std::string::npos);
    BOOST_CHECK_EQUAL(w[1].name, "stuck");
    BOOST_CHECK(w[1].waits_on.find("event") == 0);
    BOOST_CHECK(w[1].spawned_at.find("hub_loop_exit_test.cpp:") != std::string::npos);
    BOOST_CHECK(w[2].waits_on.find("'stuck'") != std::string::npos);
    BOOST_CHECK(std::string(e.what()).find("would block forever") != std::string::npos);
  }
  green::killall({stuck, joiner});
}

// H2.3; gevent 1.15 item 11: sleepers keep the loop alive; main may catch
// loop_exit and block again.
BOOST_AUTO_TEST_CASE(sleepers_keep_the_loop_alive_and_main_may_block_again_after_loop_exit) {
  green::event e;
  auto sleeper = green::spawn([&] {
    green::sleep(1h);
    e.set();
  });
  BOOST_CHECK(e.wait());  // no loop_exit while the sleeper's timer is pending
  green::event never;
  BOOST_CHECK_THROW(never.wait(), green::loop_exit);
  auto late = green::spawn([] {});
  BOOST_CHECK(late.join());
}

// H1.5: blocking from inside the hub.
BOOST_AUTO_TEST_CASE(blocking_in_a_hub_callback_throws_blocking_switch_out_error) {
  bool thrown = false;
  green::get_hub().run_callback([&] {
    try {
      green::event e;
      e.wait();
    } catch (const green::blocking_switch_out_error&) {
      thrown = true;
    }
  });
  green::sleep();
  BOOST_CHECK(thrown);
}

BOOST_AUTO_TEST_CASE(make_hub_twice_is_an_error) {
  BOOST_CHECK_THROW(green::make_hub({}), green::error);
}

BOOST_AUTO_TEST_SUITE_END()

// H1.8: the real clock really waits (a short sleep, checked only as a lower bound).
BOOST_FIXTURE_TEST_SUITE(hub_real_clock, green::test::real_clock_hub)

BOOST_AUTO_TEST_CASE(a_real_clock_sleep_waits_at_least_its_duration) {
  const auto t0 = std::chrono::steady_clock::now();
  auto t = green::spawn([] { green::sleep(2ms); });
  green::sleep(1ms);
  t.join();
  BOOST_CHECK(std::chrono::steady_clock::now() - t0 >= 2ms);
  green::event never;
  BOOST_CHECK_THROW(never.wait(), green::loop_exit);
}

BOOST_AUTO_TEST_SUITE_END()
