// The thread pool and cross-thread posts (docs/semantics.md H11).

#include "green/hub/threadpool.hpp"

#include <boost/asio/post.hpp>

#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

#include "hub_state.hpp"

namespace green {

namespace detail {

class pool_core {
 public:
  struct worker {
    std::thread thread;
    bool finished = false;  // it returned (or is about to): join it
  };

  pool_core(std::size_t max, std::optional<duration> idle, hub_state* h)
      : maxsize(max), idle_timeout(idle), owner(h) {}

  void submit(pool_job job) {
    std::vector<std::thread> exited;
    {
      std::lock_guard<std::mutex> g(mtx);
      reap(exited);
      jobs.push_back(std::move(job));
      // H11.2: a new worker only when no idle one will take the job.
      if (idle < jobs.size() && alive < maxsize) {
        workers.emplace_back();
        worker* w = &workers.back();
        try {
          w->thread = std::thread([this, w] { work(*w); });
        } catch (...) {
          workers.pop_back();
          if (alive == 0) {
            jobs.pop_back();
            throw;
          }
          // The workers there are will take it.
        }
        if (w->thread.joinable()) ++alive;
      }
    }
    cv.notify_one();
    for (auto& t : exited) t.join();
  }

  // stop() cancels the jobs not started and joins every worker after its
  // current job (H11.5).
  void stop() noexcept {
    std::deque<pool_job> cancelled;
    {
      std::lock_guard<std::mutex> g(mtx);
      stopping = true;
      cancelled.swap(jobs);
    }
    cv.notify_all();
    for (auto& j : cancelled) {
      try {
        j.cancel(std::make_exception_ptr(
            error("green: the thread pool was destroyed before this job started, so it never "
                  "ran; keep the pool (or the hub, for get_threadpool()) alive until its "
                  "results are collected. gevent: ThreadPool.kill()")));
      } catch (...) {
        // Its result was set already: nothing to tell.
      }
    }
    cancelled.clear();
    for (auto& w : workers) {
      if (w.thread.joinable()) w.thread.join();
    }
    workers.clear();
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> g(mtx);
    return alive;
  }
  std::size_t pending() const {
    std::lock_guard<std::mutex> g(mtx);
    return jobs.size();
  }

  const std::size_t maxsize;
  const std::optional<duration> idle_timeout;
  hub_state* const owner;  // compared, never used once that hub is gone

 private:
  void reap(std::vector<std::thread>& out) {
    for (auto it = workers.begin(); it != workers.end();) {
      if (it->finished) {
        out.push_back(std::move(it->thread));
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
  }

  void work(worker& self) {
    std::unique_lock<std::mutex> lk(mtx);
    for (;;) {
      while (jobs.empty() && !stopping) {
        ++idle;
        bool timed_out = false;
        if (idle_timeout) {
          timed_out = !cv.wait_for(lk, *idle_timeout, [&] { return !jobs.empty() || stopping; });
        } else {
          cv.wait(lk);
        }
        --idle;
        if (timed_out) break;
      }
      if (jobs.empty() || stopping) {
        // Idle for too long, or the pool is going: the thread ends. Nothing
        // of the pool is touched after the unlock.
        --alive;
        self.finished = true;
        return;
      }
      pool_job job = std::move(jobs.front());
      jobs.pop_front();
      lk.unlock();
      job.run();  // sets the result; never throws (it catches)
      job = pool_job{};
      // H11.6: a job that used green on this thread got this thread's own
      // hub; it goes with the job, so that jobs do not see each other's
      // greenlets.
      try {
        if (has_hub()) destroy_hub();
      } catch (...) {
        // destroy_hub() refuses only from inside a spawned greenlet or the
        // hub, which a job's return never is.
      }
      lk.lock();
    }
  }

  mutable std::mutex mtx;
  std::condition_variable cv;
  std::deque<pool_job> jobs;
  std::list<worker> workers;
  std::size_t idle = 0;
  std::size_t alive = 0;
  bool stopping = false;
};

}  // namespace detail

threadpool::threadpool(std::size_t maxsize, std::optional<duration> idle_timeout) {
  if (maxsize == 0) {
    throw value_error(
        "green: threadpool(0) could never run a job; give it at least one worker (gevent's "
        "default hub pool has 10)");
  }
  core_ = std::make_shared<detail::pool_core>(maxsize, idle_timeout, &get_hub().state());
}

threadpool::~threadpool() { core_->stop(); }

std::size_t threadpool::maxsize() const noexcept { return core_->maxsize; }
std::size_t threadpool::size() const { return core_->size(); }
std::size_t threadpool::pending() const { return core_->pending(); }

void threadpool::check_thread() const {
  // H11.1: gevent's pools are used only from the hub's thread.
  detail::check_owner(core_->owner, "this thread pool");
}

void threadpool::submit(detail::pool_job job) { core_->submit(std::move(job)); }

threadpool& get_threadpool() {
  detail::hub_state& h = get_hub().state();
  if (!h.default_pool) {
    if (h.destroying) {
      throw error(
          "green: get_threadpool() while the hub is being destroyed; finish thread pool work "
          "before destroy_hub()");
    }
    h.default_pool = std::make_shared<threadpool>(10);
  }
  return *static_cast<threadpool*>(h.default_pool.get());
}

// ---- hub_handle ----

hub_handle::hub_handle(hub& h) : remote_(h.state().remote), hub_(&h.state()) {}

bool hub_handle::alive() const {
  std::lock_guard<std::mutex> g(remote_->mtx);
  return remote_->io != nullptr;
}

bool hub_handle::post(std::function<void()> fn) const {
  if (!fn) {
    throw error("green: hub_handle::post() needs a callable, got an empty function");
  }
  std::lock_guard<std::mutex> g(remote_->mtx);
  // While io is set, the hub has not started to shut down (it clears io
  // under this lock first), so the hub object is alive here.
  if (remote_->io == nullptr) return false;
  detail::hub_state* h = hub_;
  // H11.7: a post in flight counts as an outside waker, so the hub neither
  // raises loop_exit nor sleeps past it.
  h->external_waits.fetch_add(1, std::memory_order_relaxed);
  boost::asio::post(*remote_->io, [remote = remote_, h, fn = std::move(fn)]() mutable {
    {
      std::lock_guard<std::mutex> lock(remote->mtx);
      // Dropped when the hub is gone, or if an application runs the hub's
      // io_context on another thread (the ready queue is the hub's own).
      if (remote->io == nullptr || detail::current_hub() != h) return;
    }
    h->external_waits.fetch_sub(1, std::memory_order_relaxed);
    h->schedule(std::move(fn));
  });
  return true;
}

}  // namespace green
