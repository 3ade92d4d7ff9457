// What only the stackless generator has to show: its delegation resumes the
// innermost coroutine directly (O(1) per item, measured as stack depth), and
// it is not tied to a thread.
#define BOOST_TEST_MODULE generator_stackless_only
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <thread>
#include <vector>

#include "green/stackless.hpp"
#include "support/fixtures.hpp"

namespace sl = green::stackless;

namespace {

// frame_depth() is how far below `base` the calling code runs.
[[gnu::noinline]] std::intptr_t frame_depth(const void* base) {
  return reinterpret_cast<std::intptr_t>(base) -
         reinterpret_cast<std::intptr_t>(__builtin_frame_address(0));
}

// leaf(base, depths) records, for each value, how deep below the consumer's
// frame it runs; chain(d, ...) delegates to it through d levels.
sl::generator<int> leaf(const void* const* base, std::vector<std::intptr_t>* depths) {
  for (int i = 0;; ++i) {
    depths->push_back(frame_depth(*base));
    co_yield i;
  }
}
sl::generator<int> chain(int d, const void* const* base, std::vector<std::intptr_t>* depths) {
  if (d == 0) {
    co_yield sl::yield_from(leaf(base, depths));
  } else {
    co_yield sl::yield_from(chain(d - 1, base, depths));
  }
}

// pull() takes n values, the consumer's frame being the base.
[[gnu::noinline]] void pull(sl::generator<int>& g, const void** base, int n) {
  *base = __builtin_frame_address(0);
  for (int i = 0; i < n; ++i) (void)g.next();
}

sl::generator<int> counter(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(generator_stackless_only, green::test::leak_check)

// O(1) delegation: the innermost generator of a 64-deep delegation runs as
// close to the consumer's frame as the one of a 1-deep delegation: the
// delegators are not on the stack while it runs.
BOOST_AUTO_TEST_CASE(deep_delegation_resumes_innermost_directly) {
  const void* base1 = nullptr;
  const void* base64 = nullptr;
  std::vector<std::intptr_t> d1, d64;
  auto g1 = chain(1, &base1, &d1);
  auto g64 = chain(64, &base64, &d64);
  pull(g1, &base1, 1);  // the first next() primes the chain; not measured
  pull(g64, &base64, 1);
  d1.clear();
  d64.clear();
  pull(g1, &base1, 5);
  pull(g64, &base64, 5);
  BOOST_TEST(d1.size() == 5u);
  BOOST_TEST(d64.size() == 5u);
  for (std::size_t i = 0; i < d1.size() && i < d64.size(); ++i) BOOST_TEST(d64[i] == d1[i]);
}

// A stackless generator has no stack of its own, so any thread can resume
// it (the stackful one belongs to the thread that started it).
BOOST_AUTO_TEST_CASE(generator_can_be_resumed_from_another_thread) {
  auto g = counter(3);
  BOOST_TEST(g.next() == 0);
  int got = -1;
  std::thread([&] { got = g.next(); }).join();
  BOOST_TEST(got == 1);
  BOOST_TEST(g.next() == 2);
}

BOOST_AUTO_TEST_SUITE_END()
