// green/generator_common.hpp
//
// What users of both generator designs need: the end-of-sequence exception
// and the state enum.
//
//   green::generator<int> g = ...;              // or green::stackless::generator<int>
//   try { for (;;) use(g.next()); }
//   catch (const green::stop_iteration&) {}     // g.state() == generator_state::closed
//
// Users normally include green/generator.hpp (stackful) or green/stackless.hpp
// (C++20 coroutines); both include this header. What the two designs share
// inside is in green/detail/ (internal): the protocol
// (generator_protocol.hpp), the delegation chain and the iterator
// (generator_chain.hpp), the error wording (generator_errors.hpp).

#ifndef GREEN_GENERATOR_COMMON_HPP
#define GREEN_GENERATOR_COMMON_HPP

#include <cstdint>
#include <exception>
#include <memory>
#include <typeinfo>
#include <utility>

#include "green/config.hpp"

namespace green {

namespace detail {
struct chain_node;
[[noreturn]] GREEN_API void throw_bad_stop_value(const std::type_info& want,
                                                 const std::type_info& have);
}  // namespace detail

// stop_iteration is thrown by next(), send() and throw_() when the generator
// has finished. Range-for stops quietly instead. It is an error-family
// exception: it derives from std::exception.
//
// The return value is given once, as CPython gives StopIteration.value: the
// stop_iteration of the call that saw the body return carries the value
// (has_value(), value<R>()); every later next()/send() on the finished
// generator throws a bare stop_iteration, and so does a body that ended by
// raising, by close(), or without a value (R = void: Python's None).
// result() is not a second delivery but the generator's record of how it
// ended: it keeps the value for as long as the generator exists, which is
// how to read it after a range-for (which swallows the stop) or a close().
//
//   try { use(g.next()); }
//   catch (const green::stop_iteration& s) {
//     if (s.has_value()) total = s.value<int>();   // Python: s.value
//   }
//
// The value is shared with the generator's result(), not copied, so R may be
// move-only and the exception stays cheap and nothrow to copy; it outlives
// the generator. value<T>() gives const access.
//
// A stop_iteration that escapes a generator body is turned into
// green::runtime_error("generator raised stop_iteration"), whose nested
// exception (std::rethrow_if_nested) is the original (PEP 479).
// Python: StopIteration.
class stop_iteration : public std::exception {
 public:
  stop_iteration() noexcept = default;
  const char* what() const noexcept override { return "generator finished (stop_iteration)"; }

  // has_value(): this stop ended the call that saw the body return a value.
  bool has_value() const noexcept { return value_ != nullptr; }
  // type() is typeid of the carried value, typeid(void) when there is none.
  const std::type_info& type() const noexcept { return value_ ? *type_ : typeid(void); }
  // value<T>() is the returned value. Throws: type_error if there is none or
  // T is not the generator's R (the message names both types).
  template <class T>
  const T& value() const {
    if (const T* v = get_if<T>()) return *v;
    detail::throw_bad_stop_value(typeid(T), type());
  }
  // get_if<T>() points at the returned value, or is null if there is none or
  // T is not the generator's R.
  template <class T>
  const T* get_if() const noexcept {
    if (!value_ || *type_ != typeid(T)) return nullptr;
    return static_cast<const T*>(value_.get());
  }

 private:
  friend struct detail::chain_node;
  stop_iteration(std::shared_ptr<const void> v, const std::type_info* t) noexcept
      : value_(std::move(v)), type_(t) {}
  std::shared_ptr<const void> value_;
  const std::type_info* type_ = nullptr;
};

// generator_state is what state() reports.
// Python: inspect.getgeneratorstate() -> GEN_CREATED, GEN_RUNNING,
// GEN_SUSPENDED, GEN_CLOSED.
enum class generator_state : std::uint8_t {
  created,    // nothing has run yet
  running,    // executing now (also a delegator whose delegate is executing)
  suspended,  // paused at a yield (or inside yield_from)
  closed,     // returned, raised, or closed; its stack/frame is gone
};

}  // namespace green

#endif  // GREEN_GENERATOR_COMMON_HPP
