// The stack API of green/stack.hpp: the default size, the size limit and
// rounding, and this thread's pool statistics and limit. The pool itself,
// the mappings and the guard-page budget are stack_pool.cpp's.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "green/debug.hpp"
#include "green/errors.hpp"
#include "green/stack.hpp"
#include "runtime.hpp"

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

}  // namespace

std::size_t default_stack_size() noexcept {
  return g_default_stack.load(std::memory_order_relaxed);
}

void set_default_stack_size(std::size_t bytes) {
  if (bytes < kMinStack) {
    throw value_error("set_default_stack_size(" + std::to_string(bytes) +
                      "): a stack must be at least 16 KiB (16384 bytes)");
  }
  if (bytes > max_stack_size) {
    throw value_error(
        "set_default_stack_size(" + std::to_string(bytes) +
        "): a stack can be at most green::max_stack_size, " + std::to_string(max_stack_size) +
        " bytes (a size this large is usually a negative number converted to size_t)");
  }
  g_default_stack.store(bytes, std::memory_order_relaxed);
}

namespace detail {

std::size_t page_size() noexcept {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

namespace {
[[noreturn, gnu::cold, gnu::noinline]] void throw_stack_too_large(std::size_t requested) {
  throw value_error("stack_options::size is " + std::to_string(requested) +
                    " bytes, more than green::max_stack_size, " + std::to_string(max_stack_size) +
                    " bytes (a size this large is usually a negative number converted to size_t): "
                    "pass the size in bytes, or 0 for default_stack_size()");
}
}  // namespace

// max_stack_size is at most SIZE_MAX / 256, so neither the rounding below,
// nor the guard page added to it, nor a slab of kSlabStacks such stacks can
// wrap around.
std::size_t round_stack_size(std::size_t requested) {
  if (requested > max_stack_size) throw_stack_too_large(requested);
  std::size_t size = requested == 0 ? default_stack_size() : std::max(requested, kMinStack);
  // A mask, not a division: this runs on every spawn, and the page size is
  // a power of two.
  std::size_t page = page_size();
  return (size + page - 1) & ~(page - 1);
}

}  // namespace detail

using detail::thread_state;

bool debug::current_stack_guarded() noexcept {
  detail::thread_state* ts = detail::tls_state;
  return ts != nullptr && ts->current != nullptr && ts->current->stack.guard != 0;
}

stack_stats get_stack_stats() noexcept {
  detail::thread_state* ts = detail::tls_state;
  return ts == nullptr ? stack_stats{} : ts->pool.stats();
}

void set_stack_pool_limit(std::size_t stacks) { thread_state::get().pool.set_limit(stacks); }

}  // namespace green
