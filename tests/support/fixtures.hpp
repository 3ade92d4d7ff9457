// tests/support/fixtures.hpp: what every test case shares.
//
// leak_check is the fixture of every suite: at teardown it asserts that the
// case left no greenlet alive and no stack in use on this thread, so each
// test doubles as a leak test (marl's TrackedAllocator idea).

#ifndef GREEN_TESTS_SUPPORT_FIXTURES_HPP
#define GREEN_TESTS_SUPPORT_FIXTURES_HPP

#include <boost/test/unit_test.hpp>

#include <cstddef>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"

namespace green::test {

// Counting is off by default (it costs atomics); the test suite turns it on
// before any test creates a greenlet.
inline const bool counting_enabled = (green::debug::set_counting(true), true);

struct leak_check {
  std::size_t live_before = green::debug::live_greenlets();
  std::size_t stacks_before = green::get_stack_stats().in_use;
  // Counted after this thread's own main greenlet exists.
  std::size_t mains_before =
      (static_cast<void>(green::getcurrent()), green::debug::live_main_greenlets());

  ~leak_check() {
    // Handles dropped on other threads are released by this thread at its
    // next green call: make one, so that they count.
    static_cast<void>(green::getcurrent());
    BOOST_CHECK_MESSAGE(green::debug::live_greenlets() == live_before,
                        "leaked greenlets: " << green::debug::live_greenlets() << " alive, "
                                             << live_before << " before the test");
    // A main greenlet of a thread the case started is freed with the
    // last greenlet that leads to it; one that outlives the case leaked.
    BOOST_CHECK_MESSAGE(green::debug::live_main_greenlets() == mains_before,
                        "leaked main greenlets of exited threads: "
                            << green::debug::live_main_greenlets() << " alive, " << mains_before
                            << " before the test");
    BOOST_CHECK_MESSAGE(green::get_stack_stats().in_use == stacks_before,
                        "leaked stacks: " << green::get_stack_stats().in_use << " in use, "
                                          << stacks_before << " before the test");
  }
};

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_FIXTURES_HPP
