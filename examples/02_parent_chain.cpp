// A result travels up the parent chain: each greenlet's return value goes to
// its parent, wherever that parent is suspended (G4.1, G4.4). A dead parent is
// skipped, and an exception goes to the parent too.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "green/greenlet.hpp"

int main() {
  green::greenlet outer([](std::string from_inner) {
    std::printf("outer received \"%s\" from its child and returns it to main\n",
                from_inner.c_str());
    return from_inner + " -> outer";
  });
  // inner's parent is outer, which has not started: inner's result starts it.
  green::greenlet inner([] { return std::string("inner"); }, outer);
  std::string r = green::value_cast<std::string>(inner.switch_());
  std::printf("main got \"%s\"\n", r.c_str());

  // An exception escaping a child is raised in the parent, not in the caller.
  green::greenlet failing([] { throw std::runtime_error("disk full"); });
  try {
    failing.switch_();
  } catch (const std::runtime_error& e) {
    std::printf("main caught from its child: %s (child dead=%d)\n", e.what(), failing.dead());
  }
  // Switching to a dead greenlet forwards the value to its parent: here, main.
  std::printf("switch to dead inner returns %d\n", green::value_cast<int>(inner.switch_(7)));
}
