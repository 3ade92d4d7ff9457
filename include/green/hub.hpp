// green/hub.hpp
//
// Umbrella header of the hub, gevent's concurrency model on green: the loop
// (hub.hpp), spawned greenlets (task.hpp), timeouts (timeout.hpp), event
// (event.hpp), async_result (async_result.hpp), groups and pools (pool.hpp)
// and greenlet-local storage (local.hpp). Link green::hub. The
// Boost.Asio interface (hub/asio.hpp) is not included: it is opt-in.

#ifndef GREEN_HUB_HPP
#define GREEN_HUB_HPP

#include "green/hub/async_result.hpp"
#include "green/hub/event.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/local.hpp"
#include "green/hub/pool.hpp"
#include "green/hub/task.hpp"
#include "green/hub/timeout.hpp"

#endif  // GREEN_HUB_HPP
