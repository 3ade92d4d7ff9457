// green/value.hpp
//
// What a switch carries. Python's switch(*args, **kwargs) carries any objects;
// green carries a green::value (std::any), packed from the C++ arguments by
// Python's rule (greenlet spec 1.4):
//
//   g.switch_()             -> empty value             (Python: ())
//   g.switch_(x)            -> x                       (a single value is unwrapped)
//   g.switch_(x, y)         -> std::tuple<X, Y>{x, y}
//   g.switch_(kw)           -> kw                      (kw is a green::kwargs)
//   g.switch_(x, kw)        -> std::tuple<std::tuple<X>, kwargs>
//   g.switch_(x, kwargs{})  -> x                       (empty kwargs are ignored)
//
// Arguments are stored decayed (a string literal arrives as const char*).
// value_cast<T>() reads a value back and reports a type mismatch as a
// green::error naming both types, instead of std::bad_any_cast.
//
//   green::value v = g.switch_(20, 22);
//   auto [a, b] = green::value_cast<std::tuple<int, int>>(v);

#ifndef GREEN_VALUE_HPP
#define GREEN_VALUE_HPP

#include <any>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "green/config.hpp"
#include "green/errors.hpp"

namespace green {

// value is the payload of a switch, a return value or a throw_() result.
using value = std::any;

// kwargs is the analogue of Python's **kwargs: passed as the last argument of
// switch_() it is packed as Python packs keyword arguments.
using kwargs = std::map<std::string, value>;

namespace detail {
[[noreturn]] GREEN_API void throw_bad_value_cast(const std::type_info& want,
                                                 const std::type_info& have);

template <class T>
struct is_kwargs : std::is_same<std::remove_cvref_t<T>, kwargs> {};

template <class Tuple, std::size_t... I>
auto tuple_prefix(Tuple&& t, std::index_sequence<I...>) {
  return std::make_tuple(std::get<I>(std::forward<Tuple>(t))...);
}

template <class... A>
value pack_positional(A&&... a) {
  if constexpr (sizeof...(A) == 0) {
    return value{};
  } else if constexpr (sizeof...(A) == 1) {
    return value(std::forward<A>(a)...);
  } else {
    return value(std::make_tuple(std::forward<A>(a)...));
  }
}
}  // namespace detail

// pack() applies Python's packing rule to the arguments of a switch (see the
// table above). switch_() and throw_() results are built with it.
template <class... A>
value pack(A&&... a) {
  if constexpr (sizeof...(A) == 0) {
    return value{};
  } else {
    using last = std::tuple_element_t<sizeof...(A) - 1, std::tuple<std::remove_cvref_t<A>...>>;
    if constexpr (!std::is_same_v<last, kwargs>) {
      return detail::pack_positional(std::forward<A>(a)...);
    } else {
      auto all = std::forward_as_tuple(std::forward<A>(a)...);
      kwargs kw = std::get<sizeof...(A) - 1>(all);
      auto positional = detail::tuple_prefix(all, std::make_index_sequence<sizeof...(A) - 1>{});
      if (kw.empty()) {
        return std::apply([](auto&&... p) { return detail::pack_positional(std::move(p)...); },
                          std::move(positional));
      }
      if constexpr (sizeof...(A) == 1) {
        return value(std::move(kw));
      } else {
        return value(std::make_tuple(std::move(positional), std::move(kw)));
      }
    }
  }
}

// value_cast<T>(v) returns the T held by `v` (moved out of an rvalue).
// Throws: green::error naming the wanted and the held type on a mismatch.
template <class T>
T value_cast(const value& v) {
  if (const T* p = std::any_cast<T>(&v)) return *p;
  detail::throw_bad_value_cast(typeid(T), v.type());
}
template <class T>
T value_cast(value&& v) {
  if (T* p = std::any_cast<T>(&v)) return std::move(*p);
  detail::throw_bad_value_cast(typeid(T), v.type());
}

}  // namespace green

#endif  // GREEN_VALUE_HPP
