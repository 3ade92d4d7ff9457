// Killing a greenlet is a throw: greenlet_exit unwinds its stack, so the
// destructors of objects on it run. Dropping the last handle to a suspended
// greenlet does the same thing automatically.
#include <cstdio>
#include <string>

#include "green/greenlet.hpp"

struct connection {
  std::string name;
  explicit connection(std::string n) : name(std::move(n)) {
    std::printf("  open %s\n", name.c_str());
  }
  ~connection() { std::printf("  close %s (destructor ran on the killed stack)\n", name.c_str()); }
};

int main() {
  green::greenlet worker([] {
    connection db("db");
    connection cache("cache");
    for (;;) green::getcurrent().parent()->switch_();  // park forever
  });
  worker.switch_();
  std::printf("explicit kill with throw_():\n");
  green::value v = worker.throw_();  // greenlet_exit by default; comes back as a value
  std::printf("  worker dead=%d, result holds greenlet_exit=%d\n", worker.dead(),
              v.type() == typeid(green::greenlet_exit));

  std::printf("kill on last handle:\n");
  {
    green::greenlet temp([] {
      connection file("file");
      green::getcurrent().parent()->switch_();
      std::printf("  never printed\n");
    });
    temp.switch_();
  }  // temp's last handle goes away here
  std::printf("done\n");
}
