// Error kinds of the generators (errors.hpp): every misuse throws the
// green::error subclass named after the Python type of the same misuse, and
// `catch (const green::error&)` still catches it. Also stop_iteration's
// value (Python: StopIteration.value, P1.5 and P1.6: the value is
// given once) and generator<Y, S, R>::yielder_type. Every protocol case runs
// against both implementations.
#define BOOST_TEST_MODULE generator_errors
#include <boost/test/unit_test.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "support/error_kinds.hpp"
#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::test::contains;
using green::test::error_text;
using green::test::generator_impls;
using green::test::kind_of;
using green::test::log_t;
using green::test::on_exit;
using green::test::on_throw;

namespace {

// stop_of(f) runs f, which must end the generator, and returns the
// stop_iteration it threw (nullopt if it threw nothing or something else).
template <class F>
std::optional<green::stop_iteration> stop_of(F&& f) {
  try {
    f();
  } catch (const green::stop_iteration& s) {
    return s;
  } catch (...) {
  }
  return std::nullopt;
}

// Generic code that builds a stackful generator of any Y/S from its type
// alone: the body's parameter is spelled with yielder_type.
template <class G>
G make_countdown(int n) {
  return G([n](typename G::yielder_type& y) {
    for (int i = n; i > 0; --i) (void)y.yield(static_cast<typename G::value_type>(i));
  });
}

// A stackless body whose R is const.
green::stackless::generator<int, void, const int> const_ret_stackless() {
  co_yield 1;
  co_return 5;
}

template <class G>
std::vector<int> drain(G& g) {
  std::vector<int> out;
  for (auto& v : g) out.push_back(static_cast<int>(v));
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(generator_errors, green::test::leak_check)

// The kinds are distinct classes under green::error (so old catches work);
// stop_iteration stays outside the error family and copies without throwing.
BOOST_AUTO_TEST_CASE(error_kinds_derive_from_error_and_are_distinct) {
  static_assert(std::is_base_of_v<green::error, green::value_error>);
  static_assert(std::is_base_of_v<green::error, green::type_error>);
  static_assert(std::is_base_of_v<green::error, green::attribute_error>);
  static_assert(std::is_base_of_v<green::error, green::runtime_error>);
  static_assert(std::is_base_of_v<green::error, green::greenlet_error>);
  static_assert(std::is_base_of_v<green::error, green::lookup_error>);
  static_assert(std::is_base_of_v<green::error, green::memory_error>);
  static_assert(!std::is_base_of_v<green::value_error, green::type_error>);
  static_assert(!std::is_base_of_v<green::type_error, green::value_error>);
  static_assert(!std::is_base_of_v<green::runtime_error, green::attribute_error>);
  static_assert(!std::is_base_of_v<green::error, green::stop_iteration>);
  static_assert(std::is_nothrow_copy_constructible_v<green::stop_iteration>);
  const green::value_error e("x");
  BOOST_TEST(green::test::kind_name(e) == "value_error");
}

// P1.8: re-entering a running generator is Python's ValueError.
BOOST_AUTO_TEST_CASE_TEMPLATE(next_from_own_body_throws_value_error, Impl, generator_impls) {
  typename Impl::template gen<int>* self = nullptr;
  std::string inside;
  auto g = Impl::hooked([&] { inside = kind_of([&] { (void)self->next(); }); }, 2);
  self = &g;
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(inside == "value_error");
  auto h = Impl::hooked([&] { (void)self->next(); }, 2);
  self = &h;
  BOOST_CHECK_THROW(h.next(), green::value_error);
}

// P1.3: send() into a just-started generator is Python's TypeError.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_to_unstarted_generator_throws_type_error, Impl,
                              generator_impls) {
  std::vector<int> got;
  auto g = Impl::recorder(got);
  BOOST_CHECK_THROW(g.send(5), green::type_error);
  BOOST_TEST(kind_of([&] { (void)g.send(5); }) == "type_error");
  BOOST_TEST(g.next() == 0);
}

// P2.3: an empty exception_ptr given to throw_() is Python's TypeError.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_of_empty_exception_ptr_throws_type_error, Impl,
                              generator_impls) {
  auto g = Impl::counter(2);
  BOOST_TEST(g.next() == 0);
  BOOST_CHECK_THROW(g.throw_(std::exception_ptr()), green::type_error);
  BOOST_TEST(kind_of([&] { (void)g.throw_(std::exception_ptr()); }) == "type_error");
  BOOST_TEST(g.next() == 1);
}

// next() where the pending yield needs an S without a default: TypeError
// (Python's None does not fit the send type).
BOOST_AUTO_TEST_CASE_TEMPLATE(next_without_default_send_value_throws_type_error, Impl,
                              generator_impls) {
  auto g = Impl::strict_sink();
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(kind_of([&] { (void)g.next(); }) == "type_error");
  BOOST_CHECK_THROW(g.next(), green::type_error);
  BOOST_TEST(g.send(green::test::no_default(1)) == 1);
}

// P5.2: send() while delegating to a plain range is Python's
// AttributeError ('list_iterator' object has no attribute 'send').
BOOST_AUTO_TEST_CASE_TEMPLATE(send_into_range_delegation_throws_attribute_error, Impl,
                              generator_impls) {
  log_t log;
  auto g = Impl::range_delegator({1, 2, 3}, log);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(kind_of([&] { (void)g.send(5); }) == "attribute_error");
  auto h = Impl::range_delegator({1, 2, 3}, log);
  BOOST_TEST(h.next() == 1);
  BOOST_CHECK_THROW(h.send(5), green::attribute_error);
}

// A generator has one delegator at a time: a second yield_from on it is a
// ValueError (an argument in the wrong state).
BOOST_AUTO_TEST_CASE_TEMPLATE(second_delegator_of_same_generator_throws_value_error, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(3, 5);
  auto first = Impl::delegator(sub, log);
  BOOST_TEST(first.next() == 0);
  auto second = Impl::delegator(sub, log);
  BOOST_TEST(kind_of([&] { (void)second.next(); }) == "value_error");
  auto third = Impl::delegator(sub, log);
  BOOST_CHECK_THROW(third.next(), green::value_error);
  BOOST_TEST(first.next() == 1);
}

// result() before the body returned a value: ValueError (wrong state).
BOOST_AUTO_TEST_CASE_TEMPLATE(result_before_return_throws_value_error, Impl, generator_impls) {
  auto g = Impl::counter_ret(1, 5);
  BOOST_CHECK_THROW((void)g.result(), green::value_error);
  BOOST_TEST(kind_of([&] { (void)g.result(); }) == "value_error");
}

// P3.4: yielding after close() is Python's RuntimeError.
BOOST_AUTO_TEST_CASE_TEMPLATE(yield_after_close_throws_runtime_error, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::yield);
  BOOST_TEST(g.next() == "a");
  BOOST_TEST(kind_of([&] { g.close(); }) == "runtime_error");
  auto h = Impl::exit_handler(log, on_exit::yield);
  BOOST_TEST(h.next() == "a");
  BOOST_CHECK_THROW(h.close(), green::runtime_error);
}

// P4.1 (PEP 479): a stop_iteration leaving the body is Python's
// RuntimeError, and the original is still nested in it.
BOOST_AUTO_TEST_CASE_TEMPLATE(stop_escaping_body_throws_runtime_error, Impl, generator_impls) {
  auto g = Impl::stop_raiser();
  BOOST_TEST(g.next() == 1);
  bool nested_stop = false;
  std::string kind;
  try {
    (void)g.next();
  } catch (const green::runtime_error& e) {
    kind = green::test::kind_name(e);
    try {
      std::rethrow_if_nested(e);
    } catch (const green::stop_iteration&) {
      nested_stop = true;
    }
  }
  BOOST_TEST(kind == "runtime_error");
  BOOST_TEST(nested_stop);
}

// P1.5: the stop_iteration of the next() that saw the return carries the
// value; P1.6: every later next() on the finished generator is bare.
BOOST_AUTO_TEST_CASE_TEMPLATE(next_that_sees_return_carries_value_once, Impl, generator_impls) {
  auto g = Impl::counter_ret(1, 7);
  BOOST_TEST(g.next() == 0);
  const std::optional<green::stop_iteration> first = stop_of([&] { (void)g.next(); });
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(first->has_value());
  BOOST_TEST((first->type() == typeid(int)));
  BOOST_TEST(first->value<int>() == 7);
  BOOST_TEST((first->get_if<long>() == nullptr));
  const std::optional<green::stop_iteration> second = stop_of([&] { (void)g.next(); });
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(!second->has_value());
  BOOST_TEST((second->type() == typeid(void)));
  BOOST_TEST((second->get_if<int>() == nullptr));
  BOOST_TEST(g.result() == 7);  // the generator's record stays
}

// The same through send(): the value once, then bare stops.
BOOST_AUTO_TEST_CASE_TEMPLATE(send_that_sees_return_carries_value_once, Impl, generator_impls) {
  auto g = Impl::echo();
  BOOST_TEST(g.next() == 0);
  const std::optional<green::stop_iteration> first = stop_of([&] { (void)g.send(-3); });
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(first->value<int>() == 3);
  const std::optional<green::stop_iteration> second = stop_of([&] { (void)g.send(1); });
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(!second->has_value());
  BOOST_TEST(g.result() == 3);
}

// P2.2: a throw_() that the body answers by returning carries the value.
BOOST_AUTO_TEST_CASE_TEMPLATE(throw_answered_by_return_carries_value, Impl, generator_impls) {
  log_t log;
  auto g = Impl::handler(log, on_throw::return_value);
  BOOST_TEST(g.next() == "first");
  const std::optional<green::stop_iteration> s =
      stop_of([&] { (void)g.throw_(std::runtime_error("e")); });
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->value<std::string>() == "handled-return");
  const std::optional<green::stop_iteration> later = stop_of([&] { (void)g.next(); });
  BOOST_REQUIRE(later.has_value());
  BOOST_TEST(!later->has_value());
}

// A range-for swallows the stop that carried the value: a next() after it
// is bare, and result() is where the value is read.
BOOST_AUTO_TEST_CASE_TEMPLATE(next_after_range_for_is_bare_and_result_keeps_value, Impl,
                              generator_impls) {
  auto g = Impl::counter_ret(2, 9);
  BOOST_TEST(drain(g) == (std::vector<int>{0, 1}), boost::test_tools::per_element());
  const std::optional<green::stop_iteration> s = stop_of([&] { (void)g.next(); });
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(!s->has_value());
  BOOST_TEST(g.result() == 9);
}

// No value to carry: a void generator, one that raised, and one closed
// (which returned its value while closing: result() has it, no stop had).
BOOST_AUTO_TEST_CASE_TEMPLATE(stops_without_a_returned_value_are_bare, Impl, generator_impls) {
  auto v = Impl::counter(1);
  BOOST_TEST(v.next() == 0);
  const std::optional<green::stop_iteration> void_stop = stop_of([&] { (void)v.next(); });
  BOOST_REQUIRE(void_stop.has_value());
  BOOST_TEST(!void_stop->has_value());
  BOOST_TEST(kind_of([&] { (void)void_stop->value<int>(); }) == "type_error");

  auto r = Impl::raiser(0);
  BOOST_CHECK_THROW(r.next(), std::runtime_error);
  const std::optional<green::stop_iteration> raised_stop = stop_of([&] { (void)r.next(); });
  BOOST_REQUIRE(raised_stop.has_value());
  BOOST_TEST(!raised_stop->has_value());

  log_t log;
  auto c = Impl::exit_handler(log, on_exit::return_value);
  BOOST_TEST(c.next() == "a");
  c.close();
  const std::optional<green::stop_iteration> closed_stop = stop_of([&] { (void)c.next(); });
  BOOST_REQUIRE(closed_stop.has_value());
  BOOST_TEST(!closed_stop->has_value());
  BOOST_TEST(c.result() == "closing-value");
}

// value<T>() with a T other than the generator's R is a TypeError naming
// both types; has_value() is unaffected.
BOOST_AUTO_TEST_CASE_TEMPLATE(stop_value_of_wrong_type_throws_type_error, Impl, generator_impls) {
  auto g = Impl::counter_ret(0, 4);
  const std::optional<green::stop_iteration> s = stop_of([&] { (void)g.next(); });
  BOOST_REQUIRE(s.has_value());
  BOOST_CHECK_THROW((void)s->value<long>(), green::type_error);
  const std::string what = error_text([&] { (void)s->value<long>(); });
  BOOST_TEST(contains(what, "long"), what);
  BOOST_TEST(contains(what, "int"), what);
  BOOST_TEST(s->value<int>() == 4);
}

// A move-only R: the stop shares the value with result() (no copy), and it
// outlives the generator.
BOOST_AUTO_TEST_CASE_TEMPLATE(move_only_return_value_is_shared_and_outlives_generator, Impl,
                              generator_impls) {
  std::optional<green::stop_iteration> s;
  {
    auto g = Impl::unique_ret(1, 11);
    BOOST_TEST(g.next() == 0);
    s = stop_of([&] { (void)g.next(); });
    BOOST_REQUIRE(s.has_value());
    BOOST_TEST((&s->value<std::unique_ptr<int>>() == &g.result()));
  }
  BOOST_TEST(*s->value<std::unique_ptr<int>>() == 11);
  const green::stop_iteration copy = *s;
  s.reset();
  BOOST_TEST(*copy.value<std::unique_ptr<int>>() == 11);
}

// yield_from still evaluates to the delegate's return value; the delegate's
// stop went to the delegator, so next() on the delegate afterwards is bare,
// while the delegator's own stop carries its value.
BOOST_AUTO_TEST_CASE_TEMPLATE(delegation_consumes_delegate_value_and_carries_own, Impl,
                              generator_impls) {
  log_t log;
  auto sub = Impl::counter_ret(1, 99);
  auto outer = Impl::delegator(sub, log);
  BOOST_TEST(outer.next() == 0);
  const std::optional<green::stop_iteration> outer_stop = stop_of([&] { (void)outer.next(); });
  BOOST_REQUIRE(outer_stop.has_value());
  BOOST_TEST(outer_stop->value<int>() == 100);
  BOOST_TEST(log.back() == "outer got 99");
  const std::optional<green::stop_iteration> sub_stop = stop_of([&] { (void)sub.next(); });
  BOOST_REQUIRE(sub_stop.has_value());
  BOOST_TEST(!sub_stop->has_value());
  BOOST_TEST(sub.result() == 99);
}

// A const R is stored and carried like any other (std::optional<const T>
// accepted it, so the shared storage must too).
BOOST_AUTO_TEST_CASE(const_return_type_is_carried_in_both_designs) {
  green::generator<int, void, const int> g([](green::yielder<int>& y) {
    y.yield(1);
    return 4;
  });
  BOOST_TEST(g.next() == 1);
  const std::optional<green::stop_iteration> s = stop_of([&] { (void)g.next(); });
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->value<int>() == 4);
  BOOST_TEST(g.result() == 4);
  auto h = const_ret_stackless();
  BOOST_TEST(h.next() == 1);
  const std::optional<green::stop_iteration> t = stop_of([&] { (void)h.next(); });
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->value<const int>() == 5);
  BOOST_TEST(h.result() == 5);
}

// Stackful only: using a yielder while its generator is not running is
// Python's RuntimeError ('yield outside a genlet').
BOOST_AUTO_TEST_CASE(yield_outside_generator_throws_runtime_error) {
  green::yielder<int>* leaked = nullptr;
  green::generator<int> g([&](green::yielder<int>& y) {
    leaked = &y;
    y.yield(1);
  });
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(kind_of([&] { leaked->yield(5); }) == "runtime_error");
  BOOST_CHECK_THROW(leaked->yield(5), green::runtime_error);
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

// generator<Y, S, R>::yielder_type is the body's yielder, so generic code
// can build a generator from its type alone.
BOOST_AUTO_TEST_CASE(yielder_type_names_the_body_parameter) {
  static_assert(std::is_same_v<green::generator<int>::yielder_type, green::yielder<int>>);
  static_assert(
      std::is_same_v<green::generator<long, int, int>::yielder_type, green::yielder<long, int>>);
  auto a = make_countdown<green::generator<int>>(3);
  auto b = make_countdown<green::generator<long, int>>(2);
  BOOST_TEST(drain(a) == (std::vector<int>{3, 2, 1}), boost::test_tools::per_element());
  BOOST_TEST(drain(b) == (std::vector<int>{2, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
