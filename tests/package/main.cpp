// Package consumer: a greenlet returns its first switch argument, and the value
// comes back to the caller. Exits 0 and prints "package consumer: 41" on success.
// It includes the umbrella header, so every installed header (the generated
// version.hpp among them) must be found and compile; the installed
// version.hpp must name the version the library was built as.
#include <green/green.hpp>

#include <cstdio>
#include <cstring>

int main() {
  green::greenlet g([](green::value v) { return v; });
  green::value r = g.switch_(41);
  int x = green::value_cast<int>(r);
  if (x != 41) {
    std::fprintf(stderr, "package consumer: expected 41, got %d\n", x);
    return 1;
  }
  if (std::strcmp(green::version_string(), GREEN_VERSION_STRING) != 0) {
    std::fprintf(stderr, "package consumer: library version %s, header version %s\n",
                 green::version_string(), GREEN_VERSION_STRING);
    return 1;
  }
  std::printf("package consumer: %d (green %s)\n", x, green::version_string());
  return 0;
}
