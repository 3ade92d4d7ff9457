// green/hub/semaphore.hpp
//
// semaphore is a counter of permits greenlets wait for, gevent.lock.Semaphore:
// acquire() takes a permit, blocking while there is none; release() gives one
// back, handing it straight to the oldest waiter if there is one (FIFO, no
// barging). bounded_semaphore also refuses to be released above its initial
// value. Both are Lockable, so std::lock_guard, std::unique_lock and
// std::scoped_lock work (gevent's `with sem:`).
//
//   green::bounded_semaphore slots(2);  // at most two downloads at once
//   green::spawn([&] {
//     std::lock_guard<green::bounded_semaphore> hold(slots);
//     download();
//   });
//
// Rules (docs/semantics.md, H7): acquire() returns false on timeout and never
// throws on it (H7.1); waiters are served FIFO and a handed-off permit is
// never lost nor doubled (H7.2); over-release of a bounded_semaphore throws
// green::value_error (H7.3); same thread only (H7.4); destroying it wakes its
// waiters with green::error (H7.5); the hub may use it without blocking
// (H7.6). wait()/iwait() accept a semaphore (H8).

#ifndef GREEN_HUB_SEMAPHORE_HPP
#define GREEN_HUB_SEMAPHORE_HPP

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"

namespace green {

namespace detail {
struct semaphore_core;
}
class waitable;

class GREEN_API semaphore {
 public:
  // Throws: green::value_error if value is negative (gevent: ValueError).
  explicit semaphore(std::ptrdiff_t value = 1);
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  // Greenlets still blocked in acquire() or wait() get green::error (H7.5).
  ~semaphore();

  // acquire() takes a permit: at once if one is free; else, with block,
  // waits up to `timeout` behind the earlier waiters. Returns false if none
  // was taken (block == false, or the timeout passed): it never throws on
  // timeout (gevent returns False).
  // Throws: blocking_switch_out_error if it would block the hub; green::error
  //         from another thread or if the semaphore is destroyed meanwhile; a
  //         timeout or kill aimed at the caller.
  bool acquire(bool block = true, std::optional<duration> timeout = std::nullopt);
  bool acquire(std::optional<duration> timeout) { return acquire(true, timeout); }
  // release() gives a permit back (to the oldest waiter, if any). Any
  // greenlet (and the hub) may release; a semaphore has no owner.
  // Throws: green::value_error for a bounded_semaphore released above its
  //         initial value, or a counter that would overflow.
  void release();
  // wait() blocks until a permit is free (without taking it) or `timeout`
  // passed, and returns the counter then (0 on timeout). gevent: wait().
  std::ptrdiff_t wait(std::optional<duration> timeout = std::nullopt);

  // locked(): no permit is free (gevent: locked()); ready() is the opposite.
  bool locked() const noexcept { return counter() <= 0; }
  bool ready() const noexcept { return counter() > 0; }
  std::ptrdiff_t counter() const noexcept;
  // waiting(): greenlets blocked in acquire() or wait().
  std::size_t waiting() const noexcept;

  // Lockable and TimedLockable, for std::lock_guard and friends.
  void lock() { acquire(true, std::nullopt); }
  void unlock() { release(); }
  bool try_lock() { return acquire(false); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return acquire(true, std::chrono::duration_cast<duration>(d));
  }

 protected:
  semaphore(std::ptrdiff_t value, bool bounded);

 private:
  friend class waitable;
  std::shared_ptr<detail::semaphore_core> core_;
};

// bounded_semaphore: release() above the initial value throws
// green::value_error. gevent: BoundedSemaphore.
class GREEN_API bounded_semaphore : public semaphore {
 public:
  explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore(value, true) {}
};

}  // namespace green

#endif  // GREEN_HUB_SEMAPHORE_HPP
