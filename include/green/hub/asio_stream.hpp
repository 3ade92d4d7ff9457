// green/hub/asio_stream.hpp
//
// Opt-in, Asio-facing: asio_stream makes a green::socket an Asio
// SyncReadStream and SyncWriteStream, so that synchronous Asio and
// Boost.Beast code (boost::asio::read, beast::http::read/write) runs on a
// greenlet and blocks only that greenlet (docs/semantics.md H13.9).
// Beast's synchronous websocket calls work too:
// boost::beast::websocket::stream<green::asio_stream>.
//
//   green::socket s = green::create_connection({"127.0.0.1", port});
//   green::asio_stream stream(s);
//   boost::beast::http::write(stream, request);
//   boost::beast::http::read(stream, buffer, response);
//
// End of file is boost::asio::error::eof; a socket_error becomes its
// error_code (the error_code overloads) or a boost::system::system_error
// (the throwing ones); socket_timeout is std::errc::timed_out. Kills and
// green::timeout are signals, not errors: they pass through both kinds.

#ifndef GREEN_HUB_ASIO_STREAM_HPP
#define GREEN_HUB_ASIO_STREAM_HPP

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>

#include "green/hub/asio.hpp"
#include "green/hub/socket.hpp"

namespace green {

class asio_stream {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  // asio_stream(s) refers to `s`, which must outlive it.
  explicit asio_stream(socket& s) : s_(&s), ex_(green::io_context(get_hub()).get_executor()) {}

  socket& next_layer() noexcept { return *s_; }
  // get_executor(): the hub's io_context, for the Asio objects synchronous
  // code may make (Beast's websocket stream makes a timer it does not arm
  // in synchronous use).
  executor_type get_executor() const noexcept { return ex_; }

  // read_some(): at least one byte into the first non-empty buffer; eof at
  // end of file; nothing for an empty sequence.
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    const boost::asio::mutable_buffer b = first(buffers);
    if (b.size() == 0) return 0;
    try {
      const std::size_t n = s_->recv_into(b.data(), b.size());
      if (n == 0) ec = boost::asio::error::eof;
      return n;
    } catch (const socket_error& e) {
      ec = to_boost(e.code());
      return 0;
    }
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    const boost::asio::const_buffer b = first(buffers);
    if (b.size() == 0) return 0;
    try {
      return s_->send(b.data(), b.size());
    } catch (const socket_error& e) {
      ec = to_boost(e.code());
      return 0;
    }
  }

 private:
  template <class Buffers>
  static auto first(const Buffers& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    using buffer = std::decay_t<decltype(*it)>;
    for (; it != end; ++it) {
      if (buffer(*it).size() != 0) return buffer(*it);
    }
    return buffer();
  }
  static boost::system::error_code to_boost(const std::error_code& ec) {
    if (ec.category() == std::system_category() || ec.category() == std::generic_category()) {
      return {ec.value(), boost::system::system_category()};
    }
    return ec;  // Boost.System wraps any other category
  }

  socket* s_;
  executor_type ex_;
};

// teardown(): how Beast's websocket closes the connection under a green
// socket (found by argument-dependent lookup): shut down sending, read until
// the peer's end of file, close; as Beast's own for TCP sockets.
inline void teardown(boost::beast::role_type, asio_stream& stream, boost::system::error_code& ec) {
  ec = {};
  try {
    stream.next_layer().shutdown(shut::write);
    char buf[2048];
    while (stream.next_layer().recv_into(buf, sizeof buf) > 0) {
    }
  } catch (const socket_error& e) {
    if (e.code() != std::errc::not_connected) {
      ec.assign(e.code().value(), boost::system::system_category());
    }
  }
  stream.next_layer().close();
}

}  // namespace green

#endif  // GREEN_HUB_ASIO_STREAM_HPP
