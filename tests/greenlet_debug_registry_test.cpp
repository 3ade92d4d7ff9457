// The debug registry that gdb reads (G15): which greenlets a thread lists
// (unstarted ones too), when they enter and leave it, which thread unlinks
// an unstarted greenlet dropped or reparented on another thread, and that threads exiting with
// greenlets still referenced elsewhere leave nothing dangling (ASan checks the frees that happen on
// other threads after the owner has gone). The gdb commands themselves are tested by
// tests/gdb/gdb_test.py.
#define BOOST_TEST_MODULE greenlet_debug_registry
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
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

BOOST_AUTO_TEST_CASE(a_greenlet_is_registered_from_its_creation_until_it_finishes) {
  const std::size_t base = green::debug::registered_greenlets();
  green::greenlet g([] { suspend(); });
  BOOST_TEST(green::debug::registered_greenlets() == base + 1);  // unstarted
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

BOOST_AUTO_TEST_CASE(a_greenlet_that_fails_to_start_stays_registered_as_unstarted) {
  const std::size_t base = green::debug::registered_greenlets();
  {
    green::greenlet g;  // no function: the switch throws before it starts
    BOOST_CHECK_THROW(g.switch_(), green::attribute_error);
    BOOST_TEST(green::debug::registered_greenlets() == base + 1);
  }
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(an_unstarted_greenlet_dropped_on_its_thread_leaves_the_registry_at_once) {
  const std::size_t base = green::debug::registered_greenlets();
  std::vector<std::optional<green::greenlet>> gs;
  for (int i = 0; i < 20; ++i) gs.emplace_back(green::greenlet([] {}));
  BOOST_TEST(green::debug::registered_greenlets() == base + 20);
  std::vector<std::size_t> order(gs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(777));
  std::size_t left = gs.size();
  for (std::size_t i : order) {
    gs[i].reset();
    BOOST_TEST(green::debug::registered_greenlets() == base + --left);
  }
}

BOOST_AUTO_TEST_CASE(an_unstarted_greenlet_dropped_on_another_thread_is_unlinked_by_its_own) {
  const std::size_t base = green::debug::registered_greenlets();
  auto capture = std::make_shared<int>(1);
  std::vector<std::optional<green::greenlet>> gs;
  for (int i = 0; i < 10; ++i) gs.emplace_back(green::greenlet([capture] {}));
  BOOST_TEST(capture.use_count() == 11);
  std::thread t([&] {
    // Last handles, dropped here in any order: the functions go here (G9),
    // the states wait for their own thread, which is alive.
    std::vector<std::size_t> order(gs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(4242));
    for (std::size_t i : order) gs[i].reset();
  });
  t.join();
  BOOST_TEST(capture.use_count() == 1);
  BOOST_TEST(green::debug::registered_greenlets() == base + 10);  // no green call here yet
  static_cast<void>(green::getcurrent());
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(an_unstarted_greenlet_dropped_elsewhere_is_freed_by_its_exiting_thread) {
  // The creator makes no green call between the drop and its exit: its
  // green state's destruction frees it.
  std::optional<green::greenlet> g;
  std::atomic<int> phase{0};
  std::size_t listed = 0;
  std::thread t([&] {
    g.emplace([] {});
    listed = green::debug::registered_greenlets();
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
  });
  while (phase.load() != 1) std::this_thread::yield();
  g.reset();
  phase = 2;
  t.join();
  BOOST_TEST(listed == 2u);  // its main greenlet and g
}

BOOST_AUTO_TEST_CASE(an_unstarted_greenlet_outliving_its_thread_is_freed_without_its_registry) {
  std::vector<green::greenlet> kept;
  std::thread t([&] {
    for (int i = 0; i < 5; ++i) kept.emplace_back([] {});
    BOOST_TEST(green::debug::registered_greenlets() == 6u);
  });
  t.join();
  const std::size_t base = green::debug::registered_greenlets();
  kept.clear();  // G9.3: freed here; the thread's registry is gone
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(a_greenlet_created_here_and_started_on_another_thread_moves_registries) {
  const std::size_t base = green::debug::registered_greenlets();
  std::size_t inside = 0, there_before = 0, there_after = 0;
  green::greenlet g([&] { inside = green::debug::registered_greenlets(); });
  BOOST_TEST(green::debug::registered_greenlets() == base + 1);
  std::thread t([&] {
    there_before = green::debug::registered_greenlets();  // no green state yet
    g.set_parent(green::getcurrent());                    // leaves this thread's registry
    g.switch_();
    there_after = green::debug::registered_greenlets();
  });
  t.join();
  BOOST_TEST(g.dead());
  BOOST_TEST(there_before == 0u);
  BOOST_TEST(inside == 2u);  // that thread's main greenlet and g, started
  BOOST_TEST(there_after == 1u);
  // The creator unlinks it at its next green call.
  static_cast<void>(green::getcurrent());
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(unstarted_greenlets_dropped_elsewhere_while_their_thread_spawns_stay_sound) {
  // Hostile: two threads drop and reparent this thread's unstarted
  // greenlets while it keeps creating, starting and dropping its own (its
  // list changes under their feet, which they must never touch).
  const std::size_t base = green::debug::registered_greenlets();
  constexpr int kHanded = 200;
  std::vector<std::optional<green::greenlet>> handed;
  for (int i = 0; i < kHanded; ++i) handed.emplace_back(green::greenlet([] {}));
  std::atomic<int> running{2};
  auto worker = [&](int from) {
    for (int i = from; i < kHanded; i += 2) {
      if (i % 4 < 2) {
        handed[i].reset();
      } else {
        handed[i]->set_parent(green::getcurrent());  // leaves the creator's list
        handed[i]->switch_();                        // starts and finishes here
        handed[i].reset();
      }
    }
    running.fetch_sub(1);
  };
  std::thread a(worker, 0), b(worker, 1);
  while (running.load() != 0) {
    green::greenlet g([] { suspend(); });
    green::greenlet idle([] {});
    g.switch_();  // a green call: works through what the others queued
  }
  a.join();
  b.join();
  static_cast<void>(green::getcurrent());
  BOOST_TEST(green::debug::registered_greenlets() == base);
}

BOOST_AUTO_TEST_CASE(reparenting_an_unstarted_greenlet_here_keeps_it_listed_while_it_can_start) {
  const std::size_t base = green::debug::registered_greenlets();
  green::greenlet g([] {});
  green::greenlet other([] { suspend(); });
  other.switch_();
  BOOST_TEST(green::debug::registered_greenlets() == base + 2);
  g.set_parent(other);  // a started greenlet of this thread: still listed
  BOOST_TEST(green::debug::registered_greenlets() == base + 2);
  green::greenlet unstarted_parent([] {});
  BOOST_TEST(green::debug::registered_greenlets() == base + 3);
  g.set_parent(unstarted_parent);  // not listed until it starts
  BOOST_TEST(green::debug::registered_greenlets() == base + 2);
  g.switch_();  // starts unstarted_parent with g's result
  BOOST_TEST(g.dead());
  BOOST_TEST(unstarted_parent.dead());
  other.switch_();
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
