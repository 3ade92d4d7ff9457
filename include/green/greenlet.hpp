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
// Rules (details in docs/semantics.md G1-G14 and README "Mapping from Python"):
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
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "green/config.hpp"
#include "green/context.hpp"
#include "green/detail/runnable.hpp"
#include "green/detail/switch.hpp"
#include "green/errors.hpp"
#include "green/stack.hpp"
#include "green/value.hpp"

namespace green {

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
  // returns (G10.2). Errors in that unwinding go to the unraisable hook.
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
  // Only the greenlet's own thread may call them (an unstarted greenlet's:
  // the thread of its parent, where it will start), or any thread once that
  // thread has exited. The context is read and replaced without a lock on
  // its thread, so a check for "not running right now" would race with a
  // switch into it. Python is laxer: it refuses only while the greenlet runs
  // in another thread.
  // Throws: green::value_error if called on any other thread.
  std::optional<context> gr_context() const;
  void set_gr_context(std::optional<context> ctx) const;

  friend bool operator==(const greenlet& a, const greenlet& b) noexcept {
    return a.state_ == b.state_;
  }

  // Internal: the state pointer (used by hash and the library).
  detail::greenlet_state* native_handle() const noexcept { return state_; }
  static greenlet from_native(detail::greenlet_state* s) noexcept;  // adds a reference
  // borrow_native(s) is s's own handle, without a reference (like current()):
  // for a caller that knows `s` lives while it uses the handle (the hub
  // resumes greenlets blocked in it), and saves two atomic operations.
  static const greenlet& borrow_native(detail::greenlet_state* s) noexcept;

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

// getmain() is the calling thread's main greenlet, the root of every parent
// chain on this thread (created on first use, as by getcurrent()). The
// reference is borrowed, like getcurrent()'s.
// Throws: as getcurrent(), once the thread's green state is gone.
GREEN_API const greenlet& getmain();

// thread_state_alive() is false once the calling thread's green state has
// been destroyed: during thread exit, in a thread_local or static destructor
// that runs after it, where every green call throws green::error. True
// before the first green call (the state is then created on demand). It
// creates nothing and never throws: a destructor asks it before it switches.
GREEN_API bool thread_state_alive() noexcept;

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
