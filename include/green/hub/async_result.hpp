// green/hub/async_result.hpp
//
// async_result<T> is a one-shot value greenlets wait for, gevent's
// AsyncResult. Its waiting side belongs to the hub of the thread that created
// it; set() and set_exception() may be called from any thread (the wake-up is
// posted to that hub safely). get() returns the value or rethrows, and throws
// green::timeout on expiry; wait() returns the value, or nothing on timeout
// or failure.
//
//   green::async_result<int> r;
//   std::thread worker([&] { r.set(compute()); });
//   int v = r.get();  // the hub keeps running other greenlets meanwhile
//   worker.join();
//
// While a greenlet waits on an async_result, the hub does not raise loop_exit
// for it: another thread may still set it (H5.3).

#ifndef GREEN_HUB_ASYNC_RESULT_HPP
#define GREEN_HUB_ASYNC_RESULT_HPP

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"

namespace green {

namespace detail {

struct remote_hub;
struct event_core;

class GREEN_API async_core : public std::enable_shared_from_this<async_core> {
 public:
  async_core();
  async_core(const async_core&) = delete;
  async_core& operator=(const async_core&) = delete;
  virtual ~async_core();
  // begin_set() locks and checks it was not set yet (green::error if it was).
  std::unique_lock<std::mutex> begin_set();
  // publish() marks it set (the lock is released) and wakes the waiters, on
  // the owning hub.
  void publish(std::unique_lock<std::mutex> lock);
  // wait() blocks on the owning thread until set or timeout: true if set.
  bool wait(std::optional<duration> timeout);
  bool ready() const noexcept;
  std::exception_ptr exception() const;
  // For wait()/iwait(): the owning hub and the waiting side.
  hub_state* owner() const noexcept { return owner_; }
  const std::shared_ptr<event_core>& waiting_side() const noexcept { return event_; }

  mutable std::mutex mtx;
  std::exception_ptr error;

 private:
  void notify_local();
  bool set_ = false;
  std::shared_ptr<remote_hub> remote_;
  hub_state* owner_;
  std::shared_ptr<event_core> event_;
};

template <class T>
class async_state final : public async_core {
 public:
  std::optional<T> value;
};
template <>
class async_state<void> final : public async_core {};

[[noreturn]] GREEN_API void throw_detached_timeout();

}  // namespace detail

class waitable;

template <class T = void>
class async_result {
 public:
  async_result() : s_(std::make_shared<detail::async_state<T>>()) {}

  // set() stores the value and wakes the waiters. Any thread may call it.
  // Throws: green::error if it was already set.
  template <class... V>
  void set(V&&... v) {
    auto lock = s_->begin_set();
    if constexpr (!std::is_void_v<T>) s_->value.emplace(std::forward<V>(v)...);
    s_->publish(std::move(lock));
  }
  void set_exception(std::exception_ptr ex) {
    auto lock = s_->begin_set();
    s_->error = std::move(ex);
    s_->publish(std::move(lock));
  }

  bool ready() const noexcept { return s_->ready(); }
  bool successful() const { return ready() && !s_->exception(); }
  std::exception_ptr exception() const { return ready() ? s_->exception() : nullptr; }

  // get() waits (up to `timeout`; not at all if !block) and returns the
  // value or rethrows the exception.
  // Throws: green::timeout if it is not set in time (gevent).
  T get(bool block = true, std::optional<duration> timeout = std::nullopt) const {
    // H5.4: the call keeps the state alive, also if this handle is destroyed
    // while it waits.
    auto s = s_;
    if (!s->ready() && (!block || !s->wait(timeout))) detail::throw_detached_timeout();
    if (auto e = s->exception()) std::rethrow_exception(e);
    if constexpr (!std::is_void_v<T>) {
      std::lock_guard<std::mutex> g(s->mtx);
      return *s->value;
    }
  }
  T get(std::optional<duration> timeout) const { return get(true, timeout); }

  // wait() waits up to `timeout` and returns the value if it was set with
  // one (for async_result<void>: whether it was set successfully); nothing
  // on timeout or exception (gevent: None).
  auto wait(std::optional<duration> timeout = std::nullopt) const {
    auto s = s_;  // H5.4, as in get()
    const bool ok = s->ready() || s->wait(timeout);
    if constexpr (std::is_void_v<T>) {
      return ok && !s->exception();
    } else {
      std::lock_guard<std::mutex> g(s->mtx);
      return ok && !s->error ? s->value : std::optional<T>{};
    }
  }

 private:
  friend class waitable;
  std::shared_ptr<detail::async_state<T>> s_;
};

}  // namespace green

#endif  // GREEN_HUB_ASYNC_RESULT_HPP
