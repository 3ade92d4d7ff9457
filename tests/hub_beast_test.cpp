// green::asio_stream as Asio's SyncReadStream and SyncWriteStream
// (docs/semantics.md H13.9): Boost.Beast's synchronous HTTP calls run on
// greenlets and block only the calling greenlet.
#define BOOST_TEST_MODULE hub_beast
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "green/hub.hpp"
#include "green/hub/asio_stream.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;
namespace http = boost::beast::http;

static_assert(boost::beast::is_sync_read_stream<green::asio_stream>::value);
static_assert(boost::beast::is_sync_write_stream<green::asio_stream>::value);

BOOST_FIXTURE_TEST_SUITE(hub_beast, green::test::real_clock_hub)

BOOST_AUTO_TEST_CASE(a_beast_server_greenlet_serves_two_client_greenlets_at_once) {
  green::socket listener = green::create_server({"127.0.0.1", 0});
  const green::endpoint at = listener.local_endpoint();
  // Each handler answers only once both requests are in: a server that
  // blocked the thread (or served one connection at a time) never would.
  int requests_in = 0;
  green::event both_in;
  green::group handlers;
  green::task<void> server = green::spawn([&] {
    for (int i = 0; i < 2; ++i) {
      auto conn = std::make_shared<green::socket>(listener.accept());
      handlers.spawn([&, conn] {
        green::asio_stream stream(*conn);
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(stream, buffer, req);
        if (++requests_in == 2) both_in.set();
        BOOST_REQUIRE(both_in.wait(5s));
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.body() = "hello " + std::string(req.target());
        res.prepare_payload();
        http::write(stream, res);
      });
    }
  });
  auto client = [at](std::string target) {
    green::socket s = green::create_connection(at, 5s);
    s.settimeout(5s);
    green::asio_stream stream(s);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res.body();
  };
  green::task<std::string> a = green::spawn(client, std::string("/a"));
  green::task<std::string> b = green::spawn(client, std::string("/b"));
  BOOST_CHECK_EQUAL(a.get(), "hello /a");
  BOOST_CHECK_EQUAL(b.get(), "hello /b");
  server.get();
  handlers.join();
}

BOOST_AUTO_TEST_CASE(a_beast_websocket_echo_runs_between_two_greenlets) {
  namespace websocket = boost::beast::websocket;
  green::socket listener = green::create_server({"127.0.0.1", 0});
  green::task<void> server = green::spawn([&] {
    green::socket conn = listener.accept();
    websocket::stream<green::asio_stream> ws(conn);
    ws.accept();
    boost::beast::flat_buffer buffer;
    ws.read(buffer);
    ws.text(ws.got_text());
    ws.write(buffer.data());
    boost::system::error_code ec;
    ws.read(buffer, ec);  // the client's close
    BOOST_CHECK(ec == websocket::error::closed);
  });
  green::socket s = green::create_connection(listener.local_endpoint(), 5s);
  s.settimeout(5s);
  websocket::stream<green::asio_stream> ws(s);
  ws.handshake("localhost", "/");
  ws.write(boost::asio::buffer(std::string("echo me")));
  boost::beast::flat_buffer buffer;
  ws.read(buffer);
  BOOST_CHECK_EQUAL(boost::beast::buffers_to_string(buffer.data()), "echo me");
  ws.close(websocket::close_code::normal);
  server.get();
}

BOOST_AUTO_TEST_CASE(end_of_file_and_errors_come_back_as_asio_error_codes) {
  auto [a, b] = green::socket::pair();
  green::asio_stream sa(a);
  b.sendall("ab");
  b.close();
  char buf[8];
  boost::system::error_code ec;
  // Into the first non-empty buffer of a sequence.
  std::vector<boost::asio::mutable_buffer> bufs = {boost::asio::buffer(buf, 0),
                                                   boost::asio::buffer(buf, sizeof buf)};
  BOOST_CHECK_EQUAL(sa.read_some(bufs, ec), 2U);
  BOOST_CHECK(!ec);
  BOOST_CHECK_EQUAL(sa.read_some(boost::asio::buffer(buf), ec), 0U);
  BOOST_CHECK(ec == boost::asio::error::eof);
  BOOST_CHECK_THROW(sa.read_some(boost::asio::buffer(buf)), boost::system::system_error);
  // Writing to a closed peer: broken pipe, as an error code or thrown.
  BOOST_CHECK_EQUAL(sa.write_some(boost::asio::buffer("x", 1), ec), 0U);
  BOOST_CHECK(ec == boost::asio::error::broken_pipe || ec == boost::asio::error::connection_reset);
  BOOST_CHECK_THROW(boost::asio::write(sa, boost::asio::buffer("x", 1)),
                    boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(a_socket_timeout_is_a_timed_out_error_code_and_a_kill_passes_through) {
  auto [a, b] = green::socket::pair();
  a.settimeout(1ms);
  green::asio_stream sa(a);
  char buf[8];
  boost::system::error_code ec;
  BOOST_CHECK_EQUAL(sa.read_some(boost::asio::buffer(buf), ec), 0U);
  BOOST_CHECK(ec == boost::system::errc::timed_out);
  a.settimeout(std::nullopt);
  // green::timeout is a signal: neither overload turns it into an error code.
  BOOST_CHECK(!green::within(1ms, [&] { sa.read_some(boost::asio::buffer(buf), ec); }));
  BOOST_CHECK(!green::within(1ms, [&] { boost::asio::read(sa, boost::asio::buffer(buf)); }));
}

BOOST_AUTO_TEST_SUITE_END()
