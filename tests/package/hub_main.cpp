// Package consumer of green::hub: spawns a task and joins it. Built (and run
// by package_test.cmake) to prove the installed hub target, its headers and
// its link dependencies (Threads) resolve. Prints "hub consumer: 42".
#include <green/hub.hpp>

#include <cstdio>

int main() {
  auto t = green::spawn([](int x) { return x * 2; }, 21);
  const int v = t.get();
  std::printf("hub consumer: %d\n", v);
  return v == 42 ? 0 : 1;
}
