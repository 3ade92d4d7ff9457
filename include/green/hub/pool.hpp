// green/hub/pool.hpp
//
// group and pool: sets of spawned tasks, gevent.pool.Group and
// gevent.pool.Pool. A group tracks its members (each removes itself once
// finished), joins and kills them together, and maps a function over a range
// with one member per item. A pool is a group with a size: spawn() blocks
// while it is full, so a pool bounds how many tasks run at once.
//
//   green::pool p(2);
//   for (int sq : p.imap_unordered([](int x) { green::sleep(); return x * x; }, inputs))
//     std::printf("%d\n", sq);  // in completion order, at most 2 running at once
//
// Rules (docs/semantics.md, H9): members leave when finished, and join()
// reports whether the group became empty at least once (H9.1); kill() kills
// every member, also those added meanwhile (H9.2); a full pool blocks
// spawners FIFO, and add() throws pool_full (H9.3, H9.4); imap keeps input
// order, imap_unordered yields in completion order, maxsize bounds the
// results spawned but not yet consumed, and a failure is rethrown when its
// result is reached (H9.5); abandoning an imap kills what it started (H9.6);
// apply() runs inline in a member (H9.7); a group or pool belongs to the hub
// of its thread (H9.8).

#ifndef GREEN_HUB_POOL_HPP
#define GREEN_HUB_POOL_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/config.hpp"
#include "green/errors.hpp"
#include "green/hub/hub.hpp"
#include "green/hub/task.hpp"

namespace green {

// pool_full: pool::add() found no free slot (at once, or within its
// timeout). gevent: PoolFull (a queue.Full).
class GREEN_API pool_full : public error {
 public:
  using error::error;
};

namespace detail {

struct group_core;
struct imap_core;

GREEN_API std::shared_ptr<group_core> make_group_core(std::optional<std::size_t> size);
GREEN_API void group_check(const group_core& c);
// group_acquire() takes a slot: true at once if one is free; else false if
// !block or the timeout passed, true once a slot is handed over.
GREEN_API bool group_acquire(group_core& c, bool block, std::optional<duration> timeout);
GREEN_API void group_release(group_core& c) noexcept;
// group_add_held() makes `t` a member that holds an already taken slot.
GREEN_API void group_add_held(group_core& c, const task_base& t);
GREEN_API bool group_contains(const group_core& c, const task_base& t) noexcept;
GREEN_API bool group_current_is_member(const group_core& c) noexcept;

template <class R, class F, class... A>
task<R> group_spawn(const std::shared_ptr<group_core>& pc, const spawn_site& where, F&& fn,
                    A&&... args) {
  // Held for the whole call: the group may be destroyed while we wait.
  std::shared_ptr<group_core> keep = pc;
  group_core& c = *keep;
  group_check(c);
  std::shared_ptr<task_core> core =
      make_task<R>(where, std::forward<F>(fn), std::forward<A>(args)...);
  group_acquire(c, true, std::nullopt);
  try {
    start_task(core, std::nullopt);
    group_add_held(c, task_base(core));
  } catch (...) {
    group_release(c);
    throw;
  }
  return task<R>(std::move(core));
}

GREEN_API std::shared_ptr<imap_core> make_imap_core(std::shared_ptr<group_core> g, bool ordered,
                                                    std::optional<std::size_t> maxsize);
// Producer side: wait until maxsize allows one more item (false once the
// imap was abandoned), then record the task spawned for it.
GREEN_API bool imap_wait_budget(imap_core& c);
GREEN_API void imap_track(const std::shared_ptr<imap_core>& c, const task_base& t);
GREEN_API void imap_input_end(imap_core& c, std::exception_ptr error) noexcept;
GREEN_API const std::shared_ptr<group_core>& imap_group(imap_core& c) noexcept;
GREEN_API void imap_set_producer(imap_core& c, task_base producer);
// Consumer side: the next finished task (false at the end).
GREEN_API bool imap_next(imap_core& c, task_base& out);
GREEN_API void imap_abandon(imap_core& c) noexcept;
[[noreturn]] GREEN_API void throw_bad_maxsize();

// The value of a finished task, moved out (the imap owns the only use), or
// its exception rethrown.
template <class R>
R take_result(const task_base& t) {
  if (std::exception_ptr e = t.exception()) std::rethrow_exception(e);
  auto& s = static_cast<task_state<R>&>(*t.native_handle());
  if (!s.value_) throw_exited_no_value(s);
  return std::move(*s.value_);
}

}  // namespace detail

// imap_range<R>: the lazily consumed results of group::imap() and
// imap_unordered(). Each step blocks until the next result is there.
// Destroying it before the end (leaving a range-for with break or an
// exception) kills the tasks it started that have not finished, without
// waiting (H9.6). Move-only.
template <class R>
class imap_range {
 public:
  explicit imap_range(std::shared_ptr<detail::imap_core> c) noexcept : core_(std::move(c)) {}
  imap_range(imap_range&& o) noexcept = default;
  imap_range& operator=(imap_range&&) = delete;
  imap_range(const imap_range&) = delete;
  ~imap_range() {
    if (core_) detail::imap_abandon(*core_);
  }

  // next() blocks until the next result and returns it, or nothing at the
  // end. Rethrows a mapped function's exception at its result (H9.5); the
  // range stays usable after that. Throws green::error for a task killed
  // with greenlet_exit (it has no value), or when another greenlet is
  // already waiting on this range (one consumer at a time).
  std::optional<R> next() {
    task_base t;
    if (!detail::imap_next(*core_, t)) return std::nullopt;
    return detail::take_result<R>(t);
  }

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(imap_range* r) : r_(r) { ++*this; }
    R& operator*() const { return *r_->current_; }
    R* operator->() const { return &*r_->current_; }
    iterator& operator++() {
      r_->current_.reset();
      r_->current_ = r_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool at_end() const noexcept { return r_ == nullptr || !r_->current_; }
    friend bool operator==(const iterator& i, std::default_sentinel_t) noexcept {
      return i.at_end();
    }

   private:
    imap_range* r_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend class iterator;
  std::shared_ptr<detail::imap_core> core_;
  std::optional<R> current_;
};

// group: a set of tasks. gevent: gevent.pool.Group. Not copyable.
class GREEN_API group {
 public:
  group() : group(std::nullopt) {}
  group(const group&) = delete;
  group& operator=(const group&) = delete;
  // Destroying a group leaves its members running (it only held references
  // to them, as gevent's). A greenlet blocked in a pool's spawn() keeps the
  // pool's state alive until it gets its slot or gives up.
  virtual ~group();

  // spawn(fn, args...) spawns a task (as green::spawn, recording the call
  // site) and adds it. In a pool it first blocks while the pool is full.
  template <class F>
  task<detail::spawn_result_t<F>> spawn(F&& fn, const spawn_site& where = spawn_site()) {
    return detail::group_spawn<detail::spawn_result_t<F>>(core_, where, std::forward<F>(fn));
  }
  template <class F, class A1>
  task<detail::spawn_result_t<F, A1>> spawn(F&& fn, A1&& a1,
                                            const spawn_site& where = spawn_site()) {
    return detail::group_spawn<detail::spawn_result_t<F, A1>>(core_, where, std::forward<F>(fn),
                                                              std::forward<A1>(a1));
  }
  template <class F, class A1, class A2>
  task<detail::spawn_result_t<F, A1, A2>> spawn(F&& fn, A1&& a1, A2&& a2,
                                                const spawn_site& where = spawn_site()) {
    return detail::group_spawn<detail::spawn_result_t<F, A1, A2>>(
        core_, where, std::forward<F>(fn), std::forward<A1>(a1), std::forward<A2>(a2));
  }
  template <class F, class A1, class A2, class A3>
  task<detail::spawn_result_t<F, A1, A2, A3>> spawn(F&& fn, A1&& a1, A2&& a2, A3&& a3,
                                                    const spawn_site& where = spawn_site()) {
    return detail::group_spawn<detail::spawn_result_t<F, A1, A2, A3>>(
        core_, where, std::forward<F>(fn), std::forward<A1>(a1), std::forward<A2>(a2),
        std::forward<A3>(a3));
  }

  // add() makes `t` a member (a no-op if it already is). A finished task is
  // removed again once its links run. In a pool: see pool::add().
  // Throws: green::error for an empty handle or a task of another thread.
  void add(const task_base& t) { add(t, true, std::nullopt); }
  // discard() removes `t` without touching it (a no-op for a non-member).
  void discard(const task_base& t);
  bool contains(const task_base& t) const noexcept;
  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  // members() is a snapshot of the members in the order they were added;
  // begin()/end() iterate such a snapshot, so a member finishing meanwhile
  // does not disturb the loop.
  std::vector<task_base> members() const;
  class iterator;
  iterator begin() const;
  std::default_sentinel_t end() const noexcept { return {}; }

  // join() waits until the group is empty or `timeout` passed and returns
  // whether it became empty at some moment while it waited (H9.1). With
  // raise_error, the first failure among the members at the call is
  // rethrown. Never throws on timeout.
  bool join(std::optional<duration> timeout = std::nullopt, bool raise_error = false);

  // kill() throws `ex` (greenlet_exit if empty) into every member, also into
  // members added while it waits; with block, waits until the group is
  // empty or `timeout` passed (then returns quietly, as gevent). From the
  // hub it does not wait (H9.2).
  void kill(std::exception_ptr ex = nullptr, bool block = true,
            std::optional<duration> timeout = std::nullopt);
  // killone() kills one member (a no-op for a non-member or one already
  // being killed) and, with block, joins it up to `timeout`.
  void killone(const task_base& t, std::exception_ptr ex = nullptr, bool block = true,
               std::optional<duration> timeout = std::nullopt);

  // imap(fn, range) runs fn(item) in a member per item and yields the
  // results in input order; imap_unordered() in completion order. The items
  // are spawned by a helper task (not a member) as the group's size and
  // `maxsize` allow: maxsize bounds the items spawned whose results were not
  // yet consumed (nothing: unbounded, as gevent). An rvalue range is moved
  // in; an lvalue range is referenced and must outlive the iteration.
  // Throws: green::value_error for maxsize 0.
  template <class F, class Range>
  auto imap(F fn, Range&& range, std::optional<std::size_t> maxsize = std::nullopt,
            const spawn_site& where = spawn_site()) {
    return start_imap(true, std::move(fn), std::forward<Range>(range), maxsize, where);
  }
  template <class F, class Range>
  auto imap_unordered(F fn, Range&& range, std::optional<std::size_t> maxsize = std::nullopt,
                      const spawn_site& where = spawn_site()) {
    return start_imap(false, std::move(fn), std::forward<Range>(range), maxsize, where);
  }
  // map() is imap() collected into a vector (input order); the first failure
  // reached is rethrown and the rest is killed.
  template <class F, class Range>
  auto map(F fn, Range&& range, const spawn_site& where = spawn_site()) {
    auto results = imap(std::move(fn), std::forward<Range>(range), std::nullopt, where);
    using R = typename decltype(results)::iterator::value_type;
    std::vector<R> out;
    for (auto& r : results) out.push_back(std::move(r));
    return out;
  }
  // apply() returns fn(args...) computed in a member and waited for; called
  // from a member, it runs inline (a full pool would otherwise deadlock).
  template <class F, class... A>
  detail::spawn_result_t<F, A...> apply(F&& fn, A&&... args) {
    using R = detail::spawn_result_t<F, A...>;
    detail::group_check(*core_);
    if (detail::group_current_is_member(*core_)) {
      return static_cast<R>(std::invoke(std::forward<F>(fn), std::forward<A>(args)...));
    }
    auto bound = [f = std::forward<F>(fn),
                  tup = std::make_tuple(std::forward<A>(args)...)]() mutable {
      return std::apply(std::move(f), std::move(tup));
    };
    return detail::group_spawn<R>(core_, spawn_site(), std::move(bound)).get();
  }

  detail::group_core& native_handle() const noexcept { return *core_; }

 protected:
  explicit group(std::optional<std::size_t> size);
  void add(const task_base& t, bool block, std::optional<duration> timeout);
  std::shared_ptr<detail::group_core> core_;

 private:
  template <class F, class Range>
  auto start_imap(bool ordered, F fn, Range&& range, std::optional<std::size_t> maxsize,
                  const spawn_site& where) {
    // An lvalue range is referenced, an rvalue one moved in. (Not
    // std::views::all: clang 14 cannot compile libstdc++ 12's views.)
    using Stored = std::conditional_t<std::is_lvalue_reference_v<Range>,
                                      std::reference_wrapper<std::remove_reference_t<Range>>,
                                      std::remove_cvref_t<Range>>;
    using Item = decltype(*std::begin(std::declval<std::remove_reference_t<Range>&>()));
    using R = detail::spawn_result_t<F&, Item>;
    static_assert(!std::is_void_v<R>,
                  "green: imap/map need a function that returns a value; use spawn() for void");
    detail::group_check(*core_);
    if (maxsize && *maxsize == 0) detail::throw_bad_maxsize();
    auto c = detail::make_imap_core(core_, ordered, maxsize);
    std::weak_ptr<detail::imap_core> weak = c;
    // Shared: a task's function must be copyable, and the range may not be.
    auto stored = std::make_shared<Stored>(std::forward<Range>(range));
    auto producer = [weak, fn = std::move(fn), stored, where]() mutable {
      std::shared_ptr<detail::imap_core> keep = weak.lock();
      if (!keep) return;
      std::exception_ptr failure;
      try {
        auto& items = [&]() -> auto& {
          if constexpr (std::is_lvalue_reference_v<Range>) {
            return stored->get();
          } else {
            return *stored;
          }
        }
        ();
        for (auto&& item : items) {
          if (!detail::imap_wait_budget(*keep)) return;
          task<R> t = detail::group_spawn<R>(detail::imap_group(*keep), where, fn, item);
          detail::imap_track(keep, t);
        }
      } catch (const greenlet_exit&) {
        detail::imap_input_end(*keep, nullptr);
        throw;
      } catch (...) {
        failure = std::current_exception();
      }
      detail::imap_input_end(*keep, failure);
    };
    task<void> p = detail::spawn_at(where, std::nullopt, std::move(producer));
    p.set_name("imap-producer");
    detail::imap_set_producer(*c, p);
    return imap_range<R>(std::move(c));
  }
};

class group::iterator {
 public:
  using value_type = task_base;
  using difference_type = std::ptrdiff_t;
  iterator() = default;
  explicit iterator(std::vector<task_base> snap)
      : snap_(std::make_shared<std::vector<task_base>>(std::move(snap))) {}
  const task_base& operator*() const { return (*snap_)[i_]; }
  const task_base* operator->() const { return &(*snap_)[i_]; }
  iterator& operator++() {
    ++i_;
    return *this;
  }
  void operator++(int) { ++i_; }
  friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
    return !it.snap_ || it.i_ >= it.snap_->size();
  }

 private:
  std::shared_ptr<const std::vector<task_base>> snap_;
  std::size_t i_ = 0;
};
inline group::iterator group::begin() const { return iterator(members()); }

// pool: a group of at most `size` members. gevent: gevent.pool.Pool.
//   * spawn() blocks while the pool is full; blocked spawners get the freed
//     slots in FIFO order. A kill or timeout thrown into a blocked spawner
//     loses no slot (H9.3).
//   * Size 0 can never run anything: a spawn() (or a blocking add() without
//     timeout) throws green::error at once instead of blocking forever
//     (gevent blocks, then LoopExit). With a timeout, add() waits it out
//     and throws pool_full, as for any full pool (H9.4).
//   * No size (the default): unbounded, a plain group with pool's API.
class GREEN_API pool : public group {
 public:
  // Throws: green::value_error for a negative size (gevent: ValueError).
  explicit pool(std::optional<std::ptrdiff_t> size = std::nullopt);

  // add() takes a slot for `t` and makes it a member: blocks while full
  // (up to `timeout`; not at all if !block). Adding a member again is a
  // no-op. Throws: pool_full if no slot was free (at once or in time);
  // green::error as group::add().
  void add(const task_base& t, bool block = true, std::optional<duration> timeout = std::nullopt) {
    group::add(t, block, timeout);
  }

  // size(): the bound, or nothing if unbounded. (group::size() counts members.)
  std::optional<std::size_t> capacity() const noexcept;
  // free_count(): slots free now (SIZE_MAX when unbounded; gevent: 1).
  std::size_t free_count() const noexcept;
  bool full() const noexcept { return free_count() == 0; }
  // wait_available() blocks until a slot is free or `timeout` passed, and
  // returns free_count() then (0 on timeout, or if a waiting spawner took
  // the slot first). Throws: green::error on a pool of size 0 without
  // timeout (it would wait forever).
  std::size_t wait_available(std::optional<duration> timeout = std::nullopt);
};

}  // namespace green

#endif  // GREEN_HUB_POOL_HPP
