// Cooperative sockets (docs/semantics.md H13) over loopback TCP, UDP and
// socketpairs, following gevent's src/gevent/tests/test__socket.py
// (TestTCP: test_sendall_*, test_makefile, test_connect_timeout,
// test_recv_timeout, test_sendall_timeout; TestClosedSocket) and
// test__socket_close.py. No case measures time: the timeouts are short and
// only their expiry is checked.
#define BOOST_TEST_MODULE hub_socket
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "green/hub.hpp"
#include "green/hub/asio.hpp"
#include "support/hub_fixture.hpp"
#include "support/sanitizers.hpp"

using namespace std::chrono_literals;
using green::test::throws;

namespace {

const green::endpoint loopback{"127.0.0.1", 0};

// A connected TCP pair over loopback: {client, server side}.
std::pair<green::socket, green::socket> tcp_pair() {
  green::socket server = green::create_server(loopback);
  green::socket accepted;
  green::task<void> acc = green::spawn([&] { accepted = server.accept(); });
  green::socket client = green::create_connection(server.local_endpoint());
  acc.get();
  return {std::move(client), std::move(accepted)};
}

// reset(s): close with an RST instead of a FIN (SO_LINGER 0).
void reset(green::socket& s) {
  linger l{1, 0};
  BOOST_REQUIRE(::setsockopt(s.fileno(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
  s.close();
}

// Fill the send buffer of `s` until a send would block.
void fill(green::socket& s) {
  std::vector<char> chunk(64 * 1024, 'x');
  while (::send(s.fileno(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
  }
  BOOST_REQUIRE(errno == EAGAIN || errno == EWOULDBLOCK);
}

bool has_code(const green::socket_error& e, std::errc c) { return e.code() == c; }

// Let the hub run what cancelled waits left behind, then check it is idle.
void check_hub_idle() {
  green::idle();
  BOOST_CHECK(green::get_hub().idle_now());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_socket, green::test::real_clock_hub)

BOOST_AUTO_TEST_CASE(an_echo_round_trip_over_loopback_blocks_only_the_waiting_greenlets) {
  green::socket server = green::create_server(loopback);
  green::task<void> echo = green::spawn([&] {
    green::socket c = server.accept();
    for (;;) {
      std::string got = c.recv(100);
      if (got.empty()) break;
      c.sendall(got);
    }
  });
  bool other_ran = false;
  green::task<void> other = green::spawn([&] { other_ran = true; });
  green::socket s = green::create_connection(server.local_endpoint(), 5s);
  BOOST_CHECK(s.remote_endpoint() == server.local_endpoint());
  s.sendall("ping");
  std::string back;
  while (back.size() < 4) back += s.recv(100);
  // The echo had to run for main's recv() to return: main's wait parked
  // only main.
  BOOST_CHECK(other_ran);
  BOOST_CHECK_EQUAL(back, "ping");
  s.shutdown(green::shut::write);
  BOOST_CHECK_EQUAL(s.recv(100), "");  // the echo ends, closing its side
  echo.get();
  other.get();
}

BOOST_AUTO_TEST_CASE(a_peer_that_resets_wakes_a_blocked_recv_with_connection_reset) {
  auto [a, b] = tcp_pair();
  green::task<bool> reader = green::spawn([&a = a] {
    try {
      a.recv(100);
    } catch (const green::socket_error& e) {
      return has_code(e, std::errc::connection_reset);
    }
    return false;
  });
  green::sleep(0s);  // the reader waits
  reset(b);
  BOOST_CHECK(reader.get());
}

BOOST_AUTO_TEST_CASE(a_peer_that_resets_wakes_a_blocked_sendall_with_an_error) {
  auto [a, b] = tcp_pair();
  green::task<std::error_code> writer = green::spawn([&a = a] {
    std::vector<char> big(8 << 20, 'x');
    try {
      a.sendall(big.data(), big.size());
    } catch (const green::socket_error& e) {
      return e.code();
    }
    return std::error_code();
  });
  green::sleep(0s);  // the writer fills the buffers and waits
  green::sleep(1ms);
  reset(b);
  const std::error_code ec = writer.get();
  BOOST_CHECK_MESSAGE(ec == std::errc::connection_reset || ec == std::errc::broken_pipe,
                      ec.message());
}

BOOST_AUTO_TEST_CASE(after_a_half_close_the_peer_reads_eof_and_can_still_send_back) {
  auto [a, b] = tcp_pair();
  green::task<void> peer = green::spawn([&b = b] {
    std::string all;
    for (std::string got; !(got = b.recv(100)).empty();) all += got;
    b.sendall("got " + all);
    b.close();
  });
  a.sendall("hello");
  a.shutdown(green::shut::write);
  std::string back;
  for (std::string got; !(got = a.recv(100)).empty();) back += got;
  BOOST_CHECK_EQUAL(back, "got hello");
  peer.get();
}

BOOST_AUTO_TEST_CASE(a_send_to_a_peer_that_never_reads_times_out_with_socket_timeout) {
  auto [a, b] = green::socket::pair();
  fill(a);
  BOOST_CHECK(throws<green::socket_timeout>([&a = a] { a.send("more", 5ms); }));
  a.settimeout(5ms);
  std::vector<char> big(1 << 20, 'x');
  try {
    a.sendall(big.data(), big.size());
    BOOST_ERROR("sendall() to a full socket returned");
  } catch (const green::socket_timeout& e) {
    BOOST_CHECK(e.code() == std::errc::timed_out);
    BOOST_CHECK(std::string(e.what()).find("sendall()") != std::string::npos);
  }
  // A socket_timeout is an ordinary error, unlike green::timeout.
  BOOST_CHECK(throws<green::socket_error>([&a = a] { a.recv(10); }));
  check_hub_idle();
}

BOOST_AUTO_TEST_CASE(an_accepted_socket_starts_without_the_listeners_timeout) {
  green::socket server = green::create_server(loopback);
  server.settimeout(1s);
  green::socket accepted;
  green::task<void> acc = green::spawn([&] { accepted = server.accept(); });
  green::socket c = green::create_connection(server.local_endpoint(), 1s);
  acc.get();
  BOOST_CHECK(!accepted.gettimeout());
  BOOST_CHECK(server.gettimeout() == std::optional<green::duration>(1s));
}

BOOST_AUTO_TEST_CASE(recv_with_a_timeout_throws_socket_timeout_and_the_socket_stays_usable) {
  auto [a, b] = green::socket::pair();
  BOOST_CHECK(throws<green::socket_timeout>([&a = a] { a.recv(10, 2ms); }));
  b.sendall("late");
  BOOST_CHECK_EQUAL(a.recv(10, 1s), "late");
}

BOOST_AUTO_TEST_CASE(connecting_to_a_closed_port_throws_connection_refused) {
  green::endpoint gone;
  {
    green::socket s = green::create_server(loopback);
    gone = s.local_endpoint();
  }
  try {
    green::create_connection(gone, 1s);
    BOOST_ERROR("connected to a closed port");
  } catch (const green::socket_error& e) {
    BOOST_CHECK_MESSAGE(e.code() == std::errc::connection_refused, e.what());
  }
}

BOOST_AUTO_TEST_CASE(a_connect_that_gets_no_answer_throws_socket_timeout) {
  // A listener with a full accept queue drops new SYNs: the connect stays
  // in progress until its timeout.
  green::socket server = green::create_server(loopback, 0);
  std::vector<green::socket> queued;
  bool timed_out = false;
  for (int i = 0; i < 16 && !timed_out; ++i) {
    green::socket c(green::socket_kind::tcp);
    try {
      c.connect(server.local_endpoint(), 20ms);
      queued.push_back(std::move(c));
    } catch (const green::socket_timeout&) {
      timed_out = true;
    }
  }
  BOOST_CHECK(timed_out);
  check_hub_idle();
}

BOOST_AUTO_TEST_CASE(two_greenlets_receiving_on_one_socket_is_a_concurrent_use_error) {
  auto [a, b] = green::socket::pair();
  green::task<std::string> first = green::spawn([&a = a] { return a.recv(10); });
  green::sleep(0s);
  green::task<bool> second =
      green::spawn([&a = a] { return throws<green::concurrent_use_error>([&a] { a.recv(10); }); });
  BOOST_CHECK(second.get());
  // Another direction is no conflict, and the first reader is unharmed.
  green::task<void> writer = green::spawn([&a = a] { a.wait_writable(); });
  writer.get();
  b.sendall("x");
  BOOST_CHECK_EQUAL(first.get(), "x");
}

BOOST_AUTO_TEST_CASE(two_greenlets_sending_on_one_full_socket_is_a_concurrent_use_error) {
  auto [a, b] = green::socket::pair();
  fill(a);
  green::task<void> first = green::spawn([&a = a] { a.sendall("first"); });
  green::sleep(0s);
  BOOST_CHECK(!first.ready());
  BOOST_CHECK(throws<green::concurrent_use_error>([&a = a] { a.send("second"); }));
  // The reader drains the buffer; the first sender finishes.
  green::task<void> drain = green::spawn([&b = b] {
    std::vector<char> buf(1 << 16);
    while (b.recv_into(buf.data(), buf.size(), 1s) > 0) {
    }
  });
  first.get();
  a.close();
  drain.get();
}

BOOST_AUTO_TEST_CASE(closing_a_socket_wakes_its_waiting_greenlet_with_bad_file_descriptor) {
  auto [a, b] = green::socket::pair();
  green::task<std::error_code> reader = green::spawn([&a = a]() -> std::error_code {
    try {
      a.recv(10);
    } catch (const green::socket_error& e) {
      return e.code();
    }
    return {};
  });
  green::sleep(0s);
  a.close();
  BOOST_CHECK(reader.get() == std::errc::bad_file_descriptor);
  BOOST_CHECK(a.closed());
  BOOST_CHECK(throws<green::socket_error>([&a = a] { a.recv(10); }));
  check_hub_idle();
}

BOOST_AUTO_TEST_CASE(destroying_a_socket_object_under_its_waiter_wakes_it_with_an_error) {
  auto [first, peer] = green::socket::pair();
  auto p = std::make_unique<green::socket>(std::move(first));
  green::task<bool> reader =
      green::spawn([&] { return throws<green::socket_error>([&] { p->recv(10); }); });
  green::sleep(0s);
  p.reset();
  BOOST_CHECK(reader.get());
  check_hub_idle();
}

BOOST_AUTO_TEST_CASE(a_kill_or_timeout_in_every_blocking_call_leaves_nothing_behind) {
  green::socket server = green::create_server(loopback, 0);
  auto [a, b] = green::socket::pair();
  auto [full, full_peer] = green::socket::pair();
  fill(full);
  green::socket udp(green::socket_kind::udp);
  udp.bind(loopback);
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  // A connect that hangs: the accept queue of `server` is full.
  std::vector<green::socket> queued;
  for (int i = 0; i < 16; ++i) {
    green::socket c(green::socket_kind::tcp);
    if (!green::within(5ms, [&] { c.connect(server.local_endpoint()); })) break;
    queued.push_back(std::move(c));
  }
  std::vector<std::pair<const char*, std::function<void()>>> calls = {
      {"connect",
       [&] {
         green::socket c(green::socket_kind::tcp);
         c.connect(server.local_endpoint());
       }},
      {"accept", [&] { green::create_server(loopback).accept(); }},
      {"recv", [&a = a] { a.recv(10); }},
      {"send", [&full = full] { full.sendall("more"); }},
      {"recvfrom",
       [&] {
         char buf[10];
         green::endpoint from;
         udp.recvfrom(buf, sizeof buf, from);
       }},
      {"wait_readable", [&] { green::wait_readable(fds[0]); }},
  };
  for (auto& [name, call] : calls) {
    BOOST_TEST_CONTEXT(name) {
      // A green::timeout.
      BOOST_CHECK(!green::within(1ms, call));
      // A kill.
      green::task<void> t = green::spawn(call);
      green::sleep(0s);
      BOOST_CHECK(!t.ready());
      t.kill();
      BOOST_CHECK(t.exited());
      check_hub_idle();
      // The same call can wait again afterwards.
      BOOST_CHECK(!green::within(1ms, call));
    }
  }
  ::close(fds[0]);
  ::close(fds[1]);
  check_hub_idle();
}

BOOST_AUTO_TEST_CASE(zero_length_send_and_recv_return_zero_at_once) {
  auto [a, b] = green::socket::pair();
  BOOST_CHECK_EQUAL(a.send("", 1ms), 0U);
  a.sendall("", 1ms);
  char c = 0;
  BOOST_CHECK_EQUAL(b.recv_into(&c, 0, 1ms), 0U);
  BOOST_CHECK_EQUAL(b.recv(0, 1ms), "");
}

BOOST_AUTO_TEST_CASE(a_big_sendall_through_a_socketpair_arrives_byte_for_byte) {
  const std::size_t size =
      (green::test::under_asan || green::test::under_tsan || RUNNING_ON_VALGRIND) ? (1U << 20)
                                                                                  : (4U << 20);
  std::vector<unsigned char> data(size);
  for (std::size_t i = 0; i < size; ++i)
    data[i] = static_cast<unsigned char>((i * 7 + i / 251) & 0xff);
  auto [a, b] = green::socket::pair();
  green::task<std::vector<unsigned char>> reader = green::spawn([&b = b, want = size] {
    std::vector<unsigned char> got(want);
    std::size_t at = 0;
    while (at < want) {
      const std::size_t n = b.recv_into(got.data() + at, want - at);
      if (n == 0) break;
      at += n;
    }
    got.resize(at);
    return got;
  });
  a.sendall(data.data(), data.size());
  const std::vector<unsigned char> got = reader.get();
  BOOST_CHECK_EQUAL(got.size(), size);
  BOOST_CHECK(got == data);
}

BOOST_AUTO_TEST_CASE(a_udp_datagram_makes_a_round_trip_with_the_senders_endpoint) {
  green::socket server(green::socket_kind::udp);
  server.bind(loopback);
  green::task<void> echo = green::spawn([&] {
    char buf[64];
    green::endpoint from;
    const std::size_t n = server.recvfrom(buf, sizeof buf, from, 1s);
    server.sendto(buf, n, from);
  });
  green::socket client(green::socket_kind::udp);
  client.bind(loopback);
  client.sendto("datagram", server.local_endpoint());
  char buf[64];
  green::endpoint from;
  const std::size_t n = client.recvfrom(buf, sizeof buf, from, 1s);
  BOOST_CHECK_EQUAL(std::string(buf, n), "datagram");
  BOOST_CHECK(from == server.local_endpoint());
  echo.get();
}

BOOST_AUTO_TEST_CASE(wait_readable_on_any_descriptor_resumes_once_it_has_data) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  green::task<void> w = green::spawn([&] { green::wait_readable(fds[0], 1s); });
  green::sleep(0s);
  BOOST_CHECK(!w.ready());
  BOOST_REQUIRE(::write(fds[1], "x", 1) == 1);
  w.get();
  green::wait_writable(fds[1], 1s);
  BOOST_CHECK(throws<green::socket_timeout>([&] {
    char c;
    BOOST_REQUIRE(::read(fds[0], &c, 1) == 1);
    green::wait_readable(fds[0], 1ms);
  }));
  // Not owned: the descriptor is still open.
  BOOST_CHECK(::fcntl(fds[0], F_GETFD) >= 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(wait_readable_on_a_descriptor_a_socket_watches_says_to_use_the_socket) {
  auto [a, b] = green::socket::pair();
  a.wait_writable();  // a's descriptor is in the hub's reactor now
  try {
    green::wait_readable(a.fileno(), 1ms);
    BOOST_ERROR("a second registration of one descriptor was accepted");
  } catch (const green::socket_error& e) {
    BOOST_CHECK(std::string(e.what()).find("through that socket") != std::string::npos);
  }
  b.sendall("x");
  BOOST_CHECK_EQUAL(a.recv(10, 1s), "x");  // the socket is unharmed
}

BOOST_AUTO_TEST_CASE(connect_by_name_takes_an_address_of_the_sockets_family) {
  green::socket server = green::create_server(loopback);
  green::socket accepted;
  green::task<void> acc = green::spawn([&] { accepted = server.accept(); });
  green::socket c(green::socket_kind::tcp, green::ip_family::v4);
  c.connect({"localhost", server.local_endpoint().port}, 1s);
  acc.get();
  BOOST_CHECK(c.remote_endpoint() == server.local_endpoint());
}

BOOST_AUTO_TEST_CASE(resolve_turns_a_name_into_numeric_endpoints) {
  const std::vector<green::endpoint> found = green::resolve("localhost", 80);
  BOOST_REQUIRE(!found.empty());
  for (const auto& e : found) {
    BOOST_CHECK(e.host == "127.0.0.1" || e.host == "::1");
    BOOST_CHECK_EQUAL(e.port, 80);
  }
  const std::vector<green::endpoint> numeric = green::resolve("10.1.2.3", 7);
  BOOST_CHECK((numeric == std::vector<green::endpoint>{{"10.1.2.3", 7}}));
  BOOST_CHECK_THROW(green::resolve("no-such-host.invalid", 80), green::socket_error);
}

BOOST_AUTO_TEST_CASE(pending_io_keeps_the_loop_from_loop_exit) {
  // Main waits on an event only a socket read can set: no loop_exit.
  auto [a, b] = green::socket::pair();
  green::event got;
  green::task<void> reader = green::spawn([&a = a, &got] {
    a.recv(10);
    got.set();
  });
  green::task<void> writer = green::spawn([&b = b] {
    green::sleep(1ms);
    b.sendall("x");
  });
  BOOST_CHECK(got.wait());
  reader.get();
  writer.get();
}

BOOST_AUTO_TEST_CASE(sockets_misused_say_what_happened) {
  green::socket closed;
  BOOST_CHECK(closed.closed());
  BOOST_CHECK_EQUAL(closed.fileno(), -1);
  try {
    closed.recv(1);
    BOOST_ERROR("recv() on a closed socket returned");
  } catch (const green::socket_error& e) {
    BOOST_CHECK(e.code() == std::errc::bad_file_descriptor);
    BOOST_CHECK(std::string(e.what()).find("closed socket") != std::string::npos);
  }
  green::socket s(green::socket_kind::tcp);
  BOOST_CHECK_THROW(s.bind({"not an address", 0}), green::value_error);
  s.close();
  s.close();  // idempotent
}

BOOST_AUTO_TEST_SUITE_END()

// H13.8: on the virtual clock, socket I/O is awaited before the clock jumps.
BOOST_FIXTURE_TEST_SUITE(hub_socket_virtual_clock, green::test::hub_check)

BOOST_AUTO_TEST_CASE(data_sent_after_a_virtual_sleep_arrives_before_the_readers_timeout) {
  auto [a, b] = green::socket::pair();
  green::task<std::string> reader = green::spawn([&a = a] { return a.recv(10, 10s); });
  green::task<void> writer = green::spawn([&b = b] {
    green::sleep(1s);
    b.sendall("x");
  });
  BOOST_CHECK_EQUAL(reader.get(), "x");
  writer.get();
}

BOOST_AUTO_TEST_CASE(a_socket_timeout_on_the_virtual_clock_expires_in_virtual_time) {
  auto [a, b] = green::socket::pair();
  const green::time_point t0 = green::get_hub().now();
  BOOST_CHECK(throws<green::socket_timeout>([&a = a] { a.recv(10, 3600s); }));
  BOOST_CHECK(green::get_hub().now() - t0 >= 3600s);
}

BOOST_AUTO_TEST_SUITE_END()

// H13.11: a socket that outlives its hub keeps its descriptor.
BOOST_FIXTURE_TEST_SUITE(hub_socket_lifetime, green::test::hub_check)

BOOST_AUTO_TEST_CASE(a_socket_that_outlives_its_hub_keeps_its_descriptor_and_cannot_wait) {
  auto [a, b] = green::socket::pair();
  a.wait_writable();  // a has an Asio object on the hub's io_context
  green::destroy_hub();
  b.sendall("x");  // no wait needed
  BOOST_CHECK_EQUAL(a.recv(10), "x");
  BOOST_CHECK_THROW(a.recv(10), green::error);  // would wait: no hub
  a.close();
  green::make_hub({.virtual_clock = true});
}

BOOST_AUTO_TEST_CASE(handlers_left_in_the_applications_io_context_after_the_hub_went_do_nothing) {
  green::destroy_hub();
  {
    boost::asio::io_context io;
    green::make_hub(io);
    auto [a, b] = green::socket::pair();
    green::task<void> reader = green::spawn([&a = a] { a.recv(10); });
    green::sleep(0s);
    BOOST_CHECK(!reader.ready());
    // Kills the reader; its cancelled wait's handler stays queued in `io`.
    green::destroy_hub();
    io.run();  // runs it: it finds the hub gone and touches nothing
    a.close();
  }
  green::make_hub({.virtual_clock = true});
}

BOOST_AUTO_TEST_SUITE_END()
