// green/hub/task.hpp
//
// task<T> is the handle of a spawned greenlet, gevent's Greenlet: spawn()
// schedules it on the calling thread's hub, and it starts once the spawner
// blocks or yields. Handles are shared references: copies refer to the same
// greenlet, which keeps running when every handle is gone.
//
//   green::task<int> t = green::spawn([](int x) { green::sleep(); return x * 2; }, 21);
//   int v = t.get();  // blocks until t finished: 42
//
// Rules (docs/semantics.md, H3): starts are FIFO (H3.1); join() reports
// whether it finished and never throws on timeout (H3.3); get() returns the
// value or rethrows, and throws green::timeout on expiry (H3.4); kill() never
// throws at the caller, and a task killed before it started never runs
// (H3.5, H3.6); links fire in registration order, and join/get waiters are
// links too (H3.8).

#ifndef GREEN_HUB_TASK_HPP
#define GREEN_HUB_TASK_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/greenlet.hpp"
#include "green/hub/hub.hpp"

namespace green {

class task_base;

// spawn_site: where a task was spawned (file and line of the spawn call),
// for the loop_exit report and failure reports. (Not std::source_location:
// clang before 15 cannot compile libstdc++'s.)
// Constructed with no arguments as a default argument, it holds the line of
// the call that used the default (GCC's and Clang's __builtin_FILE/LINE).
struct spawn_site {
  const char* file;
  unsigned line;
  explicit spawn_site(const char* f = __builtin_FILE(), unsigned l = __builtin_LINE()) noexcept
      : file(f), line(l) {}
};

namespace detail {

enum class link_kind : std::uint8_t { raw, any, value, exception, waiter };

struct task_link {
  std::uint64_t id;
  link_kind kind;
  std::function<void(const task_base&)> fn;
};

// task_core: the state of one spawned greenlet, shared by its handles and the
// hub (while it is unfinished). The typed part (function, value) is the
// derived task_state<T>.
class GREEN_API task_core : public std::enable_shared_from_this<task_core> {
 public:
  explicit task_core(spawn_site where) noexcept;
  task_core(const task_core&) = delete;
  task_core& operator=(const task_core&) = delete;
  virtual ~task_core();
  // invoke() runs the function and stores its value.
  virtual void invoke() = 0;

  enum class outcome : std::uint8_t { none, value, exited, failed };

  hub_state* owner = nullptr;
  greenlet g;
  spawn_site where;
  std::uint64_t id = 0;
  bool started = false;
  bool done = false;
  bool notify_scheduled = false;
  outcome result = outcome::none;
  std::exception_ptr error;  // failed: the exception; exited: the greenlet_exit
  std::vector<task_link> links;
  std::uint64_t next_link = 1;
  std::uint64_t start_timer = 0;  // spawn_later's timer, 0 if none
  // The hub's bookkeeping (adapters/hub): its list of unfinished tasks, which
  // holds the core (live_keep), and the reference that holds it while its
  // start or its link notification waits in the ready queue (`queued` items).
  task_core* live_prev = nullptr;
  task_core* live_next = nullptr;
  std::shared_ptr<task_core> live_keep;
  std::shared_ptr<task_core> queued_keep;
  std::uint32_t queued = 0;
};

template <class T>
class task_state final : public task_core {
 public:
  template <class F>
  task_state(F&& f, spawn_site w) : task_core(w), fn_(std::forward<F>(f)) {}
  void invoke() override {
    auto fn = std::move(fn_);
    fn_ = nullptr;
    if constexpr (std::is_void_v<T>) {
      fn();
      value_.emplace(true);
    } else {
      value_.emplace(fn());
    }
  }
  // Nothing for void (a successful void task has done its job).
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value_;

 private:
  std::function<T()> fn_;
};

GREEN_API void start_task(const std::shared_ptr<task_core>& core, std::optional<duration> delay);
// wait_for_get() returns when the task finished, or throws green::timeout
// (not finished in time, or block == false), or rethrows its failure.
GREEN_API void wait_for_get(task_core& core, bool block, std::optional<duration> timeout);
[[noreturn]] GREEN_API void throw_exited_no_value(const task_core& core);
[[noreturn]] GREEN_API void throw_not_callable();
[[noreturn]] GREEN_API void throw_empty_task();

template <class F, class... A>
using spawn_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>;

template <class F>
struct is_std_function : std::false_type {};
template <class R, class... A>
struct is_std_function<std::function<R(A...)>> : std::true_type {};

template <class F>
void check_callable(const F& f) {
  if constexpr (std::is_pointer_v<F> || std::is_member_pointer_v<F> || is_std_function<F>::value) {
    if (f == nullptr) throw_not_callable();
  }
}

template <class R, class F, class... A>
std::shared_ptr<task_core> make_task(spawn_site where, F&& fn, A&&... args) {
  check_callable(fn);
  auto bound = [f = std::forward<F>(fn),
                tup = std::make_tuple(std::forward<A>(args)...)]() mutable -> R {
    return std::apply(std::move(f), std::move(tup));
  };
  return std::make_shared<task_state<R>>(std::move(bound), where);
}

}  // namespace detail

// task_base: everything a task handle does that does not depend on its value
// type, so tasks of different types can be joined and killed together.
class GREEN_API task_base {
 public:
  task_base() = default;
  explicit task_base(std::shared_ptr<detail::task_core> c) noexcept : core_(std::move(c)) {}

  // ready() is true once it finished (gevent: ready(), dead).
  bool ready() const noexcept;
  // started() is true once its function began.
  bool started() const noexcept;
  // successful(): finished without an exception; a greenlet_exit kill counts
  // as success (gevent).
  bool successful() const noexcept;
  // exited(): ended by greenlet_exit (a kill it did not catch).
  bool exited() const noexcept;
  // exception() is the exception that ended it unsuccessfully, else null.
  std::exception_ptr exception() const noexcept;

  // join() waits until it finished or `timeout` passed and returns ready().
  // Never throws on timeout (gevent's join returns None either way).
  // Throws: green::error for a join on itself or from another thread;
  //         blocking_switch_out_error from the hub; a timeout or kill aimed
  //         at the caller.
  bool join(std::optional<duration> timeout = std::nullopt) const;

  // kill() throws `ex` (greenlet_exit if empty) into the task at its blocking
  // point, through the hub. A task that has not started never runs: it is
  // finished at once (links still fire). With `block`, waits up to `timeout`
  // for it to finish. Nothing the task does is thrown at the caller, also
  // from the hub (where it does not block).
  // Throws: green::error from another thread; while it waits (block), a
  //         kill or timeout aimed at the caller itself (gevent).
  void kill(std::exception_ptr ex = nullptr, bool block = true,
            std::optional<duration> timeout = std::nullopt) const;
  template <detail::exception_object E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::nullptr_t>) void kill(
      E&& ex, bool block = true, std::optional<duration> timeout = std::nullopt) const {
    kill(std::make_exception_ptr(std::forward<E>(ex)), block, timeout);
  }

  // Links: callbacks called with this task once it finished (at once through
  // the hub if it already has). link() runs each call in a new greenlet
  // (it may block); link_value()/link_exception() only on success/failure;
  // rawlink() runs in the hub (it must not block). They fire in registration
  // order. Each returns an id for unlink().
  using callback = std::function<void(const task_base&)>;
  std::uint64_t link(callback cb) const;
  std::uint64_t link_value(callback cb) const;
  std::uint64_t link_exception(callback cb) const;
  std::uint64_t rawlink(callback cb) const;
  // unlink() removes a link that has not fired; false if there is none.
  bool unlink(std::uint64_t id) const noexcept;

  // The greenlet that runs it, its name (default "task-<id>") and where it
  // was spawned.
  const greenlet& greenlet_() const noexcept { return core_->g; }
  std::uint64_t id() const noexcept { return core_->id; }
  std::string name() const;
  void set_name(std::string_view name) const;
  const spawn_site& spawned_at() const noexcept { return core_->where; }

  explicit operator bool() const noexcept { return core_ != nullptr; }
  friend bool operator==(const task_base& a, const task_base& b) noexcept {
    return a.core_ == b.core_;
  }
  detail::task_core* native_handle() const noexcept { return core_.get(); }

 protected:
  std::uint64_t add_link(detail::link_kind kind, callback cb) const;
  // checked() is the core, or throws green::error for an empty handle.
  const std::shared_ptr<detail::task_core>& checked() const;
  std::shared_ptr<detail::task_core> core_;
};

// task<T>: a task whose function returns T.
template <class T>
class task : public task_base {
 public:
  task() = default;
  explicit task(std::shared_ptr<detail::task_core> c) noexcept : task_base(std::move(c)) {}

  // get() waits for the task (up to `timeout`; not at all if !block) and
  // returns its value or rethrows its exception.
  // Throws: green::timeout if it has not finished in time or block is false
  //         (gevent); green::error if it was killed by greenlet_exit and has
  //         no value (gevent returns the GreenletExit instance), or as join().
  T get(bool block = true, std::optional<duration> timeout = std::nullopt) const {
    // H3.11: the call keeps the task, also if this handle is destroyed while
    // it waits.
    const std::shared_ptr<detail::task_core> c = checked();
    detail::wait_for_get(*c, block, timeout);
    if constexpr (!std::is_void_v<T>) {
      auto& s = static_cast<detail::task_state<T>&>(*c);
      if (!s.value_) detail::throw_exited_no_value(s);
      return *s.value_;
    }
  }
  T get(std::optional<duration> timeout) const { return get(true, timeout); }

  // value() is the value once it finished successfully, else nothing.
  auto value() const {
    if constexpr (std::is_void_v<T>) {
      return successful();
    } else {
      return static_cast<detail::task_state<T>&>(*checked()).value_;
    }
  }
};

// spawn(fn, args...) creates a task running fn(args...) (arguments are
// copied or moved in) and schedules its start on the calling thread's hub.
// It records where it was called (file and line) for the loop_exit report
// and failure reports: the trailing spawn_site parameter is filled in by
// its default, never passed by hand. Up to four arguments are recorded so;
// with more, wrap the call in a lambda. gevent: gevent.spawn.
// Throws: green::error if fn is empty (an empty std::function, a null
//         function pointer; gevent: TypeError).
//
// spawn_later(d, fn, args...) is spawn() started `d` later. gevent:
// gevent.spawn_later.
namespace detail {
template <class F, class... A>
task<spawn_result_t<F, A...>> spawn_at(const spawn_site& where, std::optional<duration> delay,
                                       F&& fn, A&&... args) {
  using R = spawn_result_t<F, A...>;
  std::shared_ptr<task_core> core =
      make_task<R>(where, std::forward<F>(fn), std::forward<A>(args)...);
  start_task(core, delay);
  return task<R>(std::move(core));
}
}  // namespace detail

template <class F>
task<detail::spawn_result_t<F>> spawn(F&& fn, const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, std::nullopt, std::forward<F>(fn));
}
template <class F, class A1>
task<detail::spawn_result_t<F, A1>> spawn(F&& fn, A1&& a1, const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, std::nullopt, std::forward<F>(fn), std::forward<A1>(a1));
}
template <class F, class A1, class A2>
task<detail::spawn_result_t<F, A1, A2>> spawn(F&& fn, A1&& a1, A2&& a2,
                                              const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, std::nullopt, std::forward<F>(fn), std::forward<A1>(a1),
                          std::forward<A2>(a2));
}
template <class F, class A1, class A2, class A3>
task<detail::spawn_result_t<F, A1, A2, A3>> spawn(F&& fn, A1&& a1, A2&& a2, A3&& a3,
                                                  const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, std::nullopt, std::forward<F>(fn), std::forward<A1>(a1),
                          std::forward<A2>(a2), std::forward<A3>(a3));
}
template <class F, class A1, class A2, class A3, class A4>
task<detail::spawn_result_t<F, A1, A2, A3, A4>> spawn(F&& fn, A1&& a1, A2&& a2, A3&& a3, A4&& a4,
                                                      const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, std::nullopt, std::forward<F>(fn), std::forward<A1>(a1),
                          std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4));
}

template <class F>
task<detail::spawn_result_t<F>> spawn_later(duration d, F&& fn,
                                            const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, d, std::forward<F>(fn));
}
template <class F, class A1>
task<detail::spawn_result_t<F, A1>> spawn_later(duration d, F&& fn, A1&& a1,
                                                const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, d, std::forward<F>(fn), std::forward<A1>(a1));
}
template <class F, class A1, class A2>
task<detail::spawn_result_t<F, A1, A2>> spawn_later(duration d, F&& fn, A1&& a1, A2&& a2,
                                                    const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, d, std::forward<F>(fn), std::forward<A1>(a1),
                          std::forward<A2>(a2));
}
template <class F, class A1, class A2, class A3>
task<detail::spawn_result_t<F, A1, A2, A3>> spawn_later(duration d, F&& fn, A1&& a1, A2&& a2,
                                                        A3&& a3,
                                                        const spawn_site& where = spawn_site()) {
  return detail::spawn_at(where, d, std::forward<F>(fn), std::forward<A1>(a1), std::forward<A2>(a2),
                          std::forward<A3>(a3));
}

// joinall() waits until every task finished or `timeout` passed and returns
// those that finished: the ones already finished in argument order, then the
// others in completion order. With raise_error, the first failure among them
// is rethrown. gevent: gevent.joinall.
GREEN_API std::vector<task_base> joinall(const std::vector<task_base>& tasks,
                                         std::optional<duration> timeout = std::nullopt,
                                         bool raise_error = false);
// killall() kills every task (unstarted ones never run) and, with block,
// waits for them. Throws: green::timeout if one survives `timeout`
// (gevent).
GREEN_API void killall(const std::vector<task_base>& tasks, std::exception_ptr ex = nullptr,
                       bool block = true, std::optional<duration> timeout = std::nullopt);

}  // namespace green

#endif  // GREEN_HUB_TASK_HPP
