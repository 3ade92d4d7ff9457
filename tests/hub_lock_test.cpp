// rlock: docs/semantics.md H7, following gevent's src/gevent/tests/
// lock_tests.py (RLockTests: test_reacquire, test_release_unacquired,
// test_different_thread, test__is_owned) and test__lock.py (whose
// TestRLockMultiThread is the cross-thread counterpart: a green rlock is
// same-thread only, H7.4).
#define BOOST_TEST_MODULE hub_lock
#include <boost/test/unit_test.hpp>

#include <chrono>
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

BOOST_FIXTURE_TEST_SUITE(hub_lock, green::test::hub_check)

// RLockTests.test_reacquire: the owner re-enters; each level needs its
// release, and only the last one unlocks it.
BOOST_AUTO_TEST_CASE(the_owner_reacquires_and_the_last_release_unlocks) {
  green::rlock l;
  BOOST_CHECK(!l.locked());
  BOOST_CHECK(l.acquire());
  BOOST_CHECK(l.acquire(false));
  BOOST_CHECK(l.acquire(1s));
  BOOST_CHECK_EQUAL(l.count(), 3u);
  BOOST_CHECK(l.is_owned());
  bool other_got = true;
  auto t = green::spawn([&] { other_got = l.acquire(false); });
  t.join();
  BOOST_CHECK(!other_got);
  l.release();
  l.release();
  BOOST_CHECK(l.locked());
  l.release();
  BOOST_CHECK(!l.locked());
  BOOST_CHECK_EQUAL(l.count(), 0u);
}

// RLockTests.test_release_unacquired, test_different_thread (H7.7).
BOOST_AUTO_TEST_CASE(release_by_a_greenlet_that_does_not_own_it_is_a_runtime_error) {
  green::rlock l;
  BOOST_CHECK_THROW(l.release(), green::runtime_error);
  l.acquire();
  std::string message;
  auto t = green::spawn([&] {
    try {
      l.release();
    } catch (const green::runtime_error& e) {
      message = e.what();
    }
  });
  t.join();
  BOOST_CHECK(mentions(message, "does not own"));
  BOOST_CHECK(l.is_owned());
  l.release();
}

// std::scoped_lock over two rlocks, re-entered inside.
BOOST_AUTO_TEST_CASE(std_scoped_lock_works_and_nests) {
  green::rlock a, b;
  {
    std::scoped_lock both(a, b);
    std::lock_guard<green::rlock> again(a);
    BOOST_CHECK_EQUAL(a.count(), 2u);
    BOOST_CHECK_EQUAL(b.count(), 1u);
  }
  BOOST_CHECK(!a.locked());
  BOOST_CHECK(!b.locked());
}

// H7.2: waiters get the lock FIFO, one at a time.
BOOST_AUTO_TEST_CASE(waiters_get_the_lock_in_fifo_order) {
  green::rlock l;
  std::vector<int> trace;
  l.acquire();
  std::vector<green::task_base> ws;
  for (int i = 0; i < 3; ++i)
    ws.push_back(green::spawn([&, i] {
      std::lock_guard<green::rlock> hold(l);
      trace.push_back(i);
      green::sleep();
      trace.push_back(i);
    }));
  green::sleep();
  l.release();
  BOOST_CHECK(!l.acquire(false));  // handed to the first waiter
  green::joinall(ws);
  BOOST_CHECK((trace == std::vector<int>{0, 0, 1, 1, 2, 2}));
  BOOST_CHECK(!l.locked());
}

// H7.1: a timed acquire returns false; a timeout scope or a kill in acquire
// leaves the lock's queue as it was.
BOOST_AUTO_TEST_CASE(timeouts_and_kills_in_rlock_acquire_leave_it_consistent) {
  green::rlock l;
  l.acquire();
  bool timed = true;
  auto a = green::spawn([&] { timed = l.acquire(1s); });
  a.join();
  BOOST_CHECK(!timed);
  bool scoped_expired = false;
  auto b = green::spawn([&] {
    green::timeout t(1s);
    try {
      l.acquire();
    } catch (const green::timeout&) {
      scoped_expired = true;
    }
  });
  auto c = green::spawn([&] { l.acquire(); });
  green::sleep();
  c.kill();
  b.join();
  BOOST_CHECK(scoped_expired);
  BOOST_CHECK(c.exited());
  BOOST_CHECK_EQUAL(l.count(), 1u);
  l.release();
  BOOST_CHECK(!l.locked());
  BOOST_CHECK(l.acquire(false));
  l.release();
}

// H7.8 (gevent leaves it locked too): an owner that ends while holding the
// lock leaves it locked for good; nobody else may release it.
BOOST_AUTO_TEST_CASE(an_owner_that_ends_holding_the_lock_leaves_it_locked) {
  green::rlock l;
  auto owner = green::spawn([&] { l.acquire(); });
  owner.join();
  BOOST_CHECK(l.locked());
  BOOST_CHECK(!l.is_owned());
  BOOST_CHECK(!l.acquire(5s));
  BOOST_CHECK_THROW(l.release(), green::runtime_error);
  // A later greenlet never inherits it, even if it reuses the memory.
  auto next = green::spawn([&] { return l.acquire(false); });
  BOOST_CHECK(!next.get());
}

// H7.5: destroying an rlock wakes its waiters with green::error.
BOOST_AUTO_TEST_CASE(destroying_an_rlock_wakes_its_waiters_with_an_error) {
  auto l = std::make_unique<green::rlock>();
  l->acquire();
  std::string message;
  auto w = green::spawn([&] {
    try {
      l->acquire();
    } catch (const green::error& e) {
      message = e.what();
    }
  });
  green::sleep();
  l.reset();
  w.join();
  BOOST_CHECK(mentions(message, "destroyed"));
  BOOST_CHECK(mentions(message, "rlock acquire"));
}

// H2.2: the loop_exit report names the rlock wait.
BOOST_AUTO_TEST_CASE(a_deadlocked_rlock_acquire_is_reported_as_rlock_acquire) {
  green::rlock l;
  auto owner = green::spawn([&] { l.acquire(); });
  owner.join();
  std::string report;
  try {
    l.acquire();
  } catch (const green::loop_exit& e) {
    report = e.report();
  }
  BOOST_CHECK(mentions(report, "main greenlet waits on rlock acquire"));
}

// H7.4.
BOOST_AUTO_TEST_CASE(using_an_rlock_from_another_thread_is_an_error) {
  green::rlock l;
  std::vector<std::string> messages;
  std::thread other([&] {
    for (int i = 0; i < 2; ++i) {
      try {
        if (i == 0) l.acquire(false);
        if (i == 1) l.release();
        messages.push_back("no error");
      } catch (const green::error& e) {
        messages.push_back(e.what());
      }
    }
  });
  other.join();
  BOOST_REQUIRE_EQUAL(messages.size(), 2u);
  for (const auto& m : messages) BOOST_CHECK(mentions(m, "another thread"));
  BOOST_CHECK(!l.locked());
}

BOOST_AUTO_TEST_SUITE_END()
