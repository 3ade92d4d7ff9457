// Randomized traffic through the hub, checked against invariants rather
// than against a script: many seeds, each driving tasks that sleep, wait on
// and set events, spawn children, kill and join each other and run under
// timeouts, and pass items through a bounded queue and a channel, hold
// semaphore permits, wait on several objects at once and spawn into a pool,
// with every choice drawn from one seeded generator. On the
// virtual clock (H1.8) a seed's interleaving is a pure function of the seed,
// which is itself an invariant: two runs of one seed give one trace.
//
// Invariants (docs/semantics.md H1 to H5):
//   * nothing runs twice: a task's body starts at most once (H3.1);
//   * a task killed before it started never runs (H3.6);
//   * every task ends, and every body that started unwinds exactly once;
//   * no waiter is lost: a wait without a timeout returns only once the
//     event was set (H5.1), and once main sets every event, all end;
//   * a failure is reported once per failed task, never for a greenlet_exit
//     (H3.9);
//   * queue (H6.4): every id put successfully is got exactly once or is
//     still in the queue at the end; nothing is got that was never put;
//   * channel (H6.4, H6.10): every successful put is matched by exactly one
//     get, and nothing else is got;
//   * semaphores (H7.2, H7.3): never more holders than permits, every
//     release accepted, and the counter back at its initial value at the end;
//   * wait/iwait (H8): every task reported is finished, none twice, never
//     more than `count`;
//   * pool (H9.3): never more members running at once than its size;
//   * nothing leaks (the fixture: no task, timer, greenlet or stack left).
#define BOOST_TEST_MODULE hub_random
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"
#include "support/sanitizers.hpp"

using namespace std::chrono_literals;

namespace {

struct world {
  explicit world(std::uint32_t seed, int max_tasks)
      : rng(seed), max_tasks(max_tasks), sem(sem_size), bsem(bsem_size), members(pool_size) {
    for (int i = 0; i < 6; ++i) events.push_back(std::make_unique<green::event>());
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  green::duration some_time() { return std::chrono::milliseconds(pick(4) == 0 ? 0 : pick(50)); }
  // A timeout for a blocking call: a third of them wait as long as needed.
  std::optional<green::duration> maybe_time() {
    if (pick(3) == 0) return std::nullopt;
    return some_time();
  }

  void got_from_queue(int id) {
    if (!queue_got.insert(id).second) ++queue_duplicates;
  }
  void got_from_channel(int id) {
    if (!channel_got.insert(id).second) ++channel_duplicates;
  }

  void log(int who, const std::string& what) {
    trace += std::to_string(who) + ":" + what + "@" +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                green::get_hub().now().time_since_epoch())
                                .count()) +
             " ";
  }

  void spawn_actor() {
    const int who = static_cast<int>(tasks.size());
    starts.push_back(0);
    unwound.push_back(0);
    tasks.push_back(green::spawn([this, who] { act(who); }));
  }

  // A handle (a copy: `tasks` grows while its holder blocks) of a task other
  // than `who`, or none.
  std::optional<green::task<void>> other(int who) {
    if (tasks.size() < 2) return std::nullopt;
    int i = pick(static_cast<int>(tasks.size()));
    if (i == who) i = (i + 1) % static_cast<int>(tasks.size());
    return tasks[static_cast<std::size_t>(i)];
  }

  void act(int who) {
    ++starts[static_cast<std::size_t>(who)];
    struct on_exit {
      world& w;
      int who;
      ~on_exit() { ++w.unwound[static_cast<std::size_t>(who)]; }
    } guard{*this, who};
    log(who, "start");
    const int steps = 1 + pick(12);
    for (int step = 0; step < steps; ++step) {
      // Spawning has three chances in 17: each task spawns about 1.1 others,
      // so a seed grows to max_tasks instead of dying out.
      switch (pick(17)) {
        case 0:
          green::sleep();
          log(who, "yield");
          break;
        case 1:
          green::sleep(some_time());
          log(who, "slept");
          break;
        case 2: {
          const int e = pick(static_cast<int>(events.size()));
          if (pick(2) == 0) {
            // No timeout: it may only return once the event was set.
            const bool set = events[static_cast<std::size_t>(e)]->wait();
            if (!set) ++lost_waits;
            log(who, "waited" + std::to_string(e));
          } else {
            const bool set = events[static_cast<std::size_t>(e)]->wait(some_time());
            log(who, (set ? "got" : "missed") + std::to_string(e));
          }
          break;
        }
        case 3: {
          const int e = pick(static_cast<int>(events.size()));
          events[static_cast<std::size_t>(e)]->set();
          if (pick(3) == 0) events[static_cast<std::size_t>(e)]->clear();
          log(who, "set" + std::to_string(e));
          break;
        }
        case 10: {
          const int id = next_id++;
          try {
            if (pick(4) == 0) {
              items.put_nowait(id);
            } else {
              items.put(id, pick(4) != 0, maybe_time());
            }
            queue_put.insert(id);
            log(who, "qput" + std::to_string(id));
          } catch (const green::queue_full&) {
            log(who, "qfull");
          }
          break;
        }
        case 11:
          try {
            const int id =
                pick(4) == 0 ? items.get_nowait() : items.get(pick(4) != 0, maybe_time());
            got_from_queue(id);
            log(who, "qgot" + std::to_string(id));
          } catch (const green::queue_empty&) {
            log(who, "qempty");
          }
          break;
        case 12: {
          const bool bounded = pick(2) == 0;
          green::semaphore& s = bounded ? bsem : sem;
          if (pick(5) == 0) {
            log(who, "semwait" + std::to_string(s.wait(some_time())));
            break;
          }
          if (!s.acquire(pick(4) != 0, maybe_time())) {
            log(who, "noacq");
            break;
          }
          // Released on every way out, a kill or a timeout included.
          struct holder {
            world& w;
            green::semaphore& s;
            int& n;
            ~holder() {
              --n;
              try {
                s.release();
              } catch (...) {
                ++w.bad_releases;
              }
            }
          } hold{*this, s, bounded ? bsem_holders : sem_holders};
          if (++hold.n > (bounded ? bsem_size : sem_size)) ++too_many_holders;
          log(who, bounded ? "bacq" : "acq");
          green::sleep(some_time());
          break;
        }
        case 13: {
          if (pick(2) == 0) {
            const int id = next_id++;
            try {
              if (pick(4) == 0) {
                chan.put_nowait(id);
              } else {
                chan.put(id, pick(4) != 0, maybe_time());
              }
              channel_put.insert(id);
              log(who, "cput" + std::to_string(id));
            } catch (const green::queue_full&) {
              log(who, "cfull");
            }
          } else {
            try {
              const int id =
                  pick(4) == 0 ? chan.get_nowait() : chan.get(pick(4) != 0, maybe_time());
              got_from_channel(id);
              log(who, "cgot" + std::to_string(id));
            } catch (const green::queue_empty&) {
              log(who, "cempty");
            }
          }
          break;
        }
        case 14: {
          // Some other tasks, events and a semaphore; always a timeout, as
          // two tasks waiting on each other would never finish.
          std::vector<green::waitable> objects;
          const int n = 1 + pick(4);
          for (int i = 0; i < n; ++i) {
            std::optional<green::waitable> o;
            switch (pick(3)) {
              case 0:
                if (auto t = other(who)) o.emplace(*t);
                break;
              case 1:
                o.emplace(*events[static_cast<std::size_t>(pick(6))]);
                break;
              default:
                o.emplace(pick(2) == 0 ? sem : bsem);
                break;
            }
            // Distinct objects, so one reported twice is a fault.
            if (o && std::find(objects.begin(), objects.end(), *o) == objects.end())
              objects.push_back(*o);
          }
          if (objects.empty()) break;
          std::optional<std::size_t> count;
          if (pick(2) == 0)
            count = 1 + static_cast<std::size_t>(pick(static_cast<int>(objects.size())));
          std::vector<green::waitable> seen;
          auto check = [&](const green::waitable& w) {
            if (w.type() == green::waitable::kind::task && !w.ready()) ++unready_waits;
            for (const auto& s : seen) {
              if (s == w) ++double_waits;
            }
            seen.push_back(w);
          };
          if (pick(2) == 0) {
            for (const auto& w : green::wait(objects, some_time(), count)) check(w);
            log(who, "waitall" + std::to_string(seen.size()));
          } else {
            // Sometimes left early: the rest must be unlinked (H8.4).
            const std::size_t stop =
                static_cast<std::size_t>(pick(static_cast<int>(objects.size()) + 1));
            for (const green::waitable& w : green::iwait(objects, some_time(), count)) {
              check(w);
              if (seen.size() == stop) break;
            }
            log(who, "iwait" + std::to_string(seen.size()));
          }
          // A set of distinct objects: wait() returns at most that many.
          if (count && seen.size() > *count) ++overcounted_waits;
          break;
        }
        case 15:
          if (pick(4) != 0) {
            if (member_starts.size() < static_cast<std::size_t>(max_tasks)) {
              const int m = static_cast<int>(member_starts.size());
              member_starts.push_back(0);
              children.push_back(members.spawn([this, m] { member(m); }));
              log(who, "pooled" + std::to_string(m));
            }
          } else if (pick(2) == 0) {
            members.kill(nullptr, pick(2) == 0, some_time());
            log(who, "poolkill");
          } else {
            log(who, members.join(some_time()) ? "pooljoined" : "pooljoin-timeout");
          }
          break;
        case 4:
        case 9:
        case 16:
          if (static_cast<int>(tasks.size()) < max_tasks) {
            spawn_actor();
            log(who, "spawned" + std::to_string(tasks.size() - 1));
          }
          break;
        case 5:
          if (auto t = other(who)) {
            if (!t->started()) never_run.insert(t->native_handle());
            const bool block = pick(2) == 0;
            if (pick(3) == 0) {
              t->kill(std::runtime_error("random kill"), block, some_time());
            } else {
              t->kill(nullptr, block, some_time());
            }
            log(who, "killed");
          }
          break;
        case 6:
          if (auto t = other(who)) {
            const bool done = t->join(some_time());
            if (done && !t->ready()) ++false_joins;
            log(who, done ? "joined" : "join-timeout");
          }
          break;
        case 7: {
          const bool finished = green::within(some_time(), [&] { green::sleep(some_time()); });
          log(who, finished ? "in-time" : "timed-out");
          break;
        }
        case 8: {
          const int e = pick(static_cast<int>(events.size()));
          const bool finished =
              green::within(some_time(), [&] { events[static_cast<std::size_t>(e)]->wait(); });
          log(who, finished ? "woke-in-time" : "wait-timed-out");
          break;
        }
      }
    }
    log(who, "end");
  }

  // A pool member: it counts how many run at once, and puts into the queue.
  void member(int m) {
    ++member_starts[static_cast<std::size_t>(m)];
    struct running {
      world& w;
      ~running() { --w.members_running; }
    } guard{*this};
    if (++members_running > pool_size || members.size() > static_cast<std::size_t>(pool_size))
      ++too_many_members;
    log(1000 + m, "member");
    green::sleep(some_time());
    const int id = next_id++;
    try {
      items.put(id, some_time());
      queue_put.insert(id);
      log(1000 + m, "qput" + std::to_string(id));
    } catch (const green::queue_full&) {
      log(1000 + m, "qfull");
    }
  }

  // Main's share of the last phase: empties the queue and the channel so no
  // putter waits forever, then gives one item to a getter that may wait.
  void unblock_items() {
    try {
      for (;;) got_from_queue(items.get_nowait());
    } catch (const green::queue_empty&) {
    }
    try {
      const int id = next_id++;
      items.put_nowait(id);
      queue_put.insert(id);
    } catch (const green::queue_full&) {
      // Putters woken by the drain come first.
    }
    try {
      while (chan.balance() > 0) got_from_channel(chan.get_nowait());
      while (chan.balance() < 0) {
        const int cid = next_id++;
        chan.put_nowait(cid);
        channel_put.insert(cid);
      }
    } catch (const green::queue_empty&) {
    } catch (const green::queue_full&) {
    }
  }

  std::mt19937 rng;
  int max_tasks;
  std::vector<std::unique_ptr<green::event>> events;
  std::vector<green::task<void>> tasks;
  std::vector<int> starts, unwound;
  std::set<const void*> never_run;
  std::map<std::uint64_t, int> failures_reported;  // greenlet id -> reports
  int lost_waits = 0;
  int false_joins = 0;

  static constexpr int sem_size = 2, bsem_size = 3, pool_size = 3;
  int next_id = 0;
  green::queue<int> items{4};
  std::set<int> queue_put, queue_got;
  int queue_duplicates = 0;
  green::channel<int> chan;
  std::set<int> channel_put, channel_got;
  int channel_duplicates = 0;
  green::semaphore sem;
  green::bounded_semaphore bsem;
  int sem_holders = 0, bsem_holders = 0, too_many_holders = 0, bad_releases = 0;
  int unready_waits = 0, double_waits = 0, overcounted_waits = 0;
  green::pool members;
  std::vector<green::task<void>> children;
  std::vector<int> member_starts;
  int members_running = 0, too_many_members = 0;
  std::string trace;
};

int tasks_per_seed() { return green::test::under_tsan || RUNNING_ON_VALGRIND ? 60 : 300; }
int seeds() {
  if (green::test::under_tsan || RUNNING_ON_VALGRIND) return 10;
  return green::test::under_asan ? 60 : 200;  // ASan: about 7 s for 200
}

// Runs one seed to the end and checks every invariant; returns the trace.
std::string run_seed(std::uint32_t seed) {
  std::string trace;
  BOOST_TEST_CONTEXT("seed " << seed) {
    world w(seed, tasks_per_seed());
    auto previous = green::get_hub().set_error_handler(
        [&w](const green::failure_report& r) { ++w.failures_reported[r.greenlet_id]; });
    for (int i = 0; i < 8; ++i) w.spawn_actor();
    // Main drives the world to its end: it sets every event (nobody is left
    // waiting for a set that never comes) until every task has finished.
    for (int round = 0; round < 10000 && green::get_hub().live_tasks() != 0; ++round) {
      for (auto& e : w.events) e->set();
      w.unblock_items();
      green::sleep(10ms);
    }
    // Links of the last tasks to finish (a pool member leaving its pool) run
    // from the hub after live_tasks() dropped.
    green::sleep();
    green::get_hub().set_error_handler(std::move(previous));

    BOOST_CHECK_EQUAL(green::get_hub().live_tasks(), 0u);
    BOOST_CHECK_EQUAL(w.lost_waits, 0);
    BOOST_CHECK_EQUAL(w.false_joins, 0);

    // Queue: what was put is what was got plus what is left, each id once.
    const std::size_t left = w.items.qsize();
    BOOST_CHECK_EQUAL(w.queue_put.size(), w.queue_got.size() + left);
    try {
      for (;;) w.got_from_queue(w.items.get_nowait());
    } catch (const green::queue_empty&) {
    }
    BOOST_CHECK_EQUAL(w.queue_duplicates, 0);
    BOOST_CHECK(w.queue_put == w.queue_got);
    BOOST_CHECK_EQUAL(w.channel_duplicates, 0);
    BOOST_CHECK(w.channel_put == w.channel_got);
    BOOST_CHECK_EQUAL(w.chan.balance(), 0);

    BOOST_CHECK_EQUAL(w.too_many_holders, 0);
    BOOST_CHECK_EQUAL(w.bad_releases, 0);
    BOOST_CHECK_EQUAL(w.sem_holders + w.bsem_holders, 0);
    BOOST_CHECK_EQUAL(w.sem.counter(), world::sem_size);
    BOOST_CHECK_EQUAL(w.bsem.counter(), world::bsem_size);
    BOOST_CHECK_EQUAL(w.sem.waiting() + w.bsem.waiting(), 0u);

    BOOST_CHECK_EQUAL(w.unready_waits, 0);
    BOOST_CHECK_EQUAL(w.double_waits, 0);
    BOOST_CHECK_EQUAL(w.overcounted_waits, 0);

    BOOST_CHECK_EQUAL(w.too_many_members, 0);
    BOOST_CHECK_EQUAL(w.members_running, 0);
    BOOST_CHECK(w.members.empty());
    // A spawner killed while the pool was full leaves an index with no task,
    // and spawners overtake each other: the two lists do not line up.
    for (std::size_t i = 0; i < w.children.size(); ++i) {
      BOOST_CHECK_MESSAGE(w.children[i].ready(), "pool task " << i << " never finished");
    }
    for (std::size_t m = 0; m < w.member_starts.size(); ++m) {
      BOOST_CHECK_MESSAGE(w.member_starts[m] <= 1,
                          "pool member " << m << " ran " << w.member_starts[m] << " times");
    }
    int failed = 0;
    for (std::size_t i = 0; i < w.tasks.size(); ++i) {
      const auto& t = w.tasks[i];
      BOOST_CHECK_MESSAGE(t.ready(), "task " << i << " never finished");
      BOOST_CHECK_MESSAGE(w.starts[i] <= 1, "task " << i << " ran " << w.starts[i] << " times");
      BOOST_CHECK_MESSAGE(w.unwound[i] == w.starts[i], "task " << i << " started " << w.starts[i]
                                                               << " times, unwound "
                                                               << w.unwound[i]);
      if (w.never_run.count(t.native_handle()) != 0) {
        BOOST_CHECK_MESSAGE(w.starts[i] == 0, "task " << i << " ran after a kill before start");
      }
      if (!t.successful()) {
        ++failed;
        BOOST_CHECK(t.exception() != nullptr);
        if (t.started()) {
          BOOST_CHECK_MESSAGE(w.failures_reported[t.greenlet_().id()] == 1,
                              "failed task " << i << " reported "
                                             << w.failures_reported[t.greenlet_().id()]
                                             << " times");
        }
      }
    }
    int reports = 0;
    for (const auto& [id, n] : w.failures_reported) reports += n;
    BOOST_CHECK_LE(reports, failed);
    BOOST_TEST_MESSAGE("seed " << seed << ": " << w.tasks.size() << " tasks, " << w.children.size()
                               << " pool members, " << failed << " failed, " << w.queue_put.size()
                               << " queued, " << w.channel_put.size()
                               << " through the channel, trace " << w.trace.size());
    trace = std::move(w.trace);
  }
  return trace;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_random, green::test::hub_check)

BOOST_AUTO_TEST_CASE(random_spawn_kill_timeout_event_traffic_keeps_every_invariant) {
  for (int seed = 1; seed <= seeds(); ++seed) run_seed(static_cast<std::uint32_t>(seed));
}

// H1.8: on the virtual clock, the interleaving is a function of the seed.
BOOST_AUTO_TEST_CASE(one_seed_run_twice_on_the_virtual_clock_gives_one_trace) {
  const std::string first = run_seed(7);
  green::destroy_hub();
  green::make_hub(green::hub_options{.virtual_clock = true});
  const std::string second = run_seed(7);
  BOOST_CHECK(!first.empty());
  for (const char* op : {"killed", "qput", "qgot", "cput", "cgot", "acq", "bacq", "waitall",
                         "iwait", "pooled", "member"}) {
    BOOST_CHECK_MESSAGE(first.find(op) != std::string::npos, "seed 7 never did " << op);
  }
  BOOST_CHECK(first == second);
}

BOOST_AUTO_TEST_SUITE_END()
