// ThreadSanitizer understands greenlet switches (lib/backend/context.hpp
// tells it which fiber runs). This file is built only in a TSan build (make
// tsan, tests/CMakeLists.txt); the other builds check the same switches
// under ASan and valgrind.
//
// Each case runs in a forked child: a report can end the process
// (TSAN_OPTIONS=halt_on_error=1 in the tsan test preset).

#define BOOST_TEST_MODULE greenlet_tsan
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <latch>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>

#include "green/context.hpp"
#include "green/greenlet.hpp"
#include "support/child_process.hpp"
#include "support/fixtures.hpp"
#include "support/sanitizers.hpp"

static_assert(green::test::under_tsan, "greenlet_tsan_test is for the TSan build");

namespace {

int shared_counter = 0;  // written without synchronisation on purpose

// race_in_greenlets() has two threads increment shared_counter, each from
// inside a greenlet that is itself resumed from deep inside other calls.
// Both threads set up green's runtime before either increments: a thread's
// runtime registers with the debug registry (G15) under a mutex, at its
// start and at its exit, so a thread that started after the other had
// exited would be ordered after it, and TSan would rightly see no race.
int race_in_greenlets() {
  std::latch both_set_up(2);
  auto worker = [&both_set_up] {
    (void)green::getcurrent();  // this thread's runtime exists from here
    both_set_up.arrive_and_wait();
    green::greenlet w([] {
      green::getcurrent().parent()->switch_();  // park once: a switch out and back in
      ++shared_counter;
    });
    w.switch_();
    w.switch_();
  };
  std::thread a(worker);
  std::thread b(worker);
  a.join();
  b.join();
  return 0;
}

// hammer_context_of_switching_greenlet() reads and sets the context of a
// greenlet from the main thread while that greenlet's own thread keeps
// switching it in and out and replacing its context. Every call must be
// refused: exit status 0 if all were, 1 if any went through.
int hammer_context_of_switching_greenlet() {
  constexpr int calls = 2000;
  std::atomic<bool> done{false};
  std::binary_semaphore ready(0);
  std::optional<green::greenlet> shared;
  std::thread owner([&] {
    bool stop = false;
    green::greenlet g([&] {
      while (!stop) {
        green::getcurrent().set_gr_context(green::context());
        green::getcurrent().parent()->switch_();
      }
    });
    shared = g;
    ready.release();
    while (!done.load(std::memory_order_acquire)) {
      g.switch_();
      g.set_gr_context(std::nullopt);  // also while it is suspended
    }
    stop = true;
    g.switch_();
  });
  ready.acquire();
  int refused = 0;
  for (int i = 0; i < calls; ++i) {
    try {
      (void)shared->gr_context();
    } catch (const green::error&) {
      ++refused;
    }
    try {
      shared->set_gr_context(green::context());
    } catch (const green::error&) {
      ++refused;
    }
  }
  done.store(true, std::memory_order_release);
  owner.join();
  shared.reset();
  return refused == 2 * calls ? 0 : 1;
}

// first_report_stack() is the racing access's stack: the lines of the first
// report from "WARNING" up to the first blank line.
std::string first_report_stack(const std::string& err) {
  const std::size_t begin = err.find("WARNING: ThreadSanitizer");
  if (begin == std::string::npos) return {};
  const std::size_t end = err.find("\n\n", begin);
  return err.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tsan, green::test::leak_check)

BOOST_AUTO_TEST_CASE(
    a_race_between_greenlets_of_two_threads_is_reported_on_the_greenlets_own_stack) {
  green::test::child_result r = green::test::run_in_child(race_in_greenlets);
  const std::string stack = first_report_stack(r.err);
  BOOST_TEST_MESSAGE("child stderr:\n" << r.err);
  BOOST_TEST(stack.find("data race") != std::string::npos, "no race reported");
  // The access ran on the greenlet's stack, which starts at green's entry
  // frame. Without the fiber annotations TSan keeps one call stack per
  // thread and appends the frames of whoever switched in (switch_out).
  BOOST_TEST(stack.find("green::detail::machine_context::trampoline") != std::string::npos, stack);
  BOOST_TEST(stack.find("switch_out") == std::string::npos, stack);
}

BOOST_AUTO_TEST_CASE(switching_between_greenlets_of_one_thread_is_not_a_race) {
  green::test::child_result r = green::test::run_in_child([] {
    // Two greenlets of one thread take turns on a plain int: each switch
    // orders what came before it. Then another thread reads it after join.
    int turns = 0;
    std::thread t([&turns] {
      green::greenlet ping;
      green::greenlet pong([&] {
        for (;;) {
          ++turns;
          ping.switch_();
        }
      });
      ping.set_run([&] {
        for (int i = 0; i < 1000; ++i) {
          ++turns;
          pong.switch_();
        }
      });
      ping.switch_();
    });
    t.join();
    return turns == 2000 ? 0 : 1;
  });
  BOOST_TEST(r.exited_ok(), "child status " << r.status << ", stderr:\n" << r.err);
  BOOST_TEST(r.err.find("ThreadSanitizer") == std::string::npos, r.err);
}

// A greenlet's context is read and replaced without a lock on its own
// thread, so another thread is refused always, not only while the greenlet
// runs: a check for "not running" is followed by a switch into it.
BOOST_AUTO_TEST_CASE(context_of_switching_greenlet_from_other_thread_is_refused_without_race) {
  green::test::child_result r = green::test::run_in_child(hammer_context_of_switching_greenlet);
  BOOST_TEST(r.exited_ok(), "child status " << r.status << " (1: a call went through), stderr:\n"
                                            << r.err);
  BOOST_TEST(r.err.find("ThreadSanitizer") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
