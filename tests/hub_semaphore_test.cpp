// semaphore and bounded_semaphore: docs/semantics.md H7, following gevent's
// src/gevent/tests/test__semaphore.py (TestSemaphore, TestBoundedSemaphore,
// TestSemaphoreFair) and lock_tests.py (BaseSemaphoreTests,
// BoundedSemaphoreTests).
#define BOOST_TEST_MODULE hub_semaphore
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
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
}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_semaphore, green::test::hub_check)

// lock_tests.py BaseSemaphoreTests.test_acquire: permits count down, and
// locked()/ready() follow the counter.
BOOST_AUTO_TEST_CASE(acquire_takes_free_permits_and_counts_down) {
  green::semaphore s(2);
  BOOST_CHECK(s.ready());
  BOOST_CHECK(s.acquire());
  BOOST_CHECK(s.acquire(false));
  BOOST_CHECK_EQUAL(s.counter(), 0);
  BOOST_CHECK(s.locked());
  BOOST_CHECK(!s.acquire(false));
  s.release();
  s.release();
  BOOST_CHECK_EQUAL(s.counter(), 2);
}

// test__semaphore.py TestSemaphore.test_acquire_returns_false_after_timeout
// (H7.1): a timeout is a false return, never a throw.
BOOST_AUTO_TEST_CASE(a_timed_acquire_returns_false_on_timeout_without_throwing) {
  green::semaphore s(0);
  const auto t0 = green::get_hub().now();
  BOOST_CHECK(!s.acquire(true, 5s));
  BOOST_CHECK(green::get_hub().now() - t0 >= 5s);
  BOOST_CHECK(!s.acquire(0s));
  BOOST_CHECK_EQUAL(s.waiting(), 0u);
  BOOST_CHECK_EQUAL(s.counter(), 0);
}

// test__semaphore.py TestSemaphoreFair (H7.2): waiters are served in
// arrival order.
BOOST_AUTO_TEST_CASE(waiters_get_permits_in_fifo_order) {
  green::semaphore s(0);
  std::vector<int> trace;
  std::vector<green::task_base> ws;
  for (int i = 0; i < 4; ++i)
    ws.push_back(green::spawn([&, i] {
      s.acquire();
      trace.push_back(i);
    }));
  green::sleep();
  for (int i = 0; i < 4; ++i) s.release();
  green::joinall(ws);
  BOOST_CHECK((trace == std::vector<int>{0, 1, 2, 3}));
  BOOST_CHECK_EQUAL(s.counter(), 0);
}

// H7.2: a released permit is handed to the oldest waiter; the releaser
// cannot take it back before the waiter ran.
BOOST_AUTO_TEST_CASE(a_released_permit_goes_to_the_waiter_not_to_a_later_acquirer) {
  green::semaphore s(0);
  bool got = false;
  auto w = green::spawn([&] { got = s.acquire(); });
  green::sleep();
  s.release();
  BOOST_CHECK(!s.acquire(false));
  BOOST_CHECK(s.locked());
  w.join();
  BOOST_CHECK(got);
  BOOST_CHECK_EQUAL(s.counter(), 0);
}

// H7.2: a waiter killed before any permit came leaves the queue; the next
// permit goes to the waiter behind it.
BOOST_AUTO_TEST_CASE(a_waiter_killed_in_acquire_leaves_the_next_permit_to_the_one_behind) {
  green::semaphore s(0);
  std::vector<int> got;
  auto a = green::spawn([&] {
    s.acquire();
    got.push_back(1);
  });
  auto b = green::spawn([&] {
    s.acquire();
    got.push_back(2);
  });
  green::sleep();
  a.kill();
  BOOST_CHECK(a.exited());
  BOOST_CHECK_EQUAL(s.waiting(), 1u);
  s.release();
  b.join();
  BOOST_CHECK((got == std::vector<int>{2}));
  BOOST_CHECK_EQUAL(s.counter(), 0);
}

// H7.2: a waiter whose timeout scope expires in acquire takes nothing.
BOOST_AUTO_TEST_CASE(a_timeout_scope_expiring_in_acquire_takes_no_permit) {
  green::semaphore s(0);
  bool timed_out = false;
  auto a = green::spawn([&] {
    green::timeout t(1s);
    try {
      s.acquire();
    } catch (const green::timeout& e) {
      timed_out = e == t;
    }
  });
  a.join();
  BOOST_CHECK(timed_out);
  BOOST_CHECK_EQUAL(s.waiting(), 0u);
  s.release();
  BOOST_CHECK_EQUAL(s.counter(), 1);
}

// H7.2: a kill that arrives after the permit was handed over lands at the
// waiter's next blocking point: the waiter owns the permit (its guard gives
// it back), so it is neither lost nor doubled.
BOOST_AUTO_TEST_CASE(a_kill_after_the_hand_over_lands_at_the_next_blocking_point) {
  green::semaphore s(0);
  bool held = false;
  auto a = green::spawn([&] {
    std::lock_guard<green::semaphore> hold(s);
    held = true;
    green::sleep(1h);
  });
  green::sleep();
  s.release();
  a.kill(nullptr, false);
  a.join();
  BOOST_CHECK(held);
  BOOST_CHECK(a.exited());
  BOOST_CHECK_EQUAL(s.counter(), 1);
}

// test__semaphore.py TestSemaphore.test_wait: wait() does not take a
// permit; it returns the counter, 0 on timeout.
BOOST_AUTO_TEST_CASE(wait_returns_the_counter_without_taking_a_permit_and_zero_on_timeout) {
  green::semaphore s(0);
  BOOST_CHECK_EQUAL(s.wait(1s), 0);
  std::ptrdiff_t seen = -1;
  auto w = green::spawn([&] { seen = s.wait(); });
  green::sleep();
  s.release();
  w.join();
  BOOST_CHECK_EQUAL(seen, 1);
  BOOST_CHECK_EQUAL(s.counter(), 1);
  BOOST_CHECK_EQUAL(s.wait(), 1);
}

// H7.2: a watcher in wait() does not consume the permit meant for the
// acquirer queued behind it, and an acquirer ahead of a watcher takes it.
BOOST_AUTO_TEST_CASE(watchers_and_acquirers_are_served_in_arrival_order) {
  green::semaphore s(0);
  std::vector<std::string> trace;
  auto taker = green::spawn([&] {
    s.acquire();
    trace.push_back("taker");
  });
  auto watcher =
      green::spawn([&] { trace.push_back("watcher saw " + std::to_string(s.wait(10s))); });
  green::sleep();
  s.release();  // goes to the taker; the watcher sees no free permit
  green::joinall({taker, watcher});
  BOOST_CHECK((trace == std::vector<std::string>{"taker", "watcher saw 0"}));
}

// H7.1: a kill or a timeout scope in wait() removes the watcher.
BOOST_AUTO_TEST_CASE(a_kill_or_timeout_scope_in_wait_leaves_no_watcher_behind) {
  green::semaphore s(0);
  auto killed = green::spawn([&] { s.wait(); });
  bool expired = false;
  auto scoped = green::spawn([&] {
    green::timeout t(1s);
    try {
      s.wait();
    } catch (const green::timeout&) {
      expired = true;
    }
  });
  green::sleep();
  BOOST_CHECK_EQUAL(s.waiting(), 2u);
  killed.kill();
  scoped.join();
  BOOST_CHECK(killed.exited());
  BOOST_CHECK(expired);
  BOOST_CHECK_EQUAL(s.waiting(), 0u);
  s.release();
  BOOST_CHECK_EQUAL(s.counter(), 1);
}

// test__semaphore.py TestBoundedSemaphore.test_release_twice (H7.3).
BOOST_AUTO_TEST_CASE(releasing_a_bounded_semaphore_above_its_initial_value_is_a_value_error) {
  green::bounded_semaphore s(1);
  s.acquire();
  s.release();
  try {
    s.release();
    BOOST_ERROR("no throw");
  } catch (const green::value_error& e) {
    BOOST_CHECK(mentions(e.what(), "released too many times"));
  }
  BOOST_CHECK_EQUAL(s.counter(), 1);
  green::semaphore plain(1);
  plain.release();  // an unbounded one just counts up (gevent)
  BOOST_CHECK_EQUAL(plain.counter(), 2);
}

// lock_tests.py BaseSemaphoreTests.test_constructor (H7.3).
BOOST_AUTO_TEST_CASE(a_negative_initial_value_is_a_value_error) {
  BOOST_CHECK_THROW(green::semaphore(-1), green::value_error);
  BOOST_CHECK_THROW(green::bounded_semaphore(-1), green::value_error);
  green::semaphore zero(0);
  BOOST_CHECK(zero.locked());
}

// H7.3: a huge counter cannot overflow.
BOOST_AUTO_TEST_CASE(releasing_a_semaphore_at_the_largest_counter_is_a_value_error) {
  green::semaphore s(std::numeric_limits<std::ptrdiff_t>::max());
  BOOST_CHECK_THROW(s.release(), green::value_error);
  BOOST_CHECK(s.acquire(false));
}

// `with sem:` in gevent: Lockable and TimedLockable for the std wrappers.
BOOST_AUTO_TEST_CASE(std_lock_guard_and_unique_lock_hold_and_give_back_a_permit) {
  green::bounded_semaphore s(1);
  {
    std::lock_guard<green::bounded_semaphore> hold(s);
    BOOST_CHECK(s.locked());
    std::unique_lock<green::bounded_semaphore> other(s, std::try_to_lock);
    BOOST_CHECK(!other.owns_lock());
    std::unique_lock<green::bounded_semaphore> timed(s, 2s);
    BOOST_CHECK(!timed.owns_lock());
  }
  BOOST_CHECK(!s.locked());
}

// H7.6: release() from a hub callback hands the permit over; a blocking
// acquire in the hub is refused, a non-blocking one works.
BOOST_AUTO_TEST_CASE(the_hub_may_release_and_poll_but_not_block_in_acquire) {
  green::semaphore s(0);
  bool got = false, refused = false, polled = true;
  auto w = green::spawn([&] { got = s.acquire(); });
  green::sleep();
  green::get_hub().run_callback([&] {
    polled = s.acquire(false);
    try {
      s.acquire();
    } catch (const green::blocking_switch_out_error&) {
      refused = true;
    }
    s.release();
  });
  w.join();
  BOOST_CHECK(got);
  BOOST_CHECK(refused);
  BOOST_CHECK(!polled);
  BOOST_CHECK_EQUAL(s.waiting(), 0u);
}

// H7.5: destroying a semaphore wakes its blocked waiters with green::error,
// also one that was handed a permit but has not run yet.
BOOST_AUTO_TEST_CASE(destroying_a_semaphore_wakes_its_waiters_with_an_error) {
  auto s = std::make_unique<green::semaphore>(0);
  std::vector<std::string> errors;
  std::vector<green::task_base> ws;
  for (int i = 0; i < 3; ++i)
    ws.push_back(green::spawn([&, i] {
      try {
        if (i == 2) {
          s->wait();
        } else {
          s->acquire();
        }
        errors.push_back("returned");
      } catch (const green::error& e) {
        errors.push_back(mentions(e.what(), "destroyed") ? "destroyed" : e.what());
      }
    }));
  green::sleep();
  s->release();  // handed to the first waiter, which has not run yet
  s.reset();
  green::joinall(ws);
  BOOST_CHECK((errors == std::vector<std::string>{"destroyed", "destroyed", "destroyed"}));
}

// H2.2: a greenlet blocked forever in acquire is named in loop_exit.
BOOST_AUTO_TEST_CASE(a_deadlocked_acquire_is_reported_as_semaphore_acquire) {
  green::semaphore s(0);
  std::string report;
  try {
    s.acquire();
  } catch (const green::loop_exit& e) {
    report = e.report();
  }
  BOOST_CHECK(mentions(report, "main greenlet waits on semaphore acquire"));
  BOOST_CHECK_EQUAL(s.waiting(), 0u);
  try {
    s.wait();
  } catch (const green::loop_exit& e) {
    report = e.report();
  }
  BOOST_CHECK(mentions(report, "semaphore wait"));
}

// H7.4 (test__semaphore.py TestSemaphoreMultiThread is the gevent
// counterpart: green semaphores are same-thread only).
BOOST_AUTO_TEST_CASE(using_a_semaphore_from_another_thread_is_an_error) {
  green::semaphore s(1);
  std::vector<std::string> messages;
  std::thread other([&] {
    for (int i = 0; i < 3; ++i) {
      try {
        if (i == 0) s.acquire(false);
        if (i == 1) s.release();
        if (i == 2) s.wait(1s);
        messages.push_back("no error");
      } catch (const green::error& e) {
        messages.push_back(e.what());
      }
    }
  });
  other.join();
  BOOST_REQUIRE_EQUAL(messages.size(), 3u);
  for (const auto& m : messages) BOOST_CHECK(mentions(m, "another thread"));
  BOOST_CHECK_EQUAL(s.counter(), 1);
}

// H1.7, H7.2: destroy_hub with greenlets blocked in acquire unwinds them
// cleanly, and a permit handed to one that never ran is not lost.
BOOST_AUTO_TEST_CASE(destroy_hub_unwinds_greenlets_blocked_in_acquire) {
  green::semaphore s(0);
  int unwound = 0;
  for (int i = 0; i < 3; ++i)
    green::spawn([&] {
      struct count {
        int& n;
        ~count() { ++n; }
      } c{unwound};
      s.acquire();
    });
  green::sleep();
  s.release();  // handed to the first, which never runs
  green::destroy_hub();
  BOOST_CHECK_EQUAL(unwound, 3);
  BOOST_CHECK_EQUAL(s.waiting(), 0u);
  // The permit handed to the first was passed on as each one unwound.
  BOOST_CHECK_EQUAL(s.counter(), 1);
  green::make_hub(green::hub_options{.virtual_clock = true});
}

BOOST_AUTO_TEST_SUITE_END()
