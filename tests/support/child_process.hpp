// tests/support/child_process.hpp: run part of a test in a forked child, for
// what must not happen in the test process itself: aborting (stack
// overflow), exhausting the kernel's mappings, or exiting with greenlets
// still suspended. fork() must happen before the test process starts threads.

#ifndef GREEN_TESTS_SUPPORT_CHILD_PROCESS_HPP
#define GREEN_TESTS_SUPPORT_CHILD_PROCESS_HPP

#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "support/sanitizers.hpp"

// LeakSanitizer asks this before its exit-time check. A test binary is one
// translation unit, so defining it here defines it once.
extern "C" int __lsan_is_turned_off() { return green::test::leaks_expected_at_exit ? 1 : 0; }

namespace green::test {

struct child_result {
  int status = 0;
  std::string out;
  std::string err;
  bool aborted() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// run_in_child() runs `body` in a forked child with stdout and stderr
// captured. The child exits with body's return value (99 if it throws),
// unless body ends the process itself. With `leaks_by_design`, valgrind's and
// LeakSanitizer's leak checks are off in the child: exiting with suspended
// greenlets leaks what their frames own (README "Threads"; greenlet does the
// same). Memory errors still count.
inline child_result run_in_child(const std::function<int()>& body, bool leaks_by_design = false) {
  int out[2];
  int err[2];
  BOOST_REQUIRE(::pipe(out) == 0);
  BOOST_REQUIRE(::pipe(err) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    if (leaks_by_design) {
      if (RUNNING_ON_VALGRIND) VALGRIND_CLO_CHANGE("--leak-check=no");
      leaks_expected_at_exit = true;
    }
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::close(err[0]);
    ::close(err[1]);
    int code = 99;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: exception: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "child: unknown exception\n");
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(code);
  }
  ::close(out[1]);
  ::close(err[1]);
  child_result r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  ::waitpid(pid, &r.status, 0);
  return r;
}

}  // namespace green::test

#endif  // GREEN_TESTS_SUPPORT_CHILD_PROCESS_HPP
