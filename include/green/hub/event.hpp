// green/hub/event.hpp
//
// event is a flag greenlets wait on, gevent.event.Event. Waiters wake in FIFO
// order; wait() returns true if the flag was set at any moment while it
// waited (even if cleared before the waiter ran) and false on timeout (never
// throws on timeout). An event belongs to the hub of the thread that created
// it; using it from another thread throws green::error.
//
//   green::event ready;
//   green::spawn([&] { prepare(); ready.set(); });
//   ready.wait();

#ifndef GREEN_HUB_EVENT_HPP
#define GREEN_HUB_EVENT_HPP

#include <memory>
#include <optional>

#include "green/config.hpp"
#include "green/hub/hub.hpp"

namespace green {

namespace detail {
struct event_core;
}
class waitable;

class GREEN_API event {
 public:
  event();
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  ~event();

  // set() sets the flag and wakes every waiter, FIFO, through the hub.
  void set();
  // clear() resets the flag; waiters already woken still return true.
  void clear();
  bool is_set() const noexcept;
  bool ready() const noexcept { return is_set(); }
  // wait() blocks until the flag is set or `timeout` passed; returns whether
  // it was set. On a set event it returns at once, except while waiters are
  // being woken: then it queues behind them (gevent).
  bool wait(std::optional<duration> timeout = std::nullopt);

 private:
  friend class waitable;
  std::shared_ptr<detail::event_core> core_;
};

}  // namespace green

#endif  // GREEN_HUB_EVENT_HPP
