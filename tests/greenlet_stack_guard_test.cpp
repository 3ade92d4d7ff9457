// Greenlet stacks past the guard-page budget, and stack sizes too large to
// round (include/green/stack.hpp): guard_policy::required is only ever served
// by a stack with a real guard page, the budget counts guarded stacks mapped
// at once (it recovers when they are unmapped), and a size near SIZE_MAX is a
// green::error instead of a stack of 0 bytes.
//
// The budget is lowered through the test hook in green/debug.hpp, so a few
// stacks reach it; each case restores it.
#define BOOST_TEST_MODULE greenlet_stack_guard
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "green/debug.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "support/fixtures.hpp"

namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t kSizeMax = std::numeric_limits<std::size_t>::max();

void park() { green::getcurrent().parent()->switch_(); }

// budget_of_one lowers the guard-page budget so that exactly one more guarded
// stack fits in the process, and restores it on destruction. It empties this
// thread's pool first, so the stacks of earlier cases count for nothing.
struct budget_of_one {
  std::size_t saved = green::debug::guard_page_budget();
  budget_of_one() {
    flush_pool();
    green::debug::set_guard_page_budget(green::debug::guarded_stacks() + 1);
  }
  ~budget_of_one() {
    flush_pool();
    green::debug::set_guard_page_budget(saved);
  }
  // Unmaps this thread's pooled stacks (a pooled stack keeps its guard page).
  static void flush_pool() {
    green::set_stack_pool_limit(0);
    green::set_stack_pool_limit(256);
  }
};

// What a greenlet body saw of its own stack.
struct probe {
  bool ran = false;
  bool guarded = false;
  std::string error;  // what the first switch threw, if anything
};

probe run_probe(std::size_t size, green::guard_policy policy) {
  probe p;
  green::greenlet g(
      [&p] {
        p.ran = true;
        p.guarded = green::debug::current_stack_guarded();
      },
      green::stack_options{.size = size, .guard = policy});
  try {
    g.switch_();
  } catch (const green::error& e) {
    p.error = e.what();
  }
  return p;
}

std::string first_switch_error(std::size_t size) {
  bool ran = false;
  green::greenlet g([&ran] { ran = true; }, green::stack_options{.size = size});
  std::string message;
  try {
    g.switch_();
  } catch (const green::error& e) {
    message = e.what();
  }
  BOOST_TEST(!ran);
  BOOST_TEST(!g.started());
  return message;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_stack_guard, green::test::leak_check)

// The introspection the other cases rely on: a default greenlet has a guard
// page, one with guard_policy::none has not, the main greenlet has none.
BOOST_AUTO_TEST_CASE(current_stack_guarded_reports_the_guard_page_of_the_running_stack) {
  BOOST_TEST(!green::debug::current_stack_guarded());
  const probe guarded = run_probe(0, green::guard_policy::fallback);
  BOOST_TEST(guarded.ran);
  BOOST_TEST(guarded.guarded);
  const probe bare = run_probe(0, green::guard_policy::none);
  BOOST_TEST(bare.ran);
  BOOST_TEST(!bare.guarded);
}

// Issue 3(a): after the budget is spent, a fallback greenlet runs on an
// unguarded (slab) stack; when it finishes, that stack is pooled. A required
// greenlet of the same size must not be given it: it gets a guarded stack or
// throws. A later fallback greenlet of that size reuses the pooled unguarded
// stack instead of carving another.
BOOST_AUTO_TEST_CASE(required_greenlet_is_never_served_a_pooled_unguarded_stack) {
  constexpr std::size_t size = 76 * KiB;  // no other case uses it
  budget_of_one budget;
  green::greenlet holder(park, green::stack_options{.size = size});
  holder.switch_();  // takes the one guarded stack the budget allows
  const green::stack_stats s0 = green::get_stack_stats();
  const probe fallback = run_probe(size, green::guard_policy::fallback);
  BOOST_TEST(fallback.ran);
  BOOST_TEST(!fallback.guarded);
  BOOST_TEST(green::get_stack_stats().unguarded == s0.unguarded + 1);

  const probe strict = run_probe(size, green::guard_policy::required);
  BOOST_TEST(!(strict.ran && !strict.guarded), "a required greenlet ran with no guard page");
  BOOST_TEST(!strict.ran);
  BOOST_TEST(strict.error.find("guard-page budget is spent") != std::string::npos, strict.error);

  const green::stack_stats s1 = green::get_stack_stats();
  const probe again = run_probe(size, green::guard_policy::fallback);
  BOOST_TEST(again.ran);
  BOOST_TEST(!again.guarded);
  BOOST_TEST(green::get_stack_stats().mapped == s1.mapped);
  BOOST_TEST(green::get_stack_stats().unguarded == s1.unguarded);
}

// Issue 3(b): the budget counts guarded stacks mapped at once. Once the
// guarded stacks that spent it are unmapped, guard_policy::required works
// again and guard_policy::fallback gets guard pages again.
BOOST_AUTO_TEST_CASE(guard_budget_recovers_when_guarded_stacks_are_unmapped) {
  constexpr std::size_t size = 84 * KiB;  // no other case uses it
  budget_of_one budget;
  {
    green::greenlet holder(park, green::stack_options{.size = size});
    holder.switch_();
    const probe strict = run_probe(size, green::guard_policy::required);
    BOOST_TEST(!strict.ran);
    BOOST_TEST(strict.error.find("guard-page budget is spent") != std::string::npos, strict.error);
    const probe fallback = run_probe(size, green::guard_policy::fallback);
    BOOST_TEST(fallback.ran);
    BOOST_TEST(!fallback.guarded);
  }                             // holder is killed; its guarded stack goes to the pool
  budget_of_one::flush_pool();  // and is unmapped
  const probe strict = run_probe(size, green::guard_policy::required);
  BOOST_TEST(strict.ran,
             "required still throws after the guarded stacks were unmapped: " << strict.error);
  BOOST_TEST(strict.guarded);

  budget_of_one::flush_pool();
  const probe fallback = run_probe(size, green::guard_policy::fallback);
  BOOST_TEST(fallback.ran);
  BOOST_TEST(fallback.guarded, "fallback stacks stay unguarded after the budget recovered");
}

// Issue 7: a size whose rounding to whole pages (or whose guard page) would
// wrap around is a green::error naming the size and the limit, thrown by the
// first switch with nothing changed, instead of a stack of 0 bytes.
BOOST_AUTO_TEST_CASE(stack_size_near_size_max_throws_error_naming_size_and_limit) {
  const std::size_t page = 4096;  // the smallest page size green runs on
  const std::size_t in_use = green::get_stack_stats().in_use;
  for (std::size_t size : {kSizeMax, kSizeMax - 1, kSizeMax - page + 1, kSizeMax / 2 + 1}) {
    BOOST_TEST_CONTEXT("size " << size) {
      const std::string message = first_switch_error(size);
      BOOST_TEST(message.find(std::to_string(size)) != std::string::npos, message);
      BOOST_TEST(message.find(std::to_string(green::max_stack_size)) != std::string::npos, message);
    }
  }
  BOOST_TEST(green::get_stack_stats().in_use == in_use);
  // The largest size is accepted (it may still fail to map: not its size's fault).
  const std::string at_limit = first_switch_error(green::max_stack_size);
  BOOST_TEST(at_limit.find("cannot map a greenlet stack") != std::string::npos, at_limit);
}

// Issue 7, set_default_stack_size(): the same sizes are refused with the
// size and the limit named, and the default stays as it was.
BOOST_AUTO_TEST_CASE(default_stack_size_near_size_max_throws_error_naming_size_and_limit) {
  const std::size_t original = green::default_stack_size();
  for (std::size_t size : {kSizeMax, kSizeMax - 1, kSizeMax - 4096 + 1, kSizeMax / 2 + 1}) {
    BOOST_TEST_CONTEXT("size " << size) {
      std::string message;
      try {
        green::set_default_stack_size(size);
      } catch (const green::value_error& e) {  // Python: ValueError
        message = e.what();
      }
      BOOST_TEST(message.find(std::to_string(size)) != std::string::npos, message);
      BOOST_TEST(message.find(std::to_string(green::max_stack_size)) != std::string::npos, message);
      BOOST_TEST(green::default_stack_size() == original);
    }
  }
  BOOST_CHECK_NO_THROW(green::set_default_stack_size(green::max_stack_size));
  green::set_default_stack_size(original);
  BOOST_TEST(green::default_stack_size() == original);
}

// Size 0 keeps its documented meaning, default_stack_size(): the greenlet
// runs, on a guarded stack, and set_default_stack_size(0) stays an error.
BOOST_AUTO_TEST_CASE(stack_size_zero_means_the_default_size) {
  const probe p = run_probe(0, green::guard_policy::required);
  BOOST_TEST(p.ran, p.error);
  BOOST_TEST(p.guarded);
  BOOST_CHECK_THROW(green::set_default_stack_size(0), green::error);
}

BOOST_AUTO_TEST_SUITE_END()
