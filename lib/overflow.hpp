// lib/overflow.hpp: PRIVATE. The stack overflow reporter: a SIGSEGV handler,
// running on an alternate signal stack, that recognises a fault in a
// greenlet's guard page, names the greenlet and its stack size, says how to
// raise it, and aborts. Installed once per process, when the first guarded
// stack is handed out; each thread gets its alternate stack with its green
// state.

#ifndef GREEN_LIB_OVERFLOW_HPP
#define GREEN_LIB_OVERFLOW_HPP

#include <atomic>

namespace green::detail {

extern std::atomic<bool> overflow_handler_installed;
void install_overflow_handler_slow();
inline void install_overflow_handler() {
  if (!overflow_handler_installed.load(std::memory_order_acquire)) install_overflow_handler_slow();
}
void* make_signal_altstack();
void free_signal_altstack(void* altstack);

}  // namespace green::detail

#endif  // GREEN_LIB_OVERFLOW_HPP
