// Stack overflow reporting. A greenlet that runs into its guard page faults;
// this SIGSEGV handler runs on an alternate signal stack (the faulting stack
// is full), recognises the guard page of the running greenlet, writes one
// message with write(2) (async-signal-safe) and aborts. Faults that are not
// ours go to the handler that was installed before.

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "greenlet_state.hpp"
#include "overflow.hpp"

namespace green::detail {
namespace {

struct sigaction g_previous_segv;
std::once_flag g_install_once;
constexpr std::size_t kAltStackSize = 64 * 1024;

void put(const char* s) noexcept {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

void put_number(std::uint64_t v) noexcept {
  char buf[24];
  char* p = buf + sizeof(buf) - 1;
  *p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(p);
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  thread_state* ts = tls_state;
  greenlet_state* g = ts != nullptr ? ts->current : nullptr;
  if (g != nullptr && g->stack.in_guard(info->si_addr)) {
    const std::size_t size = g->stack.usable();
    put("green: stack overflow in greenlet #");
    put_number(g->id);
    if (g->name[0] != '\0') {
      put(" '");
      put(g->name);
      put("'");
    }
    put(": it used all of its ");
    put_number(size / 1024);
    put(" KiB stack and hit the guard page. Give it a bigger stack, e.g. "
        "green::greenlet(fn, green::stack_options{.size = ");
    put_number(size * 2);
    put("}), or raise the default for all greenlets with green::set_default_stack_size(");
    put_number(size * 2);
    put("). Aborting.\n");
    ::signal(SIGABRT, SIG_DFL);
    std::abort();
  }
  // Not a greenlet overflow: behave as if we were never installed.
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    if (g_previous_segv.sa_sigaction != nullptr) {
      g_previous_segv.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) {
    g_previous_segv.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction faults again.
  ::signal(sig, SIG_DFL);
}

}  // namespace

std::atomic<bool> overflow_handler_installed{false};

void install_overflow_handler_slow() {
  std::call_once(g_install_once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_previous_segv);
    overflow_handler_installed.store(true, std::memory_order_release);
  });
}

void* make_signal_altstack() {
  stack_t current;
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
    return nullptr;  // the thread already has one (ASan installs its own)
  }
  void* mem =
      ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;  // overflow then dies by plain SIGSEGV
  stack_t ss;
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  ss.ss_flags = 0;
  if (::sigaltstack(&ss, nullptr) != 0) {
    ::munmap(mem, kAltStackSize);
    return nullptr;
  }
  return mem;
}

void free_signal_altstack(void* altstack) {
  if (altstack == nullptr) return;
  stack_t ss;
  std::memset(&ss, 0, sizeof(ss));
  ss.ss_flags = SS_DISABLE;
  ::sigaltstack(&ss, nullptr);
  ::munmap(altstack, kAltStackSize);
}

}  // namespace green::detail
