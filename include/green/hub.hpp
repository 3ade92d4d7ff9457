// green/hub.hpp
//
// Umbrella header of the hub, gevent's concurrency model on green: the loop
// (hub.hpp), spawned greenlets (task.hpp), timeouts (timeout.hpp), event
// (event.hpp), async_result (async_result.hpp), queues (queue.hpp),
// semaphores (semaphore.hpp), rlock (lock.hpp), wait/iwait (wait.hpp),
// groups and pools (pool.hpp), greenlet-local storage (local.hpp), the
// thread pool and cross-thread posts (threadpool.hpp), the monitor and
// run_info (monitor.hpp), cooperative sockets (socket.hpp), stream and
// datagram servers (server.hpp). Link green::hub.
// The Boost.Asio interfaces (hub/asio.hpp, hub/asio_stream.hpp) are not
// included: they are opt-in.

#ifndef GREEN_HUB_HPP
#define GREEN_HUB_HPP

#include "green/hub/async_result.hpp"
#include "green/hub/event.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/local.hpp"
#include "green/hub/lock.hpp"
#include "green/hub/monitor.hpp"
#include "green/hub/pool.hpp"
#include "green/hub/queue.hpp"
#include "green/hub/semaphore.hpp"
#include "green/hub/server.hpp"
#include "green/hub/socket.hpp"
#include "green/hub/task.hpp"
#include "green/hub/threadpool.hpp"
#include "green/hub/timeout.hpp"
#include "green/hub/wait.hpp"

#endif  // GREEN_HUB_HPP
