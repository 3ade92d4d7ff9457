// The debug registry that gdb reads (G15): which greenlets a thread lists,
// when they enter and leave it, and that threads exiting with greenlets still
// referenced elsewhere leave nothing dangling (ASan checks the frees that
// happen on other threads after the owner has gone). The gdb commands
// themselves are tested by tests/gdb/gdb_test.py.
#define BOOST_TEST_MODULE greenlet_debug_registry
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "support/fixtures.hpp"

namespace {

// suspend() returns to the thread's main greenlet (every parent here), and
// the greenlet stays suspended in its body. It holds no handle on its stack:
// one dropped unrun (G9.3) would never release it.
void suspend() { green::getmain().switch_(); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(debug_registry, green::test::leak_check)

BOOST_AUTO_TEST_CASE(a_thread_is_registered_with_its_main_greenlet_from_its_first_green_call) {
  const std::size_t threads_before = green::debug::registered_threads();
  std::size_t before_use = 99, after_use = 0, threads_inside = 0;
  std::thread t([&] {
    before_use = green::debug::registered_greenlets();
    static_cast<void>(green::getcurrent());
    after_use = green::debug::registered_greenlets();
    threads_inside = green::debug::registered_threads();
  });
  t.join();
  BOOST_TEST(before_use == 0u);
  BOOST_TEST(after_use == 1u);
  BOOST_TEST(threads_inside == threads_before + 1);
  BOOST_TEST(green::debug::registered_threads() == threads_before);
}

BOOST_AUTO_TEST_CASE(a_greenlet_is_registered_from_its_start_until_it_finishes) {
  const std::size_t base = green::debug::registered_greenlets();
  green::greenlet g([] { suspend(); });
  BOOST_TEST(green::debug::registered_greenlets() == base);  // unstarted: no stack
  g.switch_();
  BOOST_TEST(green::debug::registered_greenlets() == base + 1);
  g.switch_();
  BOOST_TEST(g.dead());
  BOOST_TEST(green::debug::registered_greenlets() == base);  // the handle still holds it
}

BOOST_AUTO_TEST_CASE(a_greenlet_killed_on_its_last_handle_leaves_the_registry) {
  const std::size_t base = green::debug::registered_greenlets();
  {
    green::greenlet g([] { suspend(); });
    g.switch_();
    BOOST_TEST(green::debug::registered_greenlets() == base + 1);
  }
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(a_greenlet_that_fails_to_start_is_not_registered) {
  const std::size_t base = green::debug::registered_greenlets();
  green::greenlet g;  // no function: the switch throws before it starts
  BOOST_CHECK_THROW(g.switch_(), green::attribute_error);
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(greenlets_leave_the_registry_in_any_order) {
  const std::size_t base = green::debug::registered_greenlets();
  std::vector<std::optional<green::greenlet>> gs;
  for (int i = 0; i < 40; ++i) {
    gs.emplace_back(green::greenlet([] { suspend(); }));
    gs.back()->switch_();
  }
  BOOST_TEST(green::debug::registered_greenlets() == base + 40);
  std::vector<std::size_t> order(gs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(12345));
  std::size_t left = gs.size();
  for (std::size_t i : order) {
    if (i % 2 == 0) {
      gs[i]->switch_();  // finishes: leaves when its stack goes
    } else {
      gs[i].reset();  // killed on its last handle
    }
    BOOST_TEST(green::debug::registered_greenlets() == base + --left);
  }
}

BOOST_AUTO_TEST_CASE(greenlets_of_an_exited_thread_are_freed_elsewhere_without_its_registry) {
  std::vector<green::greenlet> kept;
  const std::size_t threads_before = green::debug::registered_threads();
  std::thread t([&] {
    for (int i = 0; i < 3; ++i) {
      green::greenlet g([] { suspend(); });
      g.switch_();
      kept.push_back(g);
    }
    green::greenlet unstarted([] {});
    kept.push_back(unstarted);
  });
  t.join();
  BOOST_TEST(green::debug::registered_threads() == threads_before);
  const std::size_t base = green::debug::registered_greenlets();
  kept.clear();  // G9.3: dropped unrun, here, long after their thread's registry went
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_SUITE_END()
