// Greenlets and threads: G9.1-G9.7 and G6.5 (cross-thread parents). The
// per-thread trace function (G11.1) is tested in greenlet_trace_test.cpp.
//
// Boost.Test assertions are not thread-safe: helper threads only record what
// they see, and every assertion runs on the test's thread after join().
#define BOOST_TEST_MODULE greenlet_thread
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"
#include "support/sanitizers.hpp"

namespace {

// error_of() runs `fn` and returns the message of the green::error it
// throws, "no error" if it returns, or "other exception" for anything else.
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
    return "no error";
  } catch (const green::error& e) {
    return e.what();
  } catch (...) {
    return "other exception";
  }
}

bool mentions(const std::string& text, const std::string& word) {
  return text.find(word) != std::string::npos;
}

// event_log is a thread-safe list of lines.
class event_log {
 public:
  void add(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// ping_pong() is G3.1; true if the order was right and g ended dead.
bool ping_pong() {
  std::vector<int> seen;
  green::greenlet g([&] {
    seen.push_back(1);
    green::getcurrent().parent()->switch_();
    seen.push_back(3);
  });
  seen.push_back(0);
  g.switch_();
  seen.push_back(2);
  g.switch_();
  seen.push_back(4);
  return seen == std::vector<int>{0, 1, 2, 3, 4} && g.dead();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_thread, green::test::leak_check)

// G9.1: each thread gets its own main greenlet, created on
// first use, with no parent, distinct from every other thread's main.
BOOST_AUTO_TEST_CASE(each_thread_gets_its_own_main_greenlet_without_parent) {
  const green::greenlet here = green::getcurrent();
  constexpr int kThreads = 4;
  std::vector<std::optional<green::greenlet>> mains(kThreads);
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const green::greenlet m = green::getcurrent();
      green::greenlet child([] {});
      ok[i] = m.is_main() && !m.parent().has_value() && static_cast<bool>(m) && !m.dead() &&
              green::getcurrent() == m && child.parent().has_value() && *child.parent() == m;
      mains[i] = m;
    });
  }
  for (auto& t : threads) t.join();

  BOOST_TEST(here.is_main());
  BOOST_TEST(!here.parent().has_value());
  std::set<std::uint64_t> ids{here.id()};
  for (int i = 0; i < kThreads; ++i) {
    BOOST_TEST_CONTEXT("thread " << i) {
      BOOST_TEST(ok[i] == 1);
      BOOST_REQUIRE(mains[i].has_value());
      BOOST_TEST(!(*mains[i] == here));
      ids.insert(mains[i]->id());
    }
  }
  BOOST_TEST(ids.size() == static_cast<std::size_t>(kThreads + 1));
}

// G9.2 (test_greenlet.py::test_switch_to_another_thread): another
// thread cannot switch or throw into this thread's unstarted or suspended
// greenlets; both stay untouched and run normally here afterwards.
BOOST_AUTO_TEST_CASE(switching_from_other_thread_into_greenlet_throws_thread_error) {
  bool unstarted_ran = false;
  green::greenlet unstarted([&unstarted_ran] {
    unstarted_ran = true;
    return 1;
  });
  int suspended_resumes = 0;
  green::greenlet suspended([&suspended_resumes] {
    green::getcurrent().parent()->switch_();
    ++suspended_resumes;
    return 2;
  });
  suspended.switch_();

  std::vector<std::string> errors;
  std::thread([&] {
    errors.push_back(error_of([&] { unstarted.switch_(); }));
    errors.push_back(error_of([&] { unstarted.throw_(); }));
    errors.push_back(error_of([&] { suspended.switch_(); }));
    errors.push_back(error_of([&] { suspended.throw_(std::runtime_error("x")); }));
  }).join();

  BOOST_REQUIRE(errors.size() == 4u);
  for (const std::string& e : errors) {
    BOOST_TEST(mentions(e, "different thread"), e);
    BOOST_TEST(!mentions(e, "exited"), e);
  }
  BOOST_TEST(!unstarted.started());
  BOOST_TEST(!unstarted_ran);
  BOOST_TEST(static_cast<bool>(suspended));
  BOOST_TEST(suspended_resumes == 0);
  BOOST_TEST(green::value_cast<int>(unstarted.switch_()) == 1);
  BOOST_TEST(green::value_cast<int>(suspended.switch_()) == 2);
  BOOST_TEST(suspended_resumes == 1);
}

// G9.2: the main greenlet of another live thread cannot be switched
// or thrown into.
BOOST_AUTO_TEST_CASE(switching_into_main_of_other_live_thread_throws_thread_error) {
  std::optional<green::greenlet> other_main;
  std::binary_semaphore published(0);
  std::binary_semaphore may_exit(0);
  std::thread t([&] {
    other_main = green::getcurrent();
    published.release();
    may_exit.acquire();
  });
  published.acquire();
  const std::string on_switch = error_of([&] { other_main->switch_(); });
  const std::string on_throw = error_of([&] { other_main->throw_(); });
  const bool alive_then = static_cast<bool>(*other_main) && !other_main->dead();
  may_exit.release();
  t.join();

  BOOST_TEST(mentions(on_switch, "different thread"), on_switch);
  BOOST_TEST(!mentions(on_switch, "exited"), on_switch);
  BOOST_TEST(mentions(on_throw, "different thread"), on_throw);
  BOOST_TEST(alive_then);
}

// G9.3: after its thread exits, a suspended greenlet
// and the thread's main report dead; switching or throwing to them raises an
// error that says the thread exited; destroying them later runs no cleanup
// on their stacks.
//
// The body owns nothing on its stack across the switch: a dead thread's stack
// is discarded without unwinding, so whatever it owns is never released (even
// the temporary handle in `getcurrent().parent()->switch_()` would leak its
// parent). It switches through a handle that lives outside its stack.
BOOST_AUTO_TEST_CASE(greenlets_of_exited_thread_are_dead_and_destroyed_without_cleanup) {
  std::optional<green::greenlet> suspended;
  std::optional<green::greenlet> other_main;
  std::atomic<int> cleanups{0};
  std::atomic<int> resumes{0};
  struct on_unwind {
    std::atomic<int>* count;
    ~on_unwind() { ++*count; }
  };
  std::thread([&] {
    other_main = green::getcurrent();
    green::greenlet g([&] {
      on_unwind guard{&cleanups};
      try {
        other_main->switch_();
        ++resumes;
      } catch (...) {
        ++cleanups;
        throw;
      }
    });
    g.switch_();
    suspended = g;  // not the last handle: the thread's exit does not kill it
  }).join();

  BOOST_REQUIRE(suspended.has_value());
  BOOST_REQUIRE(other_main.has_value());
  BOOST_TEST(suspended->dead());
  BOOST_TEST(!static_cast<bool>(*suspended));
  BOOST_TEST(other_main->dead());
  BOOST_TEST(!static_cast<bool>(*other_main));
  BOOST_TEST(other_main->is_main());

  const std::string errors[] = {
      error_of([&] { suspended->switch_(); }),
      error_of([&] { suspended->throw_(); }),
      error_of([&] { suspended->throw_(std::runtime_error("x")); }),
      error_of([&] { other_main->switch_(); }),
      error_of([&] { other_main->throw_(); }),
  };
  for (const std::string& e : errors) BOOST_TEST(mentions(e, "exited"), e);

  const std::size_t live = green::debug::live_greenlets();
  suspended.reset();
  other_main.reset();
  BOOST_TEST(cleanups == 0);
  BOOST_TEST(resumes == 0);
  BOOST_TEST(green::debug::live_greenlets() == live - 1);
}

// G6.5, G9.3 (test_unexpected_reparenting): an unstarted greenlet
// whose parent chain ends in an exited thread cannot be started here; the
// error says that thread exited and the greenlet stays unstarted.
BOOST_AUTO_TEST_CASE(starting_greenlet_whose_parent_is_on_exited_thread_throws_error) {
  std::optional<green::greenlet> foreign;
  std::thread([&] { foreign.emplace([] {}); }).join();
  bool ran = false;
  green::greenlet g([&ran] { ran = true; });
  g.set_parent(*foreign);  // allowed: g has not started
  const std::string e = error_of([&] { g.switch_(); });
  BOOST_TEST(mentions(e, "exited"), e);
  BOOST_TEST(!ran);
  BOOST_TEST(!g.started());
  BOOST_TEST(!foreign->started());
}

// G6.5 (test_greenlet.py::test_threaded_reparent): a started greenlet
// cannot be reparented onto a greenlet of another thread; its parent is
// unchanged.
BOOST_AUTO_TEST_CASE(reparenting_started_greenlet_onto_other_thread_throws_error) {
  std::optional<green::greenlet> foreign;
  std::binary_semaphore created(0);
  std::binary_semaphore done(0);
  std::thread t([&] {
    foreign.emplace([] {});
    created.release();
    done.acquire();
  });
  created.acquire();
  green::greenlet g([] { green::getcurrent().parent()->switch_(); });
  g.switch_();
  const std::string e = error_of([&] { g.set_parent(*foreign); });
  done.release();
  t.join();

  BOOST_TEST(mentions(e, "parent cannot be on a different thread"), e);
  BOOST_REQUIRE(g.parent().has_value());
  BOOST_TEST((*g.parent() == green::getcurrent()));
  g.switch_();
  BOOST_TEST(g.dead());
}

// G6.5: an unstarted greenlet may get a parent on another
// live thread, but its first switch then fails with a thread error and it
// stays unstarted.
BOOST_AUTO_TEST_CASE(reparenting_unstarted_greenlet_onto_other_thread_fails_its_first_switch) {
  std::optional<green::greenlet> foreign;
  std::binary_semaphore created(0);
  std::binary_semaphore done(0);
  std::thread t([&] {
    foreign.emplace([] {});
    created.release();
    done.acquire();
  });
  created.acquire();
  bool ran = false;
  green::greenlet g([&ran] { ran = true; });
  const std::string on_set = error_of([&] { g.set_parent(*foreign); });
  const std::string on_switch = error_of([&] { g.switch_(); });
  done.release();
  t.join();

  BOOST_TEST(on_set == "no error");
  BOOST_TEST(mentions(on_switch, "different thread"), on_switch);
  BOOST_TEST(!ran);
  BOOST_TEST(!g.started());
}

namespace {

// G9.5 driver: a thread starts a greenlet, hands the only handle to
// the test's thread, which drops it, and then calls `trigger`. Returns the
// log of what happened, in order.
template <class Trigger>
std::vector<std::string> drop_on_other_thread_then(Trigger trigger, int& destroyed,
                                                   bool& killed_on_owner) {
  green::test::counted::reset();
  event_log events;
  std::optional<green::greenlet> handed_over;
  std::binary_semaphore handed(0);
  std::binary_semaphore dropped(0);
  std::thread::id owner_id;
  std::thread::id killed_in;
  std::thread owner([&] {
    owner_id = std::this_thread::get_id();
    green::greenlet g([&] {
      green::test::counted on_stack;
      try {
        green::getcurrent().parent()->switch_();
        events.add("resumed normally");
      } catch (const green::greenlet_exit&) {
        killed_in = std::this_thread::get_id();
        events.add("exit ran");
        throw;
      }
    });
    green::greenlet bystander([] {});  // for the "switch" trigger
    g.switch_();
    handed_over = std::move(g);
    handed.release();
    dropped.acquire();
    events.add("owner: before call");
    trigger(bystander);
    events.add("owner: after call");
  });
  handed.acquire();
  handed_over.reset();
  events.add("main: dropped handle");
  dropped.release();
  owner.join();
  destroyed = green::test::counted::destroyed;
  killed_on_owner = killed_in == owner_id && killed_in != std::this_thread::get_id();
  return events.lines();
}

const std::vector<std::string> kDeferredKillOrder = {"main: dropped handle", "owner: before call",
                                                     "exit ran", "owner: after call"};

}  // namespace

// G9.5 (test_greenlet.py::test_dealloc_other_thread): the kill waits
// for the owner thread's next getcurrent() and runs on the owner thread.
BOOST_AUTO_TEST_CASE(dropped_on_other_thread_is_killed_on_owner_at_next_getcurrent) {
  int destroyed = 0;
  bool on_owner = false;
  const auto order = drop_on_other_thread_then([](green::greenlet&) { (void)green::getcurrent(); },
                                               destroyed, on_owner);
  BOOST_TEST(order == kDeferredKillOrder, boost::test_tools::per_element());
  BOOST_TEST(on_owner);
  BOOST_TEST(destroyed == 1);
}

// G9.5: creating a greenlet on the owner thread also runs the
// deferred kill.
BOOST_AUTO_TEST_CASE(dropped_on_other_thread_is_killed_on_owner_at_next_creation) {
  int destroyed = 0;
  bool on_owner = false;
  const auto order = drop_on_other_thread_then(
      [](green::greenlet&) { green::greenlet fresh([] {}); }, destroyed, on_owner);
  BOOST_TEST(order == kDeferredKillOrder, boost::test_tools::per_element());
  BOOST_TEST(on_owner);
  BOOST_TEST(destroyed == 1);
}

// G9.5: a switch on the owner thread also runs the deferred kill.
BOOST_AUTO_TEST_CASE(dropped_on_other_thread_is_killed_on_owner_at_next_switch) {
  int destroyed = 0;
  bool on_owner = false;
  const auto order = drop_on_other_thread_then(
      [](green::greenlet& bystander) { bystander.switch_(); }, destroyed, on_owner);
  BOOST_TEST(order == kDeferredKillOrder, boost::test_tools::per_element());
  BOOST_TEST(on_owner);
  BOOST_TEST(destroyed == 1);
}

// G9.2 (test_greenlet.py::test_switching_many_threads): 16 threads
// each own a suspended greenlet while 16 others keep switching and throwing
// into all of them. Every attempt raises the thread error; nothing crashes or
// deadlocks, and each owner finishes its greenlet normally afterwards.
BOOST_AUTO_TEST_CASE(many_threads_switching_into_foreign_greenlets_all_get_thread_errors) {
  constexpr int kOwners = 16;
  constexpr int kSwitchers = 16;
  constexpr int kRounds = 40;
  std::vector<std::optional<green::greenlet>> targets(kOwners);
  std::latch published(kOwners);
  std::latch switchers_done(kSwitchers);
  std::atomic<int> thread_errors{0};
  std::atomic<int> other_outcomes{0};
  std::atomic<int> owners_ok{0};

  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < kOwners; ++i) {
    threads.emplace_back([&, i] {
      green::greenlet g([] {
        green::getcurrent().parent()->switch_();
        return 1;
      });
      g.switch_();
      targets[i] = g;
      published.count_down();
      switchers_done.wait();
      targets[i].reset();
      if (green::value_cast<int>(g.switch_()) == 1 && g.dead()) ++owners_ok;
    });
  }
  for (int s = 0; s < kSwitchers; ++s) {
    threads.emplace_back([&, s] {
      published.wait();
      std::vector<green::greenlet> mine;
      for (const auto& t : targets) mine.push_back(*t);
      for (int round = 0; round < kRounds; ++round) {
        for (green::greenlet& g : mine) {
          const std::string e =
              (round + s) % 2 == 0 ? error_of([&] { g.switch_(); }) : error_of([&] { g.throw_(); });
          if (mentions(e, "different thread")) {
            ++thread_errors;
          } else {
            ++other_outcomes;
          }
        }
      }
      mine.clear();
      switchers_done.count_down();
    });
  }
  for (auto& t : threads) t.join();
  const auto elapsed = std::chrono::steady_clock::now() - started;

  BOOST_TEST(thread_errors == kSwitchers * kRounds * kOwners);
  BOOST_TEST(other_outcomes == 0);
  BOOST_TEST(owners_ok == kOwners);
  BOOST_TEST_MESSAGE("stress test took "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                     << " ms");
}

// G9.7 (test_greenlet.py::test_threads): ten threads run the
// ping-pong scenario at the same time, many times each; all succeed.
BOOST_AUTO_TEST_CASE(many_threads_run_ping_pong_concurrently) {
  constexpr int kThreads = 10;
  constexpr int kRepeats = 50;
  std::vector<int> passed(kThreads, 0);
  std::latch go(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      for (int r = 0; r < kRepeats; ++r) passed[i] += ping_pong() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) BOOST_TEST(passed[i] == kRepeats, "thread " << i);
}

// G9.4 (test_interpreter_shutdown group B, test_leaks): a
// thread that returns normally kills the suspended greenlets its locals
// refer to, on that thread, while the thread's green state still exists.
BOOST_AUTO_TEST_CASE(thread_exit_kills_its_local_greenlets_on_that_thread) {
  green::test::counted::reset();
  std::vector<std::string> seen;  // touched only by the helper thread until join
  std::thread::id helper_id;
  std::vector<std::thread::id> killed_in;
  std::thread([&] {
    helper_id = std::this_thread::get_id();
    auto body = [&](std::string name) {
      green::test::counted on_stack;
      try {
        green::getcurrent().parent()->switch_();
        seen.push_back(name + " resumed normally");
      } catch (const green::greenlet_exit& e) {
        killed_in.push_back(std::this_thread::get_id());
        seen.push_back(name + " exit: " + e.message());
        throw;
      }
    };
    green::greenlet a(body);
    green::greenlet b(body);
    a.switch_(std::string("a"));
    b.switch_(std::string("b"));
    seen.push_back("thread returns");
  }).join();

  const std::string msg = "Killing the greenlet because all references have vanished.";
  BOOST_TEST(
      seen == (std::vector<std::string>{"thread returns", "b exit: " + msg, "a exit: " + msg}),
      boost::test_tools::per_element());
  BOOST_TEST(killed_in == (std::vector<std::thread::id>{helper_id, helper_id}),
             boost::test_tools::per_element());
  BOOST_TEST(green::test::counted::alive() == 0);
  BOOST_TEST(green::test::counted::destroyed == 2);
}

// G9.4: a greenlet held by a thread_local of its thread (created after
// the thread started using green) is killed when the thread's locals are
// destroyed, and its stack objects run before the thread is gone.
BOOST_AUTO_TEST_CASE(thread_exit_kills_greenlet_held_by_thread_local) {
  std::atomic<int> exits{0};
  std::atomic<int> unwound{0};
  std::thread::id helper_id;
  std::thread::id killed_in;
  struct on_unwind {
    std::atomic<int>* count;
    ~on_unwind() { ++*count; }
  };
  std::thread([&] {
    helper_id = std::this_thread::get_id();
    (void)green::getcurrent();  // green's thread state exists before the thread_local
    thread_local std::optional<green::greenlet> held;
    held.emplace([&] {
      on_unwind guard{&unwound};
      try {
        green::getcurrent().parent()->switch_();
      } catch (const green::greenlet_exit&) {
        killed_in = std::this_thread::get_id();
        ++exits;
        throw;
      }
    });
    held->switch_();
  }).join();

  BOOST_TEST(exits == 1);
  BOOST_TEST(unwound == 1);
  BOOST_TEST((killed_in == helper_id));
}

// A C++ specific (Python's getcurrent() returns a new reference): green's
// getcurrent() is a borrowed handle, and copying it makes a real one. The
// last real handle dropped on another thread while the greenlet runs must
// not let its owner free it under a copy made from the borrowed handle
// afterwards: the release itself waits for the owner thread.
BOOST_AUTO_TEST_CASE(copy_of_borrowed_current_made_after_a_foreign_drop_keeps_the_greenlet) {
  std::optional<green::greenlet> handed;
  std::optional<green::greenlet> kept;  // the copy, made inside the greenlet
  std::uint64_t id = 0;
  bool kept_is_it = false;
  bool kept_is_dead = false;
  std::binary_semaphore handed_over{0};
  std::binary_semaphore dropped{0};
  std::thread owner([&] {
    green::greenlet g([&] {
      const green::greenlet& me = green::getcurrent();  // borrowed, taken early
      handed_over.release();
      dropped.acquire();  // the other thread dropped the only real handle
      kept = me;          // a real handle again: no green call in between
    });
    id = g.id();
    handed = std::move(g);
    handed->switch_();  // g ends here, by returning (no switch_() of its own)
    // The next green calls on this thread must not free g: `kept` holds it.
    for (int i = 0; i < 4; ++i) {
      green::greenlet fresh([] {});
      fresh.switch_();
    }
    kept_is_it = kept->id() == id;
    kept_is_dead = kept->dead();
    kept.reset();
  });
  handed_over.acquire();
  handed.reset();  // on this thread, while g runs on the owner
  dropped.release();
  owner.join();
  BOOST_TEST(kept_is_it);
  BOOST_TEST(kept_is_dead);
}

// Parent links (a C++ specific: green counts a child's link to a parent of
// its own thread without atomics, lib/greenlet_state.hpp). A child freed on
// another thread still gives its link back, so the parent thread's main
// greenlet is freed once nothing leads to it; the fixture's main-greenlet
// count catches one that is not. These cover each way a link comes back.

// The owner is alive: the link goes back through the owner's queue and is
// dropped at its next green call, before it exits.
BOOST_AUTO_TEST_CASE(child_freed_on_other_thread_while_its_thread_lives_returns_its_link) {
  const std::size_t mains = green::debug::live_main_greenlets();
  std::optional<green::greenlet> child;
  std::binary_semaphore handed_over{0};
  std::binary_semaphore dropped{0};
  int result = 0;
  std::thread owner([&] {
    green::greenlet g([](int x) { return x + 1; });
    result = green::value_cast<int>(g.switch_(41));
    child = std::move(g);  // dead, and this thread keeps no handle
    handed_over.release();
    dropped.acquire();
    green::greenlet after([] {});  // a green call: takes the queued link back
    after.switch_();
  });
  handed_over.acquire();
  BOOST_TEST(child->dead());
  BOOST_TEST(green::debug::live_main_greenlets() == mains + 1);
  child.reset();  // frees the child here, its parent is the owner's main
  dropped.release();
  owner.join();
  BOOST_TEST(result == 42);
  BOOST_TEST(green::debug::live_main_greenlets() == mains);
}

// The owner has exited: the last link is what keeps its main greenlet, which
// goes with the child that held it.
BOOST_AUTO_TEST_CASE(child_freed_after_its_thread_exited_frees_that_threads_main) {
  const std::size_t mains = green::debug::live_main_greenlets();
  std::optional<green::greenlet> dead_child;
  std::optional<green::greenlet> unstarted_child;
  std::thread([&] {
    green::greenlet g([] {});
    g.switch_();
    dead_child = std::move(g);
    unstarted_child.emplace([] {});
  }).join();
  BOOST_TEST(green::debug::live_main_greenlets() == mains + 1);
  BOOST_TEST(dead_child->parent()->is_main());
  BOOST_TEST(dead_child->parent()->dead());  // its thread exited
  dead_child.reset();
  BOOST_TEST(green::debug::live_main_greenlets() == mains + 1);  // still led to
  unstarted_child.reset();
  BOOST_TEST(green::debug::live_main_greenlets() == mains);
}

// set_parent() from another thread gives the old link back the same way.
BOOST_AUTO_TEST_CASE(unstarted_child_reparented_on_other_thread_returns_its_old_link) {
  const std::size_t mains = green::debug::live_main_greenlets();
  std::optional<green::greenlet> child;
  bool ran = false;
  std::thread([&] { child.emplace([&ran] { ran = true; }); }).join();
  BOOST_TEST(green::debug::live_main_greenlets() == mains + 1);
  child->set_parent(green::getcurrent());
  BOOST_TEST(green::debug::live_main_greenlets() == mains);
  child->switch_();  // it runs here now, and ends back here
  BOOST_TEST(ran);
  BOOST_TEST(child->dead());
  child.reset();
}

// Many threads each free children of the others while those live, and of
// exited ones: every main greenlet is freed in the end.
BOOST_AUTO_TEST_CASE(children_freed_across_many_threads_free_every_main_greenlet) {
  const std::size_t mains = green::debug::live_main_greenlets();
  constexpr int kThreads = 4;
  constexpr int kChildren = 200;
  std::mutex mutex;
  std::vector<green::greenlet> shared;  // children made by every thread
  std::latch made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<green::greenlet> mine;
      for (int i = 0; i < kChildren; ++i) {
        mine.emplace_back([] {});
        if (i % 2 == 0) mine.back().switch_();  // half dead, half unstarted
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto& g : mine) shared.push_back(std::move(g));
      }
      made.arrive_and_wait();
      // Each thread frees a slice of everyone's children, most of them made
      // by threads that are still running.
      std::vector<green::greenlet> slice;
      {
        std::lock_guard<std::mutex> lock(mutex);
        for (int i = 0; i < kChildren; ++i) {
          slice.push_back(std::move(shared.back()));
          shared.pop_back();
        }
      }
      slice.clear();
      (void)green::getcurrent();  // takes back links queued to this thread
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(shared.empty());
  BOOST_TEST(green::debug::live_main_greenlets() == mains);
}

// A dead greenlet is freed by its own thread only: after it returns, that
// thread still moves its result off its stack, gives the stack back and
// traces. Here the greenlet hands its only handle to another thread, which
// drops it the moment it sees the greenlet dead. (Before the fix, the other
// thread freed the state and unmapped the stack under the receiver: SEGV
// in the result's move under ASan, a crash in -O2 runs of 200,000.)
BOOST_AUTO_TEST_CASE(last_handle_dropped_on_another_thread_as_the_greenlet_returns_is_safe) {
  const int rounds = RUNNING_ON_VALGRIND ? 200 : green::test::under_tsan ? 2000 : 20000;
  std::atomic<green::greenlet*> mailbox{nullptr};
  std::atomic<bool> stop{false};
  std::thread dropper([&] {
    for (;;) {
      green::greenlet* h = mailbox.exchange(nullptr, std::memory_order_acq_rel);
      if (h == nullptr) {
        if (stop.load(std::memory_order_acquire)) break;
        continue;
      }
      while (!h->dead()) {
      }
      delete h;  // the last handle
    }
  });
  int bad = 0;
  for (int i = 0; i < rounds; ++i) {
    while (mailbox.load(std::memory_order_acquire) != nullptr) {
    }
    green::greenlet g;
    g = green::greenlet([&]() -> std::string {
      mailbox.store(new green::greenlet(std::move(g)), std::memory_order_release);
      return std::string(100, 'x');  // not trivially movable: moved by arrive_slow()
    });
    green::value r = g.switch_();
    if (green::value_cast<std::string>(r) != std::string(100, 'x')) ++bad;
  }
  stop.store(true, std::memory_order_release);
  dropper.join();
  BOOST_TEST(bad == 0);
  BOOST_TEST(mailbox.load() == nullptr);
  (void)green::getcurrent();  // releases what the other thread dropped
  BOOST_TEST(green::debug::live_greenlets() == live_before);
}

// getmain() is the root of every parent chain of the calling thread, the
// same greenlet wherever it is asked on that thread, and another one on
// another thread.
BOOST_AUTO_TEST_CASE(getmain_is_the_threads_main_greenlet_from_any_depth) {
  const green::greenlet main = green::getcurrent();
  BOOST_TEST((green::getmain() == main));
  BOOST_TEST(green::getmain().is_main());
  bool inner_sees_main = false;
  green::greenlet outer([&] {
    green::greenlet inner([&] { inner_sees_main = green::getmain() == main; });
    inner.switch_();
  });
  outer.switch_();
  BOOST_TEST(inner_sees_main);
  bool other_is_other = false;
  bool other_is_main = false;
  std::thread([&] {
    other_is_other = !(green::getmain() == main);
    other_is_main = green::getmain().is_main() && green::getmain() == green::getcurrent();
  }).join();
  BOOST_TEST(other_is_other);
  BOOST_TEST(other_is_main);
}

// thread_state_alive() says whether green can still be used on this thread:
// yes before the first green call and while the thread runs; no in a
// thread_local destructor that runs after green's state was destroyed,
// where getcurrent() throws. It never throws itself.
BOOST_AUTO_TEST_CASE(thread_state_alive_is_false_only_after_the_threads_green_state_is_gone) {
  struct late_probe {
    bool* alive_then;
    bool* getcurrent_threw;
    ~late_probe() {
      *alive_then = green::thread_state_alive();
      try {
        (void)green::getcurrent();
      } catch (const green::error&) {
        *getcurrent_threw = true;
      }
    }
  };
  bool before_first_call = false;
  bool while_running = false;
  bool in_late_destructor = true;
  bool getcurrent_threw = false;
  std::thread([&] {
    // Constructed before green's state, so destroyed after it.
    thread_local late_probe probe{&in_late_destructor, &getcurrent_threw};
    before_first_call = green::thread_state_alive();
    (void)green::getcurrent();
    while_running = green::thread_state_alive();
  }).join();
  BOOST_TEST(before_first_call);
  BOOST_TEST(while_running);
  BOOST_TEST(!in_late_destructor);
  BOOST_TEST(getcurrent_threw);
}

BOOST_AUTO_TEST_SUITE_END()
