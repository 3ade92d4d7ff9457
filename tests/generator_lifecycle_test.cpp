// Lifecycle: re-entrance (P1.8), destruction and finalisation (P6.1),
// moves, and consumers on several greenlets. Every case runs against both
// implementations.
#define BOOST_TEST_MODULE generator_lifecycle
#include <boost/test/unit_test.hpp>

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "green/greenlet.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"
#include "support/generator_impls.hpp"

using green::generator_state;
using green::test::contains;
using green::test::counted;
using green::test::error_text;
using green::test::generator_impls;
using green::test::log_t;
using green::test::on_exit;

namespace {

// hook_capture installs an unraisable hook for its lifetime and records the
// messages it receives.
struct hook_capture {
  std::vector<std::string> messages;
  green::unraisable_hook previous;
  hook_capture() {
    previous = green::set_unraisable_hook([this](std::exception_ptr e, const green::greenlet&) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        messages.push_back(ex.what());
      } catch (...) {
        messages.push_back("<non-std exception>");
      }
    });
  }
  ~hook_capture() { green::set_unraisable_hook(previous); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(generator_lifecycle, green::test::leak_check)

// P1.8: next() on a running generator, from its own body, raises "already
// executing" in the body; uncaught, the generator dies and is CLOSED.
BOOST_AUTO_TEST_CASE_TEMPLATE(next_from_own_body_raises_already_executing, Impl, generator_impls) {
  typename Impl::template gen<int>* self = nullptr;
  auto g = Impl::hooked([&] { (void)self->next(); }, 2);
  self = &g;
  const std::string what = error_text([&] { (void)g.next(); });
  BOOST_TEST(contains(what, "generator already executing"));
  BOOST_TEST(g.done());
  BOOST_CHECK_THROW(g.next(), green::stop_iteration);
}

// P1.8: caught inside the body, the generator carries on; send(),
// throw_() and close() are refused the same way.
BOOST_AUTO_TEST_CASE_TEMPLATE(reentrant_calls_caught_in_body_let_it_continue, Impl,
                              generator_impls) {
  typename Impl::template gen<int>* self = nullptr;
  std::vector<std::string> errors;
  auto g = Impl::hooked(
      [&] {
        errors.push_back(error_text([&] { (void)self->next(); }));
        errors.push_back(error_text([&] { (void)self->throw_(std::runtime_error("x")); }));
        errors.push_back(error_text([&] { self->close(); }));
      },
      2);
  self = &g;
  BOOST_TEST(g.next() == 0);
  BOOST_TEST(g.next() == 1);
  BOOST_TEST(errors.size() == 6u);
  for (const std::string& e : errors) BOOST_TEST(contains(e, "generator already executing"));
  BOOST_TEST(g.suspended());
}

// P6.1: destroying a suspended generator closes it: handlers, finally
// blocks and destructors run.
BOOST_AUTO_TEST_CASE_TEMPLATE(destroying_suspended_generator_closes_it, Impl, generator_impls) {
  log_t log;
  counted::reset();
  {
    auto g = Impl::exit_handler(log, on_exit::rethrow);
    BOOST_TEST(g.next() == "a");
    auto h = Impl::holding(3);
    BOOST_TEST(h.next() == 0);
    BOOST_TEST(counted::alive() == 2);
  }
  BOOST_TEST(log == (log_t{"generator_exit", "finally"}), boost::test_tools::per_element());
  BOOST_TEST(counted::alive() == 0);
}

// P6.1: an unstarted generator that is destroyed runs nothing.
BOOST_AUTO_TEST_CASE_TEMPLATE(destroying_unstarted_generator_runs_nothing, Impl, generator_impls) {
  log_t log;
  counted::reset();
  {
    auto g = Impl::logged(log);
    auto h = Impl::holding(3);
  }
  BOOST_TEST(log.empty());
  BOOST_TEST(counted::constructed == 0);
}

// P6.1: if close() fails in the destructor (the body ignores
// generator_exit), the error goes to the unraisable hook, never to the code
// that destroys the generator; the stack is still unwound.
BOOST_AUTO_TEST_CASE_TEMPLATE(destructor_reports_ignored_exit_to_unraisable_hook, Impl,
                              generator_impls) {
  log_t log;
  hook_capture hook;
  {
    auto g = Impl::exit_handler(log, on_exit::yield);
    BOOST_TEST(g.next() == "a");
  }
  BOOST_TEST(hook.messages.size() == 1u);
  if (!hook.messages.empty()) {
    BOOST_TEST(contains(hook.messages.front(), "generator ignored generator_exit"));
  }
  BOOST_TEST(log.front() == "generator_exit");
  BOOST_TEST(log.back() == "finally");  // its stack/frame was unwound
}

// P6.1: another exception out of close() in the destructor is reported too.
BOOST_AUTO_TEST_CASE_TEMPLATE(destructor_reports_exception_from_close, Impl, generator_impls) {
  log_t log;
  hook_capture hook;
  {
    auto g = Impl::exit_handler(log, on_exit::raise_other);
    BOOST_TEST(g.next() == "a");
  }
  BOOST_TEST(hook.messages == (std::vector<std::string>{"during close"}),
             boost::test_tools::per_element());
}

// Destroying a finished generator does nothing more.
BOOST_AUTO_TEST_CASE_TEMPLATE(destroying_finished_generator_does_nothing, Impl, generator_impls) {
  log_t log;
  hook_capture hook;
  {
    auto g = Impl::logged(log);
    for (int x : g) (void)x;
  }
  BOOST_TEST(log == (log_t{"start", "after 1", "end", "finally"}),
             boost::test_tools::per_element());
  BOOST_TEST(hook.messages.empty());
}

// A moved-from generator can be destroyed; the moved-to one continues.
BOOST_AUTO_TEST_CASE_TEMPLATE(moved_generator_continues, Impl, generator_impls) {
  auto g = Impl::counter(3);
  BOOST_TEST(g.next() == 0);
  auto h = std::move(g);
  BOOST_TEST(h.next() == 1);
  BOOST_TEST(h.next() == 2);
}

// Move assignment closes the generator that is replaced.
BOOST_AUTO_TEST_CASE_TEMPLATE(move_assignment_closes_replaced_generator, Impl, generator_impls) {
  log_t log;
  auto g = Impl::exit_handler(log, on_exit::rethrow);
  BOOST_TEST(g.next() == "a");
  g = Impl::exit_handler(log, on_exit::rethrow);
  BOOST_TEST(log == (log_t{"generator_exit", "finally"}), boost::test_tools::per_element());
  BOOST_TEST((g.state() == generator_state::created));
}

// A generator can be consumed from greenlets other than its creator, one
// after another (P7.1: the consumer is whoever calls).
BOOST_AUTO_TEST_CASE_TEMPLATE(generator_consumed_from_several_greenlets, Impl, generator_impls) {
  auto g = Impl::counter(6);
  std::vector<int> by_a, by_b;
  green::greenlet a([&] {
    for (;;) {
      by_a.push_back(g.next());
      green::getcurrent().parent()->switch_();
    }
  });
  green::greenlet b([&] {
    for (;;) {
      by_b.push_back(g.next());
      green::getcurrent().parent()->switch_();
    }
  });
  for (int i = 0; i < 3; ++i) {
    a.switch_();
    b.switch_();
  }
  BOOST_TEST(by_a == (std::vector<int>{0, 2, 4}), boost::test_tools::per_element());
  BOOST_TEST(by_b == (std::vector<int>{1, 3, 5}), boost::test_tools::per_element());
}

// A generator created in one greenlet and finished in another.
BOOST_AUTO_TEST_CASE_TEMPLATE(generator_finished_in_other_greenlet, Impl, generator_impls) {
  auto g = Impl::counter_ret(2, 5);
  BOOST_TEST(g.next() == 0);
  bool stopped = false;
  green::greenlet a([&] {
    (void)g.next();
    try {
      (void)g.next();
    } catch (const green::stop_iteration&) {
      stopped = true;
    }
  });
  a.switch_();
  BOOST_TEST(stopped);
  BOOST_TEST(g.result() == 5);
  BOOST_TEST(a.dead());
}

// Interleaving: a zip of two generators advances each independently.
BOOST_AUTO_TEST_CASE_TEMPLATE(zip_of_two_generators_advances_both, Impl, generator_impls) {
  auto a = Impl::counter(4);
  auto b = Impl::counter(3);
  auto z = Impl::zip_stage(a, b);
  std::vector<int> out;
  for (int v : z) out.push_back(v);
  BOOST_TEST(out == (std::vector<int>{0, 1001, 2002}), boost::test_tools::per_element());
  BOOST_TEST(b.done());
  BOOST_TEST(a.suspended());  // a was advanced once more than b could follow
}

// Interleaving: a generator that consumes another.
BOOST_AUTO_TEST_CASE_TEMPLATE(generator_consuming_another, Impl, generator_impls) {
  auto src = Impl::counter(5);
  auto sq = Impl::map_stage(src, [](int x) { return x * x; });
  std::vector<int> out;
  for (int v : sq) out.push_back(v);
  BOOST_TEST(out == (std::vector<int>{0, 1, 4, 9, 16}), boost::test_tools::per_element());
}

// G14.1: creating, running and destroying many generators does
// not accumulate greenlets or stacks (the fixture checks both).
BOOST_AUTO_TEST_CASE_TEMPLATE(many_generators_leave_nothing_behind, Impl, generator_impls) {
  long total = 0;
  for (int i = 0; i < 2000; ++i) {
    auto g = Impl::counter(3);
    for (int x : g) total += x;
    auto h = Impl::counter(3);
    total += h.next();  // destroyed while suspended
  }
  BOOST_TEST(total == 2000 * 3);
}

// G14.2: yielded values are released: nothing stays alive
// after 100 yields of counted objects.
BOOST_AUTO_TEST_CASE_TEMPLATE(yielded_values_are_released, Impl, generator_impls) {
  counted::reset();
  {
    auto g = Impl::holding(100);
    int n = 0;
    for (int x : g) n += x >= 0;
    BOOST_TEST(n == 100);
  }
  BOOST_TEST(counted::alive() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
