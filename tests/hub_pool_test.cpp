// group and pool: docs/semantics.md H9, following gevent's
// src/gevent/tests/test__pool.py (TestCoroutinePool, PoolBasicTests,
// TestPool, TestPool0, TestJoinEmpty, TestSpawn) and test__greenletset.py
// (gevent.pool.Group).
#define BOOST_TEST_MODULE hub_pool
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

namespace {
int sqr_after(int x, int tenths) {
  green::sleep(std::chrono::milliseconds(100) * tenths);
  return x * x;
}
std::vector<int> squares(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i * i);
  return v;
}
std::vector<int> iota_vec(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}
}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_pool, green::test::hub_check)

// ---- group (H9.1, H9.2) ----

// test__pool.py TestJoinEmpty: joining an empty group returns true at once.
BOOST_AUTO_TEST_CASE(joining_an_empty_group_returns_true_at_once) {
  green::group g;
  BOOST_CHECK(g.join());
  green::pool p;
  BOOST_CHECK(p.join(0s));
}

// H9.1: members leave when done; join reports that the group emptied.
BOOST_AUTO_TEST_CASE(group_members_remove_themselves_when_they_finish) {
  green::group g;
  auto a = g.spawn(sqr_after, 2, 1);
  auto b = g.spawn(sqr_after, 3, 2);
  BOOST_CHECK_EQUAL(g.size(), 2u);
  BOOST_CHECK(g.contains(a) && g.contains(b));
  std::vector<std::uint64_t> ids;
  for (const green::task_base& t : g) ids.push_back(t.id());
  BOOST_CHECK((ids == std::vector<std::uint64_t>{a.id(), b.id()}));
  BOOST_CHECK(g.join());
  BOOST_CHECK(g.empty());
  BOOST_CHECK(!g.contains(a));
  BOOST_CHECK_EQUAL(a.get() + b.get(), 13);
}

// test__pool.py TestJoinSleep: join(timeout) returns false, never throws.
BOOST_AUTO_TEST_CASE(group_join_with_timeout_returns_false_while_members_run) {
  green::group g;
  auto t = g.spawn([] { green::sleep(10s); });
  BOOST_CHECK(!g.join(1s));
  BOOST_CHECK(!g.join(1s, true));  // TestJoinSleep_raise_error: nothing failed yet
  BOOST_CHECK(g.join());
  BOOST_CHECK(t.ready());
}

// H9.1: join(raise_error) rethrows the first failure among the members it saw.
BOOST_AUTO_TEST_CASE(group_join_with_raise_error_rethrows_a_members_failure) {
  green::get_hub().set_error_handler([](const green::failure_report&) {});
  green::group g;
  g.spawn([] { green::sleep(1s); });
  g.spawn([] {
    green::sleep(2s);
    throw std::runtime_error("member failed");
  });
  BOOST_CHECK_EXCEPTION(
      g.join(std::nullopt, true), std::runtime_error,
      [](const std::runtime_error& e) { return std::string(e.what()) == "member failed"; });
  BOOST_CHECK(g.empty());
  BOOST_CHECK(g.join(std::nullopt, true));  // the failed member has left: nothing to raise
}

// H9.1: join is "became empty at least once", even if refilled before it ran.
BOOST_AUTO_TEST_CASE(group_join_returns_true_if_the_group_emptied_and_was_refilled) {
  green::group g;
  std::optional<bool> joined;
  g.spawn([] { green::sleep(1s); });
  auto waiter = green::spawn([&] { joined = g.join(); });
  green::sleep(1s);  // the member finished, its links ran: the group emptied
  g.spawn([] { green::sleep(1s); });
  waiter.join();
  BOOST_CHECK(joined == true);
  g.join();
}

// test__pool.py test_discard: discard forgets a member without killing it
// and gives its slot back.
BOOST_AUTO_TEST_CASE(discard_forgets_a_member_and_frees_its_slot) {
  green::pool p(1);
  auto first = p.spawn([] { green::sleep(1000s); });
  BOOST_CHECK(p.full());
  p.discard(first);
  BOOST_CHECK(!first.ready());
  BOOST_CHECK_EQUAL(p.size(), 0u);
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
  first.kill();
  BOOST_CHECK_EQUAL(p.free_count(), 1u);  // its link no longer touches the pool
  p.discard(first);                       // a non-member: no-op
}

// H9.2: kill kills every member (unstarted ones never run) and waits.
BOOST_AUTO_TEST_CASE(group_kill_kills_every_member_and_waits_for_them) {
  green::group g;
  int ran = 0;
  auto a = g.spawn([&] {
    ++ran;
    green::sleep(100s);
  });
  green::sleep();
  auto b = g.spawn([&] { ++ran; });  // not started yet
  g.kill();
  BOOST_CHECK(g.empty());
  BOOST_CHECK(a.ready() && a.exited());
  BOOST_CHECK(b.ready() && !b.started());
  BOOST_CHECK_EQUAL(ran, 1);
}

// H9.2: a member that survives the kill keeps kill() waiting until timeout,
// then kill() returns quietly.
BOOST_AUTO_TEST_CASE(group_kill_with_timeout_returns_quietly_when_a_member_survives) {
  green::group g;
  auto stubborn = g.spawn([] {
    try {
      green::sleep(100s);
    } catch (const green::greenlet_exit&) {
      green::sleep(10s);
    }
  });
  green::sleep();
  const auto t0 = green::get_hub().now();
  g.kill(nullptr, true, 2s);
  BOOST_CHECK(green::get_hub().now() - t0 == 2s);
  BOOST_CHECK(!stubborn.ready());
  BOOST_CHECK_EQUAL(g.size(), 1u);
  g.kill();  // already dying: not killed twice, waited for
  BOOST_CHECK(stubborn.ready());
}

// test__greenletset.py test_kill_fires_once: killone and kill throw into a
// member at most once, however often they are called.
BOOST_AUTO_TEST_CASE(kill_and_killone_throw_into_a_member_at_most_once) {
  struct stop {};
  int shots1 = 0, shots2 = 0;
  auto undead = [](int& shots) {
    for (;;) {
      try {
        green::sleep(1s);
      } catch (const stop&) {
        return;
      } catch (...) {
        ++shots;
      }
    }
  };
  green::group g;
  auto p1 = g.spawn(undead, std::ref(shots1));
  auto p2 = g.spawn(undead, std::ref(shots2));
  green::sleep(10ms);
  g.killone(p1, nullptr, false);
  green::sleep(1ms);  // the kill goes through the hub, then p1 runs
  BOOST_CHECK_EQUAL(shots1, 1);
  g.killone(p1);  // already being killed: neither shot nor joined
  g.killone(p1);
  g.kill(nullptr, false);
  g.kill(nullptr, false);
  green::sleep(1s);
  BOOST_CHECK_EQUAL(shots1, 1);
  BOOST_CHECK_EQUAL(shots2, 1);
  g.kill(nullptr, true, 1s);  // waits, shoots nobody again, returns quietly
  BOOST_CHECK_EQUAL(g.size(), 2u);
  BOOST_CHECK_EQUAL(shots1 + shots2, 2);
  p1.kill(stop{});
  p2.kill(stop{});
  BOOST_CHECK(g.join());
}

// H9.2: killone kills just that member.
BOOST_AUTO_TEST_CASE(killone_kills_one_member_and_joins_it) {
  green::group g;
  auto a = g.spawn([] { green::sleep(100s); });
  auto b = g.spawn([] { green::sleep(1s); });
  green::sleep();
  g.killone(a);
  BOOST_CHECK(a.ready() && a.exited());
  BOOST_CHECK(!b.ready());
  auto stranger = green::spawn([] { green::sleep(1s); });
  g.killone(stranger);  // not a member: untouched
  BOOST_CHECK(!stranger.ready());
  g.join();
  stranger.join();
}

// test__greenletset.py, Group.add: a task spawned elsewhere can be added; a
// finished one leaves at once through its links.
BOOST_AUTO_TEST_CASE(adding_a_finished_task_leaves_the_group_when_its_links_run) {
  green::group g;
  auto t = green::spawn([] { return 1; });
  t.join();
  g.add(t);
  g.add(t);  // already a member: no-op
  BOOST_CHECK_EQUAL(g.size(), 1u);
  BOOST_CHECK(g.join());
  BOOST_CHECK(g.empty());
  BOOST_CHECK_THROW(g.add(green::task_base()), green::error);
}

// ---- pool: size and back-pressure (H9.3, H9.4) ----

// test__pool.py test_init_error.
BOOST_AUTO_TEST_CASE(a_negative_pool_size_throws_value_error) {
  BOOST_CHECK_THROW(green::pool(-1), green::value_error);
}

// test__pool.py TestSpawn: spawn blocks while full; the pool never exceeds size.
BOOST_AUTO_TEST_CASE(spawn_blocks_while_the_pool_is_full) {
  green::pool p(1);
  BOOST_CHECK_EQUAL(p.size(), 0u);
  p.spawn([] { green::sleep(1s); });
  BOOST_CHECK_EQUAL(p.size(), 1u);
  const auto t0 = green::get_hub().now();
  p.spawn([] { green::sleep(1s); });  // waits for the first one
  BOOST_CHECK(green::get_hub().now() - t0 == 1s);
  BOOST_CHECK_EQUAL(p.size(), 1u);
  p.join();
}

// PoolBasicTests test_execute_async: free_count follows spawns and ends.
BOOST_AUTO_TEST_CASE(free_count_follows_spawns_and_finishes) {
  green::pool p(2);
  BOOST_CHECK_EQUAL(p.free_count(), 2u);
  auto first = p.spawn([] { return 1; });
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
  first.get();
  green::sleep();  // the link that frees the slot runs through the hub
  BOOST_CHECK_EQUAL(p.free_count(), 2u);
  BOOST_CHECK(!p.full());
  BOOST_CHECK(p.capacity() == std::size_t{2});
  green::pool unbounded;
  BOOST_CHECK(!unbounded.capacity());
  BOOST_CHECK(!unbounded.full());
}

// H9.3: spawners blocked on a full pool get slots in FIFO order.
BOOST_AUTO_TEST_CASE(blocked_spawners_get_slots_in_fifo_order) {
  green::pool p(1);
  std::vector<int> order;
  p.spawn([] { green::sleep(1s); });
  std::vector<green::task_base> spawners;
  for (int i = 0; i < 4; ++i) {
    spawners.push_back(green::spawn([&, i] {
      p.spawn([&, i] {
        order.push_back(i);
        green::sleep(1s);
      });
    }));
  }
  green::joinall(spawners);
  p.join();
  BOOST_CHECK((order == std::vector<int>{0, 1, 2, 3}));
}

// H9.3: killing a spawner blocked on a full pool loses no slot, also when
// the slot was already handed to it.
BOOST_AUTO_TEST_CASE(killing_a_blocked_spawner_loses_no_slot) {
  green::pool p(1);
  auto holder = p.spawn([] { green::sleep(1s); });
  auto victim = green::spawn([&] { p.spawn([] {}); });
  auto next = green::spawn([&] { p.spawn([] { return 7; }).get(); });
  green::sleep();  // both wait for the slot, victim first
  victim.kill();
  BOOST_CHECK(victim.ready());
  next.join();  // gets the slot once holder finishes
  BOOST_CHECK(next.successful());
  p.join();
  green::sleep();
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
  // Killed and woken, but not yet resumed when a slot frees: the slot goes
  // to the next spawner instead.
  auto holder2 = p.spawn([] { green::sleep(1000s); });
  bool victim2_spawned = false;
  auto victim2 = green::spawn([&] {
    p.spawn([] {});
    victim2_spawned = true;
  });
  std::optional<int> got;
  auto next2 = green::spawn([&] { got = p.spawn([] { return 9; }).get(); });
  green::sleep();  // both wait, victim2 first
  victim2.kill(nullptr, false);
  green::sleep();  // the kill woke victim2; its resume is queued after ours
  BOOST_CHECK(!victim2.ready());
  p.discard(holder2);  // frees the slot while victim2 is still on the list
  next2.join();
  BOOST_CHECK(got == 9);
  BOOST_CHECK(victim2.ready() && !victim2_spawned);
  holder2.kill();
  p.join();
  green::sleep();
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
  BOOST_CHECK(holder.ready());
}

// H9.3: a timeout thrown into a blocked spawner loses no slot.
BOOST_AUTO_TEST_CASE(a_timeout_in_a_blocked_spawner_loses_no_slot) {
  green::pool p(1);
  p.spawn([] { green::sleep(5s); });
  bool timed_out = false;
  try {
    green::timeout t(1s);
    p.spawn([] {});
  } catch (const green::timeout&) {
    timed_out = true;
  }
  BOOST_CHECK(timed_out);
  BOOST_CHECK_EQUAL(p.free_count(), 0u);
  p.join();
  green::sleep();
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
}

// test__pool.py test_add_method, test_add_method_non_blocking,
// test_add_method_timeout: pool_full on failure.
BOOST_AUTO_TEST_CASE(add_to_a_full_pool_throws_pool_full) {
  green::pool p(1);
  auto first = green::spawn([] { green::sleep(1000s); });
  auto second = green::spawn([] { green::sleep(1000s); });
  p.add(first);
  BOOST_CHECK_EQUAL(p.free_count(), 0u);
  BOOST_CHECK_THROW(p.add(second, false), green::pool_full);
  const auto t0 = green::get_hub().now();
  BOOST_CHECK_THROW(p.add(second, true, 1s), green::pool_full);
  BOOST_CHECK(green::get_hub().now() - t0 == 1s);
  BOOST_CHECK_EQUAL(p.size(), 1u);
  bool timed_out = false;
  try {
    green::timeout t(1s);
    p.add(second);
  } catch (const green::timeout&) {
    timed_out = true;
  }
  BOOST_CHECK(timed_out);
  BOOST_CHECK_EQUAL(p.size(), 1u);
  second.kill();
  first.kill();
  green::sleep();
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
}

// test__pool.py TestPool0, H9.4: size 0 is always full; a wait that could
// never end is an error at once.
BOOST_AUTO_TEST_CASE(a_pool_of_size_zero_is_full_and_refuses_to_wait_forever) {
  green::pool p(0);
  BOOST_CHECK_EQUAL(p.free_count(), 0u);
  BOOST_CHECK(p.full());
  BOOST_CHECK_EQUAL(p.wait_available(10ms), 0u);
  BOOST_CHECK_THROW(p.wait_available(), green::error);
  BOOST_CHECK_THROW(p.spawn([] {}), green::error);
  auto t = green::spawn([] {});
  BOOST_CHECK_THROW(p.add(t, true, 1s), green::pool_full);
  BOOST_CHECK_THROW(p.add(t, false), green::pool_full);
  BOOST_CHECK_THROW(p.map([](int x) { return x; }, std::vector<int>{1}), green::error);
  t.join();
}

// H9.4: wait_available returns when a slot frees, without taking it.
BOOST_AUTO_TEST_CASE(wait_available_returns_the_free_count_once_a_slot_frees) {
  green::pool p(2);
  p.spawn([] { green::sleep(1s); });
  p.spawn([] { green::sleep(2s); });
  BOOST_CHECK_EQUAL(p.wait_available(500ms), 0u);
  BOOST_CHECK_EQUAL(p.wait_available(), 1u);
  BOOST_CHECK(green::get_hub().now() - green::time_point{} >= 1s);
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
  p.join();
}

// H9.3, H9.1: greenlets killed while in wait_available(), join() or a
// blocking add() leave no stale waiter behind: the slot freed later wakes
// nobody dead.
BOOST_AUTO_TEST_CASE(killing_greenlets_blocked_in_wait_available_join_and_add_is_clean) {
  green::pool p(1);
  auto holder = p.spawn([] { green::sleep(5s); });
  auto extra = green::spawn([] { green::sleep(1s); });
  auto w1 = green::spawn([&] { p.wait_available(); });
  auto w2 = green::spawn([&] { p.join(); });
  auto w3 = green::spawn([&] { p.add(extra); });
  green::sleep();
  green::killall({w1, w2, w3});
  BOOST_CHECK(w1.exited() && w2.exited() && w3.exited());
  BOOST_CHECK_EQUAL(p.size(), 1u);
  BOOST_CHECK(p.join());
  green::sleep();
  BOOST_CHECK_EQUAL(p.free_count(), 1u);
  BOOST_CHECK(holder.ready() && extra.ready());
}

// H9.6: abandoning an imap whose producer waits for maxsize room kills it
// there; with a small maxsize a huge input is never walked ahead.
BOOST_AUTO_TEST_CASE(abandoning_an_imap_whose_producer_waits_for_room_leaves_nothing) {
  green::pool p(4);
  int spawned = 0;
  {
    auto range = p.imap_unordered(
        [&](int x) {
          ++spawned;
          return x;
        },
        iota_vec(100000), 2);
    BOOST_CHECK(range.next().has_value());
    green::sleep();
    BOOST_CHECK_LE(spawned, 3);
  }
  BOOST_CHECK(p.join());
  green::sleep();
  BOOST_CHECK_EQUAL(green::get_hub().live_tasks(), 0u);
  BOOST_CHECK_LE(spawned, 3);
}

// H9.8: a pool destroyed while its members run leaves them running.
BOOST_AUTO_TEST_CASE(destroying_a_pool_leaves_its_members_running) {
  green::task<int> t;
  {
    green::pool p(1);
    t = p.spawn(sqr_after, 4, 1);
  }
  BOOST_CHECK_EQUAL(t.get(), 16);
}

// H9.8: a pool destroyed while a spawner (and an adder) wait on it: they
// still get slots when members end. (Under valgrind, before group_spawn
// held the pool's state for the whole call, this read freed memory.)
BOOST_AUTO_TEST_CASE(destroying_a_pool_while_a_spawner_waits_is_safe) {
  auto p = std::make_unique<green::pool>(1);
  p->spawn([] { green::sleep(1s); });
  std::optional<int> got;
  auto spawner = green::spawn([&] { got = p->spawn([] { return 5; }).get(); });
  auto adder = green::spawn([&] {
    auto t = green::spawn([] {});
    p->add(t, true, 10s);
  });
  green::sleep();
  p.reset();  // both wait on it: its state must outlive them
  spawner.join();
  BOOST_CHECK(got == 5);
  adder.join();
  BOOST_CHECK(adder.successful());
}

// H9.8: a pool belongs to its thread's hub.
BOOST_AUTO_TEST_CASE(using_a_pool_from_another_thread_throws) {
  green::pool p(2);
  int errors = 0;
  std::thread th([&] {
    try {
      p.spawn([] {});
    } catch (const green::error&) {
      ++errors;
    }
    try {
      p.join();
    } catch (const green::error&) {
      ++errors;
    }
    try {
      for (int x : p.imap([](int v) { return v; }, std::vector<int>{1})) (void)x;
    } catch (const green::error&) {
      ++errors;
    }
    green::destroy_hub();
  });
  th.join();
  BOOST_CHECK_EQUAL(errors, 3);
  BOOST_CHECK(p.empty());
}

// ---- map, imap, imap_unordered, apply (H9.5-H9.7) ----

// test__pool.py TestPool test_map / test_empty_map, sizes 1, 2, 3, 10, none.
BOOST_AUTO_TEST_CASE(map_returns_results_in_input_order_for_every_size) {
  for (std::optional<std::ptrdiff_t> n : {std::optional<std::ptrdiff_t>(1), {2}, {3}, {10}, {}}) {
    green::pool p(n);
    BOOST_CHECK(p.map([](int x) { return sqr_after(x, x % 3); }, iota_vec(10)) == squares(10));
    BOOST_CHECK(p.map([](int x) { return x; }, std::vector<int>{}).empty());
  }
}

// test__pool.py test_imap_it_large: a large range with a small pool.
BOOST_AUTO_TEST_CASE(imap_over_a_large_range_yields_every_result_in_order) {
  green::pool p(3);
  int i = 0;
  bool ok = true;
  for (int v : p.imap([](int x) { return sqr_after(x, 0); }, iota_vec(1000))) {
    ok = ok && v == i * i;
    ++i;
  }
  BOOST_CHECK(ok);
  BOOST_CHECK_EQUAL(i, 1000);
}

// test__pool.py test_imap_unordered_sleep: completion order, and input order
// with a pool of size 1.
BOOST_AUTO_TEST_CASE(imap_unordered_yields_in_completion_order) {
  auto run = [](std::optional<std::ptrdiff_t> n) {
    green::pool p(n);
    std::vector<int> out;
    for (int v :
         p.imap_unordered([](int x) { return sqr_after(x, x); }, std::vector<int>{10, 1, 2}))
      out.push_back(v);
    return out;
  };
  BOOST_CHECK((run(1) == std::vector<int>{100, 1, 4}));
  BOOST_CHECK((run(3) == std::vector<int>{1, 4, 100}));
  green::pool p(3);
  std::vector<int> ordered;
  for (int v : p.imap([](int x) { return sqr_after(x, x); }, std::vector<int>{10, 1, 2}))
    ordered.push_back(v);
  BOOST_CHECK((ordered == std::vector<int>{100, 1, 4}));
}

// test__pool.py test_imap_unordered_bounded_queue (issue 638): with
// maxsize 1 no more than one result is ever spawned ahead of the reader.
BOOST_AUTO_TEST_CASE(imap_with_maxsize_never_runs_ahead_of_the_reader) {
  for (bool ordered : {false, true}) {
    green::pool p(10);
    int started = 0;
    int most_ahead = 0;
    auto fn = [&](int x) {
      ++started;
      return x;
    };
    auto input = iota_vec(100);
    int consumed = 0;
    auto body = [&](int) {
      ++consumed;
      most_ahead = std::max(most_ahead, started - consumed);
      green::sleep(10ms);
    };
    if (ordered) {
      for (int v : p.imap(fn, input, 1)) body(v);
    } else {
      for (int v : p.imap_unordered(fn, input, 1)) body(v);
    }
    BOOST_CHECK_EQUAL(consumed, 100);
    BOOST_CHECK_LE(most_ahead, 1);
  }
}

// H9.5: maxsize 0 could never hold a result.
BOOST_AUTO_TEST_CASE(imap_with_maxsize_zero_throws_value_error) {
  green::pool p(1);
  BOOST_CHECK_THROW(p.imap([](int x) { return x; }, std::vector<int>{1}, 0), green::value_error);
}

// H9.5: a failure in the mapped function is rethrown when its result is
// reached; the other results come before and after it.
BOOST_AUTO_TEST_CASE(an_exception_in_the_mapped_function_is_rethrown_at_its_result) {
  green::get_hub().set_error_handler([](const green::failure_report&) {});
  green::pool p(2);
  auto fn = [](int x) {
    green::sleep(std::chrono::seconds(x));
    if (x == 2) throw std::runtime_error("two");
    return x;
  };
  auto range = p.imap(fn, std::vector<int>{3, 2, 1, 4});
  BOOST_CHECK(range.next() == 3);
  BOOST_CHECK_THROW(range.next(), std::runtime_error);
  BOOST_CHECK(range.next() == 1);
  BOOST_CHECK(range.next() == 4);
  BOOST_CHECK(!range.next());
  BOOST_CHECK_THROW(p.map(fn, std::vector<int>{1, 2, 3}), std::runtime_error);
  p.join();  // map killed what was left: nothing lingers
}

// H9.5: a failure of the input range itself comes after the results
// spawned before it (test__pool.py TestErrorInIterator).
BOOST_AUTO_TEST_CASE(an_exception_from_the_input_range_comes_after_the_earlier_results) {
  struct failing_range {
    struct iterator {
      int i = 0;
      int operator*() const {
        if (i == 2) throw std::logic_error("input broke");
        return i;
      }
      iterator& operator++() {
        ++i;
        return *this;
      }
      iterator operator++(int) {
        auto c = *this;
        ++i;
        return c;
      }
      bool operator==(const iterator&) const = default;
    };
    iterator begin() const { return {}; }
    iterator end() const { return {5}; }
  };
  green::pool p(1);
  std::vector<int> got;
  try {
    for (int v : p.imap([](int x) { return x; }, failing_range{})) got.push_back(v);
    BOOST_ERROR("no exception");
  } catch (const std::logic_error&) {
  }
  BOOST_CHECK((got == std::vector<int>{0, 1}));
}

// H9.6: leaving an imap early kills the tasks it started; nothing lingers.
BOOST_AUTO_TEST_CASE(breaking_out_of_an_imap_kills_its_outstanding_tasks) {
  green::pool p(3);
  int finished = 0;
  auto fn = [&](int x) {
    green::sleep(std::chrono::seconds(x + 1));
    ++finished;
    return x;
  };
  std::vector<int> got;
  for (int v : p.imap_unordered(fn, iota_vec(100))) {
    got.push_back(v);
    if (got.size() == 2) break;
  }
  BOOST_CHECK_EQUAL(finished, 2);
  BOOST_CHECK(p.join(0s) || p.join());
  BOOST_CHECK_EQUAL(finished, 2);  // killed, not run to the end
  BOOST_CHECK_EQUAL(green::get_hub().live_tasks(), 0u);
  BOOST_CHECK(p.map([](int x) { return x; }, std::vector<int>{1, 2, 3}).size() == 3);
}

// H9.6: a consumer killed while it waits for a result cleans up the same way.
BOOST_AUTO_TEST_CASE(killing_the_consumer_of_an_imap_kills_its_tasks) {
  green::pool p(2);
  auto consumer = green::spawn([&] {
    for (int v : p.imap([](int x) { return sqr_after(x, 100); }, iota_vec(10))) (void)v;
  });
  green::sleep(1s);
  BOOST_CHECK_EQUAL(p.size(), 2u);
  consumer.kill();
  BOOST_CHECK(consumer.exited());
  BOOST_CHECK(p.join());
}

// H9.5: members killed by pool.kill() while an imap iterates: each one's
// result is a green::error (it has no value); the loop can go on.
BOOST_AUTO_TEST_CASE(killing_the_pool_members_during_an_imap_gives_errors_at_their_results) {
  green::pool p(2);
  auto range = p.imap([](int x) { return sqr_after(x, 100); }, iota_vec(4));
  auto killer = green::spawn([&] {
    green::sleep(1s);
    p.kill(nullptr, false);
  });
  int errors = 0, values = 0;
  for (;;) {
    try {
      if (!range.next()) break;
      ++values;
    } catch (const green::error&) {
      ++errors;
    }
  }
  BOOST_CHECK_EQUAL(errors, 2);  // the two running when the kill came
  BOOST_CHECK_EQUAL(values, 2);  // spawned after it
  killer.join();
}

// H9.5: an imap has one consumer at a time; a second one waiting at once
// is refused instead of being left without wake-ups.
BOOST_AUTO_TEST_CASE(a_second_greenlet_waiting_on_the_same_imap_throws) {
  green::pool p(2);
  auto range = p.imap([](int x) { return sqr_after(x, 10); }, iota_vec(2));
  std::optional<int> first;
  auto a = green::spawn([&] { first = range.next(); });
  green::sleep();
  bool refused = false;
  try {
    range.next();
  } catch (const green::error&) {
    refused = true;
  }
  BOOST_CHECK(refused);
  a.join();
  BOOST_CHECK(first == 0);
  BOOST_CHECK(range.next() == 1);
  BOOST_CHECK(!range.next());
}

// H9.7 and test__pool.py test_apply, test_reentrant: apply in a member runs
// inline, so a pool of size 1 does not deadlock.
BOOST_AUTO_TEST_CASE(apply_runs_inline_when_called_from_a_member) {
  green::pool p(1);
  BOOST_CHECK_EQUAL(p.apply(sqr_after, 5, 0), 25);
  int r = p.apply([&](int a) { return p.apply([](int b) { return b + 1; }, a); }, 5);
  BOOST_CHECK_EQUAL(r, 6);
  green::get_hub().set_error_handler([](const green::failure_report&) {});
  BOOST_CHECK_THROW(p.apply([] { throw std::runtime_error("x"); }), std::runtime_error);
}

// test__pool.py test_multiple_coros: members run concurrently.
BOOST_AUTO_TEST_CASE(pool_members_run_concurrently) {
  green::pool p(2);
  green::event evt;
  std::vector<std::string> results;
  auto done = p.spawn([&] {
    results.push_back("cons1");
    evt.wait();
    results.push_back("cons2");
  });
  p.spawn([&] {
    green::sleep(1ms);
    results.push_back("prod");
    evt.set();
  });
  done.get();
  BOOST_CHECK((results == std::vector<std::string>{"cons1", "prod", "cons2"}));
}

// spawn records the caller's line, as green::spawn.
BOOST_AUTO_TEST_CASE(pool_spawn_records_the_call_site) {
  green::pool p(1);
  auto t = p.spawn([] {});
  const unsigned line = __LINE__ - 1;
  BOOST_CHECK_EQUAL(t.spawned_at().line, line);
  t.join();
}

BOOST_AUTO_TEST_SUITE_END()
