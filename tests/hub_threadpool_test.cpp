// The thread pool and cross-thread posts: docs/semantics.md H11, following
// gevent's src/gevent/tests/test__threadpool.py (PoolBasicTests, TestPool,
// TestSpawn, TestMaxsize, TestSize, TestRefCount). No case depends on timing:
// jobs wait on flags the test sets, and the hub runs on the virtual clock.
#define BOOST_TEST_MODULE hub_threadpool
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "green/hub.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

namespace {

// A flag a job spins on (yielding its thread) until the test raises it.
struct gate {
  std::atomic<bool> open{false};
  void wait() const {
    while (!open.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  void release() { open.store(true, std::memory_order_release); }
};

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "?";
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hub_threadpool, green::test::hub_check)

// PoolBasicTests.test_apply, H11.3.
BOOST_AUTO_TEST_CASE(apply_returns_the_value_of_the_function) {
  green::threadpool pool(1);
  BOOST_CHECK_EQUAL(pool.apply([](int a) { return a * 2; }, 21), 42);
  std::thread::id ran_on;
  pool.apply([&] { ran_on = std::this_thread::get_id(); });
  BOOST_CHECK(ran_on != std::this_thread::get_id());
}

// PoolBasicTests.test_apply_raises, H11.3.
BOOST_AUTO_TEST_CASE(apply_rethrows_the_exception_of_the_function) {
  green::threadpool pool(1);
  BOOST_CHECK_EXCEPTION(
      pool.apply([]() -> int { throw std::runtime_error("boom"); }), std::runtime_error,
      [](const std::runtime_error& e) { return std::string(e.what()) == "boom"; });
  // The worker survives its job's exception.
  BOOST_CHECK_EQUAL(pool.apply([] { return 7; }), 7);
}

// PoolBasicTests.test_init_valueerror (gevent refuses -1; a pool of 0 could
// never run anything here).
BOOST_AUTO_TEST_CASE(a_pool_of_size_zero_is_a_value_error) {
  BOOST_CHECK_THROW(green::threadpool(0), green::value_error);
}

// PoolBasicTests.test_execute_async, H11.1: a greenlet waiting on a job
// blocks only itself; the job here cannot finish unless another greenlet
// runs meanwhile.
BOOST_AUTO_TEST_CASE(a_greenlet_waiting_on_a_job_lets_other_greenlets_run) {
  green::threadpool pool(2);
  gate g;
  auto r = pool.spawn([&] {
    g.wait();
    return 5;
  });
  auto opener = green::spawn([&] { g.release(); });
  BOOST_CHECK_EQUAL(r.get(), 5);
  opener.join();
}

// TestPool.test_map (range(10) and range(100)).
BOOST_AUTO_TEST_CASE(map_returns_the_values_in_the_order_of_the_items) {
  green::threadpool pool(3);
  for (int n : {10, 100}) {
    std::vector<int> items(static_cast<std::size_t>(n));
    std::iota(items.begin(), items.end(), 0);
    std::vector<int> got = pool.map([](int x) { return x * x; }, items);
    BOOST_REQUIRE_EQUAL(got.size(), items.size());
    for (int i = 0; i < n; ++i) BOOST_CHECK_EQUAL(got[static_cast<std::size_t>(i)], i * i);
  }
}

// TestErrorInIterator.test: map rethrows the first failure, after every job
// finished.
BOOST_AUTO_TEST_CASE(map_rethrows_the_first_failure_after_all_jobs_finished) {
  green::threadpool pool(3);
  std::atomic<int> ran{0};
  std::vector<int> items{1, 2, 3, 4, 5};
  BOOST_CHECK_THROW(pool.map(
                        [&](int x) {
                          ++ran;
                          if (x == 3) throw std::runtime_error("three");
                          return x;
                        },
                        items),
                    std::runtime_error);
  BOOST_CHECK_EQUAL(ran.load(), 5);
}

// TestSpawn.test_basics, TestSize, H11.2: workers start on demand, up to
// maxsize; what does not fit waits in the queue.
BOOST_AUTO_TEST_CASE(workers_start_on_demand_up_to_maxsize) {
  green::threadpool pool(2);
  BOOST_CHECK_EQUAL(pool.maxsize(), 2u);
  BOOST_CHECK_EQUAL(pool.size(), 0u);
  gate g;
  std::vector<green::async_result<int>> rs;
  for (int i = 0; i < 5; ++i) {
    rs.push_back(pool.spawn([&g, i] {
      g.wait();
      return i;
    }));
  }
  BOOST_CHECK_EQUAL(pool.size(), 2u);
  BOOST_CHECK(pool.pending() >= 3 && pool.pending() <= 5);  // at most two were taken
  g.release();
  for (int i = 0; i < 5; ++i) BOOST_CHECK_EQUAL(rs[static_cast<std::size_t>(i)].get(), i);
  BOOST_CHECK_EQUAL(pool.pending(), 0u);
}

// H11.2: with an idle timeout, idle workers exit (and are joined).
BOOST_AUTO_TEST_CASE(idle_workers_exit_after_the_idle_timeout) {
  green::threadpool pool(3, 1ms);
  std::vector<int> items{1, 2, 3, 4, 5, 6};
  pool.map([](int x) { return x; }, items);
  while (pool.size() != 0) std::this_thread::yield();
  BOOST_CHECK_EQUAL(pool.apply([] { return 1; }), 1);  // a new worker starts
}

// TestSpawn.test_cannot_spawn_from_other_thread, H11.1.
BOOST_AUTO_TEST_CASE(spawning_from_another_thread_is_an_error) {
  green::threadpool pool1(1);
  green::threadpool pool2(2);
  auto r = pool1.spawn([&] { pool2.spawn([] { return 1; }); });
  BOOST_CHECK_EXCEPTION(r.get(), green::error, [](const green::error& e) {
    return std::string(e.what()).find("another thread") != std::string::npos;
  });
  BOOST_CHECK_EQUAL(pool2.size(), 0u);
}

// TestPool.test_async_timeout, H11.4: the waiter times out (the virtual
// clock jumps at once); the job goes on and its late result is dropped.
BOOST_AUTO_TEST_CASE(a_waiter_that_times_out_leaves_the_job_running) {
  green::threadpool pool(1);
  gate g;
  std::atomic<bool> finished{false};
  {
    auto r = pool.spawn([&] {
      g.wait();
      finished = true;
      return std::string(1000, 'x');
    });
    BOOST_CHECK_THROW(r.get(1s), green::timeout);
    BOOST_CHECK(!r.ready());
  }  // the waiter's handle is gone before the job ends
  g.release();
  BOOST_CHECK_EQUAL(pool.apply([] { return 2; }), 2);  // after the first job
  BOOST_CHECK(finished.load());
}

// H11.4: the waiting greenlet is killed while the job runs.
BOOST_AUTO_TEST_CASE(a_waiter_that_is_killed_leaves_the_job_running) {
  green::threadpool pool(1);
  gate g;
  std::atomic<bool> finished{false};
  bool unwound = false;
  auto waiter = green::spawn([&] {
    struct mark {
      bool& b;
      ~mark() { b = true; }
    } m{unwound};
    auto r = pool.spawn([&] {
      g.wait();
      finished = true;
      return 1;
    });
    r.get();
    BOOST_CHECK(false);  // not reached
  });
  green::sleep();
  waiter.kill();
  BOOST_CHECK(waiter.exited());
  BOOST_CHECK(unwound);
  g.release();
  BOOST_CHECK_EQUAL(pool.apply([] { return 2; }), 2);
  BOOST_CHECK(finished.load());
}

// TestPool.test_terminate, H11.5: destroying the pool cancels the jobs not
// started (their results carry an error) and waits for the running one.
BOOST_AUTO_TEST_CASE(destroying_the_pool_cancels_queued_jobs_and_finishes_the_running_one) {
  auto pool = std::make_unique<green::threadpool>(1);
  std::atomic<green::async_result<int>*> last{nullptr};
  std::atomic<bool> first_started{false};
  std::atomic<bool> first_done{false};
  auto first = pool->spawn([&] {
    first_started = true;
    // Runs until the pool's destructor has cancelled the queued jobs.
    green::async_result<int>* l = nullptr;
    while ((l = last.load()) == nullptr || !l->ready()) std::this_thread::yield();
    first_done = true;
    return 1;
  });
  std::vector<green::async_result<int>> queued;
  for (int i = 0; i < 4; ++i) queued.push_back(pool->spawn([] { return 2; }));
  last = &queued.back();
  while (!first_started.load()) std::this_thread::yield();
  pool.reset();
  BOOST_CHECK(first_done.load());
  BOOST_CHECK_EQUAL(first.get(), 1);
  for (auto& r : queued) {
    BOOST_REQUIRE(r.ready());
    BOOST_CHECK(message_of(r.exception()).find("destroyed before this job started") !=
                std::string::npos);
    BOOST_CHECK_THROW(r.get(), green::error);
  }
}

// H11.5: destroy_hub() with jobs of the hub's pool queued and running, and a
// greenlet waiting on one: the waiter is killed, the queued jobs are
// cancelled, the running one finishes, its result is dropped.
BOOST_AUTO_TEST_CASE(destroying_the_hub_with_jobs_queued_and_running_joins_the_workers) {
  green::threadpool& pool = green::get_threadpool();
  BOOST_CHECK_EQUAL(pool.maxsize(), 10u);
  BOOST_CHECK(&pool == &green::get_threadpool());
  std::atomic<green::async_result<int>*> last{nullptr};
  std::atomic<int> running{0};
  std::vector<green::async_result<int>> running_results;
  for (int i = 0; i < 10; ++i) {
    running_results.push_back(pool.spawn([&] {
      ++running;
      green::async_result<int>* l = nullptr;
      while ((l = last.load()) == nullptr || !l->ready()) std::this_thread::yield();
      return 1;
    }));
  }
  std::vector<green::async_result<int>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(pool.spawn([] { return 2; }));
  last = &queued.back();
  bool waiter_unwound = false;
  auto waiter = green::spawn([&] {
    struct mark {
      bool& b;
      ~mark() { b = true; }
    } m{waiter_unwound};
    running_results.front().get();
  });
  green::sleep();
  while (running.load() != 10) std::this_thread::yield();
  green::destroy_hub();
  BOOST_CHECK(waiter_unwound);
  for (auto& r : queued) {
    BOOST_REQUIRE(r.ready());
    BOOST_CHECK(message_of(r.exception()).find("destroyed before this job started") !=
                std::string::npos);
  }
  for (auto& r : running_results) BOOST_CHECK(r.ready() && !r.exception());
}

// H11.5: a thread that exits with jobs of its hub's pool running and queued
// destroys its hub at exit, which cancels the queued jobs and joins the
// workers.
BOOST_AUTO_TEST_CASE(a_thread_exiting_with_pool_jobs_running_joins_the_workers) {
  std::atomic<bool> release{false};
  std::atomic<bool> job_finished{false};
  std::vector<green::async_result<void>> queued;
  std::thread other([&] {
    green::threadpool& pool = green::get_threadpool();
    std::atomic<bool> started{false};
    pool.spawn([&] {
      started = true;
      while (!release.load()) std::this_thread::yield();
      job_finished = true;
    });
    for (int i = 0; i < 20; ++i) queued.push_back(pool.spawn([] {}));
    while (!started.load()) std::this_thread::yield();
    release = true;
  });  // no destroy_hub(): the thread's exit destroys its hub
  other.join();
  BOOST_CHECK(job_finished.load());
  // Each queued job ran or was cancelled (which, is a race); none is left
  // without a result.
  for (auto& r : queued) BOOST_CHECK(r.ready());
}

// Thousands of jobs through a small pool.
BOOST_AUTO_TEST_CASE(thousands_of_jobs_all_complete) {
  green::threadpool pool(4);
  std::vector<green::async_result<long>> rs;
  const long n = 3000;
  for (long i = 0; i < n; ++i) rs.push_back(pool.spawn([](long x) { return x * 2; }, i));
  long sum = 0;
  for (auto& r : rs) sum += r.get();
  BOOST_CHECK_EQUAL(sum, n * (n - 1));
  BOOST_CHECK(pool.size() <= 4u);
}

// TestPool2.test_recursive_apply's thread side, H11.6: a job that uses green
// gets the hub of its own thread, which goes with the job.
BOOST_AUTO_TEST_CASE(a_job_that_uses_green_gets_a_hub_of_its_own_thread) {
  green::threadpool pool(1);
  const green::hub* mine = &green::get_hub();
  struct seen {
    const green::hub* hub;
    int value;
  };
  seen s = pool.apply([] {
    auto t = green::spawn([] {
      green::sleep(1ms);
      return 3;
    });
    return seen{&green::get_hub(), t.get()};
  });
  BOOST_CHECK(s.hub != mine);
  BOOST_CHECK_EQUAL(s.value, 3);
  BOOST_CHECK(!pool.apply([] { return green::has_hub(); }));  // same worker
}

// TestRefCount, H11.5: a pool that ran a job is destroyed cleanly.
BOOST_AUTO_TEST_CASE(a_pool_that_ran_a_job_is_destroyed_cleanly) {
  green::threadpool pool(1);
  pool.spawn([] {});
  green::sleep();
}

// H11.7: another thread posts a function, which runs in the hub.
BOOST_AUTO_TEST_CASE(a_function_posted_from_another_thread_runs_in_the_hub) {
  green::hub_handle h(green::get_hub());
  BOOST_CHECK(h.alive());
  green::async_result<int> r;
  std::thread::id ran_on;
  bool in_hub = false;
  bool posted = false;
  std::thread other([&] {
    posted = h.post([&] {
      ran_on = std::this_thread::get_id();
      in_hub = green::getcurrent() == green::get_hub().hub_greenlet();
      r.set(42);
    });
  });
  BOOST_CHECK_EQUAL(r.get(), 42);
  other.join();
  BOOST_CHECK(posted);
  BOOST_CHECK(ran_on == std::this_thread::get_id());
  BOOST_CHECK(in_hub);
}

// H11.7: a post in flight keeps the hub from raising loop_exit: main waits
// on an event only the posted function sets.
BOOST_AUTO_TEST_CASE(a_post_in_flight_is_waited_for_instead_of_loop_exit) {
  green::hub_handle h(green::get_hub());
  green::event e;
  std::thread other([&] { h.post([&] { e.set(); }); });
  other.join();  // posted, not run yet: the hub has not run since
  BOOST_CHECK(e.wait());
}

// H11.7: a post is taken while greenlets keep the hub busy (sleep(0) round
// robin, the ready queue never empty), not only once the hub goes idle.
BOOST_FIXTURE_TEST_CASE(a_post_runs_while_greenlets_keep_the_hub_busy,
                        green::test::real_clock_hub) {
  green::hub_handle h(green::get_hub());
  bool ran = false;
  std::thread other([&] { h.post([&] { ran = true; }); });
  other.join();
  int turns = 0;
  auto busy = green::spawn([&] {
    while (!ran && turns < 100000) {
      ++turns;
      green::sleep();
    }
  });
  while (!ran && turns < 100000) green::sleep();
  busy.join();
  BOOST_CHECK(ran);
  BOOST_CHECK(turns < 100000);
}

// H11.7: once the hub is gone, posts are refused and the function dropped.
BOOST_AUTO_TEST_CASE(a_post_to_a_destroyed_hub_is_dropped) {
  green::hub_handle h(green::get_hub());
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> alive = token;
  bool ran = false;
  BOOST_CHECK(h.post([&ran, token] { ran = true; }));
  token.reset();
  green::destroy_hub();  // the posted function never ran
  BOOST_CHECK(!ran);
  BOOST_CHECK(alive.expired());
  BOOST_CHECK(!h.alive());
  std::thread other([&] { BOOST_CHECK(!h.post([&] { ran = true; })); });
  other.join();
  BOOST_CHECK(!ran);
}

// H11.7, H1.5: a posted function runs in the hub; blocking there is
// reported, not run.
BOOST_AUTO_TEST_CASE(a_posted_function_that_blocks_is_reported) {
  green::hub_handle h(green::get_hub());
  std::string reported;
  green::get_hub().set_error_handler([&](const green::failure_report& r) { reported = r.type; });
  std::thread other([&] { h.post([] { green::sleep(1ms); }); });
  other.join();
  green::sleep(1ms);  // the hub takes the post while it waits
  BOOST_CHECK(reported.find("blocking_switch_out_error") != std::string::npos);
  BOOST_CHECK_THROW(h.post(std::function<void()>{}), green::error);
}

BOOST_AUTO_TEST_SUITE_END()
