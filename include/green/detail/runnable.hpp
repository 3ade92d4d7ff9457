// green/detail/runnable.hpp: PART OF NO API. How a greenlet holds its
// function: runnable erases the function's type, invoke_with_payload() calls it
// with a switch payload the way Python calls run(*args), and runnable_factory
// lets the library build the function object inside the greenlet's own
// allocation. greenlet.hpp's constructors and set_run() use it.

#ifndef GREEN_DETAIL_RUNNABLE_HPP
#define GREEN_DETAIL_RUNNABLE_HPP

#include <cstddef>
#include <memory>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "green/config.hpp"
#include "green/value.hpp"

namespace green {
namespace detail {
// runnable is the type-erased function of a greenlet.
class GREEN_API runnable {
 public:
  virtual ~runnable();
  virtual value invoke(value&& args) = 0;
};

[[noreturn]] GREEN_API void throw_unexpected_arguments(const value& args);

template <class F>
struct call_signature : call_signature<decltype(&F::operator())> {};
template <class R, class... A>
struct call_signature<R (*)(A...)> {
  using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class... A>
struct call_signature<R (*)(A...) noexcept> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...)> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) const> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) noexcept> : call_signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) const noexcept> : call_signature<R (*)(A...)> {};

// Calls `fn` with the packed switch payload the way Python calls run(*args):
// a function taking a green::value gets the payload itself, a function taking
// nothing requires an empty payload, and a function taking typed parameters
// gets them unpacked (one parameter: the value; several: a std::tuple).
template <class F>
value invoke_with_payload(F& fn, value&& args) {
  auto wrap = [](auto&& call) -> value {
    using R = decltype(call());
    if constexpr (std::is_void_v<R>) {
      call();
      return value{};
    } else {
      return value(call());
    }
  };
  if constexpr (std::is_invocable_v<F&, value>) {
    return wrap([&]() -> decltype(auto) { return fn(std::move(args)); });
  } else if constexpr (std::is_invocable_v<F&>) {
    if (args.has_value()) throw_unexpected_arguments(args);
    return wrap([&]() -> decltype(auto) { return fn(); });
  } else {
    using params = typename call_signature<std::decay_t<F>>::args;
    if constexpr (std::tuple_size_v<params> == 1) {
      using P = std::tuple_element_t<0, params>;
      return wrap([&]() -> decltype(auto) { return fn(value_cast<P>(std::move(args))); });
    } else {
      return wrap(
          [&]() -> decltype(auto) { return std::apply(fn, value_cast<params>(std::move(args))); });
    }
  }
}

template <class F>
class runnable_impl final : public runnable {
 public:
  template <class G>
  explicit runnable_impl(G&& fn) : fn_(std::forward<G>(fn)) {}
  value invoke(value&& args) override { return invoke_with_payload(fn_, std::move(args)); }

 private:
  F fn_;
};

template <class F>
std::unique_ptr<runnable> make_runnable(F&& fn) {
  return std::make_unique<runnable_impl<std::decay_t<F>>>(std::forward<F>(fn));
}

// runnable_factory builds a function object in memory the library provides,
// so a greenlet and its function share one allocation.
struct runnable_factory {
  std::size_t size;
  std::size_t align;
  runnable* (*construct)(void* where, void* fn);
  void* fn;
};

// factory_for<F> points at the caller's function object for the duration of
// the constructor call that uses it (it is a temporary of that full
// expression), so plain functions and lambdas work alike.
template <class F>
struct factory_for {
  using impl = runnable_impl<std::decay_t<F>>;
  std::remove_reference_t<F>* fn;

  runnable_factory get() noexcept {
    return runnable_factory{sizeof(impl), alignof(impl), &build, this};
  }
  static runnable* build(void* where, void* self) {
    return ::new (where) impl(std::forward<F>(*static_cast<factory_for*>(self)->fn));
  }
};
}  // namespace detail
}  // namespace green

#endif  // GREEN_DETAIL_RUNNABLE_HPP
