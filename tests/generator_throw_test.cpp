// throw_(): exceptions into the body (P2.1-P2.6, and P3.6).
// Every case runs against both implementations.
#define BOOST_TEST_MODULE generator_throw
#include <boost/test/unit_test.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::generator_state;
using green::test::contains;
using green::test::error_text;
using green::test::generator_impls;
using green::test::log_t;
using green::test::on_exit;
using green::test::on_throw;
using green::test::tagged_exit;

BOOST_FIXTURE_TEST_SUITE(generator_throw, green::test::leak_check)

// P2.1: throw_() into a fresh generator raises at the start point, before
// any of the body runs; it becomes CLOSED.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_into_unstarted_closes_without_running_body, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::logged(log);
  std::string what;
  try {
    (void)g.throw_(std::runtime_error("x"));
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  BOOST_TEST(what == "x");
  BOOST_TEST(log.empty());  // not even the "finally" guard was constructed
  BOOST_TEST((g.state() == generator_state::closed));
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

// P2.2: caught, and another yield is reached: throw_() returns it.
BOOST_AUTO_TEST_CASE_TEMPLATE(caught_throw_returns_next_yielded_value, Impl, generator_impls) {
  log_t log;
  auto g = Impl::handler(log, on_throw::yield);
  BOOST_TEST(g.next() == "first");
  BOOST_TEST(g.throw_(std::runtime_error("e")) == "caught");
  BOOST_TEST(g.next() == "after");
  BOOST_TEST(log == (log_t{"caught e"}), boost::test_tools::per_element());
  BOOST_TEST(g.suspended());
}

// P2.2: caught, and the body returns v: throw_() raises stop_iteration
// and result() is v.
BOOST_AUTO_TEST_CASE_TEMPLATE(caught_throw_then_return_raises_stop_with_value, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::handler(log, on_throw::return_value);
  BOOST_TEST(g.next() == "first");
  BOOST_CHECK_THROW(g.throw_(std::runtime_error("e")), green::stop_iteration);
  BOOST_TEST(g.result() == "handled-return");
  BOOST_TEST(g.done());
}

// P2.2: not caught: it goes out of throw_() and the generator is CLOSED.
BOOST_AUTO_TEST_CASE_TEMPLATE(uncaught_throw_propagates_and_closes, Impl, generator_impls) {
  log_t log;
  auto g = Impl::handler(log, on_throw::raise);
  BOOST_TEST(g.next() == "first");
  BOOST_CHECK_THROW(g.throw_(std::runtime_error("e")), std::runtime_error);
  BOOST_TEST(log == (log_t{"caught e", "finally"}), boost::test_tools::per_element());
  BOOST_TEST(g.done());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

// P2.2: an exception of a type the body does not catch goes straight out.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_of_other_type_propagates, Impl, generator_impls) {
  log_t log;
  auto g = Impl::handler(log, on_throw::yield);
  BOOST_TEST(g.next() == "first");
  BOOST_CHECK_THROW(g.throw_(42), int);
  BOOST_TEST(log == (log_t{"finally"}), boost::test_tools::per_element());
  BOOST_TEST(g.done());
}

// P2.3: an exception_ptr or an object are both accepted; an empty
// exception_ptr is an error and the generator stays SUSPENDED.
BOOST_AUTO_TEST_CASE_TEMPLATE(empty_exception_ptr_is_error_and_changes_nothing, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::handler(log, on_throw::yield);
  BOOST_TEST(g.next() == "first");
  const std::string what = error_text([&] { (void)g.throw_(std::exception_ptr()); });
  BOOST_TEST(contains(what, "exception_ptr is empty"));
  BOOST_TEST(g.suspended());
  BOOST_TEST(g.throw_(std::make_exception_ptr(std::runtime_error("p"))) == "caught");
  BOOST_TEST(log == (log_t{"caught p"}), boost::test_tools::per_element());
}

// P2.4: the body keeps its own exception state: a throw_() from inside
// the caller's catch block does not make the caller's exception current in
// the body. Holds for the stackful generator (one greenlet each); a
// stackless body shares its caller's thread state (README: differences).
BOOST_AUTO_TEST_CASE_TEMPLATE(body_does_not_see_callers_current_exception, Impl, generator_impls) {
  std::vector<bool> seen;
  auto g = Impl::current_exception_probe(seen);
  try {
    throw std::runtime_error("caller's");
  } catch (...) {
    BOOST_TEST(g.next() == 1);
    BOOST_TEST(g.next() == 2);
  }
  BOOST_TEST(seen.size() == 2u);
  for (bool s : seen) BOOST_TEST(s == !Impl::isolates_exception_state);
}

// P2.5: throw_(stop_iteration) into a fresh generator gives the PEP 479
// error.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_stop_into_unstarted_raises_pep479_error, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::logged(log);
  const std::string what = error_text([&] { (void)g.throw_(green::stop_iteration()); });
  BOOST_TEST(contains(what, "generator raised stop_iteration"));
  BOOST_TEST(log.empty());
  BOOST_TEST(g.done());
}

// P2.5: into a suspended generator as well; the stop is the nested cause.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_stop_into_suspended_raises_pep479_error, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::logged(log);
  BOOST_TEST(g.next() == 1);
  bool nested_stop = false;
  std::string what;
  try {
    (void)g.throw_(green::stop_iteration());
  } catch (const green::error& e) {
    what = e.what();
    try {
      std::rethrow_if_nested(e);
    } catch (const green::stop_iteration&) {
      nested_stop = true;
    }
  }
  BOOST_TEST(contains(what, "generator raised stop_iteration"));
  BOOST_TEST(nested_stop);
  BOOST_TEST(log == (log_t{"start", "finally"}), boost::test_tools::per_element());
  BOOST_TEST(g.done());
}

// P2.6: throw_(generator_exit) is an ordinary throw: the body may catch it
// and yield, and throw_() returns that value (only close() objects).
BOOST_AUTO_TEST_CASE_TEMPLATE(thrown_generator_exit_may_be_caught_and_yield, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::yield);
  BOOST_TEST(g.next() == "a");
  BOOST_TEST(g.throw_(green::generator_exit()) == "ignored");
  BOOST_TEST(g.suspended());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.result() == "after-ignore");
}

// P2.6: uncaught, generator_exit comes out of throw_() (it is not
// swallowed as in close()), for a suspended and for a fresh generator.
BOOST_AUTO_TEST_CASE_TEMPLATE(uncaught_thrown_generator_exit_comes_out, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::rethrow);
  BOOST_TEST(g.next() == "a");
  BOOST_CHECK_THROW(g.throw_(green::generator_exit()), green::generator_exit);
  BOOST_TEST(g.done());
  BOOST_TEST(log == (log_t{"generator_exit", "finally"}), boost::test_tools::per_element());

  auto fresh = Impl::exit_handler(log, on_exit::rethrow);
  BOOST_CHECK_THROW(fresh.throw_(green::generator_exit()), green::generator_exit);
  BOOST_TEST(fresh.done());
}

// P2.6: subclasses of generator_exit behave the same, and the instance
// thrown is the one the body sees and the one that comes out.
BOOST_AUTO_TEST_CASE_TEMPLATE(generator_exit_subclass_is_delivered_as_is, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::rethrow);
  BOOST_TEST(g.next() == "a");
  std::string tag;
  try {
    (void)g.throw_(tagged_exit("MyExit"));
  } catch (const tagged_exit& e) {
    tag = e.tag;
  }
  BOOST_TEST(tag == "MyExit");
  BOOST_TEST(log == (log_t{"tagged_exit(MyExit)", "finally"}), boost::test_tools::per_element());
}

// P3.6: a body that swallows everything and returns turns throw_(E) into
// stop_iteration with its value.
BOOST_AUTO_TEST_CASE_TEMPLATE(swallowing_body_turns_throw_into_stop, Impl, generator_impls) {
  log_t log;
  auto g = Impl::catch_all_return(log);
  BOOST_TEST(g.next() == 1);
  BOOST_CHECK_THROW(g.throw_(green::test::key_error("k")), green::stop_iteration);
  BOOST_TEST(g.result() == 7);
  BOOST_TEST(log == (log_t{"swallowed"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
