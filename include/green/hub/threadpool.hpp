// green/hub/threadpool.hpp
//
// threadpool runs functions on native worker threads and hands their results
// to greenlets, gevent's ThreadPool: a greenlet that waits on a job's result
// blocks only itself; the hub keeps running the other greenlets. It is the
// way to call a blocking library (a database driver, a file system call)
// from hub code.
//
//   green::threadpool pool(4);
//   green::async_result<int> r = pool.spawn([](int x) { return slow_square(x); }, 7);
//   int v = r.get();  // 49; other greenlets ran while the worker computed
//   int w = green::get_threadpool().apply([] { return 6 * 7; });  // the hub's pool
//
// hub_handle lets another thread post a function to run in a hub.
//
// Rules (docs/semantics.md, H11): a pool belongs to the hub of the thread
// that created it and is used only from that thread (H11.1); workers start
// on demand up to maxsize (H11.2); a job's exception is rethrown by get()
// (H11.3); a waiter that is killed or times out leaves the job running and
// its result is dropped (H11.4); destroying the pool cancels the jobs not
// started and joins the workers after their current job (H11.5); a job runs
// on a thread of its own, with its own hub (H11.6); posts to a hub are thread
// safe and dropped once the hub is gone (H11.7).

#ifndef GREEN_HUB_THREADPOOL_HPP
#define GREEN_HUB_THREADPOOL_HPP

#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/async_result.hpp"
#include "green/hub/hub.hpp"

namespace green {

namespace detail {
class pool_core;
struct remote_hub;

// One queued job: `run` runs it on a worker; `cancel` gives its result an
// error when the pool is destroyed before it started.
struct pool_job {
  std::function<void()> run;
  std::function<void(std::exception_ptr)> cancel;
};
}  // namespace detail

class GREEN_API threadpool {
 public:
  // threadpool(maxsize) binds the pool to the calling thread's hub (created
  // if needed). Workers start on demand, up to maxsize. With idle_timeout,
  // a worker that found no job for that long exits; without, idle workers
  // stay until the pool is destroyed (gevent's idle_task_timeout=-1).
  // Throws: green::value_error if maxsize is 0 (a pool that never runs
  //         anything; gevent would block forever).
  explicit threadpool(std::size_t maxsize = 10,
                      std::optional<duration> idle_timeout = std::nullopt);
  // ~threadpool() gives every job not started yet an error (green::error
  // "cancelled"), lets the workers finish their current job and joins them:
  // it blocks the calling thread (not just the greenlet) until then.
  ~threadpool();
  threadpool(const threadpool&) = delete;
  threadpool& operator=(const threadpool&) = delete;

  // spawn(fn, args...) queues fn(args...) (arguments copied or moved in) and
  // returns its result. get() on it blocks only the calling greenlet and
  // rethrows fn's exception. gevent: ThreadPool.spawn.
  // Throws: green::error when called from another thread than the pool's.
  template <class F, class... A>
  auto spawn(F&& fn, A&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>;
    check_thread();
    async_result<R> r;
    auto job = [r, f = std::forward<F>(fn),
                tup = std::make_tuple(std::forward<A>(args)...)]() mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          std::apply(std::move(f), std::move(tup));
          r.set();
        } else {
          r.set(std::apply(std::move(f), std::move(tup)));
        }
      } catch (...) {
        r.set_exception(std::current_exception());
      }
    };
    submit(detail::pool_job{std::move(job),
                            [r](std::exception_ptr e) mutable { r.set_exception(e); }});
    return r;
  }

  // apply(fn, args...) is spawn(fn, args...).get(): the value, or fn's
  // exception. gevent: ThreadPool.apply.
  template <class F, class... A>
  auto apply(F&& fn, A&&... args) {
    return spawn(std::forward<F>(fn), std::forward<A>(args)...).get();
  }

  // map(fn, items) runs fn(item) for each item on the pool and returns the
  // values in the order of the items; the first failure (in item order) is
  // rethrown once all finished. gevent: ThreadPool.map.
  template <class F, class Range>
  auto map(F fn, const Range& items) {
    using Item = decltype(*std::begin(items));
    using R = std::invoke_result_t<F&, Item>;
    static_assert(!std::is_void_v<R>, "threadpool::map needs a function that returns a value");
    std::vector<async_result<R>> results;
    for (const auto& item : items) results.push_back(spawn(fn, item));
    std::vector<R> out;
    out.reserve(results.size());
    std::exception_ptr first;
    for (auto& r : results) {
      // Every job is waited for, so none outlives the call with a result
      // nobody reads.
      try {
        out.push_back(r.get());
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
    return out;
  }

  std::size_t maxsize() const noexcept;
  // size() is the number of worker threads alive now.
  std::size_t size() const;
  // pending() is the number of jobs queued and not started yet.
  std::size_t pending() const;

 private:
  void check_thread() const;
  void submit(detail::pool_job job);
  std::shared_ptr<detail::pool_core> core_;
};

// get_threadpool() is the calling thread's hub's pool of 10 workers, created
// on first use and destroyed with the hub (destroy_hub() cancels its queued
// jobs and joins its workers). gevent: hub.threadpool.
GREEN_API threadpool& get_threadpool();

// hub_handle names a hub for other threads: post() runs a function in that
// hub, through its ready queue, whichever thread calls it. gevent:
// loop.run_callback_threadsafe.
//
//   green::hub_handle h(green::get_hub());      // on the hub's thread
//   std::thread t([h] { h.post([] { ... }); });  // runs in the hub
class GREEN_API hub_handle {
 public:
  // hub_handle(h) names `h`; create it on the hub's thread (or while the hub
  // surely lives).
  explicit hub_handle(hub& h);
  // post() queues `fn` to run in the hub, behind what is already queued
  // there. `fn` runs in the hub itself, so it must not block (a blocking
  // call in it throws blocking_switch_out_error, reported by the hub's error
  // handler). Returns false, and drops `fn` without running it, when the hub
  // is gone; a function posted just before the hub goes is dropped too.
  // A post in flight keeps the hub from raising loop_exit until it ran.
  bool post(std::function<void()> fn) const;
  // alive() is true while the hub exists.
  bool alive() const;

 private:
  std::shared_ptr<detail::remote_hub> remote_;
  detail::hub_state* hub_;
};

}  // namespace green

#endif  // GREEN_HUB_THREADPOOL_HPP
