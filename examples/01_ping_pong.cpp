// Two greenlets ping-pong a counter: each switch_() carries a value to the
// other side and returns the value the other side sends back.
#include <cstdio>
#include "green/greenlet.hpp"

int main() {
  green::greenlet ping;  // its function is set below, once pong exists
  green::greenlet pong([&](int n) {
    for (;;) {
      std::printf("  pong got %d\n", n);
      n = green::value_cast<int>(ping.switch_(n + 1));
    }
  });
  ping.set_run([&](int n) {
    while (n < 6) {
      std::printf("ping got %d\n", n);
      n = green::value_cast<int>(pong.switch_(n + 1));
    }
    return n;  // a greenlet's result goes to its parent: main
  });
  int result = green::value_cast<int>(ping.switch_(0));
  std::printf("ping finished with %d; ping dead=%d, pong suspended=%d\n", result, ping.dead(),
              static_cast<bool>(pong));
}  // pong's last handle goes away: greenlet_exit unwinds it
