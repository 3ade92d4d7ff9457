// send(): values into the body (P1.3, P1.4, P1.6). Every case runs
// against both implementations.
#define BOOST_TEST_MODULE generator_send
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::generator_state;
using green::test::contains;
using green::test::error_text;
using green::test::generator_impls;

BOOST_FIXTURE_TEST_SUITE(generator_send, green::test::leak_check)

// P1.3: send() into a fresh generator is an error and changes nothing;
// the generator is still CREATED and usable afterwards.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_to_unstarted_generator_is_error_and_changes_nothing, Impl,
                              generator_impls) {
  std::vector<int> got;
  auto g = Impl::recorder(got);
  const std::string what = error_text([&] { (void)g.send(5); });
  BOOST_TEST(contains(what, "can't send non-void value to a just-started generator"));
  BOOST_TEST(contains(what, "call next() first"));
  BOOST_TEST((g.state() == generator_state::created));
  BOOST_TEST(got.empty());
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.send(7) == 1);
  BOOST_TEST(got == (std::vector<int>{7}), boost::test_tools::per_element());
}

// P1.4: the suspended yield evaluates to the sent value; send returns the
// next yielded value.
BOOST_AUTO_TEST_CASE_TEMPLATE(sent_value_is_result_of_pending_yield, Impl, generator_impls) {
  auto g = Impl::echo();
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.send(42) == 42);
  BOOST_TEST(g.send(7) == 7);
  BOOST_TEST(g.next() == 0);  // next() sends "None": S{}
  BOOST_CHECK_THROW(g.send(-9), green::stop_iteration);
  BOOST_TEST(g.result() == 9);
}

// P1.4: the classic accumulator driven by send().
BOOST_AUTO_TEST_CASE_TEMPLATE(accumulator_keeps_running_total, Impl, generator_impls) {
  auto acc = Impl::accumulator();
  BOOST_TEST(acc.next() == 0);
  BOOST_TEST(acc.send(5) == 5);
  BOOST_TEST(acc.send(10) == 15);
  BOOST_TEST(acc.send(1) == 16);
  BOOST_CHECK_THROW(acc.send(-1), green::stop_iteration);
  BOOST_TEST(acc.result() == 16);
}

// P1.6: send() to an exhausted generator raises a bare stop_iteration.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_to_exhausted_generator_stops, Impl, generator_impls) {
  auto g = Impl::echo();
  BOOST_TEST(g.next() == 0);
  BOOST_CHECK_THROW(g.send(-1), green::stop_iteration);
  BOOST_CHECK_THROW(g.send(3), green::stop_iteration);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

// P1.3: after close() of an unstarted generator, send() stops (CLOSED),
// it does not complain about the start.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_after_close_of_unstarted_stops, Impl, generator_impls) {
  auto g = Impl::echo();
  g.close();
  BOOST_CHECK_THROW(g.send(3), green::stop_iteration);
}

// P1.4: sent values are passed by address; a large value is not copied
// more than the send() parameter itself.
BOOST_AUTO_TEST_CASE_TEMPLATE(many_sends_in_a_row_arrive_in_order, Impl, generator_impls) {
  std::vector<int> got;
  auto g = Impl::recorder(got);
  BOOST_TEST(g.next() == 0);
  for (int i = 1; i <= 100; ++i) BOOST_TEST(g.send(i * 10) == i);
  BOOST_TEST(got.size() == 100u);
  BOOST_TEST(got.front() == 10);
  BOOST_TEST(got.back() == 1000);
}

// P1.4: send() converts its argument to the send type S first (here a
// long into std::optional<long>), so the body receives an S.
BOOST_AUTO_TEST_CASE_TEMPLATE(sent_value_is_converted_to_send_type, Impl, generator_impls) {
  std::vector<int> got;
  auto g = Impl::recorder(got);
  BOOST_TEST(g.next() == 0);
  const long wide = 7;
  const short narrow = 8;
  BOOST_TEST(g.send(wide) == 1);
  BOOST_TEST(g.send(narrow) == 2);
  BOOST_TEST(g.send('\x09') == 3);
  BOOST_TEST(got == (std::vector<int>{7, 8, 9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
