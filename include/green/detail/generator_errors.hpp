// green/detail/generator_errors.hpp (internal)
//
// The generators' error wording and the exception helpers of the protocol,
// shared by both designs.
//
// Each error is the green::error subclass named after the Python type
// (errors.hpp), and each message contains the Python phrase, so the rules
// (docs/semantics.md, section P) can be found by grepping for it:
//   "generator already executing"                       (P1.8, P5.8)
//   "can't send non-void value to a just-started generator"  (P1.3)
//   "generator ignored generator_exit"                  (P3.4, P5.7)
//   "generator raised stop_iteration"                   (PEP 479: P4.1)
//   "yield outside a generator"                         (P8.5)

#ifndef GREEN_DETAIL_GENERATOR_ERRORS_HPP
#define GREEN_DETAIL_GENERATOR_ERRORS_HPP

#include <exception>
#include <utility>

#include "green/errors.hpp"
#include "green/generator_common.hpp"
#include "green/greenlet.hpp"

namespace green::detail {

// Cold, out of the hot paths; inline so that the header-only stackless
// generator can use them.

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_already_executing() {
  throw value_error(
      "generator already executing: next(), send(), throw_() and close() cannot be called on a "
      "generator (or one it delegates to) from inside its own body; drive it from outside "
      "(Python: ValueError: generator already executing)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_send_to_unstarted() {
  throw type_error(
      "can't send non-void value to a just-started generator: call next() first to run it to "
      "its first yield, then send() (Python: TypeError: can't send non-None value to a "
      "just-started generator)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_empty_exception() {
  throw type_error(
      "throw_(): the exception_ptr is empty; pass an exception object or a non-empty "
      "std::exception_ptr (Python: TypeError: exceptions must be classes or instances deriving "
      "from BaseException)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_no_default_send() {
  throw type_error(
      "next() on a started generator whose send type has no default value: the pending yield "
      "must return an S, so use send(value) instead");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_range_has_no_send() {
  throw attribute_error(
      "yield_from(range): the range has no send(); while a generator delegates to a plain C++ "
      "range, resume it with next() (Python: AttributeError: 'list_iterator' object has no "
      "attribute 'send')");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_delegated_twice() {
  throw value_error(
      "yield_from(): this generator is already being delegated to by another generator's "
      "yield_from; a generator can have one delegator at a time (finish or close the other "
      "delegation first)");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_no_result() {
  throw value_error(
      "result(): the generator has not returned a value (it is not finished, it raised, or it "
      "was closed before returning); result() is valid after next()/send()/throw_() threw "
      "stop_iteration");
}

// ignored_exit() is the exception close() reports when a body yields after
// generator_exit (P3.4 and P5.7).
[[gnu::cold, gnu::noinline]] inline std::exception_ptr ignored_exit() {
  return std::make_exception_ptr(runtime_error(
      "generator ignored generator_exit: the body yielded after close() threw generator_exit "
      "at its yield; catch generator_exit only to clean up, then rethrow or return (Python: "
      "RuntimeError: generator ignored GeneratorExit)"));
}

// pep479() turns a stop_iteration that is escaping a generator body into an
// error whose nested exception is the stop_iteration (PEP 479). Call it from
// inside the catch handler of that stop_iteration.
[[gnu::cold, gnu::noinline]] inline std::exception_ptr pep479() {
  try {
    std::throw_with_nested(runtime_error(
        "generator raised stop_iteration: a stop_iteration escaped the generator body (for "
        "example next() on a finished generator inside it); catch it in the body, or return "
        "to end the generator (Python: RuntimeError: generator raised StopIteration)"));
  } catch (...) {
    return std::current_exception();
  }
}

[[gnu::cold, gnu::noinline]] inline bool is_generator_exit(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const generator_exit&) {
    return true;
  } catch (...) {
    return false;
  }
}

[[gnu::cold, gnu::noinline]] inline bool is_stop_iteration(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const stop_iteration&) {
    return true;
  } catch (...) {
    return false;
  }
}

[[gnu::cold, gnu::noinline]] inline std::exception_ptr new_generator_exit() {
  return std::make_exception_ptr(generator_exit{});
}

// report_unraisable() passes an exception that has nowhere to go (a
// generator destructor must not throw, P6.1) to green's unraisable hook,
// which prints it to stderr if no hook is set.
[[gnu::cold, gnu::noinline]] inline void report_unraisable(std::exception_ptr e,
                                                           const char* what) noexcept {
  green::report_unraisable(std::move(e), getcurrent(), what);
}

}  // namespace green::detail

#endif  // GREEN_DETAIL_GENERATOR_ERRORS_HPP
