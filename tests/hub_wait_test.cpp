// wait() and iwait(): docs/semantics.md H8, following gevent's
// src/gevent/tests/test__iwait.py (Testiwait: test_noiter,
// test_iwait_partial, test_iwait_nogarbage) and test__joinall.py, and the
// ordering gevent shows for wait/iwait (already ready objects first, then
// completion order; waiters are links).
#define BOOST_TEST_MODULE hub_wait
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

namespace {
bool mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}
green::task<int> sleeper(std::chrono::seconds d, int v) {
  return green::spawn([d, v] {
    green::sleep(d);
    return v;
  });
}
}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_wait, green::test::hub_check)

// test__joinall.py and gevent's iwait probe (H8.1): completion order.
BOOST_AUTO_TEST_CASE(wait_returns_the_objects_in_completion_order) {
  auto a = sleeper(3s, 0), b = sleeper(1s, 1), c = sleeper(2s, 2);
  auto done = green::wait({a, b, c});
  BOOST_REQUIRE_EQUAL(done.size(), 3u);
  BOOST_CHECK(done[0] == b);
  BOOST_CHECK(done[1] == c);
  BOOST_CHECK(done[2] == a);
  BOOST_CHECK(done[0].task().ready());
}

// H8.1: objects already ready come first, in argument order ([h1, h3, h2]).
BOOST_AUTO_TEST_CASE(already_ready_objects_come_first_in_argument_order) {
  auto h1 = sleeper(1s, 1), h2 = sleeper(5s, 2), h3 = sleeper(2s, 3);
  green::sleep(3s);
  auto done = green::wait({h3, h2, h1});
  BOOST_REQUIRE_EQUAL(done.size(), 3u);
  BOOST_CHECK(done[0] == h3);
  BOOST_CHECK(done[1] == h1);
  BOOST_CHECK(done[2] == h2);
}

// H8.1: a mix of tasks, events, async_results and semaphores; a
// semaphore is reported when a permit is free, and none is taken.
BOOST_AUTO_TEST_CASE(wait_over_a_mix_of_objects_reports_each_as_it_becomes_ready) {
  green::event e;
  green::async_result<int> r;
  green::semaphore s(0);
  auto t = sleeper(4s, 0);
  auto driver = green::spawn([&] {
    green::sleep(1s);
    s.release();
    green::sleep(1s);
    r.set(7);
    green::sleep(1s);
    e.set();
  });
  auto done = green::wait({t, e, r, s});
  BOOST_REQUIRE_EQUAL(done.size(), 4u);
  BOOST_CHECK(done[0] == s);
  BOOST_CHECK(done[1] == r);
  BOOST_CHECK(done[2] == e);
  BOOST_CHECK(done[3] == t);
  BOOST_CHECK(done[0].type() == green::waitable::kind::semaphore);
  BOOST_CHECK_EQUAL(s.counter(), 1);
  driver.join();
}

// test__iwait.py test_noiter: semaphores with free permits are ready at
// once, in argument order.
BOOST_AUTO_TEST_CASE(iwait_on_free_semaphores_returns_the_first_argument_first) {
  green::semaphore s1, s2;
  auto rel = green::spawn([&] { s1.release(); });
  auto it = green::iwait({s1, s2});
  auto first = it.next();
  BOOST_REQUIRE(first.has_value());
  BOOST_CHECK(*first == s1);
  rel.join();
}

// H8.2 (gevent: wait returns a partial list): the timeout covers the whole
// wait and never throws.
BOOST_AUTO_TEST_CASE(a_timeout_returns_the_objects_ready_so_far) {
  auto a = sleeper(1s, 0), b = sleeper(10s, 1);
  const auto t0 = green::get_hub().now();
  auto done = green::wait({a, b}, 5s);
  BOOST_REQUIRE_EQUAL(done.size(), 1u);
  BOOST_CHECK(done[0] == a);
  BOOST_CHECK(green::get_hub().now() - t0 == 5s);
  auto it = green::iwait({b}, 1s);
  BOOST_CHECK(!it.next().has_value());
  BOOST_CHECK(it.timed_out());
  BOOST_CHECK(!it.next().has_value());
  b.join();
}

// H8.2: the deadline is for the whole iteration, not per step.
BOOST_AUTO_TEST_CASE(the_iwait_deadline_covers_every_step) {
  auto a = sleeper(2s, 0), b = sleeper(4s, 1), c = sleeper(6s, 2);
  std::vector<int> got;
  for (const green::waitable& w : green::iwait({a, b, c}, 5s))
    got.push_back(*green::task<int>(w.task().native_handle()->shared_from_this()).value());
  BOOST_CHECK((got == std::vector<int>{0, 1}));
  c.join();
}

// H8.3 (stacklesslib's wait tests: count, count_large, count_small): count
// limits the result; 0 returns nothing at once; more than given is all.
BOOST_AUTO_TEST_CASE(count_stops_after_that_many_objects) {
  auto a = sleeper(1s, 0), b = sleeper(2s, 1), c = sleeper(3s, 2);
  auto t0 = green::get_hub().now();
  BOOST_CHECK(green::wait({a, b, c}, std::nullopt, 0).empty());
  BOOST_CHECK(green::get_hub().now() == t0);
  auto two = green::wait({a, b, c}, std::nullopt, 2);
  BOOST_REQUIRE_EQUAL(two.size(), 2u);
  BOOST_CHECK(two[1] == b);
  BOOST_CHECK(!c.ready());
  BOOST_CHECK_EQUAL(green::wait({a, b, c}, std::nullopt, 99).size(), 3u);
  BOOST_CHECK(green::wait(std::vector<green::waitable>{}).empty());
}

// H8.1: an object given twice is reported once per position.
BOOST_AUTO_TEST_CASE(an_object_given_twice_is_reported_twice) {
  green::event e;
  auto a = sleeper(1s, 0);
  auto setter = green::spawn([&] {
    green::sleep(2s);
    e.set();
  });
  auto done = green::wait({e, a, e});
  BOOST_REQUIRE_EQUAL(done.size(), 3u);
  BOOST_CHECK(done[0] == a);
  BOOST_CHECK(done[1] == e);
  BOOST_CHECK(done[2] == e);
  setter.join();
}

// gevent 1.15 item 2: a waiter in wait() is a link, so it runs after the
// links registered before it and before those registered after it.
BOOST_AUTO_TEST_CASE(a_wait_returns_between_the_links_registered_before_and_after_it) {
  std::vector<std::string> trace;
  auto t = sleeper(1s, 0);
  t.rawlink([&](const green::task_base&) { trace.push_back("before"); });
  auto w = green::spawn([&] {
    green::wait({t});
    trace.push_back("waiter");
  });
  green::sleep();
  t.rawlink([&](const green::task_base&) { trace.push_back("after"); });
  w.join();
  BOOST_CHECK((trace == std::vector<std::string>{"before", "waiter", "after"}));
}

// test__iwait.py test_iwait_partial, test_iwait_nogarbage (H8.4): an
// iwait abandoned early unlinks itself; the objects can fire later safely.
BOOST_AUTO_TEST_CASE(an_iwait_abandoned_early_leaves_no_callbacks_behind) {
  green::event e;
  green::semaphore s(0);
  green::async_result<void> r;
  auto t = sleeper(3s, 0);
  auto rel = green::spawn([&] {
    green::sleep(1s);
    s.release();
  });
  int steps = 0;
  for (const green::waitable& w : green::iwait({e, s, r, t})) {
    ++steps;
    BOOST_CHECK(w == s);
    break;
  }
  BOOST_CHECK_EQUAL(steps, 1);
  e.set();
  r.set();
  s.release();
  t.join();
  green::sleep();
  auto closed = green::iwait({e, s});
  closed.close();
  BOOST_CHECK(!closed.next().has_value());
  BOOST_CHECK(!closed.timed_out());
  rel.join();
}

// H8.7: a kill or an expiring timeout scope at an iwait step propagates;
// the range stays usable and keeps what became ready meanwhile.
BOOST_AUTO_TEST_CASE(a_timeout_scope_at_an_iwait_step_propagates_and_the_range_goes_on) {
  auto a = sleeper(2s, 0), b = sleeper(3s, 1);
  auto it = green::iwait({a, b});
  bool expired = false;
  try {
    green::timeout t(1s);
    it.next();
  } catch (const green::timeout&) {
    expired = true;
  }
  BOOST_CHECK(expired);
  green::sleep(5s);
  auto x = it.next(), y = it.next();
  BOOST_REQUIRE(x && y);
  BOOST_CHECK(*x == a);
  BOOST_CHECK(*y == b);
  BOOST_CHECK(!it.next().has_value());
}

// H8.2, H8.7: a timeout scope expiring in wait() propagates (the wait's own
// timeout does not throw, the scope's does).
BOOST_AUTO_TEST_CASE(a_timeout_scope_expiring_in_wait_propagates) {
  auto a = sleeper(5s, 0);
  bool expired = false;
  try {
    green::timeout t(1s);
    green::wait({a}, 10s);
  } catch (const green::timeout&) {
    expired = true;
  }
  BOOST_CHECK(expired);
  a.join();
}

BOOST_AUTO_TEST_CASE(a_greenlet_killed_in_wait_or_iwait_unwinds_and_unlinks) {
  green::event e;
  green::semaphore s(0);
  auto w1 = green::spawn([&] { green::wait({e, s}); });
  auto w2 = green::spawn([&] {
    for (const green::waitable& w : green::iwait({e, s})) (void)w;
  });
  green::sleep();
  green::killall({w1, w2});
  BOOST_CHECK(w1.exited());
  BOOST_CHECK(w2.exited());
  e.set();
  s.release();
  green::sleep();
}

// H8.5: blocking in the hub is refused; a wait the ready objects satisfy
// does not block, so the hub may make it.
BOOST_AUTO_TEST_CASE(wait_in_the_hub_works_when_ready_and_refuses_to_block) {
  green::event set, unset;
  set.set();
  std::size_t got = 0;
  bool refused = false;
  green::get_hub().run_callback([&] {
    got = green::wait({set}).size();
    try {
      green::wait({unset});
    } catch (const green::blocking_switch_out_error&) {
      refused = true;
    }
  });
  green::sleep();
  BOOST_CHECK_EQUAL(got, 1u);
  BOOST_CHECK(refused);
}

// H8.6, H5.3: an async_result another thread sets keeps the loop
// alive and wakes the wait.
BOOST_AUTO_TEST_CASE(wait_on_an_async_result_set_by_another_thread_returns_it) {
  green::async_result<int> r;
  green::event never;
  std::atomic<bool> ticked{false};
  // The ticker runs once main blocked; the worker sets only then, so the
  // hub must wait for it rather than raise loop_exit.
  auto ticker = green::spawn([&] { ticked = true; });
  std::thread worker([&] {
    while (!ticked) std::this_thread::yield();
    r.set(3);
  });
  auto done = green::wait({never, r}, std::nullopt, 1);
  worker.join();
  ticker.join();
  BOOST_REQUIRE_EQUAL(done.size(), 1u);
  BOOST_CHECK(done[0] == r);
}

// H2.2: the loop_exit report names wait and iwait.
BOOST_AUTO_TEST_CASE(a_deadlocked_wait_is_reported_as_wait_or_iwait) {
  green::event e;
  std::string report;
  try {
    green::wait({e});
  } catch (const green::loop_exit& ex) {
    report = ex.report();
  }
  BOOST_CHECK(mentions(report, "main greenlet waits on wait "));
  auto it = green::iwait({e});
  try {
    it.next();
  } catch (const green::loop_exit& ex) {
    report = ex.report();
  }
  BOOST_CHECK(mentions(report, "main greenlet waits on iwait "));
}

// H8.5: objects of another thread's hub, or the range itself used there,
// are errors.
BOOST_AUTO_TEST_CASE(waiting_across_threads_is_an_error) {
  green::event mine;
  auto it = green::iwait({mine});
  std::vector<std::string> messages;
  std::thread other([&] {
    try {
      green::wait({mine}, 1s);
      messages.push_back("no error");
    } catch (const green::error& e) {
      messages.push_back(e.what());
    }
    try {
      it.next();
      messages.push_back("no error");
    } catch (const green::error& e) {
      messages.push_back(e.what());
    }
    green::destroy_hub();
  });
  other.join();
  BOOST_REQUIRE_EQUAL(messages.size(), 2u);
  for (const auto& m : messages) BOOST_CHECK(mentions(m, "another thread"));
}

// H8.4: the wait keeps the objects' state alive, so destroying a watched
// event or semaphore under an iwait is safe.
BOOST_AUTO_TEST_CASE(destroying_a_watched_object_during_an_iwait_is_safe) {
  auto e = std::make_unique<green::event>();
  auto s = std::make_unique<green::semaphore>(0);
  auto it = green::iwait({*e, *s}, 1s);
  e.reset();
  s.reset();
  BOOST_CHECK(!it.next().has_value());
  BOOST_CHECK(it.timed_out());
}

// H8.4, H7.6: a release() from a hub callback wakes an iwait at once; the
// woken greenlet destroys the range and the semaphore while that release()
// is still running (no use after free, under AddressSanitizer).
BOOST_AUTO_TEST_CASE(a_greenlet_woken_by_release_may_destroy_the_range_and_the_semaphore) {
  auto s = std::make_unique<green::semaphore>(0);
  auto r = std::make_unique<green::iwait_range>(green::iwait({*s, *s}));
  bool woke = false;
  auto w = green::spawn([&] {
    woke = r->next().has_value();
    r.reset();
    s.reset();
  });
  green::sleep();
  green::semaphore* raw = s.get();
  green::get_hub().run_callback([raw] { raw->release(); });
  w.join();
  BOOST_CHECK(woke);
  BOOST_CHECK(!s);
}

// Ranges of handles convert element by element.
BOOST_AUTO_TEST_CASE(wait_accepts_a_vector_of_typed_tasks) {
  std::vector<green::task<int>> ts{sleeper(2s, 0), sleeper(1s, 1)};
  auto done = green::wait(ts);
  BOOST_REQUIRE_EQUAL(done.size(), 2u);
  BOOST_CHECK(done[0] == ts[1]);
  int n = 0;
  for (const auto& w : green::iwait(ts)) n += w.ready();
  BOOST_CHECK_EQUAL(n, 2);
}

BOOST_AUTO_TEST_SUITE_END()
