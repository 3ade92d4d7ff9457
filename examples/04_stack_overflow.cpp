// A greenlet that recurses without bound runs into the guard page below its
// stack. green reports which greenlet overflowed, its stack size and how to
// raise it, then aborts. (`make demo` expects this program to abort.)
#include <cstdio>

#include "green/greenlet.hpp"

static int depth(int n) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(n);
  return n > 1000000000 ? frame[0] : depth(n + 1) + frame[0];
}

int main() {
  green::greenlet deep([] { return depth(0); }, green::stack_options{.size = 64 * 1024});
  deep.set_name("recursive-parser");
  std::printf("running a greenlet with a 64 KiB stack that recurses forever...\n");
  std::fflush(stdout);
  deep.switch_();
  std::printf("not reached\n");
}
