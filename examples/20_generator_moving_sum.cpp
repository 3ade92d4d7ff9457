// Generators driven by send(): a moving sum over the last N values, and an
// accumulator. Python:
//
//   def moving_sum(n):                 def accumulator():
//       window, total = deque(), 0         total = 0
//       while True:                        while True:
//           x = yield total                    x = yield total
//           ...                                if x is None: return total
//                                              total += x
//
// The first next() runs the body to its first yield (priming); each send(x)
// resumes it with x and returns the next yielded value.

#include <cstdio>
#include <deque>
#include <optional>

#include "green/generator.hpp"
#include "green/stackless.hpp"

// moving_sum(n) yields the sum of the last n values sent to it.
green::generator<double, double> moving_sum(std::size_t n) {
  return green::generator<double, double>([n](green::yielder<double, double>& y) {
    std::deque<double> window;
    double total = 0;
    for (;;) {
      const double x = y.yield(total);
      window.push_back(x);
      total += x;
      if (window.size() > n) {
        total -= window.front();
        window.pop_front();
      }
    }
  });
}

// accumulator() yields the running total; sending nothing (an empty
// optional) ends it, and the total becomes its result. Stackless version.
green::stackless::generator<long, std::optional<long>, long> accumulator() {
  long total = 0;
  for (;;) {
    std::optional<long> x = co_yield total;
    if (!x) co_return total;
    total += *x;
  }
}

int main() {
  std::printf("moving sum over the last 3 values:\n");
  auto ms = moving_sum(3);
  (void)ms.next();  // prime: run to the first yield
  for (double x : {1.0, 2.0, 3.0, 4.0, 10.0, 0.0}) {
    std::printf("  send(%4.1f) -> %5.1f\n", x, ms.send(x));
  }

  std::printf("accumulator (stackless):\n");
  auto acc = accumulator();
  (void)acc.next();
  for (long x : {5L, 10L, 20L}) std::printf("  send(%ld) -> %ld\n", x, acc.send(x));
  try {
    (void)acc.send(std::nullopt);
  } catch (const green::stop_iteration& s) {
    // Python: StopIteration.value; result() keeps the same value afterwards.
    std::printf("  finished, value = %ld, result() = %ld\n", s.value<long>(), acc.result());
  }
  return 0;
}
