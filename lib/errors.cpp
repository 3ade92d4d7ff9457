// Errors thrown from more than one room, and how messages name things: a
// greenlet ("greenlet #12 'worker'"), a type (demangled).

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

#include "green/generator_common.hpp"
#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "runtime.hpp"

namespace green::detail {

std::string describe(const greenlet_state* g) {
  std::string s = "greenlet #" + std::to_string(g->id);
  if (g->name[0] != '\0') s += " '" + std::string(g->name) + "'";
  return s;
}

[[noreturn]] void throw_wrong_thread(greenlet_state* g, thread_record* owner, const char* what) {
  if (owner != nullptr && !owner->alive.load(std::memory_order_acquire)) {
    throw greenlet_error(
        "cannot " + std::string(what) + " " + describe(g) +
        ": it belongs to a different thread, which has exited. Its greenlets are dead "
        "(Python: greenlet.error: cannot switch to a different thread (which happens to "
        "have exited))");
  }
  throw greenlet_error(
      "cannot " + std::string(what) + " " + describe(g) +
      ": it belongs to a different thread. A greenlet only runs on the thread that "
      "started it; hand the work to that thread instead (Python: greenlet.error: cannot "
      "switch to a different thread)");
}

[[noreturn]] void throw_empty_handle() {
  throw error("operation on an empty green::greenlet handle (it was moved from)");
}

namespace {
std::string type_name(const std::type_info& t) {
  if (t == typeid(void)) return "nothing (an empty green::value)";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(t.name());
}
}  // namespace

void throw_bad_value_cast(const std::type_info& want, const std::type_info& have) {
  throw type_error("value_cast: wanted " + type_name(want) + " but the value holds " +
                   type_name(have));
}

void throw_bad_stop_value(const std::type_info& want, const std::type_info& have) {
  if (have == typeid(void)) {
    throw type_error("stop_iteration::value<" + type_name(want) +
                     ">(): this stop_iteration carries no value (the generator returns void, or "
                     "it had finished before this call: only the call that sees the body return "
                     "gets the value); test has_value() first, or read the generator's result()");
  }
  throw type_error("stop_iteration::value<" + type_name(want) + ">(): the generator returned " +
                   type_name(have) + "; ask for that type");
}

void throw_unexpected_arguments(const value& args) {
  throw type_error(
      "the greenlet's function takes no arguments, but it was started with a value of "
      "type " +
      type_name(args.type()) +
      " (Python: TypeError: run() takes 0 positional arguments but 1 was given)");
}
}  // namespace green::detail
