// green/errors.hpp
//
// Exception types, in two families:
//   * errors derive from std::exception and report misuse: green::error.
//     The message always says what happened and what to do instead.
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

// error reports misuse: switching to a greenlet of another thread, a cyclic
// parent chain, switching to a greenlet that has no function, re-entering a
// running generator, sending a value into an unstarted generator, ...
// Python: greenlet.error, and the TypeError/ValueError/AttributeError cases.
class GREEN_API error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
