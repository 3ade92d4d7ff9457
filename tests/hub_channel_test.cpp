// channel: docs/semantics.md H6.10, following gevent's
// src/gevent/tests/test__queue.py (TestChannel, TestGetInterruptChannel,
// TestPutInterruptChannel); each case names the test it follows.
#define BOOST_TEST_MODULE hub_channel
#include <boost/test/unit_test.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

using green::test::throws;

BOOST_FIXTURE_TEST_SUITE(hub_channel, green::test::hub_check)

// test_send: put returns once the getter has the item, and the getter runs
// first.
BOOST_AUTO_TEST_CASE(a_put_returns_after_the_getter_took_the_item) {
  green::channel<std::string> ch;
  std::vector<std::string> events;
  auto g = green::spawn([&] {
    events.push_back(ch.get());
    events.push_back(ch.get());
  });
  events.push_back("sending");
  ch.put("hello");
  events.push_back("sent hello");
  ch.put("world");
  events.push_back("sent world");
  BOOST_CHECK((events ==
               std::vector<std::string>{"sending", "hello", "sent hello", "world", "sent world"}));
  g.join();
}

// test_wait: a waiting getter; the putter resumes after the getter ran.
BOOST_AUTO_TEST_CASE(a_getter_waits_for_a_putter_that_resumes_after_it) {
  green::channel<std::string> ch;
  std::vector<std::string> events;
  auto g = green::spawn([&] {
    events.push_back("sending hello");
    ch.put("hello");
    events.push_back("sending world");
    ch.put("world");
    events.push_back("sent world");
  });
  events.push_back("waiting");
  events.push_back(ch.get());
  events.push_back(ch.get());
  BOOST_CHECK((events == std::vector<std::string>{"waiting", "sending hello", "hello",
                                                  "sending world", "world"}));
  green::sleep();
  BOOST_CHECK_EQUAL(events.back(), "sent world");
  g.join();
}

// test_zero_max_size: the sender does not finish before a receiver came.
BOOST_AUTO_TEST_CASE(a_sender_waits_until_a_receiver_comes) {
  green::channel<std::string> ch;
  green::async_result<std::string> e1, e2;
  auto p1 = green::spawn([&] {
    ch.put("hi");
    e1.set("done");
  });
  green::sleep(1ms);
  BOOST_CHECK(!e1.ready());
  BOOST_CHECK_EQUAL(ch.balance(), 1);
  auto p2 = green::spawn([&] { e2.set(ch.get()); });
  BOOST_CHECK_EQUAL(e2.get(), "hi");
  BOOST_CHECK_EQUAL(e1.get(), "done");
  BOOST_CHECK(p1.join(0s));
  BOOST_CHECK(p2.join(0s));
  BOOST_CHECK_EQUAL(ch.balance(), 0);
}

// gevent 1.15 item 13, test_put_nowait_simple (channel flavour): no getter
// waits, so qsize() is 0, full() is true and put_nowait throws queue_full.
BOOST_AUTO_TEST_CASE(with_no_waiting_getter_a_channel_is_full_and_put_nowait_throws_queue_full) {
  green::channel<int> ch;
  BOOST_CHECK_EQUAL(ch.qsize(), 0u);
  BOOST_CHECK(ch.full());
  BOOST_CHECK(ch.empty());
  BOOST_CHECK(throws<green::queue_full>([&] { ch.put_nowait(1); }));
  BOOST_CHECK(throws<green::queue_empty>([&] { ch.get_nowait(); }));
  std::vector<std::string> result;
  green::get_hub().run_callback([&] {
    try {
      ch.put_nowait(2);
      result.push_back("ok");
    } catch (const green::queue_full&) {
      result.push_back("full");
    }
  });
  green::sleep();
  BOOST_CHECK((result == std::vector<std::string>{"full"}));
}

// TestGetInterruptChannel / TestPutInterruptChannel: queue_empty and
// queue_full on timeout; a timed-out putter keeps its move-only item.
BOOST_AUTO_TEST_CASE(get_and_put_throw_queue_empty_and_queue_full_on_timeout) {
  green::channel<std::unique_ptr<int>> ch;
  BOOST_CHECK(throws<green::queue_empty>([&] { ch.get(1s); }));
  auto mine = std::make_unique<int>(5);
  BOOST_CHECK(throws<green::queue_full>([&] { ch.put(std::move(mine), 1s); }));
  BOOST_CHECK(mine && *mine == 5);
  BOOST_CHECK_EQUAL(ch.balance(), 0);
}

// H6.10: with a getter waiting, put_nowait hands the item over without a
// switch; full() and balance() reflect the waiting getter.
BOOST_AUTO_TEST_CASE(put_nowait_hands_the_item_to_a_waiting_getter_without_switching) {
  green::channel<int> ch;
  auto g = green::spawn([&] { return ch.get(); });
  green::sleep();
  BOOST_CHECK(!ch.full());
  BOOST_CHECK_EQUAL(ch.balance(), -1);
  ch.put_nowait(3);
  BOOST_CHECK(!g.ready());  // no switch yet
  BOOST_CHECK_EQUAL(ch.balance(), 0);
  BOOST_CHECK_EQUAL(g.get(), 3);
}

// test_put_nowait_unlock (channel): from the hub, put hands the item to a
// waiting getter.
BOOST_AUTO_TEST_CASE(a_put_from_the_hub_hands_the_item_to_a_waiting_getter) {
  green::channel<int> ch;
  auto g = green::spawn([&] { return ch.get(); });
  green::sleep(1ms);
  green::get_hub().run_callback([&] { ch.put_nowait(10); });
  green::sleep(1ms);
  BOOST_CHECK(g.ready());
  BOOST_CHECK_EQUAL(g.get(), 10);
}

// test_get_nowait_unlock_channel: get_nowait in the hub takes a waiting
// putter's item, and the putter finishes.
BOOST_AUTO_TEST_CASE(get_nowait_from_the_hub_takes_a_waiting_putters_item) {
  green::channel<int> ch;
  auto p = green::spawn([&] { ch.put(5); });
  BOOST_CHECK(ch.empty());
  BOOST_CHECK(ch.full());
  green::sleep(1ms);
  BOOST_CHECK(!ch.empty());
  std::vector<int> result;
  green::get_hub().run_callback([&] { result.push_back(ch.get_nowait()); });
  green::sleep(1ms);
  BOOST_CHECK((result == std::vector<int>{5}));
  BOOST_CHECK(p.ready());
  BOOST_CHECK(ch.empty());
}

// test_iterable: a range-for over a channel ends at shutdown (gevent ends it
// when StopIteration is put).
BOOST_AUTO_TEST_CASE(a_range_for_over_a_channel_ends_at_shutdown) {
  green::channel<int> ch;
  std::vector<int> seen;
  auto consumer = green::spawn([&] {
    for (int v : ch) seen.push_back(v);
    seen.push_back(-1);
  });
  ch.put(1);
  ch.put(2);
  ch.shutdown();
  consumer.join();
  BOOST_CHECK((seen == std::vector<int>{1, 2, -1}));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { ch.put(3); }));
  BOOST_CHECK(throws<green::queue_shut_down>([&] { ch.get(); }));
}

// H6.4 (hostile): the getter a non-blocking put handed the item to is
// killed before it ran: it still returns the item from get(), and the kill
// lands at its next blocking point. Nothing is lost.
BOOST_AUTO_TEST_CASE(a_getter_killed_after_a_hand_off_still_returns_the_item) {
  green::channel<int> ch;
  std::optional<int> got;
  auto g = green::spawn([&] {
    got = ch.get();
    green::sleep(1s);
  });
  green::sleep();
  ch.put_nowait(9);
  g.kill(nullptr, false);
  g.join();
  BOOST_CHECK(got == 9);
  BOOST_CHECK(g.exited());
}

// H6.4 (hostile): the first waiting getter is killed, and a put arrives
// before the killed getter has run: the pairing pass skips it and the item
// goes to the next getter.
BOOST_AUTO_TEST_CASE(an_item_put_as_the_first_getter_is_killed_goes_to_the_next_getter) {
  green::channel<int> ch;
  std::vector<int> got;
  auto first = green::spawn([&] { got.push_back(ch.get()); });
  auto second = green::spawn([&] { got.push_back(ch.get() * 10); });
  green::sleep();
  first.kill(nullptr, false);  // queued in the hub
  ch.put(4);                   // the pairing pass is queued behind the kill
  second.join();
  first.join();
  BOOST_CHECK(first.exited());
  BOOST_CHECK((got == std::vector<int>{40}));
}

// H6.4 (hostile): a putter killed while it waits delivers nothing; the next
// putter's item goes to the getter.
BOOST_AUTO_TEST_CASE(a_putter_killed_while_waiting_delivers_nothing) {
  green::channel<int> ch;
  auto first = green::spawn([&] { ch.put(1); });
  auto second = green::spawn([&] { ch.put(2); });
  green::sleep();
  first.kill();
  BOOST_CHECK_EQUAL(ch.get(), 2);
  second.join();
  BOOST_CHECK(first.exited());
  BOOST_CHECK_EQUAL(ch.balance(), 0);
}

// H6.4 (hostile): a putter killed while the getter that took its item runs:
// the put still returns (the item was delivered), the kill lands later.
BOOST_AUTO_TEST_CASE(a_putter_killed_after_its_item_was_taken_returns_from_put) {
  green::channel<int> ch;
  std::vector<std::string> trace;
  green::task<void> putter;
  putter = green::spawn([&] {
    ch.put(1);
    trace.push_back("put returned");
    green::sleep(1s);
    trace.push_back("not reached");
  });
  auto getter = green::spawn([&] {
    trace.push_back("got " + std::to_string(ch.get()));
    putter.kill(nullptr, false);
  });
  getter.join();
  putter.join();
  BOOST_CHECK((trace == std::vector<std::string>{"got 1", "put returned"}));
  BOOST_CHECK(putter.exited());
}

// H6.2: blocked getters and putters of a channel pair up FIFO.
BOOST_AUTO_TEST_CASE(channel_getters_and_putters_pair_up_fifo) {
  green::channel<int> ch;
  std::vector<std::string> trace;
  std::vector<green::task_base> ts;
  for (int i = 0; i < 3; ++i) {
    ts.push_back(green::spawn(
        [&, i] { trace.push_back("g" + std::to_string(i) + "=" + std::to_string(ch.get())); }));
  }
  for (int i = 0; i < 3; ++i) ts.push_back(green::spawn([&, i] { ch.put(10 + i); }));
  green::joinall(ts);
  BOOST_CHECK((trace == std::vector<std::string>{"g0=10", "g1=11", "g2=12"}));
}

// H6.8 (hostile): a channel destroyed while greenlets wait on it wakes them
// with green::error; no use after free.
BOOST_AUTO_TEST_CASE(a_channel_destroyed_while_greenlets_wait_wakes_them_with_an_error) {
  auto a = std::make_unique<green::channel<std::string>>();
  auto b = std::make_unique<green::channel<std::string>>();
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
  std::vector<green::task_base> ts{catcher([&] { a->get(); }),
                                   catcher([&] { b->put(std::string(100, 'x')); })};
  green::sleep();
  a.reset();
  b.reset();
  green::joinall(ts);
  BOOST_REQUIRE_EQUAL(errors.size(), 2u);
  BOOST_CHECK(errors[0].find("channel get") != std::string::npos);
  BOOST_CHECK(errors[1].find("channel put") != std::string::npos);
}

// H2.2: the loop_exit report names channel get.
BOOST_AUTO_TEST_CASE(the_loop_exit_report_names_channel_get) {
  green::channel<int> ch;
  std::string report;
  try {
    ch.get();
  } catch (const green::loop_exit& e) {
    report = e.report();
  }
  BOOST_CHECK(report.find("main greenlet waits on channel get") != std::string::npos);
}

// H6.9: a channel used from another thread is a green::error.
BOOST_AUTO_TEST_CASE(a_channel_used_from_another_thread_is_a_green_error) {
  green::channel<int> ch;
  std::string caught;
  std::thread t([&] {
    try {
      ch.put_nowait(1);
    } catch (const green::error& e) {
      caught = e.what();
    }
  });
  t.join();
  BOOST_CHECK(caught.find("this channel belongs to the hub of another thread") !=
              std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
