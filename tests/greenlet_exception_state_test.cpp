// Per-greenlet exception state: std::current_exception() (the caught-exception
// stack) and std::uncaught_exceptions() belong to a greenlet, not to the
// thread (G12.1; test_exc_state, test_cpp.py::test_exception_switch, and
// the Boost.Context pitfall below). Also: user exception types cross switches intact.
#define BOOST_TEST_MODULE greenlet_exception_state
#include <boost/test/unit_test.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "green/greenlet.hpp"
#include "support/fixtures.hpp"

namespace {

// The message of the exception `e` holds, or "" for none / a non-std type.
std::string what_of(const std::exception_ptr& e) {
  if (!e) return "";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "<non-std exception>";
  }
}

// greenlet's _test_extension_cpp.cpp exception_t: not derived from
// std::exception, carries the depth it was thrown at.
struct exception_t {
  int depth;
};

// A user exception type with payload members, not derived from std::exception.
struct payload_error {
  int code;
  std::string text;
  std::vector<int> data;
};

// Records std::uncaught_exceptions() when destroyed.
struct uncaught_probe {
  std::vector<int>* out;
  ~uncaught_probe() { out->push_back(std::uncaught_exceptions()); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_exception_state, green::test::leak_check)

// G12.1, greenlet: test_greenlet.py::test_exc_state. f, inside an
// exception handler, starts h: h sees no current exception, and f's handler
// still sees its own exception afterwards.
BOOST_AUTO_TEST_CASE(greenlet_started_inside_catch_block_sees_no_current_exception) {
  bool h_ran = false;
  bool h_saw_none = false;
  bool f_before_is_own = false;
  bool f_after_unchanged = false;
  std::string f_after_what;
  green::greenlet f([&] {
    try {
      throw std::runtime_error("fun");
    } catch (...) {
      std::exception_ptr exc_info = std::current_exception();
      f_before_is_own = what_of(exc_info) == "fun";
      green::greenlet h([&] {
        h_ran = true;
        h_saw_none = std::current_exception() == nullptr;
      });
      h.switch_();
      f_after_unchanged = std::current_exception() == exc_info;
      f_after_what = what_of(std::current_exception());
    }
  });
  f.switch_();
  BOOST_TEST(f.dead());
  BOOST_TEST(h_ran);
  BOOST_TEST(h_saw_none);
  BOOST_TEST(f_before_is_own);
  BOOST_TEST(f_after_unchanged);
  BOOST_TEST(f_after_what == "fun");
}

// G12.1 from the main greenlet: main's catch block starts a greenlet,
// which sees nothing; main's handler is intact afterwards, and `throw;`
// still rethrows main's own exception.
BOOST_AUTO_TEST_CASE(main_catch_block_is_intact_after_switching_into_a_child) {
  bool child_saw_none = false;
  std::string rethrown;
  try {
    try {
      throw std::logic_error("main's own");
    } catch (const std::logic_error&) {
      std::exception_ptr mine = std::current_exception();
      green::greenlet child([&] {
        child_saw_none = std::current_exception() == nullptr;
        green::getcurrent().parent()->switch_();
      });
      child.switch_();
      BOOST_TEST((std::current_exception() == mine));
      child.switch_();  // let it finish
      BOOST_TEST((std::current_exception() == mine));
      throw;
    }
  } catch (const std::logic_error& e) {
    rethrown = e.what();
  }
  BOOST_TEST(child_saw_none);
  BOOST_TEST(rethrown == "main's own");
  BOOST_TEST((std::current_exception() == nullptr));
}

// Boost.Context pitfall (G12.1): a greenlet that
// switches away from INSIDE its catch block must not leak the exception into
// the greenlet it resumes; resumed, it still has its own (and `throw;` works).
BOOST_AUTO_TEST_CASE(switch_from_inside_catch_block_does_not_leak_exception_to_resumed_greenlet) {
  std::string child_after_resume;
  std::string child_rethrown;
  bool child_nested_ok = false;
  green::greenlet child([&] {
    try {
      throw std::runtime_error("child's");
    } catch (const std::runtime_error&) {
      green::getcurrent().parent()->switch_(1);
      child_after_resume = what_of(std::current_exception());
      // Nested handler: two caught exceptions on this greenlet's stack.
      try {
        throw std::out_of_range("inner");
      } catch (const std::out_of_range&) {
        green::getcurrent().parent()->switch_(2);
        child_nested_ok = what_of(std::current_exception()) == "inner";
      }
      try {
        throw;  // rethrows the outer caught exception
      } catch (const std::runtime_error& e) {
        child_rethrown = e.what();
      }
    }
    return 3;
  });
  BOOST_TEST(green::value_cast<int>(child.switch_()) == 1);
  BOOST_TEST((std::current_exception() == nullptr));
  BOOST_TEST(std::uncaught_exceptions() == 0);
  // Main has its own handler while the child is suspended in its handler.
  try {
    throw std::invalid_argument("main's");
  } catch (const std::invalid_argument&) {
    BOOST_TEST(green::value_cast<int>(child.switch_()) == 2);
    BOOST_TEST(what_of(std::current_exception()) == "main's");
    BOOST_TEST(green::value_cast<int>(child.switch_()) == 3);
    BOOST_TEST(what_of(std::current_exception()) == "main's");
  }
  BOOST_TEST((std::current_exception() == nullptr));
  BOOST_TEST(child.dead());
  BOOST_TEST(child_after_resume == "child's");
  BOOST_TEST(child_nested_ok);
  BOOST_TEST(child_rethrown == "child's");
}

// A greenlet that is killed while suspended inside a catch block: the kill
// unwinds it cleanly, and the freeing greenlet's exception state is untouched.
BOOST_AUTO_TEST_CASE(kill_while_suspended_inside_catch_block_leaves_freeing_greenlet_clean) {
  std::vector<int> uncaught_in_victim;
  bool saw_exit = false;
  {
    green::greenlet victim([&] {
      try {
        throw std::runtime_error("held");
      } catch (...) {
        uncaught_probe probe{&uncaught_in_victim};
        try {
          green::getcurrent().parent()->switch_();
        } catch (const green::greenlet_exit&) {
          saw_exit = true;
          throw;
        }
      }
    });
    victim.switch_();
    BOOST_TEST((std::current_exception() == nullptr));
  }  // last handle dropped: greenlet_exit is thrown in
  BOOST_TEST(saw_exit);
  BOOST_TEST(uncaught_in_victim == (std::vector<int>{1}), boost::test_tools::per_element());
  BOOST_TEST((std::current_exception() == nullptr));
  BOOST_TEST(std::uncaught_exceptions() == 0);
}

// G10.2, G12.1 + per-greenlet uncaught count: during a kill's unwinding a
// destructor on the killed stack sees std::uncaught_exceptions() == 1; a
// greenlet it starts from that destructor sees 0, and back in the destructor
// it is 1 again; the freeing greenlet sees 0.
BOOST_AUTO_TEST_CASE(uncaught_exceptions_during_kill_is_one_on_killed_stack_only) {
  std::vector<int> in_destructor;
  int in_helper = -1;
  int freeing_after = -1;
  struct switching_probe {
    std::vector<int>* out;
    int* helper_out;
    ~switching_probe() {
      out->push_back(std::uncaught_exceptions());
      green::greenlet helper([h = helper_out] { *h = std::uncaught_exceptions(); });
      helper.switch_();
      out->push_back(std::uncaught_exceptions());
    }
  };
  {
    green::greenlet victim([&] {
      switching_probe p{&in_destructor, &in_helper};
      green::getcurrent().parent()->switch_();
    });
    victim.switch_();
  }
  freeing_after = std::uncaught_exceptions();
  BOOST_TEST(in_destructor == (std::vector<int>{1, 1}), boost::test_tools::per_element());
  BOOST_TEST(in_helper == 0);
  BOOST_TEST(freeing_after == 0);
}

// The freeing greenlet may itself be unwinding (it drops the last handle from
// a destructor during an exception): its count stays 1 across the kill, and
// the victim counts only its own greenlet_exit (1, not 2).
BOOST_AUTO_TEST_CASE(kill_from_unwinding_greenlet_keeps_both_uncaught_counts_separate) {
  std::vector<int> victim_seen;
  std::vector<int> freeing_seen;
  struct dropper {
    green::greenlet g;
    std::vector<int>* out;
    ~dropper() {
      out->push_back(std::uncaught_exceptions());
      g = green::greenlet();  // drops the last handle: kills the victim
      out->push_back(std::uncaught_exceptions());
    }
  };
  try {
    green::greenlet victim([&] {
      uncaught_probe probe{&victim_seen};
      green::getcurrent().parent()->switch_();
    });
    victim.switch_();
    dropper d{std::move(victim), &freeing_seen};
    throw std::runtime_error("unwinding main");
  } catch (const std::runtime_error&) {
  }
  BOOST_TEST(victim_seen == (std::vector<int>{1}), boost::test_tools::per_element());
  BOOST_TEST(freeing_seen == (std::vector<int>{1, 1}), boost::test_tools::per_element());
  BOOST_TEST(std::uncaught_exceptions() == 0);
}

// A greenlet that switches away from a destructor while its own exception is
// in flight: the greenlet it resumes sees no uncaught exception and no
// current exception; resumed, the exception continues to its parent.
BOOST_AUTO_TEST_CASE(switch_during_unwinding_does_not_leak_uncaught_count) {
  std::vector<int> child_counts;
  struct switch_in_destructor {
    std::vector<int>* out;
    ~switch_in_destructor() {
      out->push_back(std::uncaught_exceptions());
      green::getcurrent().parent()->switch_(std::string("mid-unwind"));
      out->push_back(std::uncaught_exceptions());
    }
  };
  green::greenlet child([&] {
    switch_in_destructor s{&child_counts};
    throw payload_error{7, "after resume", {1, 2}};
  });
  green::value v = child.switch_();
  BOOST_TEST(green::value_cast<std::string>(v) == "mid-unwind");
  BOOST_TEST(std::uncaught_exceptions() == 0);
  BOOST_TEST((std::current_exception() == nullptr));
  BOOST_TEST(!child.dead());
  int code = 0;
  try {
    child.switch_();
  } catch (const payload_error& e) {
    code = e.code;
  }
  BOOST_TEST(code == 7);
  BOOST_TEST(child.dead());
  BOOST_TEST(child_counts == (std::vector<int>{1, 1}), boost::test_tools::per_element());
}

namespace {

// greenlet's _test_extension_cpp.cpp test_exception_switch_recurse: recurse
// `left` levels, then in a try block switch to the parent, then throw and
// catch exception_t(depth).
int exception_switch_recurse(int depth, int left) {
  if (left > 0) return exception_switch_recurse(depth, left - 1);
  try {
    green::getcurrent().parent()->switch_();
    throw exception_t{depth};
  } catch (const exception_t& e) {
    if (e.depth != depth) return -1000 - e.depth;  // "depth mismatch"
    return depth;
  }
}

}  // namespace

// G12.1, greenlet: test_cpp.py::test_exception_switch. Four greenlets
// each enter try, switch to the parent, then throw and catch their own
// exception_t(depth); resumed in order they return 0, 1, 2, 3.
BOOST_AUTO_TEST_CASE(exception_thrown_after_switch_is_caught_on_its_own_stack) {
  std::vector<green::greenlet> greenlets;
  for (int i = 0; i < 4; ++i) {
    green::greenlet g([](int depth) { return exception_switch_recurse(depth, depth); });
    g.switch_(i);
    greenlets.push_back(g);
  }
  std::vector<int> results;
  for (auto& g : greenlets) results.push_back(green::value_cast<int>(g.switch_()));
  BOOST_TEST(results == (std::vector<int>{0, 1, 2, 3}), boost::test_tools::per_element());
  for (auto& g : greenlets) BOOST_TEST(g.dead());
}

// G12.1, stronger: each greenlet is suspended INSIDE its catch block
// holding exception_t(depth); resumed in reverse order, each `throw;`
// rethrows its own exception, never another greenlet's.
BOOST_AUTO_TEST_CASE(rethrow_after_switch_inside_catch_rethrows_own_exception) {
  std::vector<green::greenlet> greenlets;
  for (int i = 0; i < 4; ++i) {
    green::greenlet g([](int depth) {
      try {
        try {
          throw exception_t{depth};
        } catch (const exception_t&) {
          green::getcurrent().parent()->switch_();
          throw;
        }
      } catch (const exception_t& e) {
        return e.depth;
      }
    });
    g.switch_(i);
    greenlets.push_back(g);
  }
  std::vector<int> results;
  for (auto it = greenlets.rbegin(); it != greenlets.rend(); ++it) {
    results.push_back(green::value_cast<int>(it->switch_()));
  }
  BOOST_TEST(results == (std::vector<int>{3, 2, 1, 0}), boost::test_tools::per_element());
}

// G4.2, G1.3 with a user type: an exception type with payload members, not
// derived from std::exception, thrown in a child arrives in the parent intact.
BOOST_AUTO_TEST_CASE(user_exception_with_payload_escaping_child_is_caught_in_parent_intact) {
  green::greenlet child([] {
    green::getcurrent().parent()->switch_();
    throw payload_error{42, "payload text", {1, 2, 3, 5, 8}};
  });
  child.switch_();
  bool caught = false;
  try {
    child.switch_();
  } catch (const payload_error& e) {
    caught = true;
    BOOST_TEST(e.code == 42);
    BOOST_TEST(e.text == "payload text");
    BOOST_TEST(e.data == (std::vector<int>{1, 2, 3, 5, 8}), boost::test_tools::per_element());
  } catch (...) {
    BOOST_ERROR("caught something other than payload_error");
  }
  BOOST_TEST(caught);
  BOOST_TEST(child.dead());
}

// The same user exception through a two-level chain (grandchild -> child,
// which does not catch it -> main), and back down with throw_() into a
// suspended greenlet that catches it and returns the payload.
BOOST_AUTO_TEST_CASE(user_exception_crosses_parent_chain_and_throw_intact) {
  green::greenlet child([] {
    green::greenlet grandchild([] { throw payload_error{9, "deep", {9, 9}}; });
    grandchild.switch_();
    return std::string("not reached");
  });
  payload_error got{0, "", {}};
  try {
    child.switch_();
  } catch (const payload_error& e) {
    got = e;
  }
  BOOST_TEST(got.code == 9);
  BOOST_TEST(got.text == "deep");
  BOOST_TEST(got.data == (std::vector<int>{9, 9}), boost::test_tools::per_element());
  BOOST_TEST(child.dead());

  green::greenlet catcher([] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const payload_error& e) {
      return e.text + ":" + std::to_string(e.code) + ":" + std::to_string(e.data.size());
    }
    return std::string("no exception");
  });
  catcher.switch_();
  green::value r = catcher.throw_(payload_error{5, "thrown in", {1, 2, 3}});
  BOOST_TEST(green::value_cast<std::string>(r) == "thrown in:5:3");
}

BOOST_AUTO_TEST_SUITE_END()
