// Spawned greenlets, sleep and idle: docs/semantics.md H1 and H3, following
// gevent's src/gevent/tests/test__greenlet.py and test__sleep0.py.
#define BOOST_TEST_MODULE hub_spawn
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "green/context.hpp"
#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(hub_spawn, green::test::hub_check)

// H3.1; gevent test__greenlet.py TestStart: spawn does not run until the spawner yields.
BOOST_AUTO_TEST_CASE(spawned_greenlets_start_fifo_only_once_the_spawner_yields) {
  std::vector<std::string> trace;
  auto a = green::spawn([&] { trace.push_back("a"); });
  auto b = green::spawn([&] { trace.push_back("b"); });
  auto c = green::spawn([&] { trace.push_back("c"); });
  trace.push_back("main-before-join");
  BOOST_CHECK(!a.started());
  c.join();
  BOOST_CHECK((trace == std::vector<std::string>{"main-before-join", "a", "b", "c"}));
  BOOST_CHECK(a.ready() && b.ready() && c.ready());
}

// H1.2; gevent test__sleep0.py: sleep(0) is round robin among the runnable.
BOOST_AUTO_TEST_CASE(sleep_zero_takes_turns_round_robin) {
  std::vector<std::string> trace;
  auto body = [&](std::string n) {
    for (int i = 0; i < 3; ++i) {
      trace.push_back(n + std::to_string(i));
      green::sleep();
    }
  };
  auto a = green::spawn(body, std::string("a"));
  auto b = green::spawn(body, std::string("b"));
  green::joinall({a, b});
  BOOST_CHECK((trace == std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

// H1.2, H1.1: a greenlet that blocks may switch straight to the next one of
// the hub's batch instead of through the hub; the order must stay the hub's
// FIFO, with a hub callback queued meanwhile running in its place, whether
// or not a timer is pending (gevent test__sleep0.py, loop.run_callback).
BOOST_AUTO_TEST_CASE(sleep_zero_order_is_fifo_with_a_callback_queued_between_hand_offs) {
  for (const bool timer_pending : {false, true}) {
    std::vector<std::string> trace;
    auto far = green::spawn([&] { green::sleep(1h); });
    if (!timer_pending) far.kill();
    auto body = [&](std::string n) {
      for (int i = 0; i < 3; ++i) {
        trace.push_back(n + std::to_string(i));
        if (n == "b" && i == 1) green::get_hub().run_callback([&] { trace.push_back("cb"); });
        green::sleep();
      }
    };
    auto a = green::spawn(body, std::string("a"));
    auto b = green::spawn(body, std::string("b"));
    auto c = green::spawn(body, std::string("c"));
    green::joinall({a, b, c});
    BOOST_CHECK((trace == std::vector<std::string>{"a0", "b0", "c0", "a1", "b1", "c1", "a2", "cb",
                                                   "b2", "c2"}));
    far.kill();
  }
}

// H1.4: idle() runs after the sleep(0) waiters (gevent probe ['sleep0','idle']).
BOOST_AUTO_TEST_CASE(idle_runs_after_sleep_zero_waiters) {
  std::vector<std::string> trace;
  auto i = green::spawn([&] {
    green::idle();
    trace.push_back("idle");
  });
  auto s = green::spawn([&] {
    green::sleep();
    trace.push_back("sleep0");
  });
  green::joinall({i, s});
  BOOST_CHECK((trace == std::vector<std::string>{"sleep0", "idle"}));
}

// H1.8: timers fire in deadline order, equal deadlines FIFO, on the virtual clock.
BOOST_AUTO_TEST_CASE(sleepers_wake_in_deadline_order_and_fifo_among_equal_deadlines) {
  std::vector<int> trace;
  const auto t0 = green::get_hub().now();
  auto s = [&](int id, std::chrono::seconds d) {
    green::sleep(d);
    trace.push_back(id);
  };
  auto a = green::spawn(s, 1, 3600s);
  auto b = green::spawn(s, 2, 10s);
  auto c = green::spawn(s, 3, 10s);
  auto d = green::spawn(s, 4, 1s);
  green::joinall({a, b, c, d});
  BOOST_CHECK((trace == std::vector<int>{4, 2, 3, 1}));
  BOOST_CHECK(green::get_hub().now() - t0 == 3600s);  // an hour, instantly
}

// H3.4; gevent test__greenlet.py test_get: get returns the value or rethrows.
BOOST_AUTO_TEST_CASE(get_returns_the_value_or_rethrows_the_exception) {
  auto v = green::spawn([](int x) { return x * 2; }, 21);
  BOOST_CHECK_EQUAL(v.get(), 42);
  BOOST_CHECK(v.successful());
  BOOST_CHECK_EQUAL(*v.value(), 42);
  std::vector<std::string> reports;
  auto prev = green::get_hub().set_error_handler(
      [&](const green::failure_report& r) { reports.push_back(r.type + ": " + r.what); });
  auto f = green::spawn([]() -> int { throw std::runtime_error("boom"); });
  BOOST_CHECK_THROW(f.get(), std::runtime_error);
  BOOST_CHECK(f.ready() && !f.successful());
  BOOST_CHECK(f.exception() != nullptr);
  BOOST_CHECK(!f.value().has_value());
  // H3.9: reported once, with its type and what(), not propagated to the spawner.
  BOOST_REQUIRE_EQUAL(reports.size(), 1u);
  BOOST_CHECK_EQUAL(reports[0], "std::runtime_error: boom");
  green::get_hub().set_error_handler(prev);
}

// H3.3, H3.4; gevent 1.15 items 8, 9: join never throws on timeout, get does.
BOOST_AUTO_TEST_CASE(join_reports_a_timeout_by_its_result_and_get_throws_timeout) {
  auto t = green::spawn([] { green::sleep(10s); });
  BOOST_CHECK(!t.join(1s));
  BOOST_CHECK(!t.ready());
  BOOST_CHECK_THROW(t.get(false), green::timeout);
  BOOST_CHECK_THROW(t.get(2s), green::timeout);
  BOOST_CHECK(t.join());
  BOOST_CHECK(t.ready());
}

// H3.2: spawn_later starts from a timer.
BOOST_AUTO_TEST_CASE(spawn_later_starts_after_its_delay) {
  const auto t0 = green::get_hub().now();
  green::time_point started{};
  auto t = green::spawn_later(5s, [&] { started = green::get_hub().now(); });
  green::sleep(1s);
  BOOST_CHECK(!t.started());
  t.join();
  BOOST_CHECK(started - t0 == 5s);
}

BOOST_AUTO_TEST_CASE(joining_itself_is_an_error) {
  std::string message;
  green::task<void> self;
  self = green::spawn([&] {
    try {
      self.join();
    } catch (const green::error& e) {
      message = e.what();
    }
  });
  self.join();
  BOOST_CHECK(message.find("cannot join itself") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(spawning_an_empty_function_is_an_error) {
  std::function<void()> empty;
  BOOST_CHECK_THROW(green::spawn(empty), green::error);
}

// H3.10: joinall lists already-finished tasks first, then completion order.
BOOST_AUTO_TEST_CASE(joinall_returns_finished_tasks_first_then_in_completion_order) {
  auto h1 = green::spawn([] {});
  auto h2 = green::spawn([] { green::sleep(2s); });
  auto h3 = green::spawn([] { green::sleep(1s); });
  h1.join();
  auto done = green::joinall({h1, h2, h3});
  BOOST_REQUIRE_EQUAL(done.size(), 3u);
  BOOST_CHECK(done[0] == h1 && done[1] == h3 && done[2] == h2);
  auto slow = green::spawn([] { green::sleep(5s); });
  BOOST_CHECK_EQUAL(green::joinall({slow}, 1s).size(), 0u);
  slow.join();
}

// H1.9: a task belongs to its thread's hub.
BOOST_AUTO_TEST_CASE(joining_a_task_from_another_thread_is_an_error) {
  auto t = green::spawn([] { green::sleep(1s); });
  std::string message;
  std::thread other([&] {
    try {
      t.join();
    } catch (const green::error& e) {
      message = e.what();
    }
  });
  other.join();
  BOOST_CHECK(message.find("another thread") != std::string::npos);
  t.join();
}

// H3.1; gevent 1.13 (greenlet >= 0.4.17 contextvars): a spawned greenlet
// does not inherit its spawner's context.
BOOST_AUTO_TEST_CASE(a_spawned_greenlet_does_not_inherit_the_spawners_context) {
  static green::context_var<int> request_id("request_id", 0);
  int seen = -1;
  auto t = green::spawn([&] {
    request_id.set(2);
    green::sleep();
    seen = request_id.get();
  });
  auto parent = green::spawn([&] {
    request_id.set(1);
    auto child = green::spawn([] { return request_id.get(); });
    BOOST_CHECK_EQUAL(child.get(), 0);
    BOOST_CHECK_EQUAL(request_id.get(), 1);
  });
  green::joinall({t, parent});
  BOOST_CHECK_EQUAL(seen, 2);
}

// spawn(f) as a statement of its own spawns (it is a function call, not a
// declaration), and each task records the file and line of its spawn call.
BOOST_AUTO_TEST_CASE(spawn_records_its_call_site_and_a_lone_statement_spawns) {
  int ran = 0;
  auto f = [&] { ++ran; };
  green::spawn(f);
  const unsigned line = __LINE__ + 1;
  auto t = green::spawn([](int x) { return x; }, 1);
  auto later = green::spawn_later(std::chrono::seconds(1), f);
  green::sleep(std::chrono::seconds(2));
  BOOST_TEST(ran == 2);
  BOOST_TEST(t.spawned_at().line == line);
  BOOST_TEST(later.spawned_at().line == line + 1);
  BOOST_TEST(std::string(t.spawned_at().file).find("hub_spawn_test.cpp") != std::string::npos);
}

// H3.11: a handle is a reference; the call keeps the task alive, so a join
// or get on a handle that is destroyed while it waits (here: the vector that
// holds it grows) reads nothing freed. Before: heap-use-after-free under ASan.
BOOST_AUTO_TEST_CASE(join_and_get_on_a_handle_destroyed_while_they_wait_are_safe) {
  std::vector<green::task<int>> tasks;
  tasks.push_back(green::spawn([] {
    green::sleep(1s);
    return 7;
  }));
  int got = 0;
  bool joined = false;
  auto joiner = green::spawn([&] { joined = tasks[0].join(); });
  auto getter = green::spawn([&] { got = tasks[0].get(); });
  green::sleep();
  for (int i = 0; i < 64; ++i) tasks.push_back(green::spawn([] { return 0; }));
  green::joinall({joiner, getter});
  BOOST_CHECK(joined);
  BOOST_CHECK_EQUAL(got, 7);
  for (auto& t : tasks) t.join();
}

// H3.11: an empty handle (default-constructed or moved from) is a misuse that
// says so, never a null dereference.
BOOST_AUTO_TEST_CASE(an_empty_task_handle_throws_a_green_error_naming_the_misuse) {
  green::task<int> empty;
  BOOST_CHECK(!empty);
  BOOST_CHECK(!empty.ready());
  BOOST_CHECK(!empty.started());
  BOOST_CHECK(!empty.successful());
  BOOST_CHECK(empty.exception() == nullptr);
  auto says_empty = [](const green::error& e) {
    return std::string(e.what()).find("empty task handle") != std::string::npos;
  };
  BOOST_CHECK_EXCEPTION(empty.join(), green::error, says_empty);
  BOOST_CHECK_EXCEPTION(empty.get(), green::error, says_empty);
  BOOST_CHECK_EXCEPTION(empty.kill(), green::error, says_empty);
  BOOST_CHECK_EXCEPTION(empty.rawlink([](const green::task_base&) {}), green::error, says_empty);
  BOOST_CHECK_EXCEPTION(empty.name(), green::error, says_empty);
  BOOST_CHECK(!empty.unlink(1));
  auto t = green::spawn([] { return 1; });
  auto moved = std::move(t);
  BOOST_CHECK_EXCEPTION(t.join(), green::error, says_empty);
  BOOST_CHECK_EQUAL(moved.get(), 1);
}

// H1.7: a thread whose first green call makes its hub (no greenlet of its
// own before) leaves nothing behind at exit: the hub goes before the thread's
// green state. Before: the thread's main greenlet leaked (the fixture's
// count), because the green state was destroyed first.
BOOST_AUTO_TEST_CASE(a_thread_whose_first_green_call_makes_the_hub_leaks_nothing_at_exit) {
  int ran = 0;
  std::thread([&] {
    green::sleep();
    green::spawn([&] { ++ran; }).join();
  }).join();
  std::thread([&] {
    green::has_hub();
    green::get_hub();
    ++ran;
  }).join();
  BOOST_CHECK_EQUAL(ran, 2);
}

BOOST_AUTO_TEST_SUITE_END()
