#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "green/generator_common.hpp"
#include "green/greenlet.hpp"
#include "green/value.hpp"
#include "green/version.hpp"

namespace green {

const char* version_string() noexcept { return GREEN_VERSION_STRING; }

namespace detail {
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
}  // namespace detail
}  // namespace green
