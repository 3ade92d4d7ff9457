// The program gdb_test.py debugs (docs/semantics.md G15): greenlets suspended
// in nested calls, inside a stackful generator and on a second thread, one
// unstarted, and the thread's main greenlet suspended too. It stops in
// ready_for_gdb(), where gdb has a breakpoint; run alone, it just cleans up.
// The functions gdb must find in backtraces are noinline and end with work
// after their call, so that no tail call hides their frames.

#include <atomic>
#include <cstdio>
#include <thread>

#include "green/generator.hpp"
#include "green/greenlet.hpp"

// Non-static: the optimiser keeps them whole instead of cloning them.
[[gnu::noinline]] int worker_level2(int n);
[[gnu::noinline]] int worker_level1(int n);
[[gnu::noinline]] void gen_inner(green::yielder<int>& y);
[[gnu::noinline]] int remote_wait(int n);
[[gnu::noinline]] void ready_for_gdb();

std::atomic<int> g_sink{0};

int worker_level2(int n) {
  volatile int marker = 4242;  // gdb prints it in this frame of a suspended greenlet
  green::getcurrent().parent()->switch_();
  return marker + n + g_sink.load();
}

int worker_level1(int n) { return worker_level2(n + 1) + g_sink.load(); }

void gen_inner(green::yielder<int>& y) {
  y.yield(1);
  g_sink.fetch_add(1);
}

int remote_wait(int n) {
  green::getcurrent().parent()->switch_();
  return n + g_sink.load();
}

void ready_for_gdb() { asm volatile("" ::: "memory"); }

int main() {
  green::greenlet worker([] { g_sink.fetch_add(worker_level1(1)); });
  worker.set_name("worker");
  worker.switch_();

  green::generator<int> gen([](green::yielder<int>& y) {
    green::getcurrent().set_name("gen");
    gen_inner(y);
  });
  gen.next();

  green::greenlet idle([] {});  // unstarted: listed, with no stack
  idle.set_name("idle");

  std::atomic<int> phase{0};
  std::thread other([&] {
    green::greenlet remote([] { g_sink.fetch_add(remote_wait(2)); });
    remote.set_name("remote");
    remote.switch_();
    phase.store(1);
    while (phase.load() != 2) std::this_thread::yield();
  });  // remote's last handle goes: greenlet_exit unwinds it
  while (phase.load() != 1) std::this_thread::yield();

  green::greenlet reporter([] { ready_for_gdb(); });
  reporter.set_name("reporter");
  reporter.switch_();

  phase.store(2);
  other.join();
  std::puts("gdb_target: done");
  return 0;
}
