// tests/support/error_kinds.hpp: checking which kind of green::error a
// misuse throws (errors.hpp), and that `catch (const green::error&)` still
// catches it.

#ifndef GREEN_TESTS_SUPPORT_ERROR_KINDS_HPP
#define GREEN_TESTS_SUPPORT_ERROR_KINDS_HPP

#include <string>

#include "green/errors.hpp"

namespace green::test {

// kind_name(e) names the most derived green::error class of `e`.
inline std::string kind_name(const green::error& e) {
  if (dynamic_cast<const green::greenlet_error*>(&e)) return "greenlet_error";
  if (dynamic_cast<const green::value_error*>(&e)) return "value_error";
  if (dynamic_cast<const green::type_error*>(&e)) return "type_error";
  if (dynamic_cast<const green::attribute_error*>(&e)) return "attribute_error";
  if (dynamic_cast<const green::lookup_error*>(&e)) return "lookup_error";
  if (dynamic_cast<const green::runtime_error*>(&e)) return "runtime_error";
  if (dynamic_cast<const green::memory_error*>(&e)) return "memory_error";
  return "error";
}

// kind_of(f) runs f and returns the kind_name() of the green::error it
// throws, caught as a green::error (so a kind that no longer derives from
// green::error shows up as "<other exception>"), or "<no error>".
template <class F>
std::string kind_of(F&& f) {
  try {
    f();
  } catch (const green::error& e) {
    return kind_name(e);
  } catch (...) {
    return "<other exception>";
  }
  return "<no error>";
}

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_ERROR_KINDS_HPP
