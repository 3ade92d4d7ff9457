// Tracing switches with green::settrace(): G11.1-G11.5, including the
// per-thread trace function (G11.1).
#define BOOST_TEST_MODULE greenlet_trace
#include <boost/test/unit_test.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "green/greenlet.hpp"
#include "support/fixtures.hpp"

namespace {

struct some_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// recorder is a trace function that logs "event(origin, target)" by
// greenlet name and counts callbacks that did not run in the target.
struct recorder {
  std::vector<std::string> events;
  int not_in_target = 0;

  green::trace_function function() {
    return [this](green::trace_event ev, const green::greenlet& origin,
                  const green::greenlet& target) {
      events.push_back(std::string(ev == green::trace_event::switch_ ? "switch" : "throw") + "(" +
                       origin.name() + ", " + target.name() + ")");
      if (!(green::getcurrent() == target)) ++not_in_target;
    };
  }
};

// trace_off removes this thread's trace function when the case ends, also
// when an assertion aborts it.
struct trace_off {
  ~trace_off() { green::settrace(nullptr); }
};

green::greenlet named(green::greenlet g, const char* name) {
  g.set_name(name);
  return g;
}

using lines = std::vector<std::string>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_trace, green::test::leak_check)

// G11.2, G11.3 (test_tracing.py::test_a_greenlet_tracing): a start and return
// is traced as two switches; dying by an exception is a throw to the parent.
// Every callback runs in the target.
BOOST_AUTO_TEST_CASE(tracer_sees_return_as_switch_and_raise_as_throw) {
  trace_off off;
  recorder rec;
  green::greenlet g1 = named(green::greenlet([] {}), "g1");
  green::greenlet g2 = named(green::greenlet([] { throw some_error("boom"); }), "g2");
  green::settrace(rec.function());
  g1.switch_();
  BOOST_CHECK_THROW(g2.switch_(), some_error);
  green::settrace(nullptr);

  BOOST_TEST(rec.events == (lines{"switch(main, g1)", "switch(g1, main)", "switch(main, g2)",
                                  "throw(g2, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(rec.not_in_target == 0);
}

// G11.3 (recorded sequences): a throw_() into a suspended
// greenlet that does not catch it is a throw both ways.
BOOST_AUTO_TEST_CASE(tracer_sees_uncaught_throw_into_suspended_greenlet_as_throws) {
  trace_off off;
  recorder rec;
  green::greenlet g3 =
      named(green::greenlet([] { green::getcurrent().parent()->switch_(); }), "g3");
  g3.switch_();
  green::settrace(rec.function());
  BOOST_CHECK_THROW(g3.throw_(some_error("x")), some_error);
  green::settrace(nullptr);

  BOOST_TEST(rec.events == (lines{"throw(main, g3)", "throw(g3, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(rec.not_in_target == 0);
}

// G11.3 (recorded sequences): a throw_() into an unstarted
// greenlet is a throw in and a throw back to the parent.
BOOST_AUTO_TEST_CASE(tracer_sees_throw_into_unstarted_greenlet_as_throws) {
  trace_off off;
  recorder rec;
  bool ran = false;
  green::greenlet g5 = named(green::greenlet([&ran] { ran = true; }), "g5");
  green::settrace(rec.function());
  BOOST_CHECK_THROW(g5.throw_(some_error("x")), some_error);
  green::settrace(nullptr);

  BOOST_TEST(rec.events == (lines{"throw(main, g5)", "throw(g5, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(!ran);
  BOOST_TEST(rec.not_in_target == 0);
}

// G11.3: a switch between two children names them as origin and
// target, and a return goes to the parent, not to the switcher.
BOOST_AUTO_TEST_CASE(tracer_sees_switch_between_children_with_their_names) {
  trace_off off;
  recorder rec;
  green::greenlet g2 = named(green::greenlet([] {}), "g2");
  green::greenlet g1 = named(green::greenlet([&g2] {
                               g2.switch_();
                               green::getcurrent().parent()->switch_();
                             }),
                             "g1");
  green::settrace(rec.function());
  g1.switch_();  // g1 starts g2, which returns to its parent, main
  g1.switch_();  // g1 resumes only now and returns
  green::settrace(nullptr);

  BOOST_TEST(rec.events == (lines{"switch(main, g1)", "switch(g1, g2)", "switch(g2, main)",
                                  "switch(main, g1)", "switch(g1, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(rec.not_in_target == 0);
  BOOST_TEST(g2.dead());
  BOOST_TEST(!g1.dead());
  g1.switch_();
  BOOST_TEST(g1.dead());
}

// G11.4 (test_tracing.py::test_b_exception_disables_tracing): a
// throwing tracer is removed, its error is raised in the target, and since
// the target does not catch it the switch raises it. Only one event is seen.
BOOST_AUTO_TEST_CASE(throwing_tracer_is_removed_and_its_error_raised_in_target) {
  trace_off off;
  recorder rec;
  green::greenlet g = named(green::greenlet([] { green::getcurrent().parent()->switch_(); }), "g");
  g.switch_();
  green::settrace(
      [&rec](green::trace_event ev, const green::greenlet& o, const green::greenlet& t) {
        rec.function()(ev, o, t);
        throw some_error("tracer fail");
      });
  BOOST_CHECK_THROW(g.switch_(), some_error);
  BOOST_TEST(!green::gettrace());
  BOOST_TEST(rec.events == (lines{"switch(main, g)"}), boost::test_tools::per_element());
  BOOST_TEST(g.dead());
}

// G11.4: the tracer's error is raised in the target
// as if thrown in with throw_(), so the target can catch it.
BOOST_AUTO_TEST_CASE(tracer_error_can_be_caught_by_the_target) {
  trace_off off;
  std::string caught;
  green::greenlet g([&caught] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const some_error& e) {
      caught = e.what();
      return 7;
    }
    return 0;
  });
  g.switch_();
  int events = 0;
  green::settrace([&events](green::trace_event, const green::greenlet&, const green::greenlet&) {
    ++events;
    throw some_error("tracer fail");
  });
  const green::value r = g.switch_();
  BOOST_TEST(!green::gettrace());
  BOOST_TEST(green::value_cast<int>(r) == 7);
  BOOST_TEST(caught == "tracer fail");
  BOOST_TEST(events == 1);
}

// G11.4: for a throw event the tracer's error
// replaces the exception being delivered.
BOOST_AUTO_TEST_CASE(tracer_error_replaces_the_exception_being_thrown) {
  trace_off off;
  std::vector<std::string> caught;
  green::greenlet g([&caught] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const std::exception& e) {
      caught.push_back(e.what());
    }
  });
  g.switch_();
  green::settrace([](green::trace_event, const green::greenlet&, const green::greenlet&) {
    throw some_error("tracer fail");
  });
  g.throw_(std::runtime_error("original"));
  BOOST_TEST(!green::gettrace());
  BOOST_TEST(caught == (std::vector<std::string>{"tracer fail"}), boost::test_tools::per_element());
  BOOST_TEST(g.dead());
}

// G11.5: a tracer that throws on the first entry
// into a greenlet: the function never runs, the greenlet dies and the error
// reaches the parent.
BOOST_AUTO_TEST_CASE(tracer_throwing_on_first_entry_kills_greenlet_before_it_runs) {
  trace_off off;
  bool ran = false;
  green::greenlet g([&ran] { ran = true; });
  green::settrace([](green::trace_event, const green::greenlet&, const green::greenlet&) {
    throw some_error("tracer fail");
  });
  std::string error;
  try {
    g.switch_();
  } catch (const some_error& e) {
    error = e.what();
  }
  BOOST_TEST(error == "tracer fail");
  BOOST_TEST(!ran);
  BOOST_TEST(g.dead());
  BOOST_TEST(!green::gettrace());
}

// G11.3 (G3.6): a switch to yourself and a switch or throw
// to a dead greenlet whose parent is the caller are traced with origin ==
// target (main, main).
BOOST_AUTO_TEST_CASE(self_switch_and_switch_to_dead_are_traced_from_main_to_main) {
  trace_off off;
  recorder rec;
  green::greenlet dead_one([] {});
  dead_one.switch_();
  BOOST_REQUIRE(dead_one.dead());
  green::greenlet me = green::getcurrent();
  green::settrace(rec.function());
  const green::value self = me.switch_(1, 2);
  const green::value forwarded = dead_one.switch_(5);
  BOOST_CHECK_THROW(dead_one.throw_(some_error("x")), some_error);
  green::settrace(nullptr);

  BOOST_TEST((green::value_cast<std::tuple<int, int>>(self) == std::tuple<int, int>{1, 2}));
  BOOST_TEST(green::value_cast<int>(forwarded) == 5);
  BOOST_TEST(rec.events == (lines{"switch(main, main)", "switch(main, main)", "throw(main, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(rec.not_in_target == 0);
}

// G11.3: a kill on dropping the last handle is traced as a
// throw into the victim, then a switch back to the destroyer (the exit comes
// back as a value).
BOOST_AUTO_TEST_CASE(dropping_suspended_greenlet_is_traced_as_throw_in_then_switch_out) {
  trace_off off;
  recorder rec;
  std::optional<green::greenlet> g(
      named(green::greenlet([] { green::getcurrent().parent()->switch_(); }), "g"));
  g->switch_();
  green::settrace(rec.function());
  g.reset();
  green::settrace(nullptr);

  BOOST_TEST(rec.events == (lines{"throw(main, g)", "switch(g, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(rec.not_in_target == 0);
}

// G11.1 (test_tracing.py::test_set_same_tracer_twice): settrace()
// returns the previous trace function; setting the same one twice is fine
// and traces each switch once.
BOOST_AUTO_TEST_CASE(settrace_returns_previous_tracer_and_accepts_same_one_twice) {
  trace_off off;
  int a_calls = 0;
  int b_calls = 0;
  const green::trace_function a = [&a_calls](green::trace_event, const green::greenlet&,
                                             const green::greenlet&) { ++a_calls; };
  const green::trace_function b = [&b_calls](green::trace_event, const green::greenlet&,
                                             const green::greenlet&) { ++b_calls; };
  const green::greenlet& main = green::getcurrent();

  BOOST_TEST(!green::gettrace());
  const green::trace_function none = green::settrace(a);
  BOOST_TEST(!none);
  const green::trace_function first = green::settrace(a);
  BOOST_REQUIRE(first);
  first(green::trace_event::switch_, main, main);
  BOOST_TEST(a_calls == 1);  // the previous one was a

  a_calls = 0;
  green::greenlet g([] {});
  g.switch_();
  BOOST_TEST(a_calls == 2);  // in and out, once each

  const green::trace_function second = green::settrace(b);
  BOOST_REQUIRE(second);
  second(green::trace_event::switch_, main, main);
  BOOST_TEST(a_calls == 3);
  const green::trace_function current = green::gettrace();
  BOOST_REQUIRE(current);
  current(green::trace_event::switch_, main, main);
  BOOST_TEST(b_calls == 1);

  const green::trace_function last = green::settrace(nullptr);
  BOOST_REQUIRE(last);
  last(green::trace_event::switch_, main, main);
  BOOST_TEST(b_calls == 2);
  BOOST_TEST(!green::gettrace());
}

// G11.1: trace functions are per thread. A new thread starts
// with none, its own tracer sees only its switches, and this thread's tracer
// sees none of them.
BOOST_AUTO_TEST_CASE(trace_function_is_per_thread) {
  trace_off off;
  recorder here;
  green::settrace(here.function());
  bool other_started_without = false;
  std::vector<std::string> other_events;
  int other_not_in_target = -1;
  std::thread([&] {
    other_started_without = !green::gettrace();
    recorder rec;
    green::settrace(rec.function());
    green::greenlet g = named(green::greenlet([] {}), "t");
    g.switch_();
    green::settrace(nullptr);
    other_events = rec.events;
    other_not_in_target = rec.not_in_target;
  }).join();
  const bool still_set_here = static_cast<bool>(green::gettrace());
  green::settrace(nullptr);

  BOOST_TEST(other_started_without);
  BOOST_TEST(other_events == (lines{"switch(main, t)", "switch(t, main)"}),
             boost::test_tools::per_element());
  BOOST_TEST(other_not_in_target == 0);
  BOOST_TEST(here.events.empty());
  BOOST_TEST(still_set_here);
}

BOOST_AUTO_TEST_SUITE_END()
