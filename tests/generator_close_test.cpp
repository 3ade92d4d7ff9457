// close(): ending a generator early (P3.1-P3.6). Every case runs
// against both implementations.
#define BOOST_TEST_MODULE generator_close
#include <boost/test/unit_test.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "support/counted.hpp"
#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::generator_state;
using green::test::contains;
using green::test::counted;
using green::test::error_text;
using green::test::generator_impls;
using green::test::log_t;
using green::test::on_exit;

BOOST_FIXTURE_TEST_SUITE(generator_close, green::test::leak_check)

// P3.1: close() on a fresh generator marks it CLOSED without running
// anything (no "finally").
BOOST_AUTO_TEST_CASE_TEMPLATE(close_on_unstarted_generator_does_not_run_body, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::logged(log);
  g.close();
  BOOST_TEST((g.state() == generator_state::closed));
  BOOST_TEST(log.empty());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

// P3.2: close() raises generator_exit at the yield; the handler and the
// "finally" run; the generator is CLOSED; close() again is a no-op.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_runs_handler_and_finally, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::rethrow);
  BOOST_TEST(g.next() == "a");
  g.close();
  BOOST_TEST(log == (log_t{"generator_exit", "finally"}), boost::test_tools::per_element());
  BOOST_TEST(g.done());
  g.close();
  BOOST_TEST(log.size() == 2u);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(!g.has_result());
}

// P3.2: the destructors of the objects on the generator's stack run.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_runs_destructors_on_generator_stack, Impl, generator_impls) {
  counted::reset();
  auto g = Impl::holding(5);
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(counted::alive() == 2);  // one per frame level, still alive
  g.close();
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(counted::destroyed == 2);
}

// P3.3: a body that catches generator_exit and returns v: close()
// returns normally (CPython 3.11 returns None; 3.13 returns v), and
// result() holds v.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_keeps_value_returned_on_exit_in_result, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::return_value);
  static_assert(std::is_void_v<decltype(g.close())>);
  BOOST_TEST(g.next() == "a");
  g.close();
  BOOST_TEST(g.done());
  BOOST_TEST(g.result() == "closing-value");
  BOOST_TEST(log == (log_t{"generator_exit", "finally"}), boost::test_tools::per_element());
}

// P3.4: a body that yields after generator_exit: close() raises "generator
// ignored generator_exit"; the generator stays SUSPENDED at that yield, and
// a later next() resumes it.
BOOST_AUTO_TEST_CASE_TEMPLATE(body_that_yields_after_close_raises_error, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::yield);
  BOOST_TEST(g.next() == "a");
  const std::string what = error_text([&] { g.close(); });
  BOOST_TEST(contains(what, "generator ignored generator_exit"));
  BOOST_TEST((g.state() == generator_state::suspended));
  BOOST_TEST(log == (log_t{"generator_exit"}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.result() == "after-ignore");
  BOOST_TEST(log == (log_t{"generator_exit", "resumed", "finally"}),
             boost::test_tools::per_element());
}

// P3.5: another exception raised during close comes out of close().
BOOST_AUTO_TEST_CASE_TEMPLATE(exception_during_close_comes_out, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::raise_other);
  BOOST_TEST(g.next() == "a");
  BOOST_CHECK_THROW(g.close(), green::test::key_error);
  BOOST_TEST(g.done());
  BOOST_TEST(log == (log_t{"generator_exit", "finally"}), boost::test_tools::per_element());
}

// P3.5: stop_iteration raised in the handler becomes the PEP 479 error.
BOOST_AUTO_TEST_CASE_TEMPLATE(stop_raised_during_close_becomes_pep479_error, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::raise_stop);
  BOOST_TEST(g.next() == "a");
  BOOST_TEST(contains(error_text([&] { g.close(); }), "generator raised stop_iteration"));
  BOOST_TEST(g.done());
}

// P3.6: a body that swallows generator_exit and returns: close() returns
// normally.
BOOST_AUTO_TEST_CASE_TEMPLATE(swallowed_exit_lets_close_return, Impl, generator_impls) {
  log_t log;
  auto g = Impl::catch_all_return(log);
  BOOST_TEST(g.next() == 1);
  g.close();
  BOOST_TEST(g.done());
  BOOST_TEST(g.result() == 7);
  BOOST_TEST(log == (log_t{"swallowed"}), boost::test_tools::per_element());
}

// P3.2: close() of a generator suspended in the middle of a loop: the
// loop does not continue.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_stops_an_infinite_generator, Impl, generator_impls) {
  std::vector<int> got;
  auto g = Impl::recorder(got);
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.next() == 1);
  g.close();
  BOOST_TEST(g.done());
  BOOST_TEST(got.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
