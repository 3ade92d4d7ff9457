// Cooperative sockets (docs/semantics.md H13), reactor style: each call
// tries the non-blocking system call first and parks its greenlet only when
// that would block, until Asio reports the descriptor ready. The Asio
// handler never touches the waiter's stack: it names the wait by greenlet
// and serial, as the ready queue does, so a wait that ended another way (a
// kill, a timeout, a close) is simply not found.

#include "green/hub/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <cstring>

#include "green/hub/threadpool.hpp"
#include "hub_state.hpp"

namespace green {

socket_error::socket_error(std::error_code code, const std::string& what)
    : error(what), code_(code) {}

socket_timeout::socket_timeout(const std::string& what)
    : socket_error(std::make_error_code(std::errc::timed_out), what) {}

namespace detail {

namespace {

using descriptor = boost::asio::posix::stream_descriptor;
enum direction : int { dir_read = 0, dir_write = 1 };

[[noreturn]] void throw_errno(int err, const char* call) {
  std::error_code ec(err, std::system_category());
  throw socket_error(ec, std::string("green: ") + call + " failed: " + ec.message());
}

[[noreturn]] void throw_closed(const char* call) {
  throw socket_error(
      std::make_error_code(std::errc::bad_file_descriptor),
      std::string("green: ") + call + " on a closed socket (closed, moved from, or never opened)");
}

std::optional<time_point> deadline_of(hub_state& h, std::optional<duration> t) {
  if (!t) return std::nullopt;
  return h.now() + *t;
}

// wait_ready(): the calling greenlet waits until `d` is ready in `dir`, until
// `deadline` (socket_timeout), until the socket is closed (its closer wakes
// `mine`), or until a kill or green::timeout arrives. `mine` names the
// waiter of that direction, for H13.4 (null: no check).
void wait_ready(hub_state& h, descriptor& d, wait_slot** mine, int dir,
                std::optional<time_point> deadline, const char* what, const void* object) {
  if (mine != nullptr && *mine != nullptr) {
    throw concurrent_use_error(
        std::string("green: ") + what + ": another greenlet already waits to " +
        (dir == dir_read ? "read from" : "write to") +
        " this socket; only one greenlet may wait per direction (give the socket one reader "
        "and one writer greenlet, or guard it with a lock). gevent: ConcurrentObjectUseError");
  }
  if (deadline && *deadline <= h.now()) {
    throw socket_timeout(std::string("green: ") + what + " timed out (the socket's timeout)");
  }
  wait_slot s;
  s.what = what;
  s.object = object;
  std::uint64_t timer = 0;
  struct cleanup {
    hub_state& h;
    wait_slot** mine;
    std::uint64_t& timer;
    ~cleanup() {
      if (timer != 0) h.cancel_timer(timer);
      if (mine != nullptr) *mine = nullptr;
    }
  } guard{h, mine, timer};
  if (mine != nullptr) *mine = &s;
  try {
    h.block(s, [&] {
      if (deadline) {
        timer = h.add_timer(*deadline, [&h, &s, what] {
          h.wake(s,
                 std::make_exception_ptr(socket_timeout(std::string("green: ") + what +
                                                        " timed out (the socket's timeout)")),
                 false);
        });
      }
      d.async_wait(
          dir == dir_read ? descriptor::wait_read : descriptor::wait_write,
          [r = h.remote, hp = &h, g = s.g, serial = s.serial](const boost::system::error_code&) {
            // Run only by this hub's loop; dropped once it is gone.
            if (r->io == nullptr || current_hub() != hp) return;
            --hp->io_pending;
            greenlet_record* rec = hp->find_record(g);
            if (rec != nullptr && rec->slot != nullptr && rec->slot->serial == serial) {
              hp->wake(*rec->slot);
            }
          });
      ++h.io_pending;
    });
  } catch (...) {
    // The wait ended another way: its Asio wait must end too, or it would
    // hold the loop (H13.7). Its handler runs at the next poll and finds no
    // wait. A waiter of the other direction is woken too and waits again.
    boost::system::error_code ec;
    d.cancel(ec);
    throw;
  }
}

struct sockaddr_any {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&ss); }
};

// to_sockaddr(): a numeric endpoint, in `family` (AF_UNSPEC: whichever
// parses). False when the host is not a numeric address of that family.
bool to_sockaddr(const endpoint& e, int family, sockaddr_any& out) {
  out = sockaddr_any{};
  if (family != AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in*>(&out.ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(e.port);
    if (e.host.empty() || inet_pton(AF_INET, e.host.c_str(), &a->sin_addr) == 1) {
      if (e.host.empty()) a->sin_addr.s_addr = htonl(INADDR_ANY);
      out.len = sizeof(sockaddr_in);
      return true;
    }
  }
  if (family != AF_INET) {
    out = sockaddr_any{};
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(e.port);
    if (e.host.empty() || inet_pton(AF_INET6, e.host.c_str(), &a->sin6_addr) == 1) {
      if (e.host.empty()) a->sin6_addr = in6addr_any;
      out.len = sizeof(sockaddr_in6);
      return true;
    }
  }
  return false;
}

endpoint from_sockaddr(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return endpoint{buf, ntohs(a->sin_port)};
  }
  if (sa->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return endpoint{buf, ntohs(a->sin6_port)};
  }
  return endpoint{};  // AF_UNIX and others: no IP endpoint
}

class gai_category_t : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int ev) const override { return gai_strerror(ev); }
};
const std::error_category& gai_category() {
  static const gai_category_t c;
  return c;
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno(errno, "fcntl()");
}

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

// register_fd(): `d` takes `fd` into the hub's reactor. Asio's own error
// (the descriptor is already registered, by a green::socket or by the
// application's Asio object) becomes a socket_error that says what to do.
void register_fd(hub_state& h, std::optional<descriptor>& d, int fd, const char* what) {
  try {
    d.emplace(*h.io, fd);
  } catch (const boost::system::system_error& e) {
    const std::error_code ec(e.code().value(), std::system_category());
    throw socket_error(ec, std::string("green: ") + what +
                               ": the hub cannot watch this descriptor (" + ec.message() +
                               "); a descriptor owned by a green::socket is waited on through "
                               "that socket's own calls");
  }
}

}  // namespace

// socket_core: the descriptor and its Asio side (made on the first wait).
// Shared with the greenlets waiting on it, so that destroying the socket
// object under a waiter leaves it a core to unwind from.
struct socket_core final : io_object {
  socket_core(hub_state* h, int f) : owner(h), fd(f) { owner->io_objects.insert(this); }
  socket_core(const socket_core&) = delete;
  socket_core& operator=(const socket_core&) = delete;
  ~socket_core() { close(); }

  void hub_gone() noexcept override {
    if (desc) {
      try {
        static_cast<void>(desc->release());
      } catch (...) {
        // release() reports no error on Linux; the object goes regardless.
      }
      desc.reset();
    }
    owner = nullptr;
  }

  void close() noexcept {
    if (fd < 0) return;
    if (owner != nullptr) {
      for (wait_slot* w : waiting) {
        if (w == nullptr) continue;
        owner->wake(*w,
                    std::make_exception_ptr(socket_error(
                        std::make_error_code(std::errc::bad_file_descriptor),
                        std::string("green: the socket was closed while this greenlet waited in ") +
                            w->what)),
                    false);
      }
      owner->io_objects.erase(this);
    }
    if (desc && desc->is_open()) {
      // Closes fd and cancels the Asio waits; the object stays for the
      // waiters' unwinding.
      boost::system::error_code ec;
      desc->close(ec);
    } else {
      ::close(fd);
    }
    fd = -1;
  }

  hub_state& hub(const char* what) {
    if (fd < 0) throw_closed(what);
    check_owner(owner, "this socket");
    return *owner;
  }

  // wait(): for the descriptor to be ready; see wait_ready().
  void wait(int dir, std::optional<time_point> deadline, const char* what) {
    hub_state& h = hub(what);
    if (!desc) register_fd(h, desc, fd, what);
    wait_ready(h, *desc, &waiting[dir], dir, deadline, what, this);
    if (fd < 0) throw_closed(what);
  }

  hub_state* owner;
  int fd;
  std::optional<descriptor> desc;
  wait_slot* waiting[2] = {nullptr, nullptr};
};

}  // namespace detail

using detail::dir_read;
using detail::dir_write;

socket::socket() noexcept = default;
socket::socket(socket&&) noexcept = default;
socket& socket::operator=(socket&& o) noexcept {
  if (this != &o) {
    close();
    core_ = std::move(o.core_);
    timeout_ = o.timeout_;
  }
  return *this;
}
socket::~socket() { close(); }

socket::socket(int fd) {
  try {
    detail::set_nonblocking(fd);
    core_ = std::make_shared<detail::socket_core>(&get_hub().state(), fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

socket::socket(socket_kind kind, ip_family family) {
  const int fd = ::socket(family == ip_family::v4 ? AF_INET : AF_INET6,
                          (kind == socket_kind::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) detail::throw_errno(errno, "socket()");
  *this = socket(fd);
}

socket socket::adopt(int fd) { return socket(fd); }

std::pair<socket, socket> socket::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
    detail::throw_errno(errno, "socketpair()");
  }
  socket a;
  try {
    a = socket(fds[0]);
  } catch (...) {
    ::close(fds[1]);
    throw;
  }
  return {std::move(a), socket(fds[1])};
}

detail::socket_core& socket::core(const char* what) const {
  if (!core_ || core_->fd < 0) detail::throw_closed(what);
  return *core_;
}

bool socket::closed() const noexcept { return !core_ || core_->fd < 0; }
int socket::fileno() const noexcept { return core_ ? core_->fd : -1; }

void socket::close() noexcept {
  if (core_) core_->close();
  core_.reset();
}

void socket::bind(const endpoint& at) {
  detail::socket_core& c = core("bind()");
  detail::sockaddr_any a;
  if (!detail::to_sockaddr(at, AF_UNSPEC, a)) {
    throw value_error("green: bind() needs a numeric address, got '" + at.host +
                      "'; use resolve() first");
  }
  if (::bind(c.fd, a.get(), a.len) < 0) detail::throw_errno(errno, "bind()");
}

void socket::listen(int backlog) {
  if (::listen(core("listen()").fd, backlog) < 0) detail::throw_errno(errno, "listen()");
}

void socket::connect(const endpoint& to, io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("connect()");
  detail::hub_state& h = c.hub("connect()");
  const auto deadline = detail::deadline_of(h, t.resolve(timeout_));
  detail::sockaddr_any a;
  if (!detail::to_sockaddr(to, AF_UNSPEC, a)) {
    // A name: its first address of this socket's family.
    int domain = AF_UNSPEC;
    socklen_t dl = sizeof domain;
    ::getsockopt(c.fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl);
    bool found = false;
    for (const endpoint& e : resolve(to.host, to.port)) {
      if (detail::to_sockaddr(e, domain, a)) {
        found = true;
        break;
      }
    }
    if (!found) {
      throw socket_error(
          std::make_error_code(std::errc::address_not_available),
          "green: connect(): '" + to.host + "' resolves to no address of this socket's family");
    }
  }
  if (::connect(c.fd, a.get(), a.len) == 0) return;
  if (errno != EINPROGRESS && errno != EINTR) detail::throw_errno(errno, "connect()");
  c.wait(dir_write, deadline, "connect()");
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) detail::throw_errno(err, "connect()");
}

socket socket::accept(io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("accept()");
  const auto deadline = detail::deadline_of(c.hub("accept()"), t.resolve(timeout_));
  for (;;) {
    const int fd = ::accept4(c.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return socket(fd);  // with no timeout, as in Python
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (!detail::would_block(errno)) detail::throw_errno(errno, "accept()");
    c.wait(dir_read, deadline, "accept()");
  }
}

std::size_t socket::recv_into(void* buf, std::size_t n, io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("recv()");
  if (n == 0) return 0;  // a stream socket would wait for data first
  std::optional<time_point> deadline;
  bool first = true;
  for (;;) {
    const ssize_t got = ::recv(c.fd, buf, n, 0);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno == EINTR) continue;
    if (!detail::would_block(errno)) detail::throw_errno(errno, "recv()");
    if (first) {
      // The clock is read only when the call has to wait.
      deadline = detail::deadline_of(c.hub("recv()"), t.resolve(timeout_));
      first = false;
    }
    c.wait(dir_read, deadline, "recv()");
  }
}

std::string socket::recv(std::size_t max, io_timeout t) {
  std::string out(max, '\0');
  out.resize(recv_into(out.data(), max, t));
  return out;
}

std::size_t socket::send(const void* buf, std::size_t n, io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("send()");
  if (n == 0) return 0;
  std::optional<time_point> deadline;
  bool first = true;
  for (;;) {
    const ssize_t sent = ::send(c.fd, buf, n, MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (!detail::would_block(errno)) detail::throw_errno(errno, "send()");
    if (first) {
      deadline = detail::deadline_of(c.hub("send()"), t.resolve(timeout_));
      first = false;
    }
    c.wait(dir_write, deadline, "send()");
  }
}

void socket::sendall(const void* buf, std::size_t n, io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("sendall()");
  std::optional<time_point> deadline;
  bool first = true;
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t sent = ::send(c.fd, p, n, MSG_NOSIGNAL);
    if (sent >= 0) {
      p += sent;
      n -= static_cast<std::size_t>(sent);
      continue;
    }
    if (errno == EINTR) continue;
    if (!detail::would_block(errno)) detail::throw_errno(errno, "sendall()");
    if (first) {
      deadline = detail::deadline_of(c.hub("sendall()"), t.resolve(timeout_));
      first = false;
    }
    c.wait(dir_write, deadline, "sendall()");
  }
}

std::size_t socket::sendto(const void* buf, std::size_t n, const endpoint& to, io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("sendto()");
  detail::sockaddr_any a;
  if (!detail::to_sockaddr(to, AF_UNSPEC, a)) {
    throw value_error("green: sendto() needs a numeric address, got '" + to.host +
                      "'; use resolve() first");
  }
  std::optional<time_point> deadline;
  bool first = true;
  for (;;) {
    const ssize_t sent = ::sendto(c.fd, buf, n, MSG_NOSIGNAL, a.get(), a.len);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (!detail::would_block(errno)) detail::throw_errno(errno, "sendto()");
    if (first) {
      deadline = detail::deadline_of(c.hub("sendto()"), t.resolve(timeout_));
      first = false;
    }
    c.wait(dir_write, deadline, "sendto()");
  }
}

std::size_t socket::recvfrom(void* buf, std::size_t n, endpoint& from, io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("recvfrom()");
  std::optional<time_point> deadline;
  bool first = true;
  for (;;) {
    detail::sockaddr_any a;
    a.len = sizeof a.ss;
    const ssize_t got = ::recvfrom(c.fd, buf, n, 0, a.get(), &a.len);
    if (got >= 0) {
      from = detail::from_sockaddr(a.get());
      return static_cast<std::size_t>(got);
    }
    if (errno == EINTR) continue;
    if (!detail::would_block(errno)) detail::throw_errno(errno, "recvfrom()");
    if (first) {
      deadline = detail::deadline_of(c.hub("recvfrom()"), t.resolve(timeout_));
      first = false;
    }
    c.wait(dir_read, deadline, "recvfrom()");
  }
}

void socket::wait_readable(io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("wait_readable()");
  c.wait(dir_read, detail::deadline_of(c.hub("wait_readable()"), t.resolve(timeout_)),
         "wait_readable()");
}

void socket::wait_writable(io_timeout t) {
  std::shared_ptr<detail::socket_core> keep = core_;
  detail::socket_core& c = core("wait_writable()");
  c.wait(dir_write, detail::deadline_of(c.hub("wait_writable()"), t.resolve(timeout_)),
         "wait_writable()");
}

void socket::shutdown(shut how) {
  const int h = how == shut::read ? SHUT_RD : how == shut::write ? SHUT_WR : SHUT_RDWR;
  if (::shutdown(core("shutdown()").fd, h) < 0) detail::throw_errno(errno, "shutdown()");
}

endpoint socket::local_endpoint() const {
  detail::sockaddr_any a;
  a.len = sizeof a.ss;
  if (::getsockname(core("local_endpoint()").fd, a.get(), &a.len) < 0) {
    detail::throw_errno(errno, "getsockname()");
  }
  return detail::from_sockaddr(a.get());
}

endpoint socket::remote_endpoint() const {
  detail::sockaddr_any a;
  a.len = sizeof a.ss;
  if (::getpeername(core("remote_endpoint()").fd, a.get(), &a.len) < 0) {
    detail::throw_errno(errno, "getpeername()");
  }
  return detail::from_sockaddr(a.get());
}

std::vector<endpoint> resolve(const std::string& host, std::uint16_t port, socket_kind kind) {
  auto lookup = [host, port, kind] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = kind == socket_kind::tcp ? SOCK_STREAM : SOCK_DGRAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc =
        ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
      const std::error_code ec(rc, detail::gai_category());
      throw socket_error(ec, "green: resolve('" + host + "') failed: " + ec.message());
    }
    std::vector<endpoint> out;
    for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
      endpoint e = detail::from_sockaddr(p->ai_addr);
      if (!e.host.empty()) out.push_back(std::move(e));
    }
    ::freeaddrinfo(res);
    return out;
  };
  // A numeric address needs no lookup (nor a worker thread).
  detail::sockaddr_any a;
  if (detail::to_sockaddr(endpoint{host, port}, AF_UNSPEC, a)) return {endpoint{host, port}};
  return get_threadpool().apply(lookup);
}

socket create_connection(const endpoint& to, io_timeout t) {
  detail::hub_state& h = get_hub().state();
  const auto deadline = detail::deadline_of(h, t.resolve(std::nullopt));
  std::exception_ptr last;
  for (const endpoint& e : resolve(to.host, to.port)) {
    const bool v6 = e.host.find(':') != std::string::npos;
    socket s(socket_kind::tcp, v6 ? ip_family::v6 : ip_family::v4);
    try {
      s.connect(e, deadline ? io_timeout(*deadline - h.now()) : io_timeout::forever());
      return s;
    } catch (const socket_timeout&) {
      throw;
    } catch (const socket_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw socket_error(std::make_error_code(std::errc::address_not_available),
                     "green: create_connection(): '" + to.host + "' resolves to no address");
}

socket create_server(const endpoint& at, int backlog) {
  const bool v6 = at.host.find(':') != std::string::npos;
  socket s(socket_kind::tcp, v6 ? ip_family::v6 : ip_family::v4);
  const int one = 1;
  if (::setsockopt(s.fileno(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
    detail::throw_errno(errno, "setsockopt(SO_REUSEADDR)");
  }
  s.bind(at);
  s.listen(backlog);
  return s;
}

namespace {

void wait_fd(int fd, int dir, std::optional<duration> t, const char* what) {
  detail::hub_state& h = get_hub().state();
  if (fd < 0) detail::throw_closed(what);
  const auto deadline = detail::deadline_of(h, t);
  // Not owned: released (never closed) however the wait ends.
  std::optional<detail::descriptor> owned;
  detail::register_fd(h, owned, fd, what);
  detail::descriptor& d = *owned;
  struct release {
    detail::descriptor& d;
    ~release() {
      try {
        static_cast<void>(d.release());
      } catch (...) {
        // release() reports no error on Linux.
      }
    }
  } guard{d};
  detail::wait_ready(h, d, nullptr, dir, deadline, what, nullptr);
}

}  // namespace

void wait_readable(int fd, std::optional<duration> t) {
  wait_fd(fd, dir_read, t, "wait_readable()");
}
void wait_writable(int fd, std::optional<duration> t) {
  wait_fd(fd, dir_write, t, "wait_writable()");
}

}  // namespace green
