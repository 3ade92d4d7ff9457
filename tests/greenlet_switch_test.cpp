// Switching and payloads: spec 1.4 and scenarios 1-10.
#define BOOST_TEST_MODULE greenlet_switch
#include <boost/test/unit_test.hpp>

#include <vector>

#include "green/greenlet.hpp"
#include "support/fixtures.hpp"

BOOST_FIXTURE_TEST_SUITE(greenlet_switch, green::test::leak_check)

// Scenario 1 (test_simple): ping-pong order.
BOOST_AUTO_TEST_CASE(ping_pong_runs_in_switch_order_and_ends_dead) {
  std::vector<int> seen;
  green::greenlet g([&] {
    seen.push_back(1);
    green::getcurrent().parent()->switch_();
    seen.push_back(3);
  });
  seen.push_back(0);
  g.switch_();
  seen.push_back(2);
  g.switch_();
  seen.push_back(4);
  BOOST_TEST(seen == (std::vector<int>{0, 1, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_TEST(g.dead());
}

BOOST_AUTO_TEST_SUITE_END()
