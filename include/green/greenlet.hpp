// green/greenlet.hpp
//
// A greenlet is a function running on its own stack that is entered and left
// only by explicit switches: any call at any depth can suspend. Greenlets
// form a tree. When a greenlet's function returns or throws, its value or
// exception goes to its parent, exactly as in Python's greenlet.
//
//   green::greenlet echo([](green::value v) {
//     for (;;) v = green::getcurrent().parent()->switch_(v);
//   });
//   green::value r = echo.switch_(42);  // r holds 42; echo is suspended
//
// Rules (details in README "Mapping from Python" and the greenlet spec):
//   * Creating a greenlet runs nothing. The first switch_() starts it and its
//     arguments become the function's arguments.
//   * A greenlet belongs to the thread that started it; switching to it from
//     another thread throws green::greenlet_error (Python: greenlet.error).
//   * greenlet is a handle: copies refer to the same greenlet. When the last
//     handle to a started, unfinished greenlet goes away, greenlet_exit is
//     thrown into it, so the destructors on its stack run.
//   * Exceptions never cross a switch as a live throw; they are carried and
//     rethrown on the receiving stack.

#ifndef GREEN_GREENLET_HPP
#define GREEN_GREENLET_HPP

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "green/config.hpp"
#include "green/context.hpp"
#include "green/errors.hpp"
#include "green/stack.hpp"
#include "green/value.hpp"

namespace green {

class greenlet;

namespace detail {
struct greenlet_state;  // lib/greenlet_state.hpp

// runnable is the type-erased function of a greenlet.
class GREEN_API runnable {
 public:
  virtual ~runnable();
  virtual value invoke(value&& args) = 0;
};

[[noreturn]] GREEN_API void throw_unexpected_arguments(const value& args);

// A switch is two library calls made from the caller's own frame:
// switch_out() suspends the caller and jumps; when something switches back,
// the caller resumes right where switch_out() was called, and switch_in()
// turns what arrived into the result. Splitting it this way means no
// library function returns across the stack switch, which keeps the CPU's
// return prediction correct (see lib/backend/context.hpp); it is the same
// switch, for a third of the cost. switch_transfer is opaque.
struct switch_transfer {
  void* fctx;
  void* data;
};
// switch_out() switches to `target` carrying `*payload` (moved out by the
// receiver; null: nothing, the receiver gets an empty value).
// Throws: as greenlet::switch_value().
GREEN_API switch_transfer switch_out(greenlet_state* target, value* payload);
// switch_out_noting() is switch_out() with no payload that first stores, in
// *leaving, the handle getcurrent() would return for the caller: the
// generators record who parks in a yield, and who consumes, without a
// getcurrent() call per item.
GREEN_API switch_transfer switch_out_noting(greenlet_state* target, const greenlet** leaving);
// switch_in() is what switch_out() returned; `payload` is the same slot.
GREEN_API value switch_in(switch_transfer t, value* payload);
// switch_in_void() is switch_in() for a caller that wants no value (any
// value that arrives is dropped): the generators' next() and yield.
GREEN_API void switch_in_void(switch_transfer t);

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

class greenlet;

namespace detail {
// What a greenlet can run: anything but a greenlet (which would be a copy).
template <class F>
concept greenlet_function = !std::is_same_v<std::remove_cvref_t<F>, greenlet>;
// What throw_() accepts besides an exception_ptr: an exception object.
template <class E>
concept exception_object = !std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>;
}  // namespace detail

// trace_event is what a trace function is told about a switch.
// Python: the 'switch' and 'throw' event strings of greenlet.settrace.
enum class trace_event {
  switch_,  // a value was delivered
  throw_,   // an exception was delivered (throw_(), a greenlet dying by an
            // exception, or a kill)
};

class GREEN_API greenlet {
 public:
  // greenlet() creates a greenlet without a function, like Python's
  // greenlet(): switching to it throws green::attribute_error until
  // set_run() gives it one.
  greenlet();

  // greenlet(fn) creates a greenlet that runs `fn` when first switched to.
  // Its parent is the greenlet current now. `fn` may take a green::value (the
  // packed switch payload), nothing, or typed parameters (the payload is
  // unpacked into them; a mismatch throws green::type_error in the parent).
  // Whatever `fn` returns goes to the parent as a green::value.
  template <detail::greenlet_function F>
  explicit greenlet(F&& fn, stack_options stack = {})
      : greenlet(detail::factory_for<F>{std::addressof(fn)}.get(), nullptr, stack) {}

  // greenlet(fn, parent) is greenlet(fn) with an explicit parent.
  template <detail::greenlet_function F>
  greenlet(F&& fn, const greenlet& parent, stack_options stack = {})
      : greenlet(detail::factory_for<F>{std::addressof(fn)}.get(), &parent, stack) {}

  greenlet(const greenlet& other) noexcept;
  greenlet(greenlet&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  greenlet& operator=(const greenlet& other) noexcept;
  greenlet& operator=(greenlet&& other) noexcept;
  // ~greenlet() drops this handle. If it was the last handle to a suspended
  // greenlet, greenlet_exit is thrown into it and it unwinds before this
  // returns (spec 1.14). Errors in that unwinding go to the unraisable hook.
  ~greenlet();

  // current() is the greenlet running on this thread (the thread's main
  // greenlet, created on first use, if no other runs). Python: getcurrent().
  // The reference is borrowed: it adds no reference count, so a greenlet
  // that writes `green::getcurrent().parent()->switch_()` does not keep
  // itself alive across the switch (a C++ temporary lives until the end of
  // the full expression). It stays valid while that greenlet exists; copy
  // it into a greenlet to keep one.
  static const greenlet& current();

  // switch_() suspends the current greenlet and runs this one, carrying the
  // arguments packed as green::pack() describes. On the first switch they are
  // the function's arguments; later, they are what the target's pending
  // switch_() returns. A dead target forwards to its parent (and so on up);
  // an unstarted parent is started. Returns what is later switched back.
  // Throws: greenlet_error for another thread, attribute_error if there is
  //         no function, type_error for a payload the function cannot take;
  //         any exception thrown into the caller with throw_() or escaping a
  //         child.
  template <class... A>
  value switch_(A&&... args) const {
    return switch_value(pack(std::forward<A>(args)...));
  }

  // switch_value() is switch_() with an already packed payload.
  value switch_value(value payload) const {
    return detail::switch_in(detail::switch_out(state_, &payload), &payload);
  }

  // throw_() switches to this greenlet and raises `ex` where it is suspended.
  // An unstarted greenlet dies without running its function; a dead one
  // passes `ex` to its parent chain. A greenlet_exit that kills the target is
  // returned as a value. Returns or throws as switch_() does.
  // Throws: type_error if `ex` is empty (nothing is switched).
  value throw_() const;
  value throw_(std::exception_ptr ex) const;
  template <detail::exception_object E>
  value throw_(E&& ex) const {
    return throw_(std::make_exception_ptr(std::forward<E>(ex)));
  }

  // parent() is the greenlet that receives control when this one finishes;
  // empty for a main greenlet.
  std::optional<greenlet> parent() const;

  // set_parent() changes the parent, also while this greenlet runs.
  // Throws: value_error on a cycle, or if this greenlet has started and `p`
  //         belongs to another thread; attribute_error for a main greenlet;
  //         type_error for an empty handle; greenlet_error if this started
  //         greenlet belongs to another thread than the caller.
  void set_parent(const greenlet& p) const;

  // set_run() replaces the function before the greenlet starts.
  // Throws: attribute_error once it has started, or on a main greenlet.
  // Python: g.run = f.
  template <class F>
  void set_run(F&& fn) const {
    set_runnable(detail::make_runnable(std::forward<F>(fn)));
  }
  // has_run() is true if the greenlet has a function and has not started.
  bool has_run() const;

  // started() is true once the greenlet has been switched to.
  bool started() const noexcept;
  // dead() is true once its function finished, or its thread exited.
  bool dead() const noexcept;
  // active: started and not dead (Python's bool(g)).
  explicit operator bool() const noexcept;
  // is_main() is true for the main greenlet of a thread.
  bool is_main() const noexcept;

  // id() is unique for the process lifetime; names are for diagnostics (the
  // stack overflow message names the greenlet). The name is truncated to 31 bytes.
  std::uint64_t id() const noexcept;
  void set_name(std::string_view name) const;
  std::string name() const;

  // gr_context() is the greenlet's context, or nothing if it has none yet.
  // set_gr_context() replaces it (nothing: the next set() creates a new one).
  // Throws: value_error if the greenlet is running in another thread.
  std::optional<context> gr_context() const;
  void set_gr_context(std::optional<context> ctx) const;

  friend bool operator==(const greenlet& a, const greenlet& b) noexcept {
    return a.state_ == b.state_;
  }

  // Internal: the state pointer (used by hash and the library).
  detail::greenlet_state* native_handle() const noexcept { return state_; }
  static greenlet from_native(detail::greenlet_state* s) noexcept;  // adds a reference

 private:
  friend struct detail::greenlet_state;
  greenlet(const detail::runnable_factory* fn, const greenlet* parent, stack_options stack);
  greenlet(const detail::runnable_factory& fn, const greenlet* parent, stack_options stack)
      : greenlet(&fn, parent, stack) {}
  explicit greenlet(detail::greenlet_state* adopt) noexcept : state_(adopt) {}
  void set_runnable(std::unique_ptr<detail::runnable> fn) const;
  detail::greenlet_state* state_;
};

// getcurrent() is greenlet::current() under its Python name.
GREEN_API const greenlet& getcurrent();

// A trace function sees every switch on its thread, after the switch, running
// in the target (getcurrent() == target). If it throws, tracing is turned off
// and the exception is raised in the target, as if thrown in with throw_().
using trace_function =
    std::function<void(trace_event event, const greenlet& origin, const greenlet& target)>;

// settrace() installs `fn` for the calling thread and returns the previous
// one; an empty function removes tracing. gettrace() returns it.
GREEN_API trace_function settrace(trace_function fn);
GREEN_API trace_function gettrace();

// The unraisable hook receives exceptions that have nowhere to go: one thrown
// by a greenlet while it is killed because its last handle went away (the
// destructor never throws). The default prints to stderr. Python:
// sys.unraisablehook.
using unraisable_hook = std::function<void(std::exception_ptr ex, const greenlet& g)>;
GREEN_API unraisable_hook set_unraisable_hook(unraisable_hook hook);

// report_unraisable() hands `ex`, which has nowhere to go (a destructor must
// not throw), to the unraisable hook with the greenlet it concerns; without a
// hook it prints "green: exception ignored while <context>: <what>" to
// stderr. Adapters use it for the same purpose (a generator's destructor).
// Never throws.
GREEN_API void report_unraisable(std::exception_ptr ex, const greenlet& where,
                                 const char* context) noexcept;

}  // namespace green

template <>
struct std::hash<green::greenlet> {
  std::size_t operator()(const green::greenlet& g) const noexcept {
    return std::hash<const void*>()(g.native_handle());
  }
};

#endif  // GREEN_GREENLET_HPP
