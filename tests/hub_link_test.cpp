// Links: docs/semantics.md H3.8, following gevent's
// src/gevent/tests/test__greenlet.py (TestLink, LinksTestCase) and the
// link-ordering fine point verified against gevent 22.10.
#define BOOST_TEST_MODULE hub_link
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(hub_link, green::test::hub_check)

// gevent 1.15 item 2: links fire in registration order and a join waiter is
// one of them: it returns after the links registered before it.
BOOST_AUTO_TEST_CASE(links_fire_in_registration_order_and_a_joiner_wakes_in_its_place) {
  std::vector<std::string> trace;
  auto t = green::spawn([] { green::sleep(1s); });
  t.rawlink([&](const green::task_base&) { trace.push_back("raw1"); });
  t.link([&](const green::task_base&) { trace.push_back("link2"); });
  auto joiner = green::spawn([&] {
    t.join();
    trace.push_back("joiner");
  });
  green::sleep();  // the joiner registers its waiter link now
  t.rawlink([&](const green::task_base&) { trace.push_back("raw3"); });
  joiner.join();
  green::sleep();
  BOOST_CHECK((trace == std::vector<std::string>{"raw1", "link2", "joiner", "raw3"}));
}

BOOST_AUTO_TEST_CASE(link_value_and_link_exception_fire_only_on_their_outcome) {
  auto prev = green::get_hub().set_error_handler([](const green::failure_report&) {});
  std::vector<std::string> trace;
  auto ok = green::spawn([] { return 1; });
  auto bad = green::spawn([]() -> int { throw std::runtime_error("x"); });
  for (auto* t : {static_cast<green::task_base*>(&ok), static_cast<green::task_base*>(&bad)}) {
    t->link_value(
        [&](const green::task_base& s) { trace.push_back("value" + std::to_string(s == ok)); });
    t->link_exception(
        [&](const green::task_base& s) { trace.push_back("exc" + std::to_string(s == bad)); });
  }
  green::joinall({ok, bad});
  green::sleep();
  BOOST_CHECK((trace == std::vector<std::string>{"value1", "exc1"}));
  green::get_hub().set_error_handler(prev);
}

BOOST_AUTO_TEST_CASE(a_link_added_after_the_end_still_fires_and_unlink_removes_one) {
  int fired = 0;
  auto t = green::spawn([] {});
  auto id = t.rawlink([&](const green::task_base&) { fired += 10; });
  BOOST_CHECK(t.unlink(id));
  BOOST_CHECK(!t.unlink(id));
  t.join();
  t.rawlink([&](const green::task_base&) { ++fired; });
  green::sleep();
  BOOST_CHECK_EQUAL(fired, 1);
}

// A link callback runs in its own greenlet, so it may block and spawn.
BOOST_AUTO_TEST_CASE(a_link_callback_may_block_and_spawn) {
  std::vector<std::string> trace;
  green::task<void> inner;
  auto t = green::spawn([] {});
  t.link([&](const green::task_base&) {
    green::sleep(1s);
    inner = green::spawn([&] { trace.push_back("spawned from link"); });
    inner.join();
    trace.push_back("link done");
  });
  t.join();
  green::sleep(2s);
  BOOST_CHECK((trace == std::vector<std::string>{"spawned from link", "link done"}));
}

// H1.5; gevent 1.15 item 12: blocking in a rawlink callback throws
// blocking_switch_out_error inside the callback.
BOOST_AUTO_TEST_CASE(blocking_in_a_rawlink_callback_throws_blocking_switch_out_error) {
  std::string message;
  auto t = green::spawn([] {});
  t.rawlink([&](const green::task_base&) {
    try {
      green::sleep(1s);
    } catch (const green::blocking_switch_out_error& e) {
      message = e.what();
    }
  });
  t.join();
  green::sleep();
  BOOST_CHECK(message.find("BlockingSwitchOutError") != std::string::npos);
}

// H1.6: a throwing rawlink is reported and the hub goes on.
BOOST_AUTO_TEST_CASE(a_throwing_rawlink_is_reported_and_the_hub_goes_on) {
  std::vector<std::string> reports;
  auto prev = green::get_hub().set_error_handler(
      [&](const green::failure_report& r) { reports.push_back(r.what); });
  auto t = green::spawn([] {});
  bool second = false;
  t.rawlink([](const green::task_base&) { throw std::logic_error("raw"); });
  t.rawlink([&](const green::task_base&) { second = true; });
  t.join();
  green::sleep();
  BOOST_CHECK(second);
  BOOST_REQUIRE_EQUAL(reports.size(), 1u);
  BOOST_CHECK_EQUAL(reports[0], "raw");
  green::get_hub().set_error_handler(prev);
}

BOOST_AUTO_TEST_SUITE_END()
