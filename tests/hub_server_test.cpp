// stream_server and datagram_server (docs/semantics.md H14) over loopback,
// after gevent's src/gevent/tests/test__server.py (the echo and pool cases,
// stop with a grace period, a handler that raises) and test__server_pywsgi's
// accept back-off. The cases run on the virtual clock: sleeps and stop
// timeouts cost no real time, and socket I/O is real (H13.8).
#define BOOST_TEST_MODULE hub_server
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"
#include "support/sanitizers.hpp"

using namespace std::chrono_literals;

namespace {

const green::endpoint loopback{"127.0.0.1", 0};

void echo(green::socket& c, const green::endpoint&) {
  char buf[4096];
  for (;;) {
    const std::size_t n = c.recv_into(buf, sizeof buf);
    if (n == 0) return;
    c.sendall(buf, n);
  }
}

// recv_exactly(s, n): n bytes, or fewer at end of file.
std::string recv_exactly(green::socket& s, std::size_t n) {
  std::string out;
  while (out.size() < n) {
    std::string got = s.recv(n - out.size(), 5s);
    if (got.empty()) break;
    out += got;
  }
  return out;
}

// Failures reported by the hub, kept instead of printed.
struct captured_reports {
  captured_reports() {
    previous = green::get_hub().set_error_handler(
        [this](const green::failure_report& r) { whats.push_back(r.type + ": " + r.what); });
  }
  ~captured_reports() { green::get_hub().set_error_handler(previous); }
  green::error_handler previous;
  std::vector<std::string> whats;
};

// Sets RLIMIT_NOFILE's soft limit to `soft` and restores it on destruction.
struct fd_limit {
  explicit fd_limit(rlim_t soft) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit low = saved;
    low.rlim_cur = soft;
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  }
  void restore() {
    if (!restored) BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    restored = true;
  }
  ~fd_limit() {
    if (!restored) ::setrlimit(RLIMIT_NOFILE, &saved);
  }
  rlimit saved{};
  bool restored = false;
};

// The lowest descriptor number not in use: the next one accept would get.
int lowest_free_fd() {
  const int fd = ::dup(0);
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  return fd;
}

// UBSan checks the dynamic type of an object the first time it sees a
// (type, call) pair, and that check needs two descriptors (a pipe): with
// none left it calls a valid socket_error invalid. Meet the pairs of the
// failure path (throw, compare the code, report) before the limit drops.
void warm_up_type_checks() {
  if constexpr (!green::test::under_asan) return;
  captured_reports quiet;
  green::task<void> failing = green::spawn([] {
    throw green::socket_error(std::error_code(EMFILE, std::system_category()), "warm-up");
  });
  failing.join();
  BOOST_CHECK(!failing.successful());
  try {
    throw green::socket_error(std::error_code(EMFILE, std::system_category()), "warm-up");
  } catch (const green::socket_error& e) {
    const std::exception& base = e;
    BOOST_CHECK(e.code() == std::errc::too_many_files_open);
    BOOST_CHECK(e.code() != std::errc::bad_file_descriptor);
    BOOST_CHECK(base.what() != nullptr);
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_server, green::test::hub_check)

// H14.1
BOOST_AUTO_TEST_CASE(an_echo_server_serves_several_concurrent_clients_every_byte_intact) {
  green::stream_server server(green::create_server(loopback), echo);
  server.start();
  BOOST_CHECK(server.started());
  const int clients = 4;
  constexpr int rounds = green::test::under_asan ? 8 : 16;
  std::vector<green::task<bool>> ts;
  for (int k = 0; k < clients; ++k) {
    ts.push_back(green::spawn([&server, k] {
      green::socket s = green::create_connection(server.address(), 5s);
      bool ok = true;
      for (int r = 0; r < rounds; ++r) {
        std::string chunk(3000 + r * 7, '\0');
        for (std::size_t i = 0; i < chunk.size(); ++i)
          chunk[i] = static_cast<char>((k * 131 + r * 17 + i) % 251);
        s.sendall(chunk);
        ok = ok && recv_exactly(s, chunk.size()) == chunk;
      }
      s.shutdown(green::shut::write);
      ok = ok && s.recv(10, 5s).empty();  // the handler returned: end of file
      return ok;
    }));
  }
  for (auto& t : ts) BOOST_CHECK(t.get());
  server.stop();
  BOOST_CHECK(server.closed());
  BOOST_CHECK_EQUAL(server.handlers(), 0u);
}

// H14.1
BOOST_AUTO_TEST_CASE(the_client_socket_is_closed_when_the_handler_returns) {
  green::stream_server server(green::create_server(loopback),
                              [](green::socket& c, const green::endpoint& peer) {
                                c.sendall(peer.host);  // no close: the server closes it
                              });
  server.start();
  green::socket s = green::create_connection(server.address(), 5s);
  BOOST_CHECK_EQUAL(recv_exactly(s, 9), "127.0.0.1");
  BOOST_CHECK(s.recv(10, 5s).empty());
  server.stop();
}

// H14.1, H3.9
BOOST_AUTO_TEST_CASE(a_handler_that_throws_is_reported_its_client_closed_and_serving_goes_on) {
  captured_reports reports;
  int calls = 0;
  green::stream_server server(green::create_server(loopback),
                              [&](green::socket& c, const green::endpoint&) {
                                if (++calls == 1) throw std::runtime_error("boom");
                                c.sendall("second");
                              });
  server.start();
  green::socket first = green::create_connection(server.address(), 5s);
  BOOST_CHECK(first.recv(10, 5s).empty());
  green::socket second = green::create_connection(server.address(), 5s);
  BOOST_CHECK_EQUAL(recv_exactly(second, 6), "second");
  server.stop();
  BOOST_REQUIRE_EQUAL(reports.whats.size(), 1u);
  BOOST_CHECK(reports.whats[0].find("boom") != std::string::npos);
}

// H14.2
BOOST_AUTO_TEST_CASE(a_pool_of_two_runs_at_most_two_handlers_and_serves_all_five_clients) {
  green::pool p(2);
  int running = 0, most = 0, served = 0;
  std::size_t most_accepted = 0;
  green::stream_server* srv = nullptr;
  green::stream_server server(
      green::create_server(loopback),
      [&](green::socket& c, const green::endpoint&) {
        most = std::max(most, ++running);
        most_accepted = std::max(most_accepted, srv->handlers());
        green::sleep(10ms);
        --running;
        ++served;
        c.sendall("ok");
      },
      p);
  srv = &server;
  server.start();
  std::vector<green::task<std::string>> ts;
  for (int k = 0; k < 5; ++k)
    ts.push_back(green::spawn([&] {
      green::socket s = green::create_connection(server.address(), 5s);
      return recv_exactly(s, 2);
    }));
  for (auto& t : ts) BOOST_CHECK_EQUAL(t.get(), "ok");
  BOOST_CHECK_EQUAL(most, 2);
  BOOST_CHECK_EQUAL(most_accepted, 2u);  // the server never held more handlers than slots
  BOOST_CHECK_EQUAL(served, 5);
  server.stop();
  BOOST_CHECK(p.empty());
}

// H14.2: a connection that arrives while the pool is full stays in the
// listen backlog, so closing the listener resets it; one accepted and then
// parked would see an orderly end of file instead.
BOOST_AUTO_TEST_CASE(a_full_pool_leaves_new_connections_unaccepted_in_the_backlog) {
  green::pool p(1);
  green::event release;
  green::event running;
  green::stream_server server(
      green::create_server(loopback),
      [&](green::socket& c, const green::endpoint&) {
        running.set();
        release.wait();
        c.sendall("first");
      },
      p);
  server.start();
  green::socket first = green::create_connection(server.address(), 5s);
  running.wait();
  green::socket second = green::create_connection(server.address(), 5s);
  green::sleep(20ms);  // the loop had every chance to accept it
  BOOST_CHECK_EQUAL(server.handlers(), 1u);
  green::task<void> stopper = green::spawn([&] { server.stop(1s); });
  green::sleep();  // the listener is closed now; the first handler still runs
  release.set();
  stopper.get();
  BOOST_CHECK_EQUAL(recv_exactly(first, 5), "first");
  BOOST_CHECK_EXCEPTION(second.recv(10, 5s), green::socket_error, [](const green::socket_error& e) {
    return e.code() == std::errc::connection_reset;
  });
}

// H14.5
BOOST_AUTO_TEST_CASE(stop_waits_for_a_handler_that_finishes_within_the_timeout) {
  green::event running;
  bool finished = false;
  green::stream_server server(green::create_server(loopback),
                              [&](green::socket& c, const green::endpoint&) {
                                running.set();
                                green::sleep(50ms);
                                c.sendall("done");
                                finished = true;
                              });
  server.start();
  green::socket s = green::create_connection(server.address(), 5s);
  running.wait();
  server.stop(1s);
  BOOST_CHECK(finished);
  BOOST_CHECK_EQUAL(recv_exactly(s, 4), "done");
  BOOST_CHECK(s.recv(10, 5s).empty());
  server.stop();  // idempotent
  BOOST_CHECK_THROW(green::create_connection(server.address(), 1s), green::socket_error);
}

// H14.5
BOOST_AUTO_TEST_CASE(stop_kills_a_handler_that_does_not_finish_within_the_timeout) {
  green::event running;
  bool unwound = false;
  green::stream_server server(green::create_server(loopback),
                              [&](green::socket& c, const green::endpoint&) {
                                struct on_exit {
                                  bool& flag;
                                  ~on_exit() { flag = true; }
                                } guard{unwound};
                                running.set();
                                c.recv(10);  // the client never writes
                              });
  server.start();
  green::socket s = green::create_connection(server.address(), 5s);
  running.wait();
  const auto t0 = green::get_hub().now();
  server.stop(100ms);
  BOOST_CHECK(unwound);
  BOOST_CHECK(green::get_hub().now() - t0 >= 100ms);  // the grace period was given
  BOOST_CHECK(s.recv(10, 5s).empty());
  BOOST_CHECK_EQUAL(server.handlers(), 0u);
}

// H14.4, H14.5
BOOST_AUTO_TEST_CASE(stop_from_inside_a_handler_ends_serve_forever) {
  green::stream_server* srv = nullptr;
  bool returned = false;
  green::stream_server server(green::create_server(loopback),
                              [&](green::socket& c, const green::endpoint&) {
                                srv->stop();
                                c.sendall("bye");  // the caller goes on, its socket still open
                                returned = true;
                              });
  srv = &server;
  green::endpoint at = server.address();
  green::task<std::string> client = green::spawn([at] {
    green::socket s = green::create_connection(at, 5s);
    return recv_exactly(s, 10);
  });
  server.serve_forever();
  BOOST_CHECK(server.closed());
  BOOST_CHECK(returned);
  BOOST_CHECK_EQUAL(client.get(), "bye");
}

// H14.4
BOOST_AUTO_TEST_CASE(killing_the_greenlet_in_serve_forever_stops_the_server) {
  green::event running;
  bool unwound = false;
  green::stream_server server(green::create_server(loopback),
                              [&](green::socket& c, const green::endpoint&) {
                                struct on_exit {
                                  bool& flag;
                                  ~on_exit() { flag = true; }
                                } guard{unwound};
                                running.set();
                                c.recv(10);
                              });
  green::task<void> serving = green::spawn([&] { server.serve_forever(50ms); });
  green::sleep();
  green::socket s = green::create_connection(server.address(), 5s);
  running.wait();
  serving.kill();  // waits until serve_forever has stopped the server
  BOOST_CHECK(serving.ready());
  BOOST_CHECK(server.closed());
  BOOST_CHECK(unwound);
  BOOST_CHECK(s.recv(10, 5s).empty());
}

// H14.3
BOOST_AUTO_TEST_CASE(running_out_of_descriptors_in_accept_backs_off_and_recovers) {
  if (RUNNING_ON_VALGRIND) {
    // Valgrind emulates the soft limit: its accept takes the connection,
    // closes it and returns EMFILE, so the queued client would be lost.
    BOOST_TEST_MESSAGE("skipped under valgrind (emulated descriptor limit)");
    return;
  }
  captured_reports reports;
  green::stream_server server(green::create_server(loopback), echo);
  server.set_accept_delays(10ms, 40ms);
  server.start();
  green::socket a = green::create_connection(server.address(), 5s);
  a.sendall("a1");
  BOOST_CHECK_EQUAL(recv_exactly(a, 2), "a1");
  green::socket b(green::socket_kind::tcp);  // its descriptor, before the limit
  warm_up_type_checks();
  fd_limit limit(static_cast<rlim_t>(lowest_free_fd()));
  b.connect(server.address(), 5s);  // queued: accept fails with EMFILE
  green::sleep(100ms);
  // Retries 10, 20, 40, 40 ms apart: a spinning loop would count thousands
  // (and never let the virtual clock move).
  const std::uint64_t failed = server.accept_failures();
  BOOST_CHECK_GE(failed, 2u);
  BOOST_CHECK_LE(failed, 6u);
  a.sendall("a2");  // the connections it has are still served
  BOOST_CHECK_EQUAL(recv_exactly(a, 2), "a2");
  limit.restore();
  b.sendall("b1");
  BOOST_CHECK_EQUAL(recv_exactly(b, 2), "b1");    // accepted after the next retry
  BOOST_REQUIRE_EQUAL(reports.whats.size(), 1u);  // one report per streak
  BOOST_CHECK(reports.whats[0].find("accept") != std::string::npos);
  a.close();
  b.close();
  server.stop();
}

// H14.6
BOOST_AUTO_TEST_CASE(a_datagram_server_echoes_each_datagram_from_its_own_socket) {
  green::socket u(green::socket_kind::udp);
  u.bind(loopback);
  green::datagram_server server(std::move(u),
                                [](const std::string& data, const green::endpoint& from,
                                   green::datagram_server& s) { s.sendto("echo:" + data, from); });
  server.start();
  green::socket client(green::socket_kind::udp);
  for (const std::string& msg : std::vector<std::string>{"ping", "pong", std::string(1000, 'x')}) {
    client.sendto(msg, server.address());
    std::string buf(2048, '\0');
    green::endpoint from;
    buf.resize(client.recvfrom(buf.data(), buf.size(), from, 5s));
    BOOST_CHECK_EQUAL(buf, "echo:" + msg);
    BOOST_CHECK(from == server.address());
  }
  server.stop();
  BOOST_CHECK(server.closed());
}

// H14.4, H14.2, H14.3
BOOST_AUTO_TEST_CASE(misuse_gives_clear_errors) {
  green::stream_server server(green::create_server(loopback), echo);
  server.start();
  BOOST_CHECK_EXCEPTION(server.start(), green::error, [](const green::error& e) {
    return std::string(e.what()).find("already started") != std::string::npos;
  });
  server.stop();
  BOOST_CHECK_EXCEPTION(server.start(), green::error, [](const green::error& e) {
    return std::string(e.what()).find("cannot be restarted") != std::string::npos;
  });

  green::socket closed = green::create_server(loopback);
  closed.close();
  green::stream_server on_closed(std::move(closed), echo);
  BOOST_CHECK_EXCEPTION(on_closed.start(), green::error, [](const green::error& e) {
    return std::string(e.what()).find("socket is closed") != std::string::npos;
  });
  BOOST_CHECK(!on_closed.started());

  BOOST_CHECK_THROW(green::stream_server(green::create_server(loopback), nullptr),
                    green::value_error);
  green::pool none(0);
  BOOST_CHECK_THROW(green::stream_server(green::create_server(loopback), echo, none),
                    green::value_error);
  BOOST_CHECK_THROW(server.set_accept_delays(0ms, 1s), green::value_error);
}

// H14.5
BOOST_AUTO_TEST_CASE(destroying_a_running_server_kills_its_loop_and_handlers) {
  green::event running;
  green::endpoint at;
  {
    green::stream_server server(green::create_server(loopback),
                                [&](green::socket& c, const green::endpoint&) {
                                  running.set();
                                  c.recv(10);
                                });
    server.start();
    at = server.address();
    green::socket s = green::create_connection(at, 5s);
    running.wait();
  }
  green::idle();
  BOOST_CHECK_EQUAL(green::get_hub().live_tasks(), 0u);
}

BOOST_AUTO_TEST_SUITE_END()
