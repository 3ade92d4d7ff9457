// stream_server and datagram_server (docs/semantics.md H14) on the public
// hub API: the loop is a task, handlers are tasks in the server's own group
// (and in the user's pool, if one is given), stop() is close + join + kill.

#include "green/hub/server.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "green/errors.hpp"
#include "green/greenlet.hpp"
#include "green/hub/event.hpp"
#include "green/hub/semaphore.hpp"
#include "green/hub/task.hpp"
#include "hub_state.hpp"

namespace green {
namespace detail {

struct server_core : std::enable_shared_from_this<server_core> {
  explicit server_core(socket s, pool* p, const char* kind)
      : sock(std::move(s)), user_pool(p), kind(kind) {}
  virtual ~server_core() = default;

  // serve_one() waits for one connection (or datagram) and spawns its
  // handler. Throws socket_error for a failed accept or receive.
  virtual void serve_one() = 0;

  // spawn_handler(fn): a member of the server's group, through the user's
  // pool if there is one.
  void spawn_handler(std::function<void()> fn) {
    if (user_pool != nullptr) {
      task<void> t = user_pool->spawn(std::move(fn));
      own.add(t);  // before it can run: spawn() does not switch after taking the slot
    } else {
      own.spawn(std::move(fn));
    }
  }

  void run_loop();
  void stop(std::optional<duration> timeout);
  void finish_stop(std::optional<duration> timeout);
  bool current_is_handler() const;

  socket sock;
  pool* user_pool;
  const char* kind;
  group own;
  task<void> loop;
  event done;
  bool started = false;
  bool stopping = false;
  duration min_delay = std::chrono::milliseconds(10);
  duration max_delay = std::chrono::seconds(1);
  std::uint64_t failures = 0;
};

namespace {

bool is_resource_error(const std::error_code& c) {
  return c == std::errc::too_many_files_open || c == std::errc::too_many_files_open_in_system ||
         c == std::errc::no_buffer_space || c == std::errc::not_enough_memory;
}

// The socket itself is unusable: retrying would fail the same way forever.
bool is_fatal_error(const std::error_code& c) {
  return c == std::errc::bad_file_descriptor || c == std::errc::not_a_socket ||
         c == std::errc::invalid_argument;
}

void report(const task_base& loop, std::exception_ptr ex) {
  hub_for_use("a server").report_failure(loop.native_handle(), std::move(ex));
}

}  // namespace

void server_core::run_loop() {
  duration delay = min_delay;
  bool failing = false;
  while (!stopping) {
    // H14.2: wait for a free slot before accepting, never after.
    if (user_pool != nullptr && user_pool->free_count() == 0) {
      user_pool->wait_available();
      continue;
    }
    try {
      serve_one();
      delay = min_delay;
      failing = false;
      continue;
    } catch (const socket_error& e) {
      if (stopping) return;
      ++failures;
      const bool resource = is_resource_error(e.code());
      // A resource shortage is reported once per streak, anything else each time.
      if (!resource || !failing) report(loop, std::current_exception());
      if (is_fatal_error(e.code())) return;
    }
    failing = true;
    green::sleep(delay);  // H14.3: back off instead of spinning
    delay = std::min(delay * 2, max_delay);
  }
}

bool server_core::current_is_handler() const {
  const greenlet& me = getcurrent();
  for (const task_base& t : own)
    if (t.greenlet_() == me) return true;
  return false;
}

void server_core::finish_stop(std::optional<duration> timeout) {
  // H14.5: a grace period for running handlers, then a kill for the rest.
  if (!own.join(timeout)) own.kill();
  done.set();
}

void server_core::stop(std::optional<duration> timeout) {
  if (stopping) {
    if (!current_is_handler()) done.wait();
    return;
  }
  stopping = true;
  sock.close();                            // wakes the loop if it waits in accept or recvfrom
  if (loop && !loop.ready()) loop.kill();  // if it waits for a pool slot
  // A loop killed before it started still holds its function, and so us.
  loop = task<void>();
  if (current_is_handler()) {
    // Joining would wait for the caller itself: leave it to a task.
    green::spawn([self = shared_from_this(), timeout] { self->finish_stop(timeout); });
    return;
  }
  finish_stop(timeout);
}

}  // namespace detail

server_base::server_base(std::shared_ptr<detail::server_core> core) noexcept
    : core_(std::move(core)) {}

server_base::~server_base() {
  detail::server_core& c = *core_;
  if (c.stopping || !has_hub()) return;
  c.stopping = true;
  c.sock.close();
  try {
    if (c.loop) c.loop.kill(nullptr, false);
    c.loop = task<void>();
    c.own.kill(nullptr, false);
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor; the kills are best effort
  }
  c.done.set();
}

void server_base::start() {
  detail::server_core& c = *core_;
  if (c.stopping)
    throw error(std::string("green: start() on a ") + c.kind +
                " that was stopped; a server cannot be restarted: create a new one");
  if (c.started)
    throw error(std::string("green: start() on a ") + c.kind +
                " that is already started; call start() once (serve_forever() starts it if "
                "needed)");
  if (c.sock.closed())
    throw error(std::string("green: start() on a ") + c.kind +
                " whose socket is closed; give it an open, bound socket (create_server() for "
                "TCP)");
  c.loop = green::spawn([core = core_] { core->run_loop(); });
  c.loop.set_name(std::string(c.kind) + " loop");
  c.started = true;
}

void server_base::serve_forever(std::optional<duration> stop_timeout) {
  if (!core_->started) start();
  std::exception_ptr interrupted;
  try {
    core_->done.wait();
  } catch (...) {
    interrupted = std::current_exception();
  }
  if (interrupted) {
    stop(stop_timeout);
    std::rethrow_exception(interrupted);
  }
}

void server_base::stop(std::optional<duration> timeout) { core_->stop(timeout); }
bool server_base::started() const noexcept { return core_->started; }
bool server_base::closed() const noexcept { return core_->stopping; }
endpoint server_base::address() const { return core_->sock.local_endpoint(); }
std::size_t server_base::handlers() const noexcept { return core_->own.size(); }
std::uint64_t server_base::accept_failures() const noexcept { return core_->failures; }

void server_base::set_accept_delays(duration min, duration max) {
  if (min <= duration::zero() || max < min)
    throw value_error(
        "green: set_accept_delays(min, max) needs 0 < min <= max; the back-off doubles from min "
        "up to max");
  core_->min_delay = min;
  core_->max_delay = max;
}

namespace {

void check_pool(pool* p) {
  if (p != nullptr && p->capacity() == std::size_t{0})
    throw value_error(
        "green: a server with a pool of size 0 could never run a handler; give it a pool of "
        "size 1 or more");
}

struct stream_core final : detail::server_core {
  stream_core(socket s, stream_handler h, pool* p)
      : server_core(std::move(s), p, "stream_server"), handle(std::move(h)) {
    if (!handle) throw value_error("green: stream_server needs a handler (an empty function)");
    check_pool(p);
  }
  void serve_one() override {
    socket client = sock.accept(io_timeout::forever());
    endpoint peer;
    try {
      peer = client.remote_endpoint();
    } catch (const socket_error&) {  // NOLINT(bugprone-empty-catch): reset before we looked
    }
    // A std::function must be copyable: the socket travels in a shared_ptr.
    auto holder = std::make_shared<socket>(std::move(client));
    spawn_handler([core = shared_from_this(), holder, peer] {
      socket s = std::move(*holder);  // H14.1: closed when this frame ends, however
      static_cast<stream_core&>(*core).handle(s, peer);
    });
  }
  stream_handler handle;
};

struct datagram_core final : detail::server_core {
  datagram_core(socket s, datagram_handler h, pool* p)
      : server_core(std::move(s), p, "datagram_server"), handle(std::move(h)) {
    if (!handle) throw value_error("green: datagram_server needs a handler (an empty function)");
    check_pool(p);
  }
  void serve_one() override {
    buf.resize(65536);
    endpoint from;
    const std::size_t n = sock.recvfrom(buf.data(), buf.size(), from, io_timeout::forever());
    auto data = std::make_shared<const std::string>(buf.data(), n);
    spawn_handler([core = shared_from_this(), data, from] {
      auto& c = static_cast<datagram_core&>(*core);
      c.handle(*data, from, *c.self);
    });
  }
  datagram_handler handle;
  datagram_server* self = nullptr;
  semaphore send_lock{1};
  std::vector<char> buf;
};

}  // namespace

stream_server::stream_server(socket listener, stream_handler handle)
    : server_base(std::make_shared<stream_core>(std::move(listener), std::move(handle), nullptr)) {}

stream_server::stream_server(socket listener, stream_handler handle, pool& p)
    : server_base(std::make_shared<stream_core>(std::move(listener), std::move(handle), &p)) {}

datagram_server::datagram_server(socket sock, datagram_handler handle)
    : server_base(std::make_shared<datagram_core>(std::move(sock), std::move(handle), nullptr)) {
  static_cast<datagram_core&>(*core_).self = this;
}

datagram_server::datagram_server(socket sock, datagram_handler handle, pool& p)
    : server_base(std::make_shared<datagram_core>(std::move(sock), std::move(handle), &p)) {
  static_cast<datagram_core&>(*core_).self = this;
}

std::size_t datagram_server::sendto(std::string_view data, const endpoint& to, io_timeout t) {
  auto& c = static_cast<datagram_core&>(*core_);
  std::lock_guard<semaphore> hold(c.send_lock);
  return c.sock.sendto(data, to, t);
}

}  // namespace green
