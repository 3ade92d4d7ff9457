// green/hub/socket.hpp
//
// Cooperative sockets, gevent.socket: a blocking call (connect, accept, recv,
// send, recvfrom, ...) blocks only the calling greenlet; the hub runs the
// others meanwhile and resumes it when the descriptor is ready. The calls
// are Python's: the system call is tried first, and only when it would
// block does the greenlet wait for readiness.
//
//   green::socket server = green::create_server({"127.0.0.1", 0});
//   green::task t = green::spawn([&] {
//     green::socket c = server.accept();
//     c.sendall(c.recv(100));  // echo
//   });
//   green::socket s = green::create_connection(server.local_endpoint(), 5s);
//   s.sendall("ping");
//   std::string back = s.recv(100);  // "ping"
//
// Rules (docs/semantics.md, H13): each blocking call takes a timeout, by
// default the socket's own (settimeout; none: wait forever), and throws
// socket_timeout when it expires (H13.2); failures throw socket_error with
// the system's error code (H13.3); two greenlets waiting on one socket in
// the same direction is an error (H13.4); closing a socket wakes its waiters
// with an error (H13.5); kills and green::timeout interrupt every blocking
// call and leave nothing behind (H13.6); pending I/O keeps the loop alive
// (H13.7). For Asio's SyncReadStream/SyncWriteStream (Boost.Beast), see the
// opt-in green/hub/asio_stream.hpp.

#ifndef GREEN_HUB_SOCKET_HPP
#define GREEN_HUB_SOCKET_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"

namespace green {

// socket_error: a socket call failed; code() is the system's error
// (std::errc::connection_refused, connection_reset, broken_pipe,
// bad_file_descriptor for a socket closed under a waiter, ...).
// Python: OSError (socket.error).
class GREEN_API socket_error : public error {
 public:
  socket_error(std::error_code code, const std::string& what);
  const std::error_code& code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

// socket_timeout: a socket call's own timeout expired (code() is
// std::errc::timed_out). An error, unlike green::timeout: a socket's
// timeout is part of its contract, like Python's socket.timeout.
class GREEN_API socket_timeout : public socket_error {
 public:
  explicit socket_timeout(const std::string& what);
};

// concurrent_use_error: a second greenlet waits on a socket (or descriptor)
// in the direction another greenlet already waits in.
// gevent: ConcurrentObjectUseError.
class GREEN_API concurrent_use_error : public error {
 public:
  using error::error;
};

// endpoint: a numeric IP address (IPv4 "127.0.0.1" or IPv6 "::1"; empty
// means any address, for bind) and a port. resolve() turns names into
// endpoints.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

// io_timeout: how long one call may block. Default-constructed: the
// socket's own timeout (settimeout); a duration; or io_timeout::forever().
class io_timeout {
 public:
  io_timeout() noexcept = default;
  template <class R, class P>
  io_timeout(std::chrono::duration<R, P> d)  // NOLINT: implicit, like a duration
      : mode_(mode::given), d_(std::chrono::duration_cast<duration>(d)) {}
  io_timeout(std::nullopt_t) noexcept : mode_(mode::forever) {}  // NOLINT: forever
  io_timeout(std::optional<duration> d)                          // NOLINT: nullopt means forever
      : mode_(d ? mode::given : mode::forever), d_(d.value_or(duration::zero())) {}
  static io_timeout forever() noexcept { return io_timeout(std::nullopt); }
  // resolve(default) is the duration to wait, none for forever.
  std::optional<duration> resolve(std::optional<duration> socket_default) const noexcept {
    if (mode_ == mode::socket_default) return socket_default;
    if (mode_ == mode::forever) return std::nullopt;
    return d_;
  }

 private:
  enum class mode { socket_default, given, forever };
  mode mode_ = mode::socket_default;
  duration d_{};
};

enum class socket_kind { tcp, udp };
enum class ip_family { v4, v6 };
// Which half to shut down: reading, writing (the peer reads end of file),
// or both. Python: SHUT_RD, SHUT_WR, SHUT_RDWR.
enum class shut { read, write, both };

namespace detail {
struct socket_core;
}

// socket: one descriptor in non-blocking mode, owned (closed by close() or
// the destructor). Movable, not copyable. Belongs to the hub of the thread
// that created it (H1.9).
class GREEN_API socket {
 public:
  // A closed socket (the moved-from state).
  socket() noexcept;
  // socket(kind, family) opens a new TCP or UDP socket.
  // Throws: socket_error.
  explicit socket(socket_kind kind, ip_family family = ip_family::v4);
  socket(socket&&) noexcept;
  socket& operator=(socket&&) noexcept;
  ~socket();

  // adopt(fd) takes ownership of a socket descriptor (set non-blocking).
  static socket adopt(int fd);
  // pair() is two connected stream sockets (socketpair, AF_UNIX).
  static std::pair<socket, socket> pair();

  // settimeout(d): the default timeout of this socket's blocking calls;
  // none (the initial value) waits forever. Python: settimeout().
  void settimeout(std::optional<duration> d) noexcept { timeout_ = d; }
  std::optional<duration> gettimeout() const noexcept { return timeout_; }

  void bind(const endpoint& at);
  void listen(int backlog = 128);
  // connect(to): waits until connected. Throws socket_error
  // (connection_refused, ...), socket_timeout.
  void connect(const endpoint& to, io_timeout t = {});
  // accept(): the next connection, as a new socket (with no timeout of its
  // own, whatever this socket's; Python's accept() does the same).
  socket accept(io_timeout t = {});

  // recv_into(buf, n): at least one byte, at most n; 0 at end of file (and
  // for n == 0). recv(max): the same as a string.
  std::size_t recv_into(void* buf, std::size_t n, io_timeout t = {});
  std::string recv(std::size_t max, io_timeout t = {});
  // send(buf, n): at least one byte sent (0 for n == 0), how many.
  std::size_t send(const void* buf, std::size_t n, io_timeout t = {});
  std::size_t send(std::string_view data, io_timeout t = {}) {
    return send(data.data(), data.size(), t);
  }
  // sendall(): every byte, or an exception; the timeout bounds the whole
  // call (after socket_timeout, some bytes may have been sent).
  void sendall(const void* buf, std::size_t n, io_timeout t = {});
  void sendall(std::string_view data, io_timeout t = {}) { sendall(data.data(), data.size(), t); }

  // UDP: one datagram.
  std::size_t sendto(const void* buf, std::size_t n, const endpoint& to, io_timeout t = {});
  std::size_t sendto(std::string_view data, const endpoint& to, io_timeout t = {}) {
    return sendto(data.data(), data.size(), to, t);
  }
  std::size_t recvfrom(void* buf, std::size_t n, endpoint& from, io_timeout t = {});

  // wait_readable()/wait_writable(): until the socket is ready.
  void wait_readable(io_timeout t = {});
  void wait_writable(io_timeout t = {});

  void shutdown(shut how);
  // close(): idempotent; a greenlet waiting on the socket is woken with a
  // socket_error (bad_file_descriptor) (H13.5).
  void close() noexcept;
  bool closed() const noexcept;
  int fileno() const noexcept;

  endpoint local_endpoint() const;
  endpoint remote_endpoint() const;

 private:
  explicit socket(int fd);
  detail::socket_core& core(const char* what) const;
  std::shared_ptr<detail::socket_core> core_;
  std::optional<duration> timeout_;
};

// create_connection(to, t): resolves `to.host` if it is a name, and connects
// to the first address that accepts. Python: socket.create_connection.
GREEN_API socket create_connection(const endpoint& to, io_timeout t = {});
// create_server(at, backlog): a TCP socket bound (SO_REUSEADDR) and listening;
// port 0 picks a free port (see local_endpoint()). Python: socket.create_server.
GREEN_API socket create_server(const endpoint& at, int backlog = 128);

// resolve(host, port): getaddrinfo on the hub's thread pool, so that only the
// calling greenlet waits. Throws socket_error (the gai code as a message).
GREEN_API std::vector<endpoint> resolve(const std::string& host, std::uint16_t port,
                                        socket_kind kind = socket_kind::tcp);

// wait_readable(fd, t)/wait_writable(fd, t): until any descriptor (not
// owned) is ready; none waits forever. gevent: wait_read, wait_write.
GREEN_API void wait_readable(int fd, std::optional<duration> t = std::nullopt);
GREEN_API void wait_writable(int fd, std::optional<duration> t = std::nullopt);

}  // namespace green

#endif  // GREEN_HUB_SOCKET_HPP
