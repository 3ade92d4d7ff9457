// A producer and two consumers joined by a bounded queue (gevent.queue).
// The queue holds at most two jobs: when it is full the producer blocks in
// put() until a consumer takes one. join() waits until every job was marked
// done with task_done(); shutdown() then ends the consumers' range-for loops.
// The hub runs on its virtual clock, so the "seconds" cost no real time and
// the output is the same on every run.
#include <chrono>
#include <cstdio>

#include "green/hub.hpp"

using namespace std::chrono_literals;

int main() {
  green::make_hub({.virtual_clock = true});
  const auto t0 = green::get_hub().now();
  auto at = [&] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(green::get_hub().now() - t0).count());
  };

  green::queue<int> jobs(2);

  auto consumer = [&](const char* name, std::chrono::seconds per_job) {
    for (int& job : jobs) {  // get() until the queue is shut down and drained
      std::printf("t=%llds %s takes job %d\n", at(), name, job);
      green::sleep(per_job);  // stands for the work
      std::printf("t=%llds %s finished job %d\n", at(), name, job);
      jobs.task_done();
    }
    std::printf("t=%llds %s: the queue is shut down, stopping\n", at(), name);
  };
  auto alice = green::spawn(consumer, "alice", 3s);
  auto bob = green::spawn(consumer, "bob", 5s);

  for (int job = 1; job <= 6; ++job) {
    if (jobs.full()) {
      std::printf("t=%llds producer: queue full (%zu jobs), put(%d) blocks\n", at(), jobs.qsize(),
                  job);
    }
    jobs.put(job);
    std::printf("t=%llds producer: put job %d (%zu queued)\n", at(), job, jobs.qsize());
  }
  try {
    jobs.put_nowait(7);
  } catch (const green::queue_full&) {
    std::printf("t=%llds producer: put_nowait(7) -> queue_full, job 7 dropped\n", at());
  }

  jobs.join();  // every job taken and marked done
  std::printf("t=%llds producer: all jobs done, shutting the queue down\n", at());
  jobs.shutdown();
  alice.join();
  bob.join();
}
