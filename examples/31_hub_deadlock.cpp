// A deadlock on purpose, and what green says about it. gevent would print
// only "LoopExit: This operation would block forever"; green's loop_exit
// names every waiting greenlet, what it waits on and where it was spawned.
#include <cstdio>

#include "green/hub.hpp"

int main() {
  green::event config_loaded;  // nobody ever sets it: the bug
  green::async_result<int> answer;

  auto loader = green::spawn([&] {
    config_loaded.wait();
    answer.set(42);
  });
  loader.set_name("loader");
  auto reporter = green::spawn([&] { loader.join(); });
  reporter.set_name("reporter");

  try {
    reporter.join();
  } catch (const green::loop_exit& e) {
    std::printf("loop_exit: nothing can ever wake main. Who waits on what:\n%s",
                e.report().c_str());
    std::printf("(%zu waiting greenlets; fix: call config_loaded.set())\n", e.waiting().size());
  }
  config_loaded.set();  // the fix, late: everyone finishes
  std::printf("after the fix: answer=%d\n", answer.get());
}
