// Exceptions: what escapes a greenlet goes to its parent (G4), and
// throw_() into suspended, unstarted, dead and current greenlets (G5).
// G4.2-G4.3, G5.1-G5.8, and G1.3-G1.4 (Python's greenlet aborts on an
// unhandled C++ exception; green propagates it).
#define BOOST_TEST_MODULE greenlet_throw
#include <boost/test/unit_test.hpp>

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"

namespace {

struct some_error : std::runtime_error {
  some_error() : std::runtime_error("some_error") {}
};
struct key_error : std::runtime_error {
  key_error() : std::runtime_error("key_error") {}
};
struct index_error : std::runtime_error {
  index_error() : std::runtime_error("index_error") {}
};
struct name_error : std::runtime_error {
  name_error() : std::runtime_error("name_error") {}
};

// Not derived from std::exception: it must cross greenlets intact too.
struct user_signal {
  int code;
  std::string text;
};

struct custom_exit : green::greenlet_exit {
  custom_exit() : green::greenlet_exit("custom") {}
};

bool is_exit(const green::value& v, const std::string& message = "") {
  const auto* e = v.get_if<green::greenlet_exit>();
  return e != nullptr && e->message() == message;
}

// kind() names the type of the exception being handled (call in a catch block).
std::string kind() {
  try {
    throw;
  } catch (const some_error&) {
    return "some_error";
  } catch (const key_error&) {
    return "key_error";
  } catch (const green::greenlet_exit&) {
    return "greenlet_exit";
  } catch (...) {
    return "other";
  }
}

// fmain() is test_greenlet.py's fmain: switch to the parent; on an exception
// record it and rethrow; resumed normally, throw some_error.
void fmain(std::vector<std::string>& seen) {
  try {
    green::getcurrent().parent()->switch_();
  } catch (...) {
    seen.push_back(kind());
    throw;
  }
  throw some_error();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_throw, green::test::leak_check)

// G4.2 (greenlet's documentation, test2 raising NameError): gr1 -> gr2, gr2
// raises; the exception goes to gr2's parent (main), not to gr1.
BOOST_AUTO_TEST_CASE(exception_in_child_started_by_sibling_raises_in_parent_not_sibling) {
  bool gr1_caught = false;
  std::optional<green::greenlet> gr2;
  green::greenlet gr1([&] {
    try {
      gr2->switch_();
    } catch (const name_error&) {
      gr1_caught = true;
    }
  });
  gr2.emplace([] { throw name_error(); });
  BOOST_CHECK_THROW(gr1.switch_(), name_error);
  BOOST_TEST(!gr1_caught);
  BOOST_TEST(gr2->dead());
  BOOST_TEST(!gr1.dead());
  BOOST_TEST(static_cast<bool>(gr1));
  gr1.throw_();  // kill it; its catch block does not see greenlet_exit
  BOOST_TEST(!gr1_caught);
  BOOST_TEST(gr1.dead());
}

// G4.2: the exception lands where the parent is suspended;
// the parent catches it and its return value goes on to main.
BOOST_AUTO_TEST_CASE(exception_in_child_lands_at_parent_suspension_point) {
  green::greenlet p([] {
    try {
      green::getcurrent().parent()->switch_(std::string("P waiting"));
    } catch (const key_error&) {
      return std::string("P done");
    }
    return std::string("P not reached by the exception");
  });
  BOOST_TEST(green::value_cast<std::string>(p.switch_()) == "P waiting");
  green::greenlet c([]() -> int { throw key_error(); }, p);
  green::value r = c.switch_();
  BOOST_TEST(green::value_cast<std::string>(r) == "P done");
  BOOST_TEST(c.dead());
  BOOST_TEST(p.dead());
}

// G4.2 (test_exception): reparented propagation.
BOOST_AUTO_TEST_CASE(exception_through_reparented_chain_reaches_main_and_is_seen_once) {
  std::vector<std::string> seen;
  green::greenlet g1([&] { fmain(seen); });
  green::greenlet g2([&] { fmain(seen); });
  g1.switch_();
  g2.switch_();
  g2.set_parent(g1);
  BOOST_TEST(seen.empty());
  BOOST_CHECK_THROW(g2.switch_(), some_error);
  BOOST_TEST(seen == (std::vector<std::string>{"some_error"}), boost::test_tools::per_element());
  BOOST_TEST(g1.dead());
  BOOST_TEST(g2.dead());
  BOOST_TEST(!g2.switch_().has_value());
  BOOST_TEST(seen.size() == 1u);
  BOOST_TEST(green::value_cast<int>(g2.switch_(25)) == 25);
  BOOST_TEST(seen.size() == 1u);
}

// G4.2 (test_send_exception): a helper greenlet whose parent is g
// raises; g sees it, rethrows, and main gets it.
BOOST_AUTO_TEST_CASE(exception_from_helper_with_parent_g_is_raised_in_g_then_main) {
  std::vector<std::string> seen;
  green::greenlet g1([&] { fmain(seen); });
  g1.switch_();
  green::greenlet crasher([]() -> int { throw key_error(); }, g1);
  BOOST_CHECK_THROW(crasher.switch_(), key_error);
  BOOST_TEST(seen == (std::vector<std::string>{"key_error"}), boost::test_tools::per_element());
  BOOST_TEST(g1.dead());
  BOOST_TEST(crasher.dead());
}

// G4.3: greenlet_exit escaping the function is a value.
BOOST_AUTO_TEST_CASE(greenlet_exit_escaping_function_is_returned_as_value) {
  green::greenlet g([]() -> int { throw green::greenlet_exit("done"); });
  green::value r;
  BOOST_CHECK_NO_THROW(r = g.switch_());
  BOOST_TEST(is_exit(r, "done"));
  BOOST_TEST(g.dead());
}

// G4.3 (GreenletExit or a subclass): a subclass also arrives
// as a greenlet_exit value, with its message.
BOOST_AUTO_TEST_CASE(greenlet_exit_subclass_escaping_function_is_returned_as_value) {
  green::greenlet g([] { throw custom_exit(); });
  green::value r;
  BOOST_CHECK_NO_THROW(r = g.switch_());
  BOOST_TEST(is_exit(r, "custom"));
  BOOST_TEST(g.dead());
}

// G1.4 does not apply to green: no exception escaping a greenlet
// terminates the process (G4.2). A type not derived from std::exception
// reaches the parent intact.
BOOST_AUTO_TEST_CASE(non_std_exception_escaping_function_raises_intact_in_parent) {
  green::greenlet g([] { throw user_signal{7, "seven"}; });
  bool caught = false;
  try {
    g.switch_();
  } catch (const user_signal& s) {
    caught = s.code == 7 && s.text == "seven";
  }
  BOOST_TEST(caught);
  BOOST_TEST(g.dead());
}

// G1.3 (as it applies to green): the exception crosses a chain of
// parents, each not catching it, up to main; a std::exception keeps its
// dynamic type.
BOOST_AUTO_TEST_CASE(exception_escaping_nested_greenlets_raises_in_main_with_its_type) {
  green::greenlet outer([] {
    green::greenlet inner([] { throw key_error(); });
    inner.switch_();
    return 1;
  });
  BOOST_CHECK_THROW(outer.switch_(), key_error);
  BOOST_TEST(outer.dead());

  green::greenlet outer2([] {
    green::greenlet inner([] { throw user_signal{3, "x"}; });
    inner.switch_();
  });
  BOOST_CHECK_THROW(outer2.switch_(), user_signal);
  BOOST_TEST(outer2.dead());
}

// G4.2 (as it applies to green): destructors on the dying stack run
// before the parent sees the exception.
BOOST_AUTO_TEST_CASE(exception_escaping_function_runs_destructors_before_parent_sees_it) {
  green::test::counted::reset();
  int alive_when_caught = -1;
  green::greenlet g([] {
    green::test::counted c;
    throw some_error();
  });
  try {
    g.switch_();
  } catch (const some_error&) {
    alive_when_caught = green::test::counted::alive();
  }
  BOOST_TEST(alive_when_caught == 0);
  BOOST_TEST(green::test::counted::constructed == 1);
}

// G5.2 (test_throw.py::test_class): the handler switches "ok".
BOOST_AUTO_TEST_CASE(throw_into_suspended_caught_and_switched_returns_switched_value) {
  green::greenlet g([] {
    auto parent = green::getcurrent().parent();
    try {
      parent->switch_(std::string("ok"));
    } catch (const std::runtime_error&) {
      parent->switch_(std::string("ok"));
      return;
    }
    parent->switch_(std::string("fail"));
  });
  BOOST_TEST(green::value_cast<std::string>(g.switch_()) == "ok");
  green::value r = g.throw_(std::runtime_error("x"));
  BOOST_TEST(green::value_cast<std::string>(r) == "ok");
  BOOST_TEST(!g.dead());
  g.switch_();
  BOOST_TEST(g.dead());
}

// G5.2 (test_throw.py::test_val): the handler sees the thrown object's
// message, for the exception object and the std::exception_ptr form.
BOOST_AUTO_TEST_CASE(throw_into_suspended_delivers_exception_message_to_handler) {
  auto make_body = [] {
    return [] {
      auto parent = green::getcurrent().parent();
      try {
        parent->switch_(std::string("ready"));
      } catch (const std::runtime_error& e) {
        parent->switch_(std::string(e.what()));
        return;
      }
      parent->switch_(std::string("fail"));
    };
  };
  green::greenlet g(make_body());
  g.switch_();
  BOOST_TEST(green::value_cast<std::string>(g.throw_(std::runtime_error("ciao"))) == "ciao");
  g.switch_();
  BOOST_TEST(g.dead());

  green::greenlet h(make_body());
  h.switch_();
  green::value r = h.throw_(std::make_exception_ptr(std::runtime_error("ciao")));
  BOOST_TEST(green::value_cast<std::string>(r) == "ciao");
  h.switch_();
  BOOST_TEST(h.dead());
}

// G5.2 (test_throw.py::test_kill): throw_() kills with greenlet_exit,
// which is returned; a second throw_() on the dead greenlet returns it again.
BOOST_AUTO_TEST_CASE(throw_default_into_suspended_kills_and_returns_exit_value) {
  std::vector<std::string> seen;
  green::greenlet g([&] {
    auto parent = green::getcurrent().parent();
    parent->switch_(std::string("ok"));
    seen.push_back("resumed");
    parent->switch_(std::string("fail"));
  });
  BOOST_TEST(green::value_cast<std::string>(g.switch_()) == "ok");
  green::value r = g.throw_();
  BOOST_TEST(is_exit(r));
  BOOST_TEST(g.dead());
  BOOST_TEST(!g);
  BOOST_TEST(seen.empty());
  green::value again = g.throw_();
  BOOST_TEST(is_exit(again));
  BOOST_TEST(g.dead());
}

// G5.3 (G1.2: GreenletExit is not an Exception): a
// catch (const std::exception&) in the body does not stop the kill, and the
// destructors on the killed stack run.
BOOST_AUTO_TEST_CASE(throw_default_passes_std_exception_handler_and_runs_destructors) {
  green::test::counted::reset();
  bool handler_ran = false;
  green::greenlet g([&] {
    green::test::counted c;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const std::exception&) {
      handler_ran = true;
    }
  });
  g.switch_();
  BOOST_TEST(green::test::counted::alive() == 1);
  BOOST_TEST(is_exit(g.throw_()));
  BOOST_TEST(!handler_ran);
  BOOST_TEST(green::test::counted::alive() == 0);
  BOOST_TEST(g.dead());
}

// G5.3: throw_(greenlet_exit("msg")) into a suspended
// greenlet returns that exit with its message.
BOOST_AUTO_TEST_CASE(throw_exit_with_message_into_suspended_returns_it) {
  green::greenlet g([] { green::getcurrent().parent()->switch_(); });
  g.switch_();
  BOOST_TEST(is_exit(g.throw_(green::greenlet_exit("bye")), "bye"));
  BOOST_TEST(g.dead());
}

// G5.2: an uncaught exception raises in the parent (the
// caller) and the greenlet is dead.
BOOST_AUTO_TEST_CASE(throw_uncaught_into_suspended_raises_in_caller_and_kills) {
  green::greenlet g([] { green::getcurrent().parent()->switch_(); });
  g.switch_();
  BOOST_CHECK_THROW(g.throw_(std::invalid_argument("bad")), std::invalid_argument);
  BOOST_TEST(g.dead());
  BOOST_TEST(!g);
}

// G5.2: the greenlet catches greenlet_exit and returns.
BOOST_AUTO_TEST_CASE(throw_default_caught_and_returned_returns_cleanup_result) {
  green::greenlet g([] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit&) {
      return std::string("cleanup-result");
    }
    return std::string("normal");
  });
  g.switch_();
  BOOST_TEST(green::value_cast<std::string>(g.throw_()) == "cleanup-result");
  BOOST_TEST(g.dead());
}

// G5.2: the greenlet catches greenlet_exit and switches
// away; a later switch_() resumes it normally.
BOOST_AUTO_TEST_CASE(throw_default_caught_and_switched_returns_value_and_stays_resumable) {
  green::greenlet g([] {
    auto parent = green::getcurrent().parent();
    try {
      parent->switch_();
    } catch (const green::greenlet_exit&) {
      int v = green::value_cast<int>(parent->switch_(std::string("caught exit")));
      return v + 1;
    }
    return -1;
  });
  g.switch_();
  BOOST_TEST(green::value_cast<std::string>(g.throw_()) == "caught exit");
  BOOST_TEST(!g.dead());
  BOOST_TEST(static_cast<bool>(g));
  BOOST_TEST(green::value_cast<int>(g.switch_(41)) == 42);
  BOOST_TEST(g.dead());
}

// G5.4: throw_() into an unstarted greenlet never runs its
// function; it dies and the exception reaches the caller (its parent).
BOOST_AUTO_TEST_CASE(throw_into_unstarted_raises_in_caller_without_running_function) {
  int runs = 0;
  green::greenlet g([&] { ++runs; });
  BOOST_CHECK_EXCEPTION(
      g.throw_(std::invalid_argument("boom")), std::invalid_argument,
      [](const std::invalid_argument& e) { return std::string(e.what()) == "boom"; });
  BOOST_TEST(runs == 0);
  BOOST_TEST(g.dead());
  BOOST_TEST(g.started());
  BOOST_TEST(!g);
}

// G5.4: with the default greenlet_exit, throw_() returns the exit.
BOOST_AUTO_TEST_CASE(throw_default_into_unstarted_returns_exit_without_running_function) {
  int runs = 0;
  green::greenlet g([&] { ++runs; });
  BOOST_TEST(is_exit(g.throw_()));
  BOOST_TEST(runs == 0);
  BOOST_TEST(g.dead());
}

// G5.4: the exception goes to the parent chain; a suspended parent
// that is not the caller receives it.
BOOST_AUTO_TEST_CASE(throw_into_unstarted_child_raises_in_its_suspended_parent) {
  int child_runs = 0;
  green::greenlet p([] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const key_error&) {
      return std::string("parent caught");
    }
    return std::string("parent resumed normally");
  });
  p.switch_();
  green::greenlet c([&] { ++child_runs; }, p);
  green::value r = c.throw_(key_error());
  BOOST_TEST(green::value_cast<std::string>(r) == "parent caught");
  BOOST_TEST(child_runs == 0);
  BOOST_TEST(c.dead());
  BOOST_TEST(p.dead());
}

// G2.5 (test_throw_no_run_raises_AttributeError): throwing into an
// unstarted greenlet without a function is a "no function" error and
// changes nothing.
BOOST_AUTO_TEST_CASE(throw_into_unstarted_without_function_raises_no_function_error) {
  green::greenlet g;
  BOOST_CHECK_EXCEPTION(g.throw_(key_error()), green::error, [](const green::error& e) {
    return std::string(e.what()).find("no function") != std::string::npos;
  });
  BOOST_CHECK_EXCEPTION(g.throw_(), green::error, [](const green::error& e) {
    return std::string(e.what()).find("no function") != std::string::npos;
  });
  BOOST_TEST(!g.started());
  BOOST_TEST(!g.dead());
  g.set_run([] { return 5; });
  BOOST_TEST(green::value_cast<int>(g.switch_()) == 5);
}

// G2.5 (test_switch_no_run_raises_AttributeError analogue): switching
// to a greenlet without a function is the same error.
BOOST_AUTO_TEST_CASE(switch_to_unstarted_without_function_raises_no_function_error) {
  green::greenlet g;
  BOOST_CHECK_EXCEPTION(g.switch_(1), green::error, [](const green::error& e) {
    return std::string(e.what()).find("no function") != std::string::npos;
  });
  BOOST_TEST(!g.started());
  BOOST_TEST(!g.dead());
}

// G5.5 (test_throw_goes_to_original_parent, case 1): g1 unstarted;
// throwing into unstarted g2 kills both and raises in main.
BOOST_AUTO_TEST_CASE(throw_into_child_of_unstarted_parent_kills_both_and_raises_in_main) {
  int g1_runs = 0;
  int g2_runs = 0;
  green::greenlet g1([&] { ++g1_runs; });
  green::greenlet g2([&] { ++g2_runs; }, g1);
  BOOST_CHECK_THROW(g2.throw_(index_error()), index_error);
  BOOST_TEST(g1_runs == 0);
  BOOST_TEST(g2_runs == 0);
  BOOST_TEST(g1.dead());
  BOOST_TEST(g2.dead());
}

namespace {
// f1 of test_throw_goes_to_original_parent.
std::string f1(const green::greenlet& main) {
  try {
    green::greenlet m = main;
    m.switch_(std::string("f1 ready to catch"));
  } catch (const index_error&) {
    return "caught";
  }
  return "normal exit";
}
}  // namespace

// G5.5 (test_throw_goes_to_original_parent, case 2): g1 suspended in
// a handler; throwing into unstarted g2 ends in g1's handler.
BOOST_AUTO_TEST_CASE(throw_into_unstarted_child_of_suspended_parent_returns_parent_result) {
  green::greenlet main = green::getcurrent();
  green::greenlet g1([&] { return f1(main); });
  green::greenlet g2([&] { main.switch_(std::string("from f2")); }, g1);
  BOOST_TEST(green::value_cast<std::string>(g1.switch_()) == "f1 ready to catch");
  green::value r = g2.throw_(index_error());
  BOOST_TEST(green::value_cast<std::string>(r) == "caught");
  BOOST_TEST(g2.dead());
  BOOST_TEST(g1.dead());
}

// G5.5 (test_throw_goes_to_original_parent, case 3): the same after
// g2 was started and suspended (switching to main, not to its parent).
BOOST_AUTO_TEST_CASE(throw_into_suspended_child_goes_to_original_parent_not_caller) {
  green::greenlet main = green::getcurrent();
  green::greenlet g1([&] { return f1(main); });
  green::greenlet g2([&] { main.switch_(std::string("from f2")); }, g1);
  BOOST_TEST(green::value_cast<std::string>(g1.switch_()) == "f1 ready to catch");
  BOOST_TEST(green::value_cast<std::string>(g2.switch_()) == "from f2");
  green::value r = g2.throw_(index_error());
  BOOST_TEST(green::value_cast<std::string>(r) == "caught");
  BOOST_TEST(g2.dead());
  BOOST_TEST(g1.dead());
}

// G5.6: throw_() into a dead greenlet whose parent is the
// caller raises at once; greenlet_exit comes back as a value.
BOOST_AUTO_TEST_CASE(throw_into_dead_raises_at_once_and_exit_returns_as_value) {
  green::greenlet g([] {});
  g.switch_();
  BOOST_REQUIRE(g.dead());
  BOOST_CHECK_THROW(g.throw_(std::invalid_argument("v")), std::invalid_argument);
  BOOST_TEST(is_exit(g.throw_()));
  BOOST_TEST(is_exit(g.throw_(green::greenlet_exit("bye")), "bye"));
  BOOST_TEST(is_exit(g.throw_(std::make_exception_ptr(green::greenlet_exit("bye2"))), "bye2"));
  BOOST_TEST(g.dead());
}

// G5.6 ("Dead target"): the exception goes up the dead
// greenlet's parent chain, to a suspended parent that handles it.
BOOST_AUTO_TEST_CASE(throw_into_dead_child_raises_in_its_suspended_parent) {
  green::greenlet p([] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const key_error&) {
      return std::string("handled");
    }
    return std::string("not handled");
  });
  p.switch_();
  green::greenlet c([] { return 0; });
  c.switch_();
  BOOST_REQUIRE(c.dead());
  c.set_parent(p);
  green::value r = c.throw_(key_error());
  BOOST_TEST(green::value_cast<std::string>(r) == "handled");
  BOOST_TEST(p.dead());
}

// G5.7 ("Self"): throw_() into the current greenlet raises
// at once, and it can be caught there.
BOOST_AUTO_TEST_CASE(throw_into_self_in_greenlet_raises_immediately_and_can_be_caught) {
  std::vector<std::string> seen;
  green::greenlet g([&] {
    green::greenlet me = green::getcurrent();
    try {
      me.throw_(key_error());
      seen.push_back("not raised");
    } catch (const key_error&) {
      seen.push_back("caught");
    }
    seen.push_back("continued");
    return 1;
  });
  BOOST_TEST(green::value_cast<int>(g.switch_()) == 1);
  BOOST_TEST(seen == (std::vector<std::string>{"caught", "continued"}),
             boost::test_tools::per_element());
  BOOST_TEST(g.dead());
}

// G5.7: throw_() into main from main raises greenlet_exit (it is not
// turned into a value, because main does not die); main stays active.
BOOST_AUTO_TEST_CASE(throw_default_into_main_from_main_raises_greenlet_exit) {
  green::greenlet main = green::getcurrent();
  BOOST_CHECK_THROW(main.throw_(), green::greenlet_exit);
  BOOST_CHECK_THROW(main.throw_(key_error()), key_error);
  BOOST_TEST(static_cast<bool>(main));
  BOOST_TEST(!main.dead());
}

// G5.8 (C++ analogue of the argument checks: non-exceptions are
// rejected at compile time, an empty exception_ptr at run time): nothing
// switches and the target's state is unchanged.
BOOST_AUTO_TEST_CASE(throw_empty_exception_ptr_raises_error_without_switching) {
  int runs = 0;
  green::greenlet unstarted([&] { ++runs; });
  BOOST_CHECK_THROW(unstarted.throw_(std::exception_ptr{}), green::error);
  BOOST_TEST(!unstarted.started());
  BOOST_TEST(runs == 0);

  std::vector<std::string> seen;
  green::greenlet suspended([&] {
    try {
      green::getcurrent().parent()->switch_();
      seen.push_back("resumed");
    } catch (...) {
      seen.push_back("exception");
      throw;
    }
  });
  suspended.switch_();
  BOOST_CHECK_THROW(suspended.throw_(std::exception_ptr{}), green::error);
  BOOST_TEST(seen.empty());
  BOOST_TEST(static_cast<bool>(suspended));
  suspended.switch_();
  BOOST_TEST(seen == (std::vector<std::string>{"resumed"}), boost::test_tools::per_element());
  BOOST_TEST(suspended.dead());

  BOOST_CHECK_THROW(suspended.throw_(std::exception_ptr{}), green::error);
  green::greenlet main = green::getcurrent();
  BOOST_CHECK_THROW(main.throw_(std::exception_ptr{}), green::error);

  // Unstarted: it still starts normally afterwards.
  unstarted.switch_();
  BOOST_TEST(runs == 1);
}

BOOST_AUTO_TEST_SUITE_END()
