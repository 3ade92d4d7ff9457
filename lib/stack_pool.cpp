#include "stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "green/errors.hpp"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREEN_HAVE_VALGRIND 1
#endif
#if defined(GREEN_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace green {
namespace {

#if defined(GREEN_ASAN)
// ASan frames are much larger; folly multiplies by 4 for the same reason.
constexpr std::size_t kDefaultStack = 4 * 128 * 1024;
#else
constexpr std::size_t kDefaultStack = 128 * 1024;
#endif
constexpr std::size_t kMinStack = 16 * 1024;

std::atomic<std::size_t> g_default_stack{kDefaultStack};
std::atomic<bool> g_warned_unguarded{false};

void warn_unguarded_once(int err) {
  if (g_warned_unguarded.exchange(true)) return;
  std::fprintf(stderr,
               "green: warning: could not create a stack guard page (mprotect: %s). The kernel "
               "limits mappings to vm.max_map_count, two per guarded stack. Stacks created from "
               "now on have NO guard page, so an overflow is not detected (policy "
               "guard_policy::fallback; use guard_policy::required to get an error instead, or "
               "raise the limit: sysctl -w vm.max_map_count=262144). This is reported once.\n",
               std::strerror(err));
}

}  // namespace

std::size_t default_stack_size() noexcept {
  return g_default_stack.load(std::memory_order_relaxed);
}

void set_default_stack_size(std::size_t bytes) {
  if (bytes < kMinStack) {
    throw error("set_default_stack_size(" + std::to_string(bytes) +
                "): a stack must be at least 16 KiB (16384 bytes)");
  }
  g_default_stack.store(bytes, std::memory_order_relaxed);
}

namespace detail {

std::size_t page_size() noexcept {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

std::size_t round_stack_size(std::size_t requested) noexcept {
  std::size_t size = requested == 0 ? default_stack_size() : std::max(requested, kMinStack);
  std::size_t page = page_size();
  return (size + page - 1) / page * page;
}

stack_block map_stack(std::size_t usable, guard_policy policy) {
  const std::size_t page = page_size();
  const std::size_t guard = policy == guard_policy::none ? 0 : page;
  const std::size_t mapping = usable + guard;
  void* p = ::mmap(nullptr, mapping, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    throw error("cannot map a greenlet stack of " + std::to_string(mapping) +
                " bytes: " + std::strerror(err) +
                " (too many greenlets alive for the address space or vm.max_map_count; "
                "use smaller stacks or fewer live greenlets)");
  }
  stack_block b;
  b.base = static_cast<char*>(p);
  b.mapping = mapping;
  b.guard = guard;
  b.guard_wanted = guard != 0;
  if (guard != 0 && ::mprotect(b.base, guard, PROT_NONE) != 0) {
    int err = errno;
    if (policy == guard_policy::required) {
      ::munmap(p, mapping);
      throw error(std::string("cannot create the guard page of a greenlet stack (mprotect: ") +
                  std::strerror(err) +
                  "); the kernel's vm.max_map_count is exhausted (two mappings per guarded "
                  "stack). Raise it (sysctl -w vm.max_map_count=262144), keep fewer greenlets "
                  "alive, or use guard_policy::fallback");
    }
    warn_unguarded_once(err);
    b.guard = 0;
  }
#if defined(GREEN_HAVE_VALGRIND)
  b.valgrind_id = VALGRIND_STACK_REGISTER(b.base + b.guard, b.top());
#endif
  return b;
}

void unmap_stack(stack_block& b) noexcept {
  if (!b) return;
#if defined(GREEN_HAVE_VALGRIND)
  VALGRIND_STACK_DEREGISTER(b.valgrind_id);
#endif
#if defined(GREEN_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(b.base + b.guard, b.usable());
#endif
  ::munmap(b.base, b.mapping);
  b = stack_block{};
}

stack_pool::~stack_pool() {
  for (auto& b : free_) unmap_stack(b);
}

stack_block stack_pool::acquire(const stack_options& opts) {
  const std::size_t usable = round_stack_size(opts.size);
  const bool want_guard = opts.guard != guard_policy::none;
  if (!free_.empty() && free_.back().usable() == usable &&
      free_.back().guard_wanted == want_guard) {
    stack_block b = free_.back();
    free_.pop_back();
    ++in_use_;
#if defined(GREEN_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(b.base + b.guard, b.usable());
#endif
    return b;
  }
  // Newest first: the most recently freed stack is the most likely to be warm in cache.
  for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
    if (it->usable() == usable && it->guard_wanted == want_guard) {
      stack_block b = *it;
      free_.erase(std::next(it).base());
      ++in_use_;
#if defined(GREEN_ASAN)
      // Frames of the previous owner may still be poisoned (use-after-scope).
      ASAN_UNPOISON_MEMORY_REGION(b.base + b.guard, b.usable());
#endif
      return b;
    }
  }
  stack_block b = map_stack(usable, opts.guard);
  ++mapped_;
  if (want_guard && b.guard == 0) ++unguarded_;
  ++in_use_;
  return b;
}

void stack_pool::release(stack_block b) noexcept {
  --in_use_;
  if (free_.size() >= limit_) {
    unmap_stack(b);
    return;
  }
  free_.push_back(b);
}

void stack_pool::set_limit(std::size_t n) noexcept {
  limit_ = n;
  while (free_.size() > limit_) {
    unmap_stack(free_.front());
    free_.erase(free_.begin());
  }
}

stack_stats stack_pool::stats() const noexcept {
  return stack_stats{in_use_, free_.size(), mapped_, unguarded_};
}

}  // namespace detail
}  // namespace green
