// semaphore_core.hpp (private to adapters/hub): the state of a semaphore,
// shared by its handle, its blocked waiters and wait()/iwait() observers, so
// none of them outlives it.

#ifndef GREEN_ADAPTERS_HUB_SEMAPHORE_CORE_HPP
#define GREEN_ADAPTERS_HUB_SEMAPHORE_CORE_HPP

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>

#include "hub_state.hpp"

namespace green::detail {

// sem_waiter: one greenlet blocked in acquire() (takes a permit) or wait()
// (only watches), on its stack for the duration of the block.
struct sem_waiter {
  wait_slot* slot;
  bool takes;
  bool granted = false;  // a permit was handed to it
};

struct semaphore_core {
  semaphore_core(hub_state* h, std::ptrdiff_t v, bool b) noexcept
      : owner(h), counter(v), bound(b ? v : -1) {}
  hub_state* owner;
  std::ptrdiff_t counter;
  std::ptrdiff_t bound;    // -1: unbounded
  bool destroyed = false;  // its handle is gone (H7.5)
  std::deque<sem_waiter*> waiters;
  observer_list observers;  // wait()/iwait(): told when a permit is free
};

// sem_acquire holds its own reference to the state while it waits (H7.5).
bool sem_acquire(const std::shared_ptr<semaphore_core>& c, bool block,
                 std::optional<duration> timeout, const void* object, const char* what,
                 const char* name);
void sem_release(semaphore_core& c, const char* what);
void sem_destroy(semaphore_core& c) noexcept;

}  // namespace green::detail

#endif  // GREEN_ADAPTERS_HUB_SEMAPHORE_CORE_HPP
