// The floating-point environment across switches (G12.2; Python's
// greenlet saves the x87 control word and MXCSR in slp_switch). The control
// modes are per greenlet: a rounding mode set in
// one greenlet is not seen by the others, and is back when it resumes. The
// exception flags (fetestexcept) are not a greenlet's own: a greenlet keeps
// the flags it raised, and flags raised elsewhere spread to the greenlets it
// switches with, so that all their saved states soon agree. Otherwise every
// switch would reload a different MXCSR, which costs about 100 ns per round
// trip on Intel cores (lib/backend/context.hpp; bench row switch_fp_flags).
#define BOOST_TEST_MODULE greenlet_fp_env
#include <boost/test/unit_test.hpp>

#include <cfenv>
#include <vector>

#include "green/greenlet.hpp"
#include "support/fixtures.hpp"
#include "support/sanitizers.hpp"

namespace {

// raise_inexact() does one division whose result is not exact.
void raise_inexact() {
  volatile double one = 1.0;
  volatile double third = one / 3.0;
  static_cast<void>(third);
}

bool inexact_raised() { return std::fetestexcept(FE_INEXACT) != 0; }

// Valgrind does not model the exception flags (fetestexcept() reads 0).
bool flags_observable() {
  if (RUNNING_ON_VALGRIND) {
    BOOST_TEST_MESSAGE("skipped under valgrind: it does not model MXCSR's exception flags");
    return false;
  }
  return true;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_fp_env, green::test::leak_check)

BOOST_AUTO_TEST_CASE(rounding_mode_set_in_a_greenlet_stays_in_that_greenlet) {
  BOOST_REQUIRE(std::fegetround() == FE_TONEAREST);
  int seen_in_g_after_resume = -1;
  green::greenlet g([&] {
    std::fesetround(FE_UPWARD);
    green::getcurrent().parent()->switch_();
    seen_in_g_after_resume = std::fegetround();
    std::fesetround(FE_TONEAREST);
  });
  g.switch_();
  const int seen_in_main = std::fegetround();
  g.switch_();
  BOOST_TEST(seen_in_main == FE_TONEAREST);
  BOOST_TEST(seen_in_g_after_resume == FE_UPWARD);
  BOOST_TEST(std::fegetround() == FE_TONEAREST);
  BOOST_TEST(g.dead());
}

BOOST_AUTO_TEST_CASE(greenlet_keeps_the_exception_flags_it_raised_across_a_switch) {
  if (!flags_observable()) return;
  bool seen_in_g = true;
  green::greenlet g([&] {
    seen_in_g = inexact_raised();
    green::getcurrent().parent()->switch_();
  });
  std::feclearexcept(FE_ALL_EXCEPT);
  g.switch_();  // g starts, and parks, with no flag set
  BOOST_TEST(!seen_in_g);
  raise_inexact();
  g.switch_();  // g ends: back here with the flag still set
  BOOST_TEST(inexact_raised());
  BOOST_TEST(g.dead());
  std::feclearexcept(FE_ALL_EXCEPT);
}

BOOST_AUTO_TEST_CASE(greenlet_started_after_a_flag_was_raised_starts_with_it) {
  if (!flags_observable()) return;
  std::feclearexcept(FE_ALL_EXCEPT);
  raise_inexact();
  bool seen_at_start = false;
  green::greenlet g([&] { seen_at_start = inexact_raised(); });
  g.switch_();
  BOOST_TEST(seen_at_start);
  std::feclearexcept(FE_ALL_EXCEPT);
}

// The case behind the rule: two greenlets ping-pong, one does floating-point
// math. Within two round trips the other's saved state has the flag too, so
// the switches stop reloading a different MXCSR.
BOOST_AUTO_TEST_CASE(flag_raised_in_one_of_two_ping_ponging_greenlets_spreads_to_the_other) {
  if (!flags_observable()) return;
  std::vector<bool> seen;
  green::greenlet g([&] {
    for (;;) {
      seen.push_back(inexact_raised());
      if (!green::value_cast<bool>(green::getcurrent().parent()->switch_())) return;
    }
  });
  std::feclearexcept(FE_ALL_EXCEPT);
  g.switch_();  // g parks with no flag set
  raise_inexact();
  for (int i = 0; i < 3; ++i) {
    g.switch_(true);
    raise_inexact();  // the caller keeps doing math between switches
  }
  g.switch_(false);
  BOOST_TEST(g.dead());
  BOOST_REQUIRE(seen.size() == 4u);
  BOOST_TEST(!seen[0]);
  BOOST_TEST(seen[3]);  // by the third round trip at the latest
  BOOST_TEST(inexact_raised());
  std::feclearexcept(FE_ALL_EXCEPT);
}

BOOST_AUTO_TEST_SUITE_END()
