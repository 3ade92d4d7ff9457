// bench/quick/quick_compare.cpp
//
// green_quick_compare: a few key rows of green_bench, measured in a few
// seconds, printed as a table with the two ratio columns of the full report
// and the targets they relate to, without a verdict: short samples decide
// nothing, bench/check judges the targets on `make bench`'s numbers. `make demo` runs it last. It
// uses the same policies and loops as green_bench (bench/support/), timed by hand with the process
// CPU clock instead of Google Benchmark, so the everyday build can have it without the benchmark
// packages. The numbers are indicative (short samples, the everyday -O2 build, a shared machine):
// `make bench` takes the real ones.
//
//   green_quick_compare [--samples=N] [--ms=M]

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cfenv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "support/green_variants.hpp"
#include "support/peer_cxx20_minimal.hpp"
#include "support/peer_raw_fcontext.hpp"

#ifndef GREEN_QUICK_BUILD
#define GREEN_QUICK_BUILD "unknown build"
#endif

namespace {

using namespace green_bench;

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class T>
void keep(const T& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

// A row runs `ops` operations per call and checks its own result.
struct row {
  const char* name;
  const char* goal;  // the target bench/check judges this row by, or ""
  std::function<bool(long)> run;
  long ops = 1;            // calibrated
  std::vector<double> ns;  // per-operation samples
};

template <class Echo>
std::function<bool(long)> roundtrips() {
  return [echo = std::make_shared<Echo>(), x = 0](long ops) mutable {
    if (x == 0) x = echo->roundtrip(-1);
    const int start = x;
    for (long i = 0; i < ops; ++i) x = echo->roundtrip(x);
    return x == start + ops;
  };
}

template <class Make>
std::function<bool(long)> items(Make make) {
  using G = decltype(make());
  return [gen = std::make_shared<G>(make()), next = 0LL](long ops) mutable {
    long long sum = 0;
    for (long i = 0; i < ops; ++i) sum += *gen->next();
    keep(sum);
    const long long first = next;
    next += ops;
    return sum == (first + next - 1) * ops / 2;
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string pin_last_cpu() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 2) return "not pinned";
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) last = c;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(last, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) return "not pinned";
  return "pinned to CPU " + std::to_string(last);
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 9;
  double sample_ms = 40;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--samples=", 10) == 0) {
      samples = std::max(1, std::atoi(argv[i] + 10));
    } else if (std::strncmp(argv[i], "--ms=", 5) == 0) {
      sample_ms = std::max(1.0, std::atof(argv[i] + 5));
    } else {
      std::fprintf(stderr, "usage: green_quick_compare [--samples=N] [--ms=M]\n");
      return 2;
    }
  }
  const std::string pinned = pin_last_cpu();

  std::vector<row> rows;
  auto add = [&](const char* name, const char* goal, std::function<bool(long)> run) {
    rows.push_back(row{name, goal, std::move(run), 1, {}});
  };
  add("switch_roundtrip/greenlet", "<= 1.5x raw RT", roundtrips<greenlet::echo>());
  add("switch_roundtrip/raw_fcontext", "", roundtrips<raw::echo>());
  add("gen_next/stackful", "<= 1.3x raw RT", items([] { return stackful::make_counter(); }));
  add("gen_next/stackless", "<= 1.5x cxx20", items([] { return stackless::make_counter(); }));
  add("gen_next/cxx20_minimal", "", items([] { return cxx20::bodies::counter(); }));

  // Calibrate: enough operations for one sample of about sample_ms.
  for (auto& r : rows) {
    long n = 1000;
    for (;;) {
      const double t0 = cpu_seconds();
      std::feclearexcept(FE_ALL_EXCEPT);  // see clear_fp_flags_note below
      if (!r.run(n)) {
        std::fprintf(stderr, "quick_compare: %s: wrong result\n", r.name);
        return 1;
      }
      const double dt = cpu_seconds() - t0;
      if (dt >= sample_ms * 1e-3 / 4 || n > (1L << 34)) {
        r.ops = std::max(
            1L, static_cast<long>(static_cast<double>(n) * sample_ms * 1e-3 / std::max(dt, 1e-9)));
        break;
      }
      n *= 4;
    }
  }
  // Samples, rows in a fresh random order each round.
  std::mt19937 rng(1);
  std::vector<row*> order;
  for (auto& r : rows) order.push_back(&r);
  for (int s = 0; s < samples; ++s) {
    std::shuffle(order.begin(), order.end(), rng);
    for (row* r : order) {
      const double t0 = cpu_seconds();
      std::feclearexcept(FE_ALL_EXCEPT);
      if (!r->run(r->ops)) {
        std::fprintf(stderr, "quick_compare: %s: wrong result\n", r->name);
        return 1;
      }
      r->ns.push_back((cpu_seconds() - t0) * 1e9 / static_cast<double>(r->ops));
    }
  }

  const double raw = median(rows[1].ns);
  const double cxx = median(rows[4].ns);
  double load[3] = {0, 0, 0};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf(
      "green quick comparison: CPU ns per operation, median of %d interleaved samples "
      "of about %.0f ms\n",
      samples, sample_ms);
  std::printf("build: %s; %s; load average %.2f %.2f %.2f\n\n", GREEN_QUICK_BUILD, pinned.c_str(),
              load[0], load[1], load[2]);
  std::printf("%-31s %9s %11s %11s   %s\n", "row", "ns/op", "/ raw RT", "/ cxx20", "target");
  // clear_fp_flags_note: the clock arithmetic sets MXCSR's inexact flag,
  // which the raw units' saved state lacks, and a raw jump_fcontext then
  // reloads a different MXCSR on every switch (over 100 ns a round trip here;
  // bench row switch_fp_flags). green keeps the flags alike, the raw peer
  // cannot, so each sample starts with the flags cleared. A greenlet round
  // trip is two jump_fcontext calls plus work: should the raw row still come
  // out slower, the ratios against it mean nothing, and the table says so.
  const bool raw_disturbed = raw > median(rows[0].ns);
  for (const auto& r : rows) {
    const double m = median(r.ns);
    std::printf("%-31s %9.2f %10.2fx %10.2fx   %s\n", r.name, m, m / raw, m / cxx, r.goal);
  }
  std::printf(
      "\nraw RT = switch_roundtrip/raw_fcontext (a bare jump_fcontext there and back); "
      "cxx20 = gen_next/cxx20_minimal.\n"
      "Indicative only (short samples, shared machine): `make bench` measures every row "
      "and writes build/bench/report.md; bench/check judges the targets.\n");
  if (raw_disturbed) {
    std::printf(
        "The raw round trip came out slower than the greenlet one built on it (a stall in this "
        "build), so the ratios against it mean nothing here.\n");
  }
  return 0;
}
