// Killing spawned greenlets: docs/semantics.md H3.5-H3.7, following gevent's
// src/gevent/tests/test__greenlet.py (TestKill, test_kill_*) and the kill
// fine points verified against gevent 22.10.
#define BOOST_TEST_MODULE hub_kill
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(hub_kill, green::test::hub_check)

// H3.6; gevent test_kill_before_start: never runs, links fire, get() returns.
BOOST_AUTO_TEST_CASE(a_task_killed_before_it_started_never_runs_and_its_links_fire) {
  bool ran = false, linked = false;
  auto t = green::spawn([&] { ran = true; });
  t.rawlink([&](const green::task_base&) { linked = true; });
  t.kill(nullptr, false);
  // Synchronous even with block=false (gevent 22.10).
  BOOST_CHECK(t.ready());
  BOOST_CHECK(t.successful());
  BOOST_CHECK(t.exited());
  BOOST_CHECK_NO_THROW(t.get());
  green::sleep();
  BOOST_CHECK(!ran);
  BOOST_CHECK(linked);
}

BOOST_AUTO_TEST_CASE(a_spawn_later_task_killed_before_its_timer_never_runs) {
  bool ran = false;
  auto t = green::spawn_later(10s, [&] { ran = true; });
  t.kill();
  green::sleep(20s);
  BOOST_CHECK(!ran);
  BOOST_CHECK(t.ready() && t.exited());
}

// H3.5: the kill lands at the blocking point, destructors run; block waits.
BOOST_AUTO_TEST_CASE(kill_unwinds_a_task_blocked_in_sleep_and_waits_for_it) {
  std::vector<std::string> trace;
  auto t = green::spawn([&] {
    struct on_exit {
      std::vector<std::string>& t;
      ~on_exit() { t.push_back("unwound"); }
    } guard{trace};
    green::sleep(3600s);
    trace.push_back("woke");
  });
  green::sleep();
  t.kill();
  BOOST_CHECK(t.ready());
  BOOST_CHECK((trace == std::vector<std::string>{"unwound"}));
  BOOST_CHECK(t.successful());  // H3.7: a greenlet_exit kill counts as success
}

BOOST_AUTO_TEST_CASE(kill_reaches_a_task_blocked_in_join_and_in_event_wait) {
  green::event never;
  auto waiter = green::spawn([&] { never.wait(); });
  auto joiner = green::spawn([&] { waiter.join(); });
  green::sleep();
  joiner.kill();
  BOOST_CHECK(joiner.ready() && !waiter.ready());
  waiter.kill();
  BOOST_CHECK(waiter.ready());
}

// H3.7; gevent: kill(KeyError) -> not successful, get re-raises that object.
BOOST_AUTO_TEST_CASE(a_kill_with_a_user_exception_makes_the_task_unsuccessful) {
  auto prev = green::get_hub().set_error_handler([](const green::failure_report&) {});
  auto t = green::spawn([] { green::sleep(10s); });
  green::sleep();
  t.kill(std::out_of_range("stop"));
  BOOST_CHECK(t.ready() && !t.successful());
  BOOST_CHECK_THROW(t.get(), std::out_of_range);
  green::get_hub().set_error_handler(prev);
}

// H3.7: a task that catches the kill and returns a value is successful.
BOOST_AUTO_TEST_CASE(a_task_that_catches_the_kill_and_returns_is_successful_with_its_value) {
  auto t = green::spawn([]() -> int {
    try {
      green::sleep(10s);
    } catch (const green::greenlet_exit&) {
      return 7;
    }
    return 0;
  });
  green::sleep();
  t.kill();
  BOOST_CHECK_EQUAL(t.get(), 7);
}

// H3.5; gevent 1.15 item 5: a blocking kill waits for death even when the
// target catches the exit and blocks again; block=false returns at once.
BOOST_AUTO_TEST_CASE(a_blocking_kill_waits_for_death_and_a_nonblocking_one_does_not) {
  auto t = green::spawn([] {
    try {
      green::sleep(10s);
    } catch (const green::greenlet_exit&) {
      green::sleep(5s);
    }
  });
  green::sleep();
  t.kill(nullptr, false);
  BOOST_CHECK(!t.ready());
  t.kill();
  BOOST_CHECK(t.ready());
}

// gevent 1.15 item 6: a kill during sleep(0) lands at the next blocking call,
// after the already-queued resume.
BOOST_AUTO_TEST_CASE(a_kill_during_sleep_zero_lands_at_the_next_blocking_call) {
  std::vector<std::string> trace;
  auto t = green::spawn([&] {
    green::sleep();
    trace.push_back("after sleep0");
    green::sleep(1s);
    trace.push_back("not reached");
  });
  green::sleep();  // t is now in sleep(0), its resume queued behind main's
  t.kill(nullptr, false);
  t.join();
  BOOST_CHECK((trace == std::vector<std::string>{"after sleep0"}));
}

BOOST_AUTO_TEST_CASE(killall_kills_unstarted_and_blocked_tasks) {
  bool ran = false;
  auto a = green::spawn([] { green::sleep(100s); });
  green::sleep();
  auto b = green::spawn([&] { ran = true; });
  green::killall({a, b});
  BOOST_CHECK(a.ready() && b.ready());
  BOOST_CHECK(!ran);
}

BOOST_AUTO_TEST_CASE(killall_throws_timeout_when_a_task_survives) {
  auto stubborn = green::spawn([] {
    try {
      green::sleep(10s);
    } catch (const green::greenlet_exit&) {
      green::sleep(10s);
    }
  });
  green::sleep();
  BOOST_CHECK_THROW(green::killall({stubborn}, nullptr, true, 1s), green::timeout);
  stubborn.join();
}

BOOST_AUTO_TEST_CASE(destroy_hub_unwinds_every_blocked_task) {
  int unwound = 0;
  struct on_exit {
    int& n;
    ~on_exit() { ++n; }
  };
  green::event never;
  auto a = green::spawn([&] {
    on_exit g{unwound};
    never.wait();
  });
  auto b = green::spawn([&] {
    on_exit g{unwound};
    green::sleep(1000s);
  });
  green::sleep();
  green::destroy_hub();
  BOOST_CHECK_EQUAL(unwound, 2);
  BOOST_CHECK(a.ready() && b.ready());
  green::make_hub({.virtual_clock = true});
}

// H1.7: a thread that exits with tasks still blocked destroys its hub, which
// unwinds them.
BOOST_AUTO_TEST_CASE(a_thread_exiting_with_blocked_tasks_unwinds_them) {
  int unwound = 0;
  std::thread other([&] {
    struct on_exit {
      int& n;
      ~on_exit() { ++n; }
    };
    auto sleeper = green::spawn([&] {
      on_exit g{unwound};
      green::sleep(std::chrono::hours(1));
    });
    green::spawn([&] {
      on_exit g{unwound};
      green::event().wait();
    });
    green::sleep();
  });
  other.join();
  BOOST_CHECK_EQUAL(unwound, 2);
}

// H1.7: a task that catches the exit and waits again during destroy_hub()
// gets a green::error instead of blocking a hub that is going away.
BOOST_AUTO_TEST_CASE(a_task_that_blocks_again_while_its_hub_is_destroyed_gets_an_error) {
  std::vector<std::string> reports;
  green::get_hub().set_error_handler(
      [&](const green::failure_report& r) { reports.push_back(r.type + ": " + r.what); });
  auto t = green::spawn([] {
    try {
      green::sleep(10s);
    } catch (const green::greenlet_exit&) {
      green::sleep(10s);
    }
  });
  green::sleep();
  green::destroy_hub();
  BOOST_CHECK(t.ready() && !t.successful());
  BOOST_REQUIRE_EQUAL(reports.size(), 1u);
  BOOST_CHECK(reports[0].find("while the hub is being destroyed") != std::string::npos);
  green::make_hub({.virtual_clock = true});
}

// H3.5: kill never throws on the target's account, but the caller can still be
// killed or timed out while it waits in a blocking kill (gevent's kill joins
// without catching): nothing aimed at the killer is lost.
BOOST_AUTO_TEST_CASE(a_killer_waiting_in_a_blocking_kill_can_itself_be_killed) {
  std::vector<std::string> trace;
  auto stubborn = green::spawn([&] {
    for (;;) {
      try {
        green::sleep(3600s);
      } catch (const green::greenlet_exit&) {
        trace.push_back("stubborn survives");
      }
    }
  });
  auto killer = green::spawn([&] {
    struct on_exit {
      std::vector<std::string>& t;
      ~on_exit() { t.push_back("killer unwound"); }
    } guard{trace};
    stubborn.kill();  // blocks: stubborn never dies
    trace.push_back("killer went on");
  });
  green::sleep(1s);
  killer.kill();
  BOOST_CHECK(killer.ready() && killer.exited());
  BOOST_CHECK((trace == std::vector<std::string>{"stubborn survives", "killer unwound"}));
  stubborn.kill(std::runtime_error("stop"));
  BOOST_CHECK(stubborn.ready());
}

// gevent's kill joins without catching: a timeout aimed at the killer
// expires inside kill() and propagates (it was swallowed before, and the
// killer's own deadline was lost).
BOOST_AUTO_TEST_CASE(a_timeout_aimed_at_the_killer_propagates_out_of_a_blocking_kill) {
  auto stubborn = green::spawn([] {
    for (;;) {
      try {
        green::sleep(3600s);
      } catch (const green::greenlet_exit&) {
      }
    }
  });
  green::sleep();
  bool finished = green::within(5s, [&] { stubborn.kill(); });
  BOOST_CHECK(!finished);
  BOOST_CHECK(!stubborn.ready());
  stubborn.kill(std::runtime_error("stop"));
  BOOST_CHECK(stubborn.ready());
}

// H1.9: a task belongs to its thread's hub; a kill from another thread is a
// misuse reported at the caller, not a silent no-op.
BOOST_AUTO_TEST_CASE(killing_a_task_from_another_thread_is_an_error_and_kills_nothing) {
  auto t = green::spawn([] { green::sleep(1s); });
  std::string message;
  std::thread other([&] {
    try {
      t.kill();
    } catch (const green::error& e) {
      message = e.what();
    }
  });
  other.join();
  BOOST_CHECK(message.find("another thread") != std::string::npos);
  BOOST_CHECK(!t.ready());
  t.join();
  BOOST_CHECK(t.successful() && !t.exited());
}

BOOST_AUTO_TEST_SUITE_END()
