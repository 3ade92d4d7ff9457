// The parent chain: switching to dead greenlets, results going to dead or
// unstarted parents, reparenting, cycles and the main greenlet's parent.
// G3.5 (dead targets), G4, G6 and G2.2.
#define BOOST_TEST_MODULE greenlet_parent
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "support/fixtures.hpp"

namespace {

using int_pair = std::tuple<int, int>;

struct some_error : std::runtime_error {
  some_error() : std::runtime_error("some_error") {}
};

bool message_has(const green::error& e, const char* text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

// A greenlet that is finished: its function returned at once.
green::greenlet finished_greenlet() {
  green::greenlet g([] {});
  g.switch_();
  return g;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_parent, green::test::leak_check)

// G3.5: switching to a dead greenlet whose parent is the
// caller returns the packed payload at once.
BOOST_AUTO_TEST_CASE(switch_to_dead_greenlet_returns_payload_to_caller) {
  green::greenlet g = finished_greenlet();
  BOOST_REQUIRE(g.dead());
  BOOST_TEST(green::value_cast<int>(g.switch_(5)) == 5);
  BOOST_TEST(!g.switch_().has_value());
  BOOST_TEST((green::value_cast<int_pair>(g.switch_(1, 2)) == int_pair{1, 2}));
  auto kw = green::value_cast<green::kwargs>(g.switch_(green::kwargs{{"a", 1}}));
  BOOST_TEST(green::value_cast<int>(kw.at("a")) == 1);
  BOOST_TEST(g.dead());
  BOOST_TEST(!g);
}

// G3.5 (greenlet's documentation, "switching to dead greenlets"): outer's
// second switch to its finished inner returns (); so does main's switch to
// inner once both are dead.
BOOST_AUTO_TEST_CASE(switch_to_dead_inner_returns_empty_to_outer_and_to_main) {
  std::optional<green::greenlet> inner;
  std::vector<green::value> outer_got;
  green::greenlet outer([&] {
    inner.emplace([] { return 42; });
    outer_got.push_back(inner->switch_());
    outer_got.push_back(inner->switch_());
  });
  outer.switch_();
  BOOST_REQUIRE(outer_got.size() == 2u);
  BOOST_TEST(green::value_cast<int>(outer_got[0]) == 42);
  BOOST_TEST(!outer_got[1].has_value());
  BOOST_TEST(outer.dead());
  BOOST_TEST(inner->dead());
  BOOST_TEST(!inner->switch_().has_value());
  BOOST_TEST(green::value_cast<int>(inner->switch_(7)) == 7);
}

// G4.4: a dead parent is skipped; the result goes to its parent.
BOOST_AUTO_TEST_CASE(result_of_child_with_dead_parent_goes_to_grandparent) {
  green::greenlet a = finished_greenlet();
  green::greenlet b([] { return std::string("b done"); }, a);
  BOOST_TEST((*b.parent() == a));
  BOOST_TEST(green::value_cast<std::string>(b.switch_()) == "b done");
  BOOST_TEST(b.dead());
  BOOST_TEST(green::value_cast<std::string>(b.switch_(std::string("x"))) == "x");
}

// G3.5: an explicit switch to a dead parent in the
// middle of the function also walks up to the grandparent.
BOOST_AUTO_TEST_CASE(switch_to_dead_parent_from_child_resumes_grandparent) {
  green::greenlet a = finished_greenlet();
  green::value resumed_with;
  green::greenlet b(
      [&] {
        resumed_with = green::getcurrent().parent()->switch_(1);
        return 2;
      },
      a);
  BOOST_TEST(green::value_cast<int>(b.switch_()) == 1);
  BOOST_TEST(!b.dead());
  BOOST_TEST(green::value_cast<int>(b.switch_(3)) == 2);
  BOOST_TEST(green::value_cast<int>(resumed_with) == 3);
  BOOST_TEST(b.dead());
}

// G3.5 ("if the dead greenlet's parent is suspended, that
// parent is resumed with the payload").
BOOST_AUTO_TEST_CASE(switch_to_dead_child_resumes_its_suspended_parent_with_payload) {
  std::vector<green::value> p_got;
  green::greenlet p([&] {
    for (int i = 0; i < 2; ++i) p_got.push_back(green::getcurrent().parent()->switch_());
    return std::string("p done");
  });
  p.switch_();
  green::greenlet c = finished_greenlet();
  c.set_parent(p);
  BOOST_TEST(!c.switch_(5).has_value());  // p resumed with 5, then switched back empty
  BOOST_TEST(green::value_cast<std::string>(c.switch_(1, 2)) == "p done");
  BOOST_REQUIRE(p_got.size() == 2u);
  BOOST_TEST(green::value_cast<int>(p_got[0]) == 5);
  BOOST_TEST((green::value_cast<int_pair>(p_got[1]) == int_pair{1, 2}));
  BOOST_TEST(p.dead());
  BOOST_TEST(c.dead());
}

// G4.4 (docs): outer creates inner, hands it out and finishes; inner's
// result then arrives in main.
BOOST_AUTO_TEST_CASE(result_of_child_whose_parent_died_first_arrives_in_main) {
  std::optional<green::greenlet> inner;
  green::greenlet outer([&] {
    inner.emplace([](int x) { return x * 2; });
    return std::string("outer done");
  });
  BOOST_TEST(green::value_cast<std::string>(outer.switch_()) == "outer done");
  BOOST_TEST(outer.dead());
  BOOST_REQUIRE(inner.has_value());
  BOOST_TEST((*inner->parent() == outer));
  BOOST_TEST(!inner->started());
  BOOST_TEST(green::value_cast<int>(inner->switch_(21)) == 42);
  BOOST_TEST(inner->dead());
}

// G4.4: an exception of a child whose parent is dead reaches main.
BOOST_AUTO_TEST_CASE(exception_of_child_whose_parent_died_first_raises_in_main) {
  std::optional<green::greenlet> inner;
  green::greenlet outer([&] { inner.emplace([]() -> int { throw some_error(); }); });
  outer.switch_();
  BOOST_REQUIRE(outer.dead());
  BOOST_CHECK_THROW(inner->switch_(), some_error);
  BOOST_TEST(inner->dead());
}

// G4.5 (test_falling_off_end_switches_to_unstarted_parent_works).
BOOST_AUTO_TEST_CASE(child_result_starts_unstarted_parent_with_it) {
  green::greenlet p([](int x) { return int_pair{x, 24}; });
  green::greenlet c([] { return 42; }, p);
  green::value r = c.switch_();
  BOOST_TEST((green::value_cast<int_pair>(r) == int_pair{42, 24}));
  BOOST_TEST(c.dead());
  BOOST_TEST(p.dead());
}

// G4.5 (test_falling_off_end_switches_to_unstarted_parent_raises_error):
// a parent that takes no arguments started with the child's result raises
// green::error to whoever is resumed next (main).
BOOST_AUTO_TEST_CASE(child_result_to_nullary_unstarted_parent_raises_error) {
  int parent_calls = 0;
  green::greenlet p([&] { ++parent_calls; });
  green::greenlet c([] { return 42; }, p);
  BOOST_CHECK_EXCEPTION(c.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "takes no arguments"); });
  BOOST_TEST(parent_calls == 0);
  BOOST_TEST(c.dead());
  BOOST_TEST(p.dead());
}

// G4.5: the error goes to the parent chain, here a suspended
// grandparent that catches it, not to the caller.
BOOST_AUTO_TEST_CASE(child_result_to_nullary_unstarted_parent_raises_in_suspended_grandparent) {
  std::string caught;
  std::optional<green::greenlet> p;
  green::greenlet gp([&] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::error& e) {
      caught = e.what();
      return std::string("handled");
    }
    return std::string("not handled");
  });
  gp.switch_();
  p.emplace([] {}, gp);
  green::greenlet c([] { return 42; }, *p);
  green::value r = c.switch_();
  BOOST_TEST(green::value_cast<std::string>(r) == "handled");
  BOOST_TEST(caught.find("takes no arguments") != std::string::npos);
  BOOST_TEST(c.dead());
  BOOST_TEST(p->dead());
  BOOST_TEST(gp.dead());
}

// G3.5 (test_switch_to_dead_greenlet_reparent): a dead child reparented
// to an unstarted parent starts it with the payload of the switch.
BOOST_AUTO_TEST_CASE(switch_to_dead_child_reparented_to_unstarted_parent_starts_parent) {
  std::vector<int> seen;
  green::greenlet c([&] { seen.push_back(42); });
  c.switch_();
  BOOST_REQUIRE(c.dead());
  BOOST_TEST(seen == (std::vector<int>{42}), boost::test_tools::per_element());
  green::greenlet p([&] { seen.push_back(24); });
  c.set_parent(p);
  green::value r = c.switch_();
  BOOST_TEST(!r.has_value());
  BOOST_TEST(seen == (std::vector<int>{42, 24}), boost::test_tools::per_element());
  BOOST_TEST(p.dead());
  BOOST_TEST(c.dead());
}

// G3.5, G2.4: the switch's arguments become the started
// parent's arguments (p.run(1, 2)).
BOOST_AUTO_TEST_CASE(switch_with_arguments_to_dead_child_starts_unstarted_parent_with_them) {
  green::greenlet c = finished_greenlet();
  green::greenlet p([](int a, int b) { return a * 10 + b; });
  c.set_parent(p);
  BOOST_TEST(green::value_cast<int>(c.switch_(1, 2)) == 12);
  BOOST_TEST(p.dead());
}

// G4.6 (test_switch_to_dead_greenlet_with_unstarted_perverse_parent):
// a parent that cannot start fails every switch to the dead child; the child
// ran once, the parent stays unstarted.
BOOST_AUTO_TEST_CASE(switch_to_dead_child_of_unstartable_parent_fails_every_time) {
  green::greenlet p;  // no function: starting it fails
  int child_runs = 0;
  green::greenlet child([&] { ++child_runs; }, p);
  BOOST_CHECK_EXCEPTION(child.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "no function"); });
  BOOST_TEST(child_runs == 1);
  BOOST_TEST(child.dead());
  BOOST_TEST(!p.started());
  BOOST_CHECK_EXCEPTION(child.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "no function"); });
  BOOST_TEST(child_runs == 1);
  BOOST_TEST(!p.started());
  BOOST_TEST(!p.dead());
  // The parent stayed unstarted: once it has a function, the next switch starts it.
  p.set_run([](int x) { return x + 1; });
  BOOST_TEST(green::value_cast<int>(child.switch_(41)) == 42);
  BOOST_TEST(child_runs == 1);
  BOOST_TEST(p.dead());
}

// G4.6 (test_parent_return_failure): the failure to start the parent
// goes to the next parent (main, the caller).
BOOST_AUTO_TEST_CASE(child_ending_with_parent_without_function_raises_no_function_in_caller) {
  green::greenlet g1;
  green::greenlet g2([] {}, g1);
  BOOST_CHECK_EXCEPTION(g2.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "no function"); });
  BOOST_TEST(g2.dead());
  BOOST_TEST(!g1.started());
  BOOST_TEST(!g1.dead());
  BOOST_TEST(!g1);
}

// G4.6: the failure replaces the child's exception too and
// still goes to the next parent.
BOOST_AUTO_TEST_CASE(child_raising_with_parent_without_function_raises_no_function_in_caller) {
  green::greenlet g1;
  green::greenlet g2([]() -> int { throw some_error(); }, g1);
  BOOST_CHECK_EXCEPTION(g2.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "no function"); });
  BOOST_TEST(g2.dead());
  BOOST_TEST(!g1.started());
}

// G6.2: a suspended child reparented to an unstarted
// greenlet starts it with its result; its result goes to main.
BOOST_AUTO_TEST_CASE(suspended_child_reparented_to_unstarted_parent_starts_it_on_return) {
  green::greenlet child([] {
    green::getcurrent().parent()->switch_(std::string("suspended"));
    return 21;
  });
  BOOST_TEST(green::value_cast<std::string>(child.switch_()) == "suspended");
  int np_arg = 0;
  green::greenlet np([&](int x) {
    np_arg = x;
    return x * 2;
  });
  child.set_parent(np);
  BOOST_TEST((*child.parent() == np));
  green::value r = child.switch_();
  BOOST_TEST(np_arg == 21);
  BOOST_TEST(green::value_cast<int>(r) == 42);
  BOOST_TEST(child.dead());
  BOOST_TEST(np.dead());
}

// G6.2: the parent can be changed while the greenlet runs; the new
// parent is used when it ends.
BOOST_AUTO_TEST_CASE(running_greenlet_setting_own_parent_ends_into_new_parent) {
  green::greenlet np([](int x) { return x + 100; });
  green::greenlet child([&] {
    green::greenlet me = green::getcurrent();
    me.set_parent(np);
    return 1;
  });
  BOOST_TEST(green::value_cast<int>(child.switch_()) == 101);
  BOOST_TEST(child.dead());
  BOOST_TEST(np.dead());
  BOOST_TEST((*child.parent() == np));
}

// G6.6: parents hold strong references; a child keeps its parent alive.
BOOST_AUTO_TEST_CASE(child_keeps_parent_alive_after_last_parent_handle_dropped) {
  int parent_arg = 0;
  std::optional<green::greenlet> p;
  p.emplace([&](int x) { parent_arg = x; });
  const std::uint64_t parent_id = p->id();
  green::greenlet c([] { return 5; }, *p);
  p.reset();
  BOOST_TEST(c.parent()->id() == parent_id);
  BOOST_TEST(c.parent()->has_run());
  c.switch_();
  BOOST_TEST(parent_arg == 5);
  BOOST_TEST(c.parent()->dead());
}

// G2.2: the default parent is the greenlet current at creation.
BOOST_AUTO_TEST_CASE(greenlet_created_in_main_has_main_as_parent) {
  green::greenlet g([] {});
  green::greenlet none;
  BOOST_TEST((*g.parent() == green::getcurrent()));
  BOOST_TEST((*none.parent() == green::getcurrent()));
  BOOST_TEST(g.parent()->is_main());
}

// G2.2 (test_parent_equals_None): created inside A, the parent is A;
// giving the current greenlet explicitly is the same as the default.
BOOST_AUTO_TEST_CASE(greenlet_created_in_greenlet_has_creator_as_parent) {
  bool default_is_a = false;
  bool explicit_is_a = false;
  green::greenlet a;
  a.set_run([&] {
    green::greenlet by_default([] {});
    green::greenlet by_current([] {}, green::getcurrent());
    default_is_a = (*by_default.parent() == a);
    explicit_is_a = (*by_current.parent() == a);
  });
  a.switch_();
  BOOST_TEST(default_is_a);
  BOOST_TEST(explicit_is_a);
  BOOST_TEST(a.dead());
}

// G6.3 (TestGreenletSetParentErrors: trivial cycle): a greenlet cannot
// be its own parent.
BOOST_AUTO_TEST_CASE(set_parent_to_self_raises_cyclic_parent_chain) {
  green::greenlet g([] {});
  BOOST_CHECK_EXCEPTION(g.set_parent(g), green::error, [](const green::error& e) {
    return message_has(e, "cyclic parent chain");
  });
  BOOST_TEST(g.parent()->is_main());
}

// G6.3 (TestGreenletSetParentErrors: deep cycle): the last assignment
// of g1->g2->g3->g1 fails and leaves the chain unchanged.
BOOST_AUTO_TEST_CASE(set_parent_closing_longer_cycle_raises_and_leaves_chain_unchanged) {
  green::greenlet g1([] {});
  green::greenlet g2([] {});
  green::greenlet g3([] {});
  g1.set_parent(g2);
  g2.set_parent(g3);
  BOOST_CHECK_EXCEPTION(g3.set_parent(g1), green::error, [](const green::error& e) {
    return message_has(e, "cyclic parent chain");
  });
  BOOST_TEST((*g1.parent() == g2));
  BOOST_TEST((*g2.parent() == g3));
  BOOST_TEST(g3.parent()->is_main());
}

// G6.3: the cycle check applies to a running greenlet too.
BOOST_AUTO_TEST_CASE(set_parent_of_running_greenlet_to_its_child_raises_cyclic_parent_chain) {
  std::string message;
  bool parent_is_main = false;
  green::greenlet g([&] {
    green::greenlet me = green::getcurrent();
    green::greenlet child([] {});
    try {
      me.set_parent(child);
    } catch (const green::error& e) {
      message = e.what();
    }
    parent_is_main = me.parent()->is_main();
  });
  g.switch_();
  BOOST_TEST(message.find("cyclic parent chain") != std::string::npos);
  BOOST_TEST(parent_is_main);
}

// G6.4 (TestGreenletSetParentErrors: wrong types; the C++ analogue of
// a parent that is not a greenlet is an empty handle): an empty
// (moved-from) handle is refused as a parent, unstarted or running, and the
// parent is unchanged.
BOOST_AUTO_TEST_CASE(set_parent_to_empty_handle_raises_error_and_keeps_parent) {
  green::greenlet source([] {});
  green::greenlet taken = std::move(source);
  green::greenlet g([] {});
  BOOST_CHECK_THROW(g.set_parent(source), green::error);
  BOOST_TEST(g.parent()->is_main());

  bool threw = false;
  bool parent_is_main = false;
  green::greenlet running([&] {
    green::greenlet me = green::getcurrent();
    try {
      me.set_parent(source);
    } catch (const green::error&) {
      threw = true;
    }
    parent_is_main = me.parent()->is_main();
  });
  running.switch_();
  BOOST_TEST(threw);
  BOOST_TEST(parent_is_main);
  BOOST_TEST(running.dead());
}

// G2.2: constructing with an empty handle as the parent is refused.
BOOST_AUTO_TEST_CASE(construct_with_empty_parent_handle_raises_error) {
  green::greenlet source([] {});
  green::greenlet taken = std::move(source);
  BOOST_CHECK_THROW(green::greenlet([] {}, source), green::error);
}

// G6.4 (TestGreenletSetParentErrors: main's parent): main's parent is
// none and cannot be set. (Python's
// `del g.parent` has no C++ analogue: parent() returns a copy.)
BOOST_AUTO_TEST_CASE(set_parent_of_main_raises_cannot_set_parent_of_main) {
  green::greenlet main = green::getcurrent();
  BOOST_TEST(main.is_main());
  BOOST_TEST(!main.parent().has_value());
  green::greenlet other([] {});
  BOOST_CHECK_EXCEPTION(main.set_parent(other), green::error, [](const green::error& e) {
    return message_has(e, "cannot set the parent of a main greenlet");
  });
  BOOST_CHECK_EXCEPTION(main.set_parent(main), green::error, [](const green::error& e) {
    return message_has(e, "cannot set the parent of a main greenlet");
  });
  BOOST_TEST(!main.parent().has_value());
}

// G6.1: seen from inside a greenlet, the parent chain ends at main,
// whose parent is none.
BOOST_AUTO_TEST_CASE(parent_chain_from_nested_greenlet_ends_at_main_with_no_parent) {
  int depth = -1;
  bool ends_at_main = false;
  green::greenlet outer([&] {
    green::greenlet inner([&] {
      int d = 0;
      std::optional<green::greenlet> g = green::getcurrent();
      while (g->parent()) {
        g = g->parent();
        ++d;
      }
      depth = d;
      ends_at_main = g->is_main();
    });
    inner.switch_();
  });
  outer.switch_();
  BOOST_TEST(depth == 2);
  BOOST_TEST(ends_at_main);
}

// G6.5 (TestGreenletSetParentErrors: reparent across threads):
// reparenting a started greenlet to another live thread's greenlet fails;
// an unstarted one may be reparented, but its first switch then fails.
BOOST_AUTO_TEST_CASE(set_parent_to_other_thread_greenlet_fails_when_started_and_at_start) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<green::greenlet> other_main;
  bool release_thread = false;
  std::thread t([&] {
    std::unique_lock<std::mutex> lock(m);
    other_main.emplace(green::getcurrent());
    cv.notify_all();
    cv.wait(lock, [&] { return release_thread; });
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return other_main.has_value(); });
  }

  // Started (suspended) greenlet: refused, parent unchanged.
  green::greenlet started([] { green::getcurrent().parent()->switch_(); });
  started.switch_();
  std::string started_message;
  try {
    started.set_parent(*other_main);
  } catch (const green::error& e) {
    started_message = e.what();
  }
  BOOST_TEST(started_message.find("parent cannot be on a different thread") != std::string::npos);
  BOOST_TEST(started.parent()->is_main());
  BOOST_TEST((*started.parent() == green::getcurrent()));

  // Unstarted greenlet: allowed; starting it fails and it stays unstarted.
  int runs = 0;
  green::greenlet unstarted([&] { ++runs; });
  unstarted.set_parent(*other_main);
  BOOST_TEST((*unstarted.parent() == *other_main));
  BOOST_CHECK_EXCEPTION(unstarted.switch_(), green::error,
                        [](const green::error& e) { return message_has(e, "different thread"); });
  BOOST_CHECK_EXCEPTION(unstarted.throw_(some_error()), green::error,
                        [](const green::error& e) { return message_has(e, "different thread"); });
  BOOST_TEST(runs == 0);
  BOOST_TEST(!unstarted.started());

  // Back on this thread, it starts normally.
  unstarted.set_parent(green::getcurrent());
  unstarted.switch_();
  BOOST_TEST(runs == 1);
  BOOST_TEST(unstarted.dead());
  started.switch_();
  BOOST_TEST(started.dead());

  other_main.reset();
  {
    std::lock_guard<std::mutex> lock(m);
    release_thread = true;
  }
  cv.notify_all();
  t.join();
}

BOOST_AUTO_TEST_SUITE_END()
