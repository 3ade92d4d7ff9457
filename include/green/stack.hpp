// green/stack.hpp
//
// Stacks for greenlets. Every greenlet runs on its own stack, mapped with
// mmap and (by default) a PROT_NONE guard page below it, so running off the
// end faults instead of corrupting the neighbour. Memory is committed lazily:
// a 128 KiB stack on which a greenlet touches 1 KiB costs one 4 KiB page of
// RSS. Stacks are pooled per thread, so a warm spawn makes no system call.
//
//   green::greenlet deep(work, green::stack_options{.size = 1 << 20});
//   green::set_default_stack_size(512 * 1024);   // for later greenlets
//
// Overflow: a write into the guard page prints a message naming the greenlet,
// its stack size and how to raise it, then aborts (see README "Stacks").
//
// Guard pages cost two kernel mappings per stack, and the kernel allows
// vm.max_map_count of them (65530 by default, so about 32k guarded stacks
// mapped at once, pooled ones included; unmapping guarded stacks frees room
// for new ones). When a guard page cannot be created, green follows
// guard_policy:
//   * fallback (default): the stack is created without a guard page (or an
//     unguarded pooled stack is reused) and a warning is printed once per
//     process; stack_stats::unguarded counts the stacks created so.
//   * required: greenlet creation throws green::memory_error instead; such a
//     greenlet never runs on a stack without a guard page.
// A guard page is never dropped silently.

#ifndef GREEN_STACK_HPP
#define GREEN_STACK_HPP

#include <cstddef>
#include <limits>

#include "green/config.hpp"

namespace green {

// guard_policy says what happens when a guard page cannot be created.
enum class guard_policy {
  fallback,  // continue without a guard page; warn once per process
  required,  // throw green::memory_error
  none,      // do not create guard pages at all (no overflow detection)
};

// max_stack_size is the largest stack size green accepts: 64 PiB with a
// 64-bit size_t, more than any address space, so it only refuses sizes that
// are certainly wrong (a negative number converted to size_t) before their
// rounding to whole pages wraps around to a stack of 0 bytes.
inline constexpr std::size_t max_stack_size = std::size_t{1}
                                              << (std::numeric_limits<std::size_t>::digits - 8);

// stack_options configures the stack of one greenlet. A size of 0 means
// default_stack_size(). Sizes are rounded up to whole pages. A size above
// max_stack_size makes the greenlet's first switch throw green::error.
struct stack_options {
  std::size_t size = 0;
  guard_policy guard = guard_policy::fallback;
};

// default_stack_size() is the size used when stack_options::size is 0:
// 128 KiB (x4 in sanitizer builds, whose frames are larger), unless changed.
GREEN_API std::size_t default_stack_size() noexcept;

// set_default_stack_size() changes the default for greenlets created later,
// process-wide. Throws: green::value_error if `bytes` is below 16 KiB or above
// max_stack_size.
GREEN_API void set_default_stack_size(std::size_t bytes);

// stack_stats is a snapshot of this thread's stack allocator.
struct stack_stats {
  std::size_t in_use = 0;     // stacks owned by live, started greenlets
  std::size_t pooled = 0;     // free stacks kept for reuse
  std::size_t mapped = 0;     // mmap calls made so far (pool misses)
  std::size_t unguarded = 0;  // stacks created without a guard page
};

// get_stack_stats() describes the calling thread's stacks.
GREEN_API stack_stats get_stack_stats() noexcept;

// set_stack_pool_limit() bounds how many free stacks each thread keeps
// (default 256). Lowering it releases the excess on the calling thread.
GREEN_API void set_stack_pool_limit(std::size_t stacks);

}  // namespace green

#endif  // GREEN_STACK_HPP
