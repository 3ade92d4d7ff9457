// green/hub/lock.hpp
//
// rlock is a re-entrant lock owned by one greenlet at a time, gevent's
// lock.RLock: its owner may acquire it again (each acquire needs its
// release); others wait FIFO. It is Lockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock work.
//
//   green::rlock guard;
//   void update() {
//     std::scoped_lock hold(guard);
//     helper();  // may lock `guard` again
//   }
//
// Rules (docs/semantics.md, H7): acquire() returns false on timeout (H7.1);
// waiters are FIFO (H7.2); release() by a greenlet that does not own it
// throws green::runtime_error (H7.7); an owner that ends while holding it
// leaves it locked for good (H7.8); same thread only (H7.4).

#ifndef GREEN_HUB_LOCK_HPP
#define GREEN_HUB_LOCK_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/semaphore.hpp"

namespace green {

namespace detail {
struct rlock_core;
}

class GREEN_API rlock {
 public:
  rlock();
  rlock(const rlock&) = delete;
  rlock& operator=(const rlock&) = delete;
  // Greenlets still blocked in acquire() get green::error (H7.5).
  ~rlock();

  // acquire(): at once (counting one more level) if the calling greenlet
  // owns it, else as semaphore::acquire. false on timeout, never a throw.
  bool acquire(bool block = true, std::optional<duration> timeout = std::nullopt);
  bool acquire(std::optional<duration> timeout) { return acquire(true, timeout); }
  // release() drops one level; the last one unlocks it (the oldest waiter
  // gets it).
  // Throws: green::runtime_error if the calling greenlet does not own it
  //         (gevent: RuntimeError("cannot release un-acquired lock")).
  void release();

  // locked(): some greenlet owns it (gevent 22.10's RLock has no locked()).
  bool locked() const noexcept;
  // is_owned(): the calling greenlet owns it (Python: RLock._is_owned()).
  bool is_owned() const;
  // count(): the owner's acquire depth, 0 when unlocked.
  std::size_t count() const noexcept;

  void lock() { acquire(true, std::nullopt); }
  void unlock() { release(); }
  bool try_lock() { return acquire(false); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return acquire(true, std::chrono::duration_cast<duration>(d));
  }

 private:
  std::shared_ptr<detail::rlock_core> core_;
};

}  // namespace green

#endif  // GREEN_HUB_LOCK_HPP
