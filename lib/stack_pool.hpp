// lib/stack_pool.hpp: PRIVATE. Guarded, lazily committed greenlet stacks and
// the per-thread pool that makes a warm spawn free of system calls.

#ifndef GREEN_LIB_STACK_POOL_HPP
#define GREEN_LIB_STACK_POOL_HPP

#include <cstddef>
#include <cstdint>
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
  std::uint32_t guard = 0;  // 0: no guard page (else one page or a few)
  unsigned valgrind_id = 0;
  stack_slab* slab = nullptr;  // carved from a shared mapping (unguarded fallback)

  explicit operator bool() const noexcept { return base != nullptr; }
  char* top() const noexcept { return base + mapping; }
  std::size_t usable() const noexcept { return mapping - guard; }
  bool in_guard(const void* p) const noexcept {
    auto* c = static_cast<const char*>(p);
    return guard != 0 && c >= base && c < base + guard;
  }
};

// forget_previous_owner() tells ASan and valgrind a pooled stack is fresh.
void forget_previous_owner(stack_block& b) noexcept;
// unmap_stack() returns a stack to the kernel. Safe from any thread.
void unmap_stack(stack_block& b) noexcept;

// round_stack_size() applies the default and rounds up to whole pages.
// Throws: green::error if `requested` is above max_stack_size.
std::size_t round_stack_size(std::size_t requested);
std::size_t page_size() noexcept;

// under_checker() is true when a reused stack must be announced to ASan or
// valgrind (forget_previous_owner()); fixed for the process's lifetime.
bool under_checker() noexcept;

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
  // They fill and empty the caller's block in place (a stack_block is five
  // words; passing it by value cost two copies per spawn).
  //
  // acquire() stores a stack for `opts` in `out`, which is unchanged if it
  // throws.
  void acquire(const stack_options& opts, stack_block& out) {
    // The last request's rounding is remembered: a server spawns greenlets
    // of one or two sizes, and rounding (a load of the default, a page
    // size) is a fifth of the pool's cost otherwise.
    std::size_t usable = last_usable_;
    if (__builtin_expect(opts.size != last_request_ || opts.size == 0, 0)) {
      usable = round_stack_size(opts.size);
      if (opts.size != 0) {  // 0 means "the default", which may change
        last_request_ = opts.size;
        last_usable_ = usable;
      }
    }
    // Matched on the guard page the stack has, not on the policy it was
    // made for: a fallback stack past the guard budget has none, and a
    // required request must never get it.
    const bool want_guard = opts.guard != guard_policy::none;
    if (__builtin_expect(!free_.empty(), 1)) {
      const stack_block& last = free_.back();
      if (last.usable() == usable && (last.guard != 0) == want_guard) {
        out = last;
        free_.pop_back();
        ++in_use_;
        if (__builtin_expect(checkers_, 0)) forget_previous_owner(out);
        return;
      }
    }
    out = acquire_slow(usable, opts.guard);
  }
  // release() takes the stack in `b` back and leaves `b` empty.
  void release(stack_block& b) noexcept {
    --in_use_;
    if (__builtin_expect(free_.size() < limit_, 1)) {
      try {
        free_.push_back(b);
        b = stack_block{};
        return;
      } catch (...) {  // no memory to remember it: give it back instead
      }
    }
    unmap_stack(b);  // empties b
  }
  void set_limit(std::size_t n) noexcept;
  stack_stats stats() const noexcept;

 private:
  stack_block acquire_slow(std::size_t usable, guard_policy policy);
  bool take_pooled(std::size_t usable, bool guarded, stack_block& out) noexcept;

  std::vector<stack_block> free_;
  std::size_t last_request_ = 0;  // last nonzero stack_options::size, and its rounding
  std::size_t last_usable_ = 0;
  bool checkers_ = under_checker();
  std::size_t limit_ = 256;
  std::size_t in_use_ = 0;
  std::size_t mapped_ = 0;
  std::size_t unguarded_ = 0;
};

}  // namespace green::detail

#endif  // GREEN_LIB_STACK_POOL_HPP
