// lib/stack_pool.hpp: PRIVATE. Guarded, lazily committed greenlet stacks and
// the per-thread pool that makes a warm spawn free of system calls.

#ifndef GREEN_LIB_STACK_POOL_HPP
#define GREEN_LIB_STACK_POOL_HPP

#include <cstddef>
#include <utility>
#include <vector>

#include "green/stack.hpp"

namespace green::detail {

// stack_block is one mapping: [base, base + guard) is PROT_NONE (if guarded),
// [base + guard, top()) is the usable stack, growing down from top().
struct stack_slab;

struct stack_block {
  char* base = nullptr;
  std::size_t mapping = 0;  // bytes mapped, guard included
  std::size_t guard = 0;    // 0: no guard page
  unsigned valgrind_id = 0;
  bool guard_wanted = false;   // what was asked for: pooled stacks are matched on it
  stack_slab* slab = nullptr;  // carved from a shared mapping (unguarded fallback)

  explicit operator bool() const noexcept { return base != nullptr; }
  char* top() const noexcept { return base + mapping; }
  std::size_t usable() const noexcept { return mapping - guard; }
  bool in_guard(const void* p) const noexcept {
    auto* c = static_cast<const char*>(p);
    return guard != 0 && c >= base && c < base + guard;
  }
};

// map_stack() maps a new stack of `usable` bytes (a page multiple).
// Throws: green::error if the mapping fails, or if a guard page is required
//         and cannot be created.
stack_block map_stack(std::size_t usable, guard_policy policy);
// forget_previous_owner() tells ASan and valgrind a pooled stack is fresh.
void forget_previous_owner(stack_block& b) noexcept;
// unmap_stack() returns a stack to the kernel. Safe from any thread.
void unmap_stack(stack_block& b) noexcept;

// round_stack_size() applies the default and rounds up to whole pages.
std::size_t round_stack_size(std::size_t requested) noexcept;
std::size_t page_size() noexcept;

// stack_pool keeps free stacks of one thread, by size. Not thread-safe: it
// belongs to a thread_state.
class stack_pool {
 public:
  stack_pool() = default;
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;
  ~stack_pool();

  // acquire() and release() are inline: a warm spawn takes the most
  // recently freed stack and gives it back, and both run on every spawn.
  stack_block acquire(const stack_options& opts) {
    const std::size_t usable = round_stack_size(opts.size);
    const bool want_guard = opts.guard != guard_policy::none;
    if (__builtin_expect(!free_.empty(), 1)) {
      const stack_block& last = free_.back();
      if (last.usable() == usable && last.guard_wanted == want_guard) {
        stack_block b = last;
        free_.pop_back();
        ++in_use_;
        forget_previous_owner(b);
        return b;
      }
    }
    return acquire_slow(usable, opts.guard);
  }
  void release(stack_block b) noexcept {
    --in_use_;
    if (__builtin_expect(free_.size() < limit_, 1)) {
      try {
        free_.push_back(b);
        return;
      } catch (...) {  // no memory to remember it: give it back instead
      }
    }
    unmap_stack(b);
  }
  void set_limit(std::size_t n) noexcept;
  stack_stats stats() const noexcept;

 private:
  stack_block acquire_slow(std::size_t usable, guard_policy policy);

  std::vector<stack_block> free_;
  std::size_t limit_ = 256;
  std::size_t in_use_ = 0;
  std::size_t mapped_ = 0;
  std::size_t unguarded_ = 0;
};

}  // namespace green::detail

#endif  // GREEN_LIB_STACK_POOL_HPP
