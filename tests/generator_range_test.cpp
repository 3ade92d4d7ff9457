// Range-for and iterators: a generator is an input range that ends quietly
// (P1.9, the for-loop form of P1.2 and P1.5-P1.7). Every case runs against both
// implementations.
#define BOOST_TEST_MODULE generator_range
#include <boost/test/unit_test.hpp>

#include <iterator>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::test::generator_impls;
using green::test::log_t;

static_assert(std::ranges::input_range<green::generator<int>>);
static_assert(std::ranges::input_range<green::stackless::generator<int>>);
static_assert(std::input_iterator<green::generator<int>::iterator>);
static_assert(std::input_iterator<green::stackless::generator<int>::iterator>);

BOOST_FIXTURE_TEST_SUITE(generator_range, green::test::leak_check)

// P1.2, P1.5, P1.9: range-for visits every value and stops quietly.
BOOST_AUTO_TEST_CASE_TEMPLATE(range_for_visits_all_values_and_stops_quietly, Impl,
                              generator_impls) {
  auto g = Impl::counter_ret(4, 9);
  std::vector<int> seen;
  for (int x : g) seen.push_back(x);
  BOOST_TEST(seen == (std::vector<int>{0, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(g.done());
  BOOST_TEST(g.result() == 9);
}

// P1.6: a finished generator is an empty range.
BOOST_AUTO_TEST_CASE_TEMPLATE(finished_generator_is_empty_range, Impl, generator_impls) {
  auto g = Impl::counter(2);
  for (int x : g) (void)x;
  int n = 0;
  for (int x : g) n += 1 + x;
  BOOST_TEST(n == 0);
}

// Breaking out leaves the generator suspended; a second loop continues.
BOOST_AUTO_TEST_CASE_TEMPLATE(break_leaves_generator_suspended, Impl, generator_impls) {
  auto g = Impl::counter(5);
  for (int x : g)
    if (x == 1) break;
  BOOST_TEST(g.suspended());
  std::vector<int> rest;
  for (int x : g) rest.push_back(x);
  // begin() resumes, like next(): the value 1 the loop broke on is consumed.
  BOOST_TEST(rest == (std::vector<int>{2, 3, 4}), boost::test_tools::per_element());
}

// P1.7: an exception from the body comes out of the loop.
BOOST_AUTO_TEST_CASE_TEMPLATE(exception_in_body_comes_out_of_loop, Impl, generator_impls) {
  auto g = Impl::raiser(2);
  std::vector<int> seen;
  BOOST_CHECK_THROW(
      {
        for (int x : g) seen.push_back(x);
      },
      std::runtime_error);
  BOOST_TEST(seen == (std::vector<int>{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(g.done());
}

// *it refers to the value inside the suspended body: move-only values can be
// taken from it.
BOOST_AUTO_TEST_CASE_TEMPLATE(iterator_gives_access_to_yielded_object, Impl, generator_impls) {
  auto g = Impl::unique_values(3);
  std::vector<std::unique_ptr<int>> taken;
  for (auto it = g.begin(); it != g.end(); ++it) taken.push_back(std::move(*it));
  BOOST_TEST(taken.size() == 3u);
  BOOST_TEST(*taken.at(2) == 2);
}

// Iterating a generator works with std::ranges views. (Clang 14 cannot
// compile libstdc++ 12's views at all, so the case needs GCC or Clang 15.)
#if !defined(__clang__) || __clang_major__ >= 15
BOOST_AUTO_TEST_CASE_TEMPLATE(generator_works_with_ranges_views, Impl, generator_impls) {
  auto g = Impl::counter(10);
  std::vector<int> out;
  for (int x : g | std::views::filter([](int v) { return v % 3 == 0; }) |
                   std::views::transform([](int v) { return v * 10; }))
    out.push_back(x);
  BOOST_TEST(out == (std::vector<int>{0, 30, 60, 90}), boost::test_tools::per_element());
}
#endif

// Values of a nested range-for over two generators interleave correctly.
BOOST_AUTO_TEST_CASE_TEMPLATE(nested_loops_over_two_generators, Impl, generator_impls) {
  auto a = Impl::counter(3);
  std::vector<int> out;
  for (int x : a) {
    auto b = Impl::counter(2);
    for (int y : b) out.push_back(x * 10 + y);
  }
  BOOST_TEST(out == (std::vector<int>{0, 1, 10, 11, 20, 21}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
