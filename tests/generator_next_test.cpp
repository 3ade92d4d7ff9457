// next(): creation, running to a yield, return values, exhaustion and
// exceptions out of the body (P1.1, P1.2, P1.4-P1.7, P1.10, P6.3). Every case
// runs against both implementations.
#define BOOST_TEST_MODULE generator_next
#include <boost/test/unit_test.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::generator_state;
using green::test::generator_impls;
using green::test::log_t;

BOOST_FIXTURE_TEST_SUITE(generator_next, green::test::leak_check)

// P1.1: creating a generator runs no code; it is CREATED.
BOOST_AUTO_TEST_CASE_TEMPLATE(creating_generator_runs_nothing, Impl, generator_impls) {
  log_t log;
  {
    auto g = Impl::logged(log);
    BOOST_TEST((g.state() == generator_state::created));
    BOOST_TEST(!g.running());
    BOOST_TEST(!g.suspended());
    BOOST_TEST(!g.done());
    BOOST_TEST(!g.delegating());
    BOOST_TEST(log.empty());
  }
  BOOST_TEST(log.empty());  // P6.1: an unstarted generator runs nothing
}

// P1.2: next() runs to the first yield and returns its value; SUSPENDED.
BOOST_AUTO_TEST_CASE_TEMPLATE(next_runs_to_first_yield_and_suspends, Impl, generator_impls) {
  log_t log;
  auto g = Impl::logged(log);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST((g.state() == generator_state::suspended));
  BOOST_TEST(g.suspended());
  BOOST_TEST(log == (log_t{"start"}), boost::test_tools::per_element());
  BOOST_TEST(g.next() == 2);
  BOOST_TEST(log == (log_t{"start", "after 1"}), boost::test_tools::per_element());
}

// P1.4: next() makes the pending yield evaluate to "None" (S{}).
BOOST_AUTO_TEST_CASE_TEMPLATE(next_makes_yield_return_default_value, Impl, generator_impls) {
  std::vector<int> got;
  auto g = Impl::recorder(got);
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(g.send(42) == 2);
  BOOST_TEST(g.next() == 3);
  BOOST_TEST(got == (std::vector<int>{0, 42, 0}), boost::test_tools::per_element());
}

// P1.5: return v ends with stop_iteration and result() == v.
BOOST_AUTO_TEST_CASE_TEMPLATE(return_value_is_result_after_stop, Impl, generator_impls) {
  auto g = Impl::counter_ret(2, 42);
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(!g.has_result());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.has_result());
  BOOST_TEST(g.result() == 42);
  BOOST_TEST(g.done());
}

// P1.5: a body with no return value ends with a bare stop_iteration.
BOOST_AUTO_TEST_CASE_TEMPLATE(void_body_ends_with_bare_stop, Impl, generator_impls) {
  auto g = Impl::counter(1);
  static_assert(std::is_void_v<typename decltype(g)::return_type>);
  BOOST_TEST(g.next() == 0);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.has_result());  // it returned (nothing)
}

// P1.5: a returned tuple is not unpacked.
BOOST_AUTO_TEST_CASE_TEMPLATE(returned_tuple_is_not_unpacked, Impl, generator_impls) {
  auto g = Impl::pair_ret();
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST((g.result() == std::tuple<int, int>(1, 2)));
}

// P1.5: result() before the body returned is an error.
BOOST_AUTO_TEST_CASE_TEMPLATE(result_before_return_is_error, Impl, generator_impls) {
  auto g = Impl::counter_ret(1, 5);
  BOOST_TEST(green::test::contains(green::test::error_text([&] { (void)g.result(); }),
                                   "has not returned"));
  BOOST_TEST(g.next() == 0);
  BOOST_CHECK_THROW((void)g.result(), green::error);
}

// P1.6: an exhausted generator raises a bare stop_iteration on every call.
BOOST_AUTO_TEST_CASE_TEMPLATE(exhausted_generator_stops_on_every_call, Impl, generator_impls) {
  auto g = Impl::counter_ret(0, 3);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST((g.state() == generator_state::closed));
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.result() == 3);  // still there
}

// P1.6: throw_() into an exhausted generator raises the exception at once.
BOOST_AUTO_TEST_CASE_TEMPLATE(exhausted_generator_rethrows_thrown_exception, Impl,
                              generator_impls) {
  auto g = Impl::counter(0);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_CHECK_THROW(g.throw_(green::test::key_error("k")), green::test::key_error);
  BOOST_TEST(g.done());
}

// P1.6: close() on an exhausted generator is a no-op, repeatable.
BOOST_AUTO_TEST_CASE_TEMPLATE(exhausted_generator_close_is_noop, Impl, generator_impls) {
  auto g = Impl::counter(0);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  g.close();
  g.close();
  BOOST_TEST(g.done());
}

// P1.7: an exception raised in the body goes out of next() and closes it.
BOOST_AUTO_TEST_CASE_TEMPLATE(exception_in_body_goes_out_of_next_and_closes, Impl,
                              generator_impls) {
  auto g = Impl::raiser(1);
  BOOST_TEST(g.next() == 0);
  std::string what;
  try {
    (void)g.next();
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  BOOST_TEST(what == "boom");
  BOOST_TEST((g.state() == generator_state::closed));
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(!g.has_result());
}

// P1.10: a body that yields nothing is exhausted at once.
BOOST_AUTO_TEST_CASE_TEMPLATE(empty_generator_stops_on_first_next, Impl, generator_impls) {
  auto g = Impl::counter(0);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.done());
}

// P6.3: inside the body the generator reports RUNNING; outside SUSPENDED.
BOOST_AUTO_TEST_CASE_TEMPLATE(state_is_running_only_inside_body, Impl, generator_impls) {
  std::vector<generator_state> seen;
  typename Impl::template gen<int>* self = nullptr;
  auto g = Impl::hooked([&] { seen.push_back(self->state()); }, 2);
  self = &g;
  BOOST_TEST(g.next() == 0);
  BOOST_TEST((g.state() == generator_state::suspended));
  BOOST_TEST(g.next() == 1);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(seen.size() == 2u);
  for (generator_state s : seen) BOOST_TEST((s == generator_state::running));
}

// Values are passed by address and moved out by next(): a move-only Y works.
BOOST_AUTO_TEST_CASE_TEMPLATE(move_only_values_are_moved_out, Impl, generator_impls) {
  auto g = Impl::unique_values(3);
  int sum = 0;
  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<int> p = g.next();
    sum += *p;
  }
  BOOST_TEST(sum == 3);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

BOOST_AUTO_TEST_SUITE_END()
