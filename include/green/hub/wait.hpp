// green/hub/wait.hpp
//
// wait() and iwait() wait on several objects at once and report them as they
// become ready, gevent.wait and gevent.iwait. An object is a task (finished),
// an event (set), an async_result (set) or a semaphore (a permit is free; it
// is not taken). Each is passed as a green::waitable, a reference that
// converts implicitly from those objects and keeps their state alive while
// the wait lasts.
//
//   green::event stop;
//   auto worker = green::spawn(work);
//   for (green::waitable w : green::iwait({worker, stop}, 10s)) {
//     if (w == stop) worker.kill();
//   }
//   auto done = green::wait({a, b, c}, 1s);  // those ready within 1s
//
// Rules (docs/semantics.md, H8): objects already ready come first, in
// argument order, then the others in completion order (H8.1); the timeout
// covers the whole wait and ends it with a partial result, never a throw
// (H8.2); `count` stops after that many (H8.3); abandoning an iwait early
// unlinks everything (H8.4); same thread only (H8.5).

#ifndef GREEN_HUB_WAIT_HPP
#define GREEN_HUB_WAIT_HPP

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "green/config.hpp"
#include "green/hub/async_result.hpp"
#include "green/hub/event.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/semaphore.hpp"
#include "green/hub/task.hpp"

namespace green {

namespace detail {
struct iwait_state;
struct wait_access;
}  // namespace detail

// waitable: one object wait()/iwait() can watch. Two waitables compare equal
// when they refer to the same object (copies of a task handle are the same
// task), so `w == my_event` tells which one came back.
class GREEN_API waitable {
 public:
  enum class kind : std::uint8_t { task, event, async_result, semaphore };

  waitable(const task_base& t);
  waitable(const event& e);
  waitable(const semaphore& s);
  template <class T>
  waitable(const async_result<T>& r) : waitable(std::shared_ptr<detail::async_core>(r.s_)) {}

  kind type() const noexcept { return kind_; }
  // ready(): finished, set, or a permit is free, now.
  bool ready() const;
  // task(): the task if it is one, else an empty task_base.
  task_base task() const;

  friend bool operator==(const waitable& a, const waitable& b) noexcept {
    return a.core_ == b.core_;
  }

 private:
  friend struct detail::wait_access;
  explicit waitable(std::shared_ptr<detail::async_core> c);
  kind kind_;
  std::shared_ptr<void> core_;
};

// iwait_range: the objects of an iwait(), handed out one at a time as they
// become ready. Each step (next(), begin(), ++) blocks until the next one;
// the iteration ends after `count` objects or at the deadline. Destroying
// it (or close()) before the end unlinks it from every object.
class GREEN_API iwait_range {
 public:
  // Throws: green::error if an object belongs to another thread's hub.
  explicit iwait_range(std::vector<waitable> objects,
                       std::optional<duration> timeout = std::nullopt,
                       std::optional<std::size_t> count = std::nullopt);
  iwait_range(iwait_range&&) noexcept;
  iwait_range& operator=(iwait_range&&) noexcept;
  ~iwait_range();

  // next() blocks until the next object is ready and returns it; nothing
  // once `count` objects were returned or the deadline passed.
  // Throws: blocking_switch_out_error if it would block the hub; green::error
  //         from another thread; a timeout or kill aimed at the caller (the
  //         range stays usable: objects ready meanwhile are kept).
  std::optional<waitable> next();
  // timed_out(): the iteration ended at the deadline.
  bool timed_out() const noexcept;
  // close() ends the iteration and unlinks it from every object.
  void close() noexcept;

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = waitable;
    using difference_type = std::ptrdiff_t;
    using pointer = const waitable*;
    using reference = const waitable&;
    iterator() = default;
    const waitable& operator*() const { return *current_; }
    const waitable* operator->() const { return &*current_; }
    iterator& operator++() {
      current_ = range_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& i, std::default_sentinel_t) noexcept {
      return !i.current_.has_value();
    }

   private:
    friend class iwait_range;
    iwait_range* range_ = nullptr;
    std::optional<waitable> current_;
  };
  // begin() blocks for the first object.
  iterator begin();
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend struct detail::wait_access;
  std::shared_ptr<detail::iwait_state> s_;
};

// iwait(objects, timeout, count): the objects as they become ready (see
// iwait_range). gevent: gevent.iwait.
inline iwait_range iwait(std::vector<waitable> objects,
                         std::optional<duration> timeout = std::nullopt,
                         std::optional<std::size_t> count = std::nullopt) {
  return iwait_range(std::move(objects), timeout, count);
}

// wait(objects, timeout, count): blocks until `count` objects (default: all)
// are ready or `timeout` passed, and returns those ready: already ready ones
// in argument order, then the others in completion order. A timeout gives a
// partial list, never a throw. gevent: gevent.wait(objects).
GREEN_API std::vector<waitable> wait(std::vector<waitable> objects,
                                     std::optional<duration> timeout = std::nullopt,
                                     std::optional<std::size_t> count = std::nullopt);

// Any range of things that convert to waitable (std::vector<task<int>>, ...).
template <class R>
requires(!std::is_same_v<std::remove_cvref_t<R>, std::vector<waitable>> &&
         requires(const R& r) {
           waitable(*std::begin(r));
         }) std::vector<waitable> wait(const R& objects,
                                       std::optional<duration> timeout = std::nullopt,
                                       std::optional<std::size_t> count = std::nullopt) {
  return wait(std::vector<waitable>(std::begin(objects), std::end(objects)), timeout, count);
}
template <class R>
requires(!std::is_same_v<std::remove_cvref_t<R>, std::vector<waitable>> &&
         requires(const R& r) { waitable(*std::begin(r)); }) iwait_range
    iwait(const R& objects, std::optional<duration> timeout = std::nullopt,
          std::optional<std::size_t> count = std::nullopt) {
  return iwait_range(std::vector<waitable>(std::begin(objects), std::end(objects)), timeout, count);
}

}  // namespace green

#endif  // GREEN_HUB_WAIT_HPP
