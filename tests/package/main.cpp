// Package consumer: a greenlet returns its first switch argument, and the value
// comes back to the caller. Exits 0 and prints "package consumer: 41" on success.
#include <green/greenlet.hpp>

#include <cstdio>

int main() {
  green::greenlet g([](green::value v) { return v; });
  green::value r = g.switch_(41);
  int x = green::value_cast<int>(r);
  if (x != 41) {
    std::fprintf(stderr, "package consumer: expected 41, got %d\n", x);
    return 1;
  }
  std::printf("package consumer: %d\n", x);
  return 0;
}
