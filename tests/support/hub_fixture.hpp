// tests/support/hub_fixture.hpp: the fixture of every hub suite.
//
// hub_check gives each case a fresh hub on the virtual clock (time jumps to
// the next deadline when only timers remain, so sleeps cost nothing and the
// interleaving is deterministic). At teardown it lets the hub run until idle,
// checks that no spawned greenlet is left and no timer is pending, destroys
// the hub, and then leak_check checks that no greenlet or stack leaked.

#ifndef GREEN_TESTS_SUPPORT_HUB_FIXTURE_HPP
#define GREEN_TESTS_SUPPORT_HUB_FIXTURE_HPP

#include <boost/test/unit_test.hpp>

#include "green/hub.hpp"
#include "support/fixtures.hpp"

namespace green::test {

struct hub_check : leak_check {
  explicit hub_check(bool virtual_clock = true) {
    green::destroy_hub();
    green::make_hub(green::hub_options{.virtual_clock = virtual_clock});
  }
  ~hub_check() {
    if (!green::has_hub()) return;
    try {
      green::idle();
    } catch (...) {
      BOOST_ERROR("the hub's teardown idle() threw");
    }
    BOOST_CHECK_MESSAGE(green::get_hub().live_tasks() == 0,
                        "spawned greenlets left unfinished: " << green::get_hub().live_tasks());
    BOOST_CHECK_MESSAGE(green::get_hub().idle_now(), "the hub is not idle (a timer is pending)");
    green::destroy_hub();
  }
};

// throws<E>(f) is whether f() throws an E (for checks inside greenlet
// bodies, where BOOST_CHECK_THROW's message would name no greenlet).
template <class E, class F>
bool throws(F&& f) {
  try {
    f();
  } catch (const E&) {
    return true;
  }
  return false;
}

struct real_clock_hub : hub_check {
  real_clock_hub() : hub_check(false) {}
};

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_HUB_FIXTURE_HPP
