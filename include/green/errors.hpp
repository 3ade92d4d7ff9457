// green/errors.hpp
//
// Exception types, in two families:
//   * errors derive from std::exception and report misuse: green::error, or
//     one of its subclasses named after the Python type of the same misuse
//     (value_error, type_error, attribute_error, ...). The message always
//     says what happened and what to do instead.
//   * signals do NOT derive from std::exception. They are thrown INTO a
//     greenlet or generator to make it unwind: greenlet_exit, generator_exit.
//     Catch them only to clean up, then rethrow (or return, see below).
// So `catch (const std::exception&)` in user code never swallows a kill, just
// as Python's GreenletExit and GeneratorExit derive from BaseException.
//
//   try {
//     parent.switch_();
//   } catch (const green::greenlet_exit&) {
//     release_resources();
//     throw;  // or return: a greenlet_exit that ends the body is a value
//   }
//
// Exceptions never fly across a stack switch: they are caught on the stack
// where they were thrown, carried as std::exception_ptr and rethrown on the
// receiving stack.

#ifndef GREEN_ERRORS_HPP
#define GREEN_ERRORS_HPP

#include <stdexcept>
#include <string>
#include <utility>

#include "green/config.hpp"

namespace green {

// error reports misuse. Every error green throws is an `error`, so
// `catch (const green::error&)` catches them all; the subclasses below say
// which kind it is, named after the Python exception type the same misuse
// raises, so a port can tell them apart by type instead of by message text.
// Thrown as `error` itself: operations on an empty (moved-from) greenlet
// handle, which has no Python counterpart.
class GREEN_API error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// greenlet_error: a switch that cannot happen. Switching or throwing to a
// greenlet of another thread (or of a thread that has exited), reparenting a
// started greenlet from another thread.
// Python: greenlet.error.
class GREEN_API greenlet_error : public error {
 public:
  using error::error;
};

// value_error: an argument of the right type in the wrong state. A cyclic
// parent chain, a parent on another thread, re-entering a running generator
// ("generator already executing"), reading the context of a greenlet running
// on another thread, yield_from() on a generator that already has a
// delegator, result() before the generator returned a value, a stack size
// below the minimum.
// Python: ValueError.
class GREEN_API value_error : public error {
 public:
  using error::error;
};

// type_error: a value of the wrong type. value_cast<T> on a value holding
// something else (so also a typed greenlet function started with the wrong
// payload), arguments given to a function that takes none, an empty
// exception_ptr given to throw_(), an empty handle given to set_parent(), a
// value sent into a just-started generator, next() where the pending yield
// needs an S that has no default, stop_iteration::value<T>() with the wrong T.
// Python: TypeError.
class GREEN_API type_error : public error {
 public:
  using error::error;
};

// attribute_error: something the object does not have. Starting a greenlet
// that has no function, set_run() after the start or on a main greenlet,
// set_parent() on a main greenlet, send() into a generator that delegates to a
// plain C++ range (a sub-iterator without send).
// Python: AttributeError.
class GREEN_API attribute_error : public error {
 public:
  using error::error;
};

// lookup_error: context_var::get() on a variable that is not set and has no
// default.
// Python: LookupError.
class GREEN_API lookup_error : public error {
 public:
  using error::error;
};

// runtime_error: the generator protocol broke. A generator yielded after
// close() ("generator ignored generator_exit"), a stop_iteration escaped a
// generator body ("generator raised stop_iteration", PEP 479), a yield
// outside a running generator or with nobody left to yield to, a consumer
// switched to while it waits for a generator, green used on a thread whose
// green state has already been destroyed.
// Python: RuntimeError. (Spelled green::runtime_error; it is also a
// std::runtime_error, through green::error.)
class GREEN_API runtime_error : public error {
 public:
  using error::error;
};

// memory_error: a greenlet stack cannot be mapped, or its guard page cannot
// be created under guard_policy::required (address space or the kernel's
// vm.max_map_count exhausted).
// Python: MemoryError.
class GREEN_API memory_error : public error {
 public:
  using error::error;
};

// greenlet_exit is thrown into a greenlet to kill it: by throw_() with no
// argument and when the last handle to a suspended greenlet goes away. A
// greenlet_exit that escapes the greenlet's function is not an error: it is
// delivered to the parent as a *value* (a green::value holding the
// greenlet_exit). Python: greenlet.GreenletExit.
class GREEN_API greenlet_exit {
 public:
  greenlet_exit() = default;
  explicit greenlet_exit(std::string message) : message_(std::move(message)) {}
  virtual ~greenlet_exit() = default;
  // message() is the text given at construction (empty by default).
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

// generator_exit is thrown at the pending yield by generator::close().
// Python: GeneratorExit.
class GREEN_API generator_exit {
 public:
  virtual ~generator_exit() = default;
};

}  // namespace green

#endif  // GREEN_ERRORS_HPP
