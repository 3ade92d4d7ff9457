// yield_from(): delegation to a subgenerator or a range (P5.1-P5.11, and
// P1.8 for yield_from(self)). Every case runs against both
// implementations.
#define BOOST_TEST_MODULE generator_yield_from
#include <boost/test/unit_test.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::generator_state;
using green::test::contains;
using green::test::error_text;
using green::test::generator_impls;
using green::test::key_error;
using green::test::log_t;
using green::test::on_exit;
using green::test::on_throw;
using green::test::tagged_exit;

namespace {

// drain() pulls every value of g.
template <class G>
std::vector<int> drain(G& g) {
  std::vector<int> out;
  for (int v : g) out.push_back(v);
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(generator_yield_from, green::test::leak_check)

// P5.1: the delegate is primed with next(); its values go straight to the
// delegator's caller; delegating() is true only while inside yield_from.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_values_go_to_caller_while_delegating, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(2, 9);
  auto outer = Impl::delegator(sub, log);
  BOOST_TEST(!outer.delegating());
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(outer.delegating());
  BOOST_TEST(sub.suspended());
  BOOST_TEST(outer.next() == 1);
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(!outer.delegating());
  BOOST_TEST(outer.result() == 10);
  BOOST_TEST(sub.done());
  BOOST_TEST(log == (log_t{"outer start", "outer got 9"}), boost::test_tools::per_element());
}

// P5.1: yield_from over a C++ range yields its elements, lazily.
BOOST_AUTO_TEST_CASE_TEMPLATE(range_delegation_yields_elements, Impl, generator_impls) {
  log_t log;
  auto g = Impl::range_delegator({1, 2, 3}, log);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(g.delegating());
  BOOST_TEST(g.next() == 2);
  BOOST_TEST(g.next() == 3);
  BOOST_TEST(g.next() == -1);
  BOOST_TEST(!g.delegating());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
  BOOST_TEST(g.result() == 3);
}

// P5.1: an iterator pair works like a range.
BOOST_AUTO_TEST_CASE_TEMPLATE(iterator_pair_delegation_yields_elements, Impl, generator_impls) {
  const std::vector<int> v{4, 5, 6};
  auto g = Impl::iter_delegator(v.begin(), v.end());
  BOOST_TEST(drain(g) == v, boost::test_tools::per_element());
}

// P5.2: send(v) is forwarded to the delegate's send.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_is_forwarded_to_delegate, Impl, generator_impls) {
  auto sub = Impl::echo();
  auto outer = Impl::send_delegator(sub);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(outer.send(42) == 42);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(outer.send(7) == 7);
  BOOST_CHECK_THROW(outer.send(-5), green::stop_iteration);
  BOOST_TEST(outer.result() == 5);
  BOOST_TEST(sub.result() == 5);
}

// P5.2: a range has no send: send(v) raises an error in the delegator at
// the yield_from; uncaught, the delegator is CLOSED.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_into_range_delegation_raises_in_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::range_delegator({1, 2, 3}, log);
  BOOST_TEST(g.next() == 1);
  const std::string what = error_text([&] { (void)g.send(5); });
  BOOST_TEST(contains(what, "has no send()"));
  BOOST_TEST(log.size() == 2u);
  BOOST_TEST(contains(log.at(0), "outer caught error: yield_from(range): the range has no send()"));
  BOOST_TEST(log.at(1) == "outer finally");
  BOOST_TEST(g.done());
}

// P5.3: yield_from evaluates to the delegate's return value.
BOOST_AUTO_TEST_CASE_TEMPLATE(yield_from_returns_delegate_result, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(1, 99);
  auto outer = Impl::delegator(sub, log);
  BOOST_TEST(drain(outer) == (std::vector<int>{0}), boost::test_tools::per_element());
  BOOST_TEST(outer.result() == 100);
}

// P5.3: a temporary delegate is owned for the duration.
BOOST_AUTO_TEST_CASE_TEMPLATE(temporary_delegate_is_owned, Impl, generator_impls) {
  auto outer = Impl::delegator_owned(3, 5);
  BOOST_TEST(drain(outer) == (std::vector<int>{0, 1, 2}), boost::test_tools::per_element());
  BOOST_TEST(outer.result() == 5);
}

// P5.3: a delegate that raises stop_iteration gets the PEP 479 error in
// itself, which goes into the delegator.
BOOST_AUTO_TEST_CASE_TEMPLATE(stop_raised_in_delegate_is_pep479_error_in_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::stop_raiser_ret();
  auto outer = Impl::catching_delegator(sub, log);
  BOOST_TEST(outer.next() == 1);
  BOOST_TEST(outer.next() == -1);
  BOOST_TEST(log.size() == 1u);
  BOOST_TEST(contains(log.at(0), "outer caught generator raised stop_iteration"));
  BOOST_TEST(sub.done());
}

// P5.4: a partly consumed delegate continues from where it is.
BOOST_AUTO_TEST_CASE_TEMPLATE(partly_consumed_delegate_continues, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(4, 40);
  BOOST_TEST(sub.next() == 0);
  auto outer = Impl::delegator(sub, log);
  BOOST_TEST(drain(outer) == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(outer.result() == 41);
}

// P5.4: an exhausted delegate yields nothing and evaluates to "None"
// (R{}) at once.
BOOST_AUTO_TEST_CASE_TEMPLATE(exhausted_delegate_evaluates_to_none, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(1, 40);
  BOOST_TEST(sub.next() == 0);
  BOOST_CHECK_THROW(sub.next(), green::stop_iteration);
  auto outer = Impl::delegator(sub, log);
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == 1);
  BOOST_TEST(log == (log_t{"outer start", "outer got 0"}), boost::test_tools::per_element());
}

// P5.4: a delegate that returns at once gives its value without yielding.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_returning_at_once_gives_value, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(0, 7);
  auto outer = Impl::delegator(sub, log);
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == 8);
}

// P5.5: throw_() is forwarded; the delegate catches and yields: the
// delegator's throw_() returns that value.
BOOST_AUTO_TEST_CASE_TEMPLATE(thrown_exception_caught_by_delegate_returns_its_value, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::throw_sub(log, on_throw::yield);
  auto outer = Impl::throw_outer(sub, log);
  BOOST_TEST(outer.next() == "sub-1");
  BOOST_TEST(outer.throw_(std::runtime_error("e")) == "sub caught");
  BOOST_TEST(outer.next() == "sub-2");
  BOOST_TEST(outer.next() == "outer-after");
  BOOST_TEST(log == (log_t{"sub caught e", "sub finally", "outer resumes with sub done"}),
             boost::test_tools::per_element());
}

// P5.5: the delegate returns v: yield_from evaluates to v and the
// delegator continues.
BOOST_AUTO_TEST_CASE_TEMPLATE(thrown_exception_handled_by_returning_delegate_resumes_outer, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::throw_sub(log, on_throw::return_value);
  auto outer = Impl::throw_outer(sub, log);
  BOOST_TEST(outer.next() == "sub-1");
  BOOST_TEST(outer.throw_(std::runtime_error("e")) == "outer-after");
  BOOST_TEST(log == (log_t{"sub caught e", "sub finally", "outer resumes with sub handled"}),
             boost::test_tools::per_element());
}

// P5.5: the delegate raises: the exception is raised in the delegator at
// the yield_from (the delegate's "finally" has run).
BOOST_AUTO_TEST_CASE_TEMPLATE(exception_raised_by_delegate_goes_to_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::throw_sub(log, on_throw::raise);
  auto outer = Impl::throw_outer(sub, log);
  BOOST_TEST(outer.next() == "sub-1");
  BOOST_TEST(outer.throw_(std::runtime_error("e")) == "outer-after");
  BOOST_TEST(log == (log_t{"sub caught e", "sub finally", "outer caught e"}),
             boost::test_tools::per_element());
  BOOST_TEST(sub.done());
}

// P5.5: caught by neither: it comes out of throw_(), after both finallys.
BOOST_AUTO_TEST_CASE_TEMPLATE(exception_caught_by_neither_comes_out, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::sub_logging(log);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  BOOST_CHECK_THROW(outer.throw_(key_error("k")), key_error);
  BOOST_TEST(log == (log_t{"sub finally", "outer caught k", "outer finally"}),
             boost::test_tools::per_element());
  BOOST_TEST(outer.done());
  BOOST_TEST(sub.done());
}

// P5.5: a range has no throw: the exception is raised in the delegator.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_into_range_delegation_raises_in_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::range_delegator({1, 2, 3}, log);
  BOOST_TEST(g.next() == 1);
  BOOST_CHECK_THROW(g.throw_(std::runtime_error("r")), std::runtime_error);
  BOOST_TEST(log == (log_t{"outer caught r", "outer finally"}), boost::test_tools::per_element());
}

// P5.6: close() closes the delegate first, then raises generator_exit in
// the delegator; the handlers run innermost first.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_closes_delegate_first, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::sub_logging(log);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  outer.close();
  BOOST_TEST(
      log == (log_t{"sub generator_exit", "sub finally", "outer generator_exit", "outer finally"}),
      boost::test_tools::per_element());
  BOOST_TEST(outer.done());
  BOOST_TEST(sub.done());
}

// P5.6: throw_(generator_exit instance): the delegate gets close() (a
// plain generator_exit), the delegator gets the original instance, which
// comes out.
BOOST_AUTO_TEST_CASE_TEMPLATE(thrown_exit_closes_delegate_and_reaches_outer_as_is, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::sub_logging(log);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  std::string tag;
  try {
    (void)outer.throw_(tagged_exit("x"));
  } catch (const tagged_exit& e) {
    tag = e.tag;
  }
  BOOST_TEST(tag == "x");
  BOOST_TEST(
      log == (log_t{"sub generator_exit", "sub finally", "outer tagged_exit(x)", "outer finally"}),
      boost::test_tools::per_element());
}

// P5.6: the delegate's close() raises: that exception is raised in the
// delegator (instead of generator_exit).
BOOST_AUTO_TEST_CASE_TEMPLATE(failing_delegate_close_raises_in_delegator, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::exit_sub(log, on_exit::raise_other);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  BOOST_CHECK_THROW(outer.close(), key_error);
  BOOST_TEST(log == (log_t{"sub generator_exit", "sub finally", "outer caught sub close failure",
                           "outer finally"}),
             boost::test_tools::per_element());
}

// P5.6: a delegate that returns when closed still makes the delegator
// see generator_exit.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_returning_on_close_still_closes_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::exit_sub(log, on_exit::return_value);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  outer.close();
  BOOST_TEST(
      log == (log_t{"sub generator_exit", "sub finally", "outer generator_exit", "outer finally"}),
      boost::test_tools::per_element());
  BOOST_TEST(sub.result() == 6);
  BOOST_TEST(!outer.has_result());
}

// P5.6: a range has no close: generator_exit is raised in the delegator.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_of_range_delegation_raises_exit_in_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::range_delegator({1, 2, 3}, log);
  BOOST_TEST(g.next() == 1);
  g.close();
  BOOST_TEST(log == (log_t{"outer generator_exit", "outer finally"}),
             boost::test_tools::per_element());
  BOOST_TEST(g.done());
}

// P5.7: a delegate that ignores close: "generator ignored
// generator_exit" comes out of its close, into the delegator, and out of
// the outer close(); the delegate stays suspended.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_ignoring_close_fails_outer_close, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::exit_sub(log, on_exit::yield);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  const std::string what = error_text([&] { outer.close(); });
  BOOST_TEST(contains(what, "generator ignored generator_exit"));
  BOOST_TEST(outer.done());
  BOOST_TEST(sub.suspended());
  BOOST_TEST(log.size() == 3u);
  BOOST_TEST(log.at(0) == "sub generator_exit");
  BOOST_TEST(contains(log.at(1), "outer caught generator ignored generator_exit"));
  BOOST_TEST(log.at(2) == "outer finally");
  BOOST_CHECK_THROW(sub.next(), green::stop_iteration);
  BOOST_TEST(sub.result() == 5);
  BOOST_TEST(log.at(3) == "sub resumed");
}

// P5.8: while the delegate runs, the delegator is RUNNING too; next(),
// send() and close() on it from inside the delegate raise "already
// executing".
BOOST_AUTO_TEST_CASE_TEMPLATE(delegator_is_running_while_delegate_runs, Impl, generator_impls) {
  log_t log;
  std::vector<generator_state> states;
  std::vector<std::string> errors;
  typename Impl::template gen<int, void, int>* outer_ptr = nullptr;
  typename Impl::template gen<int, void, int>* sub_ptr = nullptr;
  auto sub = Impl::hooked_ret(
      [&] {
        states.push_back(outer_ptr->state());
        states.push_back(sub_ptr->state());
        errors.push_back(error_text([&] { (void)outer_ptr->next(); }));
        errors.push_back(error_text([&] { outer_ptr->close(); }));
        errors.push_back(error_text([&] { (void)sub_ptr->next(); }));
      },
      1, 3);
  auto outer = Impl::delegator(sub, log);
  outer_ptr = &outer;
  sub_ptr = &sub;
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(states.size() == 2u);
  for (generator_state s : states) BOOST_TEST((s == generator_state::running));
  BOOST_TEST(errors.size() == 3u);
  for (const std::string& e : errors) BOOST_TEST(contains(e, "generator already executing"));
  BOOST_TEST(outer.suspended());
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == 4);
}

// P5.8: a delegator whose delegate runs on its own (driven directly by
// someone else) is resumed with "already executing" raised at its
// yield_from, and stops delegating.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegator_resumed_while_delegate_runs_elsewhere_gets_error, Impl,
                              generator_impls) {
  log_t log;
  int calls = 0;
  std::vector<int> from_outer;
  typename Impl::template gen<int, void, int>* outer_ptr = nullptr;
  auto sub = Impl::hooked_ret(
      [&] {
        if (++calls == 2) from_outer.push_back(outer_ptr->next());
      },
      3, 7);
  auto outer = Impl::catching_delegator(sub, log);
  outer_ptr = &outer;
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(sub.next() == 1);  // driven directly; the hook resumes outer
  BOOST_TEST(from_outer == (std::vector<int>{-1}), boost::test_tools::per_element());
  BOOST_TEST(log.size() == 1u);
  BOOST_TEST(contains(log.at(0), "outer caught generator already executing"));
  BOOST_TEST(!outer.delegating());
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == -1);
  BOOST_TEST(sub.next() == 2);
  BOOST_CHECK_THROW(sub.next(), green::stop_iteration);
  BOOST_TEST(sub.result() == 7);
}

// P5.9: exceptions from the delegate can be caught in the delegator.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_exception_can_be_caught_by_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::raiser_ret(1);
  auto outer = Impl::catching_delegator(sub, log);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(outer.next() == -1);
  BOOST_TEST(log == (log_t{"outer caught boom"}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
}

// P1.8: yield_from(self) raises "already executing" in the body.
BOOST_AUTO_TEST_CASE_TEMPLATE(yield_from_self_raises_already_executing, Impl, generator_impls) {
  log_t log;
  typename Impl::template gen<int, void, int>* self = nullptr;
  auto g = Impl::self_delegator(&self, log);
  self = &g;
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(contains(error_text([&] { (void)g.next(); }), "generator already executing"));
  BOOST_TEST(log.size() == 1u);
  BOOST_TEST(g.done());
}

// A delegate can be driven directly while delegated to: its value goes to
// the direct caller, and the delegation continues from there (P5.4).
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_driven_directly_goes_to_direct_caller, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(4, 40);
  auto outer = Impl::delegator(sub, log);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(sub.next() == 1);
  BOOST_TEST(outer.next() == 2);
  BOOST_TEST(sub.next() == 3);
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == 41);
}

// A delegate that finishes while driven directly: the delegator's
// yield_from then evaluates to "None" (its next() on a finished generator).
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_finished_directly_gives_none_to_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(2, 40);
  auto outer = Impl::delegator(sub, log);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(sub.next() == 1);
  BOOST_CHECK_THROW(sub.next(), green::stop_iteration);
  BOOST_TEST(sub.result() == 40);
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == 1);
  BOOST_TEST(log == (log_t{"outer start", "outer got 0"}), boost::test_tools::per_element());
}

// The same, then throw_() into the delegator: a finished delegate's throw
// raises at once, so the exception is raised in the delegator.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_after_delegate_finished_directly_raises_in_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(2, 40);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(sub.next() == 1);
  BOOST_CHECK_THROW(sub.next(), green::stop_iteration);
  BOOST_CHECK_THROW(outer.throw_(key_error("k")), key_error);
  BOOST_TEST(log == (log_t{"outer caught k", "outer finally"}), boost::test_tools::per_element());
}

// Closing the delegate directly: the delegator later sees it finished.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegate_closed_directly_gives_none_to_delegator, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::sub_logging(log);
  auto outer = Impl::outer_logging(sub, log);
  BOOST_TEST(outer.next() == 1);
  sub.close();
  BOOST_TEST(log == (log_t{"sub generator_exit", "sub finally"}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.result() == 0);
  BOOST_TEST(log.back() == "outer finally");
}

// A generator has one delegator at a time.
BOOST_AUTO_TEST_CASE_TEMPLATE(second_delegator_of_same_delegate_is_error, Impl, generator_impls) {
  log_t log1, log2;
  auto sub = Impl::counter_ret(3, 1);
  auto a = Impl::delegator(sub, log1);
  auto b = Impl::delegator(sub, log2);
  BOOST_TEST(a.next() == 0);
  BOOST_TEST(contains(error_text([&] { (void)b.next(); }), "already being delegated to"));
  BOOST_TEST(b.done());
  BOOST_TEST(a.next() == 1);
}

// Two delegations in a row, results combined.
BOOST_AUTO_TEST_CASE_TEMPLATE(sequential_delegations_combine_results, Impl, generator_impls) {
  auto a = Impl::counter_ret(2, 10);
  auto b = Impl::counter_ret(1, 20);
  auto g = Impl::twice(a, b);
  BOOST_TEST(drain(g) == (std::vector<int>{0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(g.result() == 30);
}

// A deep chain delivers every value and every level's result.
BOOST_AUTO_TEST_CASE_TEMPLATE(deep_chain_delivers_values_and_results, Impl, generator_impls) {
  auto g = Impl::chain(200);
  BOOST_TEST(drain(g) == (std::vector<int>{0, 1, 2}), boost::test_tools::per_element());
  BOOST_TEST(g.result() == 200);
}

// Closing a deep chain closes every level (P5.6, at depth).
BOOST_AUTO_TEST_CASE_TEMPLATE(closing_deep_chain_closes_every_level, Impl, generator_impls) {
  auto g = Impl::chain(50);
  BOOST_TEST(g.next() == 0);
  g.close();
  BOOST_TEST(g.done());
}

// Destroying a delegator suspended in yield_from closes its delegate first.
BOOST_AUTO_TEST_CASE_TEMPLATE(destroying_delegator_closes_delegate_first, Impl, generator_impls) {
  log_t log;
  auto sub = Impl::sub_logging(log);
  {
    auto outer = Impl::outer_logging(sub, log);
    BOOST_TEST(outer.next() == 1);
  }
  BOOST_TEST(
      log == (log_t{"sub generator_exit", "sub finally", "outer generator_exit", "outer finally"}),
      boost::test_tools::per_element());
  BOOST_TEST(sub.done());
}

// Destroying a delegate while its delegator is suspended in yield_from on it
// closes the delegate and takes it out of the chain; the delegator goes on
// as if the delegate had been driven to its end by someone else: next()
// returns the default result (Python's None) from the yield_from.
BOOST_AUTO_TEST_CASE_TEMPLATE(destroying_delegate_lets_suspended_delegator_go_on, Impl,
                              generator_impls) {
  using sub_t = decltype(Impl::counter_ret(0, 0));
  log_t log;
  auto sub = std::make_unique<sub_t>(Impl::counter_ret(3, 9));
  auto outer = Impl::delegator(*sub, log);
  BOOST_TEST(outer.next() == 0);
  BOOST_TEST(outer.delegating());
  sub.reset();
  BOOST_CHECK_THROW(outer.next(), green::stop_iteration);
  BOOST_TEST(outer.done());
  BOOST_TEST(!outer.delegating());
  BOOST_TEST(outer.result() == 1);
  BOOST_TEST(log == (log_t{"outer start", "outer got 0"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
