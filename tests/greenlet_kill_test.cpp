// Killing unfinished greenlets when their last handle goes away: G10.1-G10.6.
// G10.7 and the GC half of G10.6 have
// no C++ counterpart; see the notes at the end of the suite.
#define BOOST_TEST_MODULE greenlet_kill
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"

namespace {

using green::test::counted;

const std::string kKillMessage = "Killing the greenlet because all references have vanished.";

// describe() names an exception by type and message, for comparisons.
std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const green::greenlet_exit& ex) {
    return "greenlet_exit: " + ex.message();
  } catch (const std::exception& ex) {
    return std::string("std::exception: ") + ex.what();
  } catch (...) {
    return "unknown";
  }
}

// holds<T>(v) is true if `v` holds a T.
template <class T>
bool holds(const green::value& v) {
  return v.type() == typeid(T);
}

// unraisable_recorder installs an unraisable hook that records every call and
// puts the previous hook back when it goes away.
struct unraisable_recorder {
  std::vector<std::string> exceptions;
  std::vector<std::uint64_t> greenlet_ids;
  green::unraisable_hook previous;

  unraisable_recorder() {
    previous = green::set_unraisable_hook([this](std::exception_ptr e, const green::greenlet& g) {
      exceptions.push_back(describe(e));
      greenlet_ids.push_back(g.id());
    });
  }
  ~unraisable_recorder() { green::set_unraisable_hook(std::move(previous)); }
  unraisable_recorder(const unraisable_recorder&) = delete;
  unraisable_recorder& operator=(const unraisable_recorder&) = delete;
};

// stderr_capture redirects file descriptor 2 into a temporary file while it
// lives; text() stops the capture and returns what was written.
class stderr_capture {
 public:
  stderr_capture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = dup(2);
    if (file_ != nullptr) dup2(fileno(file_), 2);
  }
  ~stderr_capture() {
    restore();
    if (file_ != nullptr) std::fclose(file_);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;

  std::string text() {
    restore();
    std::string out;
    if (file_ == nullptr) return out;
    std::rewind(file_);
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_ = -1;
};

// deliberately_leaked keeps the greenlet state that G10.4 leaks by
// design reachable, so memory checkers report it as kept, not lost.
void* deliberately_leaked = nullptr;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_kill, green::test::leak_check)

// G10.2 (test_greenlet.py::test_dealloc): each dropped greenlet gets
// greenlet_exit with the kill message once, and its stack objects are
// destroyed exactly once, before the drop returns.
BOOST_AUTO_TEST_CASE(dropping_last_handle_to_suspended_greenlet_unwinds_it_once) {
  counted::reset();
  std::vector<std::string> seen;
  auto fmain = [&seen] {
    counted on_stack;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit& e) {
      seen.push_back(e.message());
      throw;
    }
    seen.push_back("resumed normally");
  };
  std::optional<green::greenlet> g1(std::in_place, fmain);
  std::optional<green::greenlet> g2(std::in_place, fmain);
  g1->switch_();
  g2->switch_();
  BOOST_TEST(seen.empty());
  BOOST_TEST(counted::alive() == 2);
  const std::size_t live = green::debug::live_greenlets();

  g1.reset();
  BOOST_TEST(seen == (std::vector<std::string>{kKillMessage}), boost::test_tools::per_element());
  BOOST_TEST(counted::destroyed == 1);
  BOOST_TEST(green::debug::live_greenlets() == live - 1);

  g2.reset();
  BOOST_TEST(seen == (std::vector<std::string>{kKillMessage, kKillMessage}),
             boost::test_tools::per_element());
  BOOST_TEST(counted::destroyed == 2);
  BOOST_TEST(counted::constructed == 2);
  BOOST_TEST(green::debug::live_greenlets() == live - 2);
}

// G10.2, by handle assignment: overwriting the last handle is a drop.
BOOST_AUTO_TEST_CASE(overwriting_last_handle_kills_previous_greenlet) {
  counted::reset();
  int exits = 0;
  green::greenlet g([&exits] {
    counted on_stack;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit&) {
      ++exits;
      throw;
    }
  });
  g.switch_();
  BOOST_TEST(exits == 0);
  g = green::greenlet([] {});
  BOOST_TEST(exits == 1);
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(counted::destroyed == 1);
  BOOST_TEST(!g.started());
}

// G10.3: while it is killed, the victim's parent is
// the greenlet that dropped it, here a non-main greenlet, and the kill
// returns to that greenlet, not to the victim's own parent (main).
BOOST_AUTO_TEST_CASE(killing_greenlet_makes_the_destroyer_its_parent_during_the_kill) {
  const green::greenlet main = green::getcurrent();
  std::optional<green::greenlet> parent_during_kill;
  std::optional<green::greenlet> victim(std::in_place, [&] {
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit&) {
      parent_during_kill = green::getcurrent().parent();
      throw;
    }
  });
  victim->switch_();
  BOOST_REQUIRE(victim->parent().has_value());
  BOOST_TEST((*victim->parent() == main));

  bool killer_resumed = false;
  green::greenlet killer([&] {
    victim.reset();
    killer_resumed = true;
    return 7;
  });
  const green::value r = killer.switch_();
  BOOST_REQUIRE(holds<int>(r));  // not the victim's exit: that went to the killer
  BOOST_TEST(green::value_cast<int>(r) == 7);
  BOOST_TEST(killer_resumed);
  BOOST_REQUIRE(parent_during_kill.has_value());
  BOOST_TEST((*parent_during_kill == killer));
  BOOST_TEST(!(*parent_during_kill == main));
}

// G10.3 (test_greenlet.py::test_parent_restored_on_kill): a victim that
// resurrects itself sees main as its parent during the kill and has its old
// parent (hub) back afterwards.
BOOST_AUTO_TEST_CASE(killing_resurrected_greenlet_restores_its_old_parent) {
  counted::reset();
  green::greenlet main = green::getcurrent();
  green::greenlet hub([] {});
  std::optional<green::greenlet> parent_during_kill;
  std::optional<green::greenlet> resurrected;
  std::optional<green::greenlet> g(
      std::in_place,
      [&] {
        counted on_stack;
        try {
          main.switch_();  // wait to be killed
        } catch (const green::greenlet_exit&) {
          parent_during_kill = green::getcurrent().parent();
          resurrected = green::getcurrent();
          hub.switch_();
        }
      },
      hub);
  g->switch_();
  g.reset();

  BOOST_REQUIRE(parent_during_kill.has_value());
  BOOST_TEST((*parent_during_kill == main));
  BOOST_TEST(!(*parent_during_kill == hub));
  BOOST_REQUIRE(resurrected.has_value());
  BOOST_REQUIRE(resurrected->parent().has_value());
  BOOST_TEST((*resurrected->parent() == hub));
  BOOST_TEST(hub.dead());  // the victim switched to it; it ran and returned to main

  // Finish it: hub is dead, so the exit comes back to main as a value.
  const green::value r = resurrected->throw_();
  BOOST_TEST(holds<green::greenlet_exit>(r));
  BOOST_TEST(resurrected->dead());
  BOOST_TEST(counted::destroyed == 1);
}

// G10.4: a victim that catches greenlet_exit and returns dies; its
// return value is dropped, nothing reaches the destroyer or the unraisable
// hook, and it is freed.
BOOST_AUTO_TEST_CASE(killed_greenlet_that_catches_exit_and_returns_is_freed_silently) {
  counted::reset();
  unraisable_recorder hook;
  bool cleaned_up = false;
  std::optional<green::greenlet> g(std::in_place, [&] {
    counted on_stack;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit&) {
      cleaned_up = true;
      return 99;
    }
    return 0;
  });
  g->switch_();
  const std::size_t live = green::debug::live_greenlets();
  g.reset();
  BOOST_TEST(cleaned_up);
  BOOST_TEST(counted::destroyed == 1);
  BOOST_TEST(green::debug::live_greenlets() == live - 1);
  BOOST_TEST(hook.exceptions.empty());
}

// G10.4 (test_greenlet.py::test_dealloc_catches_GreenletExit_throws_other):
// the other exception goes to the unraisable hook exactly once, with the
// victim, and the destroyer sees nothing.
BOOST_AUTO_TEST_CASE(killed_greenlet_that_throws_other_exception_reports_it_unraisable_once) {
  counted::reset();
  std::uint64_t victim_id = 0;
  std::vector<std::string> exceptions;
  std::vector<std::uint64_t> ids;
  {
    unraisable_recorder hook;
    std::optional<green::greenlet> g(std::in_place, [] {
      counted on_stack;
      try {
        green::getcurrent().parent()->switch_();
      } catch (const green::greenlet_exit&) {
        throw std::runtime_error("replaced the exit");
      }
    });
    victim_id = g->id();
    g->switch_();
    const std::size_t live = green::debug::live_greenlets();
    bool destroyer_saw_exception = false;
    try {
      g.reset();
    } catch (...) {
      destroyer_saw_exception = true;
    }
    BOOST_TEST(!destroyer_saw_exception);
    BOOST_TEST(counted::destroyed == 1);
    BOOST_TEST(green::debug::live_greenlets() == live - 1);
    exceptions = hook.exceptions;
    ids = hook.greenlet_ids;
  }
  BOOST_TEST(exceptions == (std::vector<std::string>{"std::exception: replaced the exit"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids == (std::vector<std::uint64_t>{victim_id}), boost::test_tools::per_element());
}

// G10.4: a victim that catches greenlet_exit and switches away without
// keeping a handle to itself can never be resumed. A diagnostic naming it goes
// to stderr and its state is kept on purpose (greenlet leaks it; green keeps
// it until its thread exits, then drops it unrun), with no crash. The test
// then revives it through its native handle so that its stack objects unwind
// and its stack is returned; the state itself stays until thread exit, which
// the case accounts for explicitly.
BOOST_AUTO_TEST_CASE(killed_greenlet_that_switches_away_is_reported_and_leaked) {
  counted::reset();
  int exits_caught = 0;
  bool resumed_after_leak = false;
  std::optional<green::greenlet> g(std::in_place, [&] {
    counted on_stack;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit&) {
      ++exits_caught;
      green::getcurrent().parent()->switch_();  // ignores the kill
      resumed_after_leak = true;
    }
  });
  g->set_name("stubborn");
  g->switch_();
  green::detail::greenlet_state* native = g->native_handle();
  const std::size_t live = green::debug::live_greenlets();

  std::string diagnostic;
  {
    stderr_capture capture;
    g.reset();
    diagnostic = capture.text();
  }
  BOOST_TEST(exits_caught == 1);
  BOOST_TEST(diagnostic.find("did not kill") != std::string::npos, "stderr: " << diagnostic);
  BOOST_TEST(diagnostic.find("stubborn") != std::string::npos, "stderr: " << diagnostic);
  BOOST_TEST(green::debug::live_greenlets() == live);  // kept, not freed
  BOOST_TEST(counted::destroyed == 0);

  // Revive and finish it. The kept reference is released at thread exit.
  deliberately_leaked = native;
  ++live_before;  // leak_check: exactly this greenlet state is kept by design
  {
    green::greenlet revived = green::greenlet::from_native(native);
    BOOST_TEST(static_cast<bool>(revived));
    BOOST_TEST(!revived.dead());
    const green::value r = revived.throw_();
    BOOST_TEST(holds<green::greenlet_exit>(r));
    BOOST_TEST(revived.dead());
  }
  BOOST_TEST(!resumed_after_leak);
  BOOST_TEST(counted::destroyed == 1);
  BOOST_TEST(green::debug::live_greenlets() == live);
}

// G10.4: a handler that stores a new handle to itself resurrects the
// greenlet: it stays suspended (active, not dead) with no diagnostic, and a
// later throw_() finishes it.
BOOST_AUTO_TEST_CASE(killed_greenlet_that_resurrects_itself_stays_suspended_until_thrown) {
  counted::reset();
  std::optional<green::greenlet> keeper;
  bool resumed_after_resurrection = false;
  std::optional<green::greenlet> g(std::in_place, [&] {
    counted on_stack;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit&) {
      keeper = green::getcurrent();
      green::getcurrent().parent()->switch_();
      resumed_after_resurrection = true;
    }
  });
  g->switch_();
  const std::size_t live = green::debug::live_greenlets();
  std::string diagnostic;
  {
    stderr_capture capture;
    g.reset();
    diagnostic = capture.text();
  }
  BOOST_TEST(diagnostic.find("did not kill") == std::string::npos, "stderr: " << diagnostic);
  BOOST_REQUIRE(keeper.has_value());
  BOOST_TEST(static_cast<bool>(*keeper));
  BOOST_TEST(!keeper->dead());
  BOOST_TEST(counted::destroyed == 0);
  BOOST_TEST(green::debug::live_greenlets() == live);

  const green::value r = keeper->throw_();
  BOOST_TEST(holds<green::greenlet_exit>(r));
  BOOST_TEST(keeper->dead());
  BOOST_TEST(!resumed_after_resurrection);
  BOOST_TEST(counted::destroyed == 1);
  keeper.reset();
  BOOST_TEST(green::debug::live_greenlets() == live - 1);
}

// G10.4 ("it can be killed again later by freeing
// it again"): dropping the resurrected greenlet's new last handle kills it a
// second time.
BOOST_AUTO_TEST_CASE(resurrected_greenlet_is_killed_again_when_its_new_handle_drops) {
  counted::reset();
  std::optional<green::greenlet> keeper;
  std::vector<std::string> seen;
  std::optional<green::greenlet> g(std::in_place, [&] {
    counted on_stack;
    try {
      green::getcurrent().parent()->switch_();
    } catch (const green::greenlet_exit& first) {
      seen.push_back("first: " + first.message());
      keeper = green::getcurrent();
      try {
        green::getcurrent().parent()->switch_();
      } catch (const green::greenlet_exit& second) {
        seen.push_back("second: " + second.message());
        throw;
      }
    }
  });
  g->switch_();
  g.reset();
  BOOST_REQUIRE(keeper.has_value());
  BOOST_TEST(static_cast<bool>(*keeper));
  BOOST_TEST(counted::destroyed == 0);
  const std::size_t live = green::debug::live_greenlets();
  keeper.reset();
  BOOST_TEST(
      seen == (std::vector<std::string>{"first: " + kKillMessage, "second: " + kKillMessage}),
      boost::test_tools::per_element());
  BOOST_TEST(counted::destroyed == 1);
  BOOST_TEST(green::debug::live_greenlets() == live - 1);
}

// G10.1: an unstarted greenlet is freed without running
// its function and without any switch; the function object itself is
// destroyed.
BOOST_AUTO_TEST_CASE(destroying_unstarted_greenlet_never_runs_it) {
  counted::reset();
  int events = 0;
  bool ran = false;
  const std::size_t live = green::debug::live_greenlets();
  {
    green::greenlet g([&ran, captured = counted{}] { ran = true; });
    BOOST_TEST(counted::alive() == 1);
    green::settrace([&events](green::trace_event, const green::greenlet&, const green::greenlet&) {
      ++events;
    });
  }
  green::settrace(nullptr);
  BOOST_TEST(!ran);
  BOOST_TEST(events == 0);
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(green::debug::live_greenlets() == live);
}

// G10.1: a dead greenlet is freed without running anything again and
// without any switch.
BOOST_AUTO_TEST_CASE(destroying_dead_greenlet_does_not_run_it_again) {
  int runs = 0;
  int events = 0;
  unraisable_recorder hook;
  const std::size_t live = green::debug::live_greenlets();
  {
    green::greenlet g([&runs] { ++runs; });
    g.switch_();
    BOOST_TEST(g.dead());
    green::settrace([&events](green::trace_event, const green::greenlet&, const green::greenlet&) {
      ++events;
    });
  }
  green::settrace(nullptr);
  BOOST_TEST(runs == 1);
  BOOST_TEST(events == 0);
  BOOST_TEST(hook.exceptions.empty());
  BOOST_TEST(green::debug::live_greenlets() == live);
}

// G10.5 (test_greenlet.py::test_dealloc_switch_args_not_lost): a worker
// drops the last handle to itself and then switches 42 to its parent. The
// parent gets 42 and, by the time it does, the worker was killed and its
// stack objects destroyed.
BOOST_AUTO_TEST_CASE(payload_switched_after_dropping_own_last_handle_reaches_parent) {
  counted::reset();
  std::vector<std::string> seen;
  std::optional<green::greenlet> holder;
  holder.emplace([&] {
    counted on_stack;
    try {
      holder.reset();  // the last handle: this greenlet now runs unowned
      green::getcurrent().parent()->switch_(42);
      seen.push_back("resumed normally");
    } catch (const green::greenlet_exit& e) {
      seen.push_back("exit: " + e.message());
      throw;
    }
  });
  const std::size_t live = green::debug::live_greenlets();
  const green::value r = holder->switch_();
  BOOST_TEST(!holder.has_value());
  BOOST_REQUIRE(holds<int>(r));
  BOOST_TEST(green::value_cast<int>(r) == 42);
  BOOST_TEST(seen == (std::vector<std::string>{"exit: " + kKillMessage}),
             boost::test_tools::per_element());
  BOOST_TEST(counted::destroyed == 1);
  BOOST_TEST(green::debug::live_greenlets() == live - 1);
}

// G10.7 (test_dealloc_weakref) does not apply: green has no weak
// handles, so there is nothing to observe being cleared during the kill.
//
// G10.6: Python's cycle collector frees dead and unstarted greenlets
// that refer to themselves. C++ has no collector: a greenlet whose function
// holds a handle to the greenlet is a reference cycle, and it is freed only
// when the cycle is broken. The two cases below document that.

// G10.6 (test_gc.py, unstarted): an unstarted greenlet whose function
// holds a handle to it leaks until the handle is dropped, then is freed
// without running.
BOOST_AUTO_TEST_CASE(unstarted_greenlet_holding_handle_to_itself_is_freed_when_cycle_breaks) {
  auto slot = std::make_shared<std::optional<green::greenlet>>();
  bool ran = false;
  const std::size_t live = green::debug::live_greenlets();
  {
    green::greenlet g([slot, &ran] { ran = true; });
    *slot = g;  // g's function now holds a handle to g: a cycle
  }
  BOOST_TEST(green::debug::live_greenlets() == live + 1);  // leaked while the cycle holds
  slot->reset();
  BOOST_TEST(green::debug::live_greenlets() == live);
  BOOST_TEST(!ran);
  BOOST_TEST(slot.use_count() == 1);  // the function object, and its copy of slot, are gone
}

// G10.6 (suspended): a suspended greenlet that holds a handle to itself
// is never killed while the cycle holds; breaking it kills the greenlet and
// its stack objects are destroyed.
BOOST_AUTO_TEST_CASE(suspended_greenlet_holding_handle_to_itself_is_killed_when_cycle_breaks) {
  counted::reset();
  auto slot = std::make_shared<std::optional<green::greenlet>>();
  int exits = 0;
  const std::size_t live = green::debug::live_greenlets();
  {
    green::greenlet g([slot, &exits] {
      counted on_stack;
      try {
        green::getcurrent().parent()->switch_();
      } catch (const green::greenlet_exit&) {
        ++exits;
        throw;
      }
    });
    *slot = g;
    g.switch_();
  }
  BOOST_TEST(green::debug::live_greenlets() == live + 1);
  BOOST_TEST(exits == 0);
  BOOST_TEST(counted::alive() == 1);
  slot->reset();
  BOOST_TEST(exits == 1);
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(green::debug::live_greenlets() == live);
  BOOST_TEST(slot.use_count() == 1);
}

// A destructor that switches away while greenlet_exit unwinds a greenlet
// killed on its last handle: the greenlet did not catch the exit, and
// nothing else can resume it, so it is resumed until its unwinding is done
// and every object on its stack (and the exception in flight) is freed.
// Before the fix it was reported as "caught the exit and switched away" and
// kept until thread exit, its in-flight exception leaked (LSan: 339 bytes),
// and the leak check of this case failed.
BOOST_AUTO_TEST_CASE(destructor_that_switches_during_a_kill_is_resumed_until_unwound) {
  using green::test::counted;
  counted::reset();
  green::greenlet main = green::getcurrent();
  int switched = 0;
  bool after_switch = false;
  struct switches_in_destructor {
    int& switched;
    bool& after;
    ~switches_in_destructor() {
      ++switched;
      // During the kill the parent is the killer (this test's main).
      green::getcurrent().parent()->switch_();
      after = true;
    }
  };
  std::optional<green::greenlet> g;
  g.emplace([&] {
    counted outer;
    switches_in_destructor s{switched, after_switch};
    main.switch_();
  });
  g->switch_();
  BOOST_TEST(counted::alive() == 1);
  g.reset();  // the kill
  BOOST_TEST(switched == 1);
  BOOST_TEST(after_switch);
  BOOST_TEST(counted::alive() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
