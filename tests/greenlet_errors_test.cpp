// Error kinds of greenlets, values, contexts and stacks (errors.hpp): every
// misuse throws the green::error subclass named after the Python type of the
// same misuse (greenlet.error, ValueError, TypeError, AttributeError,
// LookupError, MemoryError), and `catch (const green::error&)` still
// catches it.
//
// Boost.Test assertions are not thread-safe: helper threads only record what
// they see, and every assertion runs on the test's thread after join().
#define BOOST_TEST_MODULE greenlet_errors
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>
#include <utility>

#include "green/context.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "green/value.hpp"
#include "support/error_kinds.hpp"
#include "support/fixtures.hpp"

using green::test::kind_of;

namespace {
// suspend() parks the calling greenlet in its parent.
void suspend() { green::getcurrent().parent()->switch_(); }
}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_errors, green::test::leak_check)

// greenlet.error: switching or throwing to a greenlet of another live thread.
BOOST_AUTO_TEST_CASE(switch_to_greenlet_of_other_thread_throws_greenlet_error) {
  green::greenlet suspended([] { suspend(); });
  suspended.switch_();
  std::string on_switch;
  std::string on_throw;
  bool caught_as_kind = false;
  std::thread([&] {
    on_switch = kind_of([&] { suspended.switch_(); });
    on_throw = kind_of([&] { suspended.throw_(); });
    try {
      suspended.switch_();
    } catch (const green::greenlet_error&) {
      caught_as_kind = true;
    } catch (...) {
    }
  }).join();
  BOOST_TEST(on_switch == "greenlet_error");
  BOOST_TEST(on_throw == "greenlet_error");
  BOOST_TEST(caught_as_kind);
  suspended.switch_();
  BOOST_TEST(suspended.dead());
}

// greenlet.error: the target's thread has exited.
BOOST_AUTO_TEST_CASE(switch_to_greenlet_of_exited_thread_throws_greenlet_error) {
  std::optional<green::greenlet> foreign;
  std::thread([&] { foreign.emplace([] {}); }).join();
  green::greenlet g([] {});
  g.set_parent(*foreign);  // allowed: g has not started
  BOOST_TEST(kind_of([&] { g.switch_(); }) == "greenlet_error");
  BOOST_CHECK_THROW(g.switch_(), green::greenlet_error);
}

// greenlet.error: a started greenlet is reparented from another thread.
BOOST_AUTO_TEST_CASE(set_parent_from_other_thread_throws_greenlet_error) {
  green::greenlet g([] { suspend(); });
  g.switch_();
  green::greenlet other([] {});
  std::string kind;
  std::thread([&] { kind = kind_of([&] { g.set_parent(other); }); }).join();
  BOOST_TEST(kind == "greenlet_error");
  g.switch_();
}

// ValueError: a cyclic parent chain.
BOOST_AUTO_TEST_CASE(cyclic_parent_throws_value_error) {
  green::greenlet a([] {});
  green::greenlet b([] {}, a);
  BOOST_CHECK_THROW(a.set_parent(b), green::value_error);
  BOOST_TEST(kind_of([&] { a.set_parent(a); }) == "value_error");
}

// ValueError: a started greenlet's new parent belongs to another thread.
BOOST_AUTO_TEST_CASE(parent_on_other_thread_throws_value_error) {
  std::optional<green::greenlet> foreign;
  std::binary_semaphore created(0);
  std::binary_semaphore done(0);
  std::thread t([&] {
    foreign.emplace([] {});
    created.release();
    done.acquire();
  });
  created.acquire();
  green::greenlet g([] { suspend(); });
  g.switch_();
  const std::string kind = kind_of([&] { g.set_parent(*foreign); });
  done.release();
  t.join();
  BOOST_TEST(kind == "value_error");
  g.switch_();
}

// ValueError: reading or setting the context of a greenlet that is running
// in another thread.
BOOST_AUTO_TEST_CASE(context_of_greenlet_running_elsewhere_throws_value_error) {
  std::optional<green::greenlet> other_main;
  std::binary_semaphore running(0);
  std::binary_semaphore done(0);
  std::thread t([&] {
    other_main.emplace(green::getcurrent());
    running.release();
    done.acquire();
  });
  running.acquire();
  const std::string get_kind = kind_of([&] { (void)other_main->gr_context(); });
  const std::string set_kind = kind_of([&] { other_main->set_gr_context(std::nullopt); });
  done.release();
  t.join();
  BOOST_TEST(get_kind == "value_error");
  BOOST_TEST(set_kind == "value_error");
  other_main.reset();
}

// ValueError: a default stack size below the minimum.
BOOST_AUTO_TEST_CASE(too_small_default_stack_size_throws_value_error) {
  BOOST_CHECK_THROW(green::set_default_stack_size(1024), green::value_error);
  BOOST_TEST(kind_of([] { green::set_default_stack_size(0); }) == "value_error");
}

// TypeError: throw_() with an empty exception_ptr.
BOOST_AUTO_TEST_CASE(throw_of_empty_exception_ptr_throws_type_error) {
  green::greenlet g([] {});
  BOOST_CHECK_THROW(g.throw_(std::exception_ptr()), green::type_error);
  BOOST_TEST(kind_of([&] { g.throw_(std::exception_ptr()); }) == "type_error");
  BOOST_TEST(!g.started());
}

// TypeError: set_parent() given an empty handle (Python: a non-greenlet).
BOOST_AUTO_TEST_CASE(set_parent_to_empty_handle_throws_type_error) {
  green::greenlet g([] {});
  green::greenlet moved([] {});
  green::greenlet keeper(std::move(moved));
  BOOST_CHECK_THROW(g.set_parent(moved), green::type_error);  // NOLINT(bugprone-use-after-move)
}

// TypeError: value_cast to the wrong type, and a typed function started with
// the wrong payload (which is the same cast).
BOOST_AUTO_TEST_CASE(bad_value_cast_throws_type_error) {
  const green::value v(5);
  BOOST_CHECK_THROW((void)green::value_cast<std::string>(v), green::type_error);
  green::greenlet g([](std::string) {});
  BOOST_TEST(kind_of([&] { g.switch_(5); }) == "type_error");
}

// TypeError: arguments given to a function that takes none.
BOOST_AUTO_TEST_CASE(arguments_to_function_without_parameters_throw_type_error) {
  green::greenlet g([] {});
  BOOST_CHECK_THROW(g.switch_(1), green::type_error);
}

// AttributeError: a greenlet without a function, set_run() after the start
// or on a main greenlet, set_parent() on a main greenlet.
BOOST_AUTO_TEST_CASE(missing_or_fixed_run_and_main_parent_throw_attribute_error) {
  green::greenlet empty;
  BOOST_CHECK_THROW(empty.switch_(), green::attribute_error);
  BOOST_TEST(kind_of([&] { empty.throw_(); }) == "attribute_error");

  green::greenlet started([] { suspend(); });
  started.switch_();
  BOOST_TEST(kind_of([&] { started.set_run([] {}); }) == "attribute_error");
  started.switch_();

  const green::greenlet& main = green::getcurrent();
  BOOST_TEST(kind_of([&] { main.set_run([] {}); }) == "attribute_error");
  green::greenlet other([] {});
  BOOST_TEST(kind_of([&] { main.set_parent(other); }) == "attribute_error");
}

// LookupError: an unset context_var without a default.
BOOST_AUTO_TEST_CASE(unset_context_var_throws_lookup_error) {
  const green::context_var<int> var("UNSET");
  BOOST_CHECK_THROW((void)var.get(), green::lookup_error);
  BOOST_TEST(kind_of([&] { (void)var.get(); }) == "lookup_error");
}

// MemoryError: a stack that cannot be mapped (larger than the address
// space); the greenlet stays unstarted.
BOOST_AUTO_TEST_CASE(unmappable_stack_throws_memory_error) {
  green::greenlet g([] {}, green::stack_options{green::max_stack_size});
  BOOST_CHECK_THROW(g.switch_(), green::memory_error);
  BOOST_TEST(!g.started());
}

// A size above max_stack_size is a wrong value, not a lack of memory.
BOOST_AUTO_TEST_CASE(stack_size_above_the_limit_throws_value_error) {
  green::greenlet g([] {}, green::stack_options{green::max_stack_size + 1});
  BOOST_CHECK_THROW(g.switch_(), green::value_error);
  BOOST_CHECK_THROW(green::set_default_stack_size(green::max_stack_size + 1), green::value_error);
  BOOST_TEST(!g.started());
}

// Plain green::error, no subclass: an operation on an empty (moved-from)
// handle has no Python counterpart.
BOOST_AUTO_TEST_CASE(empty_handle_throws_plain_error) {
  green::greenlet moved([] {});
  green::greenlet keeper(std::move(moved));
  BOOST_TEST(kind_of([&] { moved.switch_(); }) == "error");  // NOLINT(bugprone-use-after-move)
  BOOST_TEST(kind_of([&] { (void)moved.gr_context(); }) == "error");
}

BOOST_AUTO_TEST_SUITE_END()
