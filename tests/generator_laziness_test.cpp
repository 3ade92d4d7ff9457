// Laziness: a pipeline of generator stages reads exactly as many source
// items as the values pulled require, and materialises nothing (P1.2: a
// generator runs only to its next yield). Every case runs against
// both implementations, with a counting source.
#define BOOST_TEST_MODULE generator_laziness
#include <boost/test/unit_test.hpp>

#include <vector>

#include "support/counted.hpp"
#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::test::counted;
using green::test::generator_impls;

BOOST_FIXTURE_TEST_SUITE(generator_laziness, green::test::leak_check)

// Creating the pipeline reads nothing.
BOOST_AUTO_TEST_CASE_TEMPLATE(building_pipeline_reads_nothing, Impl, generator_impls) {
  int reads = 0;
  auto src = Impl::counting_source(reads);
  auto doubled = Impl::map_stage(src, [](int x) { return 2 * x; });
  auto small = Impl::filter_stage(doubled, [](int x) { return x < 100; });
  BOOST_TEST(reads == 0);
}

// Pulling k items through map stages reads exactly k source items.
BOOST_AUTO_TEST_CASE_TEMPLATE(map_pipeline_reads_exactly_k_items, Impl, generator_impls) {
  int reads = 0;
  int taps = 0;
  auto src = Impl::counting_source(reads);
  auto tap = Impl::map_stage(src, [&](int x) {
    ++taps;
    return x;
  });
  auto sq = Impl::map_stage(tap, [](int x) { return x * x; });
  for (int k = 1; k <= 5; ++k) {
    BOOST_TEST(sq.next() == (k - 1) * (k - 1));
    BOOST_TEST(reads == k);
    BOOST_TEST(taps == k);
  }
}

// A filter keeping every third item: the k-th output needs 3k - 2 reads.
BOOST_AUTO_TEST_CASE_TEMPLATE(filter_pipeline_reads_only_what_it_needs, Impl, generator_impls) {
  int reads = 0;
  auto src = Impl::counting_source(reads);
  auto thirds = Impl::filter_stage(src, [](int x) { return x % 3 == 0; });
  for (int k = 1; k <= 4; ++k) {
    BOOST_TEST(thirds.next() == 3 * (k - 1));
    BOOST_TEST(reads == 3 * k - 2);
  }
}

// Closing the last stage stops the reads.
BOOST_AUTO_TEST_CASE_TEMPLATE(closing_the_pipeline_stops_reading, Impl, generator_impls) {
  int reads = 0;
  auto src = Impl::counting_source(reads);
  auto doubled = Impl::map_stage(src, [](int x) { return 2 * x; });
  BOOST_TEST(doubled.next() == 0);
  BOOST_TEST(doubled.next() == 2);
  doubled.close();
  BOOST_TEST(reads == 2);
  BOOST_CHECK_THROW(doubled.next(), green::stop_iteration);
  BOOST_TEST(reads == 2);
}

// Nothing is materialised: each value is alive only while it travels.
// The source holds its counted objects one at a time; while 1000 values are
// pulled through three stages, at most one is ever alive.
BOOST_AUTO_TEST_CASE_TEMPLATE(pipeline_holds_one_item_at_a_time, Impl, generator_impls) {
  counted::reset();
  int max_alive = 0;
  {
    auto src = Impl::holding(1000);  // keeps 2 counted in its body
    auto a = Impl::map_stage(src, [&](int x) {
      counted item;  // one "record" per value
      max_alive = std::max(max_alive, counted::alive());
      return x;
    });
    auto b = Impl::filter_stage(a, [](int x) { return x % 2 == 0; });
    auto c = Impl::map_stage(b, [](int x) { return x + 1; });
    long sum = 0;
    for (int v : c) sum += v;
    BOOST_TEST(sum == 250000);
  }
  BOOST_TEST(max_alive == 3);  // the source's 2 + the one record in flight
  BOOST_TEST(counted::alive() == 0);
}

// A zip of two counting sources reads each one item per output.
BOOST_AUTO_TEST_CASE_TEMPLATE(zip_reads_one_item_from_each_side, Impl, generator_impls) {
  int reads_a = 0, reads_b = 0;
  auto a = Impl::counting_source(reads_a);
  auto b = Impl::counting_source(reads_b);
  auto z = Impl::zip_stage(a, b);
  BOOST_TEST(z.next() == 0);
  BOOST_TEST(z.next() == 1001);
  BOOST_TEST(reads_a == 2);
  BOOST_TEST(reads_b == 2);
}

BOOST_AUTO_TEST_SUITE_END()
