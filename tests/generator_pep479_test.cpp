// PEP 479: a stop_iteration that escapes a generator body becomes an error
// (P4.1, and P2.5, P3.5, P5.3). Every case runs against both
// implementations.
#define BOOST_TEST_MODULE generator_pep479
#include <boost/test/unit_test.hpp>

#include <exception>
#include <stdexcept>
#include <string>

#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::test::contains;
using green::test::generator_impls;

namespace {

// outcome_of() runs one next() and describes what came out: the error text
// and whether its nested cause is a stop_iteration.
template <class G>
std::string outcome_of(G& g, bool& nested_stop) {
  nested_stop = false;
  try {
    (void)g.next();
  } catch (const green::error& e) {
    try {
      std::rethrow_if_nested(e);
    } catch (const green::stop_iteration&) {
      nested_stop = true;
    } catch (...) {
    }
    return e.what();
  } catch (const green::stop_iteration&) {
    return "stop_iteration";
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "<value>";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(generator_pep479, green::test::leak_check)

// P4.1: an explicit stop_iteration leaving the body becomes an error whose
// nested exception (Python: __cause__) is the stop_iteration.
BOOST_AUTO_TEST_CASE_TEMPLATE(stop_escaping_body_becomes_error_with_cause, Impl, generator_impls) {
  auto g = Impl::stop_raiser();
  BOOST_TEST(g.next() == 1);
  bool nested_stop = false;
  const std::string what = outcome_of(g, nested_stop);
  BOOST_TEST(contains(what, "generator raised stop_iteration"));
  BOOST_TEST(nested_stop);
  BOOST_TEST(g.done());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);  // then a plain stop
}

// P4.1: next() on an exhausted generator inside the body is the same.
BOOST_AUTO_TEST_CASE_TEMPLATE(next_on_exhausted_inside_body_becomes_error, Impl, generator_impls) {
  auto g = Impl::next_on_exhausted();
  BOOST_TEST(g.next() == 1);
  bool nested_stop = false;
  BOOST_TEST(contains(outcome_of(g, nested_stop), "generator raised stop_iteration"));
  BOOST_TEST(nested_stop);
}

// P4.1: other exceptions are not converted (Python: StopAsyncIteration
// in a sync generator passes through).
BOOST_AUTO_TEST_CASE_TEMPLATE(other_exceptions_are_not_converted, Impl, generator_impls) {
  auto g = Impl::raise_out_of_range();
  BOOST_TEST(g.next() == 1);
  bool nested_stop = false;
  BOOST_TEST(outcome_of(g, nested_stop) == "other: not a stop");
  BOOST_TEST(!nested_stop);
}

// P4.1: the normal end of a body is a stop_iteration, not an error.
BOOST_AUTO_TEST_CASE_TEMPLATE(returning_body_ends_with_plain_stop, Impl, generator_impls) {
  auto g = Impl::counter(1);
  BOOST_TEST(g.next() == 0);
  bool nested_stop = false;
  BOOST_TEST(outcome_of(g, nested_stop) == "stop_iteration");
}

BOOST_AUTO_TEST_SUITE_END()
