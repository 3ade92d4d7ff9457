// A timeout around a slow job (gevent: `with Timeout(...)` and
// gevent.with_timeout). Three workers run concurrently on the hub; the
// caller gives each one a deadline and cancels the slow one. The hub runs on
// its virtual clock, so the "seconds" below cost no real time.
#include <chrono>
#include <cstdio>
#include <string>

#include "green/hub.hpp"

using namespace std::chrono_literals;

struct job {
  std::string name;
  std::chrono::seconds takes;
  ~job() { std::printf("  %s: cleaned up\n", name.c_str()); }
};

int fetch(const std::string& name, std::chrono::seconds takes) {
  job j{name, takes};
  green::sleep(takes);  // stands for slow I/O: other greenlets run meanwhile
  return static_cast<int>(takes.count());
}

int main() {
  green::make_hub({.virtual_clock = true});
  const auto t0 = green::get_hub().now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::seconds>(green::get_hub().now() - t0).count();
  };

  auto fast = green::spawn(fetch, std::string("fast"), 1s);
  auto slow = green::spawn(fetch, std::string("slow"), 30s);
  fast.set_name("fast");
  slow.set_name("slow");

  // 1. A scoped deadline: thrown at the blocking point, told apart by identity.
  {
    green::timeout deadline(5s);
    try {
      std::printf("t=%llds fast returned %d\n", static_cast<long long>(since()), fast.get());
      std::printf("t=%llds slow returned %d\n", static_cast<long long>(since()), slow.get());
    } catch (const green::timeout& t) {
      if (t != deadline) throw;  // somebody else's timeout
      std::printf("t=%llds gave up waiting for slow after 5s; killing it\n",
                  static_cast<long long>(since()));
      slow.kill();  // greenlet_exit unwinds it: its destructor runs
    }
  }

  // 2. The same with a fallback value instead of an exception.
  int v = green::with_timeout(
      2s, [] { return fetch("another slow one", 10s); }, -1);
  std::printf("t=%llds with_timeout gave %d\n", static_cast<long long>(since()), v);
  std::printf("slow: ready=%d successful=%d (a greenlet_exit kill counts as success)\n",
              slow.ready(), slow.successful());
}
