// queue, lifo_queue and priority_queue: docs/semantics.md H6, following
// gevent's src/gevent/tests/test__queue.py (TestQueue, TestJoinableQueue,
// TestGetInterrupt, TestPutInterrupt); each case names the test it follows.
#define BOOST_TEST_MODULE hub_queue
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
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

// run_in_hub() runs fn in the hub (as a gevent loop.run_callback would) and
// lets the hub run it.
void run_in_hub(std::function<void()> fn) {
  green::get_hub().run_callback(std::move(fn));
  green::sleep();
}

}  // namespace

using green::test::throws;

BOOST_FIXTURE_TEST_SUITE(hub_queue, green::test::hub_check)

// test_send_first: an item put before anyone waits is peeked and taken
// without a switch.
BOOST_AUTO_TEST_CASE(an_item_put_first_is_peeked_then_taken_without_a_switch) {
  green::queue<std::string> q;
  q.put("hi");
  BOOST_CHECK_EQUAL(q.qsize(), 1u);
  BOOST_CHECK_EQUAL(q.peek(), "hi");
  BOOST_CHECK_EQUAL(q.get(), "hi");
  BOOST_CHECK(q.empty());
}

// test_send_last: a waiting getter receives the item put later.
BOOST_AUTO_TEST_CASE(a_waiting_getter_receives_an_item_put_later) {
  green::queue<std::string> q;
  auto p = green::spawn([&] { return q.get(); });
  green::sleep(10ms);
  BOOST_CHECK(!p.ready());
  q.put("hi2");
  green::sleep(10ms);
  BOOST_CHECK(p.ready());
  BOOST_CHECK_EQUAL(p.get(0s), "hi2");
}

// test_max_size: a putter blocks at maxsize and resumes as items are taken.
BOOST_AUTO_TEST_CASE(a_putter_blocks_at_maxsize_and_resumes_when_an_item_is_taken) {
  green::queue<char> q(2);
  std::string results;
  auto p = green::spawn([&] {
    for (char c : {'a', 'b', 'c'}) {
      q.put(c);
      results += c;
    }
  });
  green::sleep();
  BOOST_CHECK_EQUAL(results, "ab");
  BOOST_CHECK(q.full());
  BOOST_CHECK_EQUAL(q.get(), 'a');
  green::sleep();
  BOOST_CHECK_EQUAL(results, "abc");
  BOOST_CHECK_EQUAL(q.get(), 'b');
  BOOST_CHECK_EQUAL(q.get(), 'c');
  BOOST_CHECK(p.join(0s));
}

// H6.2, test_multiple_waiters: blocked getters are served in the order they
// blocked.
BOOST_AUTO_TEST_CASE(blocked_getters_are_served_fifo) {
  green::queue<int> q;
  std::vector<std::string> trace;
  std::vector<green::task_base> ts;
  for (int i = 0; i < 4; ++i) {
    ts.push_back(green::spawn([&, i] {
      int v = q.get();
      trace.push_back(std::to_string(i) + ":" + std::to_string(v));
    }));
  }
  green::sleep();
  for (int v = 10; v < 14; ++v) q.put(v);
  green::joinall(ts);
  BOOST_CHECK((trace == std::vector<std::string>{"0:10", "1:11", "2:12", "3:13"}));
}

// H6.2: blocked putters put in the order they blocked.
BOOST_AUTO_TEST_CASE(blocked_putters_are_served_fifo) {
  green::queue<int> q(1);
  q.put(0);
  std::vector<green::task_base> ts;
  for (int i = 1; i <= 3; ++i) ts.push_back(green::spawn([&, i] { q.put(i); }));
  green::sleep();
  std::vector<int> got;
  for (int i = 0; i < 4; ++i) got.push_back(q.get());
  green::joinall(ts);
  BOOST_CHECK((got == std::vector<int>{0, 1, 2, 3}));
}

// H6.3, TestGetInterrupt / TestPutInterrupt: the timeout contract. get raises
// queue_empty and put raises queue_full, on timeout and without block.
BOOST_AUTO_TEST_CASE(get_throws_queue_empty_and_put_queue_full_on_timeout_or_without_block) {
  green::queue<int> q(1);
  BOOST_CHECK(throws<green::queue_empty>([&] { q.get(1s); }));
  BOOST_CHECK(throws<green::queue_empty>([&] { q.get(0s); }));
  BOOST_CHECK(throws<green::queue_empty>([&] { q.get(false); }));
  BOOST_CHECK(throws<green::queue_empty>([&] { q.get_nowait(); }));
  BOOST_CHECK(throws<green::queue_empty>([&] { q.peek(1s); }));
  BOOST_CHECK(throws<green::queue_empty>([&] { q.peek_nowait(); }));
  q.put(1);
  BOOST_CHECK(throws<green::queue_full>([&] { q.put(2, 1s); }));
  BOOST_CHECK(throws<green::queue_full>([&] { q.put(2, false); }));
  BOOST_CHECK(throws<green::queue_full>([&] { q.put_nowait(2); }));
  BOOST_CHECK_EQUAL(q.get(), 1);
  // Neither is a green::error: they are outcomes, not misuse.
  try {
    q.get_nowait();
  } catch (const green::error&) {
    BOOST_ERROR("queue_empty must not be a green::error");
  } catch (const std::exception& e) {
    BOOST_CHECK(std::string(e.what()).find("gevent: queue.Empty") != std::string::npos);
  }
}

// TestGetInterrupt.test_outer_timeout_is_not_lost: a green::timeout around a
// get() is thrown as itself, not turned into queue_empty.
BOOST_AUTO_TEST_CASE(an_outer_timeout_around_a_get_is_not_turned_into_queue_empty) {
  green::queue<int> q;
  bool caught = false;
  green::timeout t(1s);
  try {
    q.get(10s);
  } catch (const green::timeout& e) {
    caught = e == t;
  }
  BOOST_CHECK(caught);
}

// CPython and gevent 24.10: a negative timeout on a call that waits is a
// ValueError.
BOOST_AUTO_TEST_CASE(a_negative_timeout_on_a_call_that_waits_is_a_value_error) {
  green::queue<int> q(1);
  BOOST_CHECK(throws<green::value_error>([&] { q.get(-1s); }));
  q.put(1);
  BOOST_CHECK(throws<green::value_error>([&] { q.put(2, -1s); }));
  BOOST_CHECK_EQUAL(q.get(-1s), 1);  // it did not have to wait
}

// test_waiters_that_cancel: a getter whose timeout fires leaves; the queue
// works afterwards.
BOOST_AUTO_TEST_CASE(a_getter_that_times_out_leaves_the_queue_usable) {
  green::queue<std::string> q;
  auto w = green::spawn([&] {
    green::timeout t(0s, std::make_exception_ptr(std::runtime_error("timed out")));
    try {
      return q.get();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
  });
  BOOST_CHECK_EQUAL(w.get(), "timed out");
  q.put("hi");
  BOOST_CHECK_EQUAL(q.get(), "hi");
}

// test_two_waiters_one_dies: the item goes to the getter that is still there.
BOOST_AUTO_TEST_CASE(of_two_getters_one_times_out_and_the_other_receives_the_item) {
  green::queue<std::string> q;
  auto dying = green::spawn([&] {
    green::timeout t(0s, std::make_exception_ptr(std::runtime_error("timed out")));
    try {
      return q.get();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
  });
  auto waiting = green::spawn([&] { return q.get(); });
  green::sleep(100ms);
  q.put("hi");
  BOOST_CHECK_EQUAL(dying.get(), "timed out");
  BOOST_CHECK_EQUAL(waiting.get(), "hi");
}

// test_two_bogus_waiters: both getters time out; the item stays queued.
BOOST_AUTO_TEST_CASE(when_every_getter_timed_out_the_item_stays_in_the_queue) {
  green::queue<std::string> q;
  auto bogus = [&] {
    try {
      return q.get(0s);
    } catch (const green::queue_empty&) {
      return std::string("timed out");
    }
  };
  auto e1 = green::spawn(bogus);
  auto e2 = green::spawn(bogus);
  green::sleep(100ms);
  q.put("sent");
  BOOST_CHECK_EQUAL(e1.get(), "timed out");
  BOOST_CHECK_EQUAL(e2.get(), "timed out");
  BOOST_CHECK_EQUAL(q.get(), "sent");
}

// H6.4 (hostile): the getter first in line is killed, and the kill lands
// (through the hub) just before the hand-off of the item put meanwhile. The
// item goes to the next getter.
BOOST_AUTO_TEST_CASE(an_item_meant_for_a_getter_killed_before_it_ran_goes_to_the_next_getter) {
  green::queue<int> q;
  std::vector<int> got;
  auto first = green::spawn([&] { got.push_back(q.get()); });
  auto second = green::spawn([&] { got.push_back(q.get() * 10); });
  green::sleep();
  first.kill(nullptr, false);  // queued in the hub
  q.put(7);                    // the hand-off is queued behind the kill
  second.join();
  first.join();
  BOOST_CHECK(first.exited());
  BOOST_CHECK((got == std::vector<int>{70}));
  BOOST_CHECK(q.empty());
}

// H6.4 (hostile): with no other getter, the item stays in the queue.
BOOST_AUTO_TEST_CASE(an_item_meant_for_a_getter_killed_before_it_ran_stays_in_the_queue) {
  green::queue<int> q;
  auto g = green::spawn([&] { return q.get(); });
  green::sleep();
  g.kill(nullptr, false);
  q.put(7);
  g.join();
  BOOST_CHECK(g.exited());
  BOOST_CHECK_EQUAL(q.qsize(), 1u);
  BOOST_CHECK_EQUAL(q.get(), 7);
}

// H6.4 (hostile): the items arrive in the same timer pass in which the
// getters time out (the producer's start timer was armed first): the
// hand-offs are queued behind the timeouts. No item is lost or duplicated.
BOOST_AUTO_TEST_CASE(items_put_as_getters_time_out_are_neither_lost_nor_duplicated) {
  green::queue<int> q;
  std::vector<int> got;
  int timeouts = 0;
  auto producer = green::spawn_later(5ms, [&] {
    q.put(1);
    q.put(2);
  });
  std::vector<green::task_base> ts{producer};
  for (int i = 0; i < 3; ++i) {
    ts.push_back(green::spawn([&] {
      try {
        got.push_back(q.get(5ms));
      } catch (const green::queue_empty&) {
        ++timeouts;
      }
    }));
  }
  green::joinall(ts);
  BOOST_CHECK_EQUAL(got.size() + q.qsize(), 2u);
  BOOST_CHECK_EQUAL(static_cast<std::size_t>(timeouts) + got.size(), 3u);
  while (!q.empty()) got.push_back(q.get());
  std::sort(got.begin(), got.end());
  BOOST_CHECK((got == std::vector<int>{1, 2}));
}

// H6.4 (hostile): a putter killed while it waits stores nothing, and a
// putter that timed out still has its (move-only) item.
BOOST_AUTO_TEST_CASE(a_killed_or_timed_out_putter_stores_nothing_and_keeps_its_item) {
  green::queue<std::unique_ptr<int>> q(1);
  q.put(std::make_unique<int>(1));
  auto killed = green::spawn([&] { q.put(std::make_unique<int>(2)); });
  bool kept = false;
  auto timed = green::spawn([&] {
    auto mine = std::make_unique<int>(3);
    try {
      q.put(std::move(mine), 1s);
    } catch (const green::queue_full&) {
      kept = mine && *mine == 3;
    }
  });
  green::sleep();
  killed.kill();
  timed.join();
  BOOST_CHECK(killed.exited());
  BOOST_CHECK(kept);
  BOOST_CHECK_EQUAL(*q.get(), 1);
  BOOST_CHECK(q.empty());
  auto again = std::make_unique<int>(4);
  q.put(std::make_unique<int>(5));
  BOOST_CHECK(throws<green::queue_full>([&] { q.put_nowait(std::move(again)); }));
  BOOST_CHECK(again && *again == 4);
  BOOST_CHECK_EQUAL(*q.get(), 5);
}

// H6.4 (hostile): a blocked putter is killed, and room comes (a get) before
// the killed putter has run: the hand-off pass must skip it, not store its
// item.
BOOST_AUTO_TEST_CASE(a_putter_killed_just_before_room_came_stores_nothing) {
  green::queue<int> q(1);
  q.put(1);
  auto putter = green::spawn([&] { q.put(2); });
  green::sleep();
  putter.kill(nullptr, false);    // queued in the hub
  BOOST_CHECK_EQUAL(q.get(), 1);  // the hand-off pass is queued behind the kill
  putter.join();
  BOOST_CHECK(putter.exited());
  BOOST_CHECK(q.empty());
  BOOST_CHECK_EQUAL(q.unfinished_tasks(), 1u);  // only item 1 was ever stored
}

// H6.5, test_put_nowait_simple: put_nowait works in the hub; with no getter
// to make room it throws queue_full.
BOOST_AUTO_TEST_CASE(put_nowait_from_the_hub_stores_or_throws_queue_full) {
  green::queue<int> q(1);
  std::vector<std::string> result;
  auto store = [&] {
    try {
      q.put_nowait(static_cast<int>(result.size()) + 2);
      result.push_back("ok");
    } catch (const green::queue_full&) {
      result.push_back("full");
    }
  };
  green::get_hub().run_callback(store);
  green::get_hub().run_callback(store);
  green::sleep();
  BOOST_CHECK((result == std::vector<std::string>{"ok", "full"}));
  BOOST_CHECK_EQUAL(q.get(), 2);
}

// H6.5, test_get_nowait_simple: get_nowait works in the hub.
BOOST_AUTO_TEST_CASE(get_nowait_from_the_hub_takes_or_throws_queue_empty) {
  green::queue<int> q(1);
  q.put(4);
  std::vector<int> result;
  auto take = [&] {
    try {
      result.push_back(q.get_nowait());
    } catch (const green::queue_empty&) {
      result.push_back(-1);
    }
  };
  green::get_hub().run_callback(take);
  green::get_hub().run_callback(take);
  green::sleep();
  BOOST_CHECK((result == std::vector<int>{4, -1}));
}

// H6.5, test_put_nowait_unlock: from the hub, a put wakes a waiting getter.
BOOST_AUTO_TEST_CASE(put_nowait_from_the_hub_hands_the_item_to_a_waiting_getter) {
  green::queue<int> q;
  auto p = green::spawn([&] { return q.get(); });
  green::sleep(1ms);
  BOOST_CHECK(q.empty());
  BOOST_CHECK(!q.full());
  green::get_hub().run_callback([&] { q.put_nowait(10); });
  BOOST_CHECK(!p.ready());
  green::sleep(1ms);
  BOOST_CHECK(p.ready());
  BOOST_CHECK_EQUAL(p.get(), 10);
  BOOST_CHECK(q.empty());
}

// H6.5, test_get_nowait_unlock: from the hub, get_nowait on an empty queue
// takes a blocked putter's item, and that putter finishes.
BOOST_AUTO_TEST_CASE(get_nowait_from_the_hub_takes_the_item_of_a_blocked_putter) {
  green::queue<int> q(1);
  q.put(4);
  auto p = green::spawn([&] { q.put(5); });
  green::sleep();
  BOOST_CHECK(q.full());
  BOOST_CHECK_EQUAL(q.get(), 4);  // room: but the putter has not run yet
  std::optional<int> result;
  // Take the item the unlock just stored, then the hub call finds the queue
  // empty with no putter: queue_empty; a fresh putter is then taken from.
  green::sleep();
  BOOST_CHECK_EQUAL(q.get(), 5);
  BOOST_CHECK(p.join(0s));
  auto p2 = green::spawn([&] {
    q.put(6);
    q.put(7);
  });
  green::sleep();  // 6 stored, p2 waits to put 7
  BOOST_CHECK(q.full());
  run_in_hub([&] {
    result = q.get_nowait();                 // 6; the unlock would store 7 later
    result = *result * 10 + q.get_nowait();  // 7: taken from the waiting putter
  });
  BOOST_CHECK(result == 67);
  BOOST_CHECK(p2.join(0s));
  BOOST_CHECK(q.empty());
}

// H6.5: a blocking get or put in the hub does not block (no
// blocking_switch_out_error): it throws queue_empty / queue_full.
BOOST_AUTO_TEST_CASE(a_blocking_get_or_put_in_the_hub_throws_empty_or_full_instead_of_blocking) {
  green::queue<int> q(1);
  std::vector<std::string> trace;
  run_in_hub([&] {
    try {
      q.get();
    } catch (const green::queue_empty&) {
      trace.push_back("empty");
    }
    q.put(1);
    try {
      q.put(2, true, 10s);
    } catch (const green::queue_full&) {
      trace.push_back("full");
    }
  });
  BOOST_CHECK((trace == std::vector<std::string>{"empty", "full"}));
  BOOST_CHECK_EQUAL(q.get(), 1);
}

// test_peek_empty: peek in main on an empty queue nobody fills is loop_exit;
// in a greenlet with a timeout it throws queue_empty.
BOOST_AUTO_TEST_CASE(a_peek_nobody_can_satisfy_is_loop_exit_and_a_timed_peek_is_queue_empty) {
  green::queue<int> q;
  bool looped = false;
  try {
    q.peek();
  } catch (const green::loop_exit& e) {
    looped = e.report().find("queue peek") != std::string::npos;
  }
  BOOST_CHECK(looped);
  auto g = green::spawn([&] { return throws<green::queue_empty>([&] { q.peek(10ms); }); });
  green::sleep(100ms);
  BOOST_CHECK(g.get());
}

// test_peek_multi_greenlet: a blocked peek returns the item and leaves it.
BOOST_AUTO_TEST_CASE(a_blocked_peek_returns_the_item_and_leaves_it_for_a_getter) {
  green::queue<int> q;
  auto peeker = green::spawn([&] { return q.peek(); });
  auto getter = green::spawn([&] { return q.get(); });
  green::sleep();
  q.put(1);
  BOOST_CHECK_EQUAL(peeker.get(), 1);
  BOOST_CHECK_EQUAL(getter.get(), 1);
  BOOST_CHECK(q.empty());
}

// H6.1, gevent Queue(0) / Queue(None): maxsize 0 is unbounded.
BOOST_AUTO_TEST_CASE(maxsize_zero_is_unbounded) {
  green::queue<int> q(0);
  BOOST_CHECK_EQUAL(q.maxsize(), 0u);
  for (int i = 0; i < 10000; ++i) q.put_nowait(i);
  BOOST_CHECK(!q.full());
  BOOST_CHECK_EQUAL(q.size(), 10000u);
  for (int i = 0; i < 10000; ++i) BOOST_CHECK_EQUAL(q.get_nowait(), i);
}

// H6.1: a huge maxsize allocates nothing up front and is never reached.
BOOST_AUTO_TEST_CASE(a_huge_maxsize_behaves_as_bounded_but_never_full) {
  green::queue<int> q(std::numeric_limits<std::size_t>::max());
  for (int i = 0; i < 1000; ++i) q.put(i);
  BOOST_CHECK(!q.full());
  BOOST_CHECK_EQUAL(q.get(), 0);
}

// H6.1: maxsize 1 holds exactly one item.
BOOST_AUTO_TEST_CASE(maxsize_one_is_full_with_one_item) {
  green::queue<int> q(1);
  BOOST_CHECK(!q.full());
  q.put(1);
  BOOST_CHECK(q.full());
  BOOST_CHECK(throws<green::queue_full>([&] { q.put_nowait(2); }));
  BOOST_CHECK_EQUAL(q.get(), 1);
  BOOST_CHECK(!q.full());
}

// Move-only items go in and out.
BOOST_AUTO_TEST_CASE(move_only_items_go_through_a_queue) {
  green::queue<std::unique_ptr<int>> q;
  auto c = green::spawn([&] {
    int sum = 0;
    for (int i = 0; i < 3; ++i) sum += *q.get();
    return sum;
  });
  for (int i = 1; i <= 3; ++i) q.put(std::make_unique<int>(i));
  BOOST_CHECK_EQUAL(c.get(), 6);
}

// TestPriorityQueue / TestLifoQueue: heap order (lowest first) and stack order.
BOOST_AUTO_TEST_CASE(priority_queue_gives_the_lowest_first_and_lifo_queue_the_latest) {
  green::priority_queue<int> pq;
  for (int v : {5, 1, 4, 2, 3}) pq.put(v);
  BOOST_CHECK_EQUAL(pq.peek(), 1);
  std::vector<int> got;
  while (!pq.empty()) got.push_back(pq.get());
  BOOST_CHECK((got == std::vector<int>{1, 2, 3, 4, 5}));

  green::priority_queue<int, std::greater<int>> greatest;
  for (int v : {5, 1, 4}) greatest.put(v);
  BOOST_CHECK_EQUAL(greatest.get(), 5);

  green::lifo_queue<int> lq;
  for (int v : {1, 2, 3}) lq.put(v);
  BOOST_CHECK_EQUAL(lq.peek(), 3);
  got.clear();
  while (!lq.empty()) got.push_back(lq.get());
  BOOST_CHECK((got == std::vector<int>{3, 2, 1}));
}

// A bounded priority queue: a waiting putter's item joins the heap order.
BOOST_AUTO_TEST_CASE(a_bounded_priority_queue_orders_the_items_of_waiting_putters) {
  green::priority_queue<int> q(2);
  q.put(5);
  q.put(3);
  auto p = green::spawn([&] { q.put(1); });
  green::sleep();
  BOOST_CHECK_EQUAL(q.get(), 3);
  green::sleep();  // the putter stores 1
  BOOST_CHECK_EQUAL(q.get(), 1);
  BOOST_CHECK_EQUAL(q.get(), 5);
  p.join();
}

// TestJoinableQueue.test_task_done and test_issue_45: task_done counts down;
// join() on a queue nothing was put into returns at once.
BOOST_AUTO_TEST_CASE(task_done_counts_down_and_join_without_items_returns_at_once) {
  green::queue<int> q;
  BOOST_CHECK(q.join());
  auto p = green::spawn([&] { q.put(1); });
  BOOST_CHECK_EQUAL(q.get(), 1);
  BOOST_CHECK_EQUAL(q.unfinished_tasks(), 1u);
  q.task_done();
  BOOST_CHECK_EQUAL(q.unfinished_tasks(), 0u);
  p.join();
}

// H6.6: join() waits for the last task_done(); on timeout it returns false.
BOOST_AUTO_TEST_CASE(join_waits_for_every_task_done_and_returns_false_on_timeout) {
  green::queue<int> q;
  q.put(1);
  q.put(2);
  BOOST_CHECK(!q.join(1s));
  std::vector<std::string> trace;
  auto worker = green::spawn([&] {
    for (int i = 0; i < 2; ++i) {
      q.get();
      green::sleep(1s);
      trace.push_back("done " + std::to_string(i));
      q.task_done();
    }
  });
  BOOST_CHECK(q.join());
  trace.push_back("joined");
  worker.join();
  BOOST_CHECK((trace == std::vector<std::string>{"done 0", "done 1", "joined"}));
}

// H6.6, gevent: task_done called too often is a ValueError.
BOOST_AUTO_TEST_CASE(task_done_called_too_often_is_a_value_error_that_says_so) {
  green::queue<int> q;
  q.put(1);
  q.get();
  q.task_done();
  try {
    q.task_done();
    BOOST_ERROR("task_done() did not throw");
  } catch (const green::value_error& e) {
    BOOST_CHECK(std::string(e.what()).find("too many times") != std::string::npos);
  }
}

// test_shutdown_all_methods_in_one_thread: after shutdown(), put throws
// queue_shut_down; get returns what is left, then throws it.
BOOST_AUTO_TEST_CASE(after_shutdown_puts_throw_and_gets_drain_then_throw) {
  green::queue<std::string> q;
  q.put("L");
  q.put_nowait("O");
  q.shutdown();
  BOOST_CHECK(q.is_shut_down());
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.put("E"); }));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.put_nowait("W"); }));
  BOOST_CHECK_EQUAL(q.get(), "L");
  q.task_done();
  BOOST_CHECK_EQUAL(q.get(), "O");
  q.task_done();
  BOOST_CHECK(q.join());
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.get(); }));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.get_nowait(); }));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.get(1s); }));
}

// test_shutdown_immediate_all_methods_in_one_thread: immediate drops what is
// left and counts it done.
BOOST_AUTO_TEST_CASE(an_immediate_shutdown_drops_the_items_and_counts_them_done) {
  green::queue<std::string> q;
  q.put("L");
  q.put_nowait("O");
  q.shutdown(true);
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.put("E"); }));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.get(); }));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { q.get_nowait(); }));
  BOOST_CHECK(throws<green::value_error>([&] { q.task_done(); }));
  BOOST_CHECK(q.join(0s));
}

// H6.7: shutdown() wakes every blocked getter and putter with
// queue_shut_down; a putter's item is not stored.
BOOST_AUTO_TEST_CASE(shutdown_wakes_blocked_getters_and_putters_with_queue_shut_down) {
  green::queue<int> empty_q;
  green::queue<int> full_q(1);
  full_q.put(1);
  std::vector<std::string> trace;
  auto wrap = [&](const char* name, std::function<void()> f) {
    return green::spawn([&trace, name, f] {
      try {
        f();
        trace.push_back(std::string(name) + " returned");
      } catch (const green::queue_shut_down&) {
        trace.push_back(std::string(name) + " shut down");
      }
    });
  };
  std::vector<green::task_base> ts{wrap("getter", [&] { empty_q.get(); }),
                                   wrap("peeker", [&] { empty_q.peek(); }),
                                   wrap("putter", [&] { full_q.put(2); })};
  green::sleep();
  empty_q.shutdown();
  full_q.shutdown();
  green::joinall(ts);
  BOOST_CHECK((trace == std::vector<std::string>{"getter shut down", "peeker shut down",
                                                 "putter shut down"}));
  BOOST_CHECK_EQUAL(full_q.qsize(), 1u);
  BOOST_CHECK_EQUAL(full_q.get(), 1);
}

// H6.7: a range-for takes items until the queue is shut down and drained
// (gevent iterates until StopIteration is put).
BOOST_AUTO_TEST_CASE(a_range_for_ends_once_the_queue_is_shut_down_and_drained) {
  green::queue<int> q(1);
  std::vector<int> seen;
  auto consumer = green::spawn([&] {
    for (int& v : q) seen.push_back(v);
    seen.push_back(-1);
  });
  for (int i = 0; i < 3; ++i) q.put(i);
  q.shutdown();
  consumer.join();
  BOOST_CHECK((seen == std::vector<int>{0, 1, 2, -1}));
}

// H6.8 (hostile): a queue destroyed while greenlets wait in get, put and
// join wakes each with a green::error naming the call; no use after free.
BOOST_AUTO_TEST_CASE(a_queue_destroyed_while_greenlets_wait_wakes_them_with_an_error) {
  auto getq = std::make_unique<green::queue<std::string>>();
  auto putq = std::make_unique<green::queue<std::string>>(1);
  putq->put("x");
  auto joinq = std::make_unique<green::queue<std::string>>();
  joinq->put("y");
  std::vector<std::string> errors;
  auto catcher = [&](std::function<void()> f) {
    return green::spawn([&errors, f] {
      try {
        f();
      } catch (const green::error& e) {
        errors.push_back(e.what());
      }
    });
  };
  std::vector<green::task_base> ts{catcher([&] { getq->get(); }),
                                   catcher([&] { putq->put(std::string(100, 'z')); }),
                                   catcher([&] { joinq->join(); })};
  green::sleep();
  getq.reset();
  putq.reset();
  joinq.reset();
  green::joinall(ts);
  BOOST_REQUIRE_EQUAL(errors.size(), 3u);
  BOOST_CHECK(errors[0].find("queue get") != std::string::npos);
  BOOST_CHECK(errors[1].find("queue put") != std::string::npos);
  BOOST_CHECK(errors[2].find("queue join") != std::string::npos);
  for (const auto& e : errors) BOOST_CHECK(e.find("destroyed") != std::string::npos);
}

// H6.8: a pending hand-off (put scheduled, getter not yet run) survives the
// queue's destruction: the getter is told, nothing is touched after free.
BOOST_AUTO_TEST_CASE(a_queue_destroyed_with_a_hand_off_pending_does_not_crash) {
  auto q = std::make_unique<green::queue<std::string>>();
  std::string seen;
  auto g = green::spawn([&] {
    try {
      seen = q->get();
    } catch (const green::error&) {
      seen = "error";
    }
  });
  green::sleep();
  q->put(std::string(100, 'a'));  // the unlock callback is queued
  q.reset();
  g.join();
  BOOST_CHECK_EQUAL(seen, "error");
}

// H6.5: join() with unfinished tasks would block, so in the hub it throws
// blocking_switch_out_error (as gevent's join, an Event wait, does).
BOOST_AUTO_TEST_CASE(join_in_the_hub_with_unfinished_tasks_is_a_blocking_switch_out_error) {
  green::queue<int> q;
  std::vector<std::string> trace;
  run_in_hub([&] {
    trace.push_back(q.join() ? "joined" : "not joined");
    q.put(1);
    try {
      q.join();
    } catch (const green::blocking_switch_out_error&) {
      trace.push_back("blocking_switch_out_error");
    }
  });
  BOOST_CHECK((trace == std::vector<std::string>{"joined", "blocking_switch_out_error"}));
}

// H6.4 (hostile): seeded random traffic of producers and consumers on a
// queue of 3, with timeouts and kills at their blocking points. Every item
// whose put() returned is taken exactly once (or is still queued); no item
// whose put() failed ever comes out.
BOOST_AUTO_TEST_CASE(random_traffic_with_kills_and_timeouts_loses_and_duplicates_nothing) {
  std::uint32_t seed = 20261207;
  auto rnd = [&](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  green::queue<int> q(3);
  std::vector<int> put_ok, got;
  std::vector<green::task_base> ts;
  int next = 0;
  for (int round = 0; round < 400; ++round) {
    std::optional<green::duration> t;
    if (rnd(3) == 0) t = std::chrono::milliseconds(rnd(4));
    switch (rnd(5)) {
      case 0: {
        const int item = next++;
        ts.push_back(green::spawn([&, item, t] {
          try {
            q.put(item, true, t);
            put_ok.push_back(item);
          } catch (const green::queue_full&) {
          }
        }));
        break;
      }
      case 1:
        ts.push_back(green::spawn([&, t] {
          try {
            got.push_back(q.get(t));
          } catch (const green::queue_empty&) {
          }
        }));
        break;
      case 2:
        if (!ts.empty()) ts[rnd(static_cast<std::uint32_t>(ts.size()))].kill(nullptr, false);
        break;
      case 3:
        // main takes one without yielding: a hand-off pass may be queued
        // behind a kill issued just before.
        try {
          got.push_back(q.get_nowait());
        } catch (const green::queue_empty&) {
        }
        break;
      default:
        green::sleep(std::chrono::milliseconds(rnd(3)));
    }
  }
  green::killall(ts);
  while (!q.empty()) got.push_back(q.get());
  std::sort(put_ok.begin(), put_ok.end());
  std::sort(got.begin(), got.end());
  BOOST_CHECK(put_ok == got);
  BOOST_CHECK_GT(got.size(), 20u);  // the traffic did move items
}

// H2.2, H6.9: the loop_exit report names queue get and queue put.
BOOST_AUTO_TEST_CASE(the_loop_exit_report_names_queue_get_and_queue_put) {
  green::queue<int> in;
  green::queue<int> out(1);
  out.put(0);
  auto producer = green::spawn([&] { out.put(1); });
  producer.set_name("producer");
  std::string report;
  try {
    in.get();
  } catch (const green::loop_exit& e) {
    report = e.report();
  }
  BOOST_TEST_MESSAGE(report);
  BOOST_CHECK(report.find("main greenlet waits on queue get") != std::string::npos);
  BOOST_CHECK(report.find("task 'producer' waits on queue put") != std::string::npos);
  producer.kill();
}

// H6.9: a queue used from another thread is a green::error.
BOOST_AUTO_TEST_CASE(a_queue_used_from_another_thread_is_a_green_error) {
  green::queue<int> q;
  q.put(1);
  std::vector<std::string> caught;
  std::thread t([&] {
    for (auto f :
         std::vector<std::function<void()>>{[&] { q.put(2); }, [&] { q.get(); },
                                            [&] { (void)q.qsize(); }, [&] { q.task_done(); }}) {
      try {
        f();
        caught.push_back("no error");
      } catch (const green::error& e) {
        caught.push_back(e.what());
      }
    }
  });
  t.join();
  BOOST_REQUIRE_EQUAL(caught.size(), 4u);
  for (const auto& c : caught) BOOST_CHECK(c.find("another thread") != std::string::npos);
  BOOST_CHECK_EQUAL(q.get(), 1);
}

BOOST_AUTO_TEST_SUITE_END()
