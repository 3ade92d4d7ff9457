// A pool fan-out (gevent: Pool(n).imap_unordered): fetch eight "pages" with
// at most three requests in flight, and handle each result as soon as it
// arrives, in completion order. A greenlet-local request id (gevent.local)
// tags each worker's log lines. The hub runs on its virtual clock, so the
// "seconds" cost no real time and the output is the same on every run.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "green/hub.hpp"

using namespace std::chrono_literals;

struct page {
  int id;
  std::string body;
};

green::local<std::string> request_tag("main");

page fetch(int id) {
  *request_tag = "req-" + std::to_string(id);
  // Stands for slow I/O: page i takes (i * 5 % 8) + 1 seconds.
  green::sleep(std::chrono::seconds(id * 5 % 8 + 1));
  return page{id, "<" + *request_tag + " body>"};
}

int main() {
  green::make_hub({.virtual_clock = true});
  const auto t0 = green::get_hub().now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::seconds>(green::get_hub().now() - t0).count();
  };

  green::pool workers(3);
  std::vector<int> ids{0, 1, 2, 3, 4, 5, 6, 7};
  for (const page& p : workers.imap_unordered(fetch, ids)) {
    std::printf("t=%2llds page %d arrived: %s (running now: %zu)\n",
                static_cast<long long>(since()), p.id, p.body.c_str(), workers.size());
  }
  std::printf("t=%2llds all done; main's tag is still '%s'\n", static_cast<long long>(since()),
              request_tag->c_str());

  // Leaving early kills what is still running: nothing is left behind.
  for (const page& p : workers.imap_unordered(fetch, ids)) {
    std::printf("first page of the second round: %d; leaving the loop\n", p.id);
    break;
  }
  workers.join();
  std::printf("after the break: %zu tasks left in the pool\n", workers.size());
  green::destroy_hub();
}
