// Freeing long parent chains: each greenlet's only reference is its child's
// parent link, so dropping the last handle frees (or kills) the whole chain.
// This must not take stack depth proportional to the chain's length, with or
// without the compiler's tail calls: CMake also builds this file, and a copy
// of the core library, without optimisation (greenlet_chain_teardown_o0_test).

#define BOOST_TEST_MODULE greenlet_chain_teardown
#include <boost/test/unit_test.hpp>

#include <optional>

#include "green/greenlet.hpp"
#include "support/fixtures.hpp"
#include "support/sanitizers.hpp"

namespace {

// build_unstarted_chain() returns the last of n unstarted greenlets, each
// the parent of the next; only the returned handle holds the chain.
green::greenlet build_unstarted_chain(int n) {
  green::greenlet last([] {});
  for (int i = 1; i < n; ++i) last = green::greenlet([] {}, last);
  return last;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_chain_teardown, green::test::leak_check)

BOOST_AUTO_TEST_CASE(dropping_a_chain_of_100000_unstarted_greenlets_frees_it_on_the_main_stack) {
  std::optional<green::greenlet> last = build_unstarted_chain(100000);
  last.reset();  // recursed once per link before: crashed main's 8 MiB stack at -O0
  BOOST_TEST(green::debug::live_greenlets() == live_before);
}

BOOST_AUTO_TEST_CASE(dropping_a_chain_of_20000_unstarted_greenlets_inside_a_small_greenlet_works) {
  // 600 links overflowed a 128 KiB greenlet stack at -O0 before.
  bool done = false;
  green::greenlet g(
      [&] {
        std::optional<green::greenlet> last = build_unstarted_chain(20000);
        last.reset();
        done = true;
      },
      green::stack_options{128 * 1024});
  g.switch_();
  BOOST_TEST(done);
  BOOST_TEST(g.dead());
}

BOOST_AUTO_TEST_CASE(dropping_a_chain_of_suspended_greenlets_kills_each_one_after_another) {
  // Each greenlet is suspended in a switch to main; dropping the last handle
  // kills it, which frees its parent link, which kills the parent, and so
  // on. Each kill unwinds its greenlet on its own stack, and the killer's
  // stack must not grow per link: the killer here has 64 KiB (under ASan,
  // a chain of 20,000 overflowed main's 8 MiB before).
  // ThreadSanitizer (a fiber each) and valgrind (a segment table of fixed
  // size: 20,000 mapped stacks exceed it) take a shorter chain.
  const int n = green::test::under_tsan || RUNNING_ON_VALGRIND ? 1000 : 20000;
  green::greenlet main = green::getcurrent();
  int unwound = 0;
  struct on_unwind {
    int& unwound;
    ~on_unwind() { ++unwound; }
  };
  std::optional<green::greenlet> last;
  for (int i = 0; i < n; ++i) {
    auto body = [&] {
      on_unwind u{unwound};
      main.switch_();
    };
    green::greenlet g = last ? green::greenlet(body, *last, green::stack_options{64 * 1024})
                             : green::greenlet(body, green::stack_options{64 * 1024});
    g.switch_();
    last = std::move(g);  // the previous greenlet is now held by g's parent link only
  }
  BOOST_TEST(unwound == 0);
  green::greenlet killer([&] { last.reset(); }, green::stack_options{64 * 1024});
  killer.switch_();
  BOOST_TEST(killer.dead());
  BOOST_TEST(unwound == n);
}

BOOST_AUTO_TEST_CASE(dropping_a_chain_of_finished_greenlets_frees_it) {
  // A dead greenlet keeps its parent link until it is freed. Starting the
  // leaf runs the whole chain: each end starts the unstarted parent.
  std::optional<green::greenlet> last = build_unstarted_chain(5000);
  last->switch_();
  BOOST_TEST(last->dead());
  last.reset();
  BOOST_TEST(green::debug::live_greenlets() == live_before);
}

BOOST_AUTO_TEST_SUITE_END()
