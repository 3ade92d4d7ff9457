// green::timeout: docs/semantics.md H4, following gevent's
// src/gevent/tests/test__timeout.py and test__with_timeout.py.
#define BOOST_TEST_MODULE hub_timeout
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

static_assert(!std::is_base_of_v<std::exception, green::timeout>,
              "a timeout must not be caught by catch (const std::exception&)");

BOOST_FIXTURE_TEST_SUITE(hub_timeout, green::test::hub_check)

// H4.2; test__timeout.py test_raising_self: thrown at the blocking point, as itself.
BOOST_AUTO_TEST_CASE(a_timeout_is_thrown_at_the_blocking_point_and_equals_its_scope_object) {
  const auto t0 = green::get_hub().now();
  bool caught = false;
  try {
    green::timeout t(2s);
    try {
      green::sleep(10s);
    } catch (const green::timeout& e) {
      caught = e == t;
      BOOST_CHECK(t.expired());
      throw;
    }
  } catch (const green::timeout&) {
  }
  BOOST_CHECK(caught);
  BOOST_CHECK(green::get_hub().now() - t0 == 2s);
}

BOOST_AUTO_TEST_CASE(a_timeout_that_does_not_expire_is_cancelled_with_its_scope) {
  {
    green::timeout t(10s);
    BOOST_CHECK(t.pending());
    green::sleep(1s);
  }
  green::sleep(20s);  // nothing fires later
  green::timeout never(std::nullopt);
  BOOST_CHECK(!never.pending());
}

// H4.3; test__timeout.py test_nested_timeout: the outer one fires inside the
// inner scope and is told apart by identity.
BOOST_AUTO_TEST_CASE(an_outer_timeout_fires_inside_an_inner_one_and_is_told_apart) {
  std::vector<std::string> trace;
  green::timeout outer(1s);
  try {
    green::timeout inner(5s);
    try {
      green::sleep(10s);
    } catch (const green::timeout& e) {
      trace.push_back(e == inner ? "inner" : "not inner");
      if (e != inner) throw;
    }
  } catch (const green::timeout& e) {
    trace.push_back(e == outer ? "outer" : "?");
  }
  BOOST_CHECK((trace == std::vector<std::string>{"not inner", "outer"}));
}

// H4.4; gevent Timeout(s, exception).
BOOST_AUTO_TEST_CASE(a_timeout_with_an_exception_throws_that_exception) {
  green::timeout t(1s, std::length_error("too slow"));
  BOOST_CHECK_THROW(green::sleep(2s), std::length_error);
}

// H4.5; gevent `with Timeout(s, False)` and with_timeout(timeout_value=...).
BOOST_AUTO_TEST_CASE(within_and_with_timeout_swallow_only_their_own_expiry) {
  BOOST_CHECK(!green::within(1s, [] { green::sleep(2s); }));
  BOOST_CHECK(green::within(2s, [] { green::sleep(1s); }));
  BOOST_CHECK_EQUAL(green::with_timeout(
                        1s,
                        [] {
                          green::sleep(5s);
                          return 1;
                        },
                        -1),
                    -1);
  BOOST_CHECK_EQUAL(green::with_timeout(
                        5s, [] { return 1; }, -1),
                    1);
  green::timeout outer(1s);
  BOOST_CHECK_THROW(green::within(5s, [] { green::sleep(2s); }), green::timeout);
}

// H4.2: every blocking point receives it: join, event wait, get.
BOOST_AUTO_TEST_CASE(a_timeout_interrupts_join_event_wait_and_get) {
  auto slow = green::spawn([] {
    green::sleep(100s);
    return 1;
  });
  green::event never;
  BOOST_CHECK(!green::within(1s, [&] { slow.join(); }));
  BOOST_CHECK(!green::within(1s, [&] { never.wait(); }));
  BOOST_CHECK(!green::within(1s, [&] { slow.get(); }));
  green::async_result<int> r;
  BOOST_CHECK(!green::within(1s, [&] { r.get(); }));
  slow.kill();
}

// A timeout that expires while its greenlet's wake-up is already queued is
// not lost: it lands at the next blocking point (and not after its scope).
BOOST_AUTO_TEST_CASE(a_timeout_firing_while_its_greenlet_is_being_woken_lands_at_the_next_block) {
  int resumed = 0;
  bool expired = !green::within(0s, [&] {
    // The zero timeout fires in the hub's first timer pass, after the
    // resume of the second sleep(0) was queued: that resume wins and the
    // timeout lands at the third blocking call.
    for (int i = 0; i < 5; ++i) {
      green::sleep();
      ++resumed;
    }
  });
  BOOST_CHECK(expired);
  BOOST_CHECK_EQUAL(resumed, 2);
  // An expiry still pending when its scope ends is dropped with it.
  BOOST_CHECK(green::within(std::nullopt, [] {
    {
      green::timeout t(0s);
      green::sleep();
    }
    green::sleep();
  }));
}

BOOST_AUTO_TEST_CASE(get_on_an_unfinished_task_without_blocking_throws_a_detached_timeout) {
  auto t = green::spawn([] {});
  green::timeout mine(5s);
  try {
    t.get(false);
    BOOST_ERROR("get(false) returned");
  } catch (const green::timeout& e) {
    BOOST_CHECK(e != mine);
  }
  t.join();
}

// H4.6: a timeout kept alive past its greenlet (here on the heap) never
// throws into another greenlet, even one built at the dead one's address.
// Before: its expiry was kept as pending for the dead greenlet's address, and
// the next task allocated there was hit by it at its first block.
BOOST_AUTO_TEST_CASE(a_timeout_outliving_its_greenlet_never_hits_another_greenlet) {
  std::vector<std::unique_ptr<green::timeout>> kept;
  int hit = 0, finished = 0;
  for (int round = 0; round < 20; ++round) {
    auto t = green::spawn([&] { kept.push_back(std::make_unique<green::timeout>(1s)); });
    t.join();
    green::sleep(2s);  // the kept timeout expires: its greenlet is dead
    auto next = green::spawn([&] {
      try {
        green::sleep(1ms);
        ++finished;
      } catch (const green::timeout&) {
        ++hit;
      }
    });
    next.join();
  }
  BOOST_CHECK_EQUAL(hit, 0);
  BOOST_CHECK_EQUAL(finished, 20);
  for (const auto& t : kept) BOOST_CHECK(t->expired());
}

BOOST_AUTO_TEST_SUITE_END()
