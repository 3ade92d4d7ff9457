// Greenlet stacks (include/green/stack.hpp): overflow reporting through the
// guard page, guard_policy when vm.max_map_count runs out (G13.3),
// pooled warm spawns, size limits, many live stacks, alignment.
//
// The overflow and guard-exhaustion cases run in a forked child: the first
// aborts the process, the second exhausts the process's mappings. fork()
// happens while this process has no other thread (Boost.Test starts none and
// no case here creates one).
#define BOOST_TEST_MODULE greenlet_stack
#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "support/child_process.hpp"
#include "support/counted.hpp"
#include "support/fixtures.hpp"
#include "support/sanitizers.hpp"

namespace {

constexpr std::size_t KiB = 1024;

using green::test::child_result;
using green::test::run_in_child;

std::size_t count_occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

std::size_t count_lines_containing(const std::string& text, const std::string& what) {
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) n += line.find(what) != std::string::npos;
  return n;
}

// One line of /proc/self/maps per kernel mapping (VMA).
struct maps_summary {
  std::size_t mappings = 0;
  std::size_t no_access = 0;  // ---p: guard pages (and other reservations)
};

maps_summary read_maps() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  maps_summary s;
  while (std::getline(in, line)) {
    ++s.mappings;
    std::istringstream fields(line);
    std::string range, perms;
    fields >> range >> perms;
    s.no_access += perms == "---p";
  }
  return s;
}

// The [start, end) of the mapping holding `p`, from /proc/self/maps.
std::pair<std::uintptr_t, std::uintptr_t> mapping_of(const void* p) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    std::uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi) return {lo, hi};
  }
  return {0, 0};
}

std::size_t read_max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::size_t v = 0;
  in >> v;
  return v;
}

volatile int g_never = -1;  // keeps the compiler from proving the recursion infinite

// Recurses without bound; each frame holds a 512-byte buffer (less than the
// 4 KiB guard page, so no frame can jump over it).
[[gnu::noinline]] int recurse_forever(int depth) {
  volatile char buf[512];
  buf[0] = static_cast<char>(depth);
  buf[sizeof buf - 1] = static_cast<char>(depth);
  if (depth == g_never) return 0;
  return recurse_forever(depth + 1) + buf[0];
}

// Uses `frames` frames of about 1 KiB and returns the address of the deepest.
[[gnu::noinline]] std::uintptr_t use_stack(int frames) {
  volatile char buf[1024];
  buf[0] = static_cast<char>(frames);
  buf[sizeof buf - 1] = static_cast<char>(frames);
  if (frames == 0) {
    // An integer, never dereferenced: only how deep the stack went matters.
    const volatile char* deepest = &buf[0];
    return reinterpret_cast<std::uintptr_t>(deepest);
  }
  std::uintptr_t deepest = use_stack(frames - 1);
  return deepest + (buf[0] != static_cast<char>(frames) ? 1 : 0);  // not a tail call
}

void park() { green::getcurrent().parent()->switch_(); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(greenlet_stack, green::test::leak_check)

// stack.hpp "Overflow": a greenlet that runs into its guard page gets a
// message naming it, its stack size and how to raise it, then the process
// aborts. In a child process.
BOOST_AUTO_TEST_CASE(overflow_in_named_greenlet_aborts_with_message_naming_it_and_its_size) {
  child_result r = run_in_child([] {
    green::greenlet deep([] { return recurse_forever(0); }, green::stack_options{.size = 64 * KiB});
    deep.set_name("deep");
    deep.switch_();
    std::fprintf(stdout, "recursion returned\n");
    return 3;
  });
  BOOST_TEST_MESSAGE("child stderr: " << r.err);
  BOOST_TEST(r.aborted(), "child status " << r.status << ", expected death by SIGABRT");
  BOOST_TEST(r.err.find("stack overflow") != std::string::npos);
  BOOST_TEST(r.err.find("'deep'") != std::string::npos);
  BOOST_TEST(r.err.find("64 KiB") != std::string::npos);
  BOOST_TEST(r.err.find("set_default_stack_size") != std::string::npos);
  BOOST_TEST(r.err.find("stack_options") != std::string::npos);
  BOOST_TEST(count_occurrences(r.err, "stack overflow") == 1u);
  BOOST_TEST(r.out.empty());
}

// The child of the guard_policy case. It parks guarded 16 KiB greenlets
// until the mapping count (lines of /proc/self/maps) is close to
// vm.max_map_count, sets the parity of the remaining gap (one MAP_SHARED page
// is exactly one more mapping), then goes on until a guard page cannot be
// created, and 100 more. Each guarded stack is exactly two mappings, so the
// parity decides which call meets the limit first: either the mprotect that
// splits off the guard page fails, and later mmaps merge into the unguarded
// stacks next to them; or the stack's mmap itself is allowed one past the
// limit (the kernel checks a new mapping with `>`, a split with `>=`), its
// mprotect fails, and every later mmap fails too. guard_policy::fallback
// promises to go on in both cases.
// Prints what happened on stdout; the fallback warning goes to stderr.
int exhaust_mappings(std::size_t max_map_count, bool odd_gap) {
  std::vector<green::greenlet> parked;
  parked.reserve(70000 + 200);  // no reallocation (a new mapping) near the limit
  auto park_one = [&parked] {
    parked.emplace_back(park, green::stack_options{.size = 16 * KiB});
    parked.back().switch_();
  };
  auto unguarded = [] { return green::get_stack_stats().unguarded; };
  // (A library that stops guarding stacks earlier, by a budget of its own,
  // ends this phase early; the parity then does not matter.)
  for (std::size_t now = read_maps().mappings; now + 64 < max_map_count && unguarded() == 0;
       now = read_maps().mappings) {
    for (std::size_t i = (max_map_count - 64 - now + 1) / 2; i > 0 && unguarded() == 0; --i) {
      park_one();
    }
  }
  if (unguarded() == 0 && ((max_map_count - read_maps().mappings) % 2 == 1) != odd_gap) {
    void* page = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 4;
  }
  const std::size_t gap_now = max_map_count - read_maps().mappings;
  std::size_t created = parked.size();
  while (created < 70000 && unguarded() == 0) {
    park_one();
    ++created;
  }
  const std::size_t first_unguarded = green::get_stack_stats().unguarded;
  std::printf("gap=%zu\ncreated=%zu\nfirst_unguarded=%zu\n", gap_now, created, first_unguarded);
  std::fflush(stdout);
  // Fallback goes on: more stacks, all without a guard page, no new warning.
  std::size_t more = 0;
  try {
    for (; more < 100; ++more) park_one();
  } catch (const std::exception& e) {
    std::printf("fallback_error=%s\n", e.what());
  }
  const std::size_t later_unguarded = green::get_stack_stats().unguarded;
  bool required_threw = false;
  std::string message;
  try {
    green::greenlet strict(
        park, green::stack_options{.size = 16 * KiB, .guard = green::guard_policy::required});
    strict.switch_();
  } catch (const green::error& e) {
    required_threw = true;
    message = e.what();
  }
  std::printf("more=%zu\nlater_unguarded=%zu\nrequired_threw=%d\nmessage=%s\n", more,
              later_unguarded, required_threw ? 1 : 0, message.c_str());
  std::fflush(stdout);
  ::_exit(0);  // skip killing 30k+ greenlets: this process is done
}

// G13.3: when vm.max_map_count runs out,
// guard_policy::fallback warns exactly once on stderr and goes on without
// guard pages; guard_policy::required throws green::error naming
// vm.max_map_count. In child processes (they exhaust the mappings), once for
// each parity of the gap left before the limit (see exhaust_mappings).
BOOST_AUTO_TEST_CASE(exhausted_map_count_warns_once_under_fallback_and_throws_under_required) {
  const std::size_t max_map_count = read_max_map_count();
  if (max_map_count == 0 || max_map_count > 262144) {
    BOOST_TEST_MESSAGE("vm.max_map_count is "
                       << max_map_count
                       << " (> 262144 or unreadable): not exhausting it; checking only that "
                          "stacks get guard pages");
    const maps_summary before = read_maps();
    std::vector<green::greenlet> parked;
    for (int i = 0; i < 20; ++i) {
      parked.emplace_back(park, green::stack_options{.size = 44 * KiB});
      parked.back().switch_();
    }
    const maps_summary after = read_maps();
    BOOST_TEST(after.no_access - before.no_access >= 20u);
    BOOST_TEST(green::get_stack_stats().unguarded == 0u);
    return;
  }
  if (RUNNING_ON_VALGRIND || !green::test::mapping_checks_apply()) {
    // Valgrind and ThreadSanitizer keep their own mappings in the same
    // process and slow 30k+ stack creations far beyond the time budget.
    BOOST_TEST_MESSAGE("skipped under valgrind or TSan: exhausting vm.max_map_count");
    return;
  }
  for (bool odd_gap : {true, false}) {
    BOOST_TEST_CONTEXT((odd_gap ? "odd" : "even") << " gap (in /proc/self/maps lines)") {
      child_result r = run_in_child([=] { return exhaust_mappings(max_map_count, odd_gap); });
      BOOST_TEST_MESSAGE("child stdout:\n" << r.out << "child stderr:\n" << r.err);
      BOOST_TEST(r.exited_ok(), "child status " << r.status);
      BOOST_TEST(r.out.find("first_unguarded=1\n") != std::string::npos);
      BOOST_TEST(r.out.find("created=70000\n") == std::string::npos, "never ran out of mappings");
      BOOST_TEST(r.out.find("fallback_error=") == std::string::npos,
                 "guard_policy::fallback stopped after the first unguarded stack");
      BOOST_TEST(r.out.find("more=100\n") != std::string::npos);
      BOOST_TEST(r.out.find("later_unguarded=101\n") != std::string::npos);
      BOOST_TEST(r.out.find("required_threw=1\n") != std::string::npos);
      const std::size_t msg_at = r.out.find("message=");
      BOOST_TEST((msg_at != std::string::npos &&
                  r.out.find("vm.max_map_count", msg_at) != std::string::npos));
      // The warning: exactly one line on stderr mentions vm.max_map_count.
      BOOST_TEST(count_lines_containing(r.err, "vm.max_map_count") == 1u);
      BOOST_TEST(count_lines_containing(r.err, "guard page") == 1u);
    }
  }
}

// Guard pages exist: a guarded stack costs a PROT_NONE mapping of its own;
// guard_policy::none creates none. (Sizes not used elsewhere, so the pool
// cannot serve them.)
BOOST_AUTO_TEST_CASE(guarded_stacks_get_a_no_access_mapping_and_unguarded_ones_do_not) {
  const maps_summary before = read_maps();
  std::vector<green::greenlet> guarded;
  for (int i = 0; i < 50; ++i) {
    guarded.emplace_back(park, green::stack_options{.size = 36 * KiB});
    guarded.back().switch_();
  }
  const maps_summary mid = read_maps();
  std::vector<green::greenlet> bare;
  for (int i = 0; i < 50; ++i) {
    bare.emplace_back(park,
                      green::stack_options{.size = 52 * KiB, .guard = green::guard_policy::none});
    bare.back().switch_();
  }
  const maps_summary after = read_maps();
  BOOST_TEST(mid.no_access - before.no_access >= 50u);
  if (!green::test::mapping_checks_apply()) return;  // TSan maps as it goes
  // Under valgrind, whose own mappings sit between ours, the kernel may merge
  // one or two of them; the count of guard mappings above is what matters.
  if (!RUNNING_ON_VALGRIND) BOOST_TEST(mid.mappings - before.mappings >= 100u);
  BOOST_TEST(after.no_access == mid.no_access);
  BOOST_TEST(after.mappings - mid.mappings <= 50u);
}

// stack.hpp "Stacks are pooled per thread, so a warm spawn makes no system
// call": after one greenlet finished, 1000 spawn-run-finish cycles map no new
// stack and fault in (almost) no new pages.
BOOST_AUTO_TEST_CASE(warm_spawn_reuses_pooled_stack_without_mapping) {
  green::greenlet([] {}).switch_();
  const green::stack_stats s0 = green::get_stack_stats();
  rusage ru0{};
  ::getrusage(RUSAGE_SELF, &ru0);
  int runs = 0;
  for (int i = 0; i < 1000; ++i) green::greenlet([&runs] { ++runs; }).switch_();
  rusage ru1{};
  ::getrusage(RUSAGE_SELF, &ru1);
  const green::stack_stats s1 = green::get_stack_stats();
  BOOST_TEST(runs == 1000);
  BOOST_TEST(s1.mapped == s0.mapped);
  BOOST_TEST(s1.pooled > 0u);
  BOOST_TEST(s1.in_use == s0.in_use);
  if (green::test::footprint_checks_apply()) {
    // A fresh stack per spawn would fault at least one page each time.
    BOOST_TEST(ru1.ru_minflt - ru0.ru_minflt < 100);
  }
}

// set_default_stack_size(): below 16 KiB is an error; 16 KiB is accepted.
// A stack that cannot be mapped (1 PiB: more address space than the
// process has) makes the first switch throw green::error, with nothing
// changed: the greenlet stays unstarted, its function never ran, and the
// greenlet that switched goes on.
BOOST_AUTO_TEST_CASE(first_switch_whose_stack_cannot_be_mapped_throws_and_leaves_it_unstarted) {
  const std::size_t in_use = green::get_stack_stats().in_use;
  bool ran = false;
  green::greenlet g([&ran] { ran = true; }, green::stack_options{.size = std::size_t{1} << 50});
  std::string message;
  try {
    g.switch_();
  } catch (const green::error& e) {
    message = e.what();
  }
  BOOST_TEST(message.find("cannot map a greenlet stack") != std::string::npos, message);
  BOOST_TEST(!ran);
  BOOST_TEST(!g.started());
  BOOST_TEST(!g.dead());
  BOOST_TEST(green::getcurrent().is_main());
  BOOST_TEST(green::get_stack_stats().in_use == in_use);
}

BOOST_AUTO_TEST_CASE(default_stack_size_below_16_kib_throws_error) {
  const std::size_t original = green::default_stack_size();
  BOOST_TEST(original >= 16 * KiB);
  BOOST_CHECK_THROW(green::set_default_stack_size(0), green::error);
  BOOST_CHECK_THROW(green::set_default_stack_size(1), green::error);
  BOOST_CHECK_THROW(green::set_default_stack_size(16 * KiB - 1), green::error);
  BOOST_TEST(green::default_stack_size() == original);
  BOOST_CHECK_NO_THROW(green::set_default_stack_size(16 * KiB));
  BOOST_TEST(green::default_stack_size() == 16 * KiB);
  green::set_default_stack_size(original);
  BOOST_TEST(green::default_stack_size() == original);
  try {
    green::set_default_stack_size(100);
  } catch (const green::error& e) {
    BOOST_TEST(std::string(e.what()).find("16 KiB") != std::string::npos);
  }
}

// stack_options::size and set_default_stack_size() are honoured: with
// 512 KiB a greenlet can use 200 KiB of stack (with the 128 KiB default it
// would hit the guard page and abort), and its mapping is that large.
BOOST_AUTO_TEST_CASE(custom_stack_size_lets_greenlet_use_200_kib) {
  std::uintptr_t top = 0, deepest = 0;
  std::pair<std::uintptr_t, std::uintptr_t> mapping{0, 0};
  green::greenlet big(
      [&] {
        volatile char marker = 0;
        top = reinterpret_cast<std::uintptr_t>(&marker);
        mapping = mapping_of(const_cast<char*>(&marker));
        deepest = use_stack(200);
      },
      green::stack_options{.size = 512 * KiB});
  big.switch_();
  BOOST_TEST(big.dead());
  BOOST_TEST(top - deepest >= 200 * KiB);
  BOOST_TEST(mapping.second - mapping.first >= 512 * KiB);

  const std::size_t original = green::default_stack_size();
  green::set_default_stack_size(512 * KiB);
  std::uintptr_t top2 = 0, deepest2 = 0;
  green::greenlet by_default([&] {
    volatile char marker = 0;
    top2 = reinterpret_cast<std::uintptr_t>(&marker);
    deepest2 = use_stack(200);
  });
  by_default.switch_();
  green::set_default_stack_size(original);
  BOOST_TEST(by_default.dead());
  BOOST_TEST(top2 - deepest2 >= 200 * KiB);
}

// Many live stacks: 10,000 greenlets started and parked at once, then all
// killed by dropping their handles; each one's RAII object is destroyed
// exactly once and the stack statistics return to where they started.
BOOST_AUTO_TEST_CASE(ten_thousand_parked_greenlets_are_all_killed_when_handles_drop) {
  constexpr int n = green::test::many_fibers();
  green::test::counted::reset();
  const green::stack_stats s0 = green::get_stack_stats();
  const std::size_t live0 = green::debug::live_greenlets();
  int exits_seen = 0;
  {
    std::vector<green::greenlet> all;
    all.reserve(n);
    for (int i = 0; i < n; ++i) {
      all.emplace_back([&exits_seen] {
        green::test::counted c;
        try {
          green::getcurrent().parent()->switch_();
        } catch (const green::greenlet_exit&) {
          ++exits_seen;
          throw;
        }
      });
      all.back().switch_();
    }
    BOOST_TEST(green::test::counted::constructed == n);
    BOOST_TEST(green::test::counted::alive() == n);
    BOOST_TEST(green::get_stack_stats().in_use == s0.in_use + n);
    BOOST_TEST(green::debug::live_greenlets() == live0 + n);
  }
  BOOST_TEST(exits_seen == n);
  BOOST_TEST(green::test::counted::constructed == n);
  BOOST_TEST(green::test::counted::destroyed == n);
  BOOST_TEST(green::get_stack_stats().in_use == s0.in_use);
  BOOST_TEST(green::debug::live_greenlets() == live0);
}

// Stack alignment: a greenlet's frames follow the ABI, so over-aligned locals
// (alignas 16/64/128) and SSE values on a greenlet stack are aligned, at the
// first frame, deeper, and after being resumed.
BOOST_AUTO_TEST_CASE(aligned_locals_on_greenlet_stack_have_requested_alignment) {
  std::vector<std::uintptr_t> misalignment;
  auto probe = [&misalignment] {
    alignas(16) char a16[16];
    alignas(64) char a64[64];
    alignas(128) char a128[8];
    long double ld = 1.0L;
    misalignment.push_back(reinterpret_cast<std::uintptr_t>(&a16) % 16);
    misalignment.push_back(reinterpret_cast<std::uintptr_t>(&a64) % 64);
    misalignment.push_back(reinterpret_cast<std::uintptr_t>(&a128) % 128);
    misalignment.push_back(reinterpret_cast<std::uintptr_t>(&ld) % alignof(long double));
    misalignment.push_back(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) % 16);
#if defined(__SSE2__)
    volatile __m128i x = _mm_set1_epi32(7);  // an aligned SSE store
    misalignment.push_back(reinterpret_cast<std::uintptr_t>(&x) % 16);
#endif
    a16[0] = a64[0] = a128[0] = 0;
  };
  std::function<void(int)> nested = [&](int depth) {
    probe();
    if (depth > 0) nested(depth - 1);
  };
  green::greenlet g([&](int depth, double scale) {
    probe();
    nested(depth);
    green::getcurrent().parent()->switch_();
    probe();
    return scale;
  });
  g.switch_(3, 2.5);
  green::greenlet small([&] { probe(); }, green::stack_options{.size = 16 * KiB + 123});
  small.switch_();
  BOOST_TEST(green::value_cast<double>(g.switch_()) == 2.5);
  BOOST_TEST(g.dead());
  BOOST_TEST(!misalignment.empty());
  for (std::uintptr_t m : misalignment) BOOST_TEST(m == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
