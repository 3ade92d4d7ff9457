// A UDP echo server (gevent: DatagramServer): the handler runs in a greenlet
// per datagram and replies through the server, which lets one reply go out at
// a time. A client greenlet sends three datagrams and prints the replies.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

#include "green/hub.hpp"

using namespace std::chrono_literals;

int main() {
  green::socket udp(green::socket_kind::udp);
  udp.bind({"127.0.0.1", 0});
  green::datagram_server server(
      std::move(udp),
      [](const std::string& data, const green::endpoint& from, green::datagram_server& self) {
        std::string upper = data;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        self.sendto(upper, from);
      });
  server.start();

  green::task<void> client = green::spawn([&] {
    green::socket s(green::socket_kind::udp);
    for (const char* msg : {"hello", "green", "datagrams"}) {
      s.sendto(msg, server.address());
      std::string buf(1024, '\0');
      green::endpoint from;
      buf.resize(s.recvfrom(buf.data(), buf.size(), from, 5s));
      std::printf("sent %-10s got %-10s from the server: %s\n", msg, buf.c_str(),
                  from == server.address() ? "yes" : "no");
    }
  });
  client.get();
  server.stop();
  std::printf("stopped: %s\n", server.closed() ? "yes" : "no");
  return 0;
}
