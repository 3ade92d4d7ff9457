// bench/support/common.hpp
//
// The inputs every implementation gets, so that rows differ only in the
// mechanism measured: the stack size, the 1 KiB stack touch of a parked unit,
// the destruction counter of kill_suspended, the tree of tree_walk, the text
// and stage functions of pipeline, and the RSS probe of memory_parked.
// No Google Benchmark here: bench/quick/quick_compare.cpp (make demo) uses
// the same policies without it.

#ifndef GREEN_BENCH_COMMON_HPP
#define GREEN_BENCH_COMMON_HPP

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace green_bench {

// Every stackful unit in every scenario gets a stack of this size.
inline constexpr std::size_t stack_size = 64 * 1024;

// counted increments *n when destroyed: kill_suspended proves with it that
// destroying a suspended unit ran the destructors on its stack or frame.
struct counted {
  int* n;
  explicit counted(int* c) noexcept : n(c) {}
  counted(const counted&) = delete;
  counted& operator=(const counted&) = delete;
  ~counted() { ++*n; }
};

// touch_stack() writes 1 KiB of the calling stack: what a parked unit of
// memory_parked has done before parking. A stackless unit calls it too; there
// it runs on the resumer's stack, which is the point of the comparison.
[[gnu::noinline]] inline void touch_stack() {
  char buf[1024];
  std::memset(buf, 0x5a, sizeof buf);
  asm volatile("" : : "r"(buf) : "memory");  // the writes happen (DoNotOptimize + ClobberMemory)
}

// ---------------------------------------------------------------- tree_walk

// A complete binary tree; leaves carry values, inner nodes two children.
struct tree_node {
  const tree_node* left;
  const tree_node* right;
  int value;
};

struct tree {
  std::vector<tree_node> nodes;  // depth-first order; nodes[0] is the root
  long long leaf_sum = 0;
  int leaves = 0;
  const tree_node* root() const { return nodes.data(); }
};

// make_tree() builds a tree with `leaves` leaves (a power of two).
inline tree make_tree(int leaves) {
  tree t;
  t.leaves = leaves;
  t.nodes.resize(static_cast<std::size_t>(2 * leaves - 1));
  std::size_t next = 0;
  int value = 0;
  // Recursion depth is log2(leaves); fine on the main stack.
  auto build = [&](auto& self, int n) -> const tree_node* {
    tree_node& node = t.nodes[next++];
    if (n == 1) {
      node = {nullptr, nullptr, value};
      t.leaf_sum += value;
      value = (value * 7 + 3) & 0xffff;
    } else {
      const tree_node* l = self(self, n / 2);
      const tree_node* r = self(self, n / 2);
      node = {l, r, 0};
    }
    return &node;
  };
  build(build, leaves);
  return t;
}

// ----------------------------------------------------------------- pipeline
//
// source -> parse -> filter -> map -> sink. The source yields one text line
// per item, parse turns it into an int, filter drops about a third, map
// transforms, and the sink (the benchmark loop) sums.

inline bool parse_line(std::string_view line, int& out) noexcept {
  auto r = std::from_chars(line.data(), line.data() + line.size(), out);
  return r.ec == std::errc();
}
inline bool keep(int v) noexcept { return v % 3 != 0; }
inline int transform(int v) noexcept { return 2 * v + 1; }

struct pipeline_input {
  std::string text;  // one decimal number per line
  int items = 0;
  long long expected_sum = 0;
};

inline pipeline_input make_pipeline_input(int items) {
  pipeline_input in;
  in.items = items;
  in.text.reserve(static_cast<std::size_t>(items) * 8);
  std::uint32_t x = 12345;
  char buf[16];
  for (int i = 0; i < items; ++i) {
    x = x * 1664525u + 1013904223u;
    int v = static_cast<int>(x >> 12);  // 0 .. 2^20-1
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    in.text.append(buf, r.ptr);
    in.text.push_back('\n');
    if (keep(v)) in.expected_sum += transform(v);
  }
  return in;
}

inline const pipeline_input& pipeline_data() {
  static const pipeline_input in = make_pipeline_input(1'000'000);
  return in;
}

// next_line() returns the line at `pos` (without '\n') and advances `pos`.
inline std::string_view next_line(std::string_view text, std::size_t& pos) noexcept {
  std::size_t nl = text.find('\n', pos);
  std::string_view line = text.substr(pos, nl - pos);
  pos = nl + 1;
  return line;
}

// --------------------------------------------------------------- hub_timers

// timer_delay(i, n): how long unit i of n sleeps: 1 .. n microseconds, each
// once, in a scattered order (7919 is a prime that divides neither 1,000 nor
// 100,000), so the timer queue does not get its deadlines sorted.
inline std::chrono::microseconds timer_delay(int i, int n) {
  return std::chrono::microseconds(1 + (static_cast<long long>(i) * 7919) % n);
}

// ------------------------------------------------------------ memory_parked

// resident_kib() is this process's resident set size from /proc/self/statm.
inline double resident_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  unsigned long size = 0, resident = 0;
  int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  static const long page = sysconf(_SC_PAGESIZE);
  return static_cast<double>(resident) * static_cast<double>(page) / 1024.0;
}

}  // namespace green_bench

#endif  // GREEN_BENCH_COMMON_HPP
