// An echo server (gevent: StreamServer(listener, handle, spawn=Pool(2))):
// each connection is served by its own greenlet, at most two at a time; the
// client socket is closed when the handler returns. Three client greenlets
// talk to it at once, then the server is stopped gracefully. The port is
// picked by the system and not printed, so the output is the same on every
// run.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "green/hub.hpp"

using namespace std::chrono_literals;

int main() {
  green::pool handlers(2);
  int served = 0;
  green::stream_server server(
      green::create_server({"127.0.0.1", 0}),
      [&](green::socket& client, const green::endpoint&) {
        for (std::string got; !(got = client.recv(4096)).empty();) client.sendall(got);
        ++served;
      },  // returning closes `client`
      handlers);
  server.start();

  std::vector<green::task<std::string>> clients;
  for (int k = 1; k <= 3; ++k)
    clients.push_back(green::spawn([&server, k] {
      green::socket s = green::create_connection(server.address(), 5s);
      std::string reply;
      for (int line = 1; line <= 2; ++line) {
        const std::string msg = "client " + std::to_string(k) + " line " + std::to_string(line);
        s.sendall(msg);
        std::string back;
        while (back.size() < msg.size()) back += s.recv(msg.size() - back.size(), 5s);
        reply += (line > 1 ? " | " : "") + back;
      }
      s.shutdown(green::shut::write);
      const bool eof = s.recv(16, 5s).empty();
      return reply + (eof ? " | end of file" : " | no end of file?");
    }));
  for (std::size_t i = 0; i < clients.size(); ++i)
    std::printf("client %zu got back: %s\n", i + 1, clients[i].get().c_str());

  server.stop(1s);  // close the listener, wait for handlers, kill the rest
  std::printf("served %d connections, at most %zu at a time; stopped: %s\n", served,
              *handlers.capacity(), server.closed() ? "yes" : "no");
  return 0;
}
