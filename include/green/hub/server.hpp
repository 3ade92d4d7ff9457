// green/hub/server.hpp
//
// stream_server and datagram_server: gevent.server.StreamServer and
// DatagramServer. A stream_server accepts connections on a listening socket
// in its own task and runs the handler in a new greenlet per connection
// (optionally through a pool, which bounds how many run at once); the client
// socket is closed when the handler returns or throws. A datagram_server
// receives datagrams on a UDP socket and runs the handler in a new greenlet
// per datagram.
//
//   green::stream_server server(green::create_server({"127.0.0.1", 0}),
//                               [](green::socket& client, const green::endpoint&) {
//                                 for (std::string got; !(got = client.recv(4096)).empty();)
//                                   client.sendall(got);  // echo
//                               });
//   server.start();                // returns at once; accepting runs in a task
//   ... connect to server.address() ...
//   server.stop();                 // close, wait up to 1 s for handlers, kill the rest
//
// Rules (docs/semantics.md, H14): one handler greenlet per connection, the
// client socket closed when it ends, a failing handler reported like any
// task (H14.1); with a pool, no accept while it is full (H14.2); accept
// errors back off and retry (H14.3); start, serve_forever and misuse
// (H14.4); stop(timeout), idempotent and callable from a handler (H14.5);
// datagram_server (H14.6).

#ifndef GREEN_HUB_SERVER_HPP
#define GREEN_HUB_SERVER_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "green/config.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/pool.hpp"
#include "green/hub/socket.hpp"

namespace green {

namespace detail {
struct server_core;
}

// server_base: what stream_server and datagram_server share (starting,
// stopping, the accept back-off). Not movable: handlers refer to it.
class GREEN_API server_base {
 public:
  server_base(const server_base&) = delete;
  server_base& operator=(const server_base&) = delete;
  // The destructor closes the socket and kills the loop and the handlers
  // without waiting for them (call stop() first for a graceful end).
  virtual ~server_base();

  // start() starts the loop in its own task and returns at once.
  // Throws: green::error if already started (or stopped), or if the socket
  // is closed. gevent: start().
  void start();
  // serve_forever() starts the server if it is not started and blocks until
  // stop() has finished. If the waiting greenlet is killed (or a timeout
  // fires), the server is stopped with `stop_timeout` and the signal goes on.
  void serve_forever(std::optional<duration> stop_timeout = std::chrono::seconds(1));
  // stop(timeout): close the socket (no new connections), wait up to
  // `timeout` (none: forever) for running handlers, then kill the rest and
  // wait for them to end. Idempotent: a second call waits for the first to
  // finish. From inside a handler it closes the socket at once and leaves
  // the waiting and killing to a task of its own, so the calling handler
  // can return (H14.5). gevent: stop(timeout).
  void stop(std::optional<duration> timeout = std::chrono::seconds(1));

  bool started() const noexcept;
  // closed(): stop() was called (or the destructor ran).
  bool closed() const noexcept;
  // address(): where the socket is bound (the port chosen for port 0).
  endpoint address() const;
  // handlers(): handler greenlets running now.
  std::size_t handlers() const noexcept;

  // set_accept_delays(min, max): the back-off after an accept (or receive)
  // error: the first retry waits `min`, each further one twice as long, up
  // to `max` (H14.3). Defaults: 10 ms and 1 s, as gevent.
  void set_accept_delays(duration min, duration max);
  // accept_failures(): accept (or receive) errors so far.
  std::uint64_t accept_failures() const noexcept;

 protected:
  explicit server_base(std::shared_ptr<detail::server_core> core) noexcept;
  std::shared_ptr<detail::server_core> core_;
};

// stream_handler(client, peer): serves one connection. The client socket is
// closed when it returns or throws.
using stream_handler = std::function<void(socket& client, const endpoint& peer)>;

// stream_server: gevent.server.StreamServer.
class GREEN_API stream_server : public server_base {
 public:
  // stream_server(listener, handle): `listener` is a listening TCP socket
  // (create_server). Throws: green::value_error if `handle` is empty.
  stream_server(socket listener, stream_handler handle);
  // With a pool: each handler is a member of `p`, and accepting waits while
  // `p` is full. `p` must outlive the server; only the server's own handlers
  // are waited for and killed by stop(). Throws: green::value_error also for
  // a pool of size 0.
  stream_server(socket listener, stream_handler handle, pool& p);
};

class datagram_server;
// datagram_handler(data, from, server): handles one datagram; reply with
// server.sendto(reply, from).
using datagram_handler =
    std::function<void(const std::string& data, const endpoint& from, datagram_server& server)>;

// datagram_server: gevent.server.DatagramServer. Datagrams up to 64 KiB are
// received whole.
class GREEN_API datagram_server : public server_base {
 public:
  // datagram_server(sock, handle): `sock` is a bound UDP socket.
  // Throws: green::value_error if `handle` is empty.
  datagram_server(socket sock, datagram_handler handle);
  datagram_server(socket sock, datagram_handler handle, pool& p);
  // sendto(): one datagram from the server's socket. Handlers that send at
  // once take turns (a lock), so they never trip H13.4's one-writer check.
  std::size_t sendto(std::string_view data, const endpoint& to, io_timeout t = {});
};

}  // namespace green

#endif  // GREEN_HUB_SERVER_HPP
