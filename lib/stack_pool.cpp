#include "stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <string>

#include "green/debug.hpp"
#include "green/errors.hpp"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define GREEN_HAVE_VALGRIND 1
#endif
#if defined(GREEN_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace green {
namespace {
std::atomic<bool> g_warned_unguarded{false};
}  // namespace

namespace detail {

// Guard pages and vm.max_map_count
// ---------------------------------
// A guarded stack is two kernel mappings (the PROT_NONE page splits it), and
// the kernel refuses every new mapping past vm.max_map_count, merging or not.
// So green budgets guarded stacks below that limit, leaving room for the rest
// of the process (libraries, threads, malloc), and past the budget carves
// unguarded stacks out of shared slabs: one mapping per kSlabStacks stacks.
constexpr long kMapHeadroom = 4096;
constexpr std::size_t kSlabStacks = 64;

struct stack_slab {
  char* base;
  std::size_t bytes;
  std::size_t handed_out = 0;  // guarded by g_slab_mutex
  std::size_t live = 0;        // stacks handed out and not yet unmapped; g_slab_mutex
};

namespace {
// The budget counts guarded stacks mapped at once (pooled ones included):
// g_guarded goes down as they are unmapped, and guard pages come back.
std::atomic<long> g_guarded{0};
// When the kernel refuses a guard page below the budget (the rest of the
// process uses more mappings than the headroom), guard pages are not tried
// again past that count, which would cost three system calls per stack,
// until a guarded stack is unmapped and frees two mappings.
std::atomic<long> g_guard_ceiling{std::numeric_limits<long>::max()};
std::mutex g_slab_mutex;
std::map<std::size_t, stack_slab*> g_open_slabs;  // by stack size, guarded by g_slab_mutex

std::atomic<long> g_budget{-1};  // -1: not read yet

long guard_budget() {
  long budget = g_budget.load(std::memory_order_relaxed);
  if (budget < 0) {
    // Two threads may both read the file: they store the same value.
    long max_maps = 65530;
    std::ifstream f("/proc/sys/vm/max_map_count");
    if (f) f >> max_maps;
    budget = std::max(0L, (max_maps - kMapHeadroom) / 2);
    long unread = -1;
    if (!g_budget.compare_exchange_strong(unread, budget, std::memory_order_relaxed)) {
      budget = unread;  // a test hook set it meanwhile
    }
  }
  return budget;
}

[[noreturn]] void throw_map_failure(std::size_t bytes, int err) {
  throw memory_error(
      "cannot map a greenlet stack of " + std::to_string(bytes) + " bytes: " + std::strerror(err) +
      " (the address space or the kernel's vm.max_map_count is exhausted; keep fewer "
      "greenlets alive, use smaller stacks, or raise the limit: sysctl -w "
      "vm.max_map_count=262144)");
}

void register_with_valgrind(stack_block& b) {
#if defined(GREEN_HAVE_VALGRIND)
  b.valgrind_id = VALGRIND_STACK_REGISTER(b.base + b.guard, b.top());
#else
  (void)b;
#endif
}

stack_block carve_from_slab(std::size_t usable) {
  std::lock_guard<std::mutex> lock(g_slab_mutex);
  stack_slab*& open = g_open_slabs[usable];
  if (open == nullptr || open->handed_out == kSlabStacks) {
    const std::size_t bytes = usable * kSlabStacks;
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) throw_map_failure(bytes, errno);
    // A slab is owned by its stacks alone: the last one unmapped unmaps it.
    open = new stack_slab{static_cast<char*>(p), bytes};
  }
  stack_slab* slab = open;
  stack_block b;
  b.base = slab->base + slab->handed_out * usable;
  b.mapping = usable;
  b.guard = 0;
  b.slab = slab;
  ++slab->handed_out;
  ++slab->live;
  register_with_valgrind(b);
  return b;
}

[[noreturn]] void throw_guard_unavailable(const char* why) {
  throw memory_error(std::string("cannot create the guard page of a greenlet stack: ") + why +
                     ". Each guarded stack takes two of the kernel's vm.max_map_count mappings. "
                     "Raise it (sysctl -w vm.max_map_count=262144), keep fewer greenlets alive, or "
                     "use guard_policy::fallback");
}

void warn_unguarded_once(const char* why) {
  if (!g_warned_unguarded.exchange(true)) {
    std::fprintf(stderr,
                 "green: warning: no more stack guard pages (%s). The kernel allows "
                 "vm.max_map_count mappings and a guarded stack takes two. Greenlet stacks "
                 "created while guarded ones use up the budget have NO guard page, so an "
                 "overflow on them is not detected (guard_policy::fallback; use "
                 "guard_policy::required to get an error instead, or raise the limit: "
                 "sysctl -w vm.max_map_count=262144). This is reported once.\n",
                 why);
  }
}

stack_block map_plain(std::size_t usable, std::size_t guard) {
  const std::size_t mapping = usable + guard;
  void* p = ::mmap(nullptr, mapping, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) throw_map_failure(mapping, errno);
  stack_block b;
  b.base = static_cast<char*>(p);
  b.mapping = mapping;
  b.guard = static_cast<std::uint32_t>(guard);  // a page or a few
  return b;
}

// map_guarded() maps a stack with a guard page below it, or returns an empty
// block, with the reason in `why`, when no guard page can be made now.
stack_block map_guarded(std::size_t usable, const char*& why) {
  const long limit = std::min(guard_budget(), g_guard_ceiling.load(std::memory_order_relaxed));
  if (g_guarded.fetch_add(1, std::memory_order_relaxed) >= limit) {
    g_guarded.fetch_sub(1, std::memory_order_relaxed);
    why = "the guard-page budget is spent";
    return {};
  }
  const std::size_t page = page_size();
  stack_block b;
  try {
    b = map_plain(usable, page);
  } catch (...) {
    g_guarded.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  if (::mprotect(b.base, page, PROT_NONE) != 0) {
    // The rest of the process used more mappings than the headroom allows.
    const int err = errno;
    ::munmap(b.base, b.mapping);
    const long others = g_guarded.fetch_sub(1, std::memory_order_relaxed) - 1;
    g_guard_ceiling.store(others, std::memory_order_relaxed);
    why = std::strerror(err);
    return {};
  }
  register_with_valgrind(b);
  return b;
}
}  // namespace

void unmap_stack(stack_block& b) noexcept {
  if (!b) return;
#if defined(GREEN_HAVE_VALGRIND)
  VALGRIND_STACK_DEREGISTER(b.valgrind_id);
#endif
#if defined(GREEN_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(b.base + b.guard, b.usable());
#endif
  if (b.slab != nullptr) {
    stack_slab* slab = b.slab;
    // The count changes under the mutex: an open slab can be carved from
    // again after its count reached 0, so only the mutex makes "the last
    // stack" one thread's decision. Slab stacks exist only past the guard
    // budget and are unmapped rarely (the pool keeps them).
    std::lock_guard<std::mutex> lock(g_slab_mutex);
    if (--slab->live == 0) {
      // The last stack unmaps its slab, open or full: an open slab left
      // behind would keep the pages its stacks touched, and leak at exit.
      auto open = g_open_slabs.find(b.mapping);
      if (open != g_open_slabs.end() && open->second == slab) open->second = nullptr;
      ::munmap(slab->base, slab->bytes);
      delete slab;
    }
  } else {
    ::munmap(b.base, b.mapping);
    if (b.guard != 0) {
      g_guarded.fetch_sub(1, std::memory_order_relaxed);
      constexpr long none = std::numeric_limits<long>::max();
      if (g_guard_ceiling.load(std::memory_order_relaxed) != none) {
        g_guard_ceiling.store(none, std::memory_order_relaxed);  // two mappings are free again
      }
    }
  }
  b = stack_block{};
}

bool under_checker() noexcept {
#if defined(GREEN_ASAN)
  return true;
#elif defined(GREEN_HAVE_VALGRIND)
  // Memcheck answers its own requests (with -1). Other tools return the
  // default 0: they track no definedness, and callgrind's instruction counts
  // (make bench-instr) then measure the path a real run takes.
  static const bool memcheck = [] {
    char probe = 0;
    return VALGRIND_MAKE_MEM_DEFINED(&probe, 1) != 0;
  }();
  return memcheck;
#else
  return false;
#endif
}

// forget_previous_owner() makes a reused stack look fresh to the checkers:
// ASan may still have the previous owner's frames poisoned (use-after-scope),
// and valgrind marks what lay below the previous owner's stack pointer as
// inaccessible, although the new owner's first frames land there.
void forget_previous_owner(stack_block& b) noexcept {
#if defined(GREEN_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(b.base + b.guard, b.usable());
#endif
#if defined(GREEN_HAVE_VALGRIND)
  VALGRIND_MAKE_MEM_UNDEFINED(b.base + b.guard, b.usable());
#endif
  (void)b;
}

stack_pool::~stack_pool() {
  for (auto& b : free_) unmap_stack(b);
}

bool stack_pool::take_pooled(std::size_t usable, bool guarded, stack_block& out) noexcept {
  // Newest first: the most recently freed stack is the most likely to be warm in cache.
  for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
    if (it->usable() == usable && (it->guard != 0) == guarded) {
      out = *it;
      free_.erase(std::next(it).base());
      ++in_use_;
      if (checkers_) forget_previous_owner(out);
      return true;
    }
  }
  return false;
}

stack_block stack_pool::acquire_slow(std::size_t usable, guard_policy policy) {
  const bool want_guard = policy != guard_policy::none;
  stack_block b;
  if (take_pooled(usable, want_guard, b)) return b;
  if (!want_guard) {
    b = map_plain(usable, 0);
    register_with_valgrind(b);
  } else {
    const char* why = "";
    b = map_guarded(usable, why);
    if (!b) {
      if (policy == guard_policy::required) throw_guard_unavailable(why);
      warn_unguarded_once(why);
      // Without a guard page, a pooled unguarded stack is as good as a new
      // one, and carving another would grow the slabs on every spawn.
      if (take_pooled(usable, false, b)) return b;
      b = carve_from_slab(usable);
      ++unguarded_;  // a slab stack: the guard budget is spent
    }
  }
  ++mapped_;
  ++in_use_;
  return b;
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

std::size_t debug::guard_page_budget() noexcept {
  return static_cast<std::size_t>(detail::guard_budget());
}

void debug::set_guard_page_budget(std::size_t stacks) noexcept {
  const auto most = static_cast<std::size_t>(std::numeric_limits<long>::max());
  detail::g_budget.store(static_cast<long>(std::min(stacks, most)), std::memory_order_relaxed);
}

std::size_t debug::guarded_stacks() noexcept {
  return static_cast<std::size_t>(detail::g_guarded.load(std::memory_order_relaxed));
}

}  // namespace green
