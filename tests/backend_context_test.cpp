// The stack-switch backend alone (lib/backend/context.hpp), without a
// greenlet above it: machine_context starts a function on a fresh stack,
// switches both ways (whole switch_to() and the split prepare_leave()/jump/
// arrived() path the library's fast path uses), keeps the exception state
// (caught exception, uncaught count) per context, and retires. A fault here
// is a backend fault, not a greenlet one.
#define BOOST_TEST_MODULE backend_context
#include <boost/test/unit_test.hpp>

#include <sys/mman.h>

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/context.hpp"
#include "support/fixtures.hpp"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREEN_TEST_HAVE_VALGRIND 1
#endif

namespace {

using green::detail::machine_context;

// A stack for one context, mapped (not taken from the library's pool, which
// would make this test depend on it), and announced to valgrind as a stack.
class test_stack {
 public:
  static constexpr std::size_t size = 256 * 1024;
  test_stack() {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    BOOST_REQUIRE(p != MAP_FAILED);
    base_ = static_cast<char*>(p);
#if defined(GREEN_TEST_HAVE_VALGRIND)
    valgrind_id_ = VALGRIND_STACK_REGISTER(base_, base_ + size);
#endif
  }
  test_stack(const test_stack&) = delete;
  test_stack& operator=(const test_stack&) = delete;
  ~test_stack() {
#if defined(GREEN_TEST_HAVE_VALGRIND)
    VALGRIND_STACK_DEREGISTER(valgrind_id_);
#endif
    ::munmap(base_, size);
  }
  void* top() const noexcept { return base_ + size; }

 private:
  char* base_ = nullptr;
#if defined(GREEN_TEST_HAVE_VALGRIND)
  unsigned valgrind_id_ = 0;
#endif
};

// The message of the exception `e` holds, or "" for none.
std::string what_of(const std::exception_ptr& e) {
  if (!e) return "";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

// An entry function is a plain function pointer, so the contexts and what
// the started context observes live here. Checks happen on the main stack.
struct rig {
  machine_context main;
  machine_context fiber;
  std::vector<std::string> log;
  machine_context* fiber_started_from = nullptr;
  machine_context* fiber_resumed_from = nullptr;
  std::string fiber_caught_at_start;
  int fiber_uncaught_at_start = -1;
  std::string fiber_caught_after_resume;
};
rig* the_rig = nullptr;

// Leaves `self` for `to` the way the library's switch entry points do: the
// jump's result is returned at once, so the call can be a tail call, and the
// caller hands it to arrived().
[[gnu::noinline]] green::detail::switch_transfer leave(machine_context& self, machine_context& to) {
  void* to_fctx = self.prepare_leave(to);
  return green::detail::jump_as_transfer()(to_fctx, &self);
}

void ping_pong_entry(machine_context* self, machine_context* from) {
  rig& r = *the_rig;
  r.fiber_started_from = from;
  r.log.push_back("fiber started");
  r.fiber_resumed_from = self->switch_to(*from);
  r.log.push_back("fiber resumed");
  // The split path, from the started side.
  r.fiber_resumed_from = machine_context::arrived(leave(*self, *from), self);
  r.log.push_back("fiber resumed again");
  self->exit_to(r.main);
}

void exception_state_entry(machine_context* self, machine_context* from) {
  rig& r = *the_rig;
  r.fiber_caught_at_start = what_of(std::current_exception());
  r.fiber_uncaught_at_start = std::uncaught_exceptions();
  try {
    throw std::runtime_error("fiber's own");
  } catch (const std::runtime_error&) {
    // Switch away from inside the handler: the caller must not see this
    // exception, and it must still be caught here on return.
    self->switch_to(*from);
    r.fiber_caught_after_resume = what_of(std::current_exception());
  }
  self->exit_to(r.main);
}

// Switches to the fiber from a destructor that runs while an exception
// unwinds the main stack (std::uncaught_exceptions() is 1 there).
struct switch_while_unwinding {
  rig& r;
  int& uncaught_before;
  int& uncaught_after;
  ~switch_while_unwinding() {
    uncaught_before = std::uncaught_exceptions();
    r.main.switch_to(r.fiber);
    uncaught_after = std::uncaught_exceptions();
  }
};

struct backend_fixture : green::test::leak_check {
  test_stack stack;
  rig r;
  backend_fixture() {
    machine_context::init_thread();
    the_rig = &r;
  }
  ~backend_fixture() {
    r.fiber.retire();
    the_rig = nullptr;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(backend_context, backend_fixture)

BOOST_AUTO_TEST_CASE(switch_to_prepared_context_runs_its_entry_on_the_new_stack_and_switches_back) {
  r.fiber.prepare(stack.top(), test_stack::size, &ping_pong_entry);
  machine_context* back = r.main.switch_to(r.fiber);
  BOOST_TEST(back == &r.fiber);
  BOOST_TEST(r.fiber_started_from == &r.main);
  BOOST_TEST(r.log == (std::vector<std::string>{"fiber started"}));

  // The split path from the main side: prepare_leave(), the jump, arrived().
  back = machine_context::arrived(leave(r.main, r.fiber), &r.main);
  BOOST_TEST(back == &r.fiber);
  BOOST_TEST(r.fiber_resumed_from == &r.main);
  BOOST_TEST(r.log == (std::vector<std::string>{"fiber started", "fiber resumed"}));

  // The fiber leaves for good with exit_to(); main resumes.
  r.fiber_resumed_from = nullptr;
  back = r.main.switch_to(r.fiber);
  BOOST_TEST(back == &r.fiber);
  BOOST_TEST(r.fiber_resumed_from == &r.main);
  BOOST_TEST(r.log ==
             (std::vector<std::string>{"fiber started", "fiber resumed", "fiber resumed again"}));
}

BOOST_AUTO_TEST_CASE(switch_from_a_catch_block_keeps_each_context_s_caught_exception) {
  r.fiber.prepare(stack.top(), test_stack::size, &exception_state_entry);
  std::string caught_after_fiber_left;
  try {
    throw std::logic_error("main's own");
  } catch (const std::logic_error&) {
    r.main.switch_to(r.fiber);
    caught_after_fiber_left = what_of(std::current_exception());
  }
  // The fiber started with no exception state, though main was in a handler.
  BOOST_TEST(r.fiber_caught_at_start == "");
  BOOST_TEST(r.fiber_uncaught_at_start == 0);
  // The fiber left from its own handler; main still sees only its own.
  BOOST_TEST(caught_after_fiber_left == "main's own");
  BOOST_TEST(what_of(std::current_exception()) == "");

  // Resumed outside any handler of main's, the fiber is still in its own.
  r.main.switch_to(r.fiber);
  BOOST_TEST(r.fiber_caught_after_resume == "fiber's own");
  BOOST_TEST(what_of(std::current_exception()) == "");
}

BOOST_AUTO_TEST_CASE(switch_during_unwinding_keeps_the_uncaught_count_per_context) {
  r.fiber.prepare(stack.top(), test_stack::size, &exception_state_entry);
  int uncaught_before = -1;
  int uncaught_after = -1;
  try {
    switch_while_unwinding s{r, uncaught_before, uncaught_after};
    throw std::logic_error("unwinding");
  } catch (const std::logic_error&) {
  }
  BOOST_TEST(uncaught_before == 1);
  BOOST_TEST(r.fiber_uncaught_at_start == 0);
  BOOST_TEST(uncaught_after == 1);
  BOOST_TEST(std::uncaught_exceptions() == 0);

  r.main.switch_to(r.fiber);
  BOOST_TEST(r.fiber_caught_after_resume == "fiber's own");
}

BOOST_AUTO_TEST_CASE(retire_twice_or_on_an_unprepared_context_is_harmless) {
  r.fiber.prepare(stack.top(), test_stack::size, &ping_pong_entry);
  r.fiber.retire();
  r.fiber.retire();
  machine_context never_prepared;
  never_prepared.retire();
  BOOST_TEST(r.log.empty());
}

BOOST_AUTO_TEST_SUITE_END()
