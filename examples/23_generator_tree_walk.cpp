// A tree walk that yields from recursion, stackful and stackless side by
// side. Python:
//
//   def walk(node):
//       if node is None: return
//       yield from walk(node.left)
//       yield node.value
//       yield from walk(node.right)
//
// Stackful: the recursion is an ordinary recursive function that receives
// the yielder and yields at any depth; there is one generator in total.
// Stackless: a coroutine can only yield from its own body, so each subtree
// is a generator of its own, and `co_yield yield_from(...)` delegates to it.
// Both deliver each value in O(1), whatever the depth of the node.

#include <cstdio>
#include <memory>
#include <vector>

#include "green/generator.hpp"
#include "green/stackless.hpp"

struct node {
  int value;
  std::unique_ptr<node> left, right;
};

// build(lo, hi) is a balanced search tree of lo .. hi-1.
std::unique_ptr<node> build(int lo, int hi) {
  if (lo >= hi) return nullptr;
  const int mid = (lo + hi) / 2;
  return std::unique_ptr<node>(new node{mid, build(lo, mid), build(mid + 1, hi)});
}

// Stackful: a plain recursive function, yielding through the yielder.
void walk(const node* n, green::yielder<int>& y) {
  if (n == nullptr) return;
  walk(n->left.get(), y);
  y.yield(n->value);
  walk(n->right.get(), y);
}

green::generator<int> walk_stackful(const node* root) {
  return green::generator<int>([root](green::yielder<int>& y) { walk(root, y); });
}

// Stackless: one coroutine per subtree, delegating with yield_from.
green::stackless::generator<int> walk_stackless(const node* n) {
  if (n == nullptr) co_return;
  co_yield green::stackless::yield_from(walk_stackless(n->left.get()));
  co_yield n->value;
  co_yield green::stackless::yield_from(walk_stackless(n->right.get()));
}

int main() {
  auto root = build(1, 16);

  std::vector<int> a;
  std::printf("stackful : ");
  for (int v : walk_stackful(root.get())) {
    std::printf("%d ", v);
    a.push_back(v);
  }
  std::printf("\n");

  std::vector<int> b;
  std::printf("stackless: ");
  for (int v : walk_stackless(root.get())) {
    std::printf("%d ", v);
    b.push_back(v);
  }
  std::printf("\n");

  // Lazy: stop after the three smallest values; the rest is never visited.
  std::printf("three smallest (stackful): ");
  auto g = walk_stackful(root.get());
  for (int i = 0; i < 3; ++i) std::printf("%d ", g.next());
  std::printf("\n");

  std::printf("%s\n", a == b ? "both walks agree" : "the walks differ!");
  return a == b ? 0 : 1;
}
