// bench/support/peer_iterator.hpp
//
// iterator: what a programmer writes without coroutines: a state machine
// whose next() is an ordinary member function, kept out of line
// ([[gnu::noinline]]) so each item costs a real call, as a resume does.
// Nesting (yield_from, pipeline) is one object calling the next one's next();
// recursion (tree_walk) becomes an explicit stack. There is nothing to
// switch, spawn, kill or park, so iterator only appears in the generator
// scenarios.

#ifndef GREEN_BENCH_PEER_ITERATOR_HPP
#define GREEN_BENCH_PEER_ITERATOR_HPP

#include <cstddef>
#include <string_view>
#include <vector>

#include "support/common.hpp"

namespace green_bench {
namespace iter {

// --------------------------------------------------------- gen_next / gen_send

class counter {
 public:
  [[gnu::noinline]] const int* next() {
    ++value_;
    return &value_;
  }

 private:
  int value_ = -1;
};

class accumulator {
 public:
  [[gnu::noinline]] const int* next() { return &total_; }
  [[gnu::noinline]] const int* send(const int& x) {
    total_ += x;
    return &total_;
  }

 private:
  int total_ = 0;
};

// ---------------------------------------------------------------- yield_from

// chain: levels_[depth] produces, every level above forwards to the one below.
class chain {
  struct level {
    level* inner = nullptr;
    int i = 0;
    int value = 0;
    [[gnu::noinline]] const int* next() {
      if (inner) return inner->next();
      value = i++;
      return &value;
    }
  };

 public:
  explicit chain(int depth) : levels_(static_cast<std::size_t>(depth) + 1) {
    for (int d = 0; d < depth; ++d) levels_[d].inner = &levels_[d + 1];
  }
  chain(const chain&) = delete;
  chain& operator=(const chain&) = delete;
  const int* next() { return levels_[0].next(); }

 private:
  std::vector<level> levels_;
};

// ----------------------------------------------------------------- tree_walk

// tree_walk: depth-first over the leaves with an explicit stack.
class tree_walk {
 public:
  explicit tree_walk(const tree_node* root) { stack_[depth_++] = root; }
  [[gnu::noinline]] const int* next() {
    while (depth_ > 0) {
      const tree_node* n = stack_[--depth_];
      if (!n->left) return &n->value;
      stack_[depth_++] = n->right;
      stack_[depth_++] = n->left;
    }
    return nullptr;
  }

 private:
  const tree_node* stack_[64];  // depth 64 covers any tree make_tree() builds
  int depth_ = 0;
};

// ----------------------------------------------------------------- pipeline

class pipeline {
  struct source {
    std::string_view text;
    std::size_t pos = 0;
    std::string_view line;
    [[gnu::noinline]] const std::string_view* next() {
      if (pos >= text.size()) return nullptr;
      line = next_line(text, pos);
      return &line;
    }
  };
  struct parse {
    source* up;
    int value = 0;
    [[gnu::noinline]] const int* next() {
      while (const std::string_view* line = up->next())
        if (parse_line(*line, value)) return &value;
      return nullptr;
    }
  };
  struct filter {
    parse* up;
    [[gnu::noinline]] const int* next() {
      while (const int* p = up->next())
        if (keep(*p)) return p;
      return nullptr;
    }
  };
  struct map {
    filter* up;
    int value = 0;
    [[gnu::noinline]] const int* next() {
      const int* p = up->next();
      if (!p) return nullptr;
      value = transform(*p);
      return &value;
    }
  };

 public:
  explicit pipeline(std::string_view text)
      : source_{text, 0, {}}, parse_{&source_}, filter_{&parse_}, map_{&filter_} {}
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;
  const int* next() { return map_.next(); }

 private:
  source source_;
  parse parse_;
  filter filter_;
  map map_;
};

}  // namespace iter

// The policy (the members variants.hpp lists).
struct iterator {
  static constexpr const char* name = "iterator";
  static iter::counter make_counter() { return {}; }
  static iter::accumulator make_accumulator() { return {}; }
  static iter::chain make_chain(int depth) { return iter::chain(depth); }
  static iter::tree_walk make_tree_walk(const tree& t) { return iter::tree_walk(t.root()); }
  using pipeline = iter::pipeline;
};

}  // namespace green_bench

#endif  // GREEN_BENCH_PEER_ITERATOR_HPP
