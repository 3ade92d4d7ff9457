// A port forwarder (gevent's examples/portforwarder.py): a stream_server
// whose handler connects to a backend and copies bytes both ways, one
// greenlet per direction; end of file in one direction is passed on with a
// shutdown. The backend here is an echo server on loopback, and a client
// greenlet talks to it through the forwarder.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "green/hub.hpp"

using namespace std::chrono_literals;

// pump(from, to): copy until end of file, then tell the other side.
std::size_t pump(green::socket& from, green::socket& to) {
  std::size_t total = 0;
  char buf[4096];
  for (std::size_t n; (n = from.recv_into(buf, sizeof buf)) != 0; total += n) to.sendall(buf, n);
  to.shutdown(green::shut::write);
  return total;
}

int main() {
  green::stream_server backend(green::create_server({"127.0.0.1", 0}),
                               [](green::socket& c, const green::endpoint&) {
                                 for (std::string got; !(got = c.recv(4096)).empty();)
                                   c.sendall(got);
                               });
  backend.start();

  std::size_t up = 0, down = 0;
  green::stream_server forwarder(
      green::create_server({"127.0.0.1", 0}), [&](green::socket& client, const green::endpoint&) {
        green::socket server = green::create_connection(backend.address(), 5s);
        green::task<std::size_t> a = green::spawn([&] { return pump(client, server); });
        green::task<std::size_t> b = green::spawn([&] { return pump(server, client); });
        // Both pumps use this frame's sockets: they end before it does.
        std::exception_ptr interrupted;
        try {
          up += a.get();
          down += b.get();
        } catch (...) {
          interrupted = std::current_exception();
        }
        a.kill();
        b.kill();
        if (interrupted) std::rethrow_exception(interrupted);
      });
  forwarder.start();

  green::task<std::string> client = green::spawn([&] {
    green::socket s = green::create_connection(forwarder.address(), 5s);
    s.sendall("through the forwarder and back");
    s.shutdown(green::shut::write);
    std::string all;
    for (std::string got; !(got = s.recv(4096, 5s)).empty();) all += got;
    return all;
  });
  std::printf("client got back: %s\n", client.get().c_str());

  forwarder.stop();
  backend.stop();
  std::printf("forwarded %zu bytes up and %zu bytes down\n", up, down);
  return 0;
}
