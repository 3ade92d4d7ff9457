// green/hub/timeout.hpp
//
// timeout is a scoped deadline for the greenlet that creates it, gevent's
// Timeout: once `d` has passed, it is thrown into that greenlet at the point
// where it blocks (a greenlet that never blocks is never interrupted). It is
// a signal, not an error: it does not derive from std::exception, so
// `catch (const std::exception&)` does not swallow it.
//
//   green::timeout t(std::chrono::seconds(5));
//   try {
//     slow_job();
//   } catch (const green::timeout& e) {
//     if (e != t) throw;  // an outer timeout: not ours (gevent: `if e is not t: raise`)
//     give_up();
//   }
//
// Rules (docs/semantics.md, H4): the deadline is cancelled when the scope
// ends (H4.1); what is thrown is a copy that compares equal to the scope
// object, so nested timeouts are told apart (H4.3); a timeout built with an
// exception throws that exception instead (H4.4); within() and
// with_timeout() swallow their own expiry (gevent's Timeout(s, False) and
// with_timeout) (H4.5).

#ifndef GREEN_HUB_TIMEOUT_HPP
#define GREEN_HUB_TIMEOUT_HPP

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "green/config.hpp"
#include "green/greenlet.hpp"
#include "green/hub/hub.hpp"

namespace green {

namespace detail {
struct timeout_core;
}

class GREEN_API timeout {
 public:
  // timeout(d) starts a deadline `d` from now for the current greenlet;
  // nothing (std::nullopt) never fires; zero fires at the hub's next turn.
  // Throws: green::error in the hub (which cannot be interrupted).
  explicit timeout(std::optional<duration> d);
  // timeout(d, ex) throws `ex` instead of the timeout itself.
  timeout(std::optional<duration> d, std::exception_ptr ex);
  template <detail::exception_object E>
  timeout(std::optional<duration> d, E&& ex)
      : timeout(d, std::make_exception_ptr(std::forward<E>(ex))) {}

  // Copies are what is thrown: they compare equal to the original but do
  // not own the deadline (destroying one cancels nothing).
  timeout(const timeout& other) noexcept;
  timeout& operator=(const timeout&) = delete;
  // ~timeout() cancels the deadline if this object owns it, and drops an
  // expiry that has not been delivered yet.
  ~timeout();

  // cancel() stops the deadline (gevent: cancel()/close()).
  void cancel() noexcept;
  // pending() is true while the deadline is armed.
  bool pending() const noexcept;
  // expired() is true once it fired.
  bool expired() const noexcept;
  // duration() is the length given, if any.
  std::optional<green::duration> length() const noexcept;

  friend bool operator==(const timeout& a, const timeout& b) noexcept {
    return a.core_ != nullptr && a.core_ == b.core_;
  }

  // detached() is a timeout tied to no deadline: what get() and killall()
  // throw when their own timeout expires. It equals no scope object.
  static timeout detached();

 private:
  timeout() noexcept = default;
  std::shared_ptr<detail::timeout_core> core_;
  bool owner_ = false;
};

// within(d, fn) runs fn() under a timeout of `d` and returns true if it
// finished, false if this timeout expired (the expiry is swallowed; outer
// timeouts and other exceptions propagate). gevent: `with Timeout(d, False):`.
template <class F>
bool within(std::optional<duration> d, F&& fn) {
  timeout t(d);
  try {
    std::forward<F>(fn)();
    return true;
  } catch (const timeout& e) {
    if (e != t) throw;
    return false;
  }
}

// with_timeout(d, fn, fallback) returns fn() or, if the timeout expired,
// `fallback`. gevent: gevent.with_timeout(d, fn, timeout_value=...).
template <class F, class R = std::invoke_result_t<F>>
R with_timeout(std::optional<duration> d, F&& fn, R fallback) {
  timeout t(d);
  try {
    return std::forward<F>(fn)();
  } catch (const timeout& e) {
    if (e != t) throw;
    return fallback;
  }
}

}  // namespace green

#endif  // GREEN_HUB_TIMEOUT_HPP
